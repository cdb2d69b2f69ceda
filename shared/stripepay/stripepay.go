// Package stripepay is the Stripe adapter of package payments
// (payments.Processor), built on the official client
// github.com/stripe/stripe-go/v82 (API version 2025-08-27.basil). It
// makes these calls, each with the account's own secret key:
//
//	POST /v1/checkout/sessions          start a hosted checkout (mode payment, one
//	                                    line item with price_data; Idempotency-Key)
//	GET  /v1/subscription_items/{id}    resolve a subscription item: its price's
//	                                    recurring.meter and its subscription
//	GET  /v1/subscriptions/{id}         the subscription's customer
//	GET  /v1/billing/meters/{id}        the meter's event name, payload keys,
//	                                    aggregation and status
//	POST /v1/billing/meter_events       report usage (Idempotency-Key; identifier)
//
// and verifies webhook deliveries (Stripe-Signature, HMAC-SHA256 with the
// account's webhook secret) with stripe-go's webhook package, checking the
// signed timestamp against the injected clock. Config.URL points the
// client at another server speaking the Stripe API (package stripefake in
// tests). Keys never appear in errors or logs (stripe-go's logger is
// silenced).
package stripepay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/keyturn/keyturn/shared/payments"
)

// Config configures the client.
type Config struct {
	// URL is the API base URL ("" for Stripe's, https://api.stripe.com).
	URL string
	// HTTPClient makes the requests (nil: one with Timeout).
	HTTPClient *http.Client
	// Timeout bounds one HTTP request when HTTPClient is nil (default 5 s).
	Timeout time.Duration
	// MaxNetworkRetries is how often stripe-go retries a request that
	// failed in a way known to be safe to retry (network errors, 409,
	// 5xx), with the same idempotency key.
	MaxNetworkRetries int64
}

// Client implements payments.Processor. Safe for concurrent use.
type Client struct {
	backends *stripe.Backends
}

var _ payments.Processor = (*Client)(nil)

// New returns a client for cfg.
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		t := cfg.Timeout
		if t <= 0 {
			t = 5 * time.Second
		}
		hc = &http.Client{Timeout: t}
	}
	bc := &stripe.BackendConfig{
		HTTPClient:        hc,
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
		MaxNetworkRetries: stripe.Int64(cfg.MaxNetworkRetries),
		EnableTelemetry:   stripe.Bool(false),
	}
	if cfg.URL != "" {
		bc.URL = stripe.String(strings.TrimRight(cfg.URL, "/"))
	}
	return &Client{backends: stripe.NewBackendsWithConfig(bc)}
}

func (c *Client) api(secretKey string) *stripe.Client {
	return stripe.NewClient(secretKey, stripe.WithBackends(c.backends))
}

// classify maps a Stripe error to the payments sentinels, keeping
// Stripe's type, code and message (never the key: an authentication
// error's message, which quotes part of the key, is dropped).
func classify(op string, err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("stripe %s: %w", op, err)
	}
	switch {
	case se.HTTPStatusCode == http.StatusUnauthorized || se.HTTPStatusCode == http.StatusForbidden:
		return fmt.Errorf("stripe %s: %w (status %d)", op, payments.ErrProcessorAuth, se.HTTPStatusCode)
	case se.HTTPStatusCode == http.StatusNotFound || se.Code == stripe.ErrorCodeResourceMissing:
		return fmt.Errorf("stripe %s: %w: %s", op, payments.ErrProcessorNotFound, se.Msg)
	}
	return fmt.Errorf("stripe %s: status %d, %s %s: %s", op, se.HTTPStatusCode, se.Type, se.Code, se.Msg)
}

// CreateCheckout implements payments.Processor: POST /v1/checkout/sessions.
func (c *Client) CreateCheckout(ctx context.Context, secretKey string, r payments.CheckoutRequest) (payments.Checkout, error) {
	p := &stripe.CheckoutSessionCreateParams{
		Mode: stripe.String(string(stripe.CheckoutSessionModePayment)),
		LineItems: []*stripe.CheckoutSessionCreateLineItemParams{{
			PriceData: &stripe.CheckoutSessionCreateLineItemPriceDataParams{
				Currency:    stripe.String(r.Currency),
				UnitAmount:  stripe.Int64(r.Amount),
				ProductData: &stripe.CheckoutSessionCreateLineItemPriceDataProductDataParams{Name: stripe.String(r.ProductName)},
			},
			Quantity: stripe.Int64(1),
		}},
		SuccessURL:        stripe.String(r.SuccessURL),
		CancelURL:         stripe.String(r.CancelURL),
		ClientReferenceID: stripe.String(r.ClientReference),
		Metadata:          r.Metadata,
		ExpiresAt:         stripe.Int64(r.ExpiresAt.Unix()),
	}
	p.Context = ctx
	if r.IdempotencyKey != "" {
		p.SetIdempotencyKey(r.IdempotencyKey)
	}
	s, err := c.api(secretKey).V1CheckoutSessions.Create(ctx, p)
	if err != nil {
		return payments.Checkout{}, classify("create checkout session", err)
	}
	if s.ID == "" || s.URL == "" {
		return payments.Checkout{}, errors.New("stripe create checkout session: no id or url in the answer")
	}
	return payments.Checkout{ID: s.ID, URL: s.URL}, nil
}

// VerifyEvent implements payments.Processor: stripe-go checks the
// Stripe-Signature header (v1 HMAC-SHA256 of "<t>.<payload>" under the
// webhook secret); the timestamp t must be within tolerance of now, in
// either direction.
func (c *Client) VerifyEvent(payload []byte, header, secret string, now time.Time, tolerance time.Duration) (payments.Event, error) {
	ev, err := webhook.ConstructEventWithOptions(payload, header, secret,
		webhook.ConstructEventOptions{IgnoreTolerance: true, IgnoreAPIVersionMismatch: true})
	if err != nil {
		return payments.Event{}, fmt.Errorf("%w: %v", payments.ErrBadSignature, err)
	}
	ts, ok := signedAt(header)
	if !ok {
		return payments.Event{}, fmt.Errorf("%w: no timestamp", payments.ErrBadSignature)
	}
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return payments.Event{}, fmt.Errorf("%w: signed at %s, %s from now", payments.ErrBadSignature, ts.UTC().Format(time.RFC3339), d.Round(time.Second))
	}
	out := payments.Event{ID: ev.ID, Type: string(ev.Type)}
	if strings.HasPrefix(out.Type, "checkout.session.") && ev.Data != nil {
		var cs stripe.CheckoutSession
		if err := json.Unmarshal(ev.Data.Raw, &cs); err != nil {
			return payments.Event{}, fmt.Errorf("stripe event %s: checkout session: %w", ev.ID, err)
		}
		st := &payments.CheckoutState{ID: cs.ID, ClientReference: cs.ClientReferenceID, Metadata: cs.Metadata,
			PaymentStatus: string(cs.PaymentStatus), AmountTotal: cs.AmountTotal, Currency: string(cs.Currency)}
		if d := cs.CustomerDetails; d != nil {
			st.Email, st.Name = d.Email, d.Name
		}
		if cs.PaymentIntent != nil {
			st.PaymentIntent = cs.PaymentIntent.ID
		}
		out.Checkout = st
	}
	return out, nil
}

// signedAt returns the t= timestamp of a Stripe-Signature header.
func signedAt(header string) (time.Time, bool) {
	for _, part := range strings.Split(header, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "t="); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			return time.Unix(n, 0), err == nil
		}
	}
	return time.Time{}, false
}

// SubscriptionItem implements payments.Processor: three GETs (the item,
// its subscription, its price's meter).
func (c *Client) SubscriptionItem(ctx context.Context, secretKey, itemID string) (payments.SubscriptionItem, error) {
	api := c.api(secretKey)
	it, err := api.V1SubscriptionItems.Retrieve(ctx, itemID, nil)
	if err != nil {
		return payments.SubscriptionItem{}, classify("retrieve subscription item", err)
	}
	out := payments.SubscriptionItem{ID: it.ID, SubscriptionID: it.Subscription}
	sub, err := api.V1Subscriptions.Retrieve(ctx, it.Subscription, nil)
	if err != nil {
		return payments.SubscriptionItem{}, classify("retrieve subscription", err)
	}
	if sub.Customer != nil {
		out.CustomerID = sub.Customer.ID
	}
	if it.Price == nil || it.Price.Recurring == nil || it.Price.Recurring.Meter == "" {
		return out, nil // not metered: MeterID stays empty
	}
	m, err := api.V1BillingMeters.Retrieve(ctx, it.Price.Recurring.Meter, nil)
	if err != nil {
		return payments.SubscriptionItem{}, classify("retrieve billing meter", err)
	}
	out.MeterID, out.EventName = m.ID, m.EventName
	out.CustomerKey, out.ValueKey = "stripe_customer_id", "value"
	if m.CustomerMapping != nil && m.CustomerMapping.EventPayloadKey != "" {
		out.CustomerKey = m.CustomerMapping.EventPayloadKey
	}
	if m.ValueSettings != nil && m.ValueSettings.EventPayloadKey != "" {
		out.ValueKey = m.ValueSettings.EventPayloadKey
	}
	out.Sum = m.DefaultAggregation != nil && m.DefaultAggregation.Formula == stripe.BillingMeterDefaultAggregationFormulaSum
	out.Active = m.Status == stripe.BillingMeterStatusActive
	return out, nil
}

// RecordMeterEvent implements payments.Processor: POST
// /v1/billing/meter_events with the idempotency key as the request's
// Idempotency-Key and the event's identifier.
func (c *Client) RecordMeterEvent(ctx context.Context, secretKey string, e payments.MeterEvent) error {
	p := &stripe.BillingMeterEventCreateParams{
		EventName:  stripe.String(e.EventName),
		Identifier: stripe.String(e.IdempotencyKey),
		Payload:    e.Payload,
		Timestamp:  stripe.Int64(e.Timestamp.Unix()),
	}
	p.Context = ctx
	p.SetIdempotencyKey(e.IdempotencyKey)
	if _, err := c.api(secretKey).V1BillingMeterEvents.Create(ctx, p); err != nil {
		return classify("create billing meter event", err)
	}
	return nil
}
