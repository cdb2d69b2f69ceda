package main

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/dynamo"
)

// metered wraps the DynamoDB client: it asks every call for its consumed
// capacity and adds up calls and units.
type metered struct {
	dynamo.API
	mu    sync.Mutex
	calls map[string]int
	rcu   float64
	wcu   float64
	// billedWCU counts transactional writes twice, as DynamoDB bills them
	// (DynamoDB Local reports them once).
	billedWCU float64
}

func newMetered(api dynamo.API) *metered { return &metered{API: api, calls: map[string]int{}} }

func (m *metered) add(op string, cc *types.ConsumedCapacity, txn bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls[op]++
	if cc == nil {
		return
	}
	r := aws.ToFloat64(cc.ReadCapacityUnits)
	w := aws.ToFloat64(cc.WriteCapacityUnits)
	if r == 0 && w == 0 {
		// Some operations report only the total.
		if op == "GetItem" || op == "Query" || op == "BatchGetItem" {
			r = aws.ToFloat64(cc.CapacityUnits)
		} else {
			w = aws.ToFloat64(cc.CapacityUnits)
		}
	}
	m.rcu += r
	m.wcu += w
	if txn {
		m.billedWCU += 2 * w
	} else {
		m.billedWCU += w
	}
}

type snapshot struct {
	calls     map[string]int
	rcu, wcu  float64
	billedWCU float64
}

func (m *metered) snapshot() snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := map[string]int{}
	for k, v := range m.calls {
		c[k] = v
	}
	return snapshot{calls: c, rcu: m.rcu, wcu: m.wcu, billedWCU: m.billedWCU}
}

func (m *metered) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = map[string]int{}
	m.rcu, m.wcu, m.billedWCU = 0, 0, 0
}

func (m *metered) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.GetItem(ctx, in, o...)
	if out != nil {
		m.add("GetItem", out.ConsumedCapacity, false)
	} else {
		m.add("GetItem", nil, false)
	}
	return out, err
}

func (m *metered) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.PutItem(ctx, in, o...)
	if out != nil {
		m.add("PutItem", out.ConsumedCapacity, false)
	} else {
		m.add("PutItem", nil, false)
	}
	return out, err
}

func (m *metered) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.UpdateItem(ctx, in, o...)
	if out != nil {
		m.add("UpdateItem", out.ConsumedCapacity, false)
	} else {
		m.add("UpdateItem", nil, false)
	}
	return out, err
}

func (m *metered) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.Query(ctx, in, o...)
	if out != nil {
		m.add("Query", out.ConsumedCapacity, false)
	} else {
		m.add("Query", nil, false)
	}
	return out, err
}

func (m *metered) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.TransactWriteItems(ctx, in, o...)
	var cc *types.ConsumedCapacity
	if out != nil && len(out.ConsumedCapacity) > 0 {
		cc = &out.ConsumedCapacity[0]
	}
	m.add("TransactWriteItems", cc, true)
	return out, err
}

func (m *metered) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.BatchGetItem(ctx, in, o...)
	var total types.ConsumedCapacity
	if out != nil {
		var units float64
		for _, cc := range out.ConsumedCapacity {
			units += aws.ToFloat64(cc.CapacityUnits) + aws.ToFloat64(cc.ReadCapacityUnits)
		}
		total.CapacityUnits = aws.Float64(units)
	}
	m.add("BatchGetItem", &total, false)
	return out, err
}

func (m *metered) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.DeleteItem(ctx, in, o...)
	var cc *types.ConsumedCapacity
	if out != nil {
		cc = out.ConsumedCapacity
	}
	m.add("DeleteItem", cc, false)
	return out, err
}
