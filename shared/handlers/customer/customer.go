// Package customer implements the customer API group of Web API 3
// (/api/customer/*): AddCustomer, EditCustomer, GetCustomers,
// GetCustomerLicenses, GetCustomerLicensesBySecret and RemoveCustomer.
package customer

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/handlers/internal/bind"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/license"
	"github.com/keyturn/keyturn/shared/webapi"
	"github.com/keyturn/keyturn/shared/wire"
)

// Deps are the customer group's dependencies.
type Deps struct {
	Customers *customers.Service
	// Listing lists a customer's licenses.
	Listing *keys.Listing
	// Assembler adds the customer, reseller and data objects of licenses
	// (Detailed=true).
	Assembler *license.Assembler
	// Products gives feature definitions for Metadata=true.
	Products catalog.ProductReader
	// PublicURL is the deployment's base URL for portal links. Links carry
	// the customer secret, so they are never built from request headers:
	// with no PublicURL, answers carry no portal link.
	PublicURL string
	Now       func() time.Time
}

type handlers struct{ d Deps }

// Group returns the customer API group. Customers belong to the account,
// not to a product or key: a token with a product or key lock may only
// list a customer's licenses (filtered by its locks); the methods that
// create, change or list customers refuse it (webapi.Method.AccountWide).
func Group(d Deps) webapi.Group {
	h := handlers{d: d}
	return webapi.Group{Name: "customer", Methods: []webapi.Method{
		{Name: "AddCustomer", Permission: "AddCustomer", AccountWide: true, Handle: h.add},
		{Name: "EditCustomer", Permission: "EditCustomer", AccountWide: true, Handle: h.edit},
		{Name: "GetCustomers", Permission: "GetCustomers", AccountWide: true, Handle: h.list},
		{Name: "GetCustomerLicenses", Permission: "GetCustomerLicenses", Handle: h.licenses},
		{Name: "GetCustomerLicensesBySecret", Permission: "GetCustomerLicensesBySecret", Handle: h.licensesBySecret},
		{Name: "RemoveCustomer", Permission: "RemoveCustomer", AccountWide: true, Handle: h.remove},
	}}
}

// portalLink is the customer portal address of this deployment, on the
// configured PublicURL; nil when none is configured.
func (h handlers) portalLink(cust customers.Customer) *string {
	if h.d.PublicURL == "" {
		return nil
	}
	q := url.Values{"account": {strconv.FormatInt(cust.AccountID, 10)}, "customer": {strconv.FormatInt(cust.ID, 10)}, "code": {cust.Secret}}
	link := h.d.PublicURL + "/portal/customer?" + q.Encode()
	return &link
}

// add implements AddCustomer. Name is required; Email and CompanyName must
// be sent but may be empty (the official SDKs send empty strings for
// them by default, and the reference service accepts that): an empty one
// is stored as no value and shows as null, as CreateKey's NewCustomer does.
func (h handlers) add(ctx context.Context, c *webapi.Call) (any, error) {
	f, err := bind.CustomerFields(c.Params)
	if err != nil {
		return nil, err
	}
	_, email := c.Params.Raw("Email")
	_, company := c.Params.Raw("CompanyName")
	if f.Name == nil || !email || !company {
		return nil, apierr.BadInput
	}
	f.MaxNoOfDevices = nil // set with EditCustomer only
	cust, err := h.d.Customers.AddCustomer(ctx, c.Principal.AccountID, f)
	if err != nil {
		return nil, err
	}
	out := wire.AddCustomerResult{CustomerID: cust.ID, Secret: cust.Secret}
	if cust.EnableCustomerAssociation {
		out.PortalLink = h.portalLink(cust)
	}
	return out, nil
}

// edit implements EditCustomer: only given fields change; Secret=true
// issues a new secret. The portal link and secret are returned when
// EnableCustomerAssociation or Secret is true.
func (h handlers) edit(ctx context.Context, c *webapi.Call) (any, error) {
	id, err := c.Params.Int32("CustomerId", 0)
	if err != nil || id <= 0 {
		return nil, apierr.BadInput
	}
	f, err := bind.CustomerFields(c.Params)
	if err != nil {
		return nil, err
	}
	newSecret, err := c.Params.Bool("Secret", false)
	if err != nil {
		return nil, err
	}
	cust, err := h.d.Customers.EditCustomer(ctx, c.Principal.AccountID, id, f, newSecret)
	if err != nil {
		return nil, err
	}
	out := wire.EditCustomerResult{CustomerID: cust.ID}
	if newSecret || (f.EnableCustomerAssociation != nil && *f.EnableCustomerAssociation) {
		out.PortalLink, out.Secret = h.portalLink(cust), &cust.Secret
	}
	return out, nil
}

// list implements GetCustomers.
func (h handlers) list(ctx context.Context, c *webapi.Call) (any, error) {
	var q customers.CustomerQuery
	var err error
	q.Search, _ = c.Params.String("Search")
	if q.IncludeIDSearch, err = c.Params.Bool("IncludeIdInSearch", false); err != nil {
		return nil, err
	}
	if q.CustomerID, err = c.Params.Int32("CustomerId", 0); err != nil {
		return nil, err
	}
	if q.Limit, err = c.Params.Int32("Limit", 0); err != nil || q.Limit < 0 {
		return nil, apierr.BadInput
	}
	if q.CreatedNewestTop, err = c.Params.Bool("SortByCreatedDescending", false); err != nil {
		return nil, err
	}
	model, err := c.Params.ModelVersion(2)
	if err != nil {
		return nil, err
	}
	cs, err := h.d.Customers.GetCustomers(ctx, c.Principal.AccountID, q)
	if err != nil {
		return nil, err
	}
	out := wire.GetCustomersResult{Customers: wire.Customers(cs, model), ResellerCustomers: []wire.Customer{}, VisibleCustomers: []wire.Customer{}}
	return out, nil
}

// licenses implements GetCustomerLicenses.
func (h handlers) licenses(ctx context.Context, c *webapi.Call) (any, error) {
	id, err := c.Params.Int32("CustomerId", 0)
	if err != nil || id <= 0 {
		return nil, apierr.BadInput
	}
	cust, err := h.d.Customers.Customer(ctx, c.Principal.AccountID, id)
	if errors.Is(err, apierr.NotFound) {
		return nil, apierr.CustomerDoesNotExist
	}
	if err != nil {
		return nil, err
	}
	return h.customerLicenses(ctx, c, cust)
}

// licensesBySecret implements GetCustomerLicensesBySecret.
func (h handlers) licensesBySecret(ctx context.Context, c *webapi.Call) (any, error) {
	secret, _ := c.Params.String("Secret")
	cust, err := h.d.Customers.CustomerBySecret(ctx, c.Principal.AccountID, secret)
	if err != nil {
		return nil, err
	}
	return h.customerLicenses(ctx, c, cust)
}

// customerLicenses lists a customer's licenses the token may see (product
// and key locks filter them): Basic License Keys, or with Detailed=true the
// License Key model (ModelVersion; reseller null as documented); with
// Metadata=true a GlobalId -> Metadata dictionary. A non-zero feature lock
// masks the licenses and metadata as it masks GetKey's; when it hides
// GlobalId, the dictionary (keyed by GlobalId) stays empty.
func (h handlers) customerLicenses(ctx context.Context, c *webapi.Call, cust customers.Customer) (any, error) {
	detailed, err := c.Params.Bool("Detailed", false)
	if err != nil {
		return nil, err
	}
	withMeta, err := c.Params.Bool("Metadata", false)
	if err != nil {
		return nil, err
	}
	model, err := c.Params.ModelVersion(3)
	if err != nil {
		return nil, err
	}
	recs, err := h.d.Listing.CustomerLicenses(ctx, c.Principal.AccountID, cust.ID, detailed || withMeta)
	if err != nil {
		return nil, err
	}
	scope := c.Principal.Scope
	visible := recs[:0]
	for _, r := range recs {
		if scope.CheckKey(r.ProductID, r.ID) == nil {
			visible = append(visible, r)
		}
	}
	now := h.d.Now()
	fields := scope.FeatureLock
	out := wire.CustomerLicensesResult{}
	basic := make([]wire.BasicLicense, 0, len(visible))
	full := make([]wire.UnsignedLicense, 0, len(visible))
	products := map[int64]catalog.Product{}
	var meta map[string]wire.Metadata
	if withMeta {
		meta = map[string]wire.Metadata{}
		out.Metadata = meta
	}
	var rel []license.Related
	if detailed || withMeta {
		if rel, err = h.d.Assembler.Related(ctx, c.Principal.AccountID, visible, false); err != nil {
			return nil, err
		}
	}
	for i, r := range visible {
		l := license.FromRecord(r, now, model, "")
		if rel != nil {
			l = l.WithRelated(rel[i])
		}
		if detailed {
			full = append(full, license.Unsigned(license.Mask(l, fields, ""), int(model)))
		} else {
			basic = append(basic, license.MaskBasic(license.Basic(r), fields))
		}
		if withMeta && fields&license.HideGlobalID == 0 {
			p, ok := products[r.ProductID]
			if !ok {
				if p, err = h.d.Products.GetProduct(ctx, c.Principal.AccountID, r.ProductID); err != nil {
					return nil, err
				}
				products[r.ProductID] = p
			}
			meta[strconv.FormatInt(r.GlobalID, 10)] = license.MaskMetadata(license.ComputeMetadata(l, p.Features, now), fields)
		}
	}
	if detailed {
		out.LicenseKeys = full
	} else {
		out.LicenseKeys = basic
	}
	return out, nil
}

// remove implements RemoveCustomer: the customer goes; its licenses stay,
// dissociated (see package customers).
func (h handlers) remove(ctx context.Context, c *webapi.Call) (any, error) {
	id, err := c.Params.Int32("CustomerId", 0)
	if err != nil || id <= 0 {
		return nil, apierr.BadInput
	}
	return nil, h.d.Customers.RemoveCustomer(ctx, c.Principal.AccountID, id)
}
