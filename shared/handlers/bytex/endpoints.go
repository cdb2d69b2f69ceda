package bytex

import (
	"context"
	"errors"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/license"
	"github.com/keyturn/keyturn/shared/wire"
)

// maxKey bounds a license key parameter.
const maxKey = 256

// product reads the productSku parameter: the account's product (within
// the API key's product lock). Absent: 0.
func (h *Handler) product(ctx context.Context, c *call) (catalog.Product, error) {
	sku := c.param("productSku", "sku", "productId")
	if sku == "" {
		return catalog.Product{}, nil
	}
	id, err := strconv.ParseInt(sku, 10, 64)
	if err != nil || id <= 0 {
		return catalog.Product{}, fail(http.StatusNotFound, apierr.BytexProductNotFound)
	}
	if c.principal.Scope.CheckProduct(id) != nil {
		return catalog.Product{}, fail(http.StatusForbidden, apierr.BytexAccessDenied)
	}
	p, err := h.d.Products.Product(ctx, c.principal.AccountID, id)
	if errors.Is(err, apierr.NotFound) {
		return catalog.Product{}, fail(http.StatusNotFound, apierr.BytexProductNotFound)
	}
	return p, err
}

// masked is what the API key's feature lock hides (FieldsToReturn bits,
// as GetKey masks licenses): the key string, the customer and the global
// id (the license identifier).
type masked struct{ key, customer, globalID bool }

func maskOf(c *call) masked {
	fl := c.principal.Scope.FeatureLock
	return masked{key: fl&license.HideKey != 0, customer: fl&license.HideCustomer != 0, globalID: fl&license.HideGlobalID != 0}
}

type licenseEntry struct {
	InternalUserIdentifier *string `json:"internalUserIdentifier"`
	From                   string  `json:"from"`
	Until                  string  `json:"until"`
	IsActive               bool    `json:"isActive"`
	OrderIdentifier        *string `json:"orderIdentifier"`
	LicenseIdentifier      *string `json:"licenseIdentifier"`
	LicenseKey             string  `json:"licenseKey"`
}

type productLicenses struct {
	Licenses []licenseEntry `json:"licenses"`
}

// status is a key's validity under its product's feature definitions.
func status(r keys.Record, p catalog.Product, now time.Time) wire.LicenseStatus {
	return license.StatusOf(r, p.Features, now).LicenseStatus
}

// until is the end of a license: its expiry if it is time-limited, else
// Permanent.
func until(r keys.Record, st wire.LicenseStatus) string {
	if !st.TimeLimited {
		return Permanent
	}
	return formatTime(r.Expires)
}

func ptr(s string) *string { return &s }

// getProductLicenses implements Accounts/r1/GetProductLicenses: the
// licenses of one product that an account (a Keyturn customer, by its
// identifier) owns. Parameters: internalUserIdentifier (also
// userIdentifier, identifier, accountIdentifier) and productSku.
func (h *Handler) getProductLicenses(ctx context.Context, c *call) (any, error) {
	ident := c.param("internalUserIdentifier", "userIdentifier", "identifier", "accountIdentifier")
	if ident == "" {
		return nil, badRequest("The parameter internalUserIdentifier is required.")
	}
	if c.param("productSku", "sku", "productId") == "" {
		return nil, badRequest("The parameter productSku is required.")
	}
	p, err := h.product(ctx, c)
	if err != nil {
		return nil, err
	}
	cid, ok := parseIdentifier(ident, 'K')
	if !ok {
		return nil, fail(http.StatusNotFound, apierr.BytexAccountNotFound)
	}
	if _, err := h.d.Customers.Customer(ctx, c.principal.AccountID, cid); errors.Is(err, apierr.NotFound) {
		return nil, fail(http.StatusNotFound, apierr.BytexAccountNotFound)
	} else if err != nil {
		return nil, err
	}
	recs, err := h.d.Licenses.CustomerLicenses(ctx, c.principal.AccountID, cid, false)
	if err != nil {
		return nil, err
	}
	m := maskOf(c)
	out := productLicenses{Licenses: []licenseEntry{}}
	for _, r := range recs {
		if r.ProductID != p.ID || r.AccountID != c.principal.AccountID || c.principal.Scope.CheckKey(r.ProductID, r.ID) != nil {
			continue
		}
		st := status(r, p, c.now)
		e := licenseEntry{From: formatTime(r.Created), Until: until(r, st), IsActive: st.IsValid, LicenseKey: r.Key}
		if !m.customer {
			e.InternalUserIdentifier = ptr(CustomerIdentifier(r.CustomerID))
		}
		if !m.globalID {
			e.LicenseIdentifier = ptr(LicenseIdentifier(r.GlobalID))
		}
		if m.key {
			e.LicenseKey = ""
		}
		if r.OrderRef != "" {
			e.OrderIdentifier = ptr(r.OrderRef)
		}
		out.Licenses = append(out.Licenses, e)
	}
	return out, nil
}

type identity struct {
	Identifier         *string `json:"identifier"`
	FirstName          *string `json:"firstName"`
	LastName           *string `json:"lastName"`
	Email              *string `json:"email"`
	IsEmailVerified    bool    `json:"isEmailVerified"`
	CountryCode3Letter *string `json:"countryCode3Letter"`
}

type tokenValidity struct {
	AuthenticatedIdentity identity `json:"authenticatedIdentity"`
}

// getTokenValidity implements Authentication/r1/GetTokenValidity: it uses
// up a one-time login token (parameter token) of the API key's account and
// answers who logged in. It needs UserAuthNormal or UserAuthAdmin, as
// userauth/Login does.
func (h *Handler) getTokenValidity(ctx context.Context, c *call) (any, error) {
	if s := c.principal.Scope; !s.Allows("UserAuthNormal") && !s.Allows("UserAuthAdmin") {
		return nil, fail(http.StatusForbidden, apierr.BytexAccessDenied)
	}
	tok := c.param("token", "loginToken")
	if tok == "" {
		return nil, badRequest("The parameter token is required.")
	}
	u, err := h.d.Users.RedeemLoginToken(ctx, c.principal.AccountID, tok)
	if errors.Is(err, apierr.NotFound) {
		return nil, fail(http.StatusNotFound, apierr.BytexTokenInvalid)
	}
	if err != nil {
		return nil, err
	}
	var id identity
	id.Email = u.Email
	if u.CustomerID != 0 {
		cust, err := h.d.Customers.Customer(ctx, u.AccountID, u.CustomerID)
		switch {
		case errors.Is(err, apierr.NotFound):
		case err != nil:
			return nil, err
		default:
			id.Identifier = ptr(CustomerIdentifier(cust.ID))
			id.FirstName, id.LastName = splitName(cust.Name)
			if id.Email == nil {
				id.Email = cust.Email
			}
		}
	}
	return tokenValidity{AuthenticatedIdentity: id}, nil
}

// splitName splits a customer name into first and last name: the last
// word is the last name.
func splitName(name string) (first, last *string) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, nil
	}
	i := strings.LastIndexAny(name, " \t")
	if i < 0 {
		return ptr(name), nil
	}
	return ptr(strings.TrimSpace(name[:i])), ptr(name[i+1:])
}

// findKey looks a license key up in the product named by productSku, else
// in the API key's locked product, else in every product of the account
// (the lowest product id holding it wins). It returns found false when
// none holds it (or the API key's key lock names another key).
func (h *Handler) findKey(ctx context.Context, c *call) (keys.Record, catalog.Product, bool, error) {
	k := c.param("key", "licenseKey", "keyIdentifier")
	if k == "" {
		return keys.Record{}, catalog.Product{}, false, badRequest("The parameter key is required.")
	}
	if utf8.RuneCountInString(k) > maxKey {
		return keys.Record{}, catalog.Product{}, false, nil
	}
	p, err := h.product(ctx, c)
	if err != nil {
		return keys.Record{}, catalog.Product{}, false, err
	}
	var ps []catalog.Product
	switch {
	case p.ID != 0:
		ps = []catalog.Product{p}
	case c.principal.Scope.ProductLock != 0:
		lp, err := h.d.Products.Product(ctx, c.principal.AccountID, c.principal.Scope.ProductLock)
		if err != nil && !errors.Is(err, apierr.NotFound) {
			return keys.Record{}, catalog.Product{}, false, err
		}
		if err == nil {
			ps = []catalog.Product{lp}
		}
	default:
		if ps, err = h.d.Products.Products(ctx, c.principal.AccountID); err != nil {
			return keys.Record{}, catalog.Product{}, false, err
		}
		sort.Slice(ps, func(i, j int) bool { return ps[i].ID < ps[j].ID })
	}
	for _, p := range ps {
		r, err := h.d.Keys.Get(ctx, c.principal.AccountID, p.ID, k)
		if errors.Is(err, apierr.KeyNotFound) || errors.Is(err, apierr.NotFound) {
			continue
		}
		if err != nil {
			return keys.Record{}, catalog.Product{}, false, err
		}
		if c.principal.Scope.CheckKey(r.ProductID, r.ID) != nil {
			return keys.Record{}, catalog.Product{}, false, nil
		}
		return r, p, true, nil
	}
	return keys.Record{}, catalog.Product{}, false, nil
}

type publicLicense struct {
	Exists                  bool    `json:"exists"`
	Key                     string  `json:"key"`
	IsValid                 bool    `json:"isValid"`
	ProductSku              *string `json:"productSku"`
	LatestPublicVersionName *string `json:"latestPublicVersionName"`
}

// getPublic implements Licenses/r1/GetPublic: whether a license key
// exists and is valid (not blocked, not expired), and its product.
// Parameters: key (also licenseKey), optional productSku.
func (h *Handler) getPublic(ctx context.Context, c *call) (any, error) {
	r, p, found, err := h.findKey(ctx, c)
	if err != nil {
		return nil, err
	}
	out := publicLicense{Key: c.param("key", "licenseKey", "keyIdentifier")}
	if maskOf(c).key {
		out.Key = ""
	}
	if !found {
		return out, nil
	}
	out.Exists, out.IsValid, out.ProductSku = true, status(r, p, c.now).IsValid, ptr(productSku(p.ID))
	return out, nil
}

type licenseDetails struct {
	ProductSku         string  `json:"productSku"`
	IssuedToIdentifier *string `json:"issuedToIdentifier"`
	ValidFrom          string  `json:"validFrom"`
	ValidUntil         string  `json:"validUntil"`
	IsPermanent        bool    `json:"isPermanent"`
	KeyIdentifier      string  `json:"keyIdentifier"`
	IsActive           bool    `json:"isActive"`
}

type licenseResponse struct {
	License licenseDetails `json:"license"`
}

// get implements Licenses/r1/Get: the license bound to a key. Parameters
// as GetPublic's.
func (h *Handler) get(ctx context.Context, c *call) (any, error) {
	r, p, found, err := h.findKey(ctx, c)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fail(http.StatusNotFound, apierr.BytexLicenseNotFound)
	}
	st := status(r, p, c.now)
	m := maskOf(c)
	d := licenseDetails{ProductSku: productSku(p.ID), ValidFrom: formatTime(r.Created), ValidUntil: until(r, st),
		IsPermanent: !st.TimeLimited, KeyIdentifier: r.Key, IsActive: st.IsValid}
	if r.CustomerID != 0 && !m.customer {
		d.IssuedToIdentifier = ptr(CustomerIdentifier(r.CustomerID))
	}
	if m.key {
		d.KeyIdentifier = ""
	}
	return licenseResponse{License: d}, nil
}

type discountResponse struct {
	Code string `json:"code"`
}

// discountCode is what a requested code may look like.
var discountCode = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$`)

// currencyCode is an ISO 4217 code.
var currencyCode = regexp.MustCompile(`^[A-Za-z]{3}$`)

// hundredths reads a positive decimal with at most two decimals as
// hundredths (12.5 -> 1250), at most max.
func hundredths(s string, max int64) (int64, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || len(frac) > 2 || strings.TrimLeft(whole, "0123456789") != "" ||
		strings.TrimLeft(frac, "0123456789") != "" || len(whole) > 12 {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	return v, err == nil && v > 0 && v <= max
}

// dateParam reads an optional ISO 8601 date or date-time (UTC when no zone
// is given).
func dateParam(c *call, name string) (time.Time, error) {
	v := c.param(name)
	if v == "" {
		return time.Time{}, nil
	}
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, badRequest("The parameter %s must be an ISO 8601 date or date and time.", name)
}

// createDiscount implements Discounts/r1/Create: a discount code payment
// forms honour. Form parameters: percentage (0.01 to 100) or amount (with
// currency), optional productSku, code, validFrom, validUntil,
// maxRedemptions. The API key must not be locked to one key; a product
// lock needs productSku within it.
func (h *Handler) createDiscount(ctx context.Context, c *call) (any, error) {
	if c.principal.Scope.RequireUnlockedKey() != nil {
		return nil, fail(http.StatusForbidden, apierr.BytexAccessDenied)
	}
	var spec DiscountSpec
	pct, amount := c.param("percentage", "percent"), c.param("amount")
	switch {
	case pct != "" && amount != "":
		return nil, badRequest("Send either percentage or amount, not both.")
	case pct != "":
		v, ok := hundredths(pct, 10000)
		if !ok {
			return nil, badRequest("The parameter percentage must be a number from 0.01 to 100 with at most two decimals.")
		}
		spec.PercentOff = v
	case amount != "":
		v, ok := hundredths(amount, math.MaxInt64/100)
		if !ok {
			return nil, badRequest("The parameter amount must be a positive number with at most two decimals.")
		}
		cur := c.param("currency")
		if !currencyCode.MatchString(cur) {
			return nil, badRequest("The parameter currency must be an ISO 4217 code such as EUR when amount is given.")
		}
		spec.AmountOff, spec.Currency = v, strings.ToUpper(cur)
	default:
		return nil, badRequest("The parameter percentage or amount is required.")
	}
	p, err := h.product(ctx, c)
	if err != nil {
		return nil, err
	}
	if p.ID == 0 && c.principal.Scope.ProductLock != 0 {
		// A discount on every product would reach beyond the lock.
		return nil, fail(http.StatusForbidden, apierr.BytexAccessDenied)
	}
	spec.ProductID = p.ID
	if code := c.param("code"); code != "" {
		if !discountCode.MatchString(code) {
			return nil, badRequest("The parameter code must be 3 to 64 letters, digits, '-' or '_'.")
		}
		spec.Code = strings.ToUpper(code)
	}
	if spec.ValidFrom, err = dateParam(c, "validFrom"); err != nil {
		return nil, err
	}
	if spec.ValidUntil, err = dateParam(c, "validUntil"); err != nil {
		return nil, err
	}
	if !spec.ValidFrom.IsZero() && !spec.ValidUntil.IsZero() && !spec.ValidUntil.After(spec.ValidFrom) {
		return nil, badRequest("validUntil must be after validFrom.")
	}
	if v := c.param("maxRedemptions", "maxUses"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > math.MaxInt32 {
			return nil, badRequest("The parameter maxRedemptions must be a whole number from 1 to %d.", math.MaxInt32)
		}
		spec.MaxRedemptions = n
	}
	if h.d.Discounts == nil {
		return nil, fail(http.StatusNotImplemented, apierr.BytexDiscountsOff)
	}
	d, err := h.d.Discounts.CreateDiscount(ctx, c.principal.AccountID, spec)
	if errors.Is(err, apierr.Conflict) {
		return nil, fail(http.StatusConflict, apierr.BytexDiscountCodeTaken)
	}
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return nil, fail(http.StatusBadRequest, ae)
	}
	if err != nil {
		return nil, err
	}
	return discountResponse(d), nil
}
