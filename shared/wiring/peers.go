package wiring

import (
	"net/http"

	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/handlers/bytex"
	"github.com/keyturn/keyturn/shared/handlers/revulytics"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/payments"
	"github.com/keyturn/keyturn/shared/users"
)

// Revulytics is the Revulytics key registry API (POST /auth/login,
// /auth/logout, /licenseKeys/listKeys) on the services given.
func Revulytics(c *Core, s *auth.Sessions, l *keys.Listing) http.Handler {
	return revulytics.New(revulytics.Deps{Sessions: s, Products: c.Products, Listing: l, Editors: c.Tokens,
		Now: c.Now, Logger: c.Logger, MaxBodyBytes: c.Config.MaxBodyBytes})
}

// RevulyticsFunction serves the Revulytics key registry API.
func RevulyticsFunction(c *Core) (http.Handler, error) {
	return Revulytics(c, NewSessions(c), NewListing(c)), nil
}

// Bytex is the Bytex vendor API (/API/Public/v1/...) on the services
// given.
func Bytex(c *Core, lic *keys.Service, cust *customers.Service, l *keys.Listing, u *users.Service, d *payments.Discounts) http.Handler {
	return bytex.New(bytex.Deps{Tokens: c.Tokens, Products: NewCatalog(c), Keys: lic, Customers: cust, Licenses: l,
		Users: u, Discounts: bytex.PaymentDiscounts(d, c.Now), Now: c.Now, Logger: c.Logger, MaxBodyBytes: c.Config.MaxBodyBytes})
}

// BytexFunction serves the Bytex vendor API.
func BytexFunction(c *Core) (http.Handler, error) {
	return Bytex(c, NewLicenses(c), NewCustomers(c), NewListing(c), NewUsers(c), NewDiscounts(c)), nil
}
