package licensees_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/licensees"
)

// fakeStore is a licensees.Store of function fields.
type fakeStore struct {
	create  func(licensees.Licensee) error
	get     func(string) (licensees.Licensee, error)
	replace func(prev, l licensees.Licensee) error
	// stale, when set, answers eventually consistent reads (a replica
	// that has not seen the licensee yet).
	stale func(string) (licensees.Licensee, error)
}

func (f *fakeStore) NextSeqs(context.Context, int64, int64) (int64, int64, error) { return 1, 1, nil }
func (f *fakeStore) Create(_ context.Context, l licensees.Licensee) error         { return f.create(l) }
func (f *fakeStore) Get(_ context.Context, _ int64, n string, consistent bool) (licensees.Licensee, error) {
	if !consistent && f.stale != nil {
		return f.stale(n)
	}
	return f.get(n)
}
func (f *fakeStore) Replace(_ context.Context, prev, l licensees.Licensee) error {
	return f.replace(prev, l)
}
func (f *fakeStore) Delete(context.Context, licensees.Licensee) error { return errors.New("unused") }
func (f *fakeStore) Page(context.Context, int64, int64, int64, int64) ([]licensees.Licensee, int64, int64, error) {
	return nil, 0, 0, errors.New("unused")
}
func (f *fakeStore) OfCustomer(context.Context, int64, int64) ([]licensees.Licensee, error) {
	return nil, errors.New("unused")
}

// fakeLicenses returns fixed keys.
type fakeLicenses struct{ recs []keys.Record }

func (f fakeLicenses) CustomerProductKeys(context.Context, int64, int64, int64, int) ([]keys.Record, error) {
	return f.recs, nil
}
func (f fakeLicenses) HasCustomerKeys(context.Context, int64, int64, int64) (bool, error) {
	return len(f.recs) > 0, nil
}

// fakeCustomers records what happens to customers.
type fakeCustomers struct {
	next    int64
	names   map[int64]string
	removed []int64
}

func (f *fakeCustomers) AddCustomer(_ context.Context, _ int64, cf customers.CustomerFields) (customers.Customer, error) {
	f.next++
	f.names[f.next] = *cf.Name
	return customers.Customer{ID: f.next, Name: *cf.Name}, nil
}
func (f *fakeCustomers) EditCustomer(_ context.Context, _ int64, id int64, cf customers.CustomerFields, _ bool) (customers.Customer, error) {
	f.names[id] = *cf.Name
	return customers.Customer{ID: id, Name: *cf.Name}, nil
}
func (f *fakeCustomers) Customer(_ context.Context, _ int64, id int64) (customers.Customer, error) {
	name, ok := f.names[id]
	if !ok {
		return customers.Customer{}, apierr.NotFound
	}
	return customers.Customer{ID: id, Name: name}, nil
}
func (f *fakeCustomers) CustomersByID(context.Context, int64, []int64) ([]customers.Customer, error) {
	return nil, errors.New("unused")
}
func (f *fakeCustomers) RemoveCustomer(_ context.Context, _ int64, id int64) error {
	f.removed = append(f.removed, id)
	delete(f.names, id)
	return nil
}

type fakeProducts struct{ p catalog.Product }

func (f fakeProducts) GetProduct(context.Context, int64, int64) (catalog.Product, error) {
	return f.p, nil
}

type noKeys struct{}

func (noKeys) Change(context.Context, int64, int64, string, keys.Change) (keys.Record, error) {
	return keys.Record{}, errors.New("unused")
}
func (noKeys) Delete(context.Context, int64, int64, string) error { return errors.New("unused") }

var now = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

func newService(st *fakeStore, lic fakeLicenses, cust *fakeCustomers, p catalog.Product) *licensees.Service {
	random := bytes.NewReader(bytes.Repeat([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 100))
	return licensees.NewService(st, lic, noKeys{}, cust, fakeProducts{p}, func() time.Time { return now }, random)
}

func TestValidNumber(t *testing.T) {
	tests := []struct {
		n    string
		want bool
	}{
		{"I001", true},
		{"CUST-CC-01", true},
		{"ä-ünïcode_.:@+~!$&'()*,;=", true},
		{strings.Repeat("x", 1000), true},
		{strings.Repeat("ü", 1000), true},
		{"", false},
		{strings.Repeat("x", 1001), false},
		{strings.Repeat("€", 1000), false}, // 3000 bytes
		{"a b", false},
		{"a\tb", false},
		{"a\u00a0b", false},
		{"a/b", false},
		{"a?b", false},
		{"a#b", false},
		{"a%2Fb", false},
		{`a\b`, false},
		{"a\x00b", false},
		{"a\xffb", false},
	}
	for _, tt := range tests {
		if got := licensees.ValidNumber(tt.n); got != tt.want {
			t.Errorf("ValidNumber(%.20q) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

// TestCreateRemovesItsCustomer: a licensee that cannot be stored takes
// the customer created for it along; generated numbers are retried.
func TestCreateRemovesItsCustomer(t *testing.T) {
	cust := &fakeCustomers{names: map[int64]string{}}
	st := &fakeStore{create: func(licensees.Licensee) error { return licensees.ErrNumberTaken }}
	s := newService(st, fakeLicenses{}, cust, catalog.Product{ID: 3})
	n := "TAKEN"
	name := "Ada"
	_, err := s.Create(context.Background(), 1, 3, licensees.Fields{Number: &n, Name: &name}, 0, licensees.Limits{})
	if !errors.Is(err, apierr.LicenseeNumberTaken) {
		t.Fatalf("err = %v, want LicenseeNumberTaken", err)
	}
	if len(cust.removed) != 1 || cust.removed[0] != 1 || len(cust.names) != 0 {
		t.Errorf("customers left %v, removed %v; want the created one removed", cust.names, cust.removed)
	}
	var tried []string
	st.create = func(l licensees.Licensee) error {
		tried = append(tried, l.Number)
		if len(tried) < 3 {
			return licensees.ErrNumberTaken
		}
		return nil
	}
	v, err := s.Create(context.Background(), 1, 3, licensees.Fields{Name: &name}, 0, licensees.Limits{})
	if err != nil || len(tried) != 3 || tried[0] == tried[1] || tried[1] == tried[2] || v.Number != tried[2] || !v.OwnsCustomer || !v.Active {
		t.Errorf("generated numbers tried %v, got %+v, %v", tried, v, err)
	}
	// A product-locked caller cannot link an existing customer nor reach
	// another product.
	if _, err := s.Create(context.Background(), 1, 3, licensees.Fields{}, 1, licensees.Limits{ProductID: 3}); !errors.Is(err, apierr.AccessDenied) {
		t.Errorf("linking with a product lock: %v", err)
	}
	if _, err := s.Create(context.Background(), 1, 4, licensees.Fields{}, 0, licensees.Limits{ProductID: 3}); !errors.Is(err, apierr.AccessDenied) {
		t.Errorf("another product: %v", err)
	}
}

// TestUpdateRetriesOnConflict: an update that loses a race is applied to
// the licensee as the winner left it.
func TestUpdateRetriesOnConflict(t *testing.T) {
	cust := &fakeCustomers{names: map[int64]string{9: "Ada"}}
	stored := licensees.Licensee{Number: "N1", ProductID: 3, CustomerID: 9, Active: true, Version: 1, Properties: map[string]string{"a": "1"}}
	replaces := 0
	st := &fakeStore{get: func(string) (licensees.Licensee, error) { return stored, nil }}
	st.replace = func(prev, l licensees.Licensee) error {
		replaces++
		if replaces == 1 { // another update wins first
			stored.Properties = map[string]string{"a": "1", "b": "2"}
			stored.Version = 2
			return apierr.Conflict
		}
		if prev.Version != 2 {
			t.Errorf("retried on version %d, want 2", prev.Version)
		}
		stored = l
		return nil
	}
	s := newService(st, fakeLicenses{}, cust, catalog.Product{ID: 3})
	v, err := s.Update(context.Background(), 1, "N1", licensees.Fields{Properties: map[string]string{"c": "3", "a": ""}}, licensees.Limits{})
	if err != nil || replaces != 2 {
		t.Fatalf("update: %v after %d replaces", err, replaces)
	}
	if got := v.Properties; len(got) != 2 || got["b"] != "2" || got["c"] != "3" {
		t.Errorf("properties %v, want b=2 c=3", got)
	}
}

// TestValidity: product and feature validity and expiry from the keys.
func TestValidity(t *testing.T) {
	fd := catalog.DefaultFeatureDefinitions()
	fd.Features[0].Type = catalog.FeatureTimeLimited
	day := 24 * time.Hour
	key := func(id int64, expires time.Duration, block bool, features ...int) keys.Record {
		r := keys.Record{ID: id, Expires: now.Add(expires), Block: block}
		for _, f := range features {
			r.Features[f-1] = true
		}
		return r
	}
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	tests := []struct {
		name     string
		recs     []keys.Record
		product  licensees.Validity
		f1, f2   licensees.Validity
		ttlUntil time.Duration
	}{
		{"no keys", nil, licensees.Validity{}, licensees.Validity{}, licensees.Validity{}, time.Hour},
		{"perpetual key", []keys.Record{key(1, -day, false, 2)}, licensees.Validity{Valid: true}, licensees.Validity{}, licensees.Validity{Valid: true}, time.Hour},
		{"time-limited keys: the latest expiry", []keys.Record{key(1, 3*day, false, 1), key(2, 5*day, false, 1)},
			licensees.Validity{Valid: true, Expires: at(5 * day)}, licensees.Validity{Valid: true, Expires: at(5 * day)}, licensees.Validity{}, time.Hour},
		{"expired", []keys.Record{key(1, -2*day, false, 1), key(2, -day, false, 1)},
			licensees.Validity{Expires: at(-day)}, licensees.Validity{Expires: at(-day)}, licensees.Validity{}, time.Hour},
		{"blocked", []keys.Record{key(1, day, true, 2)}, licensees.Validity{}, licensees.Validity{}, licensees.Validity{}, time.Hour},
		{"perpetual beats time-limited", []keys.Record{key(1, day, false, 1), key(2, 0, false, 2)},
			licensees.Validity{Valid: true}, licensees.Validity{Valid: true, Expires: at(day)}, licensees.Validity{Valid: true}, time.Hour},
		{"ttl ends with a valid key", []keys.Record{key(1, 10*time.Minute, false, 1), key(2, 0, false, 2)},
			licensees.Validity{Valid: true}, licensees.Validity{Valid: true, Expires: at(10 * time.Minute)}, licensees.Validity{Valid: true}, 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &fakeStore{get: func(string) (licensees.Licensee, error) {
				return licensees.Licensee{Number: "N", ProductID: 3, CustomerID: 9, Active: true}, nil
			}}
			s := newService(st, fakeLicenses{tt.recs}, &fakeCustomers{names: map[int64]string{}}, catalog.Product{ID: 3, Features: fd})
			v, err := s.Validate(context.Background(), 1, "N", licensees.ValidateInput{}, licensees.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				what      string
				got, want licensees.Validity
			}{{"product", v.ProductValidity, tt.product}, {"F1", v.Features[0], tt.f1}, {"F2", v.Features[1], tt.f2}} {
				if c.got.Valid != c.want.Valid || (c.got.Expires == nil) != (c.want.Expires == nil) || c.got.Expires != nil && !c.got.Expires.Equal(*c.want.Expires) {
					t.Errorf("%s: %v %v, want %v %v", c.what, c.got.Valid, c.got.Expires, c.want.Valid, c.want.Expires)
				}
			}
			if want := now.Add(tt.ttlUntil); !v.TTL.Equal(want) {
				t.Errorf("ttl %v, want %v", v.TTL, want)
			}
		})
	}
}

// TestReadsAgainBeforeNotFound: a licensee an eventually consistent read
// misses (created a moment ago) is read again, consistently, before the
// answer is "does not exist"; a licensee that really is missing is not
// found.
func TestReadsAgainBeforeNotFound(t *testing.T) {
	missing := func(string) (licensees.Licensee, error) { return licensees.Licensee{}, apierr.NotFound }
	st := &fakeStore{stale: missing, get: func(n string) (licensees.Licensee, error) {
		return licensees.Licensee{Number: n, ProductID: 3, CustomerID: 9, Active: true}, nil
	}}
	cust := &fakeCustomers{names: map[int64]string{9: "Ada"}}
	s := newService(st, fakeLicenses{}, cust, catalog.Product{ID: 3})
	if v, err := s.Get(context.Background(), 1, "NEW", licensees.Limits{}); err != nil || v.Number != "NEW" || v.Name != "Ada" {
		t.Errorf("Get = %+v, %v", v, err)
	}
	if _, err := s.Validate(context.Background(), 1, "NEW", licensees.ValidateInput{}, licensees.Limits{}); err != nil {
		t.Errorf("Validate: %v", err)
	}
	st.get = missing
	if _, err := s.Validate(context.Background(), 1, "GONE", licensees.ValidateInput{}, licensees.Limits{}); !errors.Is(err, apierr.LicenseeNotFound) {
		t.Errorf("Validate of a missing licensee: %v", err)
	}
}
