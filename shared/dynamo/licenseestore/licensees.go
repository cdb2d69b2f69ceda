// Package licenseestore is the DynamoDB adapter of licensees (the
// NetLicensing licensee view): it implements licensees.Store. A licensee
// is one item keyed by its number; a claim item per (customer, product)
// keeps a customer to one licensee per product; per-account and
// per-product counters give each licensee its listing positions and count
// the licensees. Creating, renaming and deleting are transactions over
// those items, so numbers stay unique, claims and counts stay in step, and
// nothing is half-written.
package licenseestore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/licensees"
	"github.com/keyturn/keyturn/shared/schema"
)

// Store implements licensees.Store.
type Store struct{ t *dynamo.Table }

// New returns the licensee store on table t.
func New(t *dynamo.Table) *Store { return &Store{t: t} }

var _ licensees.Store = (*Store)(nil)

// licenseeItem is a licensee. Items are small: the custom properties are
// bounded by the domain (10 KB).
type licenseeItem struct {
	PK           string            `dynamodbav:"pk"`
	SK           string            `dynamodbav:"sk"`
	GSI2PK       string            `dynamodbav:"gsi2pk"`
	GSI2SK       string            `dynamodbav:"gsi2sk"`
	GSI4PK       string            `dynamodbav:"gsi4pk"`
	GSI4SK       string            `dynamodbav:"gsi4sk"`
	AccountID    int64             `dynamodbav:"accountId"`
	Number       string            `dynamodbav:"number"`
	ProductID    int64             `dynamodbav:"productId"`
	CustomerID   int64             `dynamodbav:"customerId"`
	OwnsCustomer bool              `dynamodbav:"ownsCustomer,omitempty"`
	Active       bool              `dynamodbav:"active"`
	Marked       bool              `dynamodbav:"markedForTransfer,omitempty"`
	Secret       string            `dynamodbav:"secret,omitempty"`
	Props        map[string]string `dynamodbav:"props,omitempty"`
	Created      int64             `dynamodbav:"created"`
	Seq          int64             `dynamodbav:"seq"`
	ProductSeq   int64             `dynamodbav:"pseq"`
	Ver          int64             `dynamodbav:"ver"`
}

func newItem(l licensees.Licensee) licenseeItem {
	k := dynamo.Licensee(l.AccountID, l.Number)
	return licenseeItem{
		PK: k.PK, SK: k.SK,
		GSI2PK: dynamo.AccountLicenseesGSI2PK(l.AccountID), GSI2SK: dynamo.Pad(l.Seq, dynamo.IDWidth),
		GSI4PK: dynamo.ProductLicenseesGSI4PK(l.AccountID, l.ProductID), GSI4SK: dynamo.Pad(l.ProductSeq, dynamo.IDWidth),
		AccountID: l.AccountID, Number: l.Number, ProductID: l.ProductID, CustomerID: l.CustomerID, OwnsCustomer: l.OwnsCustomer,
		Active: l.Active, Marked: l.MarkedForTransfer, Secret: l.Secret, Props: l.Properties, Created: l.Created.UnixMilli(),
		Seq: l.Seq, ProductSeq: l.ProductSeq, Ver: l.Version,
	}
}

func (it licenseeItem) licensee() licensees.Licensee {
	return licensees.Licensee{
		AccountID: it.AccountID, Number: it.Number, ProductID: it.ProductID, CustomerID: it.CustomerID, OwnsCustomer: it.OwnsCustomer,
		Active: it.Active, MarkedForTransfer: it.Marked, Secret: it.Secret, Properties: it.Props,
		Created: time.UnixMilli(it.Created).UTC(), Seq: it.Seq, ProductSeq: it.ProductSeq, Version: it.Ver,
	}
}

// claimItem records a customer's licensee in a product.
type claimItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	AccountID int64  `dynamodbav:"accountId"`
	Number    string `dynamodbav:"number"`
}

// NextSeqs implements licensees.Store: one UpdateItem of each counter.
func (s *Store) NextSeqs(ctx context.Context, accountID, productID int64) (int64, int64, error) {
	seq, err := s.t.NextIDs(ctx, dynamo.LicenseeCounter(accountID, 0), 1)
	if err != nil {
		return 0, 0, err
	}
	pseq, err := s.t.NextIDs(ctx, dynamo.LicenseeCounter(accountID, productID), 1)
	if err != nil {
		return 0, 0, err
	}
	return seq, pseq, nil
}

// countOps add delta to the licensee counts of the account and product.
func (s *Store) countOps(accountID, productID, delta int64) []types.TransactWriteItem {
	u := dynamo.Update{Expr: "ADD c :d", Values: dynamo.Item{":d": dynamo.N(delta)}}
	return []types.TransactWriteItem{
		s.t.UpdateOp(dynamo.LicenseeCounter(accountID, 0), u),
		s.t.UpdateOp(dynamo.LicenseeCounter(accountID, productID), u),
	}
}

// Create implements licensees.Store: one transaction of the licensee (its
// number free; stored at version 1), the claim (the customer no licensee
// of the product yet), a check that the customer exists, and both counts.
func (s *Store) Create(ctx context.Context, l licensees.Licensee) error {
	l.Version = 1
	put, err := s.t.PutOp(newItem(l), dynamo.NotExists)
	if err != nil {
		return err
	}
	claim := dynamo.LicenseeClaim(l.AccountID, l.CustomerID, l.ProductID)
	putClaim, err := s.t.PutOp(claimItem{PK: claim.PK, SK: claim.SK, AccountID: l.AccountID, Number: l.Number}, dynamo.NotExists)
	if err != nil {
		return err
	}
	ops := append([]types.TransactWriteItem{put, putClaim,
		s.t.ConditionCheckOp(dynamo.Customer(l.AccountID, l.CustomerID), dynamo.Exists, nil, nil)},
		s.countOps(l.AccountID, l.ProductID, 1)...)
	err = s.t.Transact(ctx, ops)
	var tx *dynamo.TxError
	if errors.As(err, &tx) {
		switch {
		case tx.FailedAt(0):
			return licensees.ErrNumberTaken
		case tx.FailedAt(1):
			return licensees.ErrCustomerTaken
		case tx.FailedAt(2):
			return apierr.NotFound
		}
	}
	if err != nil {
		return fmt.Errorf("create licensee: %w", err)
	}
	return nil
}

// Get implements licensees.Store: one GetItem.
func (s *Store) Get(ctx context.Context, accountID int64, number string, consistent bool) (licensees.Licensee, error) {
	var it licenseeItem
	if err := s.t.Get(ctx, dynamo.Licensee(accountID, number), consistent, &it); err != nil {
		return licensees.Licensee{}, err
	}
	return it.licensee(), nil
}

// versionIs is the condition "the item is at version :ver".
const versionIs = "attribute_exists(pk) AND ver = :ver"

// Replace implements licensees.Store: one conditional PutItem, or, for a
// new number, one transaction that puts the licensee under it, deletes the
// old item and points the claim at the new number.
func (s *Store) Replace(ctx context.Context, prev, l licensees.Licensee) error {
	l.Version = prev.Version + 1
	l.AccountID, l.ProductID, l.CustomerID, l.Seq, l.ProductSeq = prev.AccountID, prev.ProductID, prev.CustomerID, prev.Seq, prev.ProductSeq
	ver := dynamo.Item{":ver": dynamo.N(prev.Version)}
	if l.Number == prev.Number {
		put, err := s.t.PutOp(newItem(l), versionIs)
		if err != nil {
			return err
		}
		put.Put.ExpressionAttributeValues = ver
		if err := s.t.WriteOne(ctx, put); errors.Is(err, apierr.Conflict) {
			return s.conflict(ctx, prev)
		} else if err != nil {
			return fmt.Errorf("replace licensee: %w", err)
		}
		return nil
	}
	put, err := s.t.PutOp(newItem(l), dynamo.NotExists)
	if err != nil {
		return err
	}
	claim := dynamo.LicenseeClaim(prev.AccountID, prev.CustomerID, prev.ProductID)
	err = s.t.Transact(ctx, []types.TransactWriteItem{
		put,
		s.t.DeleteOp(dynamo.Licensee(prev.AccountID, prev.Number), versionIs, nil, ver),
		s.t.UpdateOp(claim, dynamo.Update{Expr: "SET #n = :new", Cond: "#n = :old", Names: map[string]string{"#n": "number"},
			Values: dynamo.Item{":new": dynamo.S(l.Number), ":old": dynamo.S(prev.Number)}}),
	})
	var tx *dynamo.TxError
	if errors.As(err, &tx) {
		// A stale prev is reported as such even when the new number is
		// taken too.
		if err := s.current(ctx, prev); err != nil || !tx.FailedAt(0) {
			return cmp.Or(err, apierr.Conflict)
		}
		return licensees.ErrNumberTaken
	}
	if err != nil {
		return fmt.Errorf("renumber licensee: %w", err)
	}
	return nil
}

// conflict tells a licensee that changed (apierr.Conflict) from one that
// is gone (apierr.NotFound) after a version condition failed.
func (s *Store) conflict(ctx context.Context, prev licensees.Licensee) error {
	return cmp.Or(s.current(ctx, prev), apierr.Conflict)
}

// current returns nil when the licensee is still stored at prev's
// version, apierr.Conflict when it changed and apierr.NotFound when it is
// gone (one consistent read).
func (s *Store) current(ctx context.Context, prev licensees.Licensee) error {
	l, err := s.Get(ctx, prev.AccountID, prev.Number, true)
	switch {
	case err != nil:
		return err
	case l.Version != prev.Version:
		return apierr.Conflict
	}
	return nil
}

// Delete implements licensees.Store: one transaction deleting the licensee
// (at its version) and its claim and decrementing both counts.
func (s *Store) Delete(ctx context.Context, l licensees.Licensee) error {
	ops := append([]types.TransactWriteItem{
		s.t.DeleteOp(dynamo.Licensee(l.AccountID, l.Number), versionIs, nil, dynamo.Item{":ver": dynamo.N(l.Version)}),
		s.t.DeleteOp(dynamo.LicenseeClaim(l.AccountID, l.CustomerID, l.ProductID), "attribute_not_exists(pk) OR #n = :n",
			map[string]string{"#n": "number"}, dynamo.Item{":n": dynamo.S(l.Number)}),
	}, s.countOps(l.AccountID, l.ProductID, -1)...)
	err := s.t.Transact(ctx, ops)
	if errors.Is(err, apierr.Conflict) {
		return s.conflict(ctx, l)
	}
	if err != nil {
		return fmt.Errorf("delete licensee: %w", err)
	}
	return nil
}

// counterItem is a LicenseeCounter.
type counterItem struct {
	N int64 `dynamodbav:"n"`
	C int64 `dynamodbav:"c"`
}

// Page implements licensees.Store: the counter (one GetItem) and the
// positions from..to, one Query of gsi2 (which projects the licensees) for
// the account, or one Query of gsi4 and one BatchGetItem for a product.
func (s *Store) Page(ctx context.Context, accountID, productID, from, to int64) ([]licensees.Licensee, int64, int64, error) {
	var c counterItem
	if err := s.t.Get(ctx, dynamo.LicenseeCounter(accountID, productID), false, &c); err != nil && !errors.Is(err, apierr.NotFound) {
		return nil, 0, 0, err
	}
	if from > c.N || to < from {
		return nil, c.N, max(c.C, 0), nil
	}
	q := dynamo.Query{Index: schema.GSI2, PK: dynamo.AccountLicenseesGSI2PK(accountID),
		From: dynamo.Pad(from, dynamo.IDWidth), To: dynamo.Pad(to, dynamo.IDWidth)}
	if productID != 0 {
		q.Index, q.PK = schema.GSI4, dynamo.ProductLicenseesGSI4PK(accountID, productID)
	}
	items, err := s.t.QueryUpTo(ctx, q, int(to-from+1))
	if err != nil {
		return nil, 0, 0, err
	}
	if productID != 0 {
		if items, err = s.t.BatchGet(ctx, dynamo.IndexKeys(items)); err != nil {
			return nil, 0, 0, err
		}
	}
	ls, err := dynamo.DecodeAll(items, "licensee", licenseeItem.licensee)
	if err != nil {
		return nil, 0, 0, err
	}
	// The indexes lag the table: keep what still belongs here.
	out := ls[:0]
	for _, l := range ls {
		if l.AccountID == accountID && (productID == 0 || l.ProductID == productID) {
			out = append(out, l)
		}
	}
	return out, c.N, max(c.C, 0), nil
}

// OfCustomer implements licensees.Store: one Query of the customer's
// claims (one per product) and one consistent GetItem per licensee.
func (s *Store) OfCustomer(ctx context.Context, accountID, customerID int64) ([]licensees.Licensee, error) {
	items, err := s.t.QueryAll(ctx, dynamo.Query{PK: dynamo.LicenseeClaimsPK(accountID, customerID), Consistent: true})
	if err != nil {
		return nil, err
	}
	claims, err := dynamo.DecodeAll(items, "licensee claim", func(c claimItem) claimItem { return c })
	if err != nil {
		return nil, err
	}
	var out []licensees.Licensee
	for _, c := range claims {
		l, err := s.Get(ctx, accountID, c.Number, true)
		if errors.Is(err, apierr.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if l.CustomerID == customerID {
			out = append(out, l)
		}
	}
	return out, nil
}

// ForgetCustomer deletes every licensee of a customer (Web API 3 removed
// the customer). Licensees that change meanwhile are read again.
func (s *Store) ForgetCustomer(ctx context.Context, accountID, customerID int64) error {
	for attempt := 0; attempt < 10; attempt++ {
		ls, err := s.OfCustomer(ctx, accountID, customerID)
		if err != nil || len(ls) == 0 {
			return err
		}
		for _, l := range ls {
			if err := s.Delete(ctx, l); err != nil && !errors.Is(err, apierr.NotFound) && !errors.Is(err, apierr.Conflict) {
				return err
			}
		}
	}
	return errors.New("forget customer's licensees: too much contention")
}
