// Package admin implements Keyturn's management API (/admin/*): accounts,
// products with feature definitions, access tokens with scopes, and signing
// keys. It is not part of Web API 3: it speaks plain JSON over REST-style
// routes and is protected by an admin credential that is separate from Web
// API 3 tokens. The credential is a bearer secret whose SHA-256 (hex) the
// function receives in KEYTURN_ADMIN_SECRET_SHA256.
//
// Routes (all bodies and answers are JSON; errors are {"error":"..."}):
//
//	GET    /admin/permissions
//	GET    /admin/accounts
//	POST   /admin/accounts                                {"name"}
//	GET    /admin/accounts/{account}/products
//	POST   /admin/accounts/{account}/products             {"name","description","isPublic","featureDefinitions"}
//	GET    /admin/accounts/{account}/tokens
//	POST   /admin/accounts/{account}/tokens               {"name","methods","productLock","keyLock","featureLock","expires"}
//	DELETE /admin/accounts/{account}/tokens/{id}
//	GET    /admin/accounts/{account}/license-templates
//	POST   /admin/accounts/{account}/license-templates    {"name","productId","period","f1".."f8","notes","block","trialActivation","maxNoOfMachines","allowedMachines"}
//	POST   /admin/accounts/{account}/signing-keys         create or rotate
//	GET    /admin/accounts/{account}/signing-keys/current public key (xml, pem, jwk)
//
// and the payment routes (Stripe keys, payment forms, discount codes,
// subscription links) listed at paymentRoutes.
package admin

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/signing"
	"github.com/keyturn/keyturn/shared/webapi"
	"github.com/keyturn/keyturn/shared/wire"
)

// SigningKeys creates and exports account signing keys.
type SigningKeys interface {
	Create(ctx context.Context, accountID int64) (signing.KeyRecord, error)
	PublicKey(ctx context.Context, accountID int64) (*rsa.PublicKey, int, error)
}

// Deps are the admin API's dependencies.
type Deps struct {
	Catalog     *catalog.Service
	Tokens      *auth.Service
	SigningKeys SigningKeys
	Templates   *keys.Templates
	// SecretSHA256 is the lower-case hex SHA-256 of the admin secret.
	SecretSHA256 string
	Logger       *slog.Logger
	MaxBodyBytes int64
	// RequestTimeout is the deadline of each request (0: none); a request
	// whose dependency ran out of time is answered 503.
	RequestTimeout time.Duration
	// Payments are the payment services (optional).
	Payments PaymentDeps
}

// New returns the admin API handler. Every request must carry
// "Authorization: Bearer <admin secret>"; otherwise it is answered 401.
func New(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = 256 << 10
	}
	a := &api{d: d}
	want, _ := hex.DecodeString(d.SecretSHA256)
	a.secretHash = want
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/permissions", a.permissions)
	mux.HandleFunc("GET /admin/accounts", a.listAccounts)
	mux.HandleFunc("POST /admin/accounts", a.createAccount)
	mux.HandleFunc("GET /admin/accounts/{account}/products", a.listProducts)
	mux.HandleFunc("POST /admin/accounts/{account}/products", a.createProduct)
	mux.HandleFunc("GET /admin/accounts/{account}/tokens", a.listTokens)
	mux.HandleFunc("POST /admin/accounts/{account}/tokens", a.createToken)
	mux.HandleFunc("DELETE /admin/accounts/{account}/tokens/{id}", a.deleteToken)
	mux.HandleFunc("GET /admin/accounts/{account}/license-templates", a.listTemplates)
	mux.HandleFunc("POST /admin/accounts/{account}/license-templates", a.createTemplate)
	mux.HandleFunc("POST /admin/accounts/{account}/signing-keys", a.createSigningKey)
	mux.HandleFunc("GET /admin/accounts/{account}/signing-keys/current", a.currentSigningKey)
	a.paymentRoutes(mux)
	a.mux = mux
	return a
}

type api struct {
	d          Deps
	secretHash []byte
	mux        *http.ServeMux
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Normalize like the Web API (never redirect on // or a trailing /).
	r.URL.Path = webapi.CleanPath(r.URL.Path)
	r.URL.RawPath = ""
	if !a.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "admin credential missing or wrong"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.d.MaxBodyBytes)
	if a.d.RequestTimeout > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), a.d.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	a.mux.ServeHTTP(w, r)
}

func (a *api) authorized(r *http.Request) bool {
	if len(a.secretHash) != sha256.Size {
		return false // no credential configured: refuse everything
	}
	h := r.Header.Get("Authorization")
	secret, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || secret == "" {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(secret)))
	return subtle.ConstantTimeCompare(got[:], a.secretHash) == 1
}

type errorBody struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := webapi.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// fail answers err: client-facing errors with 400 (404 for not-found),
// anything else 500 after logging.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, apierr.NotFound) {
		writeJSON(w, http.StatusNotFound, errorBody{Error: "not found"})
		return
	}
	if m, ok := apierr.Message(err); ok {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: m})
		return
	}
	if apierr.TimedOut(err) {
		a.d.Logger.Error("admin request timed out", "path", webapi.ClipTo(r.URL.Path, 128), "error", webapi.ClipTo(err.Error(), 512))
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: apierr.Unavailable.Message})
		return
	}
	a.d.Logger.Error("admin request failed", "path", webapi.ClipTo(r.URL.Path, 128), "method", webapi.Clip(r.Method), "error", webapi.ClipTo(err.Error(), 512))
	writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal error"})
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apierr.Newf("invalid JSON body: %v", err)
	}
	return nil
}

// account parses {account} and checks the account exists.
func (a *api) account(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("account"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apierr.NotFound
	}
	if _, err := a.d.Catalog.Account(r.Context(), id); err != nil {
		return 0, err
	}
	return id, nil
}

func (a *api) permissions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"permissions": auth.Permissions()})
}

// Account is the admin view of an account.
type Account struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Created string `json:"created"`
}

func newAccount(a catalog.Account) Account {
	return Account{ID: a.ID, Name: a.Name, Created: a.Created.Format(time.RFC3339)}
}

func (a *api) listAccounts(w http.ResponseWriter, r *http.Request) {
	list, err := a.d.Catalog.Accounts(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]Account, 0, len(list))
	for _, acc := range list {
		out = append(out, newAccount(acc))
	}
	writeJSON(w, http.StatusOK, map[string]any{"accounts": out})
}

func (a *api) createAccount(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	acc, err := a.d.Catalog.CreateAccount(r.Context(), in.Name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, newAccount(acc))
}

func (a *api) listProducts(w http.ResponseWriter, r *http.Request) {
	acc, err := a.account(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := a.d.Catalog.Products(r.Context(), acc)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]wire.Product, 0, len(list))
	for _, p := range list {
		out = append(out, wire.NewProduct(p, nil))
	}
	writeJSON(w, http.StatusOK, map[string]any{"products": out})
}

// ProductInput is the body of POST .../products. Feature definitions use
// the same shape as the Web API's featureDefinitions object; omitted
// features get the default names "Feature N" and type 0.
type ProductInput struct {
	Name               string                   `json:"name"`
	Description        string                   `json:"description"`
	IsPublic           bool                     `json:"isPublic"`
	FeatureDefinitions *wire.FeatureDefinitions `json:"featureDefinitions"`
}

func (a *api) createProduct(w http.ResponseWriter, r *http.Request) {
	acc, err := a.account(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in ProductInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	p := catalog.Product{AccountID: acc, Name: in.Name, Description: in.Description, IsPublic: in.IsPublic}
	if fd := in.FeatureDefinitions; fd != nil {
		for i, f := range []wire.Feature{fd.F1, fd.F2, fd.F3, fd.F4, fd.F5, fd.F6, fd.F7, fd.F8} {
			p.Features.Features[i] = catalog.Feature{Name: f.Name, Type: catalog.FeatureType(f.Type)}
		}
		p.Features.AllLicensesTimeLimited = fd.AllLicensesTimeLimited
		p.Features.BlockExpiredLicenses = fd.BlockExpiredLicenses
	}
	created, err := a.d.Catalog.CreateProduct(r.Context(), p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, wire.NewProduct(created, nil))
}

// Token is the admin view of a token; Token (the wire form) is present only
// in the answer to its creation.
type Token struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Methods     []string `json:"methods"`
	ProductLock int64    `json:"productLock"`
	KeyLock     int64    `json:"keyLock"`
	FeatureLock int64    `json:"featureLock"`
	Expires     string   `json:"expires,omitempty"`
	Created     string   `json:"created"`
	Token       string   `json:"token,omitempty"`
}

func newToken(t auth.Token) Token {
	out := Token{
		ID: t.ID, Name: t.Name, Methods: t.Scope.Methods, ProductLock: t.Scope.ProductLock,
		KeyLock: t.Scope.KeyLock, FeatureLock: t.Scope.FeatureLock, Created: t.Created.Format(time.RFC3339),
	}
	if out.Methods == nil {
		out.Methods = []string{}
	}
	if !t.Scope.Expires.IsZero() {
		out.Expires = t.Scope.Expires.Format(time.RFC3339)
	}
	return out
}

func (a *api) listTokens(w http.ResponseWriter, r *http.Request) {
	acc, err := a.account(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := a.d.Tokens.Tokens(r.Context(), acc)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]Token, 0, len(list))
	for _, t := range list {
		out = append(out, newToken(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

// TokenInput is the body of POST .../tokens. Methods may contain "*" for
// every permission. A positive keyLock needs a productLock (key ids are
// only unique within a product; see auth.Scope). Expires is RFC 3339 or
// empty.
type TokenInput struct {
	Name        string   `json:"name"`
	Methods     []string `json:"methods"`
	ProductLock int64    `json:"productLock"`
	KeyLock     int64    `json:"keyLock"`
	FeatureLock int64    `json:"featureLock"`
	Expires     string   `json:"expires"`
}

func (a *api) createToken(w http.ResponseWriter, r *http.Request) {
	acc, err := a.account(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in TokenInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	scope := auth.Scope{Methods: in.Methods, ProductLock: in.ProductLock, KeyLock: in.KeyLock, FeatureLock: in.FeatureLock}
	if len(in.Methods) == 1 && in.Methods[0] == "*" {
		scope.Methods = auth.Permissions()
	}
	if in.Expires != "" {
		exp, err := time.Parse(time.RFC3339, in.Expires)
		if err != nil {
			a.fail(w, r, apierr.New("expires must be an RFC 3339 time"))
			return
		}
		scope.Expires = exp.UTC()
	}
	if err := scope.Validate(); err != nil {
		a.fail(w, r, err)
		return
	}
	if scope.ProductLock != 0 {
		if _, err := a.d.Catalog.Product(r.Context(), acc, scope.ProductLock); err != nil {
			if errors.Is(err, apierr.NotFound) {
				err = apierr.New("productLock names a product this account does not have")
			}
			a.fail(w, r, err)
			return
		}
	}
	raw, t, err := a.d.Tokens.Issue(r.Context(), acc, in.Name, scope, "")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := newToken(t)
	out.Token = raw
	writeJSON(w, http.StatusCreated, out)
}

func (a *api) deleteToken(w http.ResponseWriter, r *http.Request) {
	acc, err := a.account(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.d.Tokens.Revoke(r.Context(), acc, r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// PublicKey is an account's current public signing key in every format.
type PublicKey struct {
	Version int             `json:"version"`
	XML     string          `json:"xml"`
	PEM     string          `json:"pem"`
	JWK     json.RawMessage `json:"jwk"`
}

func publicKey(pub *rsa.PublicKey, version int) (PublicKey, error) {
	jwk, err := signing.JWK(pub)
	if err != nil {
		return PublicKey{}, err
	}
	return PublicKey{Version: version, XML: signing.XML(pub), PEM: signing.PEM(pub), JWK: jwk}, nil
}

func (a *api) createSigningKey(w http.ResponseWriter, r *http.Request) {
	acc, err := a.account(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	rec, err := a.d.SigningKeys.Create(r.Context(), acc)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	pk, err := x509.ParsePKIXPublicKey(rec.PublicKeyDER)
	pub, ok := pk.(*rsa.PublicKey)
	if err != nil || !ok {
		a.fail(w, r, fmt.Errorf("created key %d has no RSA public key: %v", rec.Version, err))
		return
	}
	version := rec.Version
	out, err := publicKey(pub, version)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (a *api) currentSigningKey(w http.ResponseWriter, r *http.Request) {
	acc, err := a.account(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	pub, version, err := a.d.SigningKeys.PublicKey(r.Context(), acc)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out, err := publicKey(pub, version)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// TemplateInput is the body of POST .../license-templates.
type TemplateInput struct {
	Name            string  `json:"name"`
	ProductID       int64   `json:"productId"`
	Period          int64   `json:"period"`
	F1              bool    `json:"f1"`
	F2              bool    `json:"f2"`
	F3              bool    `json:"f3"`
	F4              bool    `json:"f4"`
	F5              bool    `json:"f5"`
	F6              bool    `json:"f6"`
	F7              bool    `json:"f7"`
	F8              bool    `json:"f8"`
	Notes           *string `json:"notes"`
	Block           bool    `json:"block"`
	TrialActivation bool    `json:"trialActivation"`
	MaxNoOfMachines int64   `json:"maxNoOfMachines"`
	AllowedMachines *string `json:"allowedMachines"`
}

// Template is the admin view of a license template.
type Template struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	ProductID  int64  `json:"productId"`
	Parameters string `json:"parameters"`
}

func (a *api) createTemplate(w http.ResponseWriter, r *http.Request) {
	acc, err := a.account(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in TemplateInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if _, err := a.d.Catalog.Product(r.Context(), acc, in.ProductID); err != nil {
		if errors.Is(err, apierr.NotFound) {
			err = apierr.New("productId names a product this account does not have")
		}
		a.fail(w, r, err)
		return
	}
	t := keys.Template{AccountID: acc, ProductID: in.ProductID, Name: strings.TrimSpace(in.Name), Spec: keys.Spec{
		Period: in.Period, Features: [8]bool{in.F1, in.F2, in.F3, in.F4, in.F5, in.F6, in.F7, in.F8},
		Notes: in.Notes, Block: in.Block, TrialActivation: in.TrialActivation,
		MaxNoOfMachines: in.MaxNoOfMachines, AllowedMachines: in.AllowedMachines,
	}}
	if err := keys.ValidateTemplate(t); err != nil {
		a.fail(w, r, err)
		return
	}
	t, err = a.d.Templates.Create(r.Context(), t)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, Template{ID: t.ID, Name: t.Name, ProductID: t.ProductID, Parameters: t.Parameters()})
}

func (a *api) listTemplates(w http.ResponseWriter, r *http.Request) {
	acc, err := a.account(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ts, err := a.d.Templates.List(r.Context(), acc)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]Template, 0, len(ts))
	for _, t := range ts {
		out = append(out, Template{ID: t.ID, Name: t.Name, ProductID: t.ProductID, Parameters: t.Parameters()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"licenseTemplates": out})
}
