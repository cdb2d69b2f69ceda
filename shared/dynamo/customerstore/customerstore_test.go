package customerstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/dynamo/stores"
	"github.com/keyturn/keyturn/shared/keys"
)

func newStore(t *testing.T) *stores.Stores {
	db, table := ddbtest.NewTable(t)
	return stores.New(db, table)
}

func str(s string) *string { return &s }

// TestCustomerSecretsUnique: a secret can belong to one customer only; a
// random source that keeps repeating itself surfaces as the documented
// message and writes nothing.
func TestCustomerSecretsUnique(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) }
	// A "random" source that always yields the same bytes.
	same := customers.NewService(s.Customers, s.Licenses, now, bytes.NewReader(bytes.Repeat([]byte{7}, 24*10)))
	first, err := same.AddCustomer(ctx, 1, customers.CustomerFields{Name: str("first")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = same.AddCustomer(ctx, 1, customers.CustomerFields{Name: str("second")})
	if !errors.Is(err, customers.SecretTaken) {
		t.Fatalf("second customer with the same secret: %v, want %v", err, customers.SecretTaken)
	}
	list, err := s.Customers.ListCustomers(ctx, 1)
	if err != nil || len(list) != 1 || list[0].ID != first.ID {
		t.Errorf("customers after the refused add: %+v, %v", list, err)
	}
	// The same secret in another account is a different secret.
	if _, err := same.AddCustomer(ctx, 2, customers.CustomerFields{Name: str("other account")}); err != nil {
		t.Errorf("other account: %v", err)
	}
	got, err := s.Customers.CustomerBySecret(ctx, 1, first.Secret)
	if err != nil || got.ID != first.ID {
		t.Errorf("CustomerBySecret = %+v, %v", got, err)
	}
}

// TestConcurrentCustomerEdits: parallel edits of different fields all
// land (optimistic concurrency retries, no lost update), and parallel new
// secrets leave exactly one secret pointer that resolves.
func TestConcurrentCustomerEdits(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	svc := customers.NewService(s.Customers, s.Licenses, time.Now, rand.Reader)
	c, err := svc.AddCustomer(ctx, 1, customers.CustomerFields{Name: str("n"), Email: str("e@x")})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	edits := []customers.CustomerFields{
		{Name: str("new name")}, {Email: str("new@x")}, {CompanyName: str("co")}, {Notes: str("notes")},
	}
	for _, f := range edits {
		wg.Add(1)
		go func(f customers.CustomerFields) {
			defer wg.Done()
			if _, err := svc.EditCustomer(ctx, 1, c.ID, f, false); err != nil {
				t.Error(err)
			}
		}(f)
	}
	secrets := make(chan string, 5)
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := svc.EditCustomer(ctx, 1, c.ID, customers.CustomerFields{}, true)
			if err != nil {
				t.Error(err)
				return
			}
			secrets <- got.Secret
		}()
	}
	wg.Wait()
	close(secrets)
	got, err := s.Customers.GetCustomer(ctx, 1, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "new name" || *got.Email != "new@x" || *got.CompanyName != "co" || *got.Notes != "notes" {
		t.Errorf("lost update: %+v", got)
	}
	resolving := 0
	for sec := range secrets {
		if _, err := s.Customers.CustomerBySecret(ctx, 1, sec); err == nil {
			resolving++
			if sec != got.Secret {
				t.Errorf("stale secret %s still resolves", sec)
			}
		} else if !errors.Is(err, apierr.NotFound) {
			t.Error(err)
		}
	}
	if _, err := s.Customers.CustomerBySecret(ctx, 1, c.Secret); !errors.Is(err, apierr.NotFound) {
		t.Errorf("original secret still resolves: %v", err)
	}
	if resolving != 1 {
		t.Errorf("%d of the issued secrets resolve, want exactly the current one", resolving)
	}
	// Lookup by email follows the edit.
	if byMail, err := s.Customers.CustomerByEmail(ctx, 1, "NEW@x"); err != nil || byMail.ID != c.ID {
		t.Errorf("CustomerByEmail = %+v, %v", byMail, err)
	}
	if _, err := s.Customers.CustomerByEmail(ctx, 1, "e@x"); !errors.Is(err, apierr.NotFound) {
		t.Errorf("old email still resolves: %v", err)
	}
}

// failingTransactions fails every TransactWriteItems after the first
// `allow` while fail is set.
type failingTransactions struct {
	dynamo.API
	fail  atomic.Bool
	allow atomic.Int64
}

func (f *failingTransactions) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if f.fail.Load() && f.allow.Add(-1) < 0 {
		return nil, errors.New("injected outage")
	}
	return f.API.TransactWriteItems(ctx, in, o...)
}

// TestRecountAfterFailure: an EditCustomer whose device recount fails
// midway reports the failure, and sending it again completes the count
// (nothing counted twice).
func TestRecountAfterFailure(t *testing.T) {
	ctx := context.Background()
	db, table := ddbtest.NewTable(t)
	api := &failingTransactions{API: db}
	s := stores.New(api, table)
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	svc := customers.NewService(s.Customers, s.Licenses, func() time.Time { return now }, rand.Reader)
	c, err := svc.AddCustomer(ctx, 1, customers.CustomerFields{Name: str("c")})
	if err != nil {
		t.Fatal(err)
	}
	machines := func(mids ...string) map[string]keys.Machine {
		m := map[string]keys.Machine{}
		for _, mid := range mids {
			m[mid] = keys.Machine{Time: now}
		}
		return m
	}
	// Three licenses, four distinct machines (m2 on two of them), all
	// activated while the customer had no limit.
	var recs []keys.Record
	for i, mids := range [][]string{{"m1", "m2"}, {"m2", "m3"}, {"m4"}} {
		recs = append(recs, keys.Record{AccountID: 1, ProductID: 5, ID: int64(i + 1), GlobalID: int64(500 + i),
			Key: "RECNT-KEYXX-AAAAA-" + string(rune('A'+i)) + "AAAA", Created: now, Expires: now,
			CustomerID: c.ID, Nodes: machines(mids...)})
	}
	if err := s.Licenses.CreateKeys(ctx, recs); err != nil {
		t.Fatal(err)
	}
	limit := int64(10)
	api.allow.Store(1)
	api.fail.Store(true)
	if _, err := svc.EditCustomer(ctx, 1, c.ID, customers.CustomerFields{MaxNoOfDevices: &limit}, false); err == nil {
		t.Fatal("EditCustomer with a failing recount succeeded")
	}
	partial, err := s.Customers.GetCustomer(ctx, 1, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if partial.MaxNoOfDevices != limit || partial.DeviceCount != 2 {
		t.Errorf("after the failure: limit %d, %d devices; want %d and the first license's 2", partial.MaxNoOfDevices, partial.DeviceCount, limit)
	}
	api.fail.Store(false)
	for i := 0; i < 2; i++ {
		if _, err := svc.EditCustomer(ctx, 1, c.ID, customers.CustomerFields{MaxNoOfDevices: &limit}, false); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Customers.GetCustomer(ctx, 1, c.ID); got.DeviceCount != 4 {
			t.Errorf("after sending the edit again (%d): %d devices, want 4", i+1, got.DeviceCount)
		}
	}
}
