package payments

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/signing"
)

// Form is a payment form: what a buyer pays for and what happens once the
// payment succeeded. Sessions (CreateSession) may override the price,
// heading and item name per buyer.
type Form struct {
	AccountID int64
	ID        int64
	// Name is the vendor's label (not shown to buyers).
	Name string
	// Heading and ProductName are shown on the payment page (defaults for
	// sessions that do not give their own).
	Heading     string
	ProductName string
	// Price is the default price in minor units of Currency; 0 means
	// every session must give a price.
	Price    int64
	Currency string
	// TemplateID: on success, create a key from this license template
	// (0: none). ProductID is the template's product.
	TemplateID int64
	ProductID  int64
	// NewCustomer: on success, create a customer for the buyer (or use
	// the account's customer with the buyer's e-mail) and put it on the
	// key.
	NewCustomer bool
	// WebhookURL: on success, POST the order as JSON to this URL, signed
	// with the form's webhook secret (see Notifier).
	WebhookURL    string
	WebhookSecret signing.SealedSecret
	Created       time.Time
}

// FormInput is what the admin API creates a form from.
type FormInput struct {
	Name        string
	Heading     string
	ProductName string
	// Price is a decimal ("12.50") in Currency; "" or "0" for none.
	Price       string
	Currency    string
	TemplateID  int64
	NewCustomer bool
	WebhookURL  string
}

// FormStore persists payment forms.
type FormStore interface {
	// NextFormID allocates a form id.
	NextFormID(ctx context.Context) (int64, error)
	// CreateForm stores f (its id from NextFormID) and returns it.
	CreateForm(ctx context.Context, f Form) (Form, error)
	// GetForm returns the account's form or apierr.NotFound.
	GetForm(ctx context.Context, accountID, id int64) (Form, error)
	// ListForms returns up to limit of the account's forms with ids
	// greater than after, by id.
	ListForms(ctx context.Context, accountID, after int64, limit int) ([]Form, error)
}

// Limits of the reference (CreateSession) and of forms.
const (
	MaxHeading     = 100
	MaxProductName = 200
	MaxCustomField = 1000
	MaxMetadata    = 1000
	maxFormName    = 100
	maxWebhookURL  = 2000
)

// Form validation messages (admin API; Keyturn's own).
var (
	errFormName     = apierr.New("name must be 1 to 100 characters.")
	errFormHeading  = apierr.New("heading must be at most 100 characters and productName at most 200.")
	errFormPrice    = apierr.New("price must be a positive decimal in the currency's units (e.g. 12.50), or empty.")
	errFormCurrency = apierr.New("currency must be an ISO code payments accept (e.g. usd).")
	errFormAction   = apierr.New("A payment form needs an action: templateId (create a key) and/or webhookUrl.")
	errFormTemplate = apierr.New("templateId names a license template this account does not have.")
	errFormCustomer = apierr.New("newCustomer puts the buyer on the new key: it needs templateId.")
	errFormWebhook  = apierr.New("webhookUrl must be an https URL (http only for localhost).")
)

// validWebhookURL accepts https URLs, and http ones to the local host
// (development); no credentials in the URL.
func validWebhookURL(s string) bool {
	if len(s) > maxWebhookURL {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		return h == "localhost" || h == "127.0.0.1" || h == "::1"
	}
	return false
}

// webhookSecretName names a form's sealed webhook secret.
func webhookSecretName(formID int64) string { return "paymentform-webhook/" + itoa(formID) }

// newWebhookSecret returns a random signing secret for a form's webhook.
func newWebhookSecret(random io.Reader) (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", err
	}
	return "ktwh_" + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func tooLong(s string, n int) bool { return utf8.RuneCountInString(s) > n }

// CreateForm validates in and stores a new payment form. With a webhook
// URL it generates the form's webhook signing secret, stores it sealed and
// returns it (the only time it is shown). Errors: the client-facing
// validation messages, store and sealing faults.
func (s *Service) CreateForm(ctx context.Context, accountID int64, in FormInput) (Form, string, error) {
	f := Form{AccountID: accountID, Name: strings.TrimSpace(in.Name), Heading: strings.TrimSpace(in.Heading),
		ProductName: strings.TrimSpace(in.ProductName), TemplateID: in.TemplateID, NewCustomer: in.NewCustomer,
		WebhookURL: strings.TrimSpace(in.WebhookURL), Created: s.now().UTC().Truncate(time.Second)}
	if f.Name == "" || tooLong(f.Name, maxFormName) {
		return Form{}, "", errFormName
	}
	if tooLong(f.Heading, MaxHeading) || tooLong(f.ProductName, MaxProductName) {
		return Form{}, "", errFormHeading
	}
	if in.Currency != "" || in.Price != "" {
		cur, ok := Currency(in.Currency)
		if !ok {
			return Form{}, "", errFormCurrency
		}
		f.Currency = cur
	}
	if p := strings.TrimSpace(in.Price); p != "" && p != "0" {
		n, ok := ParseAmount(p, f.Currency)
		if !ok {
			return Form{}, "", errFormPrice
		}
		f.Price = n
	}
	if f.TemplateID == 0 && f.WebhookURL == "" {
		return Form{}, "", errFormAction
	}
	if f.NewCustomer && f.TemplateID == 0 {
		return Form{}, "", errFormCustomer
	}
	if f.WebhookURL != "" && !validWebhookURL(f.WebhookURL) {
		return Form{}, "", errFormWebhook
	}
	if f.TemplateID != 0 {
		t, err := s.templates.Get(ctx, accountID, f.TemplateID)
		if errors.Is(err, apierr.TemplateNotFound) || err == nil && t.AccountID != accountID {
			return Form{}, "", errFormTemplate
		}
		if err != nil {
			return Form{}, "", err
		}
		f.ProductID = t.ProductID
	}
	// The id comes first: the sealed secret is bound to it.
	id, err := s.forms.NextFormID(ctx)
	if err != nil {
		return Form{}, "", err
	}
	f.ID = id
	var secret string
	if f.WebhookURL != "" {
		if s.settings.sealer == nil {
			return Form{}, "", errNoSealer
		}
		if secret, err = newWebhookSecret(s.random); err != nil {
			return Form{}, "", err
		}
		if f.WebhookSecret, err = s.settings.sealer.SealSecret(ctx, accountID, webhookSecretName(id), []byte(secret)); err != nil {
			return Form{}, "", err
		}
	}
	f, err = s.forms.CreateForm(ctx, f)
	if err != nil {
		return Form{}, "", err
	}
	return f, secret, nil
}

// Form returns a form of the account: apierr.PaymentFormNotFound when it
// has none with that id.
func (s *Service) Form(ctx context.Context, accountID, id int64) (Form, error) {
	if id <= 0 {
		return Form{}, apierr.PaymentFormNotFound
	}
	f, err := s.forms.GetForm(ctx, accountID, id)
	if errors.Is(err, apierr.NotFound) {
		return Form{}, apierr.PaymentFormNotFound
	}
	return f, err
}

// ListForms returns one page (up to limit, at most 100) of the account's
// forms after the id after.
func (s *Service) ListForms(ctx context.Context, accountID, after int64, limit int) ([]Form, error) {
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	return s.forms.ListForms(ctx, accountID, after, limit)
}
