package licenseestore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/dynamo/stores"
	"github.com/keyturn/keyturn/shared/licensees"
)

const account = 5

func newStores(t *testing.T) *stores.Stores {
	db, table := ddbtest.NewTable(t)
	return stores.New(db, table)
}

// customer stores a customer of the account.
func customer(t *testing.T, s *stores.Stores, id int64) {
	t.Helper()
	if err := s.Customers.CreateCustomer(context.Background(), customers.Customer{AccountID: account, ID: id, Name: "c", Secret: "secret-" + string(rune('a'+id))}); err != nil {
		t.Fatal(err)
	}
}

// create stores a licensee with fresh positions.
func create(t *testing.T, s *stores.Stores, number string, product, cust int64) (licensees.Licensee, error) {
	t.Helper()
	ctx := context.Background()
	seq, pseq, err := s.Licensees.NextSeqs(ctx, account, product)
	if err != nil {
		t.Fatal(err)
	}
	l := licensees.Licensee{AccountID: account, Number: number, ProductID: product, CustomerID: cust, Active: true,
		Created: time.Date(2030, 1, 2, 3, 4, 5, 6e6, time.UTC), Seq: seq, ProductSeq: pseq, Properties: map[string]string{"k": "v"}}
	err = s.Licensees.Create(ctx, l)
	l.Version = 1
	return l, err
}

func totals(t *testing.T, s *stores.Stores, product int64) (int, int64, int64) {
	t.Helper()
	items, last, count, err := s.Licensees.Page(context.Background(), account, product, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	return len(items), last, count
}

// TestCreateClaims: a number is taken once per account, a customer is one
// licensee per product, a licensee needs its customer; refused creates
// change no count.
func TestCreateClaims(t *testing.T) {
	s := newStores(t)
	customer(t, s, 1)
	customer(t, s, 2)
	first, err := create(t, s, "N1", 7, 1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Licensees.Get(context.Background(), account, "N1", true)
	if err != nil || got.Number != "N1" || got.CustomerID != 1 || got.ProductID != 7 || got.Version != 1 || got.Properties["k"] != "v" ||
		!got.Created.Equal(first.Created) || got.Seq != 1 || got.ProductSeq != 1 {
		t.Errorf("stored %+v, %v", got, err)
	}
	tests := []struct {
		name          string
		number        string
		product, cust int64
		want          error
	}{
		{"number taken (other product, other customer)", "N1", 8, 2, licensees.ErrNumberTaken},
		{"customer already a licensee of the product", "N2", 7, 1, licensees.ErrCustomerTaken},
		{"customer missing", "N3", 7, 99, apierr.NotFound},
	}
	for _, tt := range tests {
		if _, err := create(t, s, tt.number, tt.product, tt.cust); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := create(t, s, "N4", 8, 1); err != nil {
		t.Errorf("the customer in another product: %v", err)
	}
	// The refused creates took positions (holes) but count nothing.
	if n, last, count := totals(t, s, 0); n != 2 || last != 5 || count != 2 {
		t.Errorf("account listing: %d items, last %d, count %d; want 2, 5, 2", n, last, count)
	}
	if n, _, count := totals(t, s, 7); n != 1 || count != 1 {
		t.Errorf("product 7 listing: %d items, count %d", n, count)
	}
	// Another account may use the same number.
	if err := s.Customers.CreateCustomer(context.Background(), customers.Customer{AccountID: account + 1, ID: 1, Secret: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Licensees.Create(context.Background(), licensees.Licensee{AccountID: account + 1, Number: "N1", ProductID: 70, CustomerID: 1, Seq: 1, ProductSeq: 1}); err != nil {
		t.Errorf("the same number in another account: %v", err)
	}
}

// TestReplace: updates are conditioned on the version; a new number moves
// the licensee and its claim in one transaction, and a taken number
// changes nothing.
func TestReplace(t *testing.T) {
	s := newStores(t)
	ctx := context.Background()
	customer(t, s, 1)
	customer(t, s, 2)
	l, _ := create(t, s, "OLD", 7, 1)
	if _, err := create(t, s, "OTHER", 7, 2); err != nil {
		t.Fatal(err)
	}
	next := l
	next.Active = false
	if err := s.Licensees.Replace(ctx, l, next); err != nil {
		t.Fatal(err)
	}
	if err := s.Licensees.Replace(ctx, l, next); !errors.Is(err, apierr.Conflict) {
		t.Errorf("replace of a stale version: %v, want Conflict", err)
	}
	cur, _ := s.Licensees.Get(ctx, account, "OLD", true)
	taken := cur
	taken.Number = "OTHER"
	if err := s.Licensees.Replace(ctx, cur, taken); !errors.Is(err, licensees.ErrNumberTaken) {
		t.Errorf("renumber to a taken number: %v", err)
	}
	if got, err := s.Licensees.Get(ctx, account, "OLD", true); err != nil || got.Version != cur.Version {
		t.Errorf("after the refused renumber: %+v %v", got, err)
	}
	renamed := cur
	renamed.Number = "NEW"
	if err := s.Licensees.Replace(ctx, cur, renamed); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Licensees.Get(ctx, account, "OLD", true); !errors.Is(err, apierr.NotFound) {
		t.Errorf("old number still there: %v", err)
	}
	got, err := s.Licensees.Get(ctx, account, "NEW", true)
	if err != nil || got.Active || got.Seq != cur.Seq || got.ProductSeq != cur.ProductSeq || got.Version != cur.Version+1 {
		t.Errorf("renumbered = %+v, %v", got, err)
	}
	ofCust, err := s.Licensees.OfCustomer(ctx, account, 1)
	if err != nil || len(ofCust) != 1 || ofCust[0].Number != "NEW" {
		t.Errorf("customer's licensees = %+v, %v", ofCust, err)
	}
	if err := s.Licensees.Replace(ctx, cur, renamed); !errors.Is(err, apierr.NotFound) {
		t.Errorf("replace of a moved licensee: %v, want NotFound", err)
	}
	if n, _, count := totals(t, s, 0); n != 2 || count != 2 {
		t.Errorf("listing after renumbering: %d items, count %d", n, count)
	}
}

// TestDeleteAndForget: a delete is conditioned on the version and frees
// number and claim; forgetting a customer deletes its licensees in every
// product and the counts follow.
func TestDeleteAndForget(t *testing.T) {
	s := newStores(t)
	ctx := context.Background()
	customer(t, s, 1)
	customer(t, s, 2)
	a, _ := create(t, s, "A", 7, 1)
	if _, err := create(t, s, "B", 8, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := create(t, s, "C", 7, 2); err != nil {
		t.Fatal(err)
	}
	stale := a
	stale.Version = 9
	if err := s.Licensees.Delete(ctx, stale); !errors.Is(err, apierr.Conflict) {
		t.Errorf("delete of a stale version: %v", err)
	}
	if err := s.Licensees.Delete(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.Licensees.Delete(ctx, a); !errors.Is(err, apierr.NotFound) {
		t.Errorf("second delete: %v", err)
	}
	// Number and claim are free again.
	if _, err := create(t, s, "A", 7, 1); err != nil {
		t.Errorf("re-create after delete: %v", err)
	}
	if err := s.Licensees.ForgetCustomer(ctx, account, 1); err != nil {
		t.Fatal(err)
	}
	if ls, err := s.Licensees.OfCustomer(ctx, account, 1); err != nil || len(ls) != 0 {
		t.Errorf("after forgetting: %+v %v", ls, err)
	}
	for product, want := range map[int64]int64{0: 1, 7: 1, 8: 0} {
		if n, _, count := totals(t, s, product); int64(n) != want || count != want {
			t.Errorf("product %d: %d items, count %d; want %d", product, n, count, want)
		}
	}
	// No claim item is left behind.
	left, err := s.Table.QueryAll(ctx, dynamo.Query{PK: dynamo.LicenseeClaimsPK(account, 1)})
	if err != nil || len(left) != 0 {
		t.Errorf("claims left: %d %v", len(left), err)
	}
}
