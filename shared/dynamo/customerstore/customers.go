// Package customerstore is the DynamoDB adapter of customers and
// resellers (customers.Store). Item layout: docs/DATA-MODEL.md,
// "Customers and resellers". Licenses point at customers and resellers
// with customerId / resellerId (see licensestore); device counts on the
// customer item are maintained by licensestore, user counts by userstore.
package customerstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/dynamo"
)

// Store implements customers.Store.
type Store struct {
	t *dynamo.Table
}

// New returns the customer store on table t.
func New(t *dynamo.Table) *Store { return &Store{t: t} }

type customerItem struct {
	PK                           string  `dynamodbav:"pk"`
	SK                           string  `dynamodbav:"sk"`
	AccountID                    int64   `dynamodbav:"accountId"`
	ID                           int64   `dynamodbav:"id"`
	Name                         string  `dynamodbav:"name"`
	Email                        *string `dynamodbav:"email"`
	CompanyName                  *string `dynamodbav:"companyName"`
	Notes                        *string `dynamodbav:"notes"`
	CreatedMs                    int64   `dynamodbav:"createdMs"`
	EnableCustomerAssociation    bool    `dynamodbav:"enableCustomerAssociation"`
	AllowActivationManagement    bool    `dynamodbav:"allowActivationManagement"`
	AllowMultipleUserAssociation bool    `dynamodbav:"allowMultipleUserAssociation"`
	MaxNoOfDevices               int64   `dynamodbav:"maxNoOfDevices"`
	Secret                       string  `dynamodbav:"secret"`
	DeviceCount                  int64   `dynamodbav:"deviceCount"`
	// Version increments on every replace (optimistic concurrency).
	Version int64 `dynamodbav:"version"`
	// Search is customers.SearchText (GetCustomers filters on it in
	// DynamoDB; customers written before it existed lack it).
	Search string `dynamodbav:"search"`
}

func newCustomerItem(c customers.Customer, version int64) customerItem {
	k := dynamo.Customer(c.AccountID, c.ID)
	return customerItem{
		PK: k.PK, SK: k.SK, AccountID: c.AccountID, ID: c.ID,
		Name: c.Name, Email: c.Email, CompanyName: c.CompanyName, Notes: c.Notes, CreatedMs: c.Created.UnixMilli(),
		EnableCustomerAssociation: c.EnableCustomerAssociation, AllowActivationManagement: c.AllowActivationManagement,
		AllowMultipleUserAssociation: c.AllowMultipleUserAssociation, MaxNoOfDevices: c.MaxNoOfDevices,
		Secret: c.Secret, DeviceCount: c.DeviceCount, Version: version, Search: customers.SearchText(c),
	}
}

func (it customerItem) customer() customers.Customer {
	return customers.Customer{
		AccountID: it.AccountID, ID: it.ID, Name: it.Name, Email: it.Email, CompanyName: it.CompanyName, Notes: it.Notes,
		Created: time.UnixMilli(it.CreatedMs).UTC(), EnableCustomerAssociation: it.EnableCustomerAssociation,
		AllowActivationManagement: it.AllowActivationManagement, AllowMultipleUserAssociation: it.AllowMultipleUserAssociation,
		MaxNoOfDevices: it.MaxNoOfDevices, Secret: it.Secret, DeviceCount: it.DeviceCount, Version: it.Version,
	}
}

type pointerItem struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
	ID int64  `dynamodbav:"id"`
}

func pointer(k dynamo.Key, id int64) pointerItem { return pointerItem{PK: k.PK, SK: k.SK, ID: id} }

// NextID implements customers.Store: one UpdateItem of a global counter.
func (s *Store) NextID(ctx context.Context, counter string) (int64, error) {
	return s.t.NextIDs(ctx, dynamo.Counter(counter), 1)
}

// CreateCustomer implements customers.Store: one transaction writing the
// customer and claiming its secret; the email pointer is claimed after it
// if no customer has that email yet.
func (s *Store) CreateCustomer(ctx context.Context, c customers.Customer) error {
	cust, err := s.t.PutOp(newCustomerItem(c, 1), dynamo.NotExists)
	if err != nil {
		return err
	}
	sec, err := s.t.PutOp(pointer(dynamo.CustomerSecret(c.AccountID, c.Secret), c.ID), dynamo.NotExists)
	if err != nil {
		return err
	}
	if err := s.t.Transact(ctx, []types.TransactWriteItem{cust, sec}); err != nil {
		if dynamo.FailedOp(err) == 1 {
			return customers.ErrSecretInUse
		}
		return err
	}
	if c.Email != nil && *c.Email != "" {
		if err := s.t.Put(ctx, pointer(dynamo.CustomerEmail(c.AccountID, *c.Email), c.ID), true); err != nil && !errors.Is(err, apierr.Conflict) {
			return err
		}
	}
	return nil
}

// GetCustomer implements customers.Store (one consistent GetItem).
func (s *Store) GetCustomer(ctx context.Context, accountID, id int64) (customers.Customer, error) {
	var it customerItem
	if err := s.t.Get(ctx, dynamo.Customer(accountID, id), true, &it); err != nil {
		return customers.Customer{}, err
	}
	return it.customer(), nil
}

// CustomerBySecret implements customers.Store (two GetItems).
func (s *Store) CustomerBySecret(ctx context.Context, accountID int64, secret string) (customers.Customer, error) {
	var p pointerItem
	if err := s.t.Get(ctx, dynamo.CustomerSecret(accountID, secret), true, &p); err != nil {
		return customers.Customer{}, err
	}
	return s.GetCustomer(ctx, accountID, p.ID)
}

// CustomerByEmail implements customers.Store (two GetItems). A pointer
// left behind by a concurrent email edit is ignored (the customer's
// current email must still match).
func (s *Store) CustomerByEmail(ctx context.Context, accountID int64, email string) (customers.Customer, error) {
	var p pointerItem
	if err := s.t.Get(ctx, dynamo.CustomerEmail(accountID, email), true, &p); err != nil {
		return customers.Customer{}, err
	}
	c, err := s.GetCustomer(ctx, accountID, p.ID)
	if err == nil && (c.Email == nil || !strings.EqualFold(strings.TrimSpace(*c.Email), strings.TrimSpace(email))) {
		return customers.Customer{}, apierr.NotFound
	}
	return c, err
}

// ReplaceCustomer implements customers.Store: one UpdateItem conditioned
// on the version read (a transaction with the secret pointers when the
// secret changes). deviceCount is left alone: activations change it
// concurrently.
func (s *Store) ReplaceCustomer(ctx context.Context, prev, c customers.Customer) error {
	u := dynamo.Update{
		Cond:   "#ver = :v",
		Names:  map[string]string{"#ver": "version"},
		Values: dynamo.Item{":v": dynamo.N(prev.Version), ":next": dynamo.N(prev.Version + 1)},
	}
	sets := []string{"#ver = :next"}
	for i, f := range []struct {
		attr string
		v    any
	}{
		{"name", c.Name}, {"email", c.Email}, {"companyName", c.CompanyName}, {"notes", c.Notes},
		{"enableCustomerAssociation", c.EnableCustomerAssociation}, {"allowActivationManagement", c.AllowActivationManagement},
		{"allowMultipleUserAssociation", c.AllowMultipleUserAssociation}, {"maxNoOfDevices", c.MaxNoOfDevices}, {"secret", c.Secret},
		{"search", customers.SearchText(c)},
	} {
		av, err := attributevalue.Marshal(f.v)
		if err != nil {
			return err
		}
		n, p := fmt.Sprintf("#f%d", i), fmt.Sprintf(":f%d", i)
		u.Names[n], u.Values[p] = f.attr, av
		sets = append(sets, n+" = "+p)
	}
	u.Expr = "SET " + strings.Join(sets, ", ")
	k := dynamo.Customer(c.AccountID, c.ID)
	if c.Secret == prev.Secret {
		if _, err := s.t.UpdateExisting(ctx, k, u); err != nil {
			return err
		}
	} else {
		sec, err := s.t.PutOp(pointer(dynamo.CustomerSecret(c.AccountID, c.Secret), c.ID), dynamo.NotExists)
		if err != nil {
			return err
		}
		u.Cond = dynamo.Exists + " AND " + u.Cond
		err = s.t.Transact(ctx, []types.TransactWriteItem{s.t.UpdateOp(k, u), sec,
			s.t.DeleteOp(dynamo.CustomerSecret(prev.AccountID, prev.Secret), "", nil, nil)})
		switch {
		case dynamo.FailedOp(err) == 1:
			return customers.ErrSecretInUse
		case errors.Is(err, apierr.Conflict):
			if _, gerr := s.GetCustomer(ctx, c.AccountID, c.ID); errors.Is(gerr, apierr.NotFound) {
				return apierr.NotFound
			}
			return apierr.Conflict
		case err != nil:
			return err
		}
	}
	if email := c.Email; email != nil && *email != "" && (prev.Email == nil || !strings.EqualFold(*prev.Email, *email)) {
		if err := s.t.Put(ctx, pointer(dynamo.CustomerEmail(c.AccountID, *email), c.ID), true); err != nil && !errors.Is(err, apierr.Conflict) {
			return err
		}
	}
	if prev.Email != nil && *prev.Email != "" && (c.Email == nil || !strings.EqualFold(*prev.Email, *c.Email)) {
		return s.dropEmailPointer(ctx, prev)
	}
	return nil
}

// dropEmailPointer deletes the email pointer if it points at c (a pointer
// left behind is harmless: CustomerByEmail checks the customer's email).
func (s *Store) dropEmailPointer(ctx context.Context, c customers.Customer) error {
	if c.Email == nil || *c.Email == "" {
		return nil
	}
	err := s.t.Delete(ctx, dynamo.CustomerEmail(c.AccountID, *c.Email), "id = :id", nil, dynamo.Item{":id": dynamo.N(c.ID)})
	if errors.Is(err, apierr.Conflict) {
		return nil
	}
	return err
}

// DeleteCustomer implements customers.Store: the customer and its secret
// go in one transaction, then its email pointer. Its licenses are
// dissociated by the caller (customers.Licenses).
func (s *Store) DeleteCustomer(ctx context.Context, c customers.Customer) error {
	err := s.t.Transact(ctx, []types.TransactWriteItem{
		s.t.DeleteOp(dynamo.Customer(c.AccountID, c.ID), dynamo.Exists, nil, nil),
		s.t.DeleteOp(dynamo.CustomerSecret(c.AccountID, c.Secret), "", nil, nil),
	})
	if errors.Is(err, apierr.Conflict) {
		return apierr.NotFound
	}
	if err != nil {
		return err
	}
	return s.dropEmailPointer(ctx, c)
}

// ListCustomers implements customers.Store: Queries of the account's
// customers in id order (descending with q.Desc), filtered in DynamoDB on
// the lower-cased search text when q.Search is set (customers stored
// before it was kept pass the filter and keep decides), until q.Limit
// customers were kept or the customers are exhausted.
func (s *Store) ListCustomers(ctx context.Context, accountID int64, q customers.ListQuery, keep func(customers.Customer) bool) ([]customers.Customer, error) {
	dq := dynamo.Query{PK: dynamo.AccountPK(accountID), Prefix: dynamo.CustomerPrefix, Desc: q.Desc}
	if q.Search != "" {
		dq.Filter = "contains(#search, :needle) OR attribute_not_exists(#search)"
		dq.Names = map[string]string{"#search": "search"}
		dq.Values = dynamo.Item{":needle": dynamo.S(q.Search)}
		if id, err := strconv.ParseInt(strings.TrimSpace(q.Search), 10, 64); err == nil && q.IncludeID {
			dq.Filter += " OR id = :id"
			dq.Values[":id"] = dynamo.N(id)
		}
	}
	max := int(q.Limit)
	if max <= 0 {
		max = apierr.MaxListed + 1
	}
	var out []customers.Customer
	var start dynamo.Item
	for {
		p, err := s.t.QueryPage(ctx, dq, 0, start)
		if err != nil {
			return nil, err
		}
		page, err := dynamo.DecodeAll(p.Items, "customer", customerItem.customer)
		if err != nil {
			return nil, err
		}
		for _, c := range page {
			if keep(c) {
				out = append(out, c)
			}
			if len(out) == max {
				if q.Limit <= 0 {
					return nil, apierr.ListTooLong
				}
				return out, nil
			}
		}
		if p.Next == nil {
			return out, nil
		}
		start = p.Next
	}
}

// CustomersByID implements customers.Store: BatchGetItem, in the given
// order; missing ones are skipped.
func (s *Store) CustomersByID(ctx context.Context, accountID int64, ids []int64) ([]customers.Customer, error) {
	ks := make([]dynamo.Key, len(ids))
	for i, id := range ids {
		ks[i] = dynamo.Customer(accountID, id)
	}
	items, err := s.t.BatchGet(ctx, ks)
	if err != nil {
		return nil, err
	}
	return dynamo.DecodeAll(items, "customer", customerItem.customer)
}

type resellerItem struct {
	PK             string            `dynamodbav:"pk"`
	SK             string            `dynamodbav:"sk"`
	AccountID      int64             `dynamodbav:"accountId"`
	ID             int64             `dynamodbav:"id"`
	InviteID       int64             `dynamodbav:"inviteId"`
	ResellerUserID int64             `dynamodbav:"resellerUserId"`
	CreatedMs      int64             `dynamodbav:"createdMs"`
	Name           *string           `dynamodbav:"name"`
	URL            *string           `dynamodbav:"url"`
	Email          *string           `dynamodbav:"email"`
	Phone          *string           `dynamodbav:"phone"`
	Description    *string           `dynamodbav:"description"`
	Metadata       map[string]string `dynamodbav:"metadata"`
}

func newResellerItem(r customers.Reseller) resellerItem {
	k := dynamo.Reseller(r.AccountID, r.ID)
	return resellerItem{
		PK: k.PK, SK: k.SK, AccountID: r.AccountID, ID: r.ID, InviteID: r.InviteID,
		ResellerUserID: r.ResellerUserID, CreatedMs: r.Created.UnixMilli(), Name: r.Name, URL: r.URL, Email: r.Email,
		Phone: r.Phone, Description: r.Description, Metadata: r.Metadata,
	}
}

func (it resellerItem) reseller() customers.Reseller {
	md := it.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return customers.Reseller{
		AccountID: it.AccountID, ID: it.ID, InviteID: it.InviteID, ResellerUserID: it.ResellerUserID,
		Created: time.UnixMilli(it.CreatedMs).UTC(), Name: it.Name, URL: it.URL, Email: it.Email, Phone: it.Phone,
		Description: it.Description, Metadata: md,
	}
}

// CreateReseller implements customers.Store (conditional PutItem).
func (s *Store) CreateReseller(ctx context.Context, r customers.Reseller) error {
	return s.t.Put(ctx, newResellerItem(r), true)
}

// GetReseller implements customers.Store (one consistent GetItem).
func (s *Store) GetReseller(ctx context.Context, accountID, id int64) (customers.Reseller, error) {
	var it resellerItem
	if err := s.t.Get(ctx, dynamo.Reseller(accountID, id), true, &it); err != nil {
		return customers.Reseller{}, err
	}
	return it.reseller(), nil
}

// ResellersByID reads resellers by id with BatchGetItem, in the given
// order; missing ones are skipped.
func (s *Store) ResellersByID(ctx context.Context, accountID int64, ids []int64) ([]customers.Reseller, error) {
	ks := make([]dynamo.Key, len(ids))
	for i, id := range ids {
		ks[i] = dynamo.Reseller(accountID, id)
	}
	items, err := s.t.BatchGet(ctx, ks)
	if err != nil {
		return nil, err
	}
	return dynamo.DecodeAll(items, "reseller", resellerItem.reseller)
}

// PutReseller implements customers.Store: overwrites an existing reseller
// (NotFound if it was removed meanwhile).
func (s *Store) PutReseller(ctx context.Context, r customers.Reseller) error {
	op, err := s.t.PutOp(newResellerItem(r), dynamo.Exists)
	if err != nil {
		return err
	}
	if err := s.t.WriteOne(ctx, op); errors.Is(err, apierr.Conflict) {
		return apierr.NotFound
	} else if err != nil {
		return fmt.Errorf("put reseller: %w", err)
	}
	return nil
}

// DeleteReseller implements customers.Store: one conditional DeleteItem
// (its licenses are dissociated by the caller).
func (s *Store) DeleteReseller(ctx context.Context, r customers.Reseller) error {
	err := s.t.Delete(ctx, dynamo.Reseller(r.AccountID, r.ID), dynamo.Exists, nil, nil)
	if errors.Is(err, apierr.Conflict) {
		return apierr.NotFound
	}
	return err
}

// ListResellers implements customers.Store: one Query of the account's
// resellers in id order.
func (s *Store) ListResellers(ctx context.Context, accountID int64) ([]customers.Reseller, error) {
	items, err := s.t.QueryBounded(ctx, dynamo.Query{PK: dynamo.AccountPK(accountID), Prefix: dynamo.ResellerPrefix}, apierr.MaxListed)
	if err != nil {
		return nil, err
	}
	return dynamo.DecodeAll(items, "reseller", resellerItem.reseller)
}
