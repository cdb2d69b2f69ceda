package app_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/signing"
	"github.com/keyturn/keyturn/shared/webapi/msgpack"
)

const adminSecret = "test-admin-secret"

// env is one service instance on its own DynamoDB Local table.
type env struct {
	t     *testing.T
	app   *app.App
	db    *dynamodb.Client
	table string
	url   string
	http  *http.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with extra environment variables.
func newEnvWith(t *testing.T, extra map[string]string) *env {
	t.Helper()
	db, table := ddbtest.NewTable(t)
	sum := sha256.Sum256([]byte(adminSecret))
	vars := map[string]string{
		config.EnvTable:           table,
		config.EnvSigningMode:     config.SigningLocal,
		config.EnvLocalKEKFile:    filepath.Join(t.TempDir(), "kek"),
		config.EnvAdminSecretHash: hex.EncodeToString(sum[:]),
		config.EnvMaxBodyBytes:    "4096",
	}
	for k, v := range extra {
		vars[k] = v
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, nil, app.Clients{DynamoDB: db})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.Router(a.WebAPI(app.Groups(a)...), a.Admin(), a.Peers()...))
	t.Cleanup(srv.Close)
	return &env{t: t, app: a, db: db, table: table, url: srv.URL, http: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return errors.New("redirects are not allowed") },
	}}
}

// admin calls the admin API and decodes the answer into out.
func (e *env) admin(method, path string, in, out any) int {
	e.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.url+path, body)
	req.Header.Set("Authorization", "Bearer "+adminSecret)
	res, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return res.StatusCode
}

func (e *env) mustAdmin(method, path string, in, out any) {
	e.t.Helper()
	if code := e.admin(method, path, in, out); code >= 300 {
		e.t.Fatalf("%s %s: status %d", method, path, code)
	}
}

type fixture struct {
	account int64
	product int64
	token   string
}

// setup creates an account with one product and a token with the given
// methods.
func (e *env) setup(name string, methods ...string) fixture {
	e.t.Helper()
	var f fixture
	var acc struct{ ID int64 }
	e.mustAdmin("POST", "/admin/accounts", map[string]any{"name": name}, &acc)
	f.account = acc.ID
	base := "/admin/accounts/" + strconv.FormatInt(acc.ID, 10)
	var p struct{ ID int64 }
	e.mustAdmin("POST", base+"/products", map[string]any{"name": name + " product", "description": "d",
		"featureDefinitions": map[string]any{"f1": map[string]any{"name": "Time Limit (F1)", "type": 1},
			"f2": map[string]any{"name": "Trial (F2)", "type": 2}}}, &p)
	f.product = p.ID
	var tok struct{ Token string }
	e.mustAdmin("POST", base+"/tokens", map[string]any{"name": "t", "methods": methods}, &tok)
	f.token = tok.Token
	return f
}

// call performs a Web API request and returns status and body.
func (e *env) call(method, path string, params url.Values, header ...string) (int, string) {
	e.t.Helper()
	var req *http.Request
	if method == "GET" {
		req, _ = http.NewRequest("GET", e.url+path+"?"+params.Encode(), nil)
	} else {
		req, _ = http.NewRequest(method, e.url+path, strings.NewReader(params.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestGetProductsAllSpellings(t *testing.T) {
	e := newEnv(t)
	f := e.setup("acme", "GetProducts")
	status, want := e.call("POST", "/api/product/GetProducts", url.Values{"token": {f.token}})
	if status != 200 {
		t.Fatalf("status %d: %s", status, want)
	}
	var res struct {
		Products []struct {
			ID                 int64  `json:"id"`
			Name               string `json:"name"`
			CreationDate       string `json:"creationDate"`
			FeatureDefinitions struct {
				F1 struct {
					Name string `json:"name"`
					Type int    `json:"type"`
				} `json:"f1"`
			} `json:"featureDefinitions"`
		} `json:"products"`
		Result  *int    `json:"result"`
		Message *string `json:"message"`
	}
	if err := json.Unmarshal([]byte(want), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Products) != 1 || res.Products[0].ID != f.product || res.Products[0].Name != "acme product" ||
		res.Products[0].FeatureDefinitions.F1.Name != "Time Limit (F1)" || res.Products[0].FeatureDefinitions.F1.Type != 1 ||
		res.Result == nil || *res.Result != 0 || res.Message == nil || *res.Message != "" {
		t.Fatalf("GetProducts body = %s", want)
	}
	if _, err := time.Parse("2006-01-02T15:04:05", res.Products[0].CreationDate); err != nil {
		t.Errorf("creationDate %q is not an ISO local date: %v", res.Products[0].CreationDate, err)
	}
	if !strings.HasSuffix(want, `,"result":0,"message":""}`) {
		t.Errorf("envelope must end with result and message: %s", want)
	}
	tests := []struct {
		name   string
		method string
		path   string
		params url.Values
	}{
		{"GET query", "GET", "/api/product/GetProducts", url.Values{"token": {f.token}}},
		{"double slash, lower case, trailing slash", "POST", "/api//product/getproducts/", url.Values{"token": {f.token}}},
		{"upper case", "POST", "/API/Product/GetProducts", url.Values{"token": {f.token}}},
		{"leading double slash", "POST", "//api//product/GetProducts", url.Values{"token": {f.token}}},
		{"lower-case parameter names", "POST", "/api/product/GetProducts", url.Values{"TOKEN": {f.token}, "v": {"1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.call(tt.method, tt.path, tt.params)
			if status != 200 || body != want {
				t.Errorf("got %d %s\nwant 200 %s", status, body, want)
			}
		})
	}
}

func TestTokenErrors(t *testing.T) {
	e := newEnv(t)
	f := e.setup("acme", "GetProducts")
	other := e.setup("other", "GetKey")
	id, secret, _ := auth.Decode(f.token)
	base := "/admin/accounts/" + strconv.FormatInt(f.account, 10)
	var expired struct{ Token string }
	e.mustAdmin("POST", base+"/tokens", map[string]any{"methods": []string{"GetProducts"},
		"expires": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}, &expired)
	const unauth = `{"result":1,"message":"Unable to authenticate."}`
	const denied = `{"result":1,"message":"Access denied."}`
	tests := []struct {
		name  string
		token []string
		want  string
	}{
		{"missing token", nil, unauth},
		{"empty token", []string{""}, unauth},
		{"null token", []string{"null"}, unauth},
		{"not base64", []string{"###"}, unauth},
		{"unknown id", []string{auth.Encode("nosuchtoken", secret)}, unauth},
		{"wrong secret", []string{auth.Encode(id, secret+"A")}, unauth},
		{"expired", []string{expired.Token}, unauth},
		{"valid token without the method", []string{other.token}, denied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := url.Values{}
			if tt.token != nil {
				p["token"] = tt.token
			}
			status, body := e.call("POST", "/api/product/GetProducts", p)
			if status != 200 || body != tt.want {
				t.Errorf("got %d %s, want 200 %s", status, body, tt.want)
			}
		})
	}
	// A token can only be deleted through its own account.
	if code := e.admin("DELETE", "/admin/accounts/"+strconv.FormatInt(other.account, 10)+"/tokens/"+id, nil, nil); code != 404 {
		t.Errorf("deleting a token through another account: status %d, want 404", code)
	}
}

func TestCrossAccountIsolation(t *testing.T) {
	e := newEnv(t)
	a := e.setup("alpha", "GetProducts")
	b := e.setup("beta", "GetProducts")
	for _, f := range []fixture{a, b} {
		_, body := e.call("POST", "/api/product/GetProducts", url.Values{"token": {f.token}})
		var res struct {
			Products []struct{ ID int64 } `json:"products"`
		}
		_ = json.Unmarshal([]byte(body), &res)
		if len(res.Products) != 1 || res.Products[0].ID != f.product {
			t.Errorf("account %d sees %s; want only product %d", f.account, body, f.product)
		}
	}
	// A product-locked token sees only its product.
	base := "/admin/accounts/" + strconv.FormatInt(a.account, 10)
	var second struct{ ID int64 }
	e.mustAdmin("POST", base+"/products", map[string]any{"name": "second"}, &second)
	var locked struct{ Token string }
	e.mustAdmin("POST", base+"/tokens", map[string]any{"methods": []string{"GetProducts"}, "productLock": second.ID}, &locked)
	_, body := e.call("POST", "/api/product/GetProducts", url.Values{"token": {locked.Token}})
	if !strings.Contains(body, `"name":"second"`) || strings.Contains(body, "alpha product") {
		t.Errorf("product-locked token sees %s; want only product %d", body, second.ID)
	}
	// A token cannot be locked to another account's product.
	if code := e.admin("POST", base+"/tokens", map[string]any{"methods": []string{"GetProducts"}, "productLock": b.product}, nil); code != 400 {
		t.Errorf("product lock on another account's product: status %d, want 400", code)
	}
	// Admin paths of a missing account are 404.
	if code := e.admin("GET", "/admin/accounts/999999/products", nil, nil); code != 404 {
		t.Errorf("missing account: status %d, want 404", code)
	}
}

func TestTokenStoredHashed(t *testing.T) {
	e := newEnv(t)
	f := e.setup("acme", "GetProducts")
	id, secret, _ := auth.Decode(f.token)
	out, err := e.db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(e.table),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "T#" + id},
			"sk": &types.AttributeValueMemberS{Value: "T"},
		},
	})
	if err != nil || out.Item == nil {
		t.Fatalf("raw token item: %v %v", out, err)
	}
	found := false
	for name, v := range out.Item {
		var raw []byte
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			raw = []byte(v.Value)
		case *types.AttributeValueMemberB:
			raw = v.Value
			found = found || bytes.Equal(v.Value, auth.HashSecret(secret))
		}
		if bytes.Contains(raw, []byte(secret)) || bytes.Contains(raw, []byte(f.token)) {
			t.Errorf("attribute %s holds the token secret", name)
		}
	}
	if !found {
		t.Error("the item holds no SHA-256 of the secret")
	}
	// The admin listing never shows a token.
	var list struct {
		Tokens []map[string]any `json:"tokens"`
	}
	e.mustAdmin("GET", "/admin/accounts/"+strconv.FormatInt(f.account, 10)+"/tokens", nil, &list)
	if len(list.Tokens) != 1 || list.Tokens[0]["token"] != nil {
		t.Errorf("token listing = %v; want one token without its secret", list.Tokens)
	}
}

func TestMessagePackResponse(t *testing.T) {
	e := newEnv(t)
	f := e.setup("acme", "GetProducts")
	_, jsonBody := e.call("POST", "/api/product/GetProducts", url.Values{"token": {f.token}})
	status, mp := e.call("POST", "/api/product/GetProducts", url.Values{"token": {f.token}}, "Accept", "application/x-msgpack")
	want, err := msgpack.FromJSON([]byte(jsonBody))
	if err != nil {
		t.Fatal(err)
	}
	if status != 200 || mp != string(want) {
		t.Errorf("msgpack body = %q, want %q", mp, want)
	}
	_, mpErr := e.call("POST", "/api/product/GetProducts", url.Values{"token": {"bad"}}, "Accept", "application/x-msgpack")
	if wantErr, _ := msgpack.FromJSON([]byte(`{"result":1,"message":"Unable to authenticate."}`)); mpErr != string(wantErr) {
		t.Errorf("msgpack error body = %q, want %q", mpErr, wantErr)
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t)
	f := e.setup("acme", "GetProducts")
	_, body := e.call("POST", "/api/product/GetProducts", url.Values{"token": {f.token}, "pad": {strings.Repeat("x", 5000)}})
	if want := `{"result":1,"message":"The request body is too large (the limit is 4096 bytes)."}`; body != want {
		t.Errorf("got %s, want %s", body, want)
	}
}

func TestAdminCredential(t *testing.T) {
	e := newEnv(t)
	for name, hdr := range map[string]string{"none": "", "wrong": "Bearer nope", "not bearer": "Basic " + adminSecret} {
		req, _ := http.NewRequest("GET", e.url+"/admin/accounts", nil)
		if hdr != "" {
			req.Header.Set("Authorization", hdr)
		}
		res, err := e.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 {
			t.Errorf("%s credential: status %d, want 401", name, res.StatusCode)
		}
	}
	if code := e.admin("GET", "//admin//accounts/", nil, nil); code != 200 {
		t.Errorf("admin path with extra slashes: status %d, want 200", code)
	}
	if code := e.admin("POST", "/admin/accounts", map[string]any{"name": ""}, nil); code != 400 {
		t.Errorf("empty account name: status %d, want 400", code)
	}
	if code := e.admin("POST", "/admin/accounts", map[string]any{"nme": "x"}, nil); code != 400 {
		t.Errorf("unknown field: status %d, want 400", code)
	}
}

func TestSigningKeyThroughAdmin(t *testing.T) {
	e := newEnv(t)
	f := e.setup("acme", "GetProducts")
	base := "/admin/accounts/" + strconv.FormatInt(f.account, 10)
	if code := e.admin("GET", base+"/signing-keys/current", nil, nil); code != 404 {
		t.Errorf("no key yet: status %d, want 404", code)
	}
	var k1, k2, cur struct {
		Version int             `json:"version"`
		XML     string          `json:"xml"`
		PEM     string          `json:"pem"`
		JWK     json.RawMessage `json:"jwk"`
	}
	e.mustAdmin("POST", base+"/signing-keys", nil, &k1)
	if k1.Version != 1 || !strings.HasPrefix(k1.XML, "<RSAKeyValue><Modulus>") || !strings.Contains(k1.PEM, "BEGIN PUBLIC KEY") || len(k1.JWK) == 0 {
		t.Fatalf("created key = %+v", k1)
	}
	pub, err := signing.ParseXML(k1.XML)
	if err != nil {
		t.Fatal(err)
	}
	if pub.N.BitLen() != 2048 {
		t.Errorf("modulus has %d bits, want 2048", pub.N.BitLen())
	}
	signer, err := e.app.SigningKeys.SignerFor(context.Background(), f.account)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte(`{"ProductId":1}`)
	sig, err := signing.SignSHA256(context.Background(), signer, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := signing.Verify(pub, crypto.SHA256, msg, sig); err != nil {
		t.Errorf("signature does not verify with the exported XML key: %v", err)
	}
	e.mustAdmin("POST", base+"/signing-keys", nil, &k2)
	e.mustAdmin("GET", base+"/signing-keys/current", nil, &cur)
	if k2.Version != 2 || cur.Version != 2 || cur.XML != k2.XML || k2.XML == k1.XML {
		t.Errorf("rotation: created v%d, current v%d; want a new key as version 2", k2.Version, cur.Version)
	}
}
