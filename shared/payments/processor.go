package payments

import (
	"context"
	"errors"
	"time"
)

// Processor is the payment processor (Stripe) as payments uses it. The
// implementation is package stripepay (the official stripe-go client);
// every call takes the account's secret key, as each vendor has its own
// Stripe account.
type Processor interface {
	// CreateCheckout starts a hosted checkout for one line item. Requests
	// with the same IdempotencyKey and parameters return the same
	// checkout (the processor's idempotency, for 24 hours).
	CreateCheckout(ctx context.Context, secretKey string, r CheckoutRequest) (Checkout, error)
	// VerifyEvent authenticates a webhook delivery: the signature header
	// must carry an HMAC of the payload under webhookSecret with a
	// timestamp within tolerance of now. It returns ErrBadSignature when
	// it does not, and the parsed event otherwise.
	VerifyEvent(payload []byte, signatureHeader, webhookSecret string, now time.Time, tolerance time.Duration) (Event, error)
	// SubscriptionItem resolves a subscription item to what a usage
	// record needs (its subscription's customer and its price's billing
	// meter). ErrProcessorNotFound when the item, its subscription or
	// its meter does not exist.
	SubscriptionItem(ctx context.Context, secretKey, itemID string) (SubscriptionItem, error)
	// RecordMeterEvent reports usage to a billing meter. Requests with the
	// same IdempotencyKey are applied once. ErrProcessorNotFound when the
	// processor does not know the meter or customer.
	RecordMeterEvent(ctx context.Context, secretKey string, e MeterEvent) error
}

// Errors a Processor returns (wrapped with the processor's own details).
var (
	// ErrBadSignature: a webhook delivery is not signed with the
	// account's webhook secret, or its timestamp is outside the tolerance.
	ErrBadSignature = errors.New("payments: webhook signature invalid or too old")
	// ErrProcessorNotFound: the processor answered that the named object
	// does not exist.
	ErrProcessorNotFound = errors.New("payments: not found at the payment processor")
	// ErrProcessorAuth: the processor refused the secret key.
	ErrProcessorAuth = errors.New("payments: the payment processor refused the secret key")
)

// CheckoutRequest is one hosted checkout of a single item.
type CheckoutRequest struct {
	// IdempotencyKey makes retries of the same request safe.
	IdempotencyKey string
	// Amount is the price in minor units of Currency (quantity 1).
	Amount   int64
	Currency string
	// ProductName is the line item's name.
	ProductName string
	// SuccessURL and CancelURL are where the processor sends the buyer.
	SuccessURL, CancelURL string
	// ClientReference identifies the session (Session.Hash) in events.
	ClientReference string
	// Metadata is stored with the checkout and echoed in its events.
	Metadata map[string]string
	// ExpiresAt is when the checkout stops accepting payment.
	ExpiresAt time.Time
}

// Checkout is a started hosted checkout.
type Checkout struct {
	ID  string
	URL string
}

// Event types payments acts on (Stripe's names).
const (
	EventCheckoutCompleted     = "checkout.session.completed"
	EventAsyncPaymentSucceeded = "checkout.session.async_payment_succeeded"
	EventAsyncPaymentFailed    = "checkout.session.async_payment_failed"
	EventCheckoutExpired       = "checkout.session.expired"
)

// Payment statuses of a checkout (Stripe's names).
const (
	PaymentPaid              = "paid"
	PaymentNoPaymentRequired = "no_payment_required"
)

// Event is a verified webhook event.
type Event struct {
	ID   string
	Type string
	// Checkout is the checkout of checkout.session.* events (nil for
	// other types).
	Checkout *CheckoutState
}

// CheckoutState is a checkout as an event reports it.
type CheckoutState struct {
	ID              string
	ClientReference string
	Metadata        map[string]string
	PaymentStatus   string
	AmountTotal     int64
	Currency        string
	// Email and Name are the buyer's, as entered at checkout.
	Email, Name   string
	PaymentIntent string
}

// SubscriptionItem is a subscription item resolved for usage records.
type SubscriptionItem struct {
	ID             string
	SubscriptionID string
	CustomerID     string
	MeterID        string
	// EventName is the meter's event name; CustomerKey and ValueKey are
	// the payload keys its events carry the customer and value under.
	EventName   string
	CustomerKey string
	ValueKey    string
	// Sum is true when the meter adds its events' values up (the
	// "increment" of usage records).
	Sum bool
	// Active is true when the meter accepts events.
	Active bool
}

// MeterEvent is one usage report to a billing meter.
type MeterEvent struct {
	// IdempotencyKey is sent as the request's idempotency key and as the
	// event's identifier (the meter ignores a repeated identifier).
	IdempotencyKey string
	EventName      string
	// Payload carries the customer and the value under the meter's keys.
	Payload   map[string]string
	Timestamp time.Time
}
