package admin

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/payments"
)

// PaymentDeps are the admin API's payment services (payment forms, Stripe
// keys, discount codes, subscription links). Nil: the routes answer 404.
type PaymentDeps struct {
	Forms     *payments.Service
	Stripe    *payments.Settings
	Discounts *payments.Discounts
	Metering  *payments.Metering
	Keys      *keys.Service
	// PublicURL is the service's base URL for the Stripe webhook URL
	// shown ("": the path alone).
	PublicURL string
}

// Payment routes (bodies and answers are JSON; secrets are accepted, never
// returned, except a form's webhook secret once, when the form is made):
//
//	GET    /admin/accounts/{account}/stripe                 {"configured","live","hasWebhookSecret","updated","webhookUrl"}
//	PUT    /admin/accounts/{account}/stripe                 {"secretKey","webhookSecret"}
//	DELETE /admin/accounts/{account}/stripe
//	GET    /admin/accounts/{account}/payment-forms          ?after=ID
//	POST   /admin/accounts/{account}/payment-forms          {"name","heading","productName","price","currency","templateId","newCustomer","webhookUrl"}
//	GET    /admin/accounts/{account}/payment-forms/{id}
//	POST   /admin/accounts/{account}/discounts              {"code","productId","percentOff","amountOff","currency","expires","maxRedemptions"}
//	GET    /admin/accounts/{account}/discounts/{code}
//	GET    /admin/accounts/{account}/products/{product}/keys/{key}/subscription
//	PUT    /admin/accounts/{account}/products/{product}/keys/{key}/subscription  {"subscriptionItemId"}
//	DELETE /admin/accounts/{account}/products/{product}/keys/{key}/subscription
func (a *api) paymentRoutes(mux *http.ServeMux) {
	if a.d.Payments.Forms == nil {
		return
	}
	mux.HandleFunc("GET /admin/accounts/{account}/stripe", a.stripeInfo)
	mux.HandleFunc("PUT /admin/accounts/{account}/stripe", a.setStripe)
	mux.HandleFunc("DELETE /admin/accounts/{account}/stripe", a.removeStripe)
	mux.HandleFunc("GET /admin/accounts/{account}/payment-forms", a.listForms)
	mux.HandleFunc("POST /admin/accounts/{account}/payment-forms", a.createForm)
	mux.HandleFunc("GET /admin/accounts/{account}/payment-forms/{id}", a.getForm)
	mux.HandleFunc("POST /admin/accounts/{account}/discounts", a.createDiscount)
	mux.HandleFunc("GET /admin/accounts/{account}/discounts/{code}", a.getDiscount)
	sub := "/admin/accounts/{account}/products/{product}/keys/{key}/subscription"
	mux.HandleFunc("GET "+sub, a.getSubscription)
	mux.HandleFunc("PUT "+sub, a.linkSubscription)
	mux.HandleFunc("DELETE "+sub, a.unlinkSubscription)
}

// StripeInfo is what the admin API shows of an account's Stripe keys.
type StripeInfo struct {
	Configured       bool   `json:"configured"`
	Live             bool   `json:"live"`
	HasWebhookSecret bool   `json:"hasWebhookSecret"`
	Updated          string `json:"updated,omitempty"`
	// WebhookURL is the endpoint to register in the Stripe dashboard
	// (events checkout.session.completed, .async_payment_succeeded,
	// .async_payment_failed and .expired).
	WebhookURL string `json:"webhookUrl"`
}

func (a *api) stripeInfoOf(acc int64, i payments.SettingsInfo) StripeInfo {
	// Without KEYTURN_PUBLIC_URL the path alone: the URL is never built
	// from request headers.
	base := a.d.Payments.PublicURL
	out := StripeInfo{Configured: i.Configured, Live: i.Live, HasWebhookSecret: i.HasWebhookSecret,
		WebhookURL: base + "/paymentform/stripe/webhook/" + strconv.FormatInt(acc, 10)}
	if !i.Updated.IsZero() {
		out.Updated = i.Updated.Format(time.RFC3339)
	}
	return out
}

func (a *api) stripeInfo(w http.ResponseWriter, r *http.Request) {
	acc, err := a.account(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	i, err := a.d.Payments.Stripe.Info(r.Context(), acc)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.stripeInfoOf(acc, i))
}

// StripeInput is the body of PUT .../stripe.
type StripeInput struct {
	SecretKey     string `json:"secretKey"`
	WebhookSecret string `json:"webhookSecret"`
}

func (a *api) setStripe(w http.ResponseWriter, r *http.Request) {
	acc, err := a.account(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in StripeInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	i, err := a.d.Payments.Stripe.Set(r.Context(), acc, payments.StripeKeys{SecretKey: in.SecretKey, WebhookSecret: in.WebhookSecret})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.stripeInfoOf(acc, i))
}

func (a *api) removeStripe(w http.ResponseWriter, r *http.Request) {
	acc, err := a.account(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.d.Payments.Stripe.Remove(r.Context(), acc); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// PaymentForm is the admin view of a payment form; WebhookSecret is
// present only in the answer to its creation.
type PaymentForm struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	Heading       string `json:"heading"`
	ProductName   string `json:"productName"`
	Price         string `json:"price,omitempty"`
	Currency      string `json:"currency,omitempty"`
	TemplateID    int64  `json:"templateId,omitempty"`
	ProductID     int64  `json:"productId,omitempty"`
	NewCustomer   bool   `json:"newCustomer"`
	WebhookURL    string `json:"webhookUrl,omitempty"`
	WebhookSecret string `json:"webhookSecret,omitempty"`
	Created       string `json:"created"`
}

func newPaymentForm(f payments.Form) PaymentForm {
	out := PaymentForm{ID: f.ID, Name: f.Name, Heading: f.Heading, ProductName: f.ProductName, Currency: f.Currency,
		TemplateID: f.TemplateID, ProductID: f.ProductID, NewCustomer: f.NewCustomer, WebhookURL: f.WebhookURL,
		Created: f.Created.Format(time.RFC3339)}
	if f.Price > 0 {
		out.Price = strings.Fields(payments.FormatAmount(f.Price, f.Currency))[0]
	}
	return out
}

// PaymentFormInput is the body of POST .../payment-forms. Price is a
// decimal string in the currency ("12.50").
type PaymentFormInput struct {
	Name        string `json:"name"`
	Heading     string `json:"heading"`
	ProductName string `json:"productName"`
	Price       string `json:"price"`
	Currency    string `json:"currency"`
	TemplateID  int64  `json:"templateId"`
	NewCustomer bool   `json:"newCustomer"`
	WebhookURL  string `json:"webhookUrl"`
}

func (a *api) createForm(w http.ResponseWriter, r *http.Request) {
	acc, err := a.account(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in PaymentFormInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	f, secret, err := a.d.Payments.Forms.CreateForm(r.Context(), acc, payments.FormInput{Name: in.Name, Heading: in.Heading,
		ProductName: in.ProductName, Price: in.Price, Currency: in.Currency, TemplateID: in.TemplateID,
		NewCustomer: in.NewCustomer, WebhookURL: in.WebhookURL})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := newPaymentForm(f)
	out.WebhookSecret = secret
	writeJSON(w, http.StatusCreated, out)
}

func (a *api) listForms(w http.ResponseWriter, r *http.Request) {
	acc, err := a.account(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	fs, err := a.d.Payments.Forms.ListForms(r.Context(), acc, max(after, 0), 100)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]PaymentForm, 0, len(fs))
	for _, f := range fs {
		out = append(out, newPaymentForm(f))
	}
	writeJSON(w, http.StatusOK, map[string]any{"paymentForms": out})
}

func (a *api) getForm(w http.ResponseWriter, r *http.Request) {
	acc, err := a.account(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	f, err := a.d.Payments.Forms.Form(r.Context(), acc, id)
	if errors.Is(err, apierr.PaymentFormNotFound) {
		err = apierr.NotFound
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPaymentForm(f))
}

// Discount is the admin view of a discount code.
type Discount struct {
	Code           string `json:"code"`
	ProductID      int64  `json:"productId,omitempty"`
	PercentOff     int64  `json:"percentOff,omitempty"`
	AmountOff      string `json:"amountOff,omitempty"`
	Currency       string `json:"currency,omitempty"`
	Expires        string `json:"expires,omitempty"`
	MaxRedemptions int64  `json:"maxRedemptions"`
	Redeemed       int64  `json:"redeemed"`
	Created        string `json:"created"`
}

func newDiscount(d payments.Discount) Discount {
	out := Discount{Code: d.Code, ProductID: d.ProductID, PercentOff: d.PercentOff, Currency: d.Currency,
		MaxRedemptions: d.MaxRedemptions, Redeemed: d.Redeemed, Created: d.Created.Format(time.RFC3339)}
	if d.AmountOff > 0 {
		out.AmountOff = strings.Fields(payments.FormatAmount(d.AmountOff, d.Currency))[0]
	}
	if !d.Expires.IsZero() {
		out.Expires = d.Expires.Format(time.RFC3339)
	}
	return out
}

// DiscountInput is the body of POST .../discounts: percentOff, or
// amountOff (a decimal string) with currency; code empty for a generated
// one; expires RFC 3339 or empty.
type DiscountInput struct {
	Code           string `json:"code"`
	ProductID      int64  `json:"productId"`
	PercentOff     int64  `json:"percentOff"`
	AmountOff      string `json:"amountOff"`
	Currency       string `json:"currency"`
	Expires        string `json:"expires"`
	MaxRedemptions int64  `json:"maxRedemptions"`
}

func (a *api) createDiscount(w http.ResponseWriter, r *http.Request) {
	acc, err := a.account(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in DiscountInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	d := payments.DiscountInput{Code: in.Code, ProductID: in.ProductID, PercentOff: in.PercentOff, Currency: in.Currency,
		MaxRedemptions: in.MaxRedemptions}
	if in.AmountOff != "" {
		cur, ok := payments.Currency(in.Currency)
		if !ok {
			a.fail(w, r, payments.ErrDiscountCurrency)
			return
		}
		if d.AmountOff, ok = payments.ParseAmount(in.AmountOff, cur); !ok {
			a.fail(w, r, payments.ErrDiscountAmount)
			return
		}
	}
	if in.Expires != "" {
		if d.Expires, err = time.Parse(time.RFC3339, in.Expires); err != nil {
			a.fail(w, r, apierr.New("expires must be an RFC 3339 time"))
			return
		}
	}
	out, err := a.d.Payments.Discounts.Create(r.Context(), acc, d)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, newDiscount(out))
}

func (a *api) getDiscount(w http.ResponseWriter, r *http.Request) {
	acc, err := a.account(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d, err := a.d.Payments.Discounts.Get(r.Context(), acc, r.PathValue("code"))
	if errors.Is(err, payments.ErrDiscountNotFound) {
		err = apierr.NotFound
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newDiscount(d))
}

// Subscription is the admin view of a key's subscription link.
type Subscription struct {
	SubscriptionItemID string `json:"subscriptionItemId"`
	SubscriptionID     string `json:"subscriptionId"`
	CustomerID         string `json:"customerId"`
	MeterID            string `json:"meterId"`
	EventName          string `json:"eventName"`
	Created            string `json:"created"`
}

// subscriptionKey parses {product} and {key} and checks the key is the
// account's.
func (a *api) subscriptionKey(r *http.Request) (int64, int64, string, error) {
	acc, err := a.account(r)
	if err != nil {
		return 0, 0, "", err
	}
	pid, err := strconv.ParseInt(r.PathValue("product"), 10, 64)
	if err != nil || pid <= 0 {
		return 0, 0, "", apierr.NotFound
	}
	key := r.PathValue("key")
	if _, err := a.d.Payments.Keys.Get(r.Context(), acc, pid, key); err != nil {
		if errors.Is(err, apierr.KeyNotFound) {
			err = apierr.NotFound
		}
		return 0, 0, "", err
	}
	return acc, pid, key, nil
}

func subscriptionOf(l payments.SubscriptionLink) Subscription {
	return Subscription{SubscriptionItemID: l.ItemID, SubscriptionID: l.SubscriptionID, CustomerID: l.CustomerID,
		MeterID: l.MeterID, EventName: l.EventName, Created: l.Created.Format(time.RFC3339)}
}

func (a *api) getSubscription(w http.ResponseWriter, r *http.Request) {
	acc, pid, key, err := a.subscriptionKey(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	l, err := a.d.Payments.Metering.LinkOf(r.Context(), acc, pid, key)
	if errors.Is(err, apierr.SubscriptionItemNotFound) {
		err = apierr.NotFound
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, subscriptionOf(l))
}

// SubscriptionInput is the body of PUT .../subscription.
type SubscriptionInput struct {
	SubscriptionItemID string `json:"subscriptionItemId"`
}

func (a *api) linkSubscription(w http.ResponseWriter, r *http.Request) {
	acc, pid, key, err := a.subscriptionKey(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in SubscriptionInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	l, err := a.d.Payments.Metering.Link(r.Context(), acc, pid, key, in.SubscriptionItemID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, subscriptionOf(l))
}

func (a *api) unlinkSubscription(w http.ResponseWriter, r *http.Request) {
	acc, pid, key, err := a.subscriptionKey(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	err = a.d.Payments.Metering.Unlink(r.Context(), acc, pid, key)
	if errors.Is(err, apierr.SubscriptionItemNotFound) {
		err = apierr.NotFound
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
