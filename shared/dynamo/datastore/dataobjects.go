// Package datastore is the DynamoDB adapter of data objects
// (dataobj.Store). Item layout: docs/DATA-MODEL.md, "Data objects".
//
// Each object is its own item in its referencer's partition, next to the
// referencer's counters; a pointer item per id lets the by-Id methods find
// an object with one read. <ref> is U (the account), P<product id>,
// K<key global id> or M<key global id>#<machine code>. Objects of a key
// are counted in the license item's own dataObjectCount attribute (see
// keys.Record.DataObjectCount), so a license is rendered without a query
// when its key has none.
//
// Add is one transaction: put object and pointer (attribute_not_exists),
// increment the referencer's count under the limit, and, for named
// objects, increment the name's count (with CheckForDuplicates: only from
// zero). Uniqueness therefore holds against every concurrent add, with or
// without CheckForDuplicates. Remove is the reverse transaction, followed by
// a conditional delete of a name count that reached zero. Increment,
// decrement and set are one conditional UpdateItem on the object item whose
// answer carries the new item and, when the condition fails, the old one,
// so no second read is needed to classify a refusal.
package datastore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/dataobj"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/schema"
)

// Store implements dataobj.Store.
type Store struct {
	t *dynamo.Table
}

// New returns the data object store on table t.
func New(t *dynamo.Table) *Store { return &Store{t: t} }

type dataObjectItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	GSI2PK      string `dynamodbav:"gsi2pk"`
	GSI2SK      string `dynamodbav:"gsi2sk"`
	ID          int64  `dynamodbav:"id"`
	AccountID   int64  `dynamodbav:"accountId"`
	Name        string `dynamodbav:"name"`
	StringValue string `dynamodbav:"stringValue"`
	IntValue    int32  `dynamodbav:"intValue"`
	refAttrs
}

// refAttrs are the referencer attributes kept on objects and pointers.
type refAttrs struct {
	RefType     int    `dynamodbav:"refType"`
	RefID       int64  `dynamodbav:"refId"`
	ProductID   int64  `dynamodbav:"productId,omitempty"`
	KeyID       int64  `dynamodbav:"keyId,omitempty"`
	Key         string `dynamodbav:"key,omitempty"`
	MachineCode string `dynamodbav:"machineCode,omitempty"`
}

type dataObjectPointer struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Target    string `dynamodbav:"target"`
	ID        int64  `dynamodbav:"id"`
	AccountID int64  `dynamodbav:"accountId"`
	Name      string `dynamodbav:"name"`
	refAttrs
}

const (
	// doCounter is the atomic counter of data object ids.
	doCounter = "dataobject"
	// doKeyCount is the license item's attribute counting its objects.
	doKeyCount = "dataObjectCount"
)

func newRefAttrs(r dataobj.Ref) refAttrs {
	return refAttrs{RefType: int(r.Type), RefID: r.ID, ProductID: r.ProductID, KeyID: r.KeyID, Key: r.Key, MachineCode: r.MachineCode}
}

func (a refAttrs) ref() dataobj.Ref {
	return dataobj.Ref{Type: dataobj.RefType(a.RefType), ID: a.RefID, ProductID: a.ProductID, KeyID: a.KeyID, Key: a.Key, MachineCode: a.MachineCode}
}

// refPart is the <ref> part of a referencer's partition key.
func refPart(r dataobj.Ref) string {
	switch r.Type {
	case dataobj.User:
		return "U"
	case dataobj.Product:
		return "P" + strconv.FormatInt(r.ID, 10)
	case dataobj.Key:
		return "K" + strconv.FormatInt(r.ID, 10)
	default:
		return "M" + strconv.FormatInt(r.ID, 10) + "#" + r.MachineCode
	}
}

func (it dataObjectItem) object() dataobj.Object {
	return dataobj.Object{ID: it.ID, AccountID: it.AccountID, Name: it.Name, StringValue: it.StringValue, IntValue: it.IntValue, Ref: it.ref()}
}

func decodeDataObject(m dynamo.Item) (dataobj.Object, error) {
	var it dataObjectItem
	if err := dynamo.Decode(m, "data object", &it); err != nil {
		return dataobj.Object{}, err
	}
	return it.object(), nil
}

// CreateObject implements dataobj.Store: one counter UpdateItem for the id
// and one transaction (retried on transaction conflicts).
func (s *Store) CreateObject(ctx context.Context, o dataobj.Object, opts dataobj.CreateOptions) (dataobj.Object, error) {
	id, err := s.t.NextIDs(ctx, dynamo.Counter(doCounter), 1)
	if err != nil {
		return dataobj.Object{}, err
	}
	o.ID = id
	ref := refPart(o.Ref)
	k := dynamo.DataObject(o.AccountID, ref, id)
	obj, err := s.t.PutOp(dataObjectItem{
		PK: k.PK, SK: k.SK, GSI2PK: dynamo.AccountDataObjectsGSI2PK(o.AccountID), GSI2SK: dynamo.Pad(id, dynamo.IDWidth),
		ID: id, AccountID: o.AccountID, Name: o.Name, StringValue: o.StringValue, IntValue: o.IntValue, refAttrs: newRefAttrs(o.Ref),
	}, dynamo.NotExists)
	if err != nil {
		return dataobj.Object{}, err
	}
	pk := dynamo.DataObjectPointer(o.AccountID, id)
	ptr, err := s.t.PutOp(dataObjectPointer{
		PK: pk.PK, SK: pk.SK, Target: k.PK,
		ID: id, AccountID: o.AccountID, Name: o.Name, refAttrs: newRefAttrs(o.Ref),
	}, dynamo.NotExists)
	if err != nil {
		return dataobj.Object{}, err
	}
	ops := []types.TransactWriteItem{obj, ptr, s.countOp(o.AccountID, o.Ref, 1, opts.Limit)}
	if o.Name != "" {
		ops = append(ops, s.nameOp(o.AccountID, o.Ref, o.Name, 1, opts.Unique))
	}
	err = s.t.Transact(ctx, ops)
	var tx *dynamo.TxError
	switch {
	case err == nil:
		return o, nil
	case !errors.As(err, &tx):
		return dataobj.Object{}, fmt.Errorf("create data object: %w", err)
	case tx.FailedAt(2):
		if o.Ref.Type == dataobj.Key {
			gone, err := s.keyGone(ctx, o.AccountID, o.Ref, tx.Old[2])
			if err != nil {
				return dataobj.Object{}, err
			}
			if gone {
				return dataobj.Object{}, apierr.NotFound
			}
		}
		return dataobj.Object{}, dataobj.ErrLimit
	case len(ops) > 3 && tx.FailedAt(3):
		return dataobj.Object{}, dataobj.ErrDuplicateName
	}
	return dataobj.Object{}, fmt.Errorf("create data object %d: transaction cancelled: %v", id, tx.Failed)
}

// keyGone reports whether the license of a Key ref is missing (or another
// account's), from the old item a failed condition returned or, if the
// answer carried none, from one consistent read.
func (s *Store) keyGone(ctx context.Context, accountID int64, r dataobj.Ref, old dynamo.Item) (bool, error) {
	var it struct {
		AccountID int64 `dynamodbav:"accountId"`
	}
	if len(old) == 0 {
		err := s.t.Get(ctx, dynamo.License(r.ProductID, r.Key), true, &it)
		if errors.Is(err, apierr.NotFound) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
	} else if err := dynamo.Decode(old, "key", &it); err != nil {
		return false, err
	}
	return it.AccountID != accountID, nil
}

// countOp changes a referencer's object count by delta; with limit > 0
// (an add) the count must stay within limit. A Key referencer's count is
// the license item's dataObjectCount, which must exist and belong to the
// account (the update never creates a license item).
func (s *Store) countOp(accountID int64, r dataobj.Ref, delta int64, limit int) types.TransactWriteItem {
	u := dynamo.Update{Expr: "ADD #n :d", Names: map[string]string{"#n": "n"}, Values: dynamo.Item{":d": dynamo.N(delta)}}
	k := dynamo.DataObjectCount(accountID, refPart(r))
	var conds []string
	if r.Type == dataobj.Key {
		k = dynamo.License(r.ProductID, r.Key)
		u.Names = map[string]string{"#n": doKeyCount, "#pk": schema.PK, "#acct": "accountId"}
		u.Values[":acct"] = dynamo.N(accountID)
		conds = append(conds, "attribute_exists(#pk) AND #acct = :acct")
	}
	if limit > 0 {
		u.Values[":limit"] = dynamo.N(int64(limit))
		conds = append(conds, "(attribute_not_exists(#n) OR #n < :limit)")
	}
	for i, c := range conds {
		if i > 0 {
			u.Cond += " AND "
		}
		u.Cond += c
	}
	return s.t.UpdateOp(k, u)
}

// nameOp changes the count of a name by delta; with unique, only a count
// that is missing or zero may be incremented.
func (s *Store) nameOp(accountID int64, r dataobj.Ref, name string, delta int64, unique bool) types.TransactWriteItem {
	u := dynamo.Update{Expr: "ADD #n :d", Names: map[string]string{"#n": "n"}, Values: dynamo.Item{":d": dynamo.N(delta)}}
	if unique {
		u.Cond = "attribute_not_exists(#n) OR #n <= :zero"
		u.Values[":zero"] = dynamo.N(0)
	}
	return s.t.UpdateOp(dynamo.DataObjectName(accountID, refPart(r), name), u)
}

// DeleteObject implements dataobj.Store: one transaction (retried on
// transaction conflicts), then, for a named object, one conditional
// DeleteItem of the name's count if it reached zero (a count left at zero
// is harmless).
func (s *Store) DeleteObject(ctx context.Context, h dataobj.Handle) error {
	ref := refPart(h.Ref)
	ops := []types.TransactWriteItem{
		s.t.DeleteOp(dynamo.DataObject(h.AccountID, ref, h.ID), dynamo.Exists, nil, nil),
		s.t.DeleteOp(dynamo.DataObjectPointer(h.AccountID, h.ID), "", nil, nil),
		s.countOp(h.AccountID, h.Ref, -1, 0),
	}
	if h.Name != "" {
		ops = append(ops, s.nameOp(h.AccountID, h.Ref, h.Name, -1, false))
	}
	err := s.t.Transact(ctx, ops)
	if dynamo.FailedOp(err) == 0 {
		return apierr.NotFound
	}
	if err != nil {
		return fmt.Errorf("delete data object %d: %w", h.ID, err)
	}
	if h.Name != "" {
		err := s.t.Delete(ctx, dynamo.DataObjectName(h.AccountID, ref, h.Name), "#n <= :zero",
			map[string]string{"#n": "n"}, dynamo.Item{":zero": dynamo.N(0)})
		if err != nil && !errors.Is(err, apierr.Conflict) {
			return fmt.Errorf("delete data object name count: %w", err)
		}
	}
	return nil
}

// Locate implements dataobj.Store: one consistent GetItem of the pointer.
func (s *Store) Locate(ctx context.Context, accountID, id int64) (dataobj.Handle, error) {
	var p dataObjectPointer
	if err := s.t.Get(ctx, dynamo.DataObjectPointer(accountID, id), true, &p); err != nil {
		return dataobj.Handle{}, err
	}
	return dataobj.Handle{AccountID: p.AccountID, ID: p.ID, Name: p.Name, Ref: p.ref()}, nil
}

// GetObject implements dataobj.Store: one consistent GetItem.
func (s *Store) GetObject(ctx context.Context, accountID int64, r dataobj.Ref, id int64) (dataobj.Object, error) {
	var it dataObjectItem
	if err := s.t.Get(ctx, dynamo.DataObject(accountID, refPart(r), id), true, &it); err != nil {
		return dataobj.Object{}, err
	}
	return it.object(), nil
}

// objectsQuery selects the object items of a referencer's partition (not
// its counters).
func objectsQuery(accountID int64, r dataobj.Ref) dynamo.Query {
	return dynamo.Query{PK: dynamo.DataObjectsPK(accountID, refPart(r)),
		From: dynamo.Pad(0, dynamo.IDWidth), To: dynamo.Pad(999999999999, dynamo.IDWidth), Consistent: true}
}

// ListObjects implements dataobj.Store: one consistent Query (a
// referencer holds at most 100 objects).
func (s *Store) ListObjects(ctx context.Context, accountID int64, r dataobj.Ref) ([]dataobj.Object, error) {
	items, err := s.t.QueryAll(ctx, objectsQuery(accountID, r))
	if err != nil {
		return nil, err
	}
	return dynamo.DecodeAll(items, "data object", dataObjectItem.object)
}

// FindByName implements dataobj.Store: one consistent Query filtered on the
// name; the lowest id wins.
func (s *Store) FindByName(ctx context.Context, accountID int64, r dataobj.Ref, name string) (dataobj.Object, error) {
	q := objectsQuery(accountID, r)
	q.Filter, q.Names, q.Values = "#name = :name", map[string]string{"#name": "name"}, dynamo.Item{":name": dynamo.S(name)}
	items, err := s.t.QueryAll(ctx, q)
	if err != nil {
		return dataobj.Object{}, err
	}
	if len(items) == 0 {
		return dataobj.Object{}, apierr.NotFound
	}
	return decodeDataObject(items[0])
}

// ListAccountObjects implements dataobj.Store: a Query of gsi2, which
// projects the objects whole (eventually consistent).
func (s *Store) ListAccountObjects(ctx context.Context, accountID int64) ([]dataobj.Object, error) {
	items, err := s.t.QueryBounded(ctx, dynamo.Query{Index: schema.GSI2, PK: dynamo.AccountDataObjectsGSI2PK(accountID)}, apierr.MaxListed)
	if err != nil {
		return nil, err
	}
	return dynamo.DecodeAll(items, "data object", dataObjectItem.object)
}

// KeyDataObjects returns the data objects referencing the key with
// globalID (not those of its machine codes), in id order: one consistent
// Query. A key without objects yields an empty slice.
func (s *Store) KeyDataObjects(ctx context.Context, accountID, globalID int64) ([]dataobj.Object, error) {
	return s.ListObjects(ctx, accountID, dataobj.Ref{Type: dataobj.Key, ID: globalID})
}

// ProductDataObjects returns the data objects referencing the product, in
// id order: one consistent Query.
func (s *Store) ProductDataObjects(ctx context.Context, accountID, productID int64) ([]dataobj.Object, error) {
	return s.ListObjects(ctx, accountID, dataobj.Ref{Type: dataobj.Product, ID: productID})
}

// updateObject runs one conditional UpdateItem on an object item and
// returns the object after it (see dynamo.Table.UpdateExisting for the
// errors).
func (s *Store) updateObject(ctx context.Context, h dataobj.Handle, u dynamo.Update) (dataobj.Object, error) {
	out, err := s.t.UpdateExisting(ctx, dynamo.DataObject(h.AccountID, refPart(h.Ref), h.ID), u)
	if err != nil {
		return dataobj.Object{}, err
	}
	return decodeDataObject(out)
}

// AddInt implements dataobj.Store: one conditional UpdateItem.
func (s *Store) AddInt(ctx context.Context, h dataobj.Handle, d dataobj.Delta) (dataobj.Object, error) {
	return s.updateObject(ctx, h, dynamo.Update{Expr: "SET #iv = #iv + :step", Cond: "#iv >= :min AND #iv <= :max",
		Names:  map[string]string{"#iv": "intValue"},
		Values: dynamo.Item{":step": dynamo.N(d.Step), ":min": dynamo.N(d.Min), ":max": dynamo.N(d.Max)}})
}

// SetInt implements dataobj.Store: one UpdateItem conditioned on the
// current value being within [min, max].
func (s *Store) SetInt(ctx context.Context, h dataobj.Handle, v int32, min, max int64) (dataobj.Object, error) {
	return s.updateObject(ctx, h, dynamo.Update{Expr: "SET #iv = :v", Cond: "#iv >= :min AND #iv <= :max",
		Names:  map[string]string{"#iv": "intValue"},
		Values: dynamo.Item{":v": dynamo.N(int64(v)), ":min": dynamo.N(min), ":max": dynamo.N(max)}})
}

// SetString implements dataobj.Store: one conditional UpdateItem.
func (s *Store) SetString(ctx context.Context, h dataobj.Handle, v string) (dataobj.Object, error) {
	return s.updateObject(ctx, h, dynamo.Update{Expr: "SET #sv = :v", Names: map[string]string{"#sv": "stringValue"},
		Values: dynamo.Item{":v": dynamo.S(v)}})
}
