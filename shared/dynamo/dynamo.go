package dynamo

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
	"github.com/keyturn/keyturn/shared/schema"
)

// API is the subset of the DynamoDB client the adapters use.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// Item is one stored item as DynamoDB returns it.
type Item = map[string]types.AttributeValue

// Table is the one Keyturn table. It is safe for concurrent use.
type Table struct {
	db   API
	name *string
}

// New returns the table name on db.
func New(db API, name string) *Table {
	return &Table{db: db, name: aws.String(name)}
}

// Name returns the table name (for inputs the adapters build themselves).
func (t *Table) Name() *string { return t.name }

// DB returns the client (for calls the helpers do not cover).
func (t *Table) DB() API { return t.db }

// AV returns the attribute map of a primary key.
func (k Key) AV() Item {
	return Item{
		schema.PK: &types.AttributeValueMemberS{Value: k.PK},
		schema.SK: &types.AttributeValueMemberS{Value: k.SK},
	}
}

// KeyOf returns the primary key of a stored item (zero Key if absent).
func KeyOf(m Item) Key {
	pk, _ := m[schema.PK].(*types.AttributeValueMemberS)
	sk, _ := m[schema.SK].(*types.AttributeValueMemberS)
	if pk == nil || sk == nil {
		return Key{}
	}
	return Key{PK: pk.Value, SK: sk.Value}
}

// N is a number attribute value.
func N(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// S is a string attribute value.
func S(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

// Bool is a boolean attribute value.
func Bool(b bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: b} }

// Null is the NULL attribute value.
func Null() types.AttributeValue { return &types.AttributeValueMemberNULL{Value: true} }

// Pad renders n with at least width digits, zero-padded, so that string
// order is numeric order for non-negative numbers.
func Pad(n int64, width int) string { return fmt.Sprintf("%0*d", width, n) }

// Get reads the item at k into out; apierr.NotFound when absent. Reads are
// eventually consistent unless consistent is set.
func (t *Table) Get(ctx context.Context, k Key, consistent bool, out any) error {
	res, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: t.name, Key: k.AV(), ConsistentRead: aws.Bool(consistent)})
	if err != nil {
		return fmt.Errorf("get %s/%s: %w", k.PK, k.SK, err)
	}
	if res.Item == nil {
		return apierr.NotFound
	}
	if err := attributevalue.UnmarshalMap(res.Item, out); err != nil {
		return fmt.Errorf("unmarshal %s/%s: %w", k.PK, k.SK, err)
	}
	return nil
}

// Put writes item (a struct carrying its pk and sk). With mustNotExist the
// write fails with apierr.Conflict if the key is taken.
func (t *Table) Put(ctx context.Context, item any, mustNotExist bool) error {
	cond := ""
	if mustNotExist {
		cond = NotExists
	}
	op, err := t.PutOp(item, cond)
	if err != nil {
		return err
	}
	return t.WriteOne(ctx, op)
}

// Condition expressions the adapters use often.
const (
	// NotExists holds when no item has the key.
	NotExists = "attribute_not_exists(pk)"
	// Exists holds when the item exists.
	Exists = "attribute_exists(pk)"
)

// PutOp returns a Put of item under cond ("" for none).
func (t *Table) PutOp(item any, cond string) (types.TransactWriteItem, error) {
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("marshal %T: %w", item, err)
	}
	p := &types.Put{TableName: t.name, Item: av}
	if cond != "" {
		p.ConditionExpression = aws.String(cond)
	}
	return types.TransactWriteItem{Put: p}, nil
}

// DeleteOp returns a Delete of k under cond ("" for none), whose
// placeholders values fills.
func (t *Table) DeleteOp(k Key, cond string, names map[string]string, values Item) types.TransactWriteItem {
	d := &types.Delete{TableName: t.name, Key: k.AV()}
	if cond != "" {
		d.ConditionExpression = aws.String(cond)
		d.ExpressionAttributeNames = nonEmptyNames(names)
		d.ExpressionAttributeValues = nonEmptyValues(values)
	}
	return types.TransactWriteItem{Delete: d}
}

// UpdateOp returns an Update of k.
func (t *Table) UpdateOp(k Key, u Update) types.TransactWriteItem {
	in := &types.Update{
		TableName: t.name, Key: k.AV(), UpdateExpression: aws.String(u.Expr),
		ExpressionAttributeNames: nonEmptyNames(u.Names), ExpressionAttributeValues: nonEmptyValues(u.Values),
	}
	if u.Cond != "" {
		in.ConditionExpression = aws.String(u.Cond)
	}
	return types.TransactWriteItem{Update: in}
}

// ConditionCheckOp returns a condition check of k.
func (t *Table) ConditionCheckOp(k Key, cond string, names map[string]string, values Item) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: t.name, Key: k.AV(), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: nonEmptyNames(names), ExpressionAttributeValues: nonEmptyValues(values),
	}}
}

func nonEmptyNames(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func nonEmptyValues(m Item) Item {
	if len(m) == 0 {
		return nil
	}
	return m
}

// Update is an update expression with its condition and placeholders.
type Update struct {
	Expr   string
	Cond   string
	Names  map[string]string
	Values Item
}

// UpdateExisting runs one conditional UpdateItem of k whose condition
// (u.Cond, if any) is combined with "the item exists", and returns the
// item after the update. A failed condition is apierr.NotFound when the
// item is missing and a *ConflictError (apierr.Conflict) otherwise; the
// old item comes back with the failure, so no extra read is needed.
// Transaction conflicts are retried.
func (t *Table) UpdateExisting(ctx context.Context, k Key, u Update) (Item, error) {
	cond := Exists
	if u.Cond != "" {
		cond += " AND (" + u.Cond + ")"
	}
	out, err := t.update(ctx, k, u, cond)
	var ce *ConflictError
	if errors.As(err, &ce) && len(ce.Old) == 0 {
		return nil, apierr.NotFound
	}
	return out, err
}

// Upsert runs one UpdateItem of k (creating the item if it is missing)
// under u.Cond, if any, and returns the item after it. A failed condition
// is a *ConflictError (apierr.Conflict) carrying the old item (nil when
// there was none). Transaction conflicts are retried.
func (t *Table) Upsert(ctx context.Context, k Key, u Update) (Item, error) {
	return t.update(ctx, k, u, u.Cond)
}

func (t *Table) update(ctx context.Context, k Key, u Update, cond string) (Item, error) {
	in := &dynamodb.UpdateItemInput{
		TableName: t.name, Key: k.AV(), UpdateExpression: aws.String(u.Expr),
		ExpressionAttributeNames: nonEmptyNames(u.Names), ExpressionAttributeValues: nonEmptyValues(u.Values),
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if cond != "" {
		in.ConditionExpression = aws.String(cond)
	}
	var out *dynamodb.UpdateItemOutput
	err := t.retryConflicts(ctx, func() error {
		var err error
		out, err = t.db.UpdateItem(ctx, in)
		return err
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil, &ConflictError{Old: ccf.Item}
	}
	if err != nil {
		return nil, fmt.Errorf("update %s/%s: %w", k.PK, k.SK, err)
	}
	return out.Attributes, nil
}

// ConflictError is apierr.Conflict carrying the item as it was when the
// condition failed (errors.Is(err, apierr.Conflict) holds).
type ConflictError struct{ Old Item }

func (e *ConflictError) Error() string { return apierr.Conflict.Error() }

// Is makes errors.Is(err, apierr.Conflict) true.
func (e *ConflictError) Is(target error) bool { return target == apierr.Conflict }

// WriteOne runs one transaction item as a plain write (half the cost of a
// transaction); a failed condition is apierr.Conflict. Transaction
// conflicts are retried.
func (t *Table) WriteOne(ctx context.Context, op types.TransactWriteItem) error {
	err := t.retryConflicts(ctx, func() error {
		var err error
		switch {
		case op.Put != nil:
			p := op.Put
			_, err = t.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: p.TableName, Item: p.Item,
				ConditionExpression: p.ConditionExpression, ExpressionAttributeNames: p.ExpressionAttributeNames,
				ExpressionAttributeValues: p.ExpressionAttributeValues})
		case op.Update != nil:
			u := op.Update
			_, err = t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: u.TableName, Key: u.Key,
				UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
				ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues})
		case op.Delete != nil:
			d := op.Delete
			_, err = t.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: d.TableName, Key: d.Key,
				ConditionExpression: d.ConditionExpression, ExpressionAttributeNames: d.ExpressionAttributeNames,
				ExpressionAttributeValues: d.ExpressionAttributeValues})
		default:
			return errors.New("dynamo: no write in the item")
		}
		return err
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return apierr.Conflict
	}
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// Delete removes k under cond ("" for none); a failed condition is
// apierr.Conflict.
func (t *Table) Delete(ctx context.Context, k Key, cond string, names map[string]string, values Item) error {
	return t.WriteOne(ctx, t.DeleteOp(k, cond, names, values))
}

// Transact runs ops as one transaction (a single op runs as a plain
// write). It retries while the transaction is cancelled only because of
// conflicts with other transactions. When a condition failed it returns
// apierr.Conflict wrapped in a *TxError that tells which op failed.
func (t *Table) Transact(ctx context.Context, ops []types.TransactWriteItem) error {
	if len(ops) == 1 && ops[0].ConditionCheck == nil {
		err := t.WriteOne(ctx, ops[0])
		if errors.Is(err, apierr.Conflict) {
			return &TxError{Failed: []bool{true}}
		}
		return err
	}
	for i := range ops {
		switch {
		case ops[i].Put != nil:
			ops[i].Put.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
		case ops[i].Update != nil:
			ops[i].Update.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
		case ops[i].Delete != nil:
			ops[i].Delete.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
		case ops[i].ConditionCheck != nil:
			ops[i].ConditionCheck.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
		}
	}
	var txErr *TxError
	err := t.retryConflicts(ctx, func() error {
		_, err := t.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops})
		var tc *types.TransactionCanceledException
		if errors.As(err, &tc) && hasCode(tc.CancellationReasons, "ConditionalCheckFailed") {
			txErr = &TxError{Failed: make([]bool, len(ops)), Old: make([]Item, len(ops))}
			for i, r := range tc.CancellationReasons {
				if i < len(ops) && aws.ToString(r.Code) == "ConditionalCheckFailed" {
					txErr.Failed[i] = true
					txErr.Old[i] = r.Item
				}
			}
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("transaction: %w", err)
	}
	if txErr != nil {
		return txErr
	}
	return nil
}

// TxError reports which operations of a transaction failed their
// condition (errors.Is(err, apierr.Conflict) holds). Old holds the item as
// it was for each failed operation (nil when it did not exist).
type TxError struct {
	Failed []bool
	Old    []Item
}

func (e *TxError) Error() string { return apierr.Conflict.Error() }

// Is makes errors.Is(err, apierr.Conflict) true.
func (e *TxError) Is(target error) bool { return target == apierr.Conflict }

// FailedAt reports whether op i failed its condition.
func (e *TxError) FailedAt(i int) bool { return i < len(e.Failed) && e.Failed[i] }

// FailedOp returns the index of the first operation of err (a transaction
// error) that failed its condition, or -1.
func FailedOp(err error) int {
	var tx *TxError
	if !errors.As(err, &tx) {
		return -1
	}
	for i, f := range tx.Failed {
		if f {
			return i
		}
	}
	return -1
}

// maxConflictRetries bounds retries of writes that lost a race against a
// transaction on the same item.
const maxConflictRetries = 30

// retryConflicts runs fn until it returns something other than a
// transaction conflict (TransactionConflictException, or a cancelled
// transaction whose reasons are only conflicts), with jittered exponential
// backoff (the jitter only spreads retries; it decides nothing).
func (t *Table) retryConflicts(ctx context.Context, fn func() error) error {
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
	return errors.As(err, &tc) && hasCode(tc.CancellationReasons, "TransactionConflict") &&
		!hasCode(tc.CancellationReasons, "ConditionalCheckFailed")
}

func hasCode(reasons []types.CancellationReason, code string) bool {
	for _, r := range reasons {
		if aws.ToString(r.Code) == code {
			return true
		}
	}
	return false
}

// NextIDs atomically reserves n consecutive ids from the named counter and
// returns the last one (the block is last-n+1 .. last; 1 is the first id
// ever). One UpdateItem.
func (t *Table) NextIDs(ctx context.Context, counter Key, n int64) (int64, error) {
	out, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 t.name,
		Key:                       counter.AV(),
		UpdateExpression:          aws.String("ADD #n :k"),
		ExpressionAttributeNames:  map[string]string{"#n": "n"},
		ExpressionAttributeValues: Item{":k": N(n)},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("counter %s: %w", counter.PK, err)
	}
	var v struct {
		N int64 `dynamodbav:"n"`
	}
	if err := attributevalue.UnmarshalMap(out.Attributes, &v); err != nil {
		return 0, fmt.Errorf("counter %s: %w", counter.PK, err)
	}
	return v.N, nil
}

// CounterValue returns the current value of a counter (0 if never used).
func (t *Table) CounterValue(ctx context.Context, counter Key) (int64, error) {
	var v struct {
		N int64 `dynamodbav:"n"`
	}
	err := t.Get(ctx, counter, false, &v)
	if errors.Is(err, apierr.NotFound) {
		return 0, nil
	}
	return v.N, err
}
