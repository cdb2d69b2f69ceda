package app

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/dataobj"
	"github.com/keyturn/keyturn/shared/handlers/admin"
	"github.com/keyturn/keyturn/shared/handlers/customer"
	"github.com/keyturn/keyturn/shared/handlers/data"
	"github.com/keyturn/keyturn/shared/handlers/key"
	"github.com/keyturn/keyturn/shared/handlers/keylock"
	"github.com/keyturn/keyturn/shared/handlers/licensetemplate"
	"github.com/keyturn/keyturn/shared/handlers/product"
	"github.com/keyturn/keyturn/shared/handlers/reseller"
	"github.com/keyturn/keyturn/shared/handlers/userauth"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/license"
	"github.com/keyturn/keyturn/shared/signing"
	"github.com/keyturn/keyturn/shared/users"
	"github.com/keyturn/keyturn/shared/webapi"
)

// A Function builds what one deployed group's Lambda serves (see
// shared/deploy and functions/<group>/main.go) from the Core, constructing
// only the services that group needs.
type Function func(c *Core) (http.Handler, error)

// Each group's handlers from its services (shared by the group's Function
// and by App, which serves every group).

func keyGroup(c *Core, lic *keys.Service, tpl *keys.Templates, sk *signing.Manager, cust *customers.Service, asm *license.Assembler) webapi.Group {
	return key.Group(key.Deps{Licenses: lic, Products: c.Products, Templates: tpl, Signers: sk, Now: c.Now, Customers: cust, Assembler: asm})
}

func productGroup(c *Core, l *keys.Listing, asm *license.Assembler, objs *dataobj.Service) webapi.Group {
	return product.Group(product.Deps{Catalog: NewCatalog(c), Products: c.Products, DataObjects: objs, Listing: l, Assembler: asm, Now: c.Now})
}

func authGroup(c *Core, lic *keys.Service) webapi.Group {
	return keylock.Group(keylock.Deps{Licenses: lic, Products: c.Products, Tokens: c.Tokens})
}

func customerGroup(c *Core, cust *customers.Service, l *keys.Listing, asm *license.Assembler) webapi.Group {
	return customer.Group(customer.Deps{Customers: cust, Listing: l, Assembler: asm, Products: c.Products,
		PublicURL: c.Config.PublicURL, Now: c.Now})
}

func userauthGroup(u *users.Service) webapi.Group { return userauth.Group(userauth.Deps{Users: u}) }

func dataGroup(o *dataobj.Service) webapi.Group { return data.Group(data.Deps{Objects: o}) }

// KeyFunction serves the key group.
func KeyFunction(c *Core) (http.Handler, error) {
	sk, err := NewSigningKeys(c)
	if err != nil {
		return nil, err
	}
	return c.WebAPI(keyGroup(c, NewLicenses(c), NewTemplates(c), sk, NewCustomers(c), NewAssembler(c))), nil
}

// ProductFunction serves the product group.
func ProductFunction(c *Core) (http.Handler, error) {
	return c.WebAPI(productGroup(c, NewListing(c), NewAssembler(c), NewDataObjects(c))), nil
}

// AuthFunction serves the auth group (KeyLock).
func AuthFunction(c *Core) (http.Handler, error) {
	return c.WebAPI(authGroup(c, NewLicenses(c))), nil
}

// LicenseTemplateFunction serves the licensetemplate group.
func LicenseTemplateFunction(c *Core) (http.Handler, error) {
	return c.WebAPI(licensetemplate.Group(NewTemplates(c))), nil
}

// CustomerFunction serves the customer group.
func CustomerFunction(c *Core) (http.Handler, error) {
	return c.WebAPI(customerGroup(c, NewCustomers(c), NewListing(c), NewAssembler(c))), nil
}

// ResellerFunction serves the reseller group.
func ResellerFunction(c *Core) (http.Handler, error) {
	return c.WebAPI(reseller.Group(NewCustomers(c))), nil
}

// DataFunction serves the data group.
func DataFunction(c *Core) (http.Handler, error) {
	return c.WebAPI(dataGroup(NewDataObjects(c))), nil
}

// UserAuthFunction serves the userauth group.
func UserAuthFunction(c *Core) (http.Handler, error) {
	return c.WebAPI(userauthGroup(NewUsers(c))), nil
}

// AdminFunction serves the admin API (it needs the admin credential's
// hash in the configuration).
func AdminFunction(c *Core) (http.Handler, error) {
	if err := c.Config.RequireAdmin(); err != nil {
		return nil, err
	}
	sk, err := NewSigningKeys(c)
	if err != nil {
		return nil, err
	}
	return adminHandler(c, NewCatalog(c), sk, NewTemplates(c)), nil
}

// FallbackFunction serves every Web API group behind the HTTP API's
// $default route, whatever the path spelling (not the admin API).
func FallbackFunction(c *Core) (http.Handler, error) {
	a, err := fromCore(c)
	if err != nil {
		return nil, err
	}
	return Router(a.WebAPI(Groups(a)...), nil), nil
}

func adminHandler(c *Core, cat *catalog.Service, sk *signing.Manager, tpl *keys.Templates) http.Handler {
	return admin.New(admin.Deps{
		Catalog: cat, Tokens: c.Tokens, SigningKeys: sk, Templates: tpl,
		SecretSHA256: c.Config.AdminSecretSHA256, Logger: c.Logger, MaxBodyBytes: c.Config.MaxBodyBytes,
		RequestTimeout: c.Config.RequestTimeout,
	})
}

// Admin returns the admin API handler.
func (a *App) Admin() http.Handler {
	return adminHandler(a.Core, a.Catalog, a.SigningKeys, a.Templates)
}

// Groups returns every Web API group, for servers that serve them all
// (the local development server, the fallback function).
func Groups(a *App) []webapi.Group {
	return []webapi.Group{
		productGroup(a.Core, a.Listing, a.Assembler, a.DataObjects),
		keyGroup(a.Core, a.Licenses, a.Templates, a.SigningKeys, a.Customers, a.Assembler),
		authGroup(a.Core, a.Licenses),
		licensetemplate.Group(a.Templates),
		customerGroup(a.Core, a.Customers, a.Listing, a.Assembler),
		reseller.Group(a.Customers),
		userauthGroup(a.Users),
		dataGroup(a.DataObjects),
	}
}

// Handler returns what the function of group serves (see shared/deploy),
// built from a's services: one group's handlers, the admin API, or for
// the fallback every Web API group.
func (a *App) Handler(group string) (http.Handler, error) {
	switch group {
	case "admin":
		if err := a.Config.RequireAdmin(); err != nil {
			return nil, err
		}
		return a.Admin(), nil
	case "fallback":
		return Router(a.WebAPI(Groups(a)...), nil), nil
	}
	for _, g := range Groups(a) {
		if g.Name == group {
			return a.WebAPI(g), nil
		}
	}
	return nil, fmt.Errorf("unknown group %q", group)
}

// fromCore builds every service on c (what the fallback function serves).
func fromCore(c *Core) (*App, error) {
	sk, err := NewSigningKeys(c)
	if err != nil {
		return nil, err
	}
	st := c.Stores
	return &App{
		Core: c, Table: st.Table, CatalogStore: st.Catalog, LicenseStore: st.Licenses, CustomerStore: st.Customers,
		UserStore: st.Users, DataStore: st.Data,
		Catalog: NewCatalog(c), SigningKeys: sk, Licenses: NewLicenses(c), Templates: NewTemplates(c),
		Listing: NewListing(c), Assembler: NewAssembler(c), Customers: NewCustomers(c), Users: NewUsers(c),
		DataObjects: NewDataObjects(c),
	}, nil
}

// Router sends /admin/... (any case, any slashes) to admin and everything
// else to api. Either may be nil (then those paths get a JSON 404).
func Router(api, adminAPI http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.ToLower(webapi.CleanPath(r.URL.Path))
		h := api
		if p == "/admin" || strings.HasPrefix(p, "/admin/") {
			h = adminAPI
		}
		if h == nil {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"result":1,"message":"The method could not be found."}`)
			return
		}
		h.ServeHTTP(w, r)
	})
}
