// Package app builds every service and handler of Keyturn on one process:
// what the local development server, the $default fallback function and
// end-to-end tests serve. Each other Lambda builds only its own group
// (shared/wiring, shared/wiring/signed); both use the same constructors, so
// there is no second implementation of anything.
package app

import (
	"context"
	"io"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/dataobj"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/dynamo/catalogstore"
	"github.com/keyturn/keyturn/shared/dynamo/customerstore"
	"github.com/keyturn/keyturn/shared/dynamo/datastore"
	"github.com/keyturn/keyturn/shared/dynamo/licensestore"
	"github.com/keyturn/keyturn/shared/dynamo/paymentstore"
	"github.com/keyturn/keyturn/shared/dynamo/userstore"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/license"
	"github.com/keyturn/keyturn/shared/licensees"
	"github.com/keyturn/keyturn/shared/messages"
	"github.com/keyturn/keyturn/shared/payments"
	"github.com/keyturn/keyturn/shared/signing"
	"github.com/keyturn/keyturn/shared/users"
	"github.com/keyturn/keyturn/shared/wiring"
	"github.com/keyturn/keyturn/shared/wiring/payment"
	"github.com/keyturn/keyturn/shared/wiring/signed"
)

// App holds every service of the process. Build it once and share it
// between requests; everything in it is safe for concurrent use.
type App struct {
	*wiring.Core
	// Table is the DynamoDB table; the *Store fields are its adapters.
	Table         *dynamo.Table
	CatalogStore  *catalogstore.Store
	LicenseStore  *licensestore.Store
	CustomerStore *customerstore.Store
	UserStore     *userstore.Store
	DataStore     *datastore.Store
	Catalog       *catalog.Service
	// SigningKeys manages the accounts' signing keys.
	SigningKeys *signing.Manager
	// Licenses is the license-key service; Templates the license
	// templates; Listing pages through products' and customers' keys;
	// Assembler adds a license's customer, reseller and data objects.
	Licenses  *keys.Service
	Templates *keys.Templates
	Listing   *keys.Listing
	Assembler *license.Assembler
	// Customers manages customers and resellers.
	Customers *customers.Service
	// Users are the end-user accounts (userauth).
	Users *users.Service
	// DataObjects are the data objects (usage counters).
	DataObjects *dataobj.Service
	// Messages are the messages vendors broadcast to their apps.
	Messages *messages.Service
	// PaymentStore holds payment forms, sessions, discount codes and
	// subscription links; Payments runs payment forms with Stripe,
	// StripeSettings holds the accounts' sealed Stripe keys, Discounts the
	// discount codes, Metering metered billing.
	PaymentStore   *paymentstore.Store
	Payments       *payments.Service
	StripeSettings *payments.Settings
	Discounts      *payments.Discounts
	Metering       *payments.Metering
	// Licensees is the NetLicensing licensee view of customers and keys.
	Licensees *licensees.Service
	// Sessions are the login sessions of peer APIs (Revulytics).
	Sessions *auth.Sessions
}

// Clients are AWS clients to use instead of building them from the
// environment (tests). Leave a field nil to have it built.
type Clients struct {
	DynamoDB dynamo.API
	KMS      *kms.Client
}

// New builds an App: the Core (AWS clients from the environment unless
// clients supplies them) and every service. Nothing at start-up calls AWS.
func New(_ context.Context, cfg config.Config, logger *slog.Logger, clients Clients) (*App, error) {
	c, err := wiring.NewCore(cfg, logger, wiring.Clients{DynamoDB: clients.DynamoDB})
	if err != nil {
		return nil, err
	}
	if cfg.PublicURL == "" {
		c.Logger.Warn(config.EnvPublicURL + " is not set: customer portal links are left out of answers")
	}
	return fromCore(c, clients.KMS)
}

// fromCore builds every service on c.
func fromCore(c *wiring.Core, kmsClient *kms.Client) (*App, error) {
	if kmsClient == nil && c.NeedsKMS() {
		kmsClient = signed.KMSClient(c)
	}
	sk, err := signed.NewSigningKeys(c, kmsClient)
	if err != nil {
		return nil, err
	}
	st := c.Stores
	lic, cust := wiring.NewLicenses(c), wiring.NewCustomers(c)
	pay, err := payment.New(c, kmsClient, lic, cust)
	if err != nil {
		return nil, err
	}
	return &App{
		Core: c, Table: st.Table, CatalogStore: st.Catalog, LicenseStore: st.Licenses, CustomerStore: st.Customers,
		UserStore: st.Users, DataStore: st.Data,
		Catalog: wiring.NewCatalog(c), SigningKeys: sk, Licenses: lic, Templates: wiring.NewTemplates(c),
		Listing: wiring.NewListing(c), Assembler: wiring.NewAssembler(c), Customers: cust,
		Users: wiring.NewUsers(c), DataObjects: wiring.NewDataObjects(c), Messages: wiring.NewMessages(c),
		PaymentStore: pay.Store, Payments: pay.Payments, StripeSettings: pay.Settings, Discounts: pay.Discounts, Metering: pay.Metering,
		Licensees: wiring.NewLicensees(c, lic, cust), Sessions: wiring.NewSessions(c),
	}, nil
}

// NewLogger returns a JSON slog logger at the given level.
func NewLogger(level string, w io.Writer) *slog.Logger { return wiring.NewLogger(level, w) }
