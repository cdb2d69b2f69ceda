package stripepay_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/payments"
	"github.com/keyturn/keyturn/shared/stripefake"
	"github.com/keyturn/keyturn/shared/stripepay"
)

func client(f *stripefake.Server) *stripepay.Client {
	return stripepay.New(stripepay.Config{URL: f.URL, MaxNetworkRetries: 0})
}

func checkoutRequest(key string) payments.CheckoutRequest {
	return payments.CheckoutRequest{IdempotencyKey: key, Amount: 1250, Currency: "usd", ProductName: "Pro licence",
		SuccessURL: "https://vendor.example/ok", CancelURL: "https://vendor.example/cancel", ClientReference: "ref-1",
		Metadata: map[string]string{"keyturn_account": "7", "keyturn_session": "ref-1"}, ExpiresAt: time.Now().Add(time.Hour)}
}

// TestCreateCheckout: stripe-go's request reaches the fake with the
// parameters Keyturn sets and the idempotency key; a retry with the same
// key returns the same checkout, the same key with other parameters is
// refused, and a wrong secret key is ErrProcessorAuth.
func TestCreateCheckout(t *testing.T) {
	ctx := context.Background()
	f := stripefake.New(t)
	c := client(f)
	first, err := c.CreateCheckout(ctx, f.SecretKey, checkoutRequest("idem-1"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first.ID, "cs_") || !strings.HasPrefix(first.URL, f.URL+"/checkout/") {
		t.Fatalf("checkout = %+v", first)
	}
	obj, _ := f.Checkout(first.ID)
	if obj["amount_total"] != float64(1250) || obj["currency"] != "usd" || obj["client_reference_id"] != "ref-1" ||
		obj["metadata"].(map[string]any)["keyturn_account"] != "7" {
		t.Errorf("checkout stored as %v", obj)
	}
	reqs := f.Requests()
	if got := reqs[0]; got.IdempotencyKey != "idem-1" || got.StripeVersion == "" || got.Form.Get("mode") != "payment" ||
		got.Form.Get("line_items[0][price_data][product_data][name]") != "Pro licence" || got.Form.Get("line_items[0][quantity]") != "1" {
		t.Errorf("request = %+v", got)
	}
	again, err := c.CreateCheckout(ctx, f.SecretKey, checkoutRequest("idem-1"))
	if err != nil || again != first {
		t.Errorf("retry with the same key = %+v, %v; want %+v", again, err, first)
	}
	if n := len(f.CheckoutIDs()); n != 1 {
		t.Errorf("%d checkouts after a retry, want 1", n)
	}
	other := checkoutRequest("idem-1")
	other.Amount = 999
	if _, err := c.CreateCheckout(ctx, f.SecretKey, other); err == nil || !strings.Contains(err.Error(), "idempotency_error") {
		t.Errorf("same key, other amount: err = %v, want an idempotency error", err)
	}
	if _, err := c.CreateCheckout(ctx, "sk_test_wrong0000000", checkoutRequest("idem-2")); !errors.Is(err, payments.ErrProcessorAuth) {
		t.Errorf("wrong key: err = %v, want ErrProcessorAuth", err)
	} else if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the error shows the key: %v", err)
	}
}

// TestVerifyEvent: a delivery signed with the webhook secret verifies and
// parses; another secret, a changed body, and a timestamp more than the
// tolerance in the past or the future are ErrBadSignature.
func TestVerifyEvent(t *testing.T) {
	ctx := context.Background()
	f := stripefake.New(t)
	c := client(f)
	co, err := c.CreateCheckout(ctx, f.SecretKey, checkoutRequest("k"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Pay(co.ID, stripefake.Buyer{Email: "ada@example.com", Name: "Ada"}); err != nil {
		t.Fatal(err)
	}
	d := f.Deliveries()[0] // no endpoint: recorded, not delivered
	now := time.Now()
	ev, err := c.VerifyEvent(d.Payload, d.Header, f.WebhookSecret, now, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	cs := ev.Checkout
	if ev.Type != payments.EventCheckoutCompleted || !strings.HasPrefix(ev.ID, "evt_") || cs == nil || cs.ID != co.ID ||
		cs.PaymentStatus != payments.PaymentPaid || cs.AmountTotal != 1250 || cs.Currency != "usd" || cs.Email != "ada@example.com" ||
		cs.Name != "Ada" || cs.ClientReference != "ref-1" || cs.Metadata["keyturn_session"] != "ref-1" || !strings.HasPrefix(cs.PaymentIntent, "pi_") {
		t.Errorf("event = %+v, checkout %+v", ev, cs)
	}
	tampered := []byte(strings.Replace(string(d.Payload), `"amount_total":1250`, `"amount_total":1`, 1))
	cases := map[string]struct {
		payload []byte
		header  string
		secret  string
		now     time.Time
	}{
		"other secret":    {d.Payload, d.Header, "whsec_other", now},
		"changed body":    {tampered, d.Header, f.WebhookSecret, now},
		"too old":         {d.Payload, f.Sign(d.Payload, now.Add(-6*time.Minute)), f.WebhookSecret, now},
		"from the future": {d.Payload, f.Sign(d.Payload, now.Add(6*time.Minute)), f.WebhookSecret, now},
		"no header":       {d.Payload, "", f.WebhookSecret, now},
	}
	for name, tc := range cases {
		if _, err := c.VerifyEvent(tc.payload, tc.header, tc.secret, tc.now, 5*time.Minute); !errors.Is(err, payments.ErrBadSignature) {
			t.Errorf("%s: err = %v, want ErrBadSignature", name, err)
		}
	}
	// Within the tolerance an old signature still verifies (the injected
	// clock decides, not the wall clock).
	old := now.Add(-time.Hour)
	if _, err := c.VerifyEvent(d.Payload, f.Sign(d.Payload, old), f.WebhookSecret, old.Add(4*time.Minute), 5*time.Minute); err != nil {
		t.Errorf("signed an hour ago, checked as 4 minutes later: %v", err)
	}
}

// TestMetering: a metered subscription item resolves to its customer and
// meter; a meter event reaches the meter with the idempotency key as
// identifier and is applied once when retried; unknown objects are
// ErrProcessorNotFound; a server error is another error.
func TestMetering(t *testing.T) {
	ctx := context.Background()
	f := stripefake.New(t)
	c := client(f)
	itemID, customer := f.AddMeteredItem("api_calls")
	it, err := c.SubscriptionItem(ctx, f.SecretKey, itemID)
	if err != nil {
		t.Fatal(err)
	}
	if it.ID != itemID || it.CustomerID != customer || it.EventName != "api_calls" || it.CustomerKey != "stripe_customer_id" ||
		it.ValueKey != "value" || !it.Sum || !it.Active || !strings.HasPrefix(it.SubscriptionID, "sub_") || !strings.HasPrefix(it.MeterID, "mtr_") {
		t.Errorf("item = %+v", it)
	}
	if _, err := c.SubscriptionItem(ctx, f.SecretKey, "si_missing"); !errors.Is(err, payments.ErrProcessorNotFound) {
		t.Errorf("unknown item: err = %v, want ErrProcessorNotFound", err)
	}
	e := payments.MeterEvent{IdempotencyKey: "usage-1", EventName: "api_calls", Timestamp: time.Now(),
		Payload: map[string]string{"stripe_customer_id": customer, "value": "5"}}
	for range 2 {
		if err := c.RecordMeterEvent(ctx, f.SecretKey, e); err != nil {
			t.Fatal(err)
		}
	}
	events := f.MeterEvents()
	if len(events) != 1 || events[0].Identifier != "usage-1" || events[0].Payload["value"] != "5" {
		t.Errorf("meter events = %+v, want one of value 5", events)
	}
	if n := f.Calls(stripefake.OpCreateMeterEvent); n != 2 {
		t.Errorf("meter event requests = %d, want 2 (the second a replay)", n)
	}
	// A meter that counts instead of summing, or is inactive, shows as
	// such (Link refuses both).
	f.UpdateMeter(itemID, func(m *stripefake.Meter) { m.Formula, m.Active = "count", false })
	if it, err := c.SubscriptionItem(ctx, f.SecretKey, itemID); err != nil || it.Sum || it.Active {
		t.Errorf("count meter, inactive: item = %+v, %v", it, err)
	}
	f.UpdateMeter(itemID, func(m *stripefake.Meter) { m.Formula, m.Active = "sum", true })
	unknown := e
	unknown.IdempotencyKey, unknown.Payload = "usage-2", map[string]string{"stripe_customer_id": "cus_gone", "value": "1"}
	if err := c.RecordMeterEvent(ctx, f.SecretKey, unknown); !errors.Is(err, payments.ErrProcessorNotFound) {
		t.Errorf("unknown customer: err = %v, want ErrProcessorNotFound", err)
	}
	f.FailNext(stripefake.OpCreateMeterEvent, http.StatusInternalServerError, "api_error", "", "boom")
	e.IdempotencyKey = "usage-3"
	if err := c.RecordMeterEvent(ctx, f.SecretKey, e); err == nil || errors.Is(err, payments.ErrProcessorNotFound) {
		t.Errorf("server error: err = %v", err)
	}
}
