package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/schema"
)

// Query is a key condition on the table or one of its indexes: the items
// of one partition, optionally restricted to a sort-key range or prefix.
type Query struct {
	// Index is "" for the table, or a GSI name (schema.GSI1 ...).
	Index string
	// PK is the partition value.
	PK string
	// Prefix, when set, restricts sort keys to those beginning with it.
	Prefix string
	// From and To, when set, bound sort keys (inclusive). From alone is
	// "sort key >= From".
	From, To string
	// Desc reads in descending sort-key order.
	Desc bool
	// Consistent asks for a strongly consistent read (table only).
	Consistent bool
	// Filter is an optional filter expression over non-key attributes,
	// whose placeholders Names and Values fill.
	Filter string
	Names  map[string]string
	Values Item
}

// keyAttrs returns the partition and sort key attribute names of the
// table or of the index.
func keyAttrs(index string) (string, string) {
	if index == "" {
		return schema.PK, schema.SK
	}
	for _, g := range schema.Definition.GSIs {
		if g.Name == index {
			return g.PartitionKey, g.SortKey
		}
	}
	panic("dynamo: unknown index " + index)
}

// input builds the QueryInput of q.
func (t *Table) input(q Query) *dynamodb.QueryInput {
	pkA, skA := keyAttrs(q.Index)
	names := map[string]string{"#qpk": pkA}
	values := Item{":qpk": S(q.PK)}
	cond := "#qpk = :qpk"
	switch {
	case q.Prefix != "":
		names["#qsk"] = skA
		values[":qpre"] = S(q.Prefix)
		cond += " AND begins_with(#qsk, :qpre)"
	case q.From != "" && q.To != "":
		names["#qsk"] = skA
		values[":qlo"], values[":qhi"] = S(q.From), S(q.To)
		cond += " AND #qsk BETWEEN :qlo AND :qhi"
	case q.From != "":
		names["#qsk"] = skA
		values[":qlo"] = S(q.From)
		cond += " AND #qsk >= :qlo"
	case q.To != "":
		names["#qsk"] = skA
		values[":qhi"] = S(q.To)
		cond += " AND #qsk <= :qhi"
	}
	for k, v := range q.Names {
		names[k] = v
	}
	for k, v := range q.Values {
		values[k] = v
	}
	in := &dynamodb.QueryInput{
		TableName: t.name, KeyConditionExpression: aws.String(cond),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		ScanIndexForward: aws.Bool(!q.Desc),
	}
	if q.Index != "" {
		in.IndexName = aws.String(q.Index)
	} else if q.Consistent {
		in.ConsistentRead = aws.Bool(true)
	}
	if q.Filter != "" {
		in.FilterExpression = aws.String(q.Filter)
	}
	return in
}

// Page is one page of a query.
type Page struct {
	Items []Item
	// Next is the position after the last item read (nil when the query
	// is exhausted); pass it as start to continue.
	Next Item
	// Scanned is how many items DynamoDB read (before any filter).
	Scanned int
}

// QueryPage reads up to limit items of q (0: up to DynamoDB's 1 MB page)
// starting after start (nil: from the beginning). One Query call.
func (t *Table) QueryPage(ctx context.Context, q Query, limit int32, start Item) (Page, error) {
	in := t.input(q)
	if limit > 0 {
		in.Limit = aws.Int32(limit)
	}
	in.ExclusiveStartKey = start
	out, err := t.db.Query(ctx, in)
	if err != nil {
		return Page{}, fmt.Errorf("query %s: %w", q.PK, err)
	}
	return Page{Items: out.Items, Next: out.LastEvaluatedKey, Scanned: int(out.ScannedCount)}, nil
}

// QueryAll runs q to completion (following the pages) and returns the
// items. Its cost grows with the partition: use it only where the
// partition is bounded (documented at each call).
func (t *Table) QueryAll(ctx context.Context, q Query) ([]Item, error) {
	return t.QueryUpTo(ctx, q, 0)
}

// QueryUpTo runs q until max items were read (0: no bound) or the query is
// exhausted, following pages.
func (t *Table) QueryUpTo(ctx context.Context, q Query, max int) ([]Item, error) {
	var items []Item
	var start Item
	for {
		limit := int32(0)
		if max > 0 {
			limit = int32(max - len(items))
		}
		p, err := t.QueryPage(ctx, q, limit, start)
		if err != nil {
			return nil, err
		}
		items = append(items, p.Items...)
		if p.Next == nil || (max > 0 && len(items) >= max) {
			return items, nil
		}
		start = p.Next
	}
}

// QueryBounded runs q to completion and returns its items, unless more
// than max items match: then it stops and returns apierr.ListTooLong
// (the work is bounded by max+1 items, plus what a filter skips).
func (t *Table) QueryBounded(ctx context.Context, q Query, max int) ([]Item, error) {
	items, err := t.QueryUpTo(ctx, q, max+1)
	if err != nil {
		return nil, err
	}
	if len(items) > max {
		return nil, apierr.ListTooLong
	}
	return items, nil
}

// BatchGet reads items by key with BatchGetItem (100 keys per call,
// unprocessed keys retried) and returns them in the order of ks, skipping
// missing items and duplicate keys.
func (t *Table) BatchGet(ctx context.Context, ks []Key) ([]Item, error) {
	byKey := make(map[Key]Item, len(ks))
	var unique []Key
	seen := make(map[Key]bool, len(ks))
	for _, k := range ks {
		if !seen[k] {
			seen[k] = true
			unique = append(unique, k)
		}
	}
	for start := 0; start < len(unique); start += 100 {
		chunk := unique[start:min(start+100, len(unique))]
		avs := make([]Item, len(chunk))
		for i, k := range chunk {
			avs[i] = k.AV()
		}
		req := map[string]types.KeysAndAttributes{*t.name: {Keys: avs}}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 10 {
				return nil, errors.New("batch get: unprocessed keys remain")
			}
			out, err := t.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, fmt.Errorf("batch get: %w", err)
			}
			for _, m := range out.Responses[*t.name] {
				byKey[KeyOf(m)] = m
			}
			req = out.UnprocessedKeys
		}
	}
	items := make([]Item, 0, len(unique))
	for _, k := range unique {
		if m, ok := byKey[k]; ok {
			items = append(items, m)
		}
	}
	return items, nil
}

// IndexKeys returns the table keys of index query results (indexes that
// project keys only return them with the index keys).
func IndexKeys(items []Item) []Key {
	out := make([]Key, 0, len(items))
	for _, m := range items {
		if k := KeyOf(m); k.PK != "" {
			out = append(out, k)
		}
	}
	return out
}

// DecodeAll unmarshals items into their item type I and converts each to
// its domain value with conv.
func DecodeAll[I, D any](items []Item, what string, conv func(I) D) ([]D, error) {
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

// Decode unmarshals one item into out.
func Decode(m Item, what string, out any) error {
	if err := attributevalue.UnmarshalMap(m, out); err != nil {
		return fmt.Errorf("unmarshal %s: %w", what, err)
	}
	return nil
}

// BatchPut writes items (structs carrying their pk and sk) with
// BatchWriteItem, 25 per call, retrying unprocessed items. Puts are
// unconditional: it is for bulk imports whose keys are known to be new.
func (t *Table) BatchPut(ctx context.Context, items []any) error {
	for start := 0; start < len(items); start += 25 {
		chunk := items[start:min(start+25, len(items))]
		reqs := make([]types.WriteRequest, len(chunk))
		for i, it := range chunk {
			av, err := attributevalue.MarshalMap(it)
			if err != nil {
				return fmt.Errorf("marshal %T: %w", it, err)
			}
			reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: av}}
		}
		req := map[string][]types.WriteRequest{*t.name: reqs}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 10 {
				return errors.New("batch write: unprocessed items remain")
			}
			out, err := t.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: req})
			if err != nil {
				return fmt.Errorf("batch write: %w", err)
			}
			req = out.UnprocessedItems
		}
	}
	return nil
}
