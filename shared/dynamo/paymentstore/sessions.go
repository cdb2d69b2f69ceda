package paymentstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/payments"
)

type sessionItem struct {
	PK              string `dynamodbav:"pk"`
	SK              string `dynamodbav:"sk"`
	AccountID       int64  `dynamodbav:"accountId"`
	FormID          int64  `dynamodbav:"formId"`
	ProductID       int64  `dynamodbav:"productId,omitempty"`
	Amount          int64  `dynamodbav:"amount"`
	Currency        string `dynamodbav:"currency"`
	Heading         string `dynamodbav:"heading,omitempty"`
	ProductName     string `dynamodbav:"productName,omitempty"`
	CustomField     string `dynamodbav:"customField,omitempty"`
	Metadata        string `dynamodbav:"metadata,omitempty"`
	Created         int64  `dynamodbav:"created"`
	Expires         int64  `dynamodbav:"expires"`
	Status          string `dynamodbav:"status"`
	DiscountCode    string `dynamodbav:"discountCode,omitempty"`
	Discount        int64  `dynamodbav:"discount,omitempty"`
	Charged         int64  `dynamodbav:"charged"`
	Attempt         int64  `dynamodbav:"attempt"`
	CheckoutStarted int64  `dynamodbav:"checkoutStarted,omitempty"`
	CheckoutID      string `dynamodbav:"checkoutId,omitempty"`
	CheckoutURL     string `dynamodbav:"checkoutUrl,omitempty"`
	LeaseUntil      int64  `dynamodbav:"leaseUntil,omitempty"`
	Key             string `dynamodbav:"key,omitempty"`
	KeyID           int64  `dynamodbav:"keyId,omitempty"`
	CustomerID      int64  `dynamodbav:"customerId,omitempty"`
	BuyerEmail      string `dynamodbav:"buyerEmail,omitempty"`
	BuyerName       string `dynamodbav:"buyerName,omitempty"`
	PaymentIntent   string `dynamodbav:"paymentIntent,omitempty"`
	Completed       int64  `dynamodbav:"completed,omitempty"`
	Notified        bool   `dynamodbav:"notified,omitempty"`
	TTL             int64  `dynamodbav:"ttl"`
}

func (it sessionItem) session() payments.Session {
	return payments.Session{Hash: it.PK[len("PS#"):], AccountID: it.AccountID, FormID: it.FormID, ProductID: it.ProductID,
		Amount: it.Amount, Currency: it.Currency, Heading: it.Heading, ProductName: it.ProductName, CustomField: it.CustomField,
		Metadata: it.Metadata, Created: fromUnix(it.Created), Expires: fromUnix(it.Expires), Status: payments.Status(it.Status),
		DiscountCode: it.DiscountCode, Discount: it.Discount, Charged: it.Charged, Attempt: it.Attempt,
		CheckoutStarted: fromUnix(it.CheckoutStarted), CheckoutID: it.CheckoutID, CheckoutURL: it.CheckoutURL,
		LeaseUntil: fromUnix(it.LeaseUntil), Key: it.Key, KeyID: it.KeyID, CustomerID: it.CustomerID, BuyerEmail: it.BuyerEmail,
		BuyerName: it.BuyerName, PaymentIntent: it.PaymentIntent, Completed: fromUnix(it.Completed), Notified: it.Notified}
}

func decodeSession(m dynamo.Item) (payments.Session, error) {
	var it sessionItem
	if err := dynamo.Decode(m, "payment session", &it); err != nil {
		return payments.Session{}, err
	}
	return it.session(), nil
}

// CreateSession implements payments.SessionStore (one conditional
// PutItem).
func (s *Store) CreateSession(ctx context.Context, p payments.Session, keep time.Time) error {
	k := dynamo.PaymentSession(p.Hash)
	it := sessionItem{PK: k.PK, SK: k.SK, AccountID: p.AccountID, FormID: p.FormID, ProductID: p.ProductID, Amount: p.Amount,
		Currency: p.Currency, Heading: p.Heading, ProductName: p.ProductName, CustomField: p.CustomField, Metadata: p.Metadata,
		Created: unix(p.Created), Expires: unix(p.Expires), Status: string(p.Status), Charged: p.Charged, TTL: keep.Unix()}
	if err := s.t.Put(ctx, it, true); err != nil {
		return fmt.Errorf("create payment session: %w", err)
	}
	return nil
}

// GetSession implements payments.SessionStore (one consistent GetItem).
func (s *Store) GetSession(ctx context.Context, hash string) (payments.Session, error) {
	var it sessionItem
	if err := s.t.Get(ctx, dynamo.PaymentSession(hash), true, &it); err != nil {
		return payments.Session{}, err
	}
	return it.session(), nil
}

func str(v string) types.AttributeValue { return dynamo.S(v) }

// BeginCheckout implements payments.SessionStore: the session's
// transition, and with a code its redemption, in one transaction.
func (s *Store) BeginCheckout(ctx context.Context, p payments.Session, now time.Time) error {
	u := dynamo.Update{
		Expr:  "SET #st = :checkout, attempt = :next, checkoutStarted = :now, charged = :charged",
		Cond:  "#st = :open AND expires > :now AND attempt = :attempt",
		Names: map[string]string{"#st": "status"},
		Values: dynamo.Item{":checkout": str(string(payments.StatusCheckout)), ":open": str(string(payments.StatusOpen)),
			":next": dynamo.N(p.Attempt + 1), ":attempt": dynamo.N(p.Attempt), ":now": dynamo.N(now.Unix()),
			":charged": dynamo.N(p.Charged)},
	}
	if p.DiscountCode != "" {
		u.Expr += ", discountCode = :code, discount = :discount"
		u.Values[":code"], u.Values[":discount"] = str(p.DiscountCode), dynamo.N(p.Discount)
	} else {
		u.Expr += " REMOVE discountCode, discount"
	}
	ops := []types.TransactWriteItem{s.t.UpdateOp(dynamo.PaymentSession(p.Hash), u)}
	if p.DiscountCode != "" {
		r := redeem(now)
		r.Cond = dynamo.Exists + " AND " + r.Cond
		ops = append(ops, s.t.UpdateOp(dynamo.Discount(p.AccountID, p.DiscountCode), r))
	}
	err := s.t.Transact(ctx, ops)
	switch i, old := txFailed(err); {
	case i == 0:
		return payments.ErrSessionState
	case i == 1 && old == nil:
		return apierr.NotFound
	case i == 1:
		return payments.ErrDiscountUnavailable
	}
	return err
}

// SetCheckout implements payments.SessionStore (one conditional
// UpdateItem).
func (s *Store) SetCheckout(ctx context.Context, hash string, attempt int64, c payments.Checkout) error {
	_, err := s.t.UpdateExisting(ctx, dynamo.PaymentSession(hash), dynamo.Update{
		Expr: "SET checkoutId = :id, checkoutUrl = :url", Cond: "#st = :checkout AND attempt = :attempt",
		Names:  map[string]string{"#st": "status"},
		Values: dynamo.Item{":id": str(c.ID), ":url": str(c.URL), ":checkout": str(string(payments.StatusCheckout)), ":attempt": dynamo.N(attempt)},
	})
	return stateErr(err)
}

// stateErr turns a failed condition into payments.ErrSessionState.
func stateErr(err error) error {
	if errors.Is(err, apierr.Conflict) || errors.Is(err, apierr.NotFound) {
		return payments.ErrSessionState
	}
	return err
}

// AbortCheckout implements payments.SessionStore: the session back to
// open and the code's redemption given back, in one transaction (the
// session alone when the code has no redemption to give back).
func (s *Store) AbortCheckout(ctx context.Context, p payments.Session) error {
	u := dynamo.Update{
		Expr:  "SET #st = :open REMOVE checkoutStarted, discountCode, discount",
		Cond:  "#st = :checkout AND attempt = :attempt AND attribute_not_exists(checkoutId)",
		Names: map[string]string{"#st": "status"},
		Values: dynamo.Item{":open": str(string(payments.StatusOpen)), ":checkout": str(string(payments.StatusCheckout)),
			":attempt": dynamo.N(p.Attempt)},
	}
	return s.transitionReleasing(ctx, p, u)
}

// transitionReleasing applies u to the session and releases its code's
// redemption in one transaction; when only the release's condition fails
// (nothing to give back), the session moves alone.
func (s *Store) transitionReleasing(ctx context.Context, p payments.Session, u dynamo.Update) error {
	ops := []types.TransactWriteItem{s.t.UpdateOp(dynamo.PaymentSession(p.Hash), u)}
	if p.DiscountCode != "" {
		ops = append(ops, s.t.UpdateOp(dynamo.Discount(p.AccountID, p.DiscountCode), release))
	}
	err := s.t.Transact(ctx, ops)
	if i, _ := txFailed(err); i == 1 {
		err = s.t.Transact(ctx, ops[:1])
	}
	if i, _ := txFailed(err); i == 0 {
		return payments.ErrSessionState
	}
	return err
}

// ClaimCompletion implements payments.SessionStore (one conditional
// UpdateItem returning the session after it).
func (s *Store) ClaimCompletion(ctx context.Context, hash, checkoutID string, c payments.Claim) (payments.Session, error) {
	out, err := s.t.UpdateExisting(ctx, dynamo.PaymentSession(hash), dynamo.Update{
		Expr:  "SET #st = :completing, leaseUntil = :lease, #k = if_not_exists(#k, :key), buyerEmail = :email, buyerName = :name, paymentIntent = :pi",
		Cond:  "checkoutId = :cid AND (#st = :checkout OR (#st = :completing AND leaseUntil < :now))",
		Names: map[string]string{"#st": "status", "#k": "key"},
		Values: dynamo.Item{":completing": str(string(payments.StatusCompleting)), ":checkout": str(string(payments.StatusCheckout)),
			":lease": dynamo.N(c.LeaseUntil.Unix()), ":now": dynamo.N(c.Now.Unix()), ":key": str(c.Key), ":cid": str(checkoutID),
			":email": str(c.BuyerEmail), ":name": str(c.BuyerName), ":pi": str(c.PaymentIntent)},
	})
	if err != nil {
		return payments.Session{}, stateErr(err)
	}
	return decodeSession(out)
}

// SetOrderCustomer implements payments.SessionStore.
func (s *Store) SetOrderCustomer(ctx context.Context, hash string, customerID int64) error {
	_, err := s.t.UpdateExisting(ctx, dynamo.PaymentSession(hash), dynamo.Update{
		Expr: "SET customerId = :c", Cond: "#st = :completing", Names: map[string]string{"#st": "status"},
		Values: dynamo.Item{":c": dynamo.N(customerID), ":completing": str(string(payments.StatusCompleting))},
	})
	return stateErr(err)
}

// FinishCompletion implements payments.SessionStore (one conditional
// UpdateItem returning the session after it).
func (s *Store) FinishCompletion(ctx context.Context, hash string, keyID, customerID int64, at, keep time.Time) (payments.Session, error) {
	out, err := s.t.UpdateExisting(ctx, dynamo.PaymentSession(hash), dynamo.Update{
		Expr: "SET #st = :completed, keyId = :kid, customerId = :cid, completed = :at, #ttl = :keep REMOVE leaseUntil",
		Cond: "#st = :completing", Names: map[string]string{"#st": "status", "#ttl": "ttl"},
		Values: dynamo.Item{":completed": str(string(payments.StatusCompleted)), ":completing": str(string(payments.StatusCompleting)),
			":kid": dynamo.N(keyID), ":cid": dynamo.N(customerID), ":at": dynamo.N(at.Unix()), ":keep": dynamo.N(keep.Unix())},
	})
	if err != nil {
		return payments.Session{}, stateErr(err)
	}
	return decodeSession(out)
}

// MarkNotified implements payments.SessionStore.
func (s *Store) MarkNotified(ctx context.Context, hash string) error {
	_, err := s.t.UpdateExisting(ctx, dynamo.PaymentSession(hash), dynamo.Update{
		Expr: "SET notified = :t", Values: dynamo.Item{":t": dynamo.Bool(true)},
	})
	return err
}

// CancelCheckout implements payments.SessionStore: the session to
// cancelled and its code's redemption given back, in one transaction.
func (s *Store) CancelCheckout(ctx context.Context, p payments.Session, checkoutID string, keep time.Time) error {
	return s.transitionReleasing(ctx, p, dynamo.Update{
		Expr: "SET #st = :cancelled, #ttl = :keep", Cond: "#st = :checkout AND checkoutId = :cid",
		Names: map[string]string{"#st": "status", "#ttl": "ttl"},
		Values: dynamo.Item{":cancelled": str(string(payments.StatusCancelled)), ":checkout": str(string(payments.StatusCheckout)),
			":cid": str(checkoutID), ":keep": dynamo.N(keep.Unix())},
	})
}

// RecordEvent implements payments.SessionStore: one UpdateItem that
// creates the event's record unless it exists and is done.
func (s *Store) RecordEvent(ctx context.Context, accountID int64, eventID, eventType string, now, keep time.Time) (bool, error) {
	_, err := s.t.Upsert(ctx, dynamo.PaymentEvent(accountID, eventID), dynamo.Update{
		Expr:   "SET accountId = :a, eventType = :t, firstSeen = if_not_exists(firstSeen, :now), #ttl = :keep",
		Cond:   "attribute_not_exists(#done)",
		Names:  map[string]string{"#ttl": "ttl", "#done": "done"},
		Values: dynamo.Item{":a": dynamo.N(accountID), ":t": str(eventType), ":now": dynamo.N(now.Unix()), ":keep": dynamo.N(keep.Unix())},
	})
	if errors.Is(err, apierr.Conflict) {
		return true, nil
	}
	return false, err
}

// EventDone implements payments.SessionStore.
func (s *Store) EventDone(ctx context.Context, accountID int64, eventID string) error {
	_, err := s.t.UpdateExisting(ctx, dynamo.PaymentEvent(accountID, eventID), dynamo.Update{
		Expr: "SET #done = :true", Names: map[string]string{"#done": "done"}, Values: dynamo.Item{":true": dynamo.Bool(true)},
	})
	return err
}
