package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/handlers/bytex"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/wiring"
)

// bx calls a Bytex endpoint (GET with query parameters) on base and
// returns the status and the body.
func bx(t *testing.T, base, endpoint string, params ...string) (int, string) {
	t.Helper()
	v := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		v.Set(params[i], params[i+1])
	}
	res, err := http.Get(base + "/API/Public/v1/" + endpoint + "?" + v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// bxResponse decodes the envelope of a successful call into out.
func bxResponse(t *testing.T, what string, status int, body string, out any) {
	t.Helper()
	var env struct {
		Errors   []string        `json:"errors"`
		Response json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil || status != 200 || env.Errors == nil || len(env.Errors) != 0 {
		t.Fatalf("%s: %d %s", what, status, body)
	}
	if err := json.Unmarshal(env.Response, out); err != nil {
		t.Fatalf("%s: %v: %s", what, err, body)
	}
}

// setCounter makes the next id of a global counter n+1.
func (e *env) setCounter(name string, n int64) {
	e.t.Helper()
	if _, err := e.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "COUNTER"}, "sk": &types.AttributeValueMemberS{Value: name},
		"n": &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}}}); err != nil {
		e.t.Fatal(err)
	}
}

// loginToken mints a one-time login token for an end user through
// userauth/CreateLoginToken.
func (e *env) loginToken(token, username, password string) string {
	e.t.Helper()
	body := e.post("userauth/CreateLoginToken", "token", token, "Username", username, "Password", password)
	var out struct {
		LoginToken string `json:"loginToken"`
		Expires    int64  `json:"expires"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || out.LoginToken == "" || out.Expires <= time.Now().Unix() {
		e.t.Fatalf("CreateLoginToken = %s", body)
	}
	return out.LoginToken
}

// TestBytexGolden: the documented examples of GetProductLicenses,
// GetTokenValidity, GetPublic and Get, for customers, licenses and an end
// user made to match them, on the service's real handler (clock at the
// examples' time); testdata/bytex/README.md lists where Keyturn's answer
// differs from the documentation and why.
func TestBytexGolden(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	f := e.setup("bytex", "*")
	pid := strconv.FormatInt(f.product, 10)
	e.setCounter("customer", 109025529)
	erika, _ := e.addCustomer(f, "Name", "Erika Mustermann", "Email", "erika@customer.example")
	e.setCounter("customer", 123456788)
	max, _ := e.addCustomer(f, "Name", "Max Mustermann")
	if erika != 109025530 || max != 123456789 {
		t.Fatalf("customer ids %d, %d", erika, max)
	}
	other := e.setupProduct(f, "other")
	at := func(s string) time.Time {
		v, err := time.Parse("2006-01-02T15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	recs := []keys.Record{
		{ID: 1, GlobalID: 156429250, Key: "2f25e95e-a816-48a0-b83a-01ea14c8b276", Created: at("2018-10-19T16:24:59"),
			Expires: at("2018-10-19T16:24:59"), Block: true, OrderRef: "B441542389", CustomerID: erika},
		{ID: 2, GlobalID: 309483763, Key: "998ccfc9-77c6-4837-8f10-b83279b065a9", Created: at("2018-10-22T13:09:47"),
			Expires: at("2018-10-27T13:09:47"), Features: [8]bool{true}, CustomerID: erika},
		{ID: 3, GlobalID: 400000001, Key: "5fc55949-8f7a-4a22-97c3-8d15f9780284", Created: at("2018-12-31T03:16:44"),
			Expires: at("2019-01-01T00:00:00"), CustomerID: max},
		{ID: 4, GlobalID: 400000002, Key: "another-customers-key", Created: at("2018-10-20T00:00:00"), CustomerID: max},
		{ID: 1, GlobalID: 400000003, Key: "erikas-key-of-another-product", Created: at("2018-10-20T00:00:00"), CustomerID: erika},
	}
	for i := range recs {
		recs[i].AccountID, recs[i].ProductID = f.account, f.product
		if i == len(recs)-1 {
			recs[i].ProductID = other
		}
	}
	if err := e.app.LicenseStore.ImportKeys(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if got := e.post("userauth/Register", "token", f.token, "Username", "erika", "Password", "erika-password",
		"Email", "erika.mustermann@example.com", "CustomerId", strconv.FormatInt(erika, 10)); got != ok {
		t.Fatalf("Register = %s", got)
	}
	loginToken := e.loginToken(f.token, "erika", "erika-password")

	c := *e.app.Core
	c.Now = func() time.Time { return at("2018-10-23T00:00:00") }
	srv := httptest.NewServer(wiring.Bytex(&c, e.app.Licenses, e.app.Customers, e.app.Listing, e.app.Users, e.app.Discounts))
	defer srv.Close()
	golden := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("testdata", "bytex", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, bytes.ReplaceAll(b, []byte("{{product}}"), []byte(pid))); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	for _, c := range []struct {
		golden, endpoint string
		params           []string
	}{
		{"GetProductLicenses", "Accounts/r1/GetProductLicenses", []string{"internalUserIdentifier", "K109025530", "productSku", pid}},
		{"GetTokenValidity", "Authentication/r1/GetTokenValidity", []string{"token", loginToken}},
		{"GetPublic", "Licenses/r1/GetPublic", []string{"key", "dd1952b9-2571-4595-9f5f-d503d36388d2"}},
		{"Get", "Licenses/r1/Get", []string{"key", "5fc55949-8f7a-4a22-97c3-8d15f9780284"}},
	} {
		status, body := bx(t, srv.URL, c.endpoint, append([]string{"apiKey", f.token}, c.params...)...)
		if want := golden(c.golden); status != 200 || body != want {
			t.Errorf("%s:\n got %d %s\nwant 200 %s", c.endpoint, status, body, want)
		}
	}
	// The login token was used up.
	if status, body := bx(t, srv.URL, "Authentication/r1/GetTokenValidity", "apiKey", f.token, "token", loginToken); status != 404 ||
		body != `{"errors":["The token is not valid: it is unknown, expired or was already used."],"response":null}` {
		t.Errorf("second validation: %d %s", status, body)
	}
}

type bxLicense struct {
	InternalUserIdentifier *string `json:"internalUserIdentifier"`
	From, Until            string
	IsActive               bool    `json:"isActive"`
	OrderIdentifier        *string `json:"orderIdentifier"`
	LicenseIdentifier      *string `json:"licenseIdentifier"`
	LicenseKey             string  `json:"licenseKey"`
}

// TestBytexFollowsWebAPI: the Bytex views are computed from the keys and
// customers, so Web API 3 changes show at once (a new key of a customer,
// blocking, extending, moving it to another customer), and a one-time
// login token minted by userauth is used up by the Bytex validation.
func TestBytexFollowsWebAPI(t *testing.T) {
	e := newEnv(t)
	f := e.setup("follow", "*")
	pid := strconv.FormatInt(f.product, 10)
	cid, _ := e.addCustomer(f, "Name", "Ada Lovelace", "Email", "ada@example.com")
	ident := bytex.CustomerIdentifier(cid)
	list := func(what string) []bxLicense {
		t.Helper()
		status, body := bx(t, e.url, "Accounts/r1/GetProductLicenses", "apiKey", f.token, "internalUserIdentifier", ident, "productSku", pid)
		var out struct{ Licenses []bxLicense }
		bxResponse(t, what, status, body, &out)
		return out.Licenses
	}
	if got := list("no licenses"); len(got) != 0 {
		t.Errorf("before any key: %+v", got)
	}
	k := e.createKey(f, "CustomerId", strconv.FormatInt(cid, 10), "F1", "true", "Period", "10")
	today := time.Now().UTC()
	got := list("created")
	if len(got) != 1 || got[0].LicenseKey != k || !got[0].IsActive || got[0].OrderIdentifier != nil || *got[0].InternalUserIdentifier != ident ||
		!strings.HasPrefix(got[0].Until, today.Add(10*24*time.Hour).Format("2006-01-02")) || !strings.HasPrefix(got[0].From, today.Format("2006-01-02")) {
		t.Fatalf("after CreateKey: %+v", got)
	}
	getLicense := func(what string) map[string]any {
		t.Helper()
		status, body := bx(t, e.url, "Licenses/r1/Get", "apiKey", f.token, "key", k)
		var out struct{ License map[string]any }
		bxResponse(t, what, status, body, &out)
		return out.License
	}
	if l := getLicense("Get"); l["isActive"] != true || l["isPermanent"] != false || l["issuedToIdentifier"] != ident || l["productSku"] != pid {
		t.Errorf("Get: %v", l)
	}
	if got := e.post("key/BlockKey", "token", f.token, "ProductId", pid, "Key", k); got != ok {
		t.Fatal(got)
	}
	if got := list("blocked"); got[0].IsActive {
		t.Errorf("after BlockKey: %+v", got)
	}
	status, body := bx(t, e.url, "Licenses/r1/GetPublic", "apiKey", f.token, "key", k)
	var pub struct{ Exists, IsValid bool }
	bxResponse(t, "GetPublic", status, body, &pub)
	if !pub.Exists || pub.IsValid {
		t.Errorf("GetPublic after BlockKey: %s", body)
	}
	if got := e.post("key/ExtendLicense", "token", f.token, "ProductId", pid, "Key", k, "NoOfDays", "5"); got != ok {
		t.Fatal(got)
	}
	if got := list("extended"); !strings.HasPrefix(got[0].Until, today.Add(15*24*time.Hour).Format("2006-01-02")) {
		t.Errorf("after ExtendLicense: %+v", got)
	}
	if got := e.post("key/ChangeCustomer", "token", f.token, "ProductId", pid, "Key", k, "CustomerId", "0"); !strings.Contains(got, `"result":1`) {
		t.Fatalf("ChangeCustomer 0 = %s", got)
	}
	if got := list("moved away"); len(got) != 0 {
		t.Errorf("after ChangeCustomer 0: %+v", got)
	}
	if l := getLicense("without customer"); l["issuedToIdentifier"] != nil {
		t.Errorf("Get without a customer: %v", l)
	}

	// userauth mints, Bytex validates once.
	if got := e.post("userauth/Register", "token", f.token, "Username", "ada", "Password", "pw", "CustomerId", strconv.FormatInt(cid, 10)); got != ok {
		t.Fatal(got)
	}
	tok := e.loginToken(f.token, "ada", "pw")
	status, body = bx(t, e.url, "Authentication/r1/GetTokenValidity", "apiKey", f.token, "token", tok)
	var v struct {
		AuthenticatedIdentity struct {
			Identifier, FirstName, LastName, Email *string
		}
	}
	bxResponse(t, "GetTokenValidity", status, body, &v)
	if id := v.AuthenticatedIdentity; *id.Identifier != ident || *id.FirstName != "Ada" || *id.LastName != "Lovelace" || *id.Email != "ada@example.com" {
		t.Errorf("GetTokenValidity: %s", body)
	}
	if status, _ := bx(t, e.url, "Authentication/r1/GetTokenValidity", "apiKey", f.token, "token", tok); status != 404 {
		t.Errorf("the token validated twice: %d", status)
	}
	// AdminMode mints without a password.
	admin := e.post("userauth/CreateLoginToken", "token", f.token, "Username", "ada", "AdminMode", "true")
	var at struct{ LoginToken string }
	if err := json.Unmarshal([]byte(admin), &at); err != nil || at.LoginToken == "" {
		t.Fatalf("CreateLoginToken AdminMode = %s", admin)
	}
	if status, _ := bx(t, e.url, "Authentication/r1/GetTokenValidity", "apiKey", f.token, "token", at.LoginToken); status != 200 {
		t.Errorf("admin-minted token: %d", status)
	}
}

// TestBytexScopes: each endpoint needs its permission; a product lock
// confines GetProductLicenses, GetPublic, Get and discounts to the
// product; a key lock to the key; a feature lock hides the key, the
// customer and the global id as it does in GetKey.
func TestBytexScopes(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("alpha")
	p1, p2 := strconv.FormatInt(w.p1, 10), strconv.FormatInt(w.p2, 10)
	ident := bytex.CustomerIdentifier(w.customer)
	tok := func(fields map[string]any) string { return e.token(w.fixture, fields) }
	perms := []struct {
		endpoint   string
		permission string
		params     []string
	}{
		{"Accounts/r1/GetProductLicenses", "GetCustomerLicenses", []string{"internalUserIdentifier", ident, "productSku", p1}},
		{"Licenses/r1/GetPublic", "GetKey", []string{"key", w.k1}},
		{"Licenses/r1/Get", "GetKey", []string{"key", w.k1}},
		{"Authentication/r1/GetTokenValidity", "UserAuthNormal", []string{"token", "x"}},
		{"Discounts/r1/Create", "CreateDiscount", []string{"percentage", "5"}},
	}
	for _, p := range perms {
		without := tok(map[string]any{"methods": allBut(p.permission, "UserAuthAdmin")})
		if status, body := bx(t, e.url, p.endpoint, append([]string{"apiKey", without}, p.params...)...); status != 403 {
			t.Errorf("%s without %s: %d %s", p.endpoint, p.permission, status, body)
		}
		with := tok(map[string]any{"methods": []string{p.permission}})
		if status, body := bx(t, e.url, p.endpoint, append([]string{"apiKey", with}, p.params...)...); status == 403 || status == 401 {
			t.Errorf("%s with only %s: %d %s", p.endpoint, p.permission, status, body)
		}
	}

	locked := tok(map[string]any{"methods": []string{"*"}, "productLock": w.p2})
	markers := []string{w.k1, w.k2}
	for _, c := range []struct {
		endpoint string
		params   []string
		status   int
	}{
		{"Accounts/r1/GetProductLicenses", []string{"internalUserIdentifier", ident, "productSku", p1}, 403},
		{"Licenses/r1/Get", []string{"key", w.k1}, 404},
		{"Licenses/r1/Get", []string{"key", w.k1, "productSku", p1}, 403},
		{"Licenses/r1/GetPublic", []string{"key", w.k1}, 200}, // exists: false
		{"Discounts/r1/Create", []string{"percentage", "5"}, 403},
		{"Discounts/r1/Create", []string{"percentage", "5", "productSku", p1}, 403},
	} {
		status, body := bx(t, e.url, c.endpoint, append([]string{"apiKey", locked}, c.params...)...)
		if c.endpoint == "Licenses/r1/GetPublic" {
			body = strings.Replace(body, `"key":"`+w.k1+`"`, `"key":"(the key asked for)"`, 1)
		}
		if status != c.status || len(leaks(body, markers)) > 0 || strings.Contains(body, `"exists":true`) {
			t.Errorf("product-locked %s %v: %d %s, want %d without product 1's keys", c.endpoint, c.params, status, body, c.status)
		}
	}
	status, body := bx(t, e.url, "Accounts/r1/GetProductLicenses", "apiKey", locked, "internalUserIdentifier", ident, "productSku", p2)
	if status != 200 || !strings.Contains(body, w.k3) {
		t.Errorf("product-locked GetProductLicenses of its product: %d %s", status, body)
	}

	keyLocked := tok(map[string]any{"methods": []string{"*"}, "productLock": w.p1, "keyLock": w.k1ID})
	status, body = bx(t, e.url, "Accounts/r1/GetProductLicenses", "apiKey", keyLocked, "internalUserIdentifier", ident, "productSku", p1)
	if status != 200 || !strings.Contains(body, w.k1) || strings.Contains(body, w.k2) {
		t.Errorf("key-locked GetProductLicenses: %d %s, want key 1 only", status, body)
	}
	if status, body := bx(t, e.url, "Licenses/r1/Get", "apiKey", keyLocked, "key", w.k2); status != 404 || strings.Contains(body, w.k2) {
		t.Errorf("key-locked Get of key 2: %d %s", status, body)
	}

	masked := tok(map[string]any{"methods": []string{"*"}, "featureLock": 2 | 8 | 16})
	status, body = bx(t, e.url, "Accounts/r1/GetProductLicenses", "apiKey", masked, "internalUserIdentifier", ident, "productSku", p1)
	if status != 200 || strings.Contains(body, w.k1) || !strings.Contains(body, `"internalUserIdentifier":null`) ||
		!strings.Contains(body, `"licenseIdentifier":null`) || !strings.Contains(body, `"licenseKey":""`) {
		t.Errorf("feature-locked GetProductLicenses: %d %s", status, body)
	}
	status, body = bx(t, e.url, "Licenses/r1/Get", "apiKey", masked, "key", w.k1)
	if status != 200 || strings.Contains(body, w.k1) || !strings.Contains(body, `"issuedToIdentifier":null`) {
		t.Errorf("feature-locked Get: %d %s", status, body)
	}
}

// TestBytexIsolation: account B's API key reaches nothing of account A's:
// not A's customers (by identifier), products (by SKU), keys (by string,
// in any product) or end users' login tokens, which stay usable by A; A's
// items are unchanged.
func TestBytexIsolation(t *testing.T) {
	e := newEnv(t)
	a := e.newWorld("alpha")
	aToken := e.loginToken(a.token, a.username, a.password)
	before := e.snapshot()
	b := e.newWorld("bravo")
	markers := []string{"alpha", a.k1, a.k2, a.k3, bytex.CustomerIdentifier(a.customer)}
	ident := bytex.CustomerIdentifier(a.customer)
	for _, c := range []struct {
		endpoint string
		params   []string
	}{
		{"Accounts/r1/GetProductLicenses", []string{"internalUserIdentifier", ident, "productSku", strconv.FormatInt(a.p1, 10)}},
		{"Accounts/r1/GetProductLicenses", []string{"internalUserIdentifier", ident, "productSku", strconv.FormatInt(b.p1, 10)}},
		{"Licenses/r1/Get", []string{"key", a.k1}},
		{"Licenses/r1/Get", []string{"key", a.k1, "productSku", strconv.FormatInt(a.p1, 10)}},
		{"Licenses/r1/GetPublic", []string{"key", a.k3}},
		{"Authentication/r1/GetTokenValidity", []string{"token", aToken}},
		{"Discounts/r1/Create", []string{"percentage", "5", "productSku", strconv.FormatInt(a.p1, 10)}},
	} {
		status, body := bx(t, e.url, c.endpoint, append([]string{"apiKey", b.token}, c.params...)...)
		if c.endpoint == "Licenses/r1/GetPublic" {
			// GetPublic repeats the key asked for.
			body = strings.Replace(body, `"key":"`+a.k3+`"`, `"key":"(the key asked for)"`, 1)
		}
		if l := leaks(body, markers); len(l) > 0 || status == 200 && !strings.Contains(body, `"exists":false`) {
			t.Errorf("B %s %v: %d %s (shows %v)", c.endpoint, c.params, status, body, l)
		}
	}
	after := e.snapshot()
	for k, v := range before {
		if !globalCounter(k) && after[k] != v {
			t.Errorf("A's item %s changed", k)
		}
	}
	if status, body := bx(t, e.url, "Authentication/r1/GetTokenValidity", "apiKey", a.token, "token", aToken); status != 200 {
		t.Errorf("A's login token after B tried it: %d %s", status, body)
	}
}

// TestBytexRoutes: the API's paths in any spelling reach it, before Web
// API 3's /api/<group>/<method> routing (which would answer "The method
// could not be found."), and Web API 3 paths still reach Web API 3.
func TestBytexRoutes(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/API/Public/v1/Licenses/r1/GetPublic", "/api/public/v1/licenses/r1/getpublic", "//API//Public/v1/Licenses/r1/GetPublic/",
		"/Api/Public/V1/Licenses/R1/GetPublic"} {
		status, body := e.call("GET", p, url.Values{"key": {"x"}})
		if want := `{"errors":["The API key is missing or not valid. Send a Keyturn access token as the apiKey parameter, the X-Api-Key header or Authorization: Bearer."],"response":null}`; status != 401 || body != want {
			t.Errorf("%s: %d %s", p, status, body)
		}
	}
	if status, body := e.call("POST", "/api/Public/GetPublic", url.Values{}); status != 404 || !strings.Contains(body, "Unknown endpoint.") {
		t.Errorf("/api/Public/GetPublic (a Bytex path, not a Web API group): %d %s", status, body)
	}
	if status, body := e.call("POST", "/api/key/GetKey", url.Values{}); status != 200 || body != `{"result":1,"message":"Unable to authenticate."}` {
		t.Errorf("Web API next to Bytex: %d %s", status, body)
	}
}

// TestBytexNeverFails: odd values of every parameter of every endpoint,
// by GET and by POST, get an envelope with a client status, never a 500.
func TestBytexNeverFails(t *testing.T) {
	e := newEnv(t)
	f := e.setup("odd", "*")
	k := e.createKey(f)
	odd := []string{"", " ", "0", "-1", "K", "K0", "k-5", "L1", "9223372036854775808", "1e9", strings.Repeat("x", 3000), "%00", "\x00",
		"null", "[]", "{}", "é", k, "12.345", "100.00", "1.", ".5", "2026-13-45", "EURO"}
	names := []string{"internalUserIdentifier", "productSku", "token", "key", "percentage", "amount", "currency", "code",
		"validFrom", "validUntil", "maxRedemptions"}
	endpoints := []string{"Accounts/r1/GetProductLicenses", "Authentication/r1/GetTokenValidity", "Licenses/r1/GetPublic",
		"Licenses/r1/Get", "Discounts/r1/Create"}
	for _, ep := range endpoints {
		for _, n := range names {
			for _, v := range odd {
				for _, method := range []string{"GET", "POST"} {
					status, body := e.call(method, "/API/Public/v1/"+ep, url.Values{"apiKey": {f.token}, n: {v}, "productSku": {strconv.FormatInt(f.product, 10)}})
					var env struct {
						Errors []string `json:"errors"`
					}
					if err := json.Unmarshal([]byte(body), &env); err != nil || status >= 500 && status != 501 || env.Errors == nil {
						t.Errorf("%s %s %s=%.40q: %d %.200s", method, ep, n, v, status, body)
					}
				}
			}
		}
	}
}

// TestBytexDiscountsArePaymentCodes: Discounts/r1/Create makes the
// discount codes buyers enter on payment pages (payments.Discounts), and
// refuses what those codes cannot honour.
func TestBytexDiscountsArePaymentCodes(t *testing.T) {
	e := newEnv(t)
	f := e.setup("discounts", "*")
	pid := strconv.FormatInt(f.product, 10)
	until := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Second)
	status, body := bx(t, e.url, "Discounts/r1/Create", "apiKey", f.token, "percentage", "15", "productSku", pid,
		"code", "spring-26", "validUntil", until.Format("2006-01-02T15:04:05"), "maxRedemptions", "3")
	var created struct{ Code string }
	bxResponse(t, "create", status, body, &created)
	if created.Code != "SPRING-26" {
		t.Fatalf("code = %q, want SPRING-26", created.Code)
	}
	d, err := e.app.Discounts.Get(context.Background(), f.account, "spring-26")
	if err != nil {
		t.Fatal(err)
	}
	if d.PercentOff != 15 || d.ProductID != f.product || d.MaxRedemptions != 3 || !d.Expires.Equal(until) {
		t.Errorf("payment code = %+v, want 15%% off product %d, 3 uses, until %v", d, f.product, until)
	}
	tests := []struct {
		name   string
		params []string
		status int
		want   string
	}{
		{"same code", []string{"percentage", "10", "code", "SPRING-26"}, 409, apierr.BytexDiscountCodeTaken.Message},
		{"fraction of a percent", []string{"percentage", "12.5"}, 400, apierr.BytexDiscountPercent.Message},
		{"free", []string{"percentage", "100"}, 400, apierr.BytexDiscountPercent.Message},
		{"starts later", []string{"percentage", "10", "validFrom", time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04:05")}, 400, apierr.BytexDiscountValidFrom.Message},
		{"code too long for payment pages", []string{"percentage", "10", "code", strings.Repeat("A", 40)}, 400, "3 to 32"},
	}
	for _, tt := range tests {
		status, body := bx(t, e.url, "Discounts/r1/Create", append([]string{"apiKey", f.token, "productSku", pid}, tt.params...)...)
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s, want %d with %q", tt.name, status, body, tt.status, tt.want)
		}
	}
}
