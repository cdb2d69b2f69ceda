package ddbtest

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/dynamo"
)

// Meter wraps a dynamo.API, asks every call for its consumed capacity and
// adds up calls, items read and capacity units. Billed write units count
// a transaction's items twice, as DynamoDB bills them (DynamoDB Local
// reports them once). It is safe for concurrent use.
type Meter struct {
	dynamo.API
	mu sync.Mutex
	u  Usage
}

// Usage is what a Meter counted.
type Usage struct {
	Calls map[string]int
	// ItemsRead counts items read (scanned by a Query, returned by
	// GetItem and BatchGetItem).
	ItemsRead int
	// RCU and WCU are the units DynamoDB (Local) reported; BilledWCU
	// counts transactional writes twice.
	RCU, WCU, BilledWCU float64
}

// TotalCalls is the number of calls.
func (u Usage) TotalCalls() int {
	n := 0
	for _, c := range u.Calls {
		n += c
	}
	return n
}

// NewMeter returns a Meter in front of api.
func NewMeter(api dynamo.API) *Meter {
	return &Meter{API: api, u: Usage{Calls: map[string]int{}}}
}

// Take returns what was counted since the last Take and starts again.
func (m *Meter) Take() Usage {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.u
	m.u = Usage{Calls: map[string]int{}}
	return u
}

func (m *Meter) add(op string, items int, ccs []types.ConsumedCapacity, txn bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.u.Calls[op]++
	m.u.ItemsRead += items
	for _, cc := range ccs {
		r, w := aws.ToFloat64(cc.ReadCapacityUnits), aws.ToFloat64(cc.WriteCapacityUnits)
		if r == 0 && w == 0 {
			// Some operations report only the total.
			switch op {
			case "GetItem", "Query", "BatchGetItem", "Scan":
				r = aws.ToFloat64(cc.CapacityUnits)
			default:
				w = aws.ToFloat64(cc.CapacityUnits)
			}
		}
		m.u.RCU += r
		m.u.WCU += w
		if txn {
			w *= 2
		}
		m.u.BilledWCU += w
	}
}

func one(cc *types.ConsumedCapacity) []types.ConsumedCapacity {
	if cc == nil {
		return nil
	}
	return []types.ConsumedCapacity{*cc}
}

func (m *Meter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.GetItem(ctx, in, o...)
	if err == nil {
		n := 0
		if out.Item != nil {
			n = 1
		}
		m.add("GetItem", n, one(out.ConsumedCapacity), false)
	}
	return out, err
}

func (m *Meter) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.PutItem(ctx, in, o...)
	if err == nil {
		m.add("PutItem", 0, one(out.ConsumedCapacity), false)
	} else {
		m.add("PutItem", 0, nil, false)
	}
	return out, err
}

func (m *Meter) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.UpdateItem(ctx, in, o...)
	if err == nil {
		m.add("UpdateItem", 0, one(out.ConsumedCapacity), false)
	} else {
		m.add("UpdateItem", 0, nil, false)
	}
	return out, err
}

func (m *Meter) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.DeleteItem(ctx, in, o...)
	if err == nil {
		m.add("DeleteItem", 0, one(out.ConsumedCapacity), false)
	} else {
		m.add("DeleteItem", 0, nil, false)
	}
	return out, err
}

func (m *Meter) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.Query(ctx, in, o...)
	if err == nil {
		m.add("Query", int(out.ScannedCount), one(out.ConsumedCapacity), false)
	}
	return out, err
}

func (m *Meter) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.TransactWriteItems(ctx, in, o...)
	if err == nil {
		m.add("TransactWriteItems", 0, out.ConsumedCapacity, true)
	} else {
		m.add("TransactWriteItems", 0, nil, true)
	}
	return out, err
}

func (m *Meter) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.BatchGetItem(ctx, in, o...)
	if err == nil {
		n := 0
		for _, items := range out.Responses {
			n += len(items)
		}
		m.add("BatchGetItem", n, out.ConsumedCapacity, false)
	}
	return out, err
}

func (m *Meter) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.BatchWriteItem(ctx, in, o...)
	if err == nil {
		m.add("BatchWriteItem", 0, out.ConsumedCapacity, false)
	}
	return out, err
}
