package netlicensing_test

import (
	"context"
	"encoding/base64"
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

	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/ddbtest"
)

// env is the service on its own DynamoDB Local table, serving the
// NetLicensing group (and Web API 3, for cross-checks) over HTTP, with one
// account holding two products and a token holding every permission.
type env struct {
	t        *testing.T
	a        *app.App
	trips    *ddbtest.Counter
	url      string
	http     *http.Client
	account  int64
	product  int64 // F1 time-limited, F2 trial
	product2 int64
	tok      string // every permission and role, no locks
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db, table := ddbtest.NewTable(t)
	cfg, err := config.Load(func(k string) string {
		return map[string]string{
			config.EnvTable:        table,
			config.EnvSigningMode:  config.SigningLocal,
			config.EnvLocalKEKFile: filepath.Join(t.TempDir(), "kek"),
			config.EnvMaxBodyBytes: "20000",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	trips := ddbtest.NewCounter(db)
	a, err := app.New(ctx, cfg, nil, app.Clients{DynamoDB: trips})
	if err != nil {
		t.Fatal(err)
	}
	h, err := a.Handler("netlicensing")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.Router(a.WebAPI(app.Groups(a)...), nil, app.Peer{Serves: func(p string) bool {
		return strings.HasPrefix(strings.ToLower(p)+"/", "/core/v2/rest/")
	}, Handler: h}))
	t.Cleanup(srv.Close)
	e := &env{t: t, a: a, trips: trips, url: srv.URL, http: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return errors.New("redirects are not allowed") },
	}}
	acc, err := a.Catalog.CreateAccount(ctx, "netlicensing")
	if err != nil {
		t.Fatal(err)
	}
	e.account = acc.ID
	fd := catalog.DefaultFeatureDefinitions()
	fd.Features[0] = catalog.Feature{Name: "Time Limit (F1)", Type: catalog.FeatureTimeLimited}
	fd.Features[1] = catalog.Feature{Name: "Trial (F2)", Type: catalog.FeatureTrial}
	p, err := a.Catalog.CreateProduct(ctx, catalog.Product{AccountID: acc.ID, Name: "Editor", Features: fd})
	if err != nil {
		t.Fatal(err)
	}
	e.product = p.ID
	p2, err := a.Catalog.CreateProduct(ctx, catalog.Product{AccountID: acc.ID, Name: "Viewer"})
	if err != nil {
		t.Fatal(err)
	}
	e.product2 = p2.ID
	e.tok = e.token(auth.Scope{Methods: auth.Permissions()})
	return e
}

// token issues a token of the env's account.
func (e *env) token(s auth.Scope) string {
	e.t.Helper()
	tok, _, err := e.a.Tokens.Issue(context.Background(), e.account, "t", s, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// basic is the Authorization header of NetLicensing's API key
// identification with token.
func basic(token string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte("apiKey:"+token))
}

// response is one answer.
type response struct {
	status int
	body   string
	header http.Header
}

// do sends a request: params as a form body for POST, as the query
// otherwise. header are name/value pairs (Accept defaults to JSON).
func (e *env) do(token, method, path string, params url.Values, header ...string) response {
	e.t.Helper()
	var req *http.Request
	target := e.url + "/core/v2/rest/" + strings.TrimPrefix(path, "/")
	if method == "POST" {
		req, _ = http.NewRequest(method, target, strings.NewReader(params.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		if len(params) > 0 {
			target += "?" + params.Encode()
		}
		req, _ = http.NewRequest(method, target, nil)
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", basic(token))
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
	return response{status: res.StatusCode, body: string(b), header: res.Header}
}

// webAPI calls a Web API 3 method with the env's token.
func (e *env) webAPI(method string, kv ...string) string {
	e.t.Helper()
	v := url.Values{"token": {e.tok}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	res, err := e.http.PostForm(e.url+"/api/"+method, v)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// doc is a decoded JSON response document.
type doc struct {
	Infos struct {
		Info []struct {
			Value, ID, Type string
		} `json:"info"`
	} `json:"infos"`
	Items struct {
		Item        []item `json:"item"`
		PageNumber  *int   `json:"pagenumber"`
		ItemsNumber *int   `json:"itemsnumber"`
		TotalPages  *int   `json:"totalpages"`
		TotalItems  *int   `json:"totalitems"`
		HasNext     *bool  `json:"hasnext"`
	} `json:"items"`
	TTL *string `json:"ttl"`
}

type item struct {
	Type     string `json:"type"`
	Property []struct {
		Name, Value string
	} `json:"property"`
	List []list `json:"list"`
}

type list struct {
	Name     string `json:"name"`
	Property []struct {
		Name, Value string
	} `json:"property"`
}

// props returns an item's (or list's) properties as a map.
func (it item) props() map[string]string {
	m := map[string]string{}
	for _, p := range it.Property {
		m[p.Name] = p.Value
	}
	return m
}

func (l list) props() map[string]string {
	m := map[string]string{}
	for _, p := range l.Property {
		m[p.Name] = p.Value
	}
	return m
}

// decode parses a JSON document.
func (r response) decode(t *testing.T) doc {
	t.Helper()
	var d doc
	if err := json.Unmarshal([]byte(r.body), &d); err != nil {
		t.Fatalf("not a JSON document (%d): %v: %.300s", r.status, err, r.body)
	}
	return d
}

// licensee returns the one Licensee item of a 200 answer.
func (r response) licensee(t *testing.T) map[string]string {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %.400s", r.status, r.body)
	}
	d := r.decode(t)
	if len(d.Items.Item) != 1 || d.Items.Item[0].Type != "Licensee" {
		t.Fatalf("want one Licensee item: %.400s", r.body)
	}
	return d.Items.Item[0].props()
}

// errorInfo returns the id and value of the ERROR info of an answer.
func (r response) errorInfo(t *testing.T) (string, string) {
	t.Helper()
	d := r.decode(t)
	for _, in := range d.Infos.Info {
		if in.Type == "ERROR" {
			return in.ID, in.Value
		}
	}
	t.Fatalf("no ERROR info (%d): %.300s", r.status, r.body)
	return "", ""
}

// jsonInt returns a numeric member of a Web API 3 answer as a string.
func jsonInt(t *testing.T, body, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	f, ok := m[name].(float64)
	if !ok {
		t.Fatalf("no %s in %s", name, body)
	}
	return strconv.FormatInt(int64(f), 10)
}

// raw sends body as it is (form content type) with the given Accept.
func (e *env) raw(token, method, path, body, accept string) response {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+"/core/v2/rest/"+strings.TrimPrefix(path, "/"), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", accept)
	req.Header.Set("Authorization", basic(token))
	res, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, body: string(b), header: res.Header}
}
