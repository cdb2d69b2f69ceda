package payments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/keys"
)

// TemplateReader reads license templates (keys.Templates): a template
// the account does not have is apierr.TemplateNotFound.
type TemplateReader interface {
	Get(ctx context.Context, accountID, id int64) (keys.Template, error)
}

// KeyIssuer creates a key exactly once under a key string chosen in
// advance (keys.Service.CreateOnce).
type KeyIssuer interface {
	CreateOnce(ctx context.Context, accountID, productID int64, spec keys.Spec, key string) (keys.Record, bool, error)
}

// CustomerMaker returns the account's customer with an e-mail, or creates
// one (customers.Service.AddOrUseCustomer).
type CustomerMaker interface {
	AddOrUseCustomer(ctx context.Context, accountID int64, f customers.CustomerFields) (customers.Customer, error)
}

// Deps are a Service's dependencies.
type Deps struct {
	Forms     FormStore
	Sessions  SessionStore
	Discounts DiscountStore
	Settings  *Settings
	Processor Processor
	Templates TemplateReader
	Keys      KeyIssuer
	Customers CustomerMaker
	Notifier  Notifier
	Now       func() time.Time
	Random    io.Reader
	// NewKey returns a fresh key string (keys.GenerateKey).
	NewKey func() (string, error)
}

// Service runs payment forms: forms, sessions, hosted checkouts and the
// processor's webhook. Safe for concurrent use.
type Service struct {
	forms     FormStore
	sessions  SessionStore
	discounts DiscountStore
	settings  *Settings
	proc      Processor
	templates TemplateReader
	keys      KeyIssuer
	customers CustomerMaker
	notifier  Notifier
	now       func() time.Time
	random    io.Reader
	newKey    func() (string, error)
}

// NewService returns the payment form service.
func NewService(d Deps) *Service {
	return &Service{forms: d.Forms, sessions: d.Sessions, discounts: d.Discounts, settings: d.Settings, proc: d.Processor,
		templates: d.Templates, keys: d.Keys, customers: d.Customers, notifier: d.Notifier, now: d.Now, random: d.Random,
		newKey: d.NewKey}
}

// Timing of checkouts and completions.
const (
	// resumeAfter: a checkout that has been starting for this long
	// without a recorded processor checkout (its starter crashed) is
	// started again by the next request, with the same idempotency key.
	resumeAfter = 15 * time.Second
	// completionLease: how long a delivery that claimed an order has to
	// complete it before a redelivery may take over.
	completionLease = time.Minute
	// minCheckout and maxCheckout bound the processor checkout's lifetime
	// (Stripe accepts 30 minutes to 24 hours).
	minCheckout = 31 * time.Minute
	maxCheckout = 23 * time.Hour
	// WebhookTolerance is how far a webhook's signed timestamp may be from
	// now: older deliveries are refused as replays.
	WebhookTolerance = 5 * time.Minute
	// eventKeep is how long processed event ids are remembered (Stripe
	// redelivers for up to 3 days).
	eventKeep = 30 * 24 * time.Hour
	// cancelledKeep is how long a cancelled order is kept.
	cancelledKeep = 7 * 24 * time.Hour
)

// Errors of the payment page (the page explains them to the buyer).
var (
	ErrSessionExpired = errors.New("payments: the payment session has expired")
	ErrSessionUsed    = errors.New("payments: the payment session was used and its checkout ended")
	ErrCheckoutBusy   = errors.New("payments: the checkout is being started by another request")
)

// Pages are the URLs the processor sends the buyer back to.
type Pages struct {
	Success, Cancel string
}

// Metadata keys every checkout carries, so that webhook events can be
// matched to the account and session that started them.
const (
	MetaAccount = "keyturn_account"
	MetaSession = "keyturn_session"
)

// StartCheckout starts the hosted checkout of the session id names (with
// the discount code, if any) and returns where to send the buyer: the
// processor's checkout page; the same page again when the session's
// checkout already started; the success page when it is paid. A session
// starts one checkout only: moving it from open to checkout (and
// redeeming the code) is one transaction, and the processor request
// carries an idempotency key. Errors: ErrSessionNotFound,
// ErrSessionExpired, ErrSessionUsed, ErrCheckoutBusy, ErrNotConfigured,
// the discount errors (ErrDiscountNotFound, ErrDiscountUnavailable,
// ErrDiscountNotForUse), processor and store faults.
func (s *Service) StartCheckout(ctx context.Context, id, code string, pages Pages) (string, error) {
	for range 2 {
		sess, err := s.Session(ctx, id)
		if err != nil {
			return "", err
		}
		now := s.now()
		switch sess.Status {
		case StatusCompleting, StatusCompleted:
			return pages.Success, nil
		case StatusCancelled:
			return "", ErrSessionUsed
		case StatusCheckout:
			if sess.CheckoutURL != "" {
				return sess.CheckoutURL, nil
			}
			if now.Sub(sess.CheckoutStarted) < resumeAfter {
				return "", ErrCheckoutBusy
			}
			k, err := s.stripeKeys(ctx, sess.AccountID, true)
			if err != nil {
				return "", err
			}
			return s.createCheckout(ctx, sess, pages, k.SecretKey)
		}
		if !now.Before(sess.Expires) {
			return "", ErrSessionExpired
		}
		k, err := s.stripeKeys(ctx, sess.AccountID, true)
		if err != nil {
			return "", err
		}
		next := sess
		next.DiscountCode, next.Discount, next.Charged = "", 0, sess.Amount
		if c := NormalizeCode(code); c != "" {
			if !validCode(c) {
				return "", ErrDiscountNotFound
			}
			d, err := s.discounts.GetDiscount(ctx, sess.AccountID, c)
			if errors.Is(err, apierr.NotFound) {
				return "", ErrDiscountNotFound
			}
			if err != nil {
				return "", err
			}
			off, err := d.Off(sess.Amount, sess.Currency, sess.ProductID)
			if err != nil {
				return "", err
			}
			if !d.Usable(now) {
				return "", ErrDiscountUnavailable
			}
			next.DiscountCode, next.Discount, next.Charged = d.Code, off, sess.Amount-off
		}
		err = s.sessions.BeginCheckout(ctx, next, now)
		switch {
		case errors.Is(err, ErrSessionState):
			continue // another request moved it: act on what it did
		case errors.Is(err, apierr.NotFound):
			return "", ErrDiscountNotFound
		case err != nil:
			return "", err
		}
		next.Status, next.Attempt, next.CheckoutStarted = StatusCheckout, sess.Attempt+1, now
		return s.createCheckout(ctx, next, pages, k.SecretKey)
	}
	return "", ErrCheckoutBusy
}

// stripeKeys returns the account's keys; forms need the webhook secret
// too (without it no payment could ever complete).
func (s *Service) stripeKeys(ctx context.Context, accountID int64, needWebhook bool) (StripeKeys, error) {
	k, err := s.settings.Keys(ctx, accountID)
	if err == nil && needWebhook && k.WebhookSecret == "" {
		err = ErrNotConfigured
	}
	return k, err
}

// createCheckout asks the processor for the checkout of sess's attempt
// and records it. When the processor fails, the session goes back to open
// (its code's redemption is given back), so the buyer can try again.
func (s *Service) createCheckout(ctx context.Context, sess Session, pages Pages, secretKey string) (string, error) {
	now := s.now()
	expires := sess.Expires
	if min := now.Add(minCheckout); expires.Before(min) {
		expires = min
	}
	if max := now.Add(maxCheckout); expires.After(max) {
		expires = max
	}
	name := sess.ProductName
	if name == "" {
		name = sess.Heading
	}
	if name == "" {
		name = "Order " + sess.Hash[:8]
	}
	c, err := s.proc.CreateCheckout(ctx, secretKey, CheckoutRequest{
		IdempotencyKey: "keyturn-checkout-" + sess.Hash[:32] + "-" + itoa(sess.Attempt),
		Amount:         sess.Charged, Currency: sess.Currency, ProductName: name,
		SuccessURL: pages.Success, CancelURL: pages.Cancel, ClientReference: sess.Hash,
		Metadata:  map[string]string{MetaAccount: itoa(sess.AccountID), MetaSession: sess.Hash},
		ExpiresAt: expires,
	})
	if err != nil {
		if aerr := s.sessions.AbortCheckout(context.WithoutCancel(ctx), sess); aerr != nil && !errors.Is(aerr, ErrSessionState) {
			err = errors.Join(err, aerr)
		}
		return "", fmt.Errorf("start checkout of order %s: %w", sess.Hash[:8], err)
	}
	if err := s.sessions.SetCheckout(ctx, sess.Hash, sess.Attempt, c); err != nil && !errors.Is(err, ErrSessionState) {
		return "", err
	}
	return c.URL, nil
}

// WebhookResult says what a webhook delivery did.
type WebhookResult int

// Webhook results.
const (
	// WebhookHandled: the event was acted on.
	WebhookHandled WebhookResult = iota
	// WebhookDuplicate: the event was handled before; nothing was done.
	WebhookDuplicate
	// WebhookIgnored: the event needs nothing from Keyturn (another
	// type, a checkout Keyturn did not start, a payment still pending).
	WebhookIgnored
)

// Webhook errors besides ErrBadSignature and ErrNotConfigured.
var (
	// ErrOrderBusy: another delivery is completing the order; the
	// processor should deliver again later.
	ErrOrderBusy = errors.New("payments: the order is being completed by another delivery")
	// ErrNotifyFailed: the order completed but the form's webhook did not
	// take it; a redelivery tries again.
	ErrNotifyFailed = errors.New("payments: the form's webhook did not accept the order")
)

// RejectedError is a verified payment that cannot complete its order: the
// amount or currency paid is not the order's, or the order was cancelled.
// Nothing was created; someone must look at the payment.
type RejectedError struct {
	Order  string
	Reason string
}

func (e *RejectedError) Error() string {
	return "payments: payment for order " + e.Order + " rejected: " + e.Reason
}

// HandleWebhook handles one delivery of the processor's webhook to the
// account's endpoint. It verifies the signature (and that its timestamp
// is within WebhookTolerance of now: older deliveries are replays),
// records the event id (a conditional write: an event handled before is
// not handled again), and acts on checkout events: a paid checkout
// completes its order (once, whatever the number of deliveries: the order
// is claimed with a conditional write and its key string is reserved
// before the key is created), an expired or failed one cancels it.
// Errors: ErrNotConfigured, ErrBadSignature, ErrOrderBusy, ErrNotifyFailed,
// *RejectedError, store and processor faults; an error leaves the event
// not done, so a redelivery retries.
func (s *Service) HandleWebhook(ctx context.Context, accountID int64, payload []byte, signature string) (WebhookResult, error) {
	k, err := s.stripeKeys(ctx, accountID, true)
	if err != nil {
		return 0, err
	}
	now := s.now()
	ev, err := s.proc.VerifyEvent(payload, signature, k.WebhookSecret, now, WebhookTolerance)
	if err != nil {
		return 0, err
	}
	if ev.ID == "" || len(ev.ID) > 255 {
		return 0, fmt.Errorf("%w: event id missing or too long", ErrBadSignature)
	}
	dup, err := s.sessions.RecordEvent(ctx, accountID, ev.ID, ev.Type, now, now.Add(eventKeep))
	if err != nil {
		return 0, err
	}
	if dup {
		return WebhookDuplicate, nil
	}
	res := WebhookIgnored
	if cs := ev.Checkout; cs != nil {
		switch ev.Type {
		case EventCheckoutCompleted, EventAsyncPaymentSucceeded:
			if cs.PaymentStatus == PaymentPaid || cs.PaymentStatus == PaymentNoPaymentRequired {
				res, err = s.complete(ctx, accountID, cs)
			}
		case EventCheckoutExpired, EventAsyncPaymentFailed:
			res, err = s.cancel(ctx, accountID, cs)
		}
	}
	if err != nil {
		return 0, err
	}
	if err := s.sessions.EventDone(ctx, accountID, ev.ID); err != nil {
		return 0, err
	}
	return res, nil
}

// order returns the session a checkout event belongs to, or false when
// the checkout is not one this account's sessions started.
func (s *Service) order(ctx context.Context, accountID int64, cs *CheckoutState) (Session, bool, error) {
	hash := cs.ClientReference
	if len(hash) != 64 || cs.Metadata[MetaAccount] != itoa(accountID) || cs.Metadata[MetaSession] != hash {
		return Session{}, false, nil
	}
	sess, err := s.sessions.GetSession(ctx, hash)
	if errors.Is(err, apierr.NotFound) {
		return Session{}, false, nil
	}
	if err != nil {
		return Session{}, false, err
	}
	return sess, sess.AccountID == accountID, nil
}

// complete completes the order of a paid checkout.
func (s *Service) complete(ctx context.Context, accountID int64, cs *CheckoutState) (WebhookResult, error) {
	sess, ours, err := s.order(ctx, accountID, cs)
	if err != nil || !ours {
		return WebhookIgnored, err
	}
	reject := func(reason string) (WebhookResult, error) {
		return 0, &RejectedError{Order: sess.Hash, Reason: reason}
	}
	if sess.CheckoutID != cs.ID {
		return reject("checkout " + cs.ID + " is not the order's checkout")
	}
	if cs.AmountTotal != sess.Charged || !strings.EqualFold(cs.Currency, sess.Currency) {
		return reject(fmt.Sprintf("paid %d %s, the order is %d %s", cs.AmountTotal, cs.Currency, sess.Charged, sess.Currency))
	}
	form, err := s.forms.GetForm(ctx, accountID, sess.FormID)
	if err != nil {
		return 0, fmt.Errorf("form %d of order %s: %w", sess.FormID, sess.Hash[:8], err)
	}
	key, err := s.newKey()
	if err != nil {
		return 0, err
	}
	now := s.now()
	claimed, err := s.sessions.ClaimCompletion(ctx, sess.Hash, cs.ID, Claim{Now: now, LeaseUntil: now.Add(completionLease),
		Key: key, BuyerEmail: bound(cs.Email, 100), BuyerName: bound(cs.Name, 100), PaymentIntent: bound(cs.PaymentIntent, 255)})
	if errors.Is(err, ErrSessionState) {
		cur, err := s.sessions.GetSession(ctx, sess.Hash)
		if err != nil {
			return 0, err
		}
		switch cur.Status {
		case StatusCompleted:
			return WebhookHandled, s.notify(ctx, cur, form)
		case StatusCompleting:
			return 0, ErrOrderBusy
		}
		return reject("the order is " + string(cur.Status))
	}
	if err != nil {
		return 0, err
	}
	keyID, customerID, err := s.runActions(ctx, claimed, form)
	if err != nil {
		return 0, fmt.Errorf("complete order %s: %w", sess.Hash[:8], err)
	}
	done, err := s.sessions.FinishCompletion(ctx, sess.Hash, keyID, customerID, now, now.Add(orderKeep))
	if errors.Is(err, ErrSessionState) {
		// A takeover finished it meanwhile (this delivery outlived its
		// lease); the key is the same one either way.
		return 0, ErrOrderBusy
	}
	if err != nil {
		return 0, err
	}
	return WebhookHandled, s.notify(ctx, done, form)
}

// bound cuts s to at most n characters (processor-supplied values are
// bounded like client values before storage).
func bound(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// runActions creates the form's key (and customer) for a claimed order.
// Each step repeats safely: the customer is found by e-mail and recorded
// on the order, the key is created under the order's reserved key string.
func (s *Service) runActions(ctx context.Context, o Session, form Form) (keyID, customerID int64, err error) {
	if form.TemplateID == 0 {
		return 0, 0, nil
	}
	tpl, err := s.templates.Get(ctx, o.AccountID, form.TemplateID)
	if err != nil {
		return 0, 0, fmt.Errorf("template %d: %w", form.TemplateID, err)
	}
	spec := tpl.Spec
	customerID = o.CustomerID
	if form.NewCustomer && customerID == 0 {
		name := o.BuyerName
		if name == "" {
			name = o.BuyerEmail
		}
		f := customers.CustomerFields{Name: &name}
		if o.BuyerEmail != "" {
			f.Email = &o.BuyerEmail
		}
		c, err := s.customers.AddOrUseCustomer(ctx, o.AccountID, f)
		if err != nil {
			return 0, 0, fmt.Errorf("customer: %w", err)
		}
		customerID = c.ID
		if err := s.sessions.SetOrderCustomer(ctx, o.Hash, customerID); err != nil {
			return 0, 0, err
		}
	}
	if form.NewCustomer {
		spec.CustomerID = customerID
	}
	rec, _, err := s.keys.CreateOnce(ctx, o.AccountID, tpl.ProductID, spec, o.Key)
	if err != nil {
		return 0, 0, fmt.Errorf("key: %w", err)
	}
	return rec.ID, customerID, nil
}

// cancel cancels the order of an expired or failed checkout.
func (s *Service) cancel(ctx context.Context, accountID int64, cs *CheckoutState) (WebhookResult, error) {
	sess, ours, err := s.order(ctx, accountID, cs)
	if err != nil || !ours || sess.Status != StatusCheckout || sess.CheckoutID != cs.ID {
		return WebhookIgnored, err
	}
	err = s.sessions.CancelCheckout(ctx, sess, cs.ID, s.now().Add(cancelledKeep))
	if errors.Is(err, ErrSessionState) {
		return WebhookIgnored, nil
	}
	return WebhookHandled, err
}
