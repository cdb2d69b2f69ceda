package paymentstore_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/dynamo/paymentstore"
	"github.com/keyturn/keyturn/shared/payments"
)

func newStore(t *testing.T) *paymentstore.Store {
	t.Helper()
	db, table := ddbtest.NewTable(t)
	return paymentstore.New(dynamo.New(db, table))
}

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// parallel runs f n times at once and returns how many returned nil and
// the other errors.
func parallel(n int, f func(i int) error) (int, []error) {
	var mu sync.Mutex
	var ok int
	var errs []error
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := f(i)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	return ok, errs
}

// TestRedeemDiscountConcurrent: a code with 5 redemptions redeemed by 20
// buyers at once is redeemed exactly 5 times; the others get
// ErrDiscountUnavailable; an expired code is unavailable; releases give
// redemptions back but never below zero.
func TestRedeemDiscountConcurrent(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.CreateDiscount(ctx, payments.Discount{AccountID: 1, Code: "FIVE", PercentOff: 10, MaxRedemptions: 5, Created: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateDiscount(ctx, payments.Discount{AccountID: 1, Code: "FIVE", PercentOff: 20}); !errors.Is(err, apierr.Conflict) {
		t.Errorf("second FIVE: err = %v, want Conflict", err)
	}
	ok, errs := parallel(20, func(int) error {
		_, err := s.RedeemDiscount(ctx, 1, "FIVE", now)
		return err
	})
	if ok != 5 || len(errs) != 15 {
		t.Fatalf("%d redemptions succeeded and %d failed, want 5 and 15", ok, len(errs))
	}
	for _, err := range errs {
		if !errors.Is(err, payments.ErrDiscountUnavailable) {
			t.Errorf("refused redemption: %v, want ErrDiscountUnavailable", err)
		}
	}
	d, err := s.GetDiscount(ctx, 1, "FIVE")
	if err != nil || d.Redeemed != 5 || d.PercentOff != 10 {
		t.Errorf("after: %+v, %v; want 5 redeemed", d, err)
	}
	if _, err := s.GetDiscount(ctx, 2, "FIVE"); !errors.Is(err, apierr.NotFound) {
		t.Errorf("another account's FIVE: %v, want NotFound", err)
	}
	if _, err := s.RedeemDiscount(ctx, 1, "NONE", now); !errors.Is(err, apierr.NotFound) {
		t.Errorf("redeem an unknown code: %v, want NotFound", err)
	}
	for range 7 {
		if err := s.ReleaseDiscount(ctx, 1, "FIVE"); err != nil {
			t.Fatal(err)
		}
	}
	if d, _ := s.GetDiscount(ctx, 1, "FIVE"); d.Redeemed != 0 {
		t.Errorf("after 7 releases of 5: redeemed %d, want 0", d.Redeemed)
	}
	if err := s.CreateDiscount(ctx, payments.Discount{AccountID: 1, Code: "SOON", AmountOff: 100, Currency: "usd", Expires: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RedeemDiscount(ctx, 1, "SOON", now); err != nil {
		t.Errorf("before expiry: %v", err)
	}
	if _, err := s.RedeemDiscount(ctx, 1, "SOON", now.Add(time.Minute)); !errors.Is(err, payments.ErrDiscountUnavailable) {
		t.Errorf("at expiry: %v, want ErrDiscountUnavailable", err)
	}
}

func openSession(t *testing.T, s *paymentstore.Store, hash string) payments.Session {
	t.Helper()
	p := payments.Session{Hash: hash, AccountID: 1, FormID: 3, ProductID: 9, Amount: 2000, Currency: "usd", Heading: "Pro",
		Created: now, Expires: now.Add(time.Hour), Status: payments.StatusOpen, Charged: 2000}
	if err := s.CreateSession(context.Background(), p, now.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	return p
}

func hash(n int) string { return strings.Repeat("0", 63) + strconv.Itoa(n%10) }

// TestBeginCheckoutOnce: of 10 concurrent starts of one session exactly
// one moves it to checkout and redeems its code (one transaction); a
// refused code leaves the session open; an expired session cannot start.
func TestBeginCheckoutOnce(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.CreateDiscount(ctx, payments.Discount{AccountID: 1, Code: "TEN", PercentOff: 10, MaxRedemptions: 100}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateDiscount(ctx, payments.Discount{AccountID: 1, Code: "USED", PercentOff: 10, MaxRedemptions: 1, Redeemed: 1}); err != nil {
		t.Fatal(err)
	}
	p := openSession(t, s, hash(1))
	p.DiscountCode, p.Discount, p.Charged = "TEN", 200, 1800

	// Refused codes first: the session stays open and unchanged.
	for code, want := range map[string]error{"USED": payments.ErrDiscountUnavailable, "NOPE": apierr.NotFound} {
		q := p
		q.DiscountCode = code
		if err := s.BeginCheckout(ctx, q, now); !errors.Is(err, want) {
			t.Errorf("code %s: err = %v, want %v", code, err, want)
		}
		if got, _ := s.GetSession(ctx, p.Hash); got.Status != payments.StatusOpen || got.Attempt != 0 || got.DiscountCode != "" {
			t.Errorf("code %s: session became %+v", code, got)
		}
	}
	ok, errs := parallel(10, func(int) error { return s.BeginCheckout(ctx, p, now) })
	if ok != 1 {
		t.Fatalf("%d starts succeeded, want 1 (errors %v)", ok, errs)
	}
	for _, err := range errs {
		if !errors.Is(err, payments.ErrSessionState) {
			t.Errorf("refused start: %v, want ErrSessionState", err)
		}
	}
	got, err := s.GetSession(ctx, p.Hash)
	if err != nil || got.Status != payments.StatusCheckout || got.Attempt != 1 || got.DiscountCode != "TEN" || got.Charged != 1800 ||
		got.Discount != 200 || !got.CheckoutStarted.Equal(now) {
		t.Errorf("session after the start: %+v, %v", got, err)
	}
	if d, _ := s.GetDiscount(ctx, 1, "TEN"); d.Redeemed != 1 {
		t.Errorf("TEN redeemed %d times, want 1", d.Redeemed)
	}
	expired := openSession(t, s, hash(2))
	if err := s.BeginCheckout(ctx, expired, now.Add(time.Hour)); !errors.Is(err, payments.ErrSessionState) {
		t.Errorf("expired session: %v, want ErrSessionState", err)
	}

	// A failed processor call puts it back to open and gives the code
	// back; once the checkout is recorded it can no longer be aborted.
	got.Attempt = 1
	if err := s.AbortCheckout(ctx, got); err != nil {
		t.Fatal(err)
	}
	if back, _ := s.GetSession(ctx, p.Hash); back.Status != payments.StatusOpen || back.DiscountCode != "" {
		t.Errorf("after abort: %+v", back)
	}
	if d, _ := s.GetDiscount(ctx, 1, "TEN"); d.Redeemed != 0 {
		t.Errorf("after abort TEN redeemed %d, want 0", d.Redeemed)
	}
	p.Attempt = 1
	if err := s.BeginCheckout(ctx, p, now); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCheckout(ctx, p.Hash, 1, payments.Checkout{ID: "cs_old", URL: "u"}); !errors.Is(err, payments.ErrSessionState) {
		t.Errorf("SetCheckout for a superseded attempt: %v, want ErrSessionState", err)
	}
	if err := s.SetCheckout(ctx, p.Hash, 2, payments.Checkout{ID: "cs_2", URL: "https://pay/cs_2"}); err != nil {
		t.Fatal(err)
	}
	p.Attempt = 2
	if err := s.AbortCheckout(ctx, p); !errors.Is(err, payments.ErrSessionState) {
		t.Errorf("abort after the checkout is recorded: %v, want ErrSessionState", err)
	}
}

// TestClaimCompletion: concurrent claims of a paid checkout: one wins;
// a claim for another checkout id fails; after the lease a claim takes the
// order over and keeps its reserved key string; a completed order cannot
// be claimed again; cancelling gives the code back.
func TestClaimCompletion(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	p := openSession(t, s, hash(3))
	if err := s.BeginCheckout(ctx, p, now); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCheckout(ctx, p.Hash, 1, payments.Checkout{ID: "cs_1", URL: "u"}); err != nil {
		t.Fatal(err)
	}
	claim := func(key string, at time.Time) payments.Claim {
		return payments.Claim{Now: at, LeaseUntil: at.Add(time.Minute), Key: key, BuyerEmail: "ada@example.com", BuyerName: "Ada"}
	}
	if _, err := s.ClaimCompletion(ctx, p.Hash, "cs_other", claim("AAAAA-AAAAA-AAAAA-AAAAA", now)); !errors.Is(err, payments.ErrSessionState) {
		t.Errorf("claim for another checkout: %v, want ErrSessionState", err)
	}
	keys := make([]string, 8)
	won := make([]payments.Session, 8)
	ok, errs := parallel(8, func(i int) error {
		keys[i] = strings.Repeat(string(rune('A'+i)), 5) + "-BBBBB-CCCCC-DDDDD"
		var err error
		won[i], err = s.ClaimCompletion(ctx, p.Hash, "cs_1", claim(keys[i], now))
		return err
	})
	if ok != 1 {
		t.Fatalf("%d claims succeeded, want 1 (%v)", ok, errs)
	}
	var first payments.Session
	for _, w := range won {
		if w.Hash != "" {
			first = w
		}
	}
	if first.Status != payments.StatusCompleting || first.Key == "" || first.BuyerEmail != "ada@example.com" {
		t.Errorf("claimed: %+v", first)
	}
	if _, err := s.ClaimCompletion(ctx, p.Hash, "cs_1", claim("ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ", now.Add(59*time.Second))); !errors.Is(err, payments.ErrSessionState) {
		t.Errorf("claim within the lease: %v, want ErrSessionState", err)
	}
	taken, err := s.ClaimCompletion(ctx, p.Hash, "cs_1", claim("ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ", now.Add(61*time.Second)))
	if err != nil || taken.Key != first.Key {
		t.Errorf("takeover after the lease: %+v, %v; want the reserved key %s", taken, err, first.Key)
	}
	if err := s.SetOrderCustomer(ctx, p.Hash, 44); err != nil {
		t.Fatal(err)
	}
	done, err := s.FinishCompletion(ctx, p.Hash, 12, 44, now, now.Add(90*24*time.Hour))
	if err != nil || done.Status != payments.StatusCompleted || done.KeyID != 12 || done.CustomerID != 44 || !done.Completed.Equal(now) {
		t.Fatalf("finished: %+v, %v", done, err)
	}
	if _, err := s.FinishCompletion(ctx, p.Hash, 13, 44, now, now); !errors.Is(err, payments.ErrSessionState) {
		t.Errorf("second finish: %v, want ErrSessionState", err)
	}
	if _, err := s.ClaimCompletion(ctx, p.Hash, "cs_1", claim("YYYYY-YYYYY-YYYYY-YYYYY", now.Add(time.Hour))); !errors.Is(err, payments.ErrSessionState) {
		t.Errorf("claim of a completed order: %v, want ErrSessionState", err)
	}
	if err := s.MarkNotified(ctx, p.Hash); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetSession(ctx, p.Hash); !got.Notified || got.Status != payments.StatusCompleted {
		t.Errorf("after MarkNotified: %+v", got)
	}

	// Cancel: an expired checkout goes to cancelled and its code back.
	if err := s.CreateDiscount(ctx, payments.Discount{AccountID: 1, Code: "C1", PercentOff: 10}); err != nil {
		t.Fatal(err)
	}
	q := openSession(t, s, hash(4))
	q.DiscountCode, q.Discount, q.Charged = "C1", 200, 1800
	if err := s.BeginCheckout(ctx, q, now); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCheckout(ctx, q.Hash, 1, payments.Checkout{ID: "cs_q", URL: "u"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CancelCheckout(ctx, q, "cs_other", now); !errors.Is(err, payments.ErrSessionState) {
		t.Errorf("cancel of another checkout: %v", err)
	}
	if err := s.CancelCheckout(ctx, q, "cs_q", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetSession(ctx, q.Hash); got.Status != payments.StatusCancelled {
		t.Errorf("after cancel: %+v", got)
	}
	if d, _ := s.GetDiscount(ctx, 1, "C1"); d.Redeemed != 0 {
		t.Errorf("after cancel C1 redeemed %d, want 0", d.Redeemed)
	}
}

// TestRecordEvent: an event id is recorded with one conditional write; it
// counts as a duplicate only once it is done, so a delivery that failed
// midway is handled again.
func TestRecordEvent(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for i, want := range []bool{false, false} {
		dup, err := s.RecordEvent(ctx, 1, "evt_1", "checkout.session.completed", now, now.Add(time.Hour))
		if err != nil || dup != want {
			t.Errorf("record %d: dup %v, %v; want %v", i, dup, err, want)
		}
	}
	if err := s.EventDone(ctx, 1, "evt_1"); err != nil {
		t.Fatal(err)
	}
	ok, _ := parallel(5, func(int) error {
		dup, err := s.RecordEvent(ctx, 1, "evt_1", "checkout.session.completed", now, now.Add(time.Hour))
		if err == nil && !dup {
			return nil
		}
		return errors.New("duplicate")
	})
	if ok != 0 {
		t.Errorf("%d records of a done event were not duplicates", ok)
	}
	if dup, err := s.RecordEvent(ctx, 2, "evt_1", "x", now, now.Add(time.Hour)); dup || err != nil {
		t.Errorf("the same id for another account: dup %v, %v", dup, err)
	}
}

// TestForms: forms are stored with their sealed secret and listed a page
// at a time by id.
func TestForms(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for range 3 {
		id, err := s.NextFormID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		f := payments.Form{AccountID: 1, ID: id, Name: "f" + strconv.FormatInt(id, 10), Price: 999, Currency: "usd", TemplateID: 4,
			ProductID: 9, NewCustomer: true, WebhookURL: "https://v.example/h", Created: now}
		f.WebhookSecret.Ciphertext, f.WebhookSecret.WrappedDataKey = []byte{1, 2}, []byte{3}
		if _, err := s.CreateForm(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.ListForms(ctx, 1, 0, 2)
	if err != nil || len(page) != 2 {
		t.Fatalf("first page: %d forms, %v", len(page), err)
	}
	rest, err := s.ListForms(ctx, 1, page[1].ID, 2)
	if err != nil || len(rest) != 1 || rest[0].ID <= page[1].ID {
		t.Fatalf("second page: %+v, %v", rest, err)
	}
	got, err := s.GetForm(ctx, 1, page[0].ID)
	if err != nil || got.Name != page[0].Name || got.Price != 999 || !got.NewCustomer || string(got.WebhookSecret.Ciphertext) != "\x01\x02" ||
		!got.Created.Equal(now) {
		t.Errorf("GetForm = %+v, %v", got, err)
	}
	if _, err := s.GetForm(ctx, 2, page[0].ID); !errors.Is(err, apierr.NotFound) {
		t.Errorf("another account's form: %v", err)
	}
}
