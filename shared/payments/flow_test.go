package payments_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/dynamo/stores"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/payments"
	"github.com/keyturn/keyturn/shared/schema"
	"github.com/keyturn/keyturn/shared/signing"
	"github.com/keyturn/keyturn/shared/stripefake"
	"github.com/keyturn/keyturn/shared/stripepay"
)

// clock is an injected clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// notifier records form webhook calls and fails the first fail of them.
type notifier struct {
	mu    sync.Mutex
	fail  int
	calls int
}

func (n *notifier) Notify(context.Context, string, []byte, string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls++
	if n.fail > 0 {
		n.fail--
		return errors.New("vendor down")
	}
	return nil
}

// world is a payments service on DynamoDB Local and stripefake, with one
// account (1), product (5), template and form.
type world struct {
	t      *testing.T
	svc    *payments.Service
	st     *stores.Stores
	keys   *keys.Service
	stripe *stripefake.Server
	clock  *clock
	notes  *notifier
	form   payments.Form
}

const account, product = int64(1), int64(5)

func newWorld(t *testing.T, webhookURL string) *world {
	t.Helper()
	ctx := context.Background()
	db, table := ddbtest.NewTable(t)
	st := stores.New(db, table)
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	sealer, err := signing.NewLocalWrapper(t.TempDir()+"/kek", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := stripefake.New(t)
	settings := payments.NewSettings(st.Payments, sealer, c.now, time.Minute)
	if _, err := settings.Set(ctx, account, payments.StripeKeys{SecretKey: f.SecretKey, WebhookSecret: f.WebhookSecret}); err != nil {
		t.Fatal(err)
	}
	ks := keys.NewService(st.Licenses, c.now)
	n := &notifier{}
	svc := payments.NewService(payments.Deps{Forms: st.Payments, Sessions: st.Payments, Discounts: st.Payments, Settings: settings,
		Processor: stripepay.New(stripepay.Config{URL: f.URL}), Templates: keys.NewTemplates(st.Licenses), Keys: ks,
		Customers: customers.NewService(st.Customers, st.Licenses, c.now, rand.Reader), Notifier: n, Now: c.now, Random: rand.Reader,
		NewKey: func() (string, error) { return keys.GenerateKey(rand.Reader) }})
	tpl, err := st.Licenses.CreateTemplate(ctx, keys.Template{AccountID: account, ProductID: product, Name: "t", Spec: keys.Spec{Period: 10}})
	if err != nil {
		t.Fatal(err)
	}
	form, _, err := svc.CreateForm(ctx, account, payments.FormInput{Name: "f", Price: "9.00", Currency: "usd", TemplateID: tpl.ID,
		NewCustomer: true, WebhookURL: webhookURL})
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, svc: svc, st: st, keys: ks, stripe: f, clock: c, notes: n, form: form}
}

// paid creates a session, starts its checkout and pays it; the webhook
// delivery is recorded by the fake (no endpoint), not sent.
func (w *world) paid() (string, payments.Session, stripefake.Delivery) {
	w.t.Helper()
	ctx := context.Background()
	id, sess, err := w.svc.CreateSession(ctx, w.form, payments.SessionInput{Currency: "usd", Expires: 600})
	if err != nil {
		w.t.Fatal(err)
	}
	loc, err := w.svc.StartCheckout(ctx, id, "", payments.Pages{Success: "https://s/ok?id=" + url.QueryEscape(id), Cancel: "https://s/c"})
	if err != nil {
		w.t.Fatal(err)
	}
	cs := loc[strings.LastIndex(loc, "/")+1:]
	if _, _, err := w.stripe.Pay(cs, stripefake.Buyer{Email: "grace@example.com", Name: "Grace"}); err != nil {
		w.t.Fatal(err)
	}
	ds := w.stripe.Deliveries()
	return id, sess, ds[len(ds)-1]
}

// deliver hands a delivery to the service, signed at the injected now.
func (w *world) deliver(d stripefake.Delivery) (payments.WebhookResult, error) {
	return w.svc.HandleWebhook(context.Background(), account, d.Payload, w.stripe.Sign(d.Payload, w.clock.now()))
}

// keyCount counts the product's keys (gsi2).
func (w *world) keyCount() int {
	w.t.Helper()
	items, err := w.st.Table.QueryAll(context.Background(), dynamo.Query{Index: schema.GSI2, PK: dynamo.ProductKeysGSI2PK(product)})
	if err != nil {
		w.t.Fatal(err)
	}
	return len(items)
}

// TestWebhookTakeoverCreatesOneKey: a delivery that claimed the order and
// created the key, then crashed, leaves the order completing; a
// redelivery within the lease is told to come back (ErrOrderBusy), one
// after it takes the order over and finishes it with the same key.
func TestWebhookTakeoverCreatesOneKey(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, "")
	_, sess, d := w.paid()
	cur, err := w.st.Payments.GetSession(ctx, sess.Hash)
	if err != nil {
		t.Fatal(err)
	}
	// The crashed delivery: claim, key created, nothing recorded after.
	const reserved = "CRASH-EDDEL-IVERY-KEYAA"
	now := w.clock.now()
	if _, err := w.st.Payments.ClaimCompletion(ctx, sess.Hash, cur.CheckoutID, payments.Claim{Now: now, LeaseUntil: now.Add(time.Minute), Key: reserved}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.keys.CreateOnce(ctx, account, product, keys.Spec{Period: 10}, reserved); err != nil {
		t.Fatal(err)
	}
	w.clock.add(30 * time.Second)
	if _, err := w.deliver(d); !errors.Is(err, payments.ErrOrderBusy) {
		t.Fatalf("redelivery within the lease: %v, want ErrOrderBusy", err)
	}
	w.clock.add(2 * time.Minute)
	if res, err := w.deliver(d); err != nil || res != payments.WebhookHandled {
		t.Fatalf("redelivery after the lease: %v, %v", res, err)
	}
	done, _ := w.st.Payments.GetSession(ctx, sess.Hash)
	rec, err := w.keys.Get(ctx, account, product, reserved)
	if err != nil || done.Status != payments.StatusCompleted || done.Key != reserved || done.KeyID != rec.ID {
		t.Errorf("order %+v, key %+v %v", done, rec, err)
	}
	if n := w.keyCount(); n != 1 {
		t.Errorf("%d keys, want 1", n)
	}
	if res, err := w.deliver(d); err != nil || res != payments.WebhookDuplicate {
		t.Errorf("after completion: %v, %v; want a duplicate", res, err)
	}
}

// TestRejectedPayment: a verified event whose amount is not the order's
// (or that names another checkout) completes nothing; the real payment
// then completes the order.
func TestRejectedPayment(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, "")
	_, sess, d := w.paid()
	cur, _ := w.st.Payments.GetSession(ctx, sess.Hash)
	for name, change := range map[string]func(map[string]any){
		"amount":   func(o map[string]any) { o["amount_total"] = 1 },
		"currency": func(o map[string]any) { o["currency"] = "eur" },
		"checkout": func(o map[string]any) { o["id"] = "cs_test_other" },
	} {
		forged, err := w.stripe.SendEvent("checkout.session.completed", cur.CheckoutID, change)
		if err != nil {
			t.Fatal(err)
		}
		var rej *payments.RejectedError
		if _, err := w.deliver(forged); !errors.As(err, &rej) {
			t.Errorf("%s changed: %v, want a RejectedError", name, err)
		}
	}
	if got, _ := w.st.Payments.GetSession(ctx, sess.Hash); got.Status != payments.StatusCheckout || w.keyCount() != 0 {
		t.Fatalf("after rejected events: %s with %d keys", got.Status, w.keyCount())
	}
	if res, err := w.deliver(d); err != nil || res != payments.WebhookHandled || w.keyCount() != 1 {
		t.Errorf("the real payment: %v, %v, %d keys", res, err, w.keyCount())
	}
}

// TestNotifyRetriedByRedelivery: when the form's webhook fails, the order
// is still complete (one key) and the event is not done, so Stripe's
// redelivery notifies again; once notified, nothing is sent again.
func TestNotifyRetriedByRedelivery(t *testing.T) {
	w := newWorld(t, "https://vendor.example/hook")
	w.notes.fail = 1
	_, _, d := w.paid()
	if _, err := w.deliver(d); !errors.Is(err, payments.ErrNotifyFailed) {
		t.Fatalf("first delivery: %v, want ErrNotifyFailed", err)
	}
	if res, err := w.deliver(d); err != nil || res != payments.WebhookHandled {
		t.Fatalf("redelivery: %v, %v", res, err)
	}
	if _, err := w.deliver(d); err != nil {
		t.Fatal(err)
	}
	if w.notes.calls != 2 || w.keyCount() != 1 {
		t.Errorf("%d webhook calls and %d keys, want 2 and 1", w.notes.calls, w.keyCount())
	}
}

// TestEventsThatChangeNothing: events of checkouts Keyturn did not start,
// other event types and payments still pending are acknowledged and
// change nothing; the pending payment completes on async success.
func TestEventsThatChangeNothing(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, "")
	_, sess, _ := w.paid()
	cur, _ := w.st.Payments.GetSession(ctx, sess.Hash)
	cases := map[string]struct {
		typ    string
		change func(map[string]any)
	}{
		"not ours":     {"checkout.session.completed", func(o map[string]any) { o["metadata"] = map[string]string{} }},
		"other type":   {"payment_intent.succeeded", nil},
		"still unpaid": {"checkout.session.completed", func(o map[string]any) { o["payment_status"] = "unpaid" }},
	}
	for name, tc := range cases {
		d, err := w.stripe.SendEvent(tc.typ, cur.CheckoutID, tc.change)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := w.deliver(d); err != nil || res != payments.WebhookIgnored {
			t.Errorf("%s: %v, %v; want ignored", name, res, err)
		}
	}
	if got, _ := w.st.Payments.GetSession(ctx, sess.Hash); got.Status != payments.StatusCheckout || w.keyCount() != 0 {
		t.Fatalf("after ignored events: %s, %d keys", got.Status, w.keyCount())
	}
	d, _ := w.stripe.SendEvent("checkout.session.async_payment_succeeded", cur.CheckoutID, nil)
	if res, err := w.deliver(d); err != nil || res != payments.WebhookHandled || w.keyCount() != 1 {
		t.Errorf("async success: %v, %v, %d keys", res, err, w.keyCount())
	}
}
