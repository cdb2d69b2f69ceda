// Package licensetemplate implements the licensetemplate API group of Web
// API 3 (/api/licensetemplate/*). Templates are created through the admin
// API.
package licensetemplate

import (
	"context"

	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/webapi"
)

// Group returns the licensetemplate API group.
func Group(templates *keys.Templates) webapi.Group {
	h := handlers{templates: templates}
	return webapi.Group{Name: "licensetemplate", Methods: []webapi.Method{
		{Name: "GetLicenseTemplates", Permission: "GetLicenseTemplates", Handle: h.list},
	}}
}

type handlers struct{ templates *keys.Templates }

// Template is the wire model of a license template.
type Template struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	ProductID  int64  `json:"productId"`
	Parameters string `json:"parameters"`
}

type listResult struct {
	LicenseTemplates []Template `json:"licenseTemplates"`
}

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
	out := listResult{LicenseTemplates: []Template{}}
	for _, t := range ts {
		if c.Principal.Scope.CheckProduct(t.ProductID) != nil {
			continue
		}
		out.LicenseTemplates = append(out.LicenseTemplates, Template{ID: t.ID, Name: t.Name, ProductID: t.ProductID, Parameters: t.Parameters()})
	}
	return out, nil
}
