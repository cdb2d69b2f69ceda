// Package webapi is the Cryptolens Web API 3 protocol layer: path
// normalization, parameter binding (query, form, JSON and MessagePack
// bodies; case-insensitive names; lenient values), token authentication and
// method permissions, and the {"result":..,"message":..} envelope in JSON,
// MessagePack or plain text. Handlers of every API group plug into it as
// Methods and never see HTTP details.
package webapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/webapi/msgpack"
)

// Authenticator turns a raw access token into a Principal. It returns
// apierr.Unauthenticated for tokens that are not valid.
type Authenticator interface {
	Authenticate(ctx context.Context, raw string) (auth.Principal, error)
}

// HandlerFunc implements one Web API method. It returns the result object
// (a struct marshalled to a JSON object; result and message are appended by
// the envelope) or an error. Errors from apierr are shown verbatim; any
// other error is logged and answered with a generic message.
type HandlerFunc func(ctx context.Context, c *Call) (any, error)

// Method describes one Web API method.
type Method struct {
	// Name is the method name as in the reference, e.g. "GetProducts".
	Name string
	// Permission is the token permission the method requires. Empty means
	// the handler authorizes the call itself (auth/KeyLock).
	Permission string
	// AccountWide marks a method that acts on the account as a whole (not
	// on one product or key): a token with a product or key lock gets
	// apierr.AccessDenied (auth.Scope.RequireAccountWide).
	AccountWide bool
	// MaxVersion is the highest method version (the v parameter) the
	// method implements; 0 means 1.
	MaxVersion int64
	// PlainText marks methods whose result can be returned as text/plain
	// (the result then implements PlainTexter).
	PlainText bool
	// Handle runs the method.
	Handle HandlerFunc
}

// Group is one API group (the first path segment after /api/).
type Group struct {
	Name    string
	Methods []Method
}

// PlainTexter is implemented by results that have a plain text form.
type PlainTexter interface {
	PlainText() string
}

// Call is one authenticated method invocation.
type Call struct {
	Params    Params
	Principal auth.Principal
	RequestID string
	// Method is "group/Name", e.g. "product/GetProducts".
	Method string
	// RemoteIP is the client address (see ClientIP): never taken from a
	// header the client controls.
	RemoteIP string
}

// Options configures a Server.
type Options struct {
	Auth         Authenticator
	Logger       *slog.Logger
	MaxBodyBytes int64
	// TrustedProxies are the networks of proxies in front of the service
	// whose X-Forwarded-For is believed (see ClientIP). Empty: none.
	TrustedProxies []netip.Prefix
	// RequestTimeout is the deadline of each request (0: none). A request
	// that fails because a dependency ran out of time is answered with
	// apierr.Unavailable and HTTP 503.
	RequestTimeout time.Duration
}

// Server routes Web API 3 requests to methods. It implements http.Handler
// and never answers with a redirect.
type Server struct {
	opts    Options
	methods map[string]route
}

type route struct {
	group  string
	method Method
}

// NewServer returns a Server serving the given groups. It panics on a
// duplicate group/method pair (a programming error).
func NewServer(opts Options, groups ...Group) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 256 << 10
	}
	s := &Server{opts: opts, methods: map[string]route{}}
	for _, g := range groups {
		for _, m := range g.Methods {
			k := strings.ToLower(g.Name + "/" + m.Name)
			if _, dup := s.methods[k]; dup {
				panic("webapi: duplicate method " + k)
			}
			s.methods[k] = route{group: g.Name, method: m}
		}
	}
	return s
}

// Handles reports whether the server has the method group/name (any case).
func (s *Server) Handles(group, name string) bool {
	_, ok := s.methods[strings.ToLower(group+"/"+name)]
	return ok
}

// Format is the response media type.
type Format int

// Response formats.
const (
	FormatJSON Format = iota
	FormatMsgPack
	FormatPlain
)

const (
	mimeMsgPack = "application/x-msgpack"
	mimeForm    = "application/x-www-form-urlencoded"
	mimeJSON    = "application/json"
	mimePlain   = "text/plain"
)

// Log line bounds: the path and an error text (which may embed client
// values, e.g. an item key) are clipped, so a log line stays short whatever
// a client sends.
const (
	maxLoggedPath  = 128
	maxLoggedError = 512
)

// RequestIDHeader carries the request id; the Lambda entry sets it from the
// API Gateway request context.
const RequestIDHeader = "X-Request-Id"

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	if s.opts.RequestTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.RequestTimeout)
		defer cancel()
	}
	reqID := r.Header.Get(RequestIDHeader)
	if reqID == "" {
		reqID = newRequestID()
	}
	w.Header().Set(RequestIDHeader, reqID)
	format := responseFormat(r)
	log := s.opts.Logger.With("requestId", reqID)

	var methodName string
	var accountID int64
	status, result, err := func() (status int, result any, err error) {
		defer func() {
			if p := recover(); p != nil {
				status, result, err = http.StatusInternalServerError, nil, fmt.Errorf("panic: %v", p)
			}
		}()
		// An unknown method is an API-level error like any other: HTTP
		// 200 with the envelope, so that clients that drop the body of a
		// non-2xx answer (the Java SDK) still show the message.
		group, name, ok := SplitAPIPath(r.URL.Path)
		if !ok {
			return http.StatusOK, nil, apierr.MethodNotFound
		}
		rt, ok := s.methods[group+"/"+name]
		if !ok {
			return http.StatusOK, nil, apierr.MethodNotFound
		}
		methodName = rt.group + "/" + rt.method.Name
		params, err := s.readParams(r)
		if err != nil {
			return http.StatusOK, nil, err
		}
		if format == FormatPlain && !rt.method.PlainText {
			format = FormatJSON
		}
		if f, ok := params.String("format"); ok && strings.EqualFold(f, "plaintext") && rt.method.PlainText {
			format = FormatPlain
		}
		maxV := rt.method.MaxVersion
		if maxV == 0 {
			maxV = 1
		}
		if v, err := params.Int32("v", 1); err != nil || v < 1 || v > maxV {
			return http.StatusOK, nil, apierr.BadInput
		}
		raw, ok := params.String("token")
		if !ok {
			return http.StatusOK, nil, apierr.Unauthenticated
		}
		p, err := s.opts.Auth.Authenticate(ctx, raw)
		if err != nil {
			return http.StatusOK, nil, err
		}
		accountID = p.AccountID
		if rt.method.Permission != "" && !p.Scope.Allows(rt.method.Permission) ||
			rt.method.AccountWide && p.Scope.RequireAccountWide() != nil {
			return http.StatusOK, nil, apierr.AccessDenied
		}
		call := &Call{Params: params, Principal: p, RequestID: reqID, Method: methodName, RemoteIP: ClientIP(r, s.opts.TrustedProxies)}
		res, err := rt.method.Handle(ctx, call)
		return http.StatusOK, res, err
	}()

	level := slog.LevelInfo
	msg := ""
	if err != nil {
		if m, ok := apierr.Message(err); ok && !errors.Is(err, apierr.Unavailable) {
			msg = m
		} else if ok || apierr.TimedOut(err) {
			level = slog.LevelError
			status = http.StatusServiceUnavailable
			msg = apierr.Unavailable.Message
		} else {
			level = slog.LevelError
			status = http.StatusInternalServerError
			msg = apierr.Internal.Message
		}
	}
	attrs := []any{"method", methodName, "path", ClipTo(r.URL.Path, maxLoggedPath), "status", status, "ms", time.Since(start).Milliseconds()}
	if accountID != 0 {
		attrs = append(attrs, "accountId", accountID)
	}
	if err != nil {
		attrs = append(attrs, "result", 1, "error", ClipTo(err.Error(), maxLoggedError))
	}
	log.Log(context.WithoutCancel(ctx), level, "webapi request", attrs...)

	if err != nil {
		writeEnvelope(w, format, status, nil, msg, log)
		return
	}
	writeEnvelope(w, format, status, result, "", log)
}

// readParams merges query-string and body parameters.
func (s *Server) readParams(r *http.Request) (Params, error) {
	var p Params
	p.addURLValues(r.URL.Query())
	if r.Body == nil {
		return p, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.opts.MaxBodyBytes+1))
	if err != nil {
		return p, apierr.BadInput.Wrap(err)
	}
	if int64(len(body)) > s.opts.MaxBodyBytes {
		return p, apierr.Newf("The request body is too large (the limit is %d bytes).", s.opts.MaxBodyBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return p, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case ct == mimeJSON || strings.HasSuffix(ct, "+json"):
		if err := p.addJSONObject(body); err != nil {
			return p, apierr.BadInput.Wrap(err)
		}
	case ct == mimeMsgPack:
		m, err := msgpack.DecodeFlatMap(body)
		if err != nil {
			return p, apierr.BadInput.Wrap(err)
		}
		for k, v := range m {
			p.set(k, v)
		}
	default:
		// Forms, and bodies without (or with a text) content type, are
		// parsed as url-encoded; a JSON object body is accepted too.
		if trimmed := bytes.TrimSpace(body); ct != mimeForm && len(trimmed) > 0 && trimmed[0] == '{' {
			if err := p.addJSONObject(trimmed); err == nil {
				return p, nil
			}
		}
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return p, apierr.BadInput.Wrap(err)
		}
		p.addURLValues(v)
	}
	return p, nil
}

// responseFormat picks the response media type from Accept and
// Content-Type: MessagePack when either names application/x-msgpack, plain
// text when either names text/plain (honoured only by methods that support
// it), JSON otherwise.
func responseFormat(r *http.Request) Format {
	accept := strings.ToLower(strings.Join(r.Header.Values("Accept"), ","))
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	switch {
	case strings.Contains(accept, mimeMsgPack) || strings.HasPrefix(ct, mimeMsgPack):
		return FormatMsgPack
	case strings.HasPrefix(accept, mimePlain) || strings.HasPrefix(ct, mimePlain):
		return FormatPlain
	}
	return FormatJSON
}

// Marshal encodes v as compact JSON without HTML escaping and without a
// trailing newline.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Envelope returns the JSON envelope for a result object: the object's own
// fields, then "result" (0 on success, 1 on error) and "message" ("" on
// success). result may be nil. It fails if result is not a JSON object.
func Envelope(result any, errMessage string) ([]byte, error) {
	if errMessage != "" {
		m, _ := Marshal(errMessage)
		return []byte(`{"result":1,"message":` + string(m) + `}`), nil
	}
	tail := `"result":0,"message":""}`
	if result == nil {
		return []byte("{" + tail), nil
	}
	b, err := Marshal(result)
	if err != nil {
		return nil, err
	}
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return nil, fmt.Errorf("webapi: result %T is not a JSON object", result)
	}
	if len(b) == 2 {
		return []byte("{" + tail), nil
	}
	return append(b[:len(b)-1], []byte(","+tail)...), nil
}

func writeEnvelope(w http.ResponseWriter, format Format, status int, result any, errMessage string, log *slog.Logger) {
	if format == FormatPlain {
		text := errMessage
		if errMessage == "" {
			if pt, ok := result.(PlainTexter); ok {
				text = pt.PlainText()
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, text)
		return
	}
	body, err := Envelope(result, errMessage)
	if err != nil {
		log.Error("encode response", "error", err.Error())
		status = http.StatusInternalServerError
		body, _ = Envelope(nil, apierr.Internal.Message)
	}
	if format == FormatMsgPack {
		mp, err := msgpack.FromJSON(body)
		if err == nil {
			w.Header().Set("Content-Type", mimeMsgPack)
			w.WriteHeader(status)
			_, _ = w.Write(mp)
			return
		}
		log.Error("encode msgpack", "error", err.Error())
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ClientIP returns the address of the client that sent r. It starts from
// the peer the platform vouches for: r.RemoteAddr, which is the socket peer
// locally and API Gateway's source IP (requestContext.http.sourceIp) in
// Lambda (see package lambdaentry). Only while that address is in trusted
// (proxies in front of the service) is X-Forwarded-For followed, from its
// last entry (added by the nearest proxy) towards the first; the first
// address that is not a trusted proxy, or the last one reached, is the
// client. Entries that are not IP addresses end the walk. The result is a
// canonical IP address, or "" when RemoteAddr holds none.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	addr, ok := parseAddr(r.RemoteAddr)
	if !ok {
		return ""
	}
	if len(trusted) > 0 {
		var hops []string
		for _, h := range r.Header.Values("X-Forwarded-For") {
			hops = append(hops, strings.Split(h, ",")...)
		}
		for i := len(hops) - 1; i >= 0 && isTrusted(addr, trusted); i-- {
			next, ok := parseAddr(strings.TrimSpace(hops[i]))
			if !ok {
				break
			}
			addr = next
		}
	}
	return addr.String()
}

// parseAddr parses "ip", "ip:port" or "[ip]:port" into an unmapped,
// zone-less address.
func parseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
