package payments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
)

// SubscriptionLink ties a license key to the Stripe subscription item its
// usage is billed to, with what a usage report needs, resolved when the
// link is made: the subscription's customer and the billing meter of the
// item's price (its event name and payload keys).
type SubscriptionLink struct {
	AccountID      int64
	ProductID      int64
	Key            string
	ItemID         string
	SubscriptionID string
	CustomerID     string
	MeterID        string
	EventName      string
	CustomerKey    string
	ValueKey       string
	Created        time.Time
}

// LinkStore persists subscription links (one per key).
type LinkStore interface {
	// PutSubscriptionLink stores (replaces) the link of l's key.
	PutSubscriptionLink(ctx context.Context, l SubscriptionLink) error
	// GetSubscriptionLink returns the key's link or apierr.NotFound.
	GetSubscriptionLink(ctx context.Context, productID int64, key string) (SubscriptionLink, error)
	// DeleteSubscriptionLink removes the key's link (no error without one).
	DeleteSubscriptionLink(ctx context.Context, productID int64, key string) error
}

// Metering reports the usage of keys to Stripe's metered billing
// (subscription/RecordUsage). Safe for concurrent use.
//
// The reference creates a usage record on the key's subscription item
// with action "increment". Stripe replaced usage records with billing
// meters (API version 2025-03-31.basil removed them), so a usage record
// of quantity Amount on item si is now one meter event: event_name = the
// event name of the meter on si's price, payload[customer key] = the
// customer of si's subscription, payload[value key] = Amount, identifier
// = the request's idempotency key, timestamp = now. A meter that sums its
// events' values (formula "sum", the only kind Link accepts) adds Amount
// to the period's usage: the increment of the reference.
type Metering struct {
	links    LinkStore
	settings *Settings
	proc     Processor
	now      func() time.Time
}

// NewMetering returns the metered-billing service.
func NewMetering(links LinkStore, settings *Settings, proc Processor, now func() time.Time) *Metering {
	return &Metering{links: links, settings: settings, proc: proc, now: now}
}

// Link errors (admin API; Keyturn's own).
var (
	errItemID       = apierr.New("subscriptionItemId must be a Stripe subscription item id (si_...).")
	errMeterNotSum  = apierr.New("The subscription item's price is not billed by a billing meter that sums its events (formula sum).")
	errMeterOff     = apierr.New("The billing meter of the subscription item is not active.")
	errStripeRefuse = apierr.New("Stripe refused the account's secret key.")
)

// MaxUsage bounds one RecordUsage amount.
const MaxUsage = 1_000_000_000_000

// Link resolves the Stripe subscription item itemID (its subscription's
// customer, its price's meter) with the account's key and records it as
// the key's subscription item. Errors: apierr.NoPaymentProcessor,
// apierr.SubscriptionItemNotFound, errItemID, errMeterNotSum,
// errMeterOff, errStripeRefuse, processor and store faults.
func (m *Metering) Link(ctx context.Context, accountID, productID int64, key, itemID string) (SubscriptionLink, error) {
	itemID = strings.TrimSpace(itemID)
	if !validKey(itemID, "si_") || len(itemID) > 100 {
		return SubscriptionLink{}, errItemID
	}
	k, err := m.settings.Keys(ctx, accountID)
	if errors.Is(err, ErrNotConfigured) {
		return SubscriptionLink{}, apierr.NoPaymentProcessor
	}
	if err != nil {
		return SubscriptionLink{}, err
	}
	it, err := m.proc.SubscriptionItem(ctx, k.SecretKey, itemID)
	switch {
	case errors.Is(err, ErrProcessorNotFound):
		return SubscriptionLink{}, apierr.SubscriptionItemNotFound
	case errors.Is(err, ErrProcessorAuth):
		return SubscriptionLink{}, errStripeRefuse
	case err != nil:
		return SubscriptionLink{}, err
	case it.MeterID == "" || !it.Sum:
		return SubscriptionLink{}, errMeterNotSum
	case !it.Active:
		return SubscriptionLink{}, errMeterOff
	}
	l := SubscriptionLink{AccountID: accountID, ProductID: productID, Key: key, ItemID: it.ID, SubscriptionID: it.SubscriptionID,
		CustomerID: it.CustomerID, MeterID: it.MeterID, EventName: it.EventName, CustomerKey: it.CustomerKey,
		ValueKey: it.ValueKey, Created: m.now().UTC().Truncate(time.Second)}
	return l, m.links.PutSubscriptionLink(ctx, l)
}

// LinkOf returns the key's link: apierr.SubscriptionItemNotFound when it
// has none (or another account's).
func (m *Metering) LinkOf(ctx context.Context, accountID, productID int64, key string) (SubscriptionLink, error) {
	l, err := m.links.GetSubscriptionLink(ctx, productID, key)
	if errors.Is(err, apierr.NotFound) || err == nil && l.AccountID != accountID {
		return SubscriptionLink{}, apierr.SubscriptionItemNotFound
	}
	return l, err
}

// Unlink removes the key's link.
func (m *Metering) Unlink(ctx context.Context, accountID, productID int64, key string) error {
	if _, err := m.LinkOf(ctx, accountID, productID, key); err != nil {
		return err
	}
	return m.links.DeleteSubscriptionLink(ctx, productID, key)
}

// RecordUsage adds amount to the usage of the key's subscription item:
// one meter event (see Metering), sent with an idempotency key derived
// from the account, the key and requestID, which is also the event's
// identifier, so a request retried by the client library or the network
// is counted once. The caller has checked that the key exists. Errors:
// apierr.NoPaymentProcessor (no Stripe key), apierr.SubscriptionItemNotFound
// (the key has no subscription item, or Stripe does not know its meter or
// customer), apierr.UsageNotIncremented (Stripe refused or failed; the
// cause is kept for logs).
func (m *Metering) RecordUsage(ctx context.Context, accountID, productID int64, key string, amount int64, requestID string) error {
	if amount < 0 || amount > MaxUsage {
		return apierr.BadInput
	}
	k, err := m.settings.Keys(ctx, accountID)
	if errors.Is(err, ErrNotConfigured) {
		return apierr.NoPaymentProcessor
	}
	if err != nil {
		return err
	}
	l, err := m.LinkOf(ctx, accountID, productID, key)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(strconv.FormatInt(accountID, 10) + "\x00" + strconv.FormatInt(productID, 10) + "\x00" + key + "\x00" + requestID))
	id := "keyturn-usage-" + hex.EncodeToString(sum[:16])
	err = m.proc.RecordMeterEvent(ctx, k.SecretKey, MeterEvent{IdempotencyKey: id, EventName: l.EventName,
		Payload:   map[string]string{l.CustomerKey: l.CustomerID, l.ValueKey: strconv.FormatInt(amount, 10)},
		Timestamp: m.now()})
	switch {
	case errors.Is(err, ErrProcessorNotFound):
		return apierr.SubscriptionItemNotFound.Wrap(err)
	case err != nil:
		return apierr.UsageNotIncremented.Wrap(err)
	}
	return nil
}
