// Package paymentstore is the DynamoDB adapter of package payments:
// payment forms, payment sessions (orders), handled Stripe event ids,
// accounts' sealed Stripe keys, discount codes and subscription links.
// Item layout: the data model of package dynamo. Every state change of a
// session is one conditional write (or one transaction with the discount
// code it redeems or releases).
package paymentstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/payments"
	"github.com/keyturn/keyturn/shared/signing"
)

// Store implements the payments store interfaces.
type Store struct {
	t *dynamo.Table
}

// New returns the payment store on table t.
func New(t *dynamo.Table) *Store { return &Store{t: t} }

var (
	_ payments.FormStore     = (*Store)(nil)
	_ payments.SessionStore  = (*Store)(nil)
	_ payments.SettingsStore = (*Store)(nil)
	_ payments.DiscountStore = (*Store)(nil)
	_ payments.LinkStore     = (*Store)(nil)
)

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func fromUnix(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// ---- forms ----

type formItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	AccountID   int64  `dynamodbav:"accountId"`
	ID          int64  `dynamodbav:"id"`
	Name        string `dynamodbav:"name"`
	Heading     string `dynamodbav:"heading,omitempty"`
	ProductName string `dynamodbav:"productName,omitempty"`
	Price       int64  `dynamodbav:"price,omitempty"`
	Currency    string `dynamodbav:"currency,omitempty"`
	TemplateID  int64  `dynamodbav:"templateId,omitempty"`
	ProductID   int64  `dynamodbav:"productId,omitempty"`
	NewCustomer bool   `dynamodbav:"newCustomer,omitempty"`
	WebhookURL  string `dynamodbav:"webhookUrl,omitempty"`
	sealed
	Created int64 `dynamodbav:"created"`
}

// sealed are the attributes of a signing.SealedSecret.
type sealed struct {
	Cipher  []byte `dynamodbav:"cipher,omitempty"`
	DataKey []byte `dynamodbav:"dataKey,omitempty"`
	KMSKey  string `dynamodbav:"kmsKey,omitempty"`
}

func sealedOf(s signing.SealedSecret) sealed {
	return sealed{Cipher: s.Ciphertext, DataKey: s.WrappedDataKey, KMSKey: s.KMSKeyID}
}

func (s sealed) secret() signing.SealedSecret {
	return signing.SealedSecret{Ciphertext: s.Cipher, WrappedDataKey: s.DataKey, KMSKeyID: s.KMSKey}
}

func (it formItem) form() payments.Form {
	return payments.Form{AccountID: it.AccountID, ID: it.ID, Name: it.Name, Heading: it.Heading, ProductName: it.ProductName,
		Price: it.Price, Currency: it.Currency, TemplateID: it.TemplateID, ProductID: it.ProductID, NewCustomer: it.NewCustomer,
		WebhookURL: it.WebhookURL, WebhookSecret: it.secret(), Created: fromUnix(it.Created)}
}

// NextFormID implements payments.FormStore (one UpdateItem).
func (s *Store) NextFormID(ctx context.Context) (int64, error) {
	return s.t.NextIDs(ctx, dynamo.Counter("paymentform"), 1)
}

// CreateForm implements payments.FormStore (one conditional PutItem).
func (s *Store) CreateForm(ctx context.Context, f payments.Form) (payments.Form, error) {
	k := dynamo.PaymentForm(f.AccountID, f.ID)
	it := formItem{PK: k.PK, SK: k.SK, AccountID: f.AccountID, ID: f.ID, Name: f.Name, Heading: f.Heading, ProductName: f.ProductName,
		Price: f.Price, Currency: f.Currency, TemplateID: f.TemplateID, ProductID: f.ProductID, NewCustomer: f.NewCustomer,
		WebhookURL: f.WebhookURL, sealed: sealedOf(f.WebhookSecret), Created: unix(f.Created)}
	if err := s.t.Put(ctx, it, true); err != nil {
		return payments.Form{}, fmt.Errorf("create payment form %d: %w", f.ID, err)
	}
	return f, nil
}

// GetForm implements payments.FormStore (one GetItem).
func (s *Store) GetForm(ctx context.Context, accountID, id int64) (payments.Form, error) {
	var it formItem
	if err := s.t.Get(ctx, dynamo.PaymentForm(accountID, id), false, &it); err != nil {
		return payments.Form{}, err
	}
	return it.form(), nil
}

// ListForms implements payments.FormStore: one Query of at most limit
// items of the account's partition.
func (s *Store) ListForms(ctx context.Context, accountID, after int64, limit int) ([]payments.Form, error) {
	q := dynamo.Query{PK: dynamo.AccountPK(accountID), From: dynamo.PaymentForm(accountID, after+1).SK,
		To: dynamo.PaymentFormPrefix + "~"}
	p, err := s.t.QueryPage(ctx, q, int32(limit), nil)
	if err != nil {
		return nil, err
	}
	return dynamo.DecodeAll(p.Items, "payment form", formItem.form)
}

// ---- Stripe settings ----

type settingsItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	AccountID int64  `dynamodbav:"accountId"`
	sealed
	Live       bool  `dynamodbav:"live"`
	HasWebhook bool  `dynamodbav:"hasWebhookSecret"`
	Updated    int64 `dynamodbav:"updated"`
}

// PutStripeSettings implements payments.SettingsStore (one PutItem).
func (s *Store) PutStripeSettings(ctx context.Context, st payments.SealedSettings) error {
	k := dynamo.StripeSettings(st.AccountID)
	return s.t.Put(ctx, settingsItem{PK: k.PK, SK: k.SK, AccountID: st.AccountID, sealed: sealedOf(st.Keys), Live: st.Live,
		HasWebhook: st.HasWebhookSecret, Updated: unix(st.Updated)}, false)
}

// GetStripeSettings implements payments.SettingsStore (one consistent
// GetItem).
func (s *Store) GetStripeSettings(ctx context.Context, accountID int64) (payments.SealedSettings, error) {
	var it settingsItem
	if err := s.t.Get(ctx, dynamo.StripeSettings(accountID), true, &it); err != nil {
		return payments.SealedSettings{}, err
	}
	return payments.SealedSettings{AccountID: it.AccountID, Keys: it.secret(), Live: it.Live, HasWebhookSecret: it.HasWebhook,
		Updated: fromUnix(it.Updated)}, nil
}

// DeleteStripeSettings implements payments.SettingsStore.
func (s *Store) DeleteStripeSettings(ctx context.Context, accountID int64) error {
	return s.t.Delete(ctx, dynamo.StripeSettings(accountID), "", nil, nil)
}

// ---- discount codes ----

type discountItem struct {
	PK             string `dynamodbav:"pk"`
	SK             string `dynamodbav:"sk"`
	AccountID      int64  `dynamodbav:"accountId"`
	Code           string `dynamodbav:"code"`
	ProductID      int64  `dynamodbav:"productId"`
	PercentOff     int64  `dynamodbav:"percentOff"`
	AmountOff      int64  `dynamodbav:"amountOff"`
	Currency       string `dynamodbav:"currency,omitempty"`
	Expires        int64  `dynamodbav:"expires"` // 0: never
	MaxRedemptions int64  `dynamodbav:"maxRedemptions"`
	Redeemed       int64  `dynamodbav:"redeemed"`
	Created        int64  `dynamodbav:"created"`
}

func (it discountItem) discount() payments.Discount {
	return payments.Discount{AccountID: it.AccountID, Code: it.Code, ProductID: it.ProductID, PercentOff: it.PercentOff,
		AmountOff: it.AmountOff, Currency: it.Currency, Expires: fromUnix(it.Expires), MaxRedemptions: it.MaxRedemptions,
		Redeemed: it.Redeemed, Created: fromUnix(it.Created)}
}

// CreateDiscount implements payments.DiscountStore (one conditional
// PutItem).
func (s *Store) CreateDiscount(ctx context.Context, d payments.Discount) error {
	k := dynamo.Discount(d.AccountID, d.Code)
	return s.t.Put(ctx, discountItem{PK: k.PK, SK: k.SK, AccountID: d.AccountID, Code: d.Code, ProductID: d.ProductID,
		PercentOff: d.PercentOff, AmountOff: d.AmountOff, Currency: d.Currency, Expires: unix(d.Expires),
		MaxRedemptions: d.MaxRedemptions, Redeemed: d.Redeemed, Created: unix(d.Created)}, true)
}

// GetDiscount implements payments.DiscountStore (one GetItem).
func (s *Store) GetDiscount(ctx context.Context, accountID int64, code string) (payments.Discount, error) {
	var it discountItem
	if err := s.t.Get(ctx, dynamo.Discount(accountID, code), false, &it); err != nil {
		return payments.Discount{}, err
	}
	return it.discount(), nil
}

// redeem is the update that counts one redemption of a code that exists,
// has not expired at now and has redemptions left.
func redeem(now time.Time) dynamo.Update {
	return dynamo.Update{
		Expr:   "SET redeemed = redeemed + :one",
		Cond:   "(maxRedemptions = :zero OR redeemed < maxRedemptions) AND (expires = :zero OR expires > :now)",
		Values: dynamo.Item{":one": dynamo.N(1), ":zero": dynamo.N(0), ":now": dynamo.N(now.Unix())},
	}
}

// release gives one redemption back, never below zero.
var release = dynamo.Update{Expr: "SET redeemed = redeemed - :one", Cond: "redeemed > :zero",
	Values: dynamo.Item{":one": dynamo.N(1), ":zero": dynamo.N(0)}}

// RedeemDiscount implements payments.DiscountStore: one conditional
// UpdateItem.
func (s *Store) RedeemDiscount(ctx context.Context, accountID int64, code string, now time.Time) (payments.Discount, error) {
	out, err := s.t.UpdateExisting(ctx, dynamo.Discount(accountID, code), redeem(now))
	if errors.Is(err, apierr.Conflict) {
		return payments.Discount{}, payments.ErrDiscountUnavailable
	}
	if err != nil {
		return payments.Discount{}, err
	}
	var it discountItem
	if err := dynamo.Decode(out, "discount", &it); err != nil {
		return payments.Discount{}, err
	}
	return it.discount(), nil
}

// ReleaseDiscount implements payments.DiscountStore.
func (s *Store) ReleaseDiscount(ctx context.Context, accountID int64, code string) error {
	_, err := s.t.UpdateExisting(ctx, dynamo.Discount(accountID, code), release)
	if errors.Is(err, apierr.Conflict) || errors.Is(err, apierr.NotFound) {
		return nil
	}
	return err
}

// ---- subscription links ----

type linkItem struct {
	PK             string `dynamodbav:"pk"`
	SK             string `dynamodbav:"sk"`
	AccountID      int64  `dynamodbav:"accountId"`
	ProductID      int64  `dynamodbav:"productId"`
	Key            string `dynamodbav:"key"`
	ItemID         string `dynamodbav:"itemId"`
	SubscriptionID string `dynamodbav:"subscriptionId"`
	CustomerID     string `dynamodbav:"customerId"`
	MeterID        string `dynamodbav:"meterId"`
	EventName      string `dynamodbav:"eventName"`
	CustomerKey    string `dynamodbav:"customerKey"`
	ValueKey       string `dynamodbav:"valueKey"`
	Created        int64  `dynamodbav:"created"`
}

// PutSubscriptionLink implements payments.LinkStore (one PutItem).
func (s *Store) PutSubscriptionLink(ctx context.Context, l payments.SubscriptionLink) error {
	k := dynamo.SubscriptionLink(l.ProductID, l.Key)
	return s.t.Put(ctx, linkItem{PK: k.PK, SK: k.SK, AccountID: l.AccountID, ProductID: l.ProductID, Key: l.Key, ItemID: l.ItemID,
		SubscriptionID: l.SubscriptionID, CustomerID: l.CustomerID, MeterID: l.MeterID, EventName: l.EventName,
		CustomerKey: l.CustomerKey, ValueKey: l.ValueKey, Created: unix(l.Created)}, false)
}

// GetSubscriptionLink implements payments.LinkStore (one GetItem).
func (s *Store) GetSubscriptionLink(ctx context.Context, productID int64, key string) (payments.SubscriptionLink, error) {
	var it linkItem
	if err := s.t.Get(ctx, dynamo.SubscriptionLink(productID, key), false, &it); err != nil {
		return payments.SubscriptionLink{}, err
	}
	return payments.SubscriptionLink{AccountID: it.AccountID, ProductID: it.ProductID, Key: it.Key, ItemID: it.ItemID,
		SubscriptionID: it.SubscriptionID, CustomerID: it.CustomerID, MeterID: it.MeterID, EventName: it.EventName,
		CustomerKey: it.CustomerKey, ValueKey: it.ValueKey, Created: fromUnix(it.Created)}, nil
}

// DeleteSubscriptionLink implements payments.LinkStore.
func (s *Store) DeleteSubscriptionLink(ctx context.Context, productID int64, key string) error {
	return s.t.Delete(ctx, dynamo.SubscriptionLink(productID, key), "", nil, nil)
}

// txFailed reports which op of a failed transaction failed its condition
// and the item it found (nil: none).
func txFailed(err error) (int, dynamo.Item) {
	var tx *dynamo.TxError
	if !errors.As(err, &tx) {
		return -1, nil
	}
	for i, f := range tx.Failed {
		if f {
			if i < len(tx.Old) {
				return i, tx.Old[i]
			}
			return i, nil
		}
	}
	return -1, nil
}
