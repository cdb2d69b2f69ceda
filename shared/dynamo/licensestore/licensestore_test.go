package licensestore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/clocktest"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/dynamo/licensestore"
	"github.com/keyturn/keyturn/shared/keys"
)

type keyRig struct {
	table string
	raw   *dynamodb.Client
	db    *ddbtest.Counter
	st    *licensestore.Store
	svc   *keys.Service
	clock *clocktest.Clock
}

func newKeyRig(t *testing.T) *keyRig {
	db, table := ddbtest.NewTable(t)
	r := &keyRig{table: table, raw: db, db: ddbtest.NewCounter(db), clock: clocktest.New(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))}
	r.st = licensestore.New(dynamo.New(r.db, table))
	r.svc = keys.NewService(r.st, r.clock.Now)
	return r
}

func (r *keyRig) create(t *testing.T, key string, mutate func(*keys.Record)) keys.Record {
	t.Helper()
	rec := keys.Record{AccountID: 1, ProductID: 10, ID: 1, GlobalID: 100, Key: key, Created: r.clock.Now(), Expires: r.clock.Now().Add(30 * 24 * time.Hour), Period: 30}
	if mutate != nil {
		mutate(&rec)
	}
	if err := r.st.CreateKeys(context.Background(), []keys.Record{rec}); err != nil {
		t.Fatal(err)
	}
	return rec
}

// parallel runs n activations at once and counts the outcomes.
func (r *keyRig) parallel(t *testing.T, n int, in func(i int) keys.ActivateInput) (ok, limit int, results []keys.Record) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			rec, err := r.svc.Activate(context.Background(), in(i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
				results = append(results, rec)
			case errors.Is(err, apierr.LimitReached):
				limit++
			default:
				t.Errorf("activation %d: %v", i, err)
			}
		}(i)
	}
	close(start)
	wg.Wait()
	return ok, limit, results
}

func TestNodeLockedLimitUnderConcurrency(t *testing.T) {
	r := newKeyRig(t)
	const n, m = 30, 5
	r.create(t, "AAAAA-AAAAA-AAAAA-AAAAA", func(k *keys.Record) { k.MaxNoOfMachines = m })
	ok, limit, _ := r.parallel(t, n, func(i int) keys.ActivateInput {
		return keys.ActivateInput{AccountID: 1, ProductID: 10, Key: "AAAAA-AAAAA-AAAAA-AAAAA", MachineCode: fmt.Sprintf("m%02d", i), IP: "192.0.2.1"}
	})
	if ok != m || limit != n-m {
		t.Errorf("got %d successes and %d limit errors, want %d and %d", ok, limit, m, n-m)
	}
	got, err := r.st.GetKey(context.Background(), 10, "AAAAA-AAAAA-AAAAA-AAAAA", true)
	if err != nil || len(got.Nodes) != m {
		t.Errorf("stored activations = %d, %v; want %d", len(got.Nodes), err, m)
	}
}

func TestFloatingLimitUnderConcurrency(t *testing.T) {
	r := newKeyRig(t)
	const n, m, overdraft = 25, 3, 2
	r.create(t, "BBBBB-BBBBB-BBBBB-BBBBB", func(k *keys.Record) { k.MaxNoOfMachines = m })
	in := func(i int) keys.ActivateInput {
		return keys.ActivateInput{AccountID: 1, ProductID: 10, Key: "BBBBB-BBBBB-BBBBB-BBBBB", MachineCode: fmt.Sprintf("f%02d", i),
			FloatingInterval: 100 * time.Second, MaxOverdraft: overdraft}
	}
	ok, limit, _ := r.parallel(t, n, in)
	if ok != m+overdraft || limit != n-m-overdraft {
		t.Errorf("got %d successes and %d limit errors, want %d and %d", ok, limit, m+overdraft, n-m-overdraft)
	}
	got, _ := r.st.GetKey(context.Background(), 10, "BBBBB-BBBBB-BBBBB-BBBBB", true)
	od := 0
	for _, s := range got.Seats {
		if s.Overdraft {
			od++
		}
	}
	if len(got.ActiveSeats(r.clock.Now())) != m+overdraft || od != overdraft {
		t.Errorf("seats = %d (overdraft %d), want %d (%d)", len(got.ActiveSeats(r.clock.Now())), od, m+overdraft, overdraft)
	}
	// Seats expire by time: after the interval a new machine gets one.
	r.clock.Advance(101 * time.Second)
	if _, err := r.svc.Activate(context.Background(), in(99)); err != nil {
		t.Errorf("activation after the interval: %v", err)
	}
}

func TestActivateRoundTrips(t *testing.T) {
	r := newKeyRig(t)
	r.create(t, "CCCCC-CCCCC-CCCCC-CCCCC", func(k *keys.Record) { k.MaxNoOfMachines = 2 })
	in := keys.ActivateInput{AccountID: 1, ProductID: 10, Key: "CCCCC-CCCCC-CCCCC-CCCCC", MachineCode: "pc1", IP: "192.0.2.7", FriendlyName: "alice", OSInfo: `{"os":"linux"}`}
	r.db.Reset()
	rec, err := r.svc.Activate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Nodes["pc1"]; got.IP != "192.0.2.7" || got.FriendlyName != "alice" || got.OSInfo != `{"os":"linux"}` || !got.Time.Equal(r.clock.Now()) {
		t.Errorf("activation = %+v", got)
	}
	if rd, wr, all := r.db.Of("Query"), r.db.Of("PutItem"), r.db.Total(); rd != 1 || wr != 1 || all != 2 {
		t.Errorf("new activation: %d reads, %d writes, %d calls; want 1, 1 and 2", rd, wr, all)
	}
	r.db.Reset()
	if _, err := r.svc.Activate(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if rd, all := r.db.Of("Query"), r.db.Total(); rd != 1 || all != 1 {
		t.Errorf("repeated activation: %d reads, %d calls; want 1 and 1", rd, all)
	}
}

func TestActivateRules(t *testing.T) {
	ctx := context.Background()
	r := newKeyRig(t)
	allowed := "vip\nboss"
	r.create(t, "DDDDD-DDDDD-DDDDD-DDDDD", func(k *keys.Record) { k.MaxNoOfMachines = 1; k.AllowedMachines = &allowed })
	act := func(key, mid string) (keys.Record, error) {
		return r.svc.Activate(ctx, keys.ActivateInput{AccountID: 1, ProductID: 10, Key: key, MachineCode: mid})
	}
	if _, err := act("DDDDD-DDDDD-DDDDD-DDDDD", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := act("DDDDD-DDDDD-DDDDD-DDDDD", "b"); !errors.Is(err, apierr.LimitReached) {
		t.Errorf("over the limit: %v, want LimitReached", err)
	}
	if _, err := act("DDDDD-DDDDD-DDDDD-DDDDD", "vip"); err != nil {
		t.Errorf("allowed machine over the limit: %v, want success", err)
	}
	if _, err := r.svc.Activate(ctx, keys.ActivateInput{AccountID: 2, ProductID: 10, Key: "DDDDD-DDDDD-DDDDD-DDDDD", MachineCode: "a"}); !errors.Is(err, apierr.KeyNotFound) {
		t.Errorf("another account's key: %v, want KeyNotFound", err)
	}
	if _, err := act("NOPE", "a"); !errors.Is(err, apierr.KeyNotFound) {
		t.Errorf("unknown key: %v, want KeyNotFound", err)
	}

	// An empty machine code is a machine code like any other.
	r.create(t, "HHHHH-HHHHH-HHHHH-HHHHH", nil)
	if rec, err := act("HHHHH-HHHHH-HHHHH-HHHHH", ""); err != nil || len(rec.Nodes) != 1 {
		t.Errorf("empty machine code: %v, %+v", err, rec.Nodes)
	}
	if err := r.svc.Deactivate(ctx, 1, 10, "HHHHH-HHHHH-HHHHH-HHHHH", "", false); err != nil {
		t.Errorf("deactivate empty machine code: %v", err)
	}

	// Blocked keys refuse activation and deactivation.
	r.create(t, "EEEEE-EEEEE-EEEEE-EEEEE", func(k *keys.Record) { k.Block = true })
	if _, err := act("EEEEE-EEEEE-EEEEE-EEEEE", "a"); !errors.Is(err, apierr.KeyBlocked) {
		t.Errorf("blocked: %v, want KeyBlocked", err)
	}

	// Trial activation: the countdown starts at the first activation only.
	r.create(t, "FFFFF-FFFFF-FFFFF-FFFFF", func(k *keys.Record) { k.TrialActivation = true; k.Period = 7 })
	start := r.clock.Now()
	r.clock.Advance(24 * time.Hour)
	rec, err := act("FFFFF-FFFFF-FFFFF-FFFFF", "t1")
	if err != nil {
		t.Fatal(err)
	}
	if want := start.Add(24 * time.Hour).Add(7 * 24 * time.Hour); !rec.Expires.Equal(want) || !rec.TrialStarted {
		t.Errorf("trial expiry = %v (started %v), want %v", rec.Expires, rec.TrialStarted, want)
	}
	r.clock.Advance(24 * time.Hour)
	rec2, _ := act("FFFFF-FFFFF-FFFFF-FFFFF", "t2")
	if !rec2.Expires.Equal(rec.Expires) {
		t.Errorf("second activation moved the trial expiry to %v", rec2.Expires)
	}

	// Deactivation.
	if err := r.svc.Deactivate(ctx, 1, 10, "DDDDD-DDDDD-DDDDD-DDDDD", "a", false); err != nil {
		t.Fatal(err)
	}
	if err := r.svc.Deactivate(ctx, 1, 10, "DDDDD-DDDDD-DDDDD-DDDDD", "a", false); !errors.Is(err, apierr.NeverActivated) {
		t.Errorf("second deactivation: %v, want NeverActivated", err)
	}
	if err := r.svc.Deactivate(ctx, 1, 10, "DDDDD-DDDDD-DDDDD-DDDDD", "ghost", true); err != nil {
		t.Errorf("floating deactivation of an unknown machine: %v, want nil", err)
	}
	// "vip" still holds the only seat (allowed machines count too).
	if _, err := act("DDDDD-DDDDD-DDDDD-DDDDD", "b"); !errors.Is(err, apierr.LimitReached) {
		t.Errorf("activation while vip holds the seat: %v, want LimitReached", err)
	}
	if err := r.svc.Deactivate(ctx, 1, 10, "DDDDD-DDDDD-DDDDD-DDDDD", "vip", false); err != nil {
		t.Fatal(err)
	}
	if _, err := act("DDDDD-DDDDD-DDDDD-DDDDD", "b"); err != nil {
		t.Errorf("activation after the seat was freed: %v", err)
	}
	if err := r.svc.Deactivate(ctx, 1, 10, "EEEEE-EEEEE-EEEEE-EEEEE", "a", false); !errors.Is(err, apierr.KeyBlocked) {
		t.Errorf("deactivate blocked: %v, want KeyBlocked", err)
	}
}

func TestCreateKeysAllOrNothing(t *testing.T) {
	ctx := context.Background()
	r := newKeyRig(t)
	r.create(t, "GGGGG-GGGGG-GGGGG-GGGGG", nil)
	var batch []keys.Record
	for i := 0; i < 150; i++ {
		batch = append(batch, keys.Record{AccountID: 1, ProductID: 10, ID: int64(i + 2), GlobalID: int64(200 + i), Key: fmt.Sprintf("K%04d", i)})
	}
	batch[120].Key = "GGGGG-GGGGG-GGGGG-GGGGG" // collides in the second transaction
	if err := r.st.CreateKeys(ctx, batch); !errors.Is(err, apierr.Conflict) {
		t.Fatalf("CreateKeys with a duplicate: %v, want Conflict", err)
	}
	if _, err := r.st.GetKey(ctx, 10, "K0000", true); !errors.Is(err, apierr.NotFound) {
		t.Errorf("keys of the first transaction are left behind: %v", err)
	}
}

func TestCreateAndChange(t *testing.T) {
	ctx := context.Background()
	r := newKeyRig(t)
	r.create(t, "DUP", nil) // the generator's first string clashes with this key
	n := 0
	r.svc.WithKeyGenerator(func() (string, error) {
		n++
		if n == 1 {
			return "DUP", nil
		}
		return fmt.Sprintf("KEY%04d", n), nil
	})
	notes := "hello"
	recs, err := r.svc.Create(ctx, 1, 10, keys.Spec{Period: 10, Notes: &notes, MaxNoOfMachines: 3}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0].ID != 1 || recs[2].ID != 3 || recs[0].GlobalID == recs[1].GlobalID {
		t.Errorf("created = %+v", recs)
	}
	for _, rec := range recs {
		got, err := r.st.GetKey(ctx, 10, rec.Key, true)
		if err != nil || got.Key == "DUP" || *got.Notes != "hello" || !got.Expires.Equal(r.clock.Now().Add(10*24*time.Hour)) {
			t.Errorf("stored %s = %+v, %v", rec.Key, got, err)
		}
	}
	long := string(make([]byte, 501))
	if _, err := r.svc.Create(ctx, 1, 10, keys.Spec{Notes: &long}, 1); !errors.Is(err, apierr.NotesTooLong) {
		t.Errorf("long notes: %v, want NotesTooLong", err)
	}

	// Extend: from the current expiry while it has not passed, else from now.
	k := recs[0].Key
	ext, err := r.svc.Extend(ctx, 1, 10, k, 5)
	if err != nil || !ext.Expires.Equal(r.clock.Now().Add(15*24*time.Hour)) {
		t.Errorf("extend unexpired = %v, %v", ext.Expires, err)
	}
	r.clock.Advance(100 * 24 * time.Hour)
	ext, err = r.svc.Extend(ctx, 1, 10, k, 5)
	if err != nil || !ext.Expires.Equal(r.clock.Now().Add(5*24*time.Hour)) {
		t.Errorf("extend expired = %v, %v", ext.Expires, err)
	}
	blocked := true
	got, err := r.svc.Change(ctx, 1, 10, k, keys.Change{Block: &blocked, Feature: &keys.FeatureChange{Index: 7, Value: true}})
	if err != nil || !got.Block || !got.Features[7] {
		t.Errorf("change = %+v, %v", got, err)
	}
	if _, err := r.svc.Change(ctx, 2, 10, k, keys.Change{Block: &blocked}); !errors.Is(err, apierr.KeyNotFound) {
		t.Errorf("change through another account: %v, want KeyNotFound", err)
	}
	if _, err := r.svc.Extend(ctx, 1, 10, "NOPE", 1); !errors.Is(err, apierr.KeyNotFound) {
		t.Errorf("extend unknown: %v, want KeyNotFound", err)
	}
}

func TestKeysByIDAndGlobalID(t *testing.T) {
	ctx := context.Background()
	r := newKeyRig(t)
	var batch []keys.Record
	for i := 1; i <= 120; i++ {
		batch = append(batch, keys.Record{AccountID: 1, ProductID: 10, ID: int64(i), GlobalID: int64(1000 + i), Key: fmt.Sprintf("L%04d", i)})
	}
	batch = append(batch, keys.Record{AccountID: 1, ProductID: 11, ID: 1, GlobalID: 5000, Key: "OTHER"})
	if err := r.st.CreateKeys(ctx, batch); err != nil {
		t.Fatal(err)
	}
	list, err := r.st.KeysByID(ctx, 10, 1, false, 200)
	if err != nil || len(list) != 120 {
		t.Fatalf("KeysByID = %d keys, %v; want 120", len(list), err)
	}
	for i, k := range list {
		if want := fmt.Sprintf("L%04d", i+1); k != want {
			t.Fatalf("key %d is %s, want %s (id order)", i, k, want)
		}
	}
	if desc, err := r.st.KeysByID(ctx, 10, 50, true, 3); err != nil || fmt.Sprint(desc) != "[L0050 L0049 L0048]" {
		t.Errorf("KeysByID from 50 descending = %v, %v", desc, err)
	}
	got, err := r.st.KeyByGlobalID(ctx, 1050)
	if err != nil || got.Key != "L0050" {
		t.Errorf("KeyByGlobalID(1050) = %s, %v", got.Key, err)
	}
	if _, err := r.st.KeyByGlobalID(ctx, 99); !errors.Is(err, apierr.NotFound) {
		t.Errorf("unknown global id: %v, want NotFound", err)
	}
}

// TestExtendSetsPeriod: ExtendLicense sets Period to the whole days from
// the moment of the call to the new expiry (truncated toward zero), as the
// reference service does, in the same conditional write as the expiry.
func TestExtendSetsPeriod(t *testing.T) {
	ctx := context.Background()
	const day = 24 * time.Hour
	tests := []struct {
		name        string
		after       time.Duration // from creation (Period 30) to the call
		days        int64
		wantExpires time.Duration // from creation
		wantPeriod  int64
	}{
		{"a few seconds later: p+d-1", 5 * time.Second, 10, 40 * day, 39},
		{"in the second of creation", 300 * time.Millisecond, 10, 40 * day, 39},
		{"at the moment of creation", 0, 10, 40 * day, 40},
		{"after expiry: from now", 100 * day, 5, 105 * day, 5},
		{"shortened", 5 * time.Second, -20, 10 * day, 9},
		{"shortened into the past", 5 * time.Second, -40, -10 * day, -10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newKeyRig(t)
			created := r.create(t, "EXT", nil)
			r.clock.Advance(tt.after)
			got, err := r.svc.Extend(ctx, 1, 10, "EXT", tt.days)
			if err != nil {
				t.Fatal(err)
			}
			stored, err := r.st.GetKey(ctx, 10, "EXT", true)
			if err != nil {
				t.Fatal(err)
			}
			for what, rec := range map[string]keys.Record{"returned": got, "stored": stored} {
				if rec.Period != tt.wantPeriod || !rec.Expires.Equal(created.Created.Add(tt.wantExpires)) {
					t.Errorf("%s: period %d, expires %v; want %d, %v", what, rec.Period, rec.Expires, tt.wantPeriod, created.Created.Add(tt.wantExpires))
				}
			}
		})
	}

	// The Period goes with the expiry's condition: a write against a
	// stale expiry changes neither.
	r := newKeyRig(t)
	rec := r.create(t, "EXT", nil)
	stale, exp, period := rec.Expires.Add(-time.Hour), rec.Expires.Add(day), int64(99)
	_, err := r.st.Update(ctx, 1, 10, "EXT", keys.Change{Expires: &exp, Period: &period, KeyID: rec.ID, IfExpires: &stale})
	if !errors.Is(err, apierr.Conflict) {
		t.Fatalf("update against a stale expiry: %v, want Conflict", err)
	}
	if got, _ := r.st.GetKey(ctx, 10, "EXT", true); got.Period != 30 || !got.Expires.Equal(rec.Expires) {
		t.Errorf("after the refused update: period %d, expires %v; want 30, %v", got.Period, got.Expires, rec.Expires)
	}
}

// TestEditRecord: keys remember their license type, whether the client
// created them, and who last edited them when; every vendor edit
// (Change, Extend) moves the record, activations and edits without an
// editor do not name one.
func TestEditRecord(t *testing.T) {
	ctx := context.Background()
	r := newKeyRig(t)
	seq := 0
	r.svc.WithKeyGenerator(func() (string, error) { seq++; return fmt.Sprintf("E%03d", seq), nil })
	created := r.clock.Now()
	recs, err := r.svc.Create(ctx, 1, 10, keys.Spec{Period: 5, LicenseType: "purchased", CreatedBy: "tok1", MaxNoOfMachines: 2, OrderRef: "B1"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	k := recs[0].Key
	check := func(what string, wantType string, wantAuto bool, wantEdited time.Time, wantBy string) {
		t.Helper()
		got, err := r.st.GetKey(ctx, 10, k, true)
		if err != nil {
			t.Fatal(err)
		}
		if got.LicenseType != wantType || got.AutoCollected != wantAuto || !got.Edited.Equal(wantEdited) || got.EditedBy != wantBy ||
			got.OrderRef != map[bool]string{false: "B1", true: ""}[wantAuto] {
			t.Errorf("%s: type %q auto %v edited %v by %q; want %q %v %v %q", what, got.LicenseType, got.AutoCollected,
				got.Edited, got.EditedBy, wantType, wantAuto, wantEdited, wantBy)
		}
	}
	check("created", "purchased", false, created, "tok1")

	r.clock.Advance(time.Hour)
	if _, err := r.svc.Activate(ctx, keys.ActivateInput{AccountID: 1, ProductID: 10, Key: k, MachineCode: "m1"}); err != nil {
		t.Fatal(err)
	}
	check("after an activation", "purchased", false, created, "tok1")

	notes := "edited"
	np := &notes
	if _, err := r.svc.Change(ctx, 1, 10, k, keys.Change{Notes: &np, EditedBy: "tok2"}); err != nil {
		t.Fatal(err)
	}
	check("after ChangeNotes", "purchased", false, created.Add(time.Hour), "tok2")

	r.clock.Advance(time.Hour)
	if _, err := r.svc.ExtendAs(ctx, 1, 10, k, 3, "tok3"); err != nil {
		t.Fatal(err)
	}
	check("after ExtendLicense", "purchased", false, created.Add(2*time.Hour), "tok3")

	r.clock.Advance(time.Hour)
	if _, err := r.svc.Extend(ctx, 1, 10, k, 3); err != nil {
		t.Fatal(err)
	}
	check("after an edit without an editor", "purchased", false, created.Add(3*time.Hour), "")

	if _, err := r.svc.Create(ctx, 1, 10, keys.Spec{LicenseType: "Not Valid"}, 1); !errors.Is(err, keys.BadLicenseType) {
		t.Errorf("license type with spaces: %v, want BadLicenseType", err)
	}

	// A trial key is the client's: auto-collected, evaluation, no editor.
	trial, err := r.svc.CreateTrial(ctx, keys.TrialInput{AccountID: 1, Product: catalog.Product{ID: 10, AccountID: 1}, MachineCode: "tm", Days: 3})
	if err != nil {
		t.Fatal(err)
	}
	k = trial.Key
	check("trial", keys.TrialLicenseType, true, time.Time{}, "")
}
