package customerstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/dynamo/stores"
	"github.com/keyturn/keyturn/shared/keys"
)

// TestCustomerSecretsUnique: a secret can belong to one customer only; a
// random source that keeps repeating itself surfaces as the documented
// message and writes nothing.
func TestCustomerSecretsUnique(t *testing.T) {
	s := ddbtest.NewStores(t)
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) }
	// A "random" source that always yields the same bytes.
	same := customers.NewService(s.Customers, s.Licenses, now, bytes.NewReader(bytes.Repeat([]byte{7}, 24*10)))
	first, err := same.AddCustomer(ctx, 1, customers.CustomerFields{Name: new("first")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = same.AddCustomer(ctx, 1, customers.CustomerFields{Name: new("second")})
	if !errors.Is(err, apierr.CustomerSecretTaken) {
		t.Fatalf("second customer with the same secret: %v, want %v", err, apierr.CustomerSecretTaken)
	}
	list, err := s.Customers.ListCustomers(ctx, 1, customers.ListQuery{}, func(customers.Customer) bool { return true })
	if err != nil || len(list) != 1 || list[0].ID != first.ID {
		t.Errorf("customers after the refused add: %+v, %v", list, err)
	}
	// The same secret in another account is a different secret.
	if _, err := same.AddCustomer(ctx, 2, customers.CustomerFields{Name: new("other account")}); err != nil {
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
	s := ddbtest.NewStores(t)
	ctx := context.Background()
	svc := customers.NewService(s.Customers, s.Licenses, time.Now, rand.Reader)
	c, err := svc.AddCustomer(ctx, 1, customers.CustomerFields{Name: new("n"), Email: new("e@x")})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	edits := []customers.CustomerFields{
		{Name: new("new name")}, {Email: new("new@x")}, {CompanyName: new("co")}, {Notes: new("notes")},
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

// TestRecountAfterFailure: an EditCustomer whose device recount fails
// midway reports the failure, and sending it again completes the count
// (nothing counted twice).
func TestRecountAfterFailure(t *testing.T) {
	ctx := context.Background()
	db, table := ddbtest.NewTable(t)
	// While fail is set, every TransactWriteItems after the first `allow`
	// fails.
	var fail atomic.Bool
	var allow atomic.Int64
	api := &ddbtest.Intercept{API: db, Before: func(op string, _ any) error {
		if op == "TransactWriteItems" && fail.Load() && allow.Add(-1) < 0 {
			return errors.New("injected outage")
		}
		return nil
	}}
	s := stores.New(api, table)
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	svc := customers.NewService(s.Customers, s.Licenses, func() time.Time { return now }, rand.Reader)
	c, err := svc.AddCustomer(ctx, 1, customers.CustomerFields{Name: new("c")})
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
	allow.Store(1)
	fail.Store(true)
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
	fail.Store(false)
	for i := 0; i < 2; i++ {
		if _, err := svc.EditCustomer(ctx, 1, c.ID, customers.CustomerFields{MaxNoOfDevices: &limit}, false); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Customers.GetCustomer(ctx, 1, c.ID); got.DeviceCount != 4 {
			t.Errorf("after sending the edit again (%d): %d devices, want 4", i+1, got.DeviceCount)
		}
	}
}

// TestListCustomersSearchAndBounds: GetCustomers' search is filtered in
// DynamoDB on the stored search text (case-insensitive, name, email,
// company or secret; the id with IncludeIdInSearch), customers stored
// before the search text existed are still found, Limit stops the read,
// and an unlimited listing of more than MaxListed answers ListTooLong.
func TestListCustomersSearchAndBounds(t *testing.T) {
	ctx := context.Background()
	s := ddbtest.NewStores(t)
	svc := customers.NewService(s.Customers, s.Licenses, time.Now, rand.Reader)
	var ids []int64
	for _, name := range []string{"Alice Smith", "Bob", "Carol", "alice jones", "Dave"} {
		email := strings.ToLower(strings.Fields(name)[0]) + "@example.com"
		c, err := svc.AddCustomer(ctx, 1, customers.CustomerFields{Name: new(name), Email: &email})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	// A customer stored before customers kept their search text.
	if _, err := s.Table.UpdateExisting(ctx, dynamo.Customer(1, ids[4]), dynamo.Update{Expr: "REMOVE #s", Names: map[string]string{"#s": "search"}}); err != nil {
		t.Fatal(err)
	}
	names := func(q customers.CustomerQuery) []string {
		t.Helper()
		cs, err := svc.GetCustomers(ctx, 1, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return out
	}
	tests := []struct {
		q    customers.CustomerQuery
		want string
	}{
		{customers.CustomerQuery{Search: "ALICE"}, "[Alice Smith alice jones]"},
		{customers.CustomerQuery{Search: "alice", CreatedNewestTop: true}, "[alice jones Alice Smith]"},
		{customers.CustomerQuery{Search: "dave@"}, "[Dave]"},
		{customers.CustomerQuery{Limit: 2}, "[Alice Smith Bob]"},
		{customers.CustomerQuery{Limit: 2, CreatedNewestTop: true}, "[Dave alice jones]"},
		{customers.CustomerQuery{CustomerID: ids[2]}, "[Carol]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(names(tt.q)); got != tt.want {
			t.Errorf("GetCustomers %+v = %s, want %s", tt.q, got, tt.want)
		}
	}
	var bulk []any
	// A numeric search matches the id only with IncludeIdInSearch (other
	// customers may match it in their random secrets).
	bob := fmt.Sprint(ids[1])
	if got := names(customers.CustomerQuery{Search: bob, IncludeIDSearch: true}); !slices.Contains(got, "Bob") {
		t.Errorf("search %s with IncludeIdInSearch = %v, want Bob among them", bob, got)
	}
	if c, _ := s.Customers.GetCustomer(ctx, 1, ids[1]); !strings.Contains(strings.ToLower(c.Secret), bob) {
		if got := names(customers.CustomerQuery{Search: bob}); slices.Contains(got, "Bob") {
			t.Errorf("search %s without IncludeIdInSearch = %v, want no Bob", bob, got)
		}
	}
	for i := 0; i < apierr.MaxListed-4; i++ {
		bulk = append(bulk, map[string]any{"pk": dynamo.AccountPK(1), "sk": dynamo.Customer(1, int64(100000+i)).SK,
			"id": 100000 + i, "accountId": 1, "name": "bulk"})
	}
	if err := s.Table.BatchPut(ctx, bulk); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetCustomers(ctx, 1, customers.CustomerQuery{}); !errors.Is(err, apierr.ListTooLong) {
		t.Errorf("listing %d customers without a limit: %v, want ListTooLong", apierr.MaxListed+1, err)
	}
	if got := names(customers.CustomerQuery{Limit: 3, CreatedNewestTop: true}); len(got) != 3 {
		t.Errorf("newest 3 of many: %v", got)
	}
}
