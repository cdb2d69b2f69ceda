// Package bytex serves the Bytex vendor API (/API/Public/v1/...) on
// Keyturn's licenses, customers and end users, so a vendor's service
// written for Bytex keeps working: Accounts/r1/GetProductLicenses,
// Authentication/r1/GetTokenValidity, Licenses/r1/GetPublic,
// Licenses/r1/Get and Discounts/r1/Create. It is a plain http.Handler
// with the peer's protocol: query or form parameters (names in any case),
// GET or POST, and the {"errors":[...],"response":...} envelope, with
// HTTP 200 on success and 400, 401, 403, 404, 405 or 501 otherwise (500
// only for a fault of Keyturn's, never for bad input).
//
// The API key is a Keyturn access token, sent as the apiKey parameter,
// the X-Api-Key header or Authorization: Bearer <token>; it binds the
// calls to its account, and its permissions and locks apply (see
// shared/docs/peers/bytex.md for the mapping of every field).
package bytex

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/users"
	"github.com/keyturn/keyturn/shared/webapi"
)

// Authenticator verifies access tokens (auth.Service).
type Authenticator interface {
	Authenticate(ctx context.Context, raw string) (auth.Principal, error)
}

// Products reads an account's products (catalog.Service).
type Products interface {
	// Product returns a product of the account, apierr.NotFound when
	// there is none.
	Product(ctx context.Context, accountID, productID int64) (catalog.Product, error)
	Products(ctx context.Context, accountID int64) ([]catalog.Product, error)
}

// Keys reads license keys (keys.Service).
type Keys interface {
	// Get returns a key of the account, apierr.KeyNotFound when there is
	// none.
	Get(ctx context.Context, accountID, productID int64, key string) (keys.Record, error)
}

// Customers reads customers (customers.Service).
type Customers interface {
	// Customer returns a customer of the account, apierr.NotFound when
	// there is none.
	Customer(ctx context.Context, accountID, id int64) (customers.Customer, error)
}

// Licenses lists a customer's licenses (keys.Listing).
type Licenses interface {
	CustomerLicenses(ctx context.Context, accountID, customerID int64, withActivations bool) ([]keys.Record, error)
}

// Users redeems one-time login tokens (users.Service).
type Users interface {
	// RedeemLoginToken uses up a login token of the account and returns
	// its user; apierr.NotFound when it is not valid.
	RedeemLoginToken(ctx context.Context, accountID int64, token string) (users.User, error)
}

// DiscountSpec is a discount to create, as Discounts/r1/Create asks.
type DiscountSpec struct {
	// ProductID restricts the discount to one product (0: every product
	// of the account).
	ProductID int64
	// PercentOff is the discount in hundredths of a percent (1 to 10000:
	// 1250 is 12.5 %); AmountOff the discount in hundredths of Currency's
	// unit. Exactly one of them is set.
	PercentOff int64
	AmountOff  int64
	// Currency is the ISO 4217 code (upper case) of AmountOff.
	Currency string
	// Code is the code the vendor asks for ("" lets the service choose).
	Code string
	// ValidFrom and ValidUntil bound when the code is honoured (zero: no
	// bound).
	ValidFrom, ValidUntil time.Time
	// MaxRedemptions bounds how often the code may be used (0: no bound).
	MaxRedemptions int64
}

// Discount is a created discount.
type Discount struct {
	Code string
}

// Discounts creates discount codes that payment forms honour (the payment
// domain's service).
type Discounts interface {
	// CreateDiscount creates a discount of the account. Errors:
	// apierr.Conflict when Code is taken, an *apierr.Error for a spec it
	// refuses (shown to the client), anything else is a fault.
	CreateDiscount(ctx context.Context, accountID int64, spec DiscountSpec) (Discount, error)
}

// Deps are the group's dependencies.
type Deps struct {
	Tokens    Authenticator
	Products  Products
	Keys      Keys
	Customers Customers
	Licenses  Licenses
	Users     Users
	// Discounts may be nil: Discounts/r1/Create then answers 501.
	Discounts Discounts
	Now       func() time.Time
	Logger    *slog.Logger
	// MaxBodyBytes bounds request bodies (0: 256 KiB).
	MaxBodyBytes int64
}

// prefix is where the API lives (compared in lower case).
const prefix = "/api/public/"

// Serves reports whether the cleaned path p (see webapi.CleanPath, any
// case) is the API's: /API/Public/...
func Serves(p string) bool {
	p = strings.ToLower(p)
	return p == strings.TrimSuffix(prefix, "/") || strings.HasPrefix(p, prefix)
}

// Handler serves the API.
type Handler struct {
	d         Deps
	endpoints map[string]endpoint
}

// endpoint is one method of the API: the permission it needs (empty:
// checked by the method) and what it does.
type endpoint struct {
	permission string
	serve      func(ctx context.Context, c *call) (any, error)
}

// call is one authenticated request.
type call struct {
	params    url.Values // lower-cased names
	principal auth.Principal
	now       time.Time
}

// param returns the trimmed value of a parameter ("" when absent).
func (c *call) param(names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(c.params.Get(strings.ToLower(n))); v != "" {
			return v
		}
	}
	return ""
}

// New returns the API's handler.
func New(d Deps) *Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = 256 << 10
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	h := &Handler{d: d}
	h.endpoints = map[string]endpoint{
		"v1/accounts/r1/getproductlicenses":     {"GetCustomerLicenses", h.getProductLicenses},
		"v1/authentication/r1/gettokenvalidity": {"", h.getTokenValidity},
		"v1/licenses/r1/getpublic":              {"GetKey", h.getPublic},
		"v1/licenses/r1/get":                    {"GetKey", h.get},
		"v1/discounts/r1/create":                {"CreateDiscount", h.createDiscount},
	}
	return h
}

// failure is an answer with errors: an HTTP status and a client-facing
// message (an *apierr.Error).
type failure struct {
	status int
	err    error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

func fail(status int, err error) error { return &failure{status, err} }

func badRequest(format string, args ...any) error {
	return fail(http.StatusBadRequest, apierr.Newf(format, args...))
}

// envelope is every answer's shape.
type envelope struct {
	Errors   []string `json:"errors"`
	Response any      `json:"response"`
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := r.Header.Get(webapi.RequestIDHeader)
	w.Header().Set(webapi.RequestIDHeader, reqID)
	name := strings.TrimPrefix(strings.ToLower(webapi.CleanPath(r.URL.Path)), prefix)
	var accountID int64
	out, err := func() (out any, err error) {
		defer func() {
			if p := recover(); p != nil {
				out, err = nil, fmt.Errorf("panic: %v", p)
			}
		}()
		ep, ok := h.endpoints[name]
		if !ok {
			return nil, fail(http.StatusNotFound, apierr.BytexUnknownEndpoint)
		}
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			return nil, fail(http.StatusMethodNotAllowed, apierr.BytexMethod)
		}
		params, err := h.params(r)
		if err != nil {
			return nil, err
		}
		p, err := h.d.Tokens.Authenticate(r.Context(), apiKey(r, params))
		if errors.Is(err, apierr.Unauthenticated) {
			return nil, fail(http.StatusUnauthorized, apierr.BytexNoAPIKey)
		}
		if err != nil {
			return nil, err
		}
		accountID = p.AccountID
		if ep.permission != "" && !p.Scope.Allows(ep.permission) {
			return nil, fail(http.StatusForbidden, apierr.BytexAccessDenied)
		}
		return ep.serve(r.Context(), &call{params: params, principal: p, now: h.d.Now().UTC()})
	}()
	status, level := http.StatusOK, slog.LevelInfo
	body := envelope{Errors: []string{}, Response: out}
	if err != nil {
		var f *failure
		if errors.As(err, &f) {
			status = f.status
			msg, _ := apierr.Message(f.err)
			body = envelope{Errors: []string{msg}}
		} else {
			status, level = http.StatusInternalServerError, slog.LevelError
			body = envelope{Errors: []string{apierr.BytexInternal.Message}}
		}
	}
	attrs := []any{"requestId", reqID, "method", "bytex/" + name, "status", status, "ms", time.Since(start).Milliseconds()}
	if accountID != 0 {
		attrs = append(attrs, "accountId", accountID)
	}
	if err != nil {
		attrs = append(attrs, "error", err.Error())
	}
	h.d.Logger.Log(r.Context(), level, "bytex request", attrs...)
	b, merr := webapi.Marshal(body)
	if merr != nil {
		status = http.StatusInternalServerError
		b, _ = webapi.Marshal(envelope{Errors: []string{apierr.BytexInternal.Message}})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// params merges the query string and a form body (url-encoded or
// multipart), with names lower-cased.
func (h *Handler) params(r *http.Request) (url.Values, error) {
	out := url.Values{}
	add := func(v url.Values) {
		for k, vs := range v {
			out[strings.ToLower(k)] = append(out[strings.ToLower(k)], vs...)
		}
	}
	add(r.URL.Query())
	if r.Body == nil || r.Method != http.MethodPost {
		return out, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.d.MaxBodyBytes+1))
	if err != nil {
		return nil, badRequest("The request body could not be read.")
	}
	if int64(len(body)) > h.d.MaxBodyBytes {
		return nil, badRequest("The request body is too large (the limit is %d bytes).", h.d.MaxBodyBytes)
	}
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		req := &http.Request{Header: http.Header{"Content-Type": {r.Header.Get("Content-Type")}}, Body: io.NopCloser(strings.NewReader(string(body)))}
		if ctParams["boundary"] == "" || req.ParseMultipartForm(h.d.MaxBodyBytes) != nil {
			return nil, badRequest("The form data could not be read.")
		}
		add(req.MultipartForm.Value)
		return out, nil
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return out, nil
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, badRequest("The form data could not be read.")
	}
	add(v)
	return out, nil
}

// apiKey returns the access token a request carries: X-Api-Key,
// Authorization: Bearer, or the apiKey parameter.
func apiKey(r *http.Request, params url.Values) string {
	if v := strings.TrimSpace(r.Header.Get("X-Api-Key")); v != "" {
		return v
	}
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	for _, n := range []string{"apikey", "api_key"} {
		if v := params.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// ---- identifiers and formats ----

// Permanent is the until of a license that never expires.
const Permanent = "9999-01-01T00:00:00"

// timeLayout is .NET's round-trip form without a zone (trailing zeros of
// the fraction dropped, as the reference's examples show).
const timeLayout = "2006-01-02T15:04:05.9999999"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// CustomerIdentifier is the identifier of a Keyturn customer as the API
// shows accounts: K and the id with at least 9 digits.
func CustomerIdentifier(id int64) string { return fmt.Sprintf("K%09d", id) }

// LicenseIdentifier is the identifier of a license (its global id).
func LicenseIdentifier(globalID int64) string { return fmt.Sprintf("L%09d", globalID) }

// parseIdentifier reads an identifier with the given letter (optional,
// any case) and a positive id.
func parseIdentifier(s string, letter byte) (int64, bool) {
	if len(s) > 0 && (s[0] == letter || s[0] == letter+'a'-'A') {
		s = s[1:]
	}
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

// productSku is a product's SKU: its id.
func productSku(id int64) string { return strconv.FormatInt(id, 10) }
