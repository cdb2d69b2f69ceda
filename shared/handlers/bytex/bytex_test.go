package bytex_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/handlers/bytex"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/users"
)

// fakes, written by hand with function fields.

type fakeTokens map[string]auth.Principal

func (f fakeTokens) Authenticate(_ context.Context, raw string) (auth.Principal, error) {
	if p, ok := f[raw]; ok {
		return p, nil
	}
	return auth.Principal{}, apierr.Unauthenticated
}

type fakeProducts struct{}

func (fakeProducts) Product(_ context.Context, accountID, productID int64) (catalog.Product, error) {
	if accountID == 1 && (productID == 10 || productID == 11) {
		return catalog.Product{ID: productID, AccountID: 1}, nil
	}
	return catalog.Product{}, apierr.NotFound
}

func (fakeProducts) Products(_ context.Context, accountID int64) ([]catalog.Product, error) {
	return []catalog.Product{{ID: 10, AccountID: 1}, {ID: 11, AccountID: 1}}, nil
}

type fakeKeys struct{}

func (fakeKeys) Get(context.Context, int64, int64, string) (keys.Record, error) {
	return keys.Record{}, apierr.KeyNotFound
}

type fakeCustomers struct{}

func (fakeCustomers) Customer(context.Context, int64, int64) (customers.Customer, error) {
	return customers.Customer{}, apierr.NotFound
}

func (fakeCustomers) CustomerLicenses(context.Context, int64, int64, bool) ([]keys.Record, error) {
	return nil, nil
}

type fakeUsers struct{}

func (fakeUsers) RedeemLoginToken(context.Context, int64, string) (users.User, error) {
	return users.User{}, apierr.NotFound
}

type fakeDiscounts struct {
	create func(ctx context.Context, accountID int64, spec bytex.DiscountSpec) (bytex.Discount, error)
}

func (f fakeDiscounts) CreateDiscount(ctx context.Context, accountID int64, spec bytex.DiscountSpec) (bytex.Discount, error) {
	return f.create(ctx, accountID, spec)
}

// server returns the API on fakes: token "all" has every permission,
// "locked" is locked to product 10, "keylocked" to a key, "none" has no
// permission.
func server(t *testing.T, d bytex.Discounts) *httptest.Server {
	t.Helper()
	tokens := fakeTokens{
		"all":       {AccountID: 1, TokenID: "a", Scope: auth.Scope{Methods: auth.Permissions()}},
		"locked":    {AccountID: 1, TokenID: "l", Scope: auth.Scope{Methods: auth.Permissions(), ProductLock: 10}},
		"keylocked": {AccountID: 1, TokenID: "k", Scope: auth.Scope{Methods: auth.Permissions(), ProductLock: 10, KeyLock: 3}},
		"none":      {AccountID: 1, TokenID: "n", Scope: auth.Scope{}},
	}
	h := bytex.New(bytex.Deps{Tokens: tokens, Products: fakeProducts{}, Keys: fakeKeys{}, Customers: fakeCustomers{}, Licenses: fakeCustomers{}, Users: fakeUsers{},
		Discounts: d, Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, srv *httptest.Server, path string, form url.Values, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

const createPath = "/API/Public/v1/Discounts/r1/Create"

// TestCreateDiscountMapping: Discounts/r1/Create's form data become the
// DiscountSpec the discounts service gets, and its code the documented
// answer (the reference's example).
func TestCreateDiscountMapping(t *testing.T) {
	var got bytex.DiscountSpec
	var gotAccount int64
	srv := server(t, fakeDiscounts{create: func(_ context.Context, accountID int64, spec bytex.DiscountSpec) (bytex.Discount, error) {
		got, gotAccount = spec, accountID
		return bytex.Discount{Code: "PFNHX-BDFZ8-L8PEX"}, nil
	}})
	day := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	cases := []struct {
		name string
		form url.Values
		want bytex.DiscountSpec
	}{
		{"percentage", form("apiKey", "all", "percentage", "12.5"), bytex.DiscountSpec{PercentOff: 1250}},
		{"whole percentage for one product", form("apiKey", "all", "Percentage", "100", "ProductSku", "11"), bytex.DiscountSpec{PercentOff: 10000, ProductID: 11}},
		{"amount", form("apiKey", "all", "amount", "9.99", "currency", "eur"), bytex.DiscountSpec{AmountOff: 999, Currency: "EUR"}},
		{"everything", form("apiKey", "all", "percentage", "5", "code", "spring-26", "validFrom", "2026-03-01", "validUntil", "2026-03-31T23:59:59Z",
			"maxRedemptions", "100"), bytex.DiscountSpec{PercentOff: 500, Code: "SPRING-26", ValidFrom: day("2026-03-01T00:00:00Z"),
			ValidUntil: day("2026-03-31T23:59:59Z"), MaxRedemptions: 100}},
		{"locked token for its product", form("apiKey", "locked", "percentage", "1", "productSku", "10"), bytex.DiscountSpec{PercentOff: 100, ProductID: 10}},
	}
	for _, c := range cases {
		status, body := post(t, srv, createPath, c.form)
		if want := `{"errors":[],"response":{"code":"PFNHX-BDFZ8-L8PEX"}}`; status != 200 || body != want {
			t.Errorf("%s: %d %s, want 200 %s", c.name, status, body, want)
		}
		if got != c.want || gotAccount != 1 {
			t.Errorf("%s: spec %+v for account %d, want %+v for 1", c.name, got, gotAccount, c.want)
		}
	}

	// The same as multipart form data, with the API key in a header.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("percentage", "20")
	_ = mw.Close()
	for _, h := range [][2]string{{"X-Api-Key", "all"}, {"Authorization", "Bearer all"}} {
		req, _ := http.NewRequest("POST", srv.URL+createPath, bytes.NewReader(buf.Bytes()))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set(h[0], h[1])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || got.PercentOff != 2000 {
			t.Errorf("multipart with %s: %d %s, spec %+v", h[0], res.StatusCode, b, got)
		}
	}
}

// TestCreateDiscountRefusals: bad form data, missing rights and the
// service's refusals get the envelope with the right status, and the
// service is not called for bad input.
func TestCreateDiscountRefusals(t *testing.T) {
	called := false
	var answer error
	srv := server(t, fakeDiscounts{create: func(context.Context, int64, bytex.DiscountSpec) (bytex.Discount, error) {
		called = true
		return bytex.Discount{Code: "X"}, answer
	}})
	cases := []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"no API key", form("percentage", "5"), 401, "The API key is missing or not valid."},
		{"wrong API key", form("apiKey", "nope", "percentage", "5"), 401, "The API key is missing or not valid."},
		{"no permission", form("apiKey", "none", "percentage", "5"), 403, "The API key does not allow this request."},
		{"neither percentage nor amount", form("apiKey", "all"), 400, "The parameter percentage or amount is required."},
		{"both", form("apiKey", "all", "percentage", "5", "amount", "5", "currency", "EUR"), 400, "Send either percentage or amount, not both."},
		{"percentage 0", form("apiKey", "all", "percentage", "0"), 400, "The parameter percentage must be"},
		{"percentage over 100", form("apiKey", "all", "percentage", "100.01"), 400, "The parameter percentage must be"},
		{"percentage with 3 decimals", form("apiKey", "all", "percentage", "1.125"), 400, "The parameter percentage must be"},
		{"percentage not a number", form("apiKey", "all", "percentage", "ten"), 400, "The parameter percentage must be"},
		{"negative amount", form("apiKey", "all", "amount", "-1", "currency", "EUR"), 400, "The parameter amount must be"},
		{"amount without currency", form("apiKey", "all", "amount", "1"), 400, "The parameter currency must be"},
		{"bad code", form("apiKey", "all", "percentage", "5", "code", "a b"), 400, "The parameter code must be"},
		{"bad date", form("apiKey", "all", "percentage", "5", "validUntil", "31.12.2026"), 400, "The parameter validUntil must be"},
		{"until before from", form("apiKey", "all", "percentage", "5", "validFrom", "2026-05-01", "validUntil", "2026-04-01"), 400, "validUntil must be after validFrom."},
		{"maxRedemptions 0", form("apiKey", "all", "percentage", "5", "maxRedemptions", "0"), 400, "The parameter maxRedemptions must be"},
		{"unknown product", form("apiKey", "all", "percentage", "5", "productSku", "99"), 404, "The product was not found."},
		{"locked token, every product", form("apiKey", "locked", "percentage", "5"), 403, "The API key does not allow this request."},
		{"locked token, another product", form("apiKey", "locked", "percentage", "5", "productSku", "11"), 403, "The API key does not allow this request."},
		{"key-locked token", form("apiKey", "keylocked", "percentage", "5", "productSku", "10"), 403, "The API key does not allow this request."},
	}
	for _, c := range cases {
		called = false
		status, body := post(t, srv, createPath, c.form)
		var env struct {
			Errors   []string
			Response json.RawMessage
		}
		_ = json.Unmarshal([]byte(body), &env)
		if status != c.status || len(env.Errors) != 1 || !strings.HasPrefix(env.Errors[0], c.want) || string(env.Response) != "null" || called {
			t.Errorf("%s: %d %s (service called: %v), want %d %q", c.name, status, body, called, c.status, c.want)
		}
	}
	for _, c := range []struct {
		err    error
		status int
		want   string
	}{
		{apierr.Conflict, 409, `{"errors":["A discount with this code exists already."],"response":null}`},
		{apierr.New("Discounts above 90 % need approval."), 400, `{"errors":["Discounts above 90 % need approval."],"response":null}`},
		{errors.New("payments store down"), 500, `{"errors":["An internal error occurred. Please try again later."],"response":null}`},
	} {
		answer = c.err
		if status, body := post(t, srv, createPath, form("apiKey", "all", "percentage", "95")); status != c.status || body != c.want {
			t.Errorf("service answers %v: %d %s, want %d %s", c.err, status, body, c.status, c.want)
		}
	}

	off := server(t, nil)
	if status, body := post(t, off, createPath, form("apiKey", "all", "percentage", "5")); status != 501 ||
		body != `{"errors":["Discounts are not available on this service yet."],"response":null}` {
		t.Errorf("without a discounts service: %d %s", status, body)
	}
}

// TestProtocol: unknown endpoints, other methods, GET with query
// parameters and any case of the path.
func TestProtocol(t *testing.T) {
	srv := server(t, nil)
	req, _ := http.NewRequest("PUT", srv.URL+"/API/Public/v1/Licenses/r1/GetPublic", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 405 || res.Header.Get("Allow") != "GET, POST" {
		t.Errorf("PUT: %d %q", res.StatusCode, res.Header.Get("Allow"))
	}
	for _, c := range []struct {
		path   string
		status int
		body   string
	}{
		{"/API/Public/v1/Licenses/r1/GetPublic?apiKey=all&key=ABC", 200,
			`{"errors":[],"response":{"exists":false,"key":"ABC","isValid":false,"productSku":null,"latestPublicVersionName":null}}`},
		{"/api/public/v1/licenses/r1/getpublic?APIKEY=all&KEY=ABC", 200,
			`{"errors":[],"response":{"exists":false,"key":"ABC","isValid":false,"productSku":null,"latestPublicVersionName":null}}`},
		{"/API/Public/v1/Licenses/r1/GetPublic?apiKey=all", 400, `{"errors":["The parameter key is required."],"response":null}`},
		{"/API/Public/v1/Licenses/r1/Get?apiKey=all&key=ABC", 404, `{"errors":["No license was found for this license key."],"response":null}`},
		{"/API/Public/v1/Authentication/r1/GetTokenValidity?apiKey=all&token=x", 404,
			`{"errors":["The token is not valid: it is unknown, expired or was already used."],"response":null}`},
		{"/API/Public/v1/Accounts/r1/GetProductLicenses?apiKey=all&productSku=10", 400,
			`{"errors":["The parameter internalUserIdentifier is required."],"response":null}`},
		{"/API/Public/v1/Accounts/r1/GetProductLicenses?apiKey=all&productSku=10&internalUserIdentifier=X1", 404,
			`{"errors":["The account was not found."],"response":null}`},
		{"/API/Public/v1/Licenses/r2/Get?apiKey=all", 404, `{"errors":["Unknown endpoint."],"response":null}`},
		{"/API/Public/v2/Licenses/r1/Get?apiKey=all", 404, `{"errors":["Unknown endpoint."],"response":null}`},
	} {
		res, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status || string(b) != c.body || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Errorf("GET %s: %d %s, want %d %s", c.path, res.StatusCode, b, c.status, c.body)
		}
	}
}
