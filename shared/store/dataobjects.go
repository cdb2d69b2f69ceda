package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/dataobj"
	"github.com/keyturn/keyturn/shared/schema"
)

// Data objects. Each object is its own item in its referencer's partition,
// next to the referencer's counters:
//
//	DO#<account>#<ref> / <id:012>     the object (gsi2: DO#<account> / <id:012>,
//	                                  listing every object of the account)
//	DO#<account>#<ref> / C            object count of a User, Product or
//	                                  MachineCode referencer (attribute n)
//	DO#<account>#<ref> / N#<name>     how many of the referencer's objects
//	                                  have this name (attribute n)
//	DOI#<account>#<id> / DOI          pointer: the object's partition and its
//	                                  immutable identity (referencer, name)
//
// <ref> is U (the account), P<product id>, K<key global id> or
// M<key global id>#<machine code>. Objects of a key are counted in the key
// item's own dataObjectCount attribute (see keys.Record.DataObjectCount),
// so a license is rendered without a query when its key has none.
//
// Add is one transaction: put object and pointer (attribute_not_exists),
// increment the referencer's count under the limit, and, for named
// objects, increment the name's count (with CheckForDuplicates: only from
// zero). Uniqueness therefore holds against every concurrent add, with or
// without CheckForDuplicates. Remove is the reverse transaction, followed by
// a best-effort conditional delete of a name count that reached zero.
// Increment, decrement and set are one conditional UpdateItem on the object
// item whose answer carries the new item (ReturnValues ALL_NEW) and, when
// the condition fails, the old one (ReturnValuesOnConditionCheckFailure), so
// no second read is needed to classify a refusal.

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
	doCountSK    = "C"
	doPointerSK  = "DOI"
	doNamePrefix = "N#"
	doIDWidth    = 12
	// doCounter is the atomic counter of data object ids.
	doCounter = "dataobject"
	// doKeyCount is the key item's attribute counting its objects.
	doKeyCount = "dataObjectCount"
)

func newRefAttrs(r dataobj.Ref) refAttrs {
	return refAttrs{RefType: int(r.Type), RefID: r.ID, ProductID: r.ProductID, KeyID: r.KeyID, Key: r.Key, MachineCode: r.MachineCode}
}

func (a refAttrs) ref() dataobj.Ref {
	return dataobj.Ref{Type: dataobj.RefType(a.RefType), ID: a.RefID, ProductID: a.ProductID, KeyID: a.KeyID, Key: a.Key, MachineCode: a.MachineCode}
}

// doRefPart is the <ref> part of a referencer's partition key.
func doRefPart(r dataobj.Ref) string {
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

func doPK(accountID int64, r dataobj.Ref) string {
	return "DO#" + strconv.FormatInt(accountID, 10) + "#" + doRefPart(r)
}

func doPointerPK(accountID, id int64) string {
	return "DOI#" + strconv.FormatInt(accountID, 10) + "#" + strconv.FormatInt(id, 10)
}

func doAccountPK(accountID int64) string { return "DO#" + strconv.FormatInt(accountID, 10) }

func (it dataObjectItem) object() dataobj.Object {
	return dataobj.Object{ID: it.ID, AccountID: it.AccountID, Name: it.Name, StringValue: it.StringValue, IntValue: it.IntValue, Ref: it.ref()}
}

func decodeDataObject(m map[string]types.AttributeValue) (dataobj.Object, error) {
	var it dataObjectItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		return dataobj.Object{}, fmt.Errorf("unmarshal data object: %w", err)
	}
	return it.object(), nil
}

// CreateObject implements dataobj.Store: one counter UpdateItem for the id
// and one transaction (retried on transaction conflicts).
func (s *Store) CreateObject(ctx context.Context, o dataobj.Object, opts dataobj.CreateOptions) (dataobj.Object, error) {
	id, err := s.NextID(ctx, doCounter)
	if err != nil {
		return dataobj.Object{}, err
	}
	o.ID = id
	pk := doPK(o.AccountID, o.Ref)
	obj, err := attributevalue.MarshalMap(dataObjectItem{
		PK: pk, SK: pad(id, doIDWidth), GSI2PK: doAccountPK(o.AccountID), GSI2SK: pad(id, doIDWidth),
		ID: id, AccountID: o.AccountID, Name: o.Name, StringValue: o.StringValue, IntValue: o.IntValue, refAttrs: newRefAttrs(o.Ref),
	})
	if err != nil {
		return dataobj.Object{}, fmt.Errorf("marshal data object: %w", err)
	}
	ptr, err := attributevalue.MarshalMap(dataObjectPointer{
		PK: doPointerPK(o.AccountID, id), SK: doPointerSK, Target: pk,
		ID: id, AccountID: o.AccountID, Name: o.Name, refAttrs: newRefAttrs(o.Ref),
	})
	if err != nil {
		return dataobj.Object{}, fmt.Errorf("marshal data object pointer: %w", err)
	}
	notExists := aws.String("attribute_not_exists(#pk)")
	pkName := map[string]string{"#pk": schema.PK}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: s.table, Item: obj, ConditionExpression: notExists, ExpressionAttributeNames: pkName}},
		{Put: &types.Put{TableName: s.table, Item: ptr, ConditionExpression: notExists, ExpressionAttributeNames: pkName}},
		{Update: s.doCountUpdate(o.AccountID, o.Ref, 1, opts.Limit)},
	}
	if o.Name != "" {
		items = append(items, types.TransactWriteItem{Update: s.doNameUpdate(o.AccountID, o.Ref, o.Name, 1, opts.Unique)})
	}
	reasons, err := s.transact(ctx, items)
	if err != nil {
		return dataobj.Object{}, fmt.Errorf("create data object: %w", err)
	}
	switch {
	case reasons == nil:
		return o, nil
	case failed(reasons, 2):
		if o.Ref.Type == dataobj.Key {
			gone, err := s.keyGone(ctx, o.AccountID, o.Ref, reasons[2].Item)
			if err != nil {
				return dataobj.Object{}, err
			}
			if gone {
				return dataobj.Object{}, apierr.NotFound
			}
		}
		return dataobj.Object{}, dataobj.ErrLimit
	case len(items) > 3 && failed(reasons, 3):
		return dataobj.Object{}, dataobj.ErrDuplicateName
	}
	return dataobj.Object{}, fmt.Errorf("create data object %d: transaction cancelled: %v", id, reasonCodes(reasons))
}

// keyGone reports whether the key of a Key ref is missing (or another
// account's), from the old item a failed condition returned or, if the
// answer carried none, from one consistent read.
func (s *Store) keyGone(ctx context.Context, accountID int64, r dataobj.Ref, old map[string]types.AttributeValue) (bool, error) {
	if len(old) == 0 {
		res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.table, Key: key(keyPK(r.ProductID, r.Key), keySK), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return false, fmt.Errorf("read key: %w", err)
		}
		old = res.Item
	}
	if len(old) == 0 {
		return true, nil
	}
	rec, err := decodeKey(old)
	if err != nil {
		return false, err
	}
	return rec.AccountID != accountID, nil
}

// doCountUpdate changes a referencer's object count by delta; with limit >
// 0 (an add) the count must stay within limit. A Key referencer's count is
// the key item's dataObjectCount, which must exist and belong to the
// account (the update never creates a key item).
func (s *Store) doCountUpdate(accountID int64, r dataobj.Ref, delta int64, limit int) *types.Update {
	values := map[string]types.AttributeValue{":d": num(delta)}
	names := map[string]string{"#n": "n"}
	var k map[string]types.AttributeValue
	cond := ""
	if r.Type == dataobj.Key {
		k = key(keyPK(r.ProductID, r.Key), keySK)
		names = map[string]string{"#n": doKeyCount, "#pk": schema.PK, "#acct": "accountId"}
		values[":acct"] = num(accountID)
		cond = "attribute_exists(#pk) AND #acct = :acct"
	} else {
		k = key(doPK(accountID, r), doCountSK)
	}
	if limit > 0 {
		values[":limit"] = num(int64(limit))
		lim := "(attribute_not_exists(#n) OR #n < :limit)"
		if cond != "" {
			cond += " AND " + lim
		} else {
			cond = lim
		}
	}
	u := &types.Update{
		TableName: s.table, Key: k, UpdateExpression: aws.String("ADD #n :d"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if cond != "" {
		u.ConditionExpression = aws.String(cond)
	}
	return u
}

// doNameUpdate changes the count of a name by delta; with unique, only a
// count that is missing or zero may be incremented.
func (s *Store) doNameUpdate(accountID int64, r dataobj.Ref, name string, delta int64, unique bool) *types.Update {
	u := &types.Update{
		TableName: s.table, Key: key(doPK(accountID, r), doNamePrefix+name),
		UpdateExpression:          aws.String("ADD #n :d"),
		ExpressionAttributeNames:  map[string]string{"#n": "n"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": num(delta)},
	}
	if unique {
		u.ConditionExpression = aws.String("attribute_not_exists(#n) OR #n <= :zero")
		u.ExpressionAttributeValues[":zero"] = num(0)
	}
	return u
}

// DeleteObject implements dataobj.Store: one transaction (retried on
// transaction conflicts), then, for a named object, one conditional
// DeleteItem of the name's count if it reached zero (best effort: a count
// left at zero is harmless).
func (s *Store) DeleteObject(ctx context.Context, h dataobj.Handle) error {
	pk := doPK(h.AccountID, h.Ref)
	items := []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: s.table, Key: key(pk, pad(h.ID, doIDWidth)),
			ConditionExpression: aws.String("attribute_exists(#pk)"), ExpressionAttributeNames: map[string]string{"#pk": schema.PK}}},
		{Delete: &types.Delete{TableName: s.table, Key: key(doPointerPK(h.AccountID, h.ID), doPointerSK)}},
		{Update: s.doCountUpdate(h.AccountID, h.Ref, -1, 0)},
	}
	if h.Name != "" {
		items = append(items, types.TransactWriteItem{Update: s.doNameUpdate(h.AccountID, h.Ref, h.Name, -1, false)})
	}
	reasons, err := s.transact(ctx, items)
	if err != nil {
		return fmt.Errorf("delete data object: %w", err)
	}
	if failed(reasons, 0) {
		return apierr.NotFound
	}
	if reasons != nil {
		return fmt.Errorf("delete data object %d: transaction cancelled: %v", h.ID, reasonCodes(reasons))
	}
	if h.Name != "" {
		_, _ = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: s.table, Key: key(pk, doNamePrefix+h.Name),
			ConditionExpression:       aws.String("#n <= :zero"),
			ExpressionAttributeNames:  map[string]string{"#n": "n"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0)},
		})
	}
	return nil
}

// Locate implements dataobj.Store: one consistent GetItem of the pointer.
func (s *Store) Locate(ctx context.Context, accountID, id int64) (dataobj.Handle, error) {
	var p dataObjectPointer
	if err := s.get(ctx, doPointerPK(accountID, id), doPointerSK, true, &p); err != nil {
		return dataobj.Handle{}, err
	}
	return dataobj.Handle{AccountID: p.AccountID, ID: p.ID, Name: p.Name, Ref: p.ref()}, nil
}

// GetObject implements dataobj.Store: one consistent GetItem.
func (s *Store) GetObject(ctx context.Context, accountID int64, r dataobj.Ref, id int64) (dataobj.Object, error) {
	var it dataObjectItem
	if err := s.get(ctx, doPK(accountID, r), pad(id, doIDWidth), true, &it); err != nil {
		return dataobj.Object{}, err
	}
	return it.object(), nil
}

// objectsQuery selects the object items of a referencer's partition (not
// its counters).
func objectsQuery(accountID int64, r dataobj.Ref) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi"),
		ExpressionAttributeNames: map[string]string{"#pk": schema.PK, "#sk": schema.SK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: doPK(accountID, r)},
			":lo": &types.AttributeValueMemberS{Value: pad(0, doIDWidth)},
			":hi": &types.AttributeValueMemberS{Value: pad(999999999999, doIDWidth)},
		},
		ConsistentRead: aws.Bool(true),
	}
}

func decodeDataObjects(items []map[string]types.AttributeValue) ([]dataobj.Object, error) {
	out := make([]dataobj.Object, 0, len(items))
	for _, m := range items {
		o, err := decodeDataObject(m)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// ListObjects implements dataobj.Store: one consistent Query (paged only
// beyond 1 MB).
func (s *Store) ListObjects(ctx context.Context, accountID int64, r dataobj.Ref) ([]dataobj.Object, error) {
	items, err := s.queryAll(ctx, objectsQuery(accountID, r))
	if err != nil {
		return nil, err
	}
	return decodeDataObjects(items)
}

// FindByName implements dataobj.Store: one consistent Query filtered on the
// name; the lowest id wins.
func (s *Store) FindByName(ctx context.Context, accountID int64, r dataobj.Ref, name string) (dataobj.Object, error) {
	q := objectsQuery(accountID, r)
	q.FilterExpression = aws.String("#name = :name")
	q.ExpressionAttributeNames["#name"] = "name"
	q.ExpressionAttributeValues[":name"] = &types.AttributeValueMemberS{Value: name}
	items, err := s.queryAll(ctx, q)
	if err != nil {
		return dataobj.Object{}, err
	}
	if len(items) == 0 {
		return dataobj.Object{}, apierr.NotFound
	}
	return decodeDataObject(items[0])
}

// ListAccountObjects implements dataobj.Store: a Query on gsi2 (eventually
// consistent) and BatchGetItem for the items.
func (s *Store) ListAccountObjects(ctx context.Context, accountID int64) ([]dataobj.Object, error) {
	items, err := s.indexItems(ctx, &dynamodb.QueryInput{
		IndexName:              aws.String(schema.GSI2),
		KeyConditionExpression: aws.String("gsi2pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: doAccountPK(accountID)},
		},
	})
	if err != nil {
		return nil, err
	}
	return decodeDataObjects(items)
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
// returns the object after it (see updateExisting for the errors).
func (s *Store) updateObject(ctx context.Context, h dataobj.Handle, expr, cond string, names map[string]string, values map[string]types.AttributeValue) (dataobj.Object, error) {
	names["#pk"] = schema.PK
	c := "attribute_exists(#pk)"
	if cond != "" {
		c += " AND " + cond
	}
	in := &dynamodb.UpdateItemInput{
		TableName: s.table, Key: key(doPK(h.AccountID, h.Ref), pad(h.ID, doIDWidth)),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String(c),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		ReturnValues: types.ReturnValueAllNew,
	}
	var out *dynamodb.UpdateItemOutput
	err := s.retryConflicts(ctx, func() error {
		var err error
		out, err = s.updateExisting(ctx, in, "data object "+strconv.FormatInt(h.ID, 10))
		return err
	})
	if err != nil {
		return dataobj.Object{}, err
	}
	return decodeDataObject(out.Attributes)
}

// AddInt implements dataobj.Store: one conditional UpdateItem.
func (s *Store) AddInt(ctx context.Context, h dataobj.Handle, d dataobj.Delta) (dataobj.Object, error) {
	return s.updateObject(ctx, h, "SET #iv = #iv + :step", "#iv >= :min AND #iv <= :max",
		map[string]string{"#iv": "intValue"},
		map[string]types.AttributeValue{":step": num(d.Step), ":min": num(d.Min), ":max": num(d.Max)})
}

// SetInt implements dataobj.Store: one conditional UpdateItem.
func (s *Store) SetInt(ctx context.Context, h dataobj.Handle, v int32, min, max int64) (dataobj.Object, error) {
	return s.updateObject(ctx, h, "SET #iv = :v", "#iv >= :min AND #iv <= :max", map[string]string{"#iv": "intValue"},
		map[string]types.AttributeValue{":v": num(int64(v)), ":min": num(min), ":max": num(max)})
}

// SetString implements dataobj.Store: one conditional UpdateItem.
func (s *Store) SetString(ctx context.Context, h dataobj.Handle, v string) (dataobj.Object, error) {
	return s.updateObject(ctx, h, "SET #sv = :v", "", map[string]string{"#sv": "stringValue"},
		map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: v}})
}

// transact runs a transaction, retrying it while it is cancelled only
// because of conflicts with other transactions. It returns the
// cancellation reasons when a condition failed (nil on success).
func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem) ([]types.CancellationReason, error) {
	var reasons []types.CancellationReason
	err := s.retryConflicts(ctx, func() error {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		var tc *types.TransactionCanceledException
		if errors.As(err, &tc) && hasCode(tc.CancellationReasons, "ConditionalCheckFailed") {
			reasons = tc.CancellationReasons
			return nil
		}
		return err
	})
	return reasons, err
}

// maxConflictRetries bounds retries of writes that lost a race against a
// transaction on the same item.
const maxConflictRetries = 30

// retryConflicts runs fn until it returns something other than a
// transaction conflict (TransactionConflictException, or a cancelled
// transaction whose reasons are only conflicts), with jittered exponential
// backoff (the jitter only spreads retries; it decides nothing).
func (s *Store) retryConflicts(ctx context.Context, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || !isConflict(err) || attempt >= maxConflictRetries {
			return err
		}
		d := time.Duration(min(2<<min(attempt, 6), 100)) * time.Millisecond
		d = d/2 + time.Duration(rand.Int64N(int64(d)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
}

func isConflict(err error) bool {
	var tce *types.TransactionConflictException
	if errors.As(err, &tce) {
		return true
	}
	var tc *types.TransactionCanceledException
	return errors.As(err, &tc) && hasCode(tc.CancellationReasons, "TransactionConflict")
}

func hasCode(reasons []types.CancellationReason, code string) bool {
	for _, r := range reasons {
		if aws.ToString(r.Code) == code {
			return true
		}
	}
	return false
}

func failed(reasons []types.CancellationReason, i int) bool {
	return i < len(reasons) && aws.ToString(reasons[i].Code) == "ConditionalCheckFailed"
}

func reasonCodes(reasons []types.CancellationReason) []string {
	out := make([]string, len(reasons))
	for i, r := range reasons {
		out[i] = aws.ToString(r.Code)
	}
	return out
}
