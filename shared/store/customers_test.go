package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/customers"
)

func str(s string) *string { return &s }

// TestCustomerSecretsUnique: a secret can belong to one customer only; a
// random source that keeps repeating itself surfaces as the documented
// message and writes nothing.
func TestCustomerSecretsUnique(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) }
	// A "random" source that always yields the same bytes.
	same := customers.NewService(s, now, bytes.NewReader(bytes.Repeat([]byte{7}, 24*10)))
	first, err := same.AddCustomer(ctx, 1, customers.CustomerFields{Name: str("first")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = same.AddCustomer(ctx, 1, customers.CustomerFields{Name: str("second")})
	if !errors.Is(err, customers.SecretTaken) {
		t.Fatalf("second customer with the same secret: %v, want %v", err, customers.SecretTaken)
	}
	list, err := s.ListCustomers(ctx, 1)
	if err != nil || len(list) != 1 || list[0].ID != first.ID {
		t.Errorf("customers after the refused add: %+v, %v", list, err)
	}
	// The same secret in another account is a different secret.
	if _, err := same.AddCustomer(ctx, 2, customers.CustomerFields{Name: str("other account")}); err != nil {
		t.Errorf("other account: %v", err)
	}
	got, err := s.CustomerBySecret(ctx, 1, first.Secret)
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
	svc := customers.NewService(s, time.Now, rand.Reader)
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
	got, err := s.GetCustomer(ctx, 1, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "new name" || *got.Email != "new@x" || *got.CompanyName != "co" || *got.Notes != "notes" {
		t.Errorf("lost update: %+v", got)
	}
	resolving := 0
	for sec := range secrets {
		if _, err := s.CustomerBySecret(ctx, 1, sec); err == nil {
			resolving++
			if sec != got.Secret {
				t.Errorf("stale secret %s still resolves", sec)
			}
		} else if !errors.Is(err, apierr.NotFound) {
			t.Error(err)
		}
	}
	if _, err := s.CustomerBySecret(ctx, 1, c.Secret); !errors.Is(err, apierr.NotFound) {
		t.Errorf("original secret still resolves: %v", err)
	}
	if resolving != 1 {
		t.Errorf("%d of the issued secrets resolve, want exactly the current one", resolving)
	}
	// Lookup by email follows the edit.
	if byMail, err := s.CustomerByEmail(ctx, 1, "NEW@x"); err != nil || byMail.ID != c.ID {
		t.Errorf("CustomerByEmail = %+v, %v", byMail, err)
	}
	if _, err := s.CustomerByEmail(ctx, 1, "e@x"); !errors.Is(err, apierr.NotFound) {
		t.Errorf("old email still resolves: %v", err)
	}
}
