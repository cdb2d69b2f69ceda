package app

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/deploy"
	"github.com/keyturn/keyturn/shared/handlers/bytex"
	"github.com/keyturn/keyturn/shared/handlers/netlicensing"
	"github.com/keyturn/keyturn/shared/handlers/revulytics"
	"github.com/keyturn/keyturn/shared/webapi"
	"github.com/keyturn/keyturn/shared/wiring"
	"github.com/keyturn/keyturn/shared/wiring/payment"
)

// FallbackFunction serves every Web API group behind the HTTP API's
// $default route, whatever the path spelling (not the admin API).
func FallbackFunction(c *wiring.Core) (http.Handler, error) {
	a, err := fromCore(c, nil)
	if err != nil {
		return nil, err
	}
	return a.Pages(Router(a.WebAPI(Groups(a)...), nil, Peers(a)...)), nil
}

// Peer is an HTTP surface other than Web API 3 (a peer API) that the
// router sends its own paths to.
type Peer struct {
	// Serves reports whether a path (cleaned by webapi.CleanPath, in any
	// case) is the peer's.
	Serves  func(path string) bool
	Handler http.Handler
}

// Peers returns every peer API with the paths it serves, for routers that
// serve them all (the local development server, the $default function).
func Peers(a *App) []Peer {
	return []Peer{
		{Serves: underPrefix(netlicensing.Prefix), Handler: a.NetLicensing()},
		{Serves: revulytics.Serves, Handler: a.Revulytics()},
		{Serves: bytex.Serves, Handler: a.Bytex()},
	}
}

// underPrefix serves the paths at or under the lower-case prefix p.
func underPrefix(p string) func(string) bool {
	return func(path string) bool {
		path = strings.ToLower(path)
		return path == p || strings.HasPrefix(path, p+"/")
	}
}

// Revulytics returns the Revulytics key registry API handler.
func (a *App) Revulytics() http.Handler { return wiring.Revulytics(a.Core, a.Sessions, a.Listing) }

// Bytex returns the Bytex vendor API handler.
func (a *App) Bytex() http.Handler {
	return wiring.Bytex(a.Core, a.Licenses, a.Customers, a.Listing, a.Users, a.Discounts)
}

// NetLicensing returns the NetLicensing licensee API handler.
func (a *App) NetLicensing() http.Handler { return wiring.NetLicensing(a.Core, a.Licensees) }

// Pages serves the payment pages and Stripe's webhook (/paymentform/...)
// and passes every other request to next.
func (a *App) Pages(next http.Handler) http.Handler { return payment.Pages(a.Core, a.payments(), next) }

// payments returns a's payment services.
func (a *App) payments() *payment.Services {
	return &payment.Services{Store: a.PaymentStore, Payments: a.Payments, Settings: a.StripeSettings, Discounts: a.Discounts, Metering: a.Metering}
}

// Admin returns the admin API handler.
func (a *App) Admin() http.Handler {
	return wiring.Admin(a.Core, a.Catalog, a.SigningKeys, a.Templates, payment.AdminDeps(a.Core, a.payments(), a.Licenses))
}

// Groups returns every Web API group, for servers that serve them all
// (the local development server, the fallback function).
func Groups(a *App) []webapi.Group {
	return []webapi.Group{
		wiring.ProductGroup(a.Core, a.Listing, a.Assembler, a.DataObjects),
		wiring.KeyGroup(a.Core, a.Licenses, a.Templates, a.SigningKeys, a.Customers, a.Assembler),
		wiring.AuthGroup(a.Core, a.Licenses),
		wiring.LicenseTemplateGroup(a.Templates),
		wiring.CustomerGroup(a.Core, a.Customers, a.Listing, a.Assembler),
		wiring.ResellerGroup(a.Customers),
		wiring.UserAuthGroup(a.Users),
		wiring.DataGroup(a.DataObjects),
		wiring.MessageGroup(a.Messages),
		payment.PaymentFormGroup(a.payments()),
		payment.SubscriptionGroup(a.Core, a.payments(), a.Licenses),
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
		return a.Pages(Router(a.WebAPI(Groups(a)...), nil, Peers(a)...)), nil
	case "netlicensing":
		return a.NetLicensing(), nil
	case "revulytics":
		return a.Revulytics(), nil
	case "bytex":
		return a.Bytex(), nil
	}
	for _, g := range Groups(a) {
		if g.Name == group && group == "paymentform" {
			return a.Pages(a.WebAPI(g)), nil
		}
		if g.Name == group {
			return a.WebAPI(g), nil
		}
	}
	return nil, fmt.Errorf("unknown group %q", group)
}

// Router sends /admin/... (any case, any slashes) to admin, the paths of
// each peer to the peer, and everything else to api. Peers come first, so
// a peer path under /api/ (Bytex's /API/Public/...) never reaches Web API
// 3's /api/<group>/<method> routing. api
// and adminAPI may be nil. A Web API path without api gets the Web API's
// answer to an unknown method: HTTP 200 with {"result":1,"message":"The
// method could not be found."}, like every API-level error, so that
// clients that drop the body of a non-2xx answer still see the message. An
// admin path without admin gets the admin API's own not-found answer (404
// {"error":"not found"}), so that admin clients, which go by the status,
// do not mistake it for a success.
func Router(api, adminAPI http.Handler, peers ...Peer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		clean := webapi.CleanPath(r.URL.Path)
		p := strings.ToLower(clean)
		for _, peer := range peers {
			if peer.Serves(clean) {
				peer.Handler.ServeHTTP(w, r)
				return
			}
		}
		h, status, body := api, http.StatusOK, `{"result":1,"message":"`+apierr.MethodNotFound.Message+`"}`
		if p == "/admin" || strings.HasPrefix(p, "/admin/") {
			h, status, body = adminAPI, http.StatusNotFound, `{"error":"not found"}`
		}
		if h == nil {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// HandlerFor returns what the function of group (see shared/deploy)
// serves, built from a's services (app.App.Handler): the group's handler,
// the admin API, or for the $default function every Web API group.
func HandlerFor(a *App, group string) (http.Handler, error) {
	if g, ok := deploy.Lookup(group); ok && g.Default {
		return a.Handler("fallback")
	}
	return a.Handler(group)
}
