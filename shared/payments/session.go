package payments

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
)

// Status is where a payment session (an order) is.
type Status string

// Session states. A session moves open -> checkout (the buyer started
// paying; once) -> completing (a verified payment claimed the order) ->
// completed (the form's actions ran), or checkout -> cancelled (the
// checkout expired or its payment failed).
const (
	StatusOpen       Status = "open"
	StatusCheckout   Status = "checkout"
	StatusCompleting Status = "completing"
	StatusCompleted  Status = "completed"
	StatusCancelled  Status = "cancelled"
)

// Session is one payment session of a form, and the order it becomes.
// Its id (the CreateSession answer) is base64 of ["<form id>","<secret>"];
// only the secret's SHA-256 (Hash) is stored.
type Session struct {
	// Hash is the hex SHA-256 of the session secret: its key and the
	// order id.
	Hash      string
	AccountID int64
	FormID    int64
	// ProductID is the form's product (0: none).
	ProductID int64
	// Amount is the price in minor units of Currency.
	Amount      int64
	Currency    string
	Heading     string
	ProductName string
	CustomField string
	Metadata    string
	Created     time.Time
	// Expires ends the time in which the buyer may start paying; a
	// checkout started before it may still complete after it.
	Expires time.Time
	Status  Status

	// DiscountCode and Discount (minor units) are the code applied when
	// the checkout started; Charged = Amount - Discount.
	DiscountCode string
	Discount     int64
	Charged      int64
	// Attempt counts started checkouts (it names the processor request's
	// idempotency key); CheckoutStarted is when the last one started.
	Attempt         int64
	CheckoutStarted time.Time
	CheckoutID      string
	CheckoutURL     string

	// LeaseUntil bounds a completion in progress: another delivery of the
	// payment may take the order over after it.
	LeaseUntil time.Time
	// Key is the key string reserved for the order (created once, under
	// this string), KeyID its id once created.
	Key        string
	KeyID      int64
	CustomerID int64
	// BuyerEmail and BuyerName are as the buyer entered them at checkout.
	BuyerEmail    string
	BuyerName     string
	PaymentIntent string
	Completed     time.Time
	// Notified is true once the form's webhook accepted the order.
	Notified bool
}

// Claim is what a verified payment records when it claims an order.
type Claim struct {
	Now        time.Time
	LeaseUntil time.Time
	// Key is a fresh key string, kept only if the order has none yet.
	Key           string
	BuyerEmail    string
	BuyerName     string
	PaymentIntent string
}

// SessionStore persists sessions and the processor's events. Every state
// change is one conditional write (or one transaction), so concurrent
// requests and duplicate deliveries move a session at most once.
type SessionStore interface {
	// CreateSession stores a new session (its TTL: keep).
	CreateSession(ctx context.Context, s Session, keep time.Time) error
	// GetSession reads a session (consistently) or apierr.NotFound.
	GetSession(ctx context.Context, hash string) (Session, error)
	// BeginCheckout moves s from open to checkout if it is open and not
	// expired at now, setting Attempt to s.Attempt+1, CheckoutStarted to
	// now and s's discount fields; with s.DiscountCode it redeems the
	// code in the same transaction. ErrSessionState when the session was
	// not open (or expired); ErrDiscountUnavailable or apierr.NotFound
	// for the code.
	BeginCheckout(ctx context.Context, s Session, now time.Time) error
	// SetCheckout records the checkout of attempt: ErrSessionState when
	// the session is no longer in checkout at that attempt.
	SetCheckout(ctx context.Context, hash string, attempt int64, c Checkout) error
	// AbortCheckout moves s back to open (and gives its discount
	// redemption back) when it is in checkout at s.Attempt without a
	// checkout recorded: ErrSessionState otherwise.
	AbortCheckout(ctx context.Context, s Session) error
	// ClaimCompletion moves the session whose checkout is checkoutID to
	// completing, if it is in checkout, or completing with a lease ended
	// before c.Now; it keeps a key string already reserved. It returns
	// the session after the write, or ErrSessionState.
	ClaimCompletion(ctx context.Context, hash, checkoutID string, c Claim) (Session, error)
	// SetOrderCustomer records the order's customer while it completes.
	SetOrderCustomer(ctx context.Context, hash string, customerID int64) error
	// FinishCompletion moves a completing session to completed with its
	// key id and customer (TTL: keep): ErrSessionState otherwise.
	FinishCompletion(ctx context.Context, hash string, keyID, customerID int64, at, keep time.Time) (Session, error)
	// MarkNotified records that the form's webhook took the order.
	MarkNotified(ctx context.Context, hash string) error
	// CancelCheckout moves the session whose checkout is checkoutID from
	// checkout to cancelled and gives its discount redemption back, in
	// one transaction (TTL: keep): ErrSessionState otherwise.
	CancelCheckout(ctx context.Context, s Session, checkoutID string, keep time.Time) error
	// RecordEvent records a processor event id (conditional write) unless
	// it was recorded and marked done; duplicate is true then.
	RecordEvent(ctx context.Context, accountID int64, eventID, eventType string, now, keep time.Time) (duplicate bool, err error)
	// EventDone marks a recorded event as fully handled.
	EventDone(ctx context.Context, accountID int64, eventID string) error
}

// ErrSessionState: a session was not in the state a transition needs.
var ErrSessionState = errors.New("payments: session not in the expected state")

// Limits of sessions.
const (
	// MaxSessionSeconds bounds CreateSession's Expires (31 days).
	MaxSessionSeconds = 31 * 24 * 3600
	// sessionSecretBytes is the session secret's entropy (30 bytes: 40
	// base64 characters, as in the reference's example).
	sessionSecretBytes = 30
)

// SessionInput is CreateSession's parameters, bound but not yet checked.
type SessionInput struct {
	// Price is the decimal price; "" or "0" take the form's price.
	Price    string
	Currency string
	// Heading and ProductName replace the form's when given.
	Heading, ProductName *string
	CustomField          string
	Metadata             string
	// Expires is the session's lifetime in seconds (1..MaxSessionSeconds).
	Expires int64
}

// ValidateSession checks in against the reference's limits, before the
// form is read: apierr.BadInput (lengths, lifetime, malformed price),
// apierr.PaymentCurrency (unknown currency).
func ValidateSession(in SessionInput) error {
	if strings.TrimSpace(in.Currency) == "" {
		return apierr.BadInput
	}
	cur, ok := Currency(in.Currency)
	if !ok {
		return apierr.PaymentCurrency
	}
	if p := strings.TrimSpace(in.Price); p != "" && p != "0" {
		if _, ok := ParseAmount(p, cur); !ok {
			return apierr.BadInput
		}
	}
	if in.Heading != nil && tooLong(*in.Heading, MaxHeading) || in.ProductName != nil && tooLong(*in.ProductName, MaxProductName) ||
		tooLong(in.CustomField, MaxCustomField) || tooLong(in.Metadata, MaxMetadata) {
		return apierr.BadInput
	}
	if in.Expires < 1 || in.Expires > MaxSessionSeconds {
		return apierr.BadInput
	}
	return nil
}

// CreateSession creates a single-use session of form f for one buyer and
// returns its id. The price is in's, or the form's when in gives none (the
// currency must then be the form's). Errors: those of ValidateSession, and
// apierr.BadInput when there is no price. One PutItem.
func (s *Service) CreateSession(ctx context.Context, f Form, in SessionInput) (string, Session, error) {
	if err := ValidateSession(in); err != nil {
		return "", Session{}, err
	}
	cur, _ := Currency(in.Currency)
	amount := int64(0)
	if p := strings.TrimSpace(in.Price); p != "" && p != "0" {
		amount, _ = ParseAmount(p, cur)
	} else if f.Price > 0 && f.Currency == cur {
		amount = f.Price
	} else {
		return "", Session{}, apierr.BadInput
	}
	secret := make([]byte, sessionSecretBytes)
	if _, err := io.ReadFull(s.random, secret); err != nil {
		return "", Session{}, err
	}
	sec := base64.StdEncoding.EncodeToString(secret)
	id, err := json.Marshal([]string{itoa(f.ID), sec})
	if err != nil {
		return "", Session{}, err
	}
	now := s.now().UTC().Truncate(time.Second)
	sess := Session{Hash: hashSecret(sec), AccountID: f.AccountID, FormID: f.ID, ProductID: f.ProductID,
		Amount: amount, Currency: cur, Heading: f.Heading, ProductName: f.ProductName,
		CustomField: in.CustomField, Metadata: in.Metadata, Created: now,
		Expires: now.Add(time.Duration(in.Expires) * time.Second), Status: StatusOpen, Charged: amount}
	if in.Heading != nil {
		sess.Heading = strings.TrimSpace(*in.Heading)
	}
	if in.ProductName != nil {
		sess.ProductName = strings.TrimSpace(*in.ProductName)
	}
	if err := s.sessions.CreateSession(ctx, sess, sess.Expires.Add(orderKeep)); err != nil {
		return "", Session{}, err
	}
	return base64.StdEncoding.EncodeToString(id), sess, nil
}

// orderKeep is how long an order is kept after its session expires or it
// completes: long enough for asynchronous payment methods and the
// processor's redeliveries (days), and for the buyer's success page.
const orderKeep = 90 * 24 * time.Hour

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// ErrSessionNotFound: a session id that names no session (malformed,
// unknown, or removed after it ended).
var ErrSessionNotFound = errors.New("payments: no such payment session")

// parseSessionID returns the form id and the hash of a session id.
func parseSessionID(id string) (formID int64, hash string, ok bool) {
	id = strings.TrimSpace(id)
	if id == "" || len(id) > 200 {
		return 0, "", false
	}
	raw, err := base64.StdEncoding.DecodeString(id)
	if err != nil {
		if raw, err = base64.URLEncoding.DecodeString(id); err != nil {
			return 0, "", false
		}
	}
	var parts []string
	if err := json.Unmarshal(raw, &parts); err != nil || len(parts) != 2 || parts[1] == "" {
		return 0, "", false
	}
	formID, err = strconv.ParseInt(parts[0], 10, 64)
	if err != nil || formID <= 0 {
		return 0, "", false
	}
	return formID, hashSecret(parts[1]), true
}

// Session returns the session a session id names (one consistent read):
// ErrSessionNotFound when there is none.
func (s *Service) Session(ctx context.Context, id string) (Session, error) {
	formID, hash, ok := parseSessionID(id)
	if !ok {
		return Session{}, ErrSessionNotFound
	}
	sess, err := s.sessions.GetSession(ctx, hash)
	if errors.Is(err, apierr.NotFound) || err == nil && sess.FormID != formID {
		return Session{}, ErrSessionNotFound
	}
	return sess, err
}
