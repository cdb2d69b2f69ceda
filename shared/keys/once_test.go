package keys_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/dynamo/licensestore"
	"github.com/keyturn/keyturn/shared/keys"
)

// TestCreateOnce: eight concurrent creations under one reserved key
// string make one key (every caller gets it back, one of them as new);
// a repeat returns it without writing; the string in another account's
// product is refused; a malformed string is BadInput.
func TestCreateOnce(t *testing.T) {
	ctx := context.Background()
	db, table := ddbtest.NewTable(t)
	svc := keys.NewService(licensestore.New(dynamo.New(db, table)), func() time.Time { return time.Unix(1_800_000_000, 0) })
	const key = "ABCDE-FGHIJ-KLMNO-PQRST"
	spec := keys.Spec{Period: 30, MaxNoOfMachines: 2}
	recs := make([]keys.Record, 8)
	existing := make([]bool, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range recs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs[i], existing[i], errs[i] = svc.CreateOnce(ctx, 1, 5, spec, key)
		}()
	}
	wg.Wait()
	created := 0
	for i := range recs {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if !existing[i] {
			created++
		}
		if recs[i].ID != recs[0].ID || recs[i].GlobalID != recs[0].GlobalID || recs[i].Key != key || recs[i].Period != 30 {
			t.Errorf("caller %d got %+v, caller 0 %+v", i, recs[i], recs[0])
		}
	}
	if created != 1 {
		t.Errorf("%d callers created the key, want 1", created)
	}
	out, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(table), KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: dynamo.Item{":pk": dynamo.S(dynamo.LicensePK(5, key))}})
	if err != nil || len(out.Items) != 1 {
		t.Errorf("items of the key: %d, %v; want 1", len(out.Items), err)
	}
	again, existed, err := svc.CreateOnce(ctx, 1, 5, keys.Spec{Period: 99}, key)
	if err != nil || !existed || again.ID != recs[0].ID || again.Period != 30 {
		t.Errorf("repeat = %+v, %v, %v; want the first key unchanged", again, existed, err)
	}
	if _, _, err := svc.CreateOnce(ctx, 2, 5, spec, key); !errors.Is(err, apierr.Conflict) {
		t.Errorf("another account: %v, want Conflict", err)
	}
	for _, bad := range []string{"", "abcde-fghij-klmno-pqrst", "ABCDE-FGHIJ-KLMNO-PQRS", "ABCDEFGHIJKLMNOPQRSTUVW"} {
		if _, _, err := svc.CreateOnce(ctx, 1, 5, spec, bad); !errors.Is(err, apierr.BadInput) {
			t.Errorf("key %q: %v, want BadInput", bad, err)
		}
	}
}
