// Package store is the DynamoDB adapter of Keyturn. It owns every attribute
// name and item key of the single table (see package schema) and implements
// the store interfaces declared by the domain packages. Invariants are
// enforced with conditional writes and transactions, never read-then-write.
//
// Item layout (pk / sk):
//
//	COUNTER          / <name>               atomic id counters (attribute n)
//	ACCOUNTS         / A#<id:012>           accounts
//	A#<account>      / P#<product:012>      products
//	A#<account>      / SIGNKEY#<version:06> signing keys (newest = highest)
//	T#<token id>     / T                    access tokens (gsi1: A#<account>#TOKENS / <id>)
package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/schema"
)

// API is the subset of the DynamoDB client the store uses.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

// Store implements the domain stores on one DynamoDB table.
type Store struct {
	db    API
	table *string
}

// New returns a Store on the named table.
func New(db API, table string) *Store {
	return &Store{db: db, table: aws.String(table)}
}

// key builds a primary key attribute map.
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		schema.PK: &types.AttributeValueMemberS{Value: pk},
		schema.SK: &types.AttributeValueMemberS{Value: sk},
	}
}

func accountPK(id int64) string     { return "A#" + strconv.FormatInt(id, 10) }
func pad(n int64, width int) string { return fmt.Sprintf("%0*d", width, n) }

// NextID atomically increments the named counter and returns its new
// value (1 for the first call). One UpdateItem round trip.
func (s *Store) NextID(ctx context.Context, name string) (int64, error) {
	return s.NextIDs(ctx, name, 1)
}

// NextIDs atomically reserves n consecutive ids from the named counter and
// returns the last one (the block is last-n+1 .. last). One UpdateItem.
func (s *Store) NextIDs(ctx context.Context, name string, n int64) (int64, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 s.table,
		Key:                       key("COUNTER", name),
		UpdateExpression:          aws.String("ADD #n :one"),
		ExpressionAttributeNames:  map[string]string{"#n": "n"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("counter %s: %w", name, err)
	}
	var v struct {
		N int64 `dynamodbav:"n"`
	}
	if err := attributevalue.UnmarshalMap(out.Attributes, &v); err != nil {
		return 0, fmt.Errorf("counter %s: %w", name, err)
	}
	return v.N, nil
}

// put writes item (which must contain its key attributes). With
// mustNotExist the write fails with apierr.Conflict if the key is taken.
func (s *Store) put(ctx context.Context, item any, mustNotExist bool) error {
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		return fmt.Errorf("marshal %T: %w", item, err)
	}
	in := &dynamodb.PutItemInput{TableName: s.table, Item: av}
	if mustNotExist {
		in.ConditionExpression = aws.String("attribute_not_exists(#pk)")
		in.ExpressionAttributeNames = map[string]string{"#pk": schema.PK}
	}
	_, err = s.db.PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return apierr.Conflict
	}
	if err != nil {
		return fmt.Errorf("put %T: %w", item, err)
	}
	return nil
}

// updateExisting runs a conditional UpdateItem whose condition requires
// the item to exist. A failed condition is apierr.NotFound when the item
// is missing and apierr.Conflict otherwise (the old item comes back with
// the failure, no extra read).
func (s *Store) updateExisting(ctx context.Context, in *dynamodb.UpdateItemInput, what string) (*dynamodb.UpdateItemOutput, error) {
	in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	out, err := s.db.UpdateItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if len(ccf.Item) == 0 {
			return nil, apierr.NotFound
		}
		return nil, apierr.Conflict
	}
	if err != nil {
		return nil, fmt.Errorf("update %s: %w", what, err)
	}
	return out, nil
}

// get reads one item into out; apierr.NotFound when absent. Reads are
// eventually consistent unless consistent is set.
func (s *Store) get(ctx context.Context, pk, sk string, consistent bool, out any) error {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.table, Key: key(pk, sk), ConsistentRead: aws.Bool(consistent)})
	if err != nil {
		return fmt.Errorf("get %s/%s: %w", pk, sk, err)
	}
	if res.Item == nil {
		return apierr.NotFound
	}
	if err := attributevalue.UnmarshalMap(res.Item, out); err != nil {
		return fmt.Errorf("unmarshal %s/%s: %w", pk, sk, err)
	}
	return nil
}

// queryAll runs q to completion (following LastEvaluatedKey) and returns
// the items.
func (s *Store) queryAll(ctx context.Context, q *dynamodb.QueryInput) ([]map[string]types.AttributeValue, error) {
	q.TableName = s.table
	var items []map[string]types.AttributeValue
	for {
		out, err := s.db.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("query: %w", err)
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		q.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// prefixQuery returns a query for items of partition pk whose sort key
// begins with prefix.
func prefixQuery(pk, prefix string) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames: map[string]string{"#pk": schema.PK, "#sk": schema.SK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":     &types.AttributeValueMemberS{Value: pk},
			":prefix": &types.AttributeValueMemberS{Value: prefix},
		},
	}
}

// indexItems runs an index query (which returns keys only, see
// schema.Projection) to completion and reads the full items by primary key
// with BatchGetItem (100 keys per call), preserving the index order.
func (s *Store) indexItems(ctx context.Context, q *dynamodb.QueryInput) ([]map[string]types.AttributeValue, error) {
	refs, err := s.queryAll(ctx, q)
	if err != nil {
		return nil, err
	}
	ks := make([]map[string]types.AttributeValue, len(refs))
	for i, r := range refs {
		ks[i] = map[string]types.AttributeValue{schema.PK: r[schema.PK], schema.SK: r[schema.SK]}
	}
	return s.batchGet(ctx, ks)
}

// itemID identifies an item by its primary key.
func itemID(m map[string]types.AttributeValue) string {
	pk, _ := m[schema.PK].(*types.AttributeValueMemberS)
	sk, _ := m[schema.SK].(*types.AttributeValueMemberS)
	if pk == nil || sk == nil {
		return ""
	}
	return pk.Value + "\x00" + sk.Value
}

// batchGet reads items by primary key with BatchGetItem (100 keys per
// call, unprocessed keys retried) and returns them in the order of ks;
// missing items are skipped.
func (s *Store) batchGet(ctx context.Context, ks []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	byKey := make(map[string]map[string]types.AttributeValue, len(ks))
	// BatchGetItem refuses duplicate keys in one request.
	var unique []map[string]types.AttributeValue
	seen := make(map[string]bool, len(ks))
	for _, k := range ks {
		if id := itemID(k); !seen[id] {
			seen[id] = true
			unique = append(unique, k)
		}
	}
	for start := 0; start < len(unique); start += 100 {
		req := map[string]types.KeysAndAttributes{*s.table: {Keys: unique[start:min(start+100, len(unique))]}}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 10 {
				return nil, errors.New("batch get: unprocessed keys remain")
			}
			out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, fmt.Errorf("batch get: %w", err)
			}
			for _, m := range out.Responses[*s.table] {
				byKey[itemID(m)] = m
			}
			req = out.UnprocessedKeys
		}
	}
	items := make([]map[string]types.AttributeValue, 0, len(unique))
	for _, k := range unique {
		if m, ok := byKey[itemID(k)]; ok {
			items = append(items, m)
		}
	}
	return items, nil
}

// decodeAll unmarshals items into their item type I and converts each to
// its domain value with conv.
func decodeAll[I, D any](items []map[string]types.AttributeValue, what string, conv func(I) D) ([]D, error) {
	out := make([]D, 0, len(items))
	for _, m := range items {
		var it I
		if err := attributevalue.UnmarshalMap(m, &it); err != nil {
			return nil, fmt.Errorf("unmarshal %s: %w", what, err)
		}
		out = append(out, conv(it))
	}
	return out, nil
}
