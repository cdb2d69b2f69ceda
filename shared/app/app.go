// Package app wires Keyturn from its configuration: AWS clients, the
// DynamoDB adapters, the domain services and the HTTP handlers. Each Lambda
// main calls the one Function of its group (groups.go), which builds only
// what that group needs; the local development server, the $default
// fallback function and end-to-end tests build everything through New, so
// there is no second implementation of anything.
package app

import (
	"context"
	"log/slog"

	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/dataobj"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/dynamo/catalogstore"
	"github.com/keyturn/keyturn/shared/dynamo/customerstore"
	"github.com/keyturn/keyturn/shared/dynamo/datastore"
	"github.com/keyturn/keyturn/shared/dynamo/licensestore"
	"github.com/keyturn/keyturn/shared/dynamo/userstore"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/license"
	"github.com/keyturn/keyturn/shared/signing"
	"github.com/keyturn/keyturn/shared/users"
)

// App holds every service of the process (the development server, the
// fallback function, tests). Build it once and share it between requests;
// everything in it is safe for concurrent use.
type App struct {
	*Core
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
}

// New builds an App: the Core (AWS clients from the environment unless
// clients supplies them) and every service. ctx is unused today (nothing at
// start-up calls AWS) and kept for the callers' sake.
func New(_ context.Context, cfg config.Config, logger *slog.Logger, clients Clients) (*App, error) {
	c, err := NewCore(cfg, logger, clients)
	if err != nil {
		return nil, err
	}
	if cfg.PublicURL == "" {
		c.Logger.Warn(config.EnvPublicURL + " is not set: customer portal links are left out of answers")
	}
	return fromCore(c)
}
