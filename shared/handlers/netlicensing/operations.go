package netlicensing

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/licensees"
)

// The operations.
var (
	opList        = operation{"licensee/list", readRoles, list}
	opGet         = operation{"licensee/get", readRoles, get}
	opCreate      = operation{"licensee/create", writeRoles, create}
	opUpdate      = operation{"licensee/update", writeRoles, update}
	opDelete      = operation{"licensee/delete", writeRoles, remove}
	opValidate    = operation{"licensee/validate", licenseeRoles, validate}
	opValidateGet = operation{"licensee/validate(GET)", licenseeRoles, validate}
	opTransfer    = operation{"licensee/transfer", licenseeRoles, transfer}
)

// Names of the licensee's own properties; any other parameter of create
// and update is a custom property. keyturnCustomerId links the licensee to
// a Keyturn customer (create) and shows it (read-only afterwards).
const (
	pNumber            = "number"
	pName              = "name"
	pActive            = "active"
	pSecret            = "licenseeSecret"
	pMarkedForTransfer = "markedForTransfer"
	pProductNumber     = "productNumber"
	pInUse             = "inUse"
	pCustomerID        = "keyturnCustomerId"
)

// reserved are names that are never custom properties.
var reserved = map[string]bool{
	pNumber: true, pName: true, pActive: true, pSecret: true, pMarkedForTransfer: true, pProductNumber: true,
	pInUse: true, pCustomerID: true, "id": true, "deleted": true,
}

// fields reads the settable licensee fields; other parameters are custom
// properties. An empty number means "not given".
func fields(p params) licensees.Fields {
	f := licensees.Fields{Active: p.boolean(pActive), MarkedForTransfer: p.boolean(pMarkedForTransfer)}
	if v, ok := p.get(pNumber); ok && v != "" {
		f.Number = &v
	}
	if v, ok := p.get(pName); ok {
		f.Name = &v
	}
	if v, ok := p.get(pSecret); ok {
		f.Secret = &v
	}
	for k, v := range p {
		if !reserved[k] {
			if f.Properties == nil {
				f.Properties = map[string]string{}
			}
			f.Properties[k] = v
		}
	}
	return f
}

// productNumber is the product's id in decimal (Keyturn products have
// numeric ids). Anything else names no product (id 0).
func productNumber(s string) int64 {
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// licenseeItem renders a licensee.
func licenseeItem(v licensees.View) Item {
	ps := []Property{prop(pNumber, v.Number), boolProp(pActive, v.Active)}
	if v.Name != "" {
		ps = append(ps, prop(pName, v.Name))
	}
	ps = append(ps, prop(pProductNumber, strconv.FormatInt(v.ProductID, 10)))
	if v.Secret != "" {
		ps = append(ps, prop(pSecret, v.Secret))
	}
	ps = append(ps, boolProp(pMarkedForTransfer, v.MarkedForTransfer), boolProp(pInUse, v.InUse),
		prop(pCustomerID, strconv.FormatInt(v.CustomerID, 10)))
	names := make([]string, 0, len(v.Properties))
	for k := range v.Properties {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		ps = append(ps, prop(k, v.Properties[k]))
	}
	return Item{Type: "Licensee", Properties: ps}
}

func one(v licensees.View) *Document { return &Document{Items: []Item{licenseeItem(v)}} }

// list: GET licensee[?filter=page=N;items=M].
func list(ctx context.Context, h *Handler, c *call) (int, *Document, error) {
	page, size := 0, licensees.MaxPageSize
	if f, ok := c.params.get("filter"); ok {
		for _, pair := range strings.Split(f, ";") {
			k, v, _ := strings.Cut(pair, "=")
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				continue // lenient: unknown or malformed filter entries are ignored
			}
			switch strings.TrimSpace(k) {
			case "page":
				page = max(n, 0)
			case "items":
				size = n
			}
		}
	}
	pg, err := h.d.Licensees.List(ctx, c.principal.AccountID, page, size, c.lim)
	if err != nil {
		return 0, nil, err
	}
	d := &Document{Items: make([]Item, len(pg.Items)), Page: &PageInfo{PageNumber: pg.Number, ItemsNumber: len(pg.Items),
		TotalPages: pg.TotalPages, TotalItems: pg.TotalItems, HasNext: pg.HasNext()}}
	for i, v := range pg.Items {
		d.Items[i] = licenseeItem(v)
	}
	return http.StatusOK, d, nil
}

// get: GET licensee/{number}.
func get(ctx context.Context, h *Handler, c *call) (int, *Document, error) {
	v, err := h.d.Licensees.Get(ctx, c.principal.AccountID, c.number, c.lim)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, one(v), nil
}

// create: POST licensee.
func create(ctx context.Context, h *Handler, c *call) (int, *Document, error) {
	pn, ok := c.params.get(pProductNumber)
	if !ok || strings.TrimSpace(pn) == "" {
		return 0, nil, apierr.LicenseeProductNotProvided
	}
	var customerID int64
	if s, ok := c.params.get(pCustomerID); ok && s != "" {
		id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || id <= 0 {
			return 0, nil, apierr.New(msgBadCustomerRef)
		}
		customerID = id
	}
	v, err := h.d.Licensees.Create(ctx, c.principal.AccountID, productNumber(pn), fields(c.params), customerID, c.lim)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, one(v), nil
}

// update: POST licensee/{number}. productNumber, inUse and
// keyturnCustomerId are read-only and ignored.
func update(ctx context.Context, h *Handler, c *call) (int, *Document, error) {
	v, err := h.d.Licensees.Update(ctx, c.principal.AccountID, c.number, fields(c.params), c.lim)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, one(v), nil
}

// remove: DELETE licensee/{number}?forceCascade[=true|false]. As the
// documented URL (licensee/{number}?forceCascade) reads, the parameter
// without a value is the flag set.
func remove(ctx context.Context, h *Handler, c *call) (int, *Document, error) {
	cascade := false
	if v, ok := c.params.get("forceCascade"); ok {
		cascade = strings.TrimSpace(v) == "" || *c.params.boolean("forceCascade")
	}
	if err := h.d.Licensees.Delete(ctx, c.principal.AccountID, c.number, cascade, c.lim); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// transfer: POST licensee/{number}/transfer with sourceLicenseeNumber.
func transfer(ctx context.Context, h *Handler, c *call) (int, *Document, error) {
	src, _ := c.params.get("sourceLicenseeNumber")
	if err := h.d.Licensees.Transfer(ctx, c.principal.AccountID, c.number, src, c.lim); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// validate: POST (or, deprecated, GET) licensee/{number}/validate. The
// product is one product module "M<product>" (licensing model
// Subscription: valid, expires) and its features F1..F8 a second one
// "M<product>F" (MultiFeature: a list per feature with featureName, valid
// and expires). productNumber, licenseeName, dryRun, forOfflineUse and
// product module parameters are accepted and ignored (no licensee
// auto-create, no offline signature).
func validate(ctx context.Context, h *Handler, c *call) (int, *Document, error) {
	secret, _ := c.params.get(pSecret)
	v, err := h.d.Licensees.Validate(ctx, c.principal.AccountID, c.number, licensees.ValidateInput{Secret: secret}, c.lim)
	if err != nil {
		return 0, nil, err
	}
	pid := strconv.FormatInt(v.Product.ID, 10)
	subscription := Item{Type: "ProductModuleValidation", Properties: []Property{
		prop("productModuleNumber", "M"+pid), boolProp("valid", v.ProductValidity.Valid)}}
	if e := v.ProductValidity.Expires; e != nil {
		subscription.Properties = append(subscription.Properties, prop("expires", Timestamp(*e)))
	}
	subscription.Properties = append(subscription.Properties, prop("productModuleName", v.Product.Name), prop("licensingModel", "Subscription"))
	anyFeature := false
	lists := make([]List, len(v.Features))
	for i, f := range v.Features {
		anyFeature = anyFeature || f.Valid
		l := List{Name: "F" + strconv.Itoa(i+1), Properties: []Property{
			prop("featureName", v.Product.Features.Features[i].Name), boolProp("valid", f.Valid)}}
		if f.Expires != nil {
			l.Properties = append(l.Properties, prop("expires", Timestamp(*f.Expires)))
		}
		lists[i] = l
	}
	features := Item{Type: "ProductModuleValidation", Properties: []Property{
		prop("productModuleNumber", "M"+pid+"F"), boolProp("valid", anyFeature),
		prop("productModuleName", v.Product.Name+" features"), prop("licensingModel", "MultiFeature")}, Lists: lists}
	d := &Document{Items: []Item{subscription, features}, TTL: &v.TTL}
	if c.deprecated {
		d.Infos = []Info{{ID: idDeprecatedWarn, Type: "WARNING", Value: msgGetDeprecated}}
	}
	return http.StatusOK, d, nil
}
