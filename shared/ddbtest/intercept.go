package ddbtest

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyturn/keyturn/shared/dynamo"
)

// Intercept wraps a dynamo.API and shows a test every call before it is
// made: Before, when set, runs with the operation's name ("GetItem",
// "TransactWriteItems", ...) and its input (*dynamodb.GetItemInput, ...);
// an error it returns is the call's result, and the call does not reach
// DynamoDB. Before must be safe for concurrent use when the code under
// test calls concurrently.
type Intercept struct {
	dynamo.API
	Before func(op string, in any) error
}

func (i *Intercept) before(op string, in any) error {
	if i.Before == nil {
		return nil
	}
	return i.Before(op, in)
}

func (i *Intercept) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if err := i.before("GetItem", in); err != nil {
		return nil, err
	}
	return i.API.GetItem(ctx, in, o...)
}

func (i *Intercept) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if err := i.before("PutItem", in); err != nil {
		return nil, err
	}
	return i.API.PutItem(ctx, in, o...)
}

func (i *Intercept) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if err := i.before("UpdateItem", in); err != nil {
		return nil, err
	}
	return i.API.UpdateItem(ctx, in, o...)
}

func (i *Intercept) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	if err := i.before("DeleteItem", in); err != nil {
		return nil, err
	}
	return i.API.DeleteItem(ctx, in, o...)
}

func (i *Intercept) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	if err := i.before("Query", in); err != nil {
		return nil, err
	}
	return i.API.Query(ctx, in, o...)
}

func (i *Intercept) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if err := i.before("TransactWriteItems", in); err != nil {
		return nil, err
	}
	return i.API.TransactWriteItems(ctx, in, o...)
}

func (i *Intercept) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	if err := i.before("BatchGetItem", in); err != nil {
		return nil, err
	}
	return i.API.BatchGetItem(ctx, in, o...)
}

func (i *Intercept) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	if err := i.before("BatchWriteItem", in); err != nil {
		return nil, err
	}
	return i.API.BatchWriteItem(ctx, in, o...)
}
