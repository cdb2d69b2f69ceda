// Package revulytics serves the Revulytics (Usage Intelligence) key
// registry API on Keyturn's licenses, so a vendor's back-office scripts
// written for it keep working: POST /auth/login, POST /auth/logout and
// POST /licenseKeys/listKeys. It is a plain http.Handler with the peer's
// own protocol: JSON request and response objects, a "status" of "OK",
// "SYNTAX ERROR" or "AUTH ERROR" with a "reason", and HTTP 200, 400, 401,
// 403 (405 for another method, 404 for another path, 500 for a fault of
// Keyturn's with status "ERROR"). Bad input never gets a 500.
//
// Logging in: Keyturn has no vendor user accounts with passwords. The
// password is a Keyturn access token and user is any name (1 to 254
// characters, e.g. the e-mail the script used with Revulytics); the
// session id (or, with useCookies, the sessionId cookie) and the same
// user then authenticate listKeys. A session lasts 8 hours at most and
// ends with its token (auth.Sessions). listKeys needs the token's GetKeys
// permission; its product lock, key lock and feature lock apply as they
// do to product/GetKeys.
//
// The registry is computed from Keyturn's keys, never copied; see
// shared/docs/peers/revulytics.md for the field mapping.
package revulytics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/webapi"
)

// Sessions opens and resumes login sessions (auth.Sessions).
type Sessions interface {
	Login(ctx context.Context, user, raw string) (string, auth.Session, error)
	Resume(ctx context.Context, user, id string) (auth.Principal, error)
	Logout(ctx context.Context, user, id string) error
}

// Editors names the access tokens that edited keys (auth.Service).
type Editors interface {
	// TokenName returns the name of the account's token, apierr.NotFound
	// when there is none.
	TokenName(ctx context.Context, accountID int64, id string) (string, error)
}

// Deps are the group's dependencies.
type Deps struct {
	Sessions Sessions
	Products catalog.ProductReader
	Listing  *keys.Listing
	Editors  Editors
	Now      func() time.Time
	Logger   *slog.Logger
	// MaxBodyBytes bounds request bodies (0: 256 KiB).
	MaxBodyBytes int64
}

// Paths of the group (matched case-insensitively, any slashes).
const (
	PathLogin    = "/auth/login"
	PathLogout   = "/auth/logout"
	PathListKeys = "/licensekeys/listkeys"
)

// Serves reports whether the cleaned path p (see webapi.CleanPath) is one
// of the group's.
func Serves(p string) bool {
	p = strings.ToLower(p)
	return p == PathLogin || p == PathLogout || p == "/licensekeys" || strings.HasPrefix(p, "/licensekeys/")
}

// CookieName is the session cookie of useCookies logins.
const CookieName = "sessionId"

// Statuses of the response's status member.
const (
	statusOK     = "OK"
	statusSyntax = "SYNTAX ERROR"
	statusAuth   = "AUTH ERROR"
	statusError  = "ERROR"
)

// failure is an answer other than OK: an HTTP status, a status member and
// a client-facing reason (an *apierr.Error).
type failure struct {
	http   int
	status string
	err    error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

func syntaxErr(err error) error { return &failure{http.StatusBadRequest, statusSyntax, err} }
func syntaxf(format string, args ...any) error {
	return syntaxErr(apierr.Newf(format, args...))
}
func unauthorized(err error) error { return &failure{http.StatusUnauthorized, statusAuth, err} }
func forbidden(err error) error    { return &failure{http.StatusForbidden, statusAuth, err} }

// Handler serves the group.
type Handler struct{ d Deps }

// New returns the group's handler.
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
	return &Handler{d: d}
}

// request is one call being served.
type request struct {
	r         *http.Request
	w         http.ResponseWriter
	accountID int64
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := r.Header.Get(webapi.RequestIDHeader)
	w.Header().Set(webapi.RequestIDHeader, reqID)
	rq := &request{r: r, w: w}
	path := strings.ToLower(webapi.CleanPath(r.URL.Path))
	contentType := "application/json; charset=utf-8"
	if path == PathLogin || path == PathLogout {
		// The reference: login answers text/javascript.
		contentType = "text/javascript; charset=utf-8"
	}
	out, err := func() (out any, err error) {
		defer func() {
			if p := recover(); p != nil {
				out, err = nil, fmt.Errorf("panic: %v", p)
			}
		}()
		var serve func(context.Context, *request) (any, error)
		switch path {
		case PathLogin:
			serve = h.login
		case PathLogout:
			serve = h.logout
		case PathListKeys:
			serve = h.listKeys
		default:
			return nil, &failure{http.StatusNotFound, statusSyntax, apierr.RevUnknownRequest}
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			return nil, &failure{http.StatusMethodNotAllowed, statusSyntax, apierr.RevUsePOST}
		}
		return serve(r.Context(), rq)
	}()
	code, level := http.StatusOK, slog.LevelInfo
	if err != nil {
		var f *failure
		switch {
		case errors.As(err, &f):
			code = f.http
			msg, _ := apierr.Message(f.err)
			out = errorBody{Status: f.status, Reason: msg}
		case errors.Is(err, apierr.SearchTooBroad):
			code, out = http.StatusBadRequest, errorBody{Status: statusSyntax, Reason: apierr.RevSearchTooBroad.Message}
		default:
			code, level = http.StatusInternalServerError, slog.LevelError
			out = errorBody{Status: statusError, Reason: apierr.RevInternal.Message}
		}
	}
	attrs := []any{"requestId", reqID, "method", "revulytics" + path, "status", code, "ms", time.Since(start).Milliseconds()}
	if rq.accountID != 0 {
		attrs = append(attrs, "accountId", rq.accountID)
	}
	if err != nil {
		attrs = append(attrs, "error", err.Error())
	}
	h.d.Logger.Log(r.Context(), level, "revulytics request", attrs...)
	body, merr := webapi.Marshal(out)
	if merr != nil {
		code = http.StatusInternalServerError
		body, _ = webapi.Marshal(errorBody{Status: statusError, Reason: apierr.RevInternal.Message})
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

type errorBody struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// decode reads the JSON object body into v: any content type (the
// reference names application/json and text/javascript), at most
// MaxBodyBytes. Members are matched case-insensitively; unknown members
// are ignored.
func (h *Handler) decode(rq *request, v any) error {
	if ct, _, err := mime.ParseMediaType(rq.r.Header.Get("Content-Type")); err == nil && strings.HasPrefix(ct, "multipart/") {
		return syntaxErr(apierr.RevBadJSON)
	}
	if rq.r.Body == nil {
		return syntaxErr(apierr.RevBadJSON)
	}
	body, err := io.ReadAll(io.LimitReader(rq.r.Body, h.d.MaxBodyBytes+1))
	if err != nil {
		return syntaxErr(apierr.RevBadJSON.Wrap(err))
	}
	if int64(len(body)) > h.d.MaxBodyBytes {
		return syntaxf("The request body is too large (the limit is %d bytes).", h.d.MaxBodyBytes)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return syntaxf("%s has the wrong type (%s).", te.Field, te.Value)
		}
		return syntaxErr(apierr.RevBadJSON.Wrap(err))
	}
	if dec.More() {
		return syntaxErr(apierr.RevBadJSON)
	}
	return nil
}

type loginRequest struct {
	User       *string `json:"user"`
	Password   *string `json:"password"`
	UseCookies *bool   `json:"useCookies"`
}

type loginResponse struct {
	Status    string `json:"status"`
	SessionID string `json:"sessionId,omitempty"`
}

// login implements POST /auth/login: the password is an access token.
func (h *Handler) login(ctx context.Context, rq *request) (any, error) {
	var in loginRequest
	if err := h.decode(rq, &in); err != nil {
		return nil, err
	}
	if in.User == nil || in.Password == nil || strings.TrimSpace(*in.User) == "" || *in.Password == "" {
		return nil, syntaxErr(apierr.RevLoginMissing)
	}
	id, sess, err := h.d.Sessions.Login(ctx, *in.User, *in.Password)
	if errors.Is(err, apierr.Unauthenticated) {
		return nil, forbidden(apierr.RevLoginFailed)
	}
	if err != nil {
		return nil, err
	}
	rq.accountID = sess.AccountID
	if in.UseCookies != nil && *in.UseCookies {
		http.SetCookie(rq.w, &http.Cookie{Name: CookieName, Value: id, Path: "/", HttpOnly: true, Secure: secure(rq.r),
			SameSite: http.SameSiteStrictMode, MaxAge: int(time.Until(sess.Expires).Seconds())})
		return loginResponse{Status: statusOK}, nil
	}
	return loginResponse{Status: statusOK, SessionID: id}, nil
}

// secure reports whether the client reached the service over HTTPS.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

type sessionRequest struct {
	User      *string `json:"user"`
	SessionID *string `json:"sessionId"`
}

// credentials returns the user and session id of a request: the body's,
// else the session cookie's (user may then be absent).
func credentials(rq *request, in sessionRequest) (user, id string, err error) {
	if in.SessionID != nil && *in.SessionID != "" {
		if in.User == nil || strings.TrimSpace(*in.User) == "" {
			return "", "", unauthorized(apierr.RevNotLoggedIn)
		}
		return *in.User, *in.SessionID, nil
	}
	if c, cerr := rq.r.Cookie(CookieName); cerr == nil && c.Value != "" {
		if in.User != nil {
			user = *in.User
		}
		return user, c.Value, nil
	}
	return "", "", unauthorized(apierr.RevNotLoggedIn)
}

// resume authenticates a request's session.
func (h *Handler) resume(ctx context.Context, rq *request, in sessionRequest) (auth.Principal, error) {
	user, id, err := credentials(rq, in)
	if err != nil {
		return auth.Principal{}, err
	}
	p, err := h.d.Sessions.Resume(ctx, user, id)
	if errors.Is(err, apierr.Unauthenticated) {
		return auth.Principal{}, unauthorized(apierr.RevSessionInvalid)
	}
	if err != nil {
		return auth.Principal{}, err
	}
	rq.accountID = p.AccountID
	return p, nil
}

// logout implements POST /auth/logout.
func (h *Handler) logout(ctx context.Context, rq *request) (any, error) {
	var in sessionRequest
	if err := h.decode(rq, &in); err != nil {
		return nil, err
	}
	user, id, err := credentials(rq, in)
	if err != nil {
		return nil, err
	}
	if err := h.d.Sessions.Logout(ctx, user, id); errors.Is(err, apierr.Unauthenticated) {
		return nil, unauthorized(apierr.RevSessionInvalid)
	} else if err != nil {
		return nil, err
	}
	if _, cerr := rq.r.Cookie(CookieName); cerr == nil {
		http.SetCookie(rq.w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true, Secure: secure(rq.r), MaxAge: -1})
	}
	return loginResponse{Status: statusOK}, nil
}
