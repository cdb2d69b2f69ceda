// Package netlicensing serves the NetLicensing licensee API
// (/core/v2/rest/licensee...) on Keyturn's data: its own protocol layer
// (form-encoded requests, JSON or XML response documents chosen by Accept,
// NetLicensing's status codes and ERROR/WARNING infos) over the licensees
// domain. Clients identify with NetLicensing's API key identification:
// HTTP Basic with the user name "apiKey" and a Keyturn access token as the
// password (the user name is not checked); the token holds NetLicensing's
// API key roles as permissions:
//
//	call                              roles (any one)
//	GET    licensee                   ADMIN, MAINTENANCE, OPERATION, ANALYTICS
//	GET    licensee/{number}          ADMIN, MAINTENANCE, OPERATION, ANALYTICS
//	POST   licensee                   ADMIN, MAINTENANCE
//	POST   licensee/{number}          ADMIN, MAINTENANCE
//	DELETE licensee/{number}          ADMIN, MAINTENANCE
//	POST   licensee/{number}/validate ADMIN, MAINTENANCE, OPERATION, ANALYTICS, LICENSEE
//	GET    licensee/{number}/validate (deprecated, answers with a WARNING) as POST
//	POST   licensee/{number}/transfer ADMIN, MAINTENANCE, OPERATION, ANALYTICS, LICENSEE
//
// (roles are ROLE_APIKEY_<name>). NetLicensing documents no roles for
// create, update and delete; Keyturn takes the reading that grants less.
// A token's product lock restricts it to that product's licensees; a token
// locked to one key reaches no licensee (a licensee is a set of keys).
//
// Status codes: 200 with the document; 204 without a body for delete and
// transfer; 400 (MalformedRequestException) for bad input, 401
// (AuthenticationException) without valid credentials, 403
// (AccessDeniedException) for a missing role or a lock, 404
// (NotFoundException) for an unknown licensee, product or path, 405 for a
// method a path does not serve, 500 (ServiceException) only for faults of
// the service itself. Keyturn has no licensee quota, so 402 never occurs.
package netlicensing

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/licensees"
	"github.com/keyturn/keyturn/shared/webapi"
)

// Authenticator turns a raw access token into a Principal
// (apierr.Unauthenticated for an invalid token).
type Authenticator interface {
	Authenticate(ctx context.Context, raw string) (auth.Principal, error)
}

// Deps are the handler's dependencies.
type Deps struct {
	Licensees    *licensees.Service
	Auth         Authenticator
	Logger       *slog.Logger
	MaxBodyBytes int64
}

// Prefix is the path prefix the group serves.
const Prefix = "/core/v2/rest"

// Info ids of the error infos.
const (
	idMalformed      = "MalformedRequestException"
	idNotFound       = "NotFoundException"
	idAccessDenied   = "AccessDeniedException"
	idUnauthorized   = "AuthenticationException"
	idMethod         = "MethodNotAllowedException"
	idService        = "ServiceException"
	idDeprecatedWarn = "DeprecatedMethodWarning"
)

// Client-facing texts of the protocol layer (Keyturn's own: NetLicensing
// documents only the status codes).
const (
	msgAccessDenied   = "Access is denied"
	msgUnauthorized   = "Authentication failed: send HTTP Basic credentials with the user apiKey and a Keyturn access token as the password"
	msgNoResource     = "Resource not found"
	msgMethod         = "HTTP method not allowed for this resource"
	msgInternal       = "Internal service error"
	msgBodyTooLarge   = "The request body is too large"
	msgBadForm        = "The request parameters are not valid application/x-www-form-urlencoded"
	msgGetDeprecated  = "HTTP method GET is deprecated for licensee validate: use POST. GET will be removed in a future release."
	msgBadCustomerRef = "keyturnCustomerId must be the id of a customer"
)

// The roles of each kind of call.
var (
	readRoles     = []string{auth.RoleAPIKeyAdmin, auth.RoleAPIKeyMaintenance, auth.RoleAPIKeyOperation, auth.RoleAPIKeyAnalytics}
	writeRoles    = []string{auth.RoleAPIKeyAdmin, auth.RoleAPIKeyMaintenance}
	licenseeRoles = []string{auth.RoleAPIKeyAdmin, auth.RoleAPIKeyMaintenance, auth.RoleAPIKeyOperation, auth.RoleAPIKeyAnalytics, auth.RoleAPIKeyLicensee}
)

// Handler serves the licensee API.
type Handler struct{ d Deps }

// New returns the handler.
func New(d Deps) *Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = 256 << 10
	}
	return &Handler{d: d}
}

// call is one authenticated request.
type call struct {
	params    params
	principal auth.Principal
	lim       licensees.Limits
	number    string
	// deprecated is set for GET validate.
	deprecated bool
}

// operation is one call of the API.
type operation struct {
	name  string
	roles []string
	run   func(ctx context.Context, h *Handler, c *call) (int, *Document, error)
}

// statusError is an error answered with a given status and info id.
type statusError struct {
	status int
	id     string
	msg    string
}

func (e *statusError) Error() string { return e.msg }

// route finds the operation of a request. It returns a statusError for
// an unknown path (404) or method (405, with the allowed methods).
func route(method, path string) (operation, string, []string, error) {
	parts := strings.Split(strings.TrimPrefix(webapi.CleanPath(path), "/"), "/")
	notFound := &statusError{http.StatusNotFound, idNotFound, msgNoResource}
	if len(parts) < 4 || len(parts) > 6 || !strings.EqualFold(parts[0], "core") || !strings.EqualFold(parts[1], "v2") ||
		!strings.EqualFold(parts[2], "rest") || !strings.EqualFold(parts[3], "licensee") {
		return operation{}, "", nil, notFound
	}
	rest := parts[4:]
	var byMethod map[string]operation
	number := ""
	switch {
	case len(rest) == 0:
		byMethod = map[string]operation{"GET": opList, "POST": opCreate}
	case len(rest) == 1 && rest[0] != "":
		number = rest[0]
		byMethod = map[string]operation{"GET": opGet, "POST": opUpdate, "DELETE": opDelete}
	case len(rest) == 2 && rest[0] != "" && strings.EqualFold(rest[1], "validate"):
		number = rest[0]
		byMethod = map[string]operation{"GET": opValidateGet, "POST": opValidate}
	case len(rest) == 2 && rest[0] != "" && strings.EqualFold(rest[1], "transfer"):
		number = rest[0]
		byMethod = map[string]operation{"POST": opTransfer}
	default:
		return operation{}, "", nil, notFound
	}
	if op, ok := byMethod[method]; ok {
		return op, number, nil, nil
	}
	allow := make([]string, 0, len(byMethod))
	for m := range byMethod {
		allow = append(allow, m)
	}
	sort.Strings(allow)
	return operation{}, "", allow, &statusError{http.StatusMethodNotAllowed, idMethod, msgMethod}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := r.Header.Get(webapi.RequestIDHeader)
	if reqID == "" {
		reqID = newRequestID()
	}
	w.Header().Set(webapi.RequestIDHeader, reqID)
	asXML := wantsXML(r.Header.Values("Accept"))
	var opName string
	var accountID int64
	status, doc, err := func() (status int, doc *Document, err error) {
		defer func() {
			if p := recover(); p != nil {
				status, doc, err = http.StatusInternalServerError, nil, fmt.Errorf("panic: %v", p)
			}
		}()
		op, number, allow, err := route(r.Method, r.URL.Path)
		if err != nil {
			if allow != nil {
				w.Header().Set("Allow", strings.Join(allow, ", "))
			}
			return 0, nil, err
		}
		opName = op.name
		ps, err := readParams(r, h.d.MaxBodyBytes)
		if err != nil {
			return 0, nil, err
		}
		// NetLicensing's API key identification sends the user "apiKey";
		// the token (the password) is what counts.
		_, pass, ok := basicAuth(r.Header.Get("Authorization"))
		if !ok {
			return 0, nil, apierr.Unauthenticated
		}
		p, err := h.d.Auth.Authenticate(r.Context(), pass)
		if err != nil {
			return 0, nil, err
		}
		accountID = p.AccountID
		if !allows(p.Scope, op.roles) || p.Scope.LocksKey() {
			return 0, nil, apierr.AccessDenied
		}
		c := &call{params: ps, principal: p, number: number, deprecated: op.name == opValidateGet.name,
			lim: licensees.Limits{ProductID: p.Scope.ProductLock, AccountWide: p.Scope.RequireAccountWide() == nil}}
		return op.run(r.Context(), h, c)
	}()

	level := slog.LevelInfo
	if err != nil {
		var info Info
		status, info = classify(err)
		if status == http.StatusInternalServerError {
			level = slog.LevelError
		}
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="NetLicensing"`)
		}
		doc = &Document{Infos: []Info{info}}
	}
	attrs := []any{"method", "netlicensing/" + opName, "path", truncate(r.URL.Path, 200), "status", status, "ms", time.Since(start).Milliseconds()}
	if accountID != 0 {
		attrs = append(attrs, "accountId", accountID)
	}
	if err != nil {
		attrs = append(attrs, "error", truncate(err.Error(), 300))
	}
	h.d.Logger.With("requestId", reqID).Log(r.Context(), level, "netlicensing request", attrs...)
	write(w, status, doc, asXML, h.d.Logger)
}

// classify maps an error to its status and ERROR info.
func classify(err error) (int, Info) {
	var se *statusError
	switch {
	case errors.As(err, &se):
		return se.status, Info{ID: se.id, Type: "ERROR", Value: se.msg}
	case errors.Is(err, apierr.Unauthenticated):
		return http.StatusUnauthorized, Info{ID: idUnauthorized, Type: "ERROR", Value: msgUnauthorized}
	case errors.Is(err, apierr.AccessDenied):
		return http.StatusForbidden, Info{ID: idAccessDenied, Type: "ERROR", Value: msgAccessDenied}
	case errors.Is(err, apierr.LicenseeNotFound), errors.Is(err, apierr.LicenseeProductNotFound), errors.Is(err, apierr.LicenseeCustomerNotFound):
		m, _ := apierr.Message(err)
		return http.StatusNotFound, Info{ID: idNotFound, Type: "ERROR", Value: m}
	}
	if m, ok := apierr.Message(err); ok && !errors.Is(err, apierr.Internal) {
		return http.StatusBadRequest, Info{ID: idMalformed, Type: "ERROR", Value: m}
	}
	return http.StatusInternalServerError, Info{ID: idService, Type: "ERROR", Value: msgInternal}
}

// write sends the document (or no body for 204).
func write(w http.ResponseWriter, status int, doc *Document, asXML bool, log *slog.Logger) {
	if status == http.StatusNoContent || doc == nil {
		w.WriteHeader(status)
		return
	}
	if asXML {
		w.Header().Set("Content-Type", "application/xml;charset=UTF-8")
		w.WriteHeader(status)
		_, _ = w.Write(doc.XML())
		return
	}
	body, err := doc.MarshalJSON()
	if err != nil {
		log.Error("encode netlicensing document", "error", err.Error())
		status = http.StatusInternalServerError
		body, _ = Document{Infos: []Info{{ID: idService, Type: "ERROR", Value: msgInternal}}}.MarshalJSON()
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// allows reports whether the scope holds one of roles.
func allows(s auth.Scope, roles []string) bool {
	for _, r := range roles {
		if s.Allows(r) {
			return true
		}
	}
	return false
}

// basicAuth parses an HTTP Basic Authorization header.
func basicAuth(h string) (user, pass string, ok bool) {
	scheme, cred, found := strings.Cut(strings.TrimSpace(h), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", "", false
	}
	user, pass, found = strings.Cut(string(raw), ":")
	return user, pass, found && pass != ""
}

// wantsXML picks the response format from Accept: JSON when a JSON type
// has the highest quality, XML otherwise (NetLicensing's default; also for
// no Accept, */* or types it does not produce).
func wantsXML(accept []string) bool {
	bestJSON, bestXML := -1.0, -1.0
	for _, h := range accept {
		for _, part := range strings.Split(h, ",") {
			mt, ps, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			q := 1.0
			if v, ok := ps["q"]; ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
			switch {
			case mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "text/json":
				bestJSON = max(bestJSON, q)
			case mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml") || mt == "*/*" || mt == "application/*":
				bestXML = max(bestXML, q)
			}
		}
	}
	return !(bestJSON > 0 && bestJSON > bestXML)
}

// params are the request's parameters (query string and form body; names
// are case-sensitive, as NetLicensing's; the first value of a repeated
// name counts).
type params map[string]string

func (p params) get(name string) (string, bool) {
	v, ok := p[name]
	return v, ok
}

// boolean reads a boolean leniently: true, 1, yes and on (any case) are
// true, anything else false; absent is nil.
func (p params) boolean(name string) *bool {
	v, ok := p[name]
	if !ok {
		return nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "on":
		t := true
		return &t
	}
	f := false
	return &f
}

// readParams merges the query string and a form body.
func readParams(r *http.Request, maxBody int64) (params, error) {
	p := params{}
	add := func(v url.Values) {
		for k, vs := range v {
			if _, seen := p[k]; !seen && len(vs) > 0 {
				p[k] = vs[0]
			}
		}
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &statusError{http.StatusBadRequest, idMalformed, msgBadForm}
	}
	if r.Body != nil {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			return nil, &statusError{http.StatusBadRequest, idMalformed, msgBadForm}
		}
		if int64(len(body)) > maxBody {
			return nil, &statusError{http.StatusBadRequest, idMalformed, msgBodyTooLarge}
		}
		if len(strings.TrimSpace(string(body))) > 0 {
			f, err := url.ParseQuery(string(body))
			if err != nil {
				return nil, &statusError{http.StatusBadRequest, idMalformed, msgBadForm}
			}
			add(f)
		}
	}
	add(q)
	return p, nil
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// truncate bounds a client value before it is logged.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
