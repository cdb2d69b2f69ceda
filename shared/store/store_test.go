package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/store"
)

func newStore(t *testing.T) *store.Store {
	db, table := ddbtest.NewTable(t)
	return store.New(db, table)
}

func TestCounterUniqueUnderConcurrency(t *testing.T) {
	s := newStore(t)
	const n = 40
	ids := make(chan int64, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := s.NextID(context.Background(), "product")
			if err != nil {
				t.Error(err)
				return
			}
			ids <- id
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[int64]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("id %d handed out twice", id)
		}
		seen[id] = true
	}
	for i := int64(1); i <= n; i++ {
		if !seen[i] {
			t.Errorf("id %d missing: want exactly 1..%d", i, n)
		}
	}
}

func TestCatalogRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	acc, err := s.CreateAccount(ctx, catalog.Account{Name: "a", Created: now})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := s.CreateAccount(ctx, catalog.Account{Name: "b", Created: now})
	if acc.ID == other.ID {
		t.Fatal("account ids must differ")
	}
	p := catalog.Product{AccountID: acc.ID, Name: "P", Description: "D", Created: now, IsPublic: true, KeyAlgorithm: 1,
		Features: catalog.DefaultFeatureDefinitions()}
	p.Features.Features[1] = catalog.Feature{Name: "Trial", Type: catalog.FeatureTrial}
	p.Features.BlockExpiredLicenses = true
	created, err := s.CreateProduct(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetProduct(ctx, acc.ID, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	p.ID = created.ID
	if got != p {
		t.Errorf("GetProduct = %+v\nwant %+v", got, p)
	}
	if _, err := s.GetProduct(ctx, other.ID, created.ID); !errors.Is(err, apierr.NotFound) {
		t.Errorf("product through another account: err = %v, want NotFound", err)
	}
	list, err := s.ListProducts(ctx, acc.ID)
	if err != nil || len(list) != 1 || list[0] != p {
		t.Errorf("ListProducts = %+v, %v", list, err)
	}
	accs, err := s.ListAccounts(ctx)
	if err != nil || len(accs) != 2 || accs[0].ID != acc.ID || !accs[0].Created.Equal(now) {
		t.Errorf("ListAccounts = %+v, %v", accs, err)
	}
}

func TestTokenStore(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	tok := auth.Token{ID: "abc", AccountID: 7, Name: "n", SecretHash: auth.HashSecret("s"), Created: exp.Add(-time.Hour),
		Scope: auth.Scope{Methods: []string{"GetKey"}, ProductLock: 1, KeyLock: -3, FeatureLock: 9, Expires: exp}}
	if err := s.PutToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.PutToken(ctx, tok); !errors.Is(err, apierr.Conflict) {
		t.Errorf("second PutToken with the same id: err = %v, want Conflict", err)
	}
	got, err := s.GetToken(ctx, "abc")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != tok.ID || got.AccountID != 7 || string(got.SecretHash) != string(tok.SecretHash) ||
		got.Scope.KeyLock != -3 || got.Scope.FeatureLock != 9 || !got.Scope.Expires.Equal(exp) || got.Scope.Methods[0] != "GetKey" {
		t.Errorf("GetToken = %+v\nwant %+v", got, tok)
	}
	if list, err := s.ListTokens(ctx, 7); err != nil || len(list) != 1 {
		t.Errorf("ListTokens = %v, %v", list, err)
	}
	if err := s.DeleteToken(ctx, 8, "abc"); !errors.Is(err, apierr.NotFound) {
		t.Errorf("DeleteToken through another account: err = %v, want NotFound", err)
	}
	if err := s.DeleteToken(ctx, 7, "abc"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetToken(ctx, "abc"); !errors.Is(err, apierr.NotFound) {
		t.Errorf("after delete: err = %v, want NotFound", err)
	}
}
