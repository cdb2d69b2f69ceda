package payments

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Notifier delivers an order to a payment form's webhook.
type Notifier interface {
	// Notify POSTs body (JSON) to url with the signature header
	// (SignatureHeader: value). An error means the order was not taken
	// (a network failure or a status other than 2xx).
	Notify(ctx context.Context, url string, body []byte, signature string) error
}

// SignatureHeader carries the signature of a form webhook request:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the
// form's webhook secret>" (the scheme Stripe uses, so the same code
// verifies both).
const SignatureHeader = "Keyturn-Signature"

// Order is the JSON body a form's webhook receives when an order
// completes.
type Order struct {
	// Type is "payment.completed".
	Type string `json:"type"`
	// OrderID identifies the order (stable across redeliveries).
	OrderID       string `json:"orderId"`
	PaymentFormID int64  `json:"paymentFormId"`
	// Amount is what was charged, in minor units of Currency; Price is
	// the same as a decimal string.
	Amount       int64  `json:"amount"`
	Price        string `json:"price"`
	Currency     string `json:"currency"`
	DiscountCode string `json:"discountCode,omitempty"`
	// ProductID, KeyID and Key name the key created (absent without a
	// template); CustomerID the customer (absent without one).
	ProductID  int64  `json:"productId,omitempty"`
	KeyID      int64  `json:"keyId,omitempty"`
	Key        string `json:"key,omitempty"`
	CustomerID int64  `json:"customerId,omitempty"`
	Email      string `json:"email"`
	Name       string `json:"name"`
	// CustomField and Metadata are CreateSession's parameters.
	CustomField string `json:"customField"`
	Metadata    string `json:"metadata"`
	// StripeCheckout and StripePaymentIntent identify the payment at
	// Stripe.
	StripeCheckout      string `json:"stripeCheckoutSession"`
	StripePaymentIntent string `json:"stripePaymentIntent,omitempty"`
	// Completed is when the order completed (unix seconds).
	Completed int64 `json:"completed"`
}

func orderOf(o Session) Order {
	price := strings.Fields(FormatAmount(o.Charged, o.Currency))[0]
	out := Order{Type: "payment.completed", OrderID: o.Hash, PaymentFormID: o.FormID, Amount: o.Charged, Price: price,
		Currency: o.Currency, DiscountCode: o.DiscountCode, CustomerID: o.CustomerID, Email: o.BuyerEmail, Name: o.BuyerName,
		CustomField: o.CustomField, Metadata: o.Metadata, StripeCheckout: o.CheckoutID, StripePaymentIntent: o.PaymentIntent,
		Completed: o.Completed.Unix()}
	if o.KeyID != 0 {
		out.ProductID, out.KeyID, out.Key = o.ProductID, o.KeyID, o.Key
	}
	return out
}

// Sign returns the SignatureHeader value for body at t.
func Sign(secret string, t time.Time, body []byte) string {
	return "t=" + strconv.FormatInt(t.Unix(), 10) + ",v1=" + hex.EncodeToString(mac(secret, t.Unix(), body))
}

func mac(secret string, t int64, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(t, 10) + "."))
	m.Write(body)
	return m.Sum(nil)
}

// ErrNotificationSignature: a form webhook request's signature does not
// verify (or its timestamp is outside the tolerance).
var ErrNotificationSignature = errors.New("payments: form webhook signature invalid or too old")

// VerifyNotification checks a form webhook request as a vendor would:
// header (the SignatureHeader value) must hold a v1 signature of body
// under secret, made within tolerance of now. It returns
// ErrNotificationSignature otherwise.
func VerifyNotification(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var t int64 = -1
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return ErrNotificationSignature
			}
			t = n
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	if t < 0 || len(sigs) == 0 {
		return ErrNotificationSignature
	}
	if d := now.Sub(time.Unix(t, 0)); d > tolerance || d < -tolerance {
		return ErrNotificationSignature
	}
	want := mac(secret, t, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return ErrNotificationSignature
}

// notify sends a completed order to its form's webhook once (it is marked
// notified when the webhook took it). Failures are ErrNotifyFailed: the
// processor's redelivery of the payment event tries again.
func (s *Service) notify(ctx context.Context, o Session, form Form) error {
	if form.WebhookURL == "" || o.Notified || o.Status != StatusCompleted {
		return nil
	}
	if s.settings.sealer == nil {
		return fmt.Errorf("%w: %w", ErrNotifyFailed, errNoSealer)
	}
	secret, err := s.settings.sealer.OpenSecret(ctx, form.AccountID, webhookSecretName(form.ID), form.WebhookSecret)
	if err != nil {
		return fmt.Errorf("%w: open the form's webhook secret: %w", ErrNotifyFailed, err)
	}
	body, err := json.Marshal(orderOf(o))
	if err != nil {
		return err
	}
	sig := Sign(string(secret), s.now(), body)
	clear(secret)
	if err := s.notifier.Notify(ctx, form.WebhookURL, body, sig); err != nil {
		return fmt.Errorf("%w: %w", ErrNotifyFailed, err)
	}
	return s.sessions.MarkNotified(ctx, o.Hash)
}

// HTTPNotifier is the Notifier over HTTP.
type HTTPNotifier struct {
	Client *http.Client
}

// NotifyTimeout bounds one webhook request.
const NotifyTimeout = 5 * time.Second

// Notify implements Notifier. Redirects are not followed.
func (n HTTPNotifier) Notify(ctx context.Context, url string, body []byte, signature string) error {
	ctx, cancel := context.WithTimeout(ctx, NotifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Keyturn-Webhook/1")
	req.Header.Set(SignatureHeader, signature)
	c := n.Client
	if c == nil {
		c = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("webhook answered %d", res.StatusCode)
	}
	return nil
}
