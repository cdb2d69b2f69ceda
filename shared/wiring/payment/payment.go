// Package payment wires payment forms and metered billing: the payment
// services on the vendor's Stripe account and the functions of the
// paymentform and subscription groups. Only those functions (and the admin
// API, which manages forms, codes and Stripe keys) import it, so only they
// link the Stripe client.
package payment

import (
	"crypto/rand"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/deploy"
	"github.com/keyturn/keyturn/shared/dynamo/paymentstore"
	"github.com/keyturn/keyturn/shared/handlers/admin"
	"github.com/keyturn/keyturn/shared/handlers/paymentform"
	"github.com/keyturn/keyturn/shared/handlers/subscription"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/payments"
	"github.com/keyturn/keyturn/shared/stripepay"
	"github.com/keyturn/keyturn/shared/webapi"
	"github.com/keyturn/keyturn/shared/wiring"
	"github.com/keyturn/keyturn/shared/wiring/signed"
)

// Payment timing: how long a process uses an account's opened Stripe keys
// (a replaced key works at most this long in a warm function), and the
// bound of one Stripe request.
const (
	stripeKeysTTL = 5 * time.Minute
	stripeTimeout = 5 * time.Second
)

// Services are the payment services of one process.
type Services struct {
	// Store holds payment forms, sessions, discount codes and
	// subscription links.
	Store *paymentstore.Store
	// Payments runs payment forms with Stripe; Settings holds the
	// accounts' sealed Stripe keys; Discounts the discount codes;
	// Metering metered billing.
	Payments  *payments.Service
	Settings  *payments.Settings
	Discounts *payments.Discounts
	Metering  *payments.Metering
}

// New builds the payment services on the key and customer services given;
// kmsClient is the KMS client that opens sealed secrets (nil: built from
// the environment when the mode needs one).
func New(c *wiring.Core, kmsClient *kms.Client, lic *keys.Service, cust *customers.Service) (*Services, error) {
	sealer, err := signed.NewSecretWrapper(c, kmsClient)
	if err != nil {
		return nil, err
	}
	st := c.Stores.Payments
	settings := payments.NewSettings(st, sealer, c.Now, stripeKeysTTL)
	processor := stripepay.New(stripepay.Config{URL: c.Config.StripeEndpoint, Timeout: stripeTimeout, MaxNetworkRetries: 1})
	return &Services{
		Store:    st,
		Settings: settings,
		Payments: payments.NewService(payments.Deps{Forms: st, Sessions: st, Discounts: st, Settings: settings,
			Processor: processor, Templates: wiring.NewTemplates(c), Keys: lic, Customers: cust, Notifier: payments.HTTPNotifier{},
			Now: c.Now, Random: rand.Reader, NewKey: func() (string, error) { return keys.GenerateKey(rand.Reader) }}),
		Discounts: wiring.NewDiscounts(c),
		Metering:  payments.NewMetering(st, settings, processor, c.Now),
	}, nil
}

// PaymentFormGroup is the paymentform Web API group.
func PaymentFormGroup(s *Services) webapi.Group { return paymentform.Group(s.Payments) }

// SubscriptionGroup is the subscription Web API group.
func SubscriptionGroup(c *wiring.Core, s *Services, lic *keys.Service) webapi.Group {
	return subscription.Group(subscription.Deps{Keys: lic, Products: c.Products, Metering: s.Metering})
}

// AdminDeps are the admin API's payment routes on s.
func AdminDeps(c *wiring.Core, s *Services, lic *keys.Service) admin.PaymentDeps {
	return admin.PaymentDeps{Forms: s.Payments, Stripe: s.Settings, Discounts: s.Discounts, Metering: s.Metering,
		Keys: lic, PublicURL: c.Config.PublicURL}
}

// Pages serves the payment pages and Stripe's webhook (/paymentform/...,
// outside /api, any case) and passes every other request to next.
func Pages(c *wiring.Core, s *Services, next http.Handler) http.Handler {
	g, _ := deploy.Lookup("paymentform")
	pages := paymentform.Pages(paymentform.PagesDeps{Payments: s.Payments, PublicURL: c.Config.PublicURL, Logger: c.Logger,
		MetricNamespace: deploy.MetricNamespace, FailureMetric: g.FailureMetric, Now: c.Now})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := webapi.CleanPath(r.URL.Path); strings.HasPrefix(p, "/paymentform/") {
			pages.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// PaymentFormFunction serves the paymentform group and its pages.
func PaymentFormFunction(c *wiring.Core) (http.Handler, error) {
	lic := wiring.NewLicenses(c)
	s, err := New(c, nil, lic, wiring.NewCustomers(c))
	if err != nil {
		return nil, err
	}
	return Pages(c, s, c.WebAPI(PaymentFormGroup(s))), nil
}

// SubscriptionFunction serves the subscription group.
func SubscriptionFunction(c *wiring.Core) (http.Handler, error) {
	lic := wiring.NewLicenses(c)
	s, err := New(c, nil, lic, wiring.NewCustomers(c))
	if err != nil {
		return nil, err
	}
	return c.WebAPI(SubscriptionGroup(c, s, lic)), nil
}

// AdminFunction serves the admin API (it needs the admin credential's
// hash in the configuration).
func AdminFunction(c *wiring.Core) (http.Handler, error) {
	if err := c.Config.RequireAdmin(); err != nil {
		return nil, err
	}
	kmsClient := signed.KMSClient(c)
	sk, err := signed.NewSigningKeys(c, kmsClient)
	if err != nil {
		return nil, err
	}
	lic := wiring.NewLicenses(c)
	s, err := New(c, kmsClient, lic, wiring.NewCustomers(c))
	if err != nil {
		return nil, err
	}
	return wiring.Admin(c, wiring.NewCatalog(c), sk, wiring.NewTemplates(c), AdminDeps(c, s, lic)), nil
}
