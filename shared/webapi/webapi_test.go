package webapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/auth"
)

func TestCleanPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/api/key/Activate", "/api/key/Activate"},
		{"/api//key/activate/", "/api/key/activate"},
		{"//api//key/activate/", "/api/key/activate"},
		{"api/key/x", "/api/key/x"},
		{"/", "/"},
		{"//", "/"},
		{"/admin/accounts/", "/admin/accounts"},
	}
	for _, tt := range tests {
		if got := CleanPath(tt.in); got != tt.want {
			t.Errorf("CleanPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitAPIPath(t *testing.T) {
	tests := []struct {
		in            string
		group, method string
		ok            bool
	}{
		{"/api/key/Activate", "key", "activate", true},
		{"/api/Key/Activate", "key", "activate", true},
		{"/API/Product/GetProducts", "product", "getproducts", true},
		{"/api//product/getproducts/", "product", "getproducts", true},
		{"//api//key/activate/", "key", "activate", true},
		{"/api/AI/RegisterEvent", "ai", "registerevent", true},
		{"/api/key", "", "", false},
		{"/api/key/Activate/extra", "", "", false},
		{"/other/key/Activate", "", "", false},
	}
	for _, tt := range tests {
		g, m, ok := SplitAPIPath(tt.in)
		if g != tt.group || m != tt.method || ok != tt.ok {
			t.Errorf("SplitAPIPath(%q) = %q,%q,%v want %q,%q,%v", tt.in, g, m, ok, tt.group, tt.method, tt.ok)
		}
	}
}

// newParams builds Params from name/value pairs (names are folded).
func newParams(values map[string]string) Params {
	p := Params{m: make(map[string]string, len(values))}
	for k, v := range values {
		p.set(k, v)
	}
	return p
}

func TestParams(t *testing.T) {
	p := newParams(map[string]string{
		"ProductId": "42", "sign": "True", "Metadata": "0", "notes": "None", "Key": "null",
		"FriendlyName": "", "SignMethod": "StringSign", "bad": "x1", "ModelVersion": "3", "flag": "maybe",
	})
	if v, err := p.Int("productid", 0); err != nil || v != 42 {
		t.Errorf("Int(productid) = %d, %v; want 42", v, err)
	}
	if v, err := p.Int("PRODUCTID", 0); err != nil || v != 42 {
		t.Errorf("Int(PRODUCTID) = %d, %v; want 42", v, err)
	}
	if v, err := p.Bool("Sign", false); err != nil || !v {
		t.Errorf("Bool(Sign) = %v, %v; want true", v, err)
	}
	if v, err := p.Bool("metadata", true); err != nil || v {
		t.Errorf("Bool(metadata) = %v, %v; want false", v, err)
	}
	for _, name := range []string{"Notes", "key", "friendlyname", "missing"} {
		if v, ok := p.String(name); ok {
			t.Errorf("String(%s) = %q, true; want absent", name, v)
		}
	}
	if v, err := p.Int("notes", 7); err != nil || v != 7 {
		t.Errorf("Int(notes=None) = %d, %v; want default 7", v, err)
	}
	if _, err := p.Int("bad", 0); !errors.Is(err, apierr.BadInput) {
		t.Errorf("Int(bad) error = %v; want BadInput", err)
	}
	if _, err := p.Bool("flag", false); !errors.Is(err, apierr.BadInput) {
		t.Errorf("Bool(flag) error = %v; want BadInput", err)
	}
	names := map[string]int64{"LinqSign": 0, "StringSign": 1}
	if v, err := p.Enum("signmethod", names, 0); err != nil || v != 1 {
		t.Errorf("Enum(signmethod) = %d, %v; want 1", v, err)
	}
	if v, err := p.ModelVersion(3); err != nil || v != 3 {
		t.Errorf("ModelVersion(3) = %d, %v; want 3", v, err)
	}
	if _, err := p.ModelVersion(2); !errors.Is(err, apierr.BadInput) {
		t.Errorf("ModelVersion(2) error = %v; want BadInput", err)
	}
}

func TestParamsIntRanges(t *testing.T) {
	tests := []struct {
		raw       string
		want32    int64
		ok32      bool
		want64    int64
		ok64      bool
		defaulted bool
	}{
		{"2147483647", 2147483647, true, 2147483647, true, false},
		{"-2147483648", -2147483648, true, -2147483648, true, false},
		{" 12 ", 12, true, 12, true, false},
		{"2147483648", 0, false, 2147483648, true, false},
		{"-2147483649", 0, false, -2147483649, true, false},
		{"9223372036854775807", 0, false, 9223372036854775807, true, false},
		{"9223372036854775808", 0, false, 0, false, false},
		{"1e3", 0, false, 0, false, false},
		{"0x10", 0, false, 0, false, false},
		{"null", 5, true, 5, true, true},
	}
	for _, tt := range tests {
		p := newParams(map[string]string{"n": tt.raw})
		got32, err := p.Int32("n", 5)
		if (err == nil) != tt.ok32 || err == nil && got32 != tt.want32 || err != nil && !errors.Is(err, apierr.BadInput) {
			t.Errorf("Int32(%q) = %d, %v; want %d, ok=%v", tt.raw, got32, err, tt.want32, tt.ok32)
		}
		got64, err := p.Int("n", 5)
		if (err == nil) != tt.ok64 || err == nil && got64 != tt.want64 {
			t.Errorf("Int(%q) = %d, %v; want %d, ok=%v", tt.raw, got64, err, tt.want64, tt.ok64)
		}
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes
	tests := []struct{ in, want string }{
		{"short", "short"},
		{strings.Repeat("a", MaxLoggedValue), strings.Repeat("a", MaxLoggedValue)},
		{strings.Repeat("a", 1000), strings.Repeat("a", MaxLoggedValue) + "...(1000 bytes)"},
		{long, strings.Repeat("é", MaxLoggedValue/2) + "...(200 bytes)"},
		{"a" + long, "a" + strings.Repeat("é", MaxLoggedValue/2-1) + "...(201 bytes)"},
	}
	for _, tt := range tests {
		if got := Clip(tt.in); got != tt.want {
			t.Errorf("Clip(%.20q...) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// An error about a huge value carries only its prefix.
	p := newParams(map[string]string{"n": strings.Repeat("9", 100000)})
	if _, err := p.Int32("n", 0); err == nil || len(errors.Unwrap(err).Error()) > 200 {
		t.Errorf("Int32 error on a 100 kB value is %d bytes, want a short text", len(fmt.Sprint(err)))
	}
}

func TestEnvelope(t *testing.T) {
	type res struct {
		Products []int  `json:"products"`
		URL      string `json:"url"`
	}
	tests := []struct {
		name   string
		result any
		errMsg string
		want   string
	}{
		{"nil", nil, "", `{"result":0,"message":""}`},
		{"empty object", struct{}{}, "", `{"result":0,"message":""}`},
		{"fields first", res{Products: []int{1}, URL: "a<b>&c"}, "", `{"products":[1],"url":"a<b>&c","result":0,"message":""}`},
		{"error", nil, "Access denied.", `{"result":1,"message":"Access denied."}`},
	}
	for _, tt := range tests {
		got, err := Envelope(tt.result, tt.errMsg)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: Envelope = %s, %v; want %s", tt.name, got, err, tt.want)
		}
	}
	if _, err := Envelope([]int{1}, ""); err == nil {
		t.Error("Envelope of an array: want error")
	}
}

// fakeAuth accepts the token "good" (account 1, may call Echo) and "nope"
// (account 2, no permissions).
type fakeAuth struct{}

func (fakeAuth) Authenticate(_ context.Context, raw string) (auth.Principal, error) {
	switch raw {
	case "good":
		return auth.Principal{AccountID: 1, Scope: auth.Scope{Methods: []string{"Echo"}}}, nil
	case "nope":
		return auth.Principal{AccountID: 2}, nil
	}
	return auth.Principal{}, apierr.Unauthenticated
}

type echoResult struct {
	Value string `json:"value"`
	N     int64  `json:"n"`
}

func (e echoResult) PlainText() string { return e.Value }

func testServer(maxBody int64) *Server {
	return NewServer(Options{Auth: fakeAuth{}, MaxBodyBytes: maxBody}, Group{Name: "test", Methods: []Method{
		{Name: "Echo", Permission: "Echo", PlainText: true, Handle: func(_ context.Context, c *Call) (any, error) {
			v, _ := c.Params.String("value")
			n, err := c.Params.Int("n", 0)
			if err != nil {
				return nil, err
			}
			return echoResult{Value: v, N: n}, nil
		}},
		{Name: "Boom", Permission: "Echo", Handle: func(context.Context, *Call) (any, error) {
			return nil, errors.New("database exploded: secret detail")
		}},
		{Name: "Panic", Permission: "Echo", Handle: func(context.Context, *Call) (any, error) {
			panic("boom")
		}},
	}})
}

func do(t *testing.T, h http.Handler, method, target, contentType, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "http://x"+target, r)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestServer(t *testing.T) {
	s := testServer(1024)
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name       string
		method     string
		target     string
		ct         string
		body       string
		wantStatus int
		wantBody   string
	}{
		{"post form", "POST", "/api/test/Echo", form, "token=good&value=hi&n=3", 200, `{"value":"hi","n":3,"result":0,"message":""}`},
		{"get query", "GET", "/api/test/Echo?token=good&value=hi&n=3", "", "", 200, `{"value":"hi","n":3,"result":0,"message":""}`},
		{"json body", "POST", "/api/test/Echo", "application/json", `{"Token":"good","VALUE":"hi","n":3}`, 200, `{"value":"hi","n":3,"result":0,"message":""}`},
		{"case and slashes", "POST", "//API//Test/ECHO/", form, "TOKEN=good&Value=hi&N=3", 200, `{"value":"hi","n":3,"result":0,"message":""}`},
		{"body wins over query", "POST", "/api/test/Echo?value=q&token=good", form, "value=b", 200, `{"value":"b","n":0,"result":0,"message":""}`},
		{"null and None are absent", "POST", "/api/test/Echo", form, "token=good&value=None&n=null", 200, `{"value":"","n":0,"result":0,"message":""}`},
		{"no token", "POST", "/api/test/Echo", form, "value=hi", 200, `{"result":1,"message":"Unable to authenticate."}`},
		{"bad token", "POST", "/api/test/Echo", form, "token=bad", 200, `{"result":1,"message":"Unable to authenticate."}`},
		{"no permission", "POST", "/api/test/Echo", form, "token=nope", 200, `{"result":1,"message":"Access denied."}`},
		{"bad int", "POST", "/api/test/Echo", form, "token=good&n=abc", 200, `{"result":1,"message":"The input parameters were incorrect."}`},
		{"unsupported v", "POST", "/api/test/Echo", form, "token=good&v=2", 200, `{"result":1,"message":"The input parameters were incorrect."}`},
		{"v=1", "POST", "/api/test/Echo", form, "token=good&v=1", 200, `{"value":"","n":0,"result":0,"message":""}`},
		{"unknown method", "POST", "/api/test/Nope", form, "token=good", 200, `{"result":1,"message":"The method could not be found."}`},
		{"unknown group", "POST", "/api/nosuchgroup/Echo", form, "token=good", 200, `{"result":1,"message":"The method could not be found."}`},
		{"not api", "GET", "/favicon.ico", "", "", 200, `{"result":1,"message":"The method could not be found."}`},
		{"internal error hidden", "POST", "/api/test/Boom", form, "token=good", 500, `{"result":1,"message":"An internal error occurred. Please try again later."}`},
		{"panic recovered", "POST", "/api/test/Panic", form, "token=good", 500, `{"result":1,"message":"An internal error occurred. Please try again later."}`},
		{"body too large", "POST", "/api/test/Echo", form, "token=good&value=" + strings.Repeat("x", 2000), 200, `{"result":1,"message":"The request body is too large (the limit is 1024 bytes)."}`},
		{"bad json", "POST", "/api/test/Echo", "application/json", `{"token":`, 200, `{"result":1,"message":"The input parameters were incorrect."}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, s, tt.method, tt.target, tt.ct, tt.body)
			if w.Code != tt.wantStatus || w.Body.String() != tt.wantBody {
				t.Errorf("got %d %s\nwant %d %s", w.Code, w.Body.String(), tt.wantStatus, tt.wantBody)
			}
			if loc := w.Header().Get("Location"); loc != "" {
				t.Errorf("got a redirect to %q", loc)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want JSON", ct)
			}
		})
	}
}

func TestServerPlainText(t *testing.T) {
	s := testServer(1024)
	w := do(t, s, "GET", "/api/test/Echo?token=good&value=AAAAA&format=plaintext", "", "")
	if w.Body.String() != "AAAAA" || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		t.Errorf("format=plaintext: got %q (%s), want AAAAA as text/plain", w.Body.String(), w.Header().Get("Content-Type"))
	}
	w = do(t, s, "GET", "/api/test/Echo?token=good&value=BB", "", "", "Accept", "text/plain")
	if w.Body.String() != "BB" {
		t.Errorf("Accept text/plain: got %q, want BB", w.Body.String())
	}
	w = do(t, s, "GET", "/api/test/Echo?token=bad&format=plaintext", "", "")
	if w.Body.String() != "Unable to authenticate." {
		t.Errorf("plaintext error: got %q", w.Body.String())
	}
}

func TestServerMsgPack(t *testing.T) {
	s := testServer(1024)
	body := url.Values{"token": {"good"}, "value": {"hi"}}.Encode()
	w := do(t, s, "POST", "/api/test/Echo", "application/x-www-form-urlencoded", body, "Accept", "application/x-msgpack")
	// fixmap(4) "value":"hi" "n":0 "result":0 "message":""
	want := "\x84\xa5value\xa2hi\xa1n\x00\xa6result\x00\xa7message\xa0"
	if w.Body.String() != want || w.Header().Get("Content-Type") != "application/x-msgpack" {
		t.Errorf("msgpack: got %q (%s), want %q", w.Body.String(), w.Header().Get("Content-Type"), want)
	}
	// A MessagePack request body: {"token":"good","value":"mp"}.
	req := "\x82\xa5token\xa4good\xa5value\xa2mp"
	w = do(t, s, "POST", "/api/test/Echo", "application/x-msgpack", req)
	want = "\x84\xa5value\xa2mp\xa1n\x00\xa6result\x00\xa7message\xa0"
	if w.Body.String() != want {
		t.Errorf("msgpack body: got %q, want %q", w.Body.String(), want)
	}
	w = do(t, s, "POST", "/api/test/Echo", "application/x-msgpack", "\x82\xa5tok")
	if want := "\x82\xa6result\x01\xa7message\xd9\x24The input parameters were incorrect."; w.Body.String() != want {
		t.Errorf("bad msgpack body: got %q, want %q", w.Body.String(), want)
	}
}

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"socket peer", "192.0.2.7:5123", nil, nil, "192.0.2.7"},
		{"API Gateway source IP (no port)", "192.0.2.10", nil, nil, "192.0.2.10"},
		{"IPv6 source IP", "2001:db8:1::5", nil, nil, "2001:db8:1::5"},
		{"IPv6 peer with port", "[2001:db8:1::5]:443", nil, nil, "2001:db8:1::5"},
		{"IPv4-mapped peer", "[::ffff:192.0.2.9]:80", nil, nil, "192.0.2.9"},
		{"forwarded header without trusted proxies", "192.0.2.7:1", []string{"9.9.9.9"}, nil, "192.0.2.7"},
		{"forwarded header from an untrusted peer", "192.0.2.7:1", []string{"9.9.9.9"}, proxies, "192.0.2.7"},
		{"one trusted proxy", "10.1.2.3:1", []string{"198.51.100.4"}, proxies, "198.51.100.4"},
		{"spoofed entries before the proxy's", "10.1.2.3:1", []string{"9.9.9.9, 198.51.100.4"}, proxies, "198.51.100.4"},
		{"chain of trusted proxies", "10.1.2.3:1", []string{"198.51.100.4, 10.9.9.9", "2001:db8::1"}, proxies, "198.51.100.4"},
		{"garbage entry ends the walk", "10.1.2.3:1", []string{"198.51.100.4, [x,1.2"}, proxies, "10.1.2.3"},
		{"only proxies", "10.1.2.3:1", []string{"10.2.2.2"}, proxies, "10.2.2.2"},
		{"no peer address", "", []string{"9.9.9.9"}, proxies, ""},
		{"garbage peer", "not-an-ip", nil, nil, ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/api/key/Activate", nil)
		r.RemoteAddr = tt.remote
		for _, v := range tt.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := ClientIP(r, tt.trusted); got != tt.want {
			t.Errorf("%s: ClientIP = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestServerDeadline: a method runs under the request deadline, and an
// error from a dependency that ran out of time is the documented 503; a
// client-facing message keeps its HTTP 200 even when its cause is a
// timeout.
func TestServerDeadline(t *testing.T) {
	handle := func(ret func(context.Context) error) HandlerFunc {
		return func(ctx context.Context, _ *Call) (any, error) {
			if _, ok := ctx.Deadline(); !ok {
				return nil, errors.New("no deadline")
			}
			return nil, ret(ctx)
		}
	}
	s := NewServer(Options{Auth: fakeAuth{}, RequestTimeout: 50 * time.Millisecond}, Group{Name: "test", Methods: []Method{
		{Name: "Hang", Permission: "Echo", Handle: handle(func(ctx context.Context) error {
			<-ctx.Done() // a dependency that never answers
			return fmt.Errorf("get item: %w", ctx.Err())
		})},
		{Name: "NetTimeout", Permission: "Echo", Handle: handle(func(context.Context) error {
			return fmt.Errorf("attempt: %w", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded})
		})},
		{Name: "Unavailable", Permission: "Echo", Handle: handle(func(context.Context) error { return apierr.Unavailable })},
		{Name: "BadBody", Permission: "Echo", Handle: handle(func(ctx context.Context) error {
			return apierr.BadInput.Wrap(context.DeadlineExceeded)
		})},
		{Name: "Fine", Permission: "Echo", Handle: handle(func(context.Context) error { return nil })},
	}})
	unavailable := `{"result":1,"message":"The service did not answer in time. Please try again."}`
	tests := []struct {
		method     string
		wantStatus int
		wantBody   string
	}{
		{"Hang", 503, unavailable},
		{"NetTimeout", 503, unavailable},
		{"Unavailable", 503, unavailable},
		{"BadBody", 200, `{"result":1,"message":"The input parameters were incorrect."}`},
		{"Fine", 200, `{"result":0,"message":""}`},
	}
	for _, tt := range tests {
		w := do(t, s, "POST", "/api/test/"+tt.method, "application/x-www-form-urlencoded", "token=good")
		if w.Code != tt.wantStatus || w.Body.String() != tt.wantBody {
			t.Errorf("%s = %d %s, want %d %s", tt.method, w.Code, w.Body, tt.wantStatus, tt.wantBody)
		}
	}
}
