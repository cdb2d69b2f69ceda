package catalogstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/ddbtest"
)

func TestCatalogRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := ddbtest.NewStores(t)
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	acc, err := s.Catalog.CreateAccount(ctx, catalog.Account{Name: "a", Created: now})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := s.Catalog.CreateAccount(ctx, catalog.Account{Name: "b", Created: now})
	if acc.ID == other.ID {
		t.Fatal("account ids must differ")
	}
	p := catalog.Product{AccountID: acc.ID, Name: "P", Description: "D", Created: now, IsPublic: true, KeyAlgorithm: 1,
		Features: catalog.DefaultFeatureDefinitions()}
	p.Features.Features[1] = catalog.Feature{Name: "Trial", Type: catalog.FeatureTrial}
	p.Features.BlockExpiredLicenses = true
	created, err := s.Catalog.CreateProduct(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Catalog.GetProduct(ctx, acc.ID, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	p.ID = created.ID
	if got != p {
		t.Errorf("GetProduct = %+v\nwant %+v", got, p)
	}
	if _, err := s.Catalog.GetProduct(ctx, other.ID, created.ID); !errors.Is(err, apierr.NotFound) {
		t.Errorf("product through another account: err = %v, want NotFound", err)
	}
	list, err := s.Catalog.ListProducts(ctx, acc.ID)
	if err != nil || len(list) != 1 || list[0] != p {
		t.Errorf("ListProducts = %+v, %v", list, err)
	}
	accs, err := s.Catalog.ListAccounts(ctx)
	if err != nil || len(accs) != 2 || accs[0].ID != acc.ID || !accs[0].Created.Equal(now) {
		t.Errorf("ListAccounts = %+v, %v", accs, err)
	}
}

func TestTokenStore(t *testing.T) {
	ctx := context.Background()
	s := ddbtest.NewStores(t)
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	tok := auth.Token{ID: "abc", AccountID: 7, Name: "n", SecretHash: auth.HashSecret("s"), Created: exp.Add(-time.Hour),
		Scope: auth.Scope{Methods: []string{"GetKey"}, ProductLock: 1, KeyLock: -3, FeatureLock: 9, Expires: exp}}
	if err := s.Catalog.PutToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.Catalog.PutToken(ctx, tok); !errors.Is(err, apierr.Conflict) {
		t.Errorf("second PutToken with the same id: err = %v, want Conflict", err)
	}
	got, err := s.Catalog.GetToken(ctx, "abc")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != tok.ID || got.AccountID != 7 || string(got.SecretHash) != string(tok.SecretHash) ||
		got.Scope.KeyLock != -3 || got.Scope.FeatureLock != 9 || !got.Scope.Expires.Equal(exp) || got.Scope.Methods[0] != "GetKey" {
		t.Errorf("GetToken = %+v\nwant %+v", got, tok)
	}
	if list, err := s.Catalog.ListTokens(ctx, 7); err != nil || len(list) != 1 {
		t.Errorf("ListTokens = %v, %v", list, err)
	}
	if err := s.Catalog.DeleteToken(ctx, 8, "abc"); !errors.Is(err, apierr.NotFound) {
		t.Errorf("DeleteToken through another account: err = %v, want NotFound", err)
	}
	if err := s.Catalog.DeleteToken(ctx, 7, "abc"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Catalog.GetToken(ctx, "abc"); !errors.Is(err, apierr.NotFound) {
		t.Errorf("after delete: err = %v, want NotFound", err)
	}
}
