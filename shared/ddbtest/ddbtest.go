// Package ddbtest gives each integration test its own table in DynamoDB
// Local. ./scripts/test starts DynamoDB Local and exports its endpoint in
// KEYTURN_TEST_DYNAMODB_ENDPOINT (and KEYTURN_REQUIRE_DYNAMODB=1, which turns
// a missing endpoint into a failure instead of a skip).
package ddbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/dynamo/stores"
)

// EnvEndpoint names the variable holding the DynamoDB Local URL.
const EnvEndpoint = "KEYTURN_TEST_DYNAMODB_ENDPOINT"

// EnvRequire makes a missing endpoint fatal.
const EnvRequire = "KEYTURN_REQUIRE_DYNAMODB"

// Client returns a DynamoDB client for DynamoDB Local, skipping (or, with
// KEYTURN_REQUIRE_DYNAMODB=1, failing) the test when no endpoint is set.
func Client(t testing.TB) *dynamodb.Client {
	t.Helper()
	ep := os.Getenv(EnvEndpoint)
	if ep == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s is not set but %s=1", EnvEndpoint, EnvRequire)
		}
		t.Skipf("integration test: %s not set (run ./scripts/test)", EnvEndpoint)
	}
	return NewClient(ep)
}

// NewClient returns a DynamoDB client for the endpoint with dummy
// credentials (DynamoDB Local accepts any).
func NewClient(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// NewTable creates a fresh table with the Keyturn schema and deletes it
// when the test ends. It returns the client and the table name.
func NewTable(t testing.TB) (*dynamodb.Client, string) {
	t.Helper()
	db := Client(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamo.EnsureTable(ctx, db, name); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return db, name
}

// NewStores returns every feature store on a fresh table (see NewTable).
func NewStores(t testing.TB) *stores.Stores {
	t.Helper()
	db, table := NewTable(t)
	return stores.New(db, table)
}
