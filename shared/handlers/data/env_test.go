package data_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/dataobj"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/handlers/data"
	"github.com/keyturn/keyturn/shared/keys"
)

// env is the service on its own DynamoDB Local table, serving the data
// group over HTTP, with one account holding two products, a node-locked
// key (machine "mc1" activated), a floating key (machine "fl1" holding a
// seat) and a second key.
type env struct {
	t        *testing.T
	a        *app.App
	svc      *dataobj.Service
	trips    *ddbtest.Counter
	url      string
	http     *http.Client
	account  int64
	product  int64
	product2 int64
	key      keys.Record // node-locked, mc1 activated
	fkey     keys.Record // floating, fl1 holds a seat
	key2     keys.Record // product 1, nothing activated
	tok      string      // every permission, no locks
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
	// The wiring app.Handler("data") uses.
	svc := dataobj.NewService(a.DataStore, a.LicenseStore, a.Products, a.Now)
	srv := httptest.NewServer(a.WebAPI(data.Group(data.Deps{Objects: svc})))
	t.Cleanup(srv.Close)
	e := &env{t: t, a: a, svc: svc, trips: trips, url: srv.URL, http: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return errors.New("redirects are not allowed") },
	}}
	acc, err := a.Catalog.CreateAccount(ctx, "data")
	if err != nil {
		t.Fatal(err)
	}
	e.account = acc.ID
	for _, p := range []*int64{&e.product, &e.product2} {
		pr, err := a.Catalog.CreateProduct(ctx, catalog.Product{AccountID: acc.ID, Name: "p"})
		if err != nil {
			t.Fatal(err)
		}
		*p = pr.ID
	}
	recs, err := a.Licenses.Create(ctx, acc.ID, e.product, keys.Spec{Period: 30, MaxNoOfMachines: 3}, 3)
	if err != nil {
		t.Fatal(err)
	}
	e.key, e.fkey, e.key2 = recs[0], recs[1], recs[2]
	if _, err := a.Licenses.Activate(ctx, keys.ActivateInput{AccountID: acc.ID, ProductID: e.product, Key: e.key.Key, MachineCode: "mc1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Licenses.Activate(ctx, keys.ActivateInput{AccountID: acc.ID, ProductID: e.product, Key: e.fkey.Key, MachineCode: "fl1", FloatingInterval: time.Hour}); err != nil {
		t.Fatal(err)
	}
	e.tok = e.token(auth.Scope{})
	return e
}

// token issues a token of the env's account; without Methods it gets
// every permission.
func (e *env) token(s auth.Scope) string {
	e.t.Helper()
	if s.Methods == nil {
		s.Methods = auth.Permissions()
	}
	tok, _, err := e.a.Tokens.Issue(context.Background(), e.account, "t", s, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// call POSTs a form to /api/data/<method> and returns the body.
func (e *env) call(method, tok string, kv ...string) string {
	e.t.Helper()
	p := url.Values{}
	if tok != "" {
		p.Set("token", tok)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Set(kv[i], kv[i+1])
	}
	req, _ := http.NewRequest("POST", e.url+"/api/data/"+method, strings.NewReader(p.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s: %v", method, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		e.t.Errorf("%s: status %d: %s", method, res.StatusCode, b)
	}
	return string(b)
}

// add calls an Add method and returns the new id.
func (e *env) add(method, tok string, kv ...string) int64 {
	e.t.Helper()
	body := e.call(method, tok, kv...)
	var res struct {
		ID      int64  `json:"id"`
		Result  int    `json:"result"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil || res.Result != 0 || res.ID <= 0 {
		e.t.Fatalf("%s = %s", method, body)
	}
	if want := fmt.Sprintf(`{"id":%d,"result":0,"message":""}`, res.ID); body != want {
		e.t.Errorf("%s = %s, want %s", method, body, want)
	}
	return res.ID
}

// object reads a stored object by id.
func (e *env) object(id int64) dataobj.Object {
	e.t.Helper()
	h, err := e.a.DataStore.Locate(context.Background(), e.account, id)
	if err != nil {
		e.t.Fatalf("locate %d: %v", id, err)
	}
	o, err := e.a.DataStore.GetObject(context.Background(), e.account, h.Ref, id)
	if err != nil {
		e.t.Fatalf("get %d: %v", id, err)
	}
	return o
}

// keyArgs are ProductId and Key of a key.
func keyArgs(k keys.Record, kv ...string) []string {
	return append([]string{"ProductId", strconv.FormatInt(k.ProductID, 10), "Key", k.Key}, kv...)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// parallel runs fn(i) for i in 0..n-1 at once.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

func errBody(err error) string {
	m, _ := json.Marshal(err.Error())
	return `{"result":1,"message":` + string(m) + `}`
}

const ok = `{"result":0,"message":""}`
