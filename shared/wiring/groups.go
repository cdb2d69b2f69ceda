package wiring

import (
	"net/http"

	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/dataobj"
	"github.com/keyturn/keyturn/shared/handlers/admin"
	"github.com/keyturn/keyturn/shared/handlers/customer"
	"github.com/keyturn/keyturn/shared/handlers/data"
	"github.com/keyturn/keyturn/shared/handlers/key"
	"github.com/keyturn/keyturn/shared/handlers/keylock"
	"github.com/keyturn/keyturn/shared/handlers/licensetemplate"
	"github.com/keyturn/keyturn/shared/handlers/message"
	"github.com/keyturn/keyturn/shared/handlers/netlicensing"
	"github.com/keyturn/keyturn/shared/handlers/product"
	"github.com/keyturn/keyturn/shared/handlers/reseller"
	"github.com/keyturn/keyturn/shared/handlers/userauth"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/license"
	"github.com/keyturn/keyturn/shared/licensees"
	"github.com/keyturn/keyturn/shared/messages"
	"github.com/keyturn/keyturn/shared/users"
	"github.com/keyturn/keyturn/shared/webapi"
)

// A Function builds what one deployed group's Lambda serves (see
// shared/deploy and functions/<group>/main.go) from the Core, constructing
// only the services that group needs.
type Function func(c *Core) (http.Handler, error)

// Each group's handlers from its services (shared by the group's Function
// and by app.App, which serves every group).

// KeyGroup is the key group on the services given.
func KeyGroup(c *Core, lic *keys.Service, tpl *keys.Templates, sk key.Signers, cust *customers.Service, asm *license.Assembler) webapi.Group {
	return key.Group(key.Deps{Licenses: lic, Products: c.Products, Templates: tpl, Signers: sk, Now: c.Now, Customers: cust, Assembler: asm})
}

// ProductGroup is the product group on the services given.
func ProductGroup(c *Core, l *keys.Listing, asm *license.Assembler, objs *dataobj.Service) webapi.Group {
	return product.Group(product.Deps{Catalog: NewCatalog(c), Products: c.Products, DataObjects: objs, Listing: l, Assembler: asm, Now: c.Now})
}

// AuthGroup is the auth group (KeyLock) on the services given.
func AuthGroup(c *Core, lic *keys.Service) webapi.Group {
	return keylock.Group(keylock.Deps{Licenses: lic, Products: c.Products, Tokens: c.Tokens})
}

// CustomerGroup is the customer group on the services given.
func CustomerGroup(c *Core, cust *customers.Service, l *keys.Listing, asm *license.Assembler) webapi.Group {
	return customer.Group(customer.Deps{Customers: cust, Listing: l, Assembler: asm, Products: c.Products,
		PublicURL: c.Config.PublicURL, Now: c.Now})
}

// UserAuthGroup is the userauth group on the service given.
func UserAuthGroup(u *users.Service) webapi.Group { return userauth.Group(userauth.Deps{Users: u}) }

// DataGroup is the data group on the service given.
func DataGroup(o *dataobj.Service) webapi.Group { return data.Group(data.Deps{Objects: o}) }

// LicenseTemplateGroup is the licensetemplate group on the service given.
func LicenseTemplateGroup(t *keys.Templates) webapi.Group { return licensetemplate.Group(t) }

// MessageGroup is the message group on the service given.
func MessageGroup(m *messages.Service) webapi.Group { return message.Group(message.Deps{Messages: m}) }

// ResellerGroup is the reseller group on the service given.
func ResellerGroup(cust *customers.Service) webapi.Group { return reseller.Group(cust) }

// NetLicensing is the NetLicensing licensee API (a peer API, served under
// netlicensing.Prefix) on the service given.
func NetLicensing(c *Core, l *licensees.Service) http.Handler {
	return netlicensing.New(netlicensing.Deps{Licensees: l, Auth: c.Tokens, Logger: c.Logger, MaxBodyBytes: c.Config.MaxBodyBytes})
}

// Admin is the admin API on the services given.
func Admin(c *Core, cat *catalog.Service, sk admin.SigningKeys, tpl *keys.Templates, pay admin.PaymentDeps) http.Handler {
	return admin.New(admin.Deps{
		Catalog: cat, Tokens: c.Tokens, SigningKeys: sk, Templates: tpl, Payments: pay,
		SecretSHA256: c.Config.AdminSecretSHA256, Logger: c.Logger, MaxBodyBytes: c.Config.MaxBodyBytes,
		RequestTimeout: c.Config.RequestTimeout,
	})
}

// ProductFunction serves the product group.
func ProductFunction(c *Core) (http.Handler, error) {
	return c.WebAPI(ProductGroup(c, NewListing(c), NewAssembler(c), NewDataObjects(c))), nil
}

// AuthFunction serves the auth group (KeyLock).
func AuthFunction(c *Core) (http.Handler, error) { return c.WebAPI(AuthGroup(c, NewLicenses(c))), nil }

// LicenseTemplateFunction serves the licensetemplate group.
func LicenseTemplateFunction(c *Core) (http.Handler, error) {
	return c.WebAPI(LicenseTemplateGroup(NewTemplates(c))), nil
}

// CustomerFunction serves the customer group.
func CustomerFunction(c *Core) (http.Handler, error) {
	return c.WebAPI(CustomerGroup(c, NewCustomers(c), NewListing(c), NewAssembler(c))), nil
}

// ResellerFunction serves the reseller group.
func ResellerFunction(c *Core) (http.Handler, error) {
	return c.WebAPI(ResellerGroup(NewCustomers(c))), nil
}

// DataFunction serves the data group.
func DataFunction(c *Core) (http.Handler, error) { return c.WebAPI(DataGroup(NewDataObjects(c))), nil }

// UserAuthFunction serves the userauth group.
func UserAuthFunction(c *Core) (http.Handler, error) {
	return c.WebAPI(UserAuthGroup(NewUsers(c))), nil
}

// MessageFunction serves the message group.
func MessageFunction(c *Core) (http.Handler, error) {
	return c.WebAPI(MessageGroup(NewMessages(c))), nil
}

// NetLicensingFunction serves the NetLicensing licensee API.
func NetLicensingFunction(c *Core) (http.Handler, error) {
	return NetLicensing(c, NewLicensees(c, NewLicenses(c), NewCustomers(c))), nil
}
