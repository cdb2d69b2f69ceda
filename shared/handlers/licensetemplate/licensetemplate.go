// Package licensetemplate implements the licensetemplate API group of Web
// API 3 (/api/licensetemplate/*). Templates are created through the admin
// API.
package licensetemplate

import (
	"context"

	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/webapi"
	"github.com/keyturn/keyturn/shared/wire"
)

// Group returns the licensetemplate API group.
func Group(templates *keys.Templates) webapi.Group {
	h := handlers{templates: templates}
	return webapi.Group{Name: "licensetemplate", Methods: []webapi.Method{
		{Name: "GetLicenseTemplates", Permission: "GetLicenseTemplates", Handle: h.list},
	}}
}

type handlers struct{ templates *keys.Templates }

// list implements GetLicenseTemplates; a product-locked token sees only
// that product's templates. Templates serve key creation, which a
// key-locked token cannot do: it is refused.
func (h handlers) list(ctx context.Context, c *webapi.Call) (any, error) {
	if err := c.Principal.Scope.RequireUnlockedKey(); err != nil {
		return nil, err
	}
	ts, err := h.templates.List(ctx, c.Principal.AccountID)
	if err != nil {
		return nil, err
	}
	out := wire.GetLicenseTemplatesResult{LicenseTemplates: []wire.LicenseTemplate{}}
	for _, t := range ts {
		if c.Principal.Scope.CheckProduct(t.ProductID) != nil {
			continue
		}
		out.LicenseTemplates = append(out.LicenseTemplates, wire.LicenseTemplate{ID: t.ID, Name: t.Name, ProductID: t.ProductID, Parameters: t.Parameters()})
	}
	return out, nil
}
