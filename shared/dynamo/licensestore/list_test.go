package licensestore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/keyquery"
	"github.com/keyturn/keyturn/shared/keys"
)

// listRig is a product with n keys created through the service (ids
// 1..n), some deleted, with varied fields.
type listRig struct {
	*keyRig
	all     map[string]keys.Record
	listing *keys.Listing
}

func newListRig(t *testing.T, n int, deleted ...int64) *listRig {
	t.Helper()
	ctx := context.Background()
	r := &listRig{keyRig: newKeyRig(t), all: map[string]keys.Record{}}
	seq := 0
	r.svc.WithKeyGenerator(func() (string, error) {
		seq++
		return fmt.Sprintf("K%05d", seq), nil
	})
	rng := rand.New(rand.NewPCG(1, 2))
	for created := 0; created < n; {
		batch := min(n-created, 60)
		notes := fmt.Sprintf("batch %d", created/60)
		recs, err := r.svc.Create(ctx, 1, 10, keys.Spec{Period: int64(rng.IntN(400)), Notes: &notes, MaxNoOfMachines: int64(rng.IntN(4))}, batch)
		if err != nil {
			t.Fatal(err)
		}
		created += len(recs)
		r.clock.Advance(time.Second)
	}
	// Vary the fields searches look at.
	for i := int64(1); i <= int64(n); i++ {
		k := fmt.Sprintf("K%05d", i)
		c := keys.Change{}
		if i%3 == 0 {
			c.Feature = &keys.FeatureChange{Index: 0, Value: true}
		}
		if i%7 == 0 {
			var none *string
			c.Notes = &none
		}
		if i%11 == 0 {
			b := true
			c.Block = &b
		}
		if c.Feature != nil || c.Notes != nil || c.Block != nil {
			if _, err := r.svc.Change(ctx, 1, 10, k, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, id := range deleted {
		if err := r.st.DeleteKey(ctx, 10, fmt.Sprintf("K%05d", id)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= n; i++ {
		k := fmt.Sprintf("K%05d", i)
		if rec, err := r.st.GetKey(ctx, 10, k, true); err == nil {
			r.all[k] = rec
		}
	}
	r.listing = keys.NewListing(r.st, nil)
	return r
}

// want returns the keys a page should hold, computed from every key.
func (r *listRig) want(t *testing.T, q *keyquery.Query, order string, desc bool, page int64, now time.Time) ([]string, int64) {
	t.Helper()
	var recs []keys.Record
	for _, rec := range r.all {
		ok, err := q.Match(fieldsOf{rec}, now)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			recs = append(recs, rec)
		}
	}
	if order == "" {
		order = "ID"
	}
	sort.Slice(recs, func(i, j int) bool {
		a, _ := keys.QueryField(recs[i], nil, order)
		b, _ := keys.QueryField(recs[j], nil, order)
		c := keyquery.Compare(a, b)
		if c == 0 {
			c = keyquery.Compare(keyquery.IntValue(recs[i].ID), keyquery.IntValue(recs[j].ID))
		}
		return (c < 0) != desc
	})
	var out []string
	for i := (page - 1) * keys.PageSize; i < int64(len(recs)) && i < page*keys.PageSize; i++ {
		out = append(out, recs[i].Key)
	}
	return out, int64(len(recs))
}

type fieldsOf struct{ r keys.Record }

func (f fieldsOf) Field(name string) (keyquery.Value, bool) { return keys.QueryField(f.r, nil, name) }

func pageKeys(res keys.ListResult) []string {
	out := []string{}
	for _, r := range res.Records {
		out = append(out, r.Key)
	}
	return out
}

// TestListingMatchesFullRead: every page of every indexed order, and of
// searches (filtered in DynamoDB where the query allows it) and other
// orders, equals what sorting and filtering all keys gives.
func TestListingMatchesFullRead(t *testing.T) {
	ctx := context.Background()
	r := newListRig(t, 230, 5, 120, 230)
	now := r.clock.Now()
	cases := []struct {
		query, order string
		desc         bool
	}{
		{"", "", false}, {"", "ID", true}, {"", "Created", false}, {"", "Created", true},
		{"", "Expires", false}, {"", "Expires", true}, {"", "Period", false}, {"", "Notes", true},
		{"F1", "", false}, {"!F1 && Block", "Expires", false}, {"Notes == null", "", true},
		{`Notes != null && Notes.Contains("batch 1")`, "", false}, {`Notes.StartsWith("batch 2") || ID < 10`, "ID", true},
		{`!(Notes.Contains("batch"))`, "", false}, {"Period > 200 && MaxNoOfMachines <= 1", "Period", false},
		{"Expires < DateTime.Now.AddDays(100)", "Expires", true}, {`Key.ToLower().EndsWith("7")`, "", false},
		{"ActivatedMachines.Count() == 0 && ID >= 100", "", false},
	}
	for _, c := range cases {
		q, err := keyquery.Parse(c.query)
		if err != nil {
			t.Fatalf("%q: %v", c.query, err)
		}
		for page := int64(1); page <= 4; page++ {
			res, err := r.listing.Page(ctx, keys.ListRequest{AccountID: 1, ProductID: 10, Page: page, Query: q, OrderField: c.order, Desc: c.desc, Now: now})
			if err != nil {
				t.Fatalf("%q order %q page %d: %v", c.query, c.order, page, err)
			}
			want, total := r.want(t, q, c.order, c.desc, page, now)
			if got := pageKeys(res); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) || res.Total != total {
				t.Errorf("%q order %q desc %v page %d:\n got %v (total %d)\nwant %v (total %d)", c.query, c.order, c.desc, page, got, res.Total, want, total)
			}
		}
	}
}

// TestListingPageCostFlat: a default-order page reads the counter, one
// index page and one partition per key, whatever the page number.
func TestListingPageCostFlat(t *testing.T) {
	ctx := context.Background()
	r := newListRig(t, 300, 40)
	var calls []int64
	for _, page := range []int64{1, 3} {
		r.db.Reset()
		res, err := r.listing.Page(ctx, keys.ListRequest{AccountID: 1, ProductID: 10, Page: page, Now: r.clock.Now()})
		if err != nil || len(res.Records) != keys.PageSize {
			t.Fatalf("page %d: %d keys, %v", page, len(res.Records), err)
		}
		calls = append(calls, r.db.Total())
	}
	if want := int64(2 + keys.PageSize); calls[0] != want || calls[1] != want {
		t.Errorf("calls for pages 1 and 3: %v, want %d each (counter, index, one per key)", calls, want)
	}
}

// TestListingBounded: a search that needs more work than allowed answers
// the documented error instead of running on.
func TestListingBounded(t *testing.T) {
	ctx := context.Background()
	r := newListRig(t, 120)
	q, _ := keyquery.Parse("F1")
	r.listing.MaxScan = 10
	if _, err := r.listing.Page(ctx, keys.ListRequest{AccountID: 1, ProductID: 10, Page: 1, Query: q, Now: r.clock.Now()}); !errors.Is(err, apierr.SearchTooBroad) {
		t.Errorf("search over the scan bound: %v, want SearchTooBroad", err)
	}
	r.listing.MaxScan, r.listing.Budget = 1_000_000, time.Nanosecond
	if _, err := r.listing.Page(ctx, keys.ListRequest{AccountID: 1, ProductID: 10, Page: 1, Query: q, Now: r.clock.Now()}); !errors.Is(err, apierr.SearchTooBroad) {
		t.Errorf("search over the time budget: %v, want SearchTooBroad", err)
	}
}

// TestListingPeerFilterAndSort: a filter and order built in Go (with a
// condition storage evaluates, and with activations), windows of any
// offset and size, and listings of named keys, each equal to what
// filtering and sorting every key gives.
func TestListingPeerFilterAndSort(t *testing.T) {
	ctx := context.Background()
	r := newListRig(t, 150, 7)
	for _, id := range []int{3, 8, 21, 60} {
		k := fmt.Sprintf("K%05d", id)
		for m := 0; m < id%4+1; m++ {
			if _, err := r.svc.Activate(ctx, keys.ActivateInput{AccountID: 1, ProductID: 10, Key: k, MachineCode: fmt.Sprintf("m%d", m)}); err != nil && !errors.Is(err, apierr.LimitReached) {
				t.Fatal(err)
			}
		}
		rec, err := r.st.GetKey(ctx, 10, k, true)
		if err != nil {
			t.Fatal(err)
		}
		r.all[k] = rec
	}
	byPeriod := func(a, b keys.Record) int { return int(a.Period - b.Period) }
	blockedEven := func(rec keys.Record) bool { return rec.Block || rec.ID%2 == 0 }
	stored := &keyquery.Cond{Op: keyquery.CondOr, Args: []keyquery.Cond{
		{Op: keyquery.CondCmp, Field: "Block", Cmp: "==", Value: keyquery.BoolValue(true)},
		{Op: keyquery.CondCmp, Field: "ID", Cmp: ">", Value: keyquery.IntValue(0)},
	}}
	activated := func(rec keys.Record) bool { return len(rec.Nodes) > 0 }
	cases := []struct {
		name   string
		filter *keys.Filter
		sort   *keys.Sort
	}{
		{"stored condition and match, by period", &keys.Filter{Stored: stored, Match: blockedEven}, &keys.Sort{Compare: byPeriod}},
		{"match only, by period descending", &keys.Filter{Match: blockedEven}, &keys.Sort{Compare: byPeriod, Desc: true}},
		{"activations", &keys.Filter{Match: activated, Activations: true}, nil},
		{"no filter, sort by id index", nil, &keys.Sort{Compare: func(a, b keys.Record) int { return int(a.ID - b.ID) }, Index: "ID", Desc: true}},
		{"named keys", &keys.Filter{Keys: []string{"K00003", "K00099", "K00007", "K00003", "NOPE"}, Match: blockedEven}, &keys.Sort{Compare: byPeriod}},
	}
	for _, c := range cases {
		var want []keys.Record
		for _, rec := range r.all {
			if c.filter != nil && c.filter.Keys != nil && !slices.Contains(c.filter.Keys, rec.Key) {
				continue
			}
			if c.filter == nil || c.filter.Match(rec) {
				want = append(want, rec)
			}
		}
		sort.Slice(want, func(i, j int) bool {
			x := 0
			if c.sort != nil {
				x = c.sort.Compare(want[i], want[j])
			}
			if x == 0 {
				x = int(want[i].ID - want[j].ID)
			}
			return (x < 0) != (c.sort != nil && c.sort.Desc)
		})
		for _, w := range []struct{ offset, limit int64 }{{0, 10}, {7, 25}, {max(int64(len(want))-3, 0), 10}, {int64(len(want)) + 5, 10}} {
			res, err := r.listing.Page(ctx, keys.ListRequest{AccountID: 1, ProductID: 10, Offset: w.offset, Limit: w.limit,
				Filter: c.filter, Sort: c.sort, Now: r.clock.Now()})
			if err != nil {
				t.Fatalf("%s %+v: %v", c.name, w, err)
			}
			var wantKeys []string
			for i := max(w.offset, 0); i < int64(len(want)) && i < w.offset+w.limit; i++ {
				wantKeys = append(wantKeys, want[i].Key)
			}
			if got := pageKeys(res); !slices.Equal(got, wantKeys) && !(len(got) == 0 && len(wantKeys) == 0) || res.Total != int64(len(want)) {
				t.Errorf("%s %+v:\n got %v (total %d)\nwant %v (total %d)", c.name, w, got, res.Total, wantKeys, len(want))
			}
		}
	}
}

// TestListingNamedKeysCost: a filter naming its keys reads one partition
// per key and nothing else, whatever the product's size; a Sort naming
// the id index reads only its page.
func TestListingNamedKeysCost(t *testing.T) {
	ctx := context.Background()
	r := newListRig(t, 300)
	r.db.Reset()
	res, err := r.listing.Page(ctx, keys.ListRequest{AccountID: 1, ProductID: 10, Limit: 10,
		Filter: &keys.Filter{Keys: []string{"K00010", "K00200", "K00299"}}, Now: r.clock.Now()})
	if err != nil || res.Total != 3 || len(res.Records) != 3 {
		t.Fatalf("named keys: %+v, %v", res, err)
	}
	if got := r.db.Total(); got != 3 {
		t.Errorf("named keys: %d calls, want 3 (one Query per key)", got)
	}
	r.db.Reset()
	res, err = r.listing.Page(ctx, keys.ListRequest{AccountID: 1, ProductID: 10, Offset: 250, Limit: 5,
		Sort: &keys.Sort{Compare: func(a, b keys.Record) int { return int(a.ID - b.ID) }, Index: "ID"}, Now: r.clock.Now()})
	if err != nil || len(res.Records) != 5 || res.Records[0].ID != 251 {
		t.Fatalf("sort by the id index: %+v, %v", res, err)
	}
	if got := r.db.Total(); got != 2+5 {
		t.Errorf("sort by the id index: %d calls, want 7 (counter, index, one per key)", got)
	}
	many := make([]string, keys.MaxFilterKeys+1)
	for i := range many {
		many[i] = fmt.Sprintf("X%d", i)
	}
	if _, err := r.listing.Page(ctx, keys.ListRequest{AccountID: 1, ProductID: 10, Limit: 5, Filter: &keys.Filter{Keys: many}, Now: r.clock.Now()}); !errors.Is(err, apierr.SearchTooBroad) {
		t.Errorf("%d named keys: %v, want SearchTooBroad", len(many), err)
	}
}

// TestScanPeerFields: license type and auto-collected are filtered in
// DynamoDB (a missing attribute is null and not true).
func TestScanPeerFields(t *testing.T) {
	ctx := context.Background()
	r := newKeyRig(t)
	recs := []keys.Record{
		{AccountID: 1, ProductID: 10, ID: 1, GlobalID: 1, Key: "A", LicenseType: "purchased"},
		{AccountID: 1, ProductID: 10, ID: 2, GlobalID: 2, Key: "B", AutoCollected: true, LicenseType: "evaluation"},
		{AccountID: 1, ProductID: 10, ID: 3, GlobalID: 3, Key: "C"},
	}
	if err := r.st.CreateKeys(ctx, recs); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cond keyquery.Cond
		want string
	}{
		{keyquery.Cond{Op: keyquery.CondCmp, Field: keys.FieldLicenseType, Cmp: "==", Value: keyquery.StringValue("purchased")}, "A"},
		{keyquery.Cond{Op: keyquery.CondCmp, Field: keys.FieldLicenseType, Cmp: "==", Value: keyquery.NullValue()}, "C"},
		{keyquery.Cond{Op: keyquery.CondCmp, Field: keys.FieldAutoCollected, Cmp: "==", Value: keyquery.BoolValue(true)}, "B"},
		{keyquery.Cond{Op: keyquery.CondNot, Args: []keyquery.Cond{{Op: keyquery.CondCmp, Field: keys.FieldAutoCollected, Cmp: "==", Value: keyquery.BoolValue(true)}}}, "AC"},
	} {
		got := ""
		if err := r.st.ScanKeys(ctx, 10, 1, 3, &c.cond, func(page []keys.Record) error {
			for _, p := range page {
				got += p.Key
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%+v: %q, want %q", c.cond, got, c.want)
		}
	}
}
