package netlicensing_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/licensees"
)

// licensee creates a licensee through the domain (number, product,
// marked for transfer) and returns its customer id.
func (e *env) licensee(number string, product int64, marked bool) int64 {
	e.t.Helper()
	v, err := e.a.Licensees.Create(context.Background(), e.account, product, licensees.Fields{Number: &number, MarkedForTransfer: &marked}, 0, licensees.Limits{AccountWide: true})
	if err != nil {
		e.t.Fatalf("create licensee %s: %v", number, err)
	}
	return v.CustomerID
}

// TestRoles: each call accepts a token holding any one of its roles and
// refuses (403 AccessDeniedException) a token holding only other roles,
// or Web API 3 permissions only.
func TestRoles(t *testing.T) {
	e := newEnv(t)
	const (
		admin       = auth.RoleAPIKeyAdmin
		maintenance = auth.RoleAPIKeyMaintenance
		operation   = auth.RoleAPIKeyOperation
		analytics   = auth.RoleAPIKeyAnalytics
		licensee    = auth.RoleAPIKeyLicensee
	)
	read := []string{admin, maintenance, operation, analytics}
	write := []string{admin, maintenance}
	all := []string{admin, maintenance, operation, analytics, licensee}
	pn := strconv.FormatInt(e.product, 10)
	calls := []struct {
		name    string
		roles   []string
		success int
		send    func(tok, target, source string) response
	}{
		{"list", read, 200, func(tok, _, _ string) response { return e.do(tok, "GET", "licensee", nil) }},
		{"get", read, 200, func(tok, n, _ string) response { return e.do(tok, "GET", "licensee/"+n, nil) }},
		{"create", write, 200, func(tok, n, _ string) response {
			return e.do(tok, "POST", "licensee", url.Values{"productNumber": {pn}, "number": {n + "-new"}})
		}},
		{"update", write, 200, func(tok, n, _ string) response { return e.do(tok, "POST", "licensee/"+n, url.Values{"color": {"red"}}) }},
		{"delete", write, 204, func(tok, n, _ string) response {
			return e.do(tok, "DELETE", "licensee/"+n, url.Values{"forceCascade": {"true"}})
		}},
		{"validate", all, 200, func(tok, n, _ string) response { return e.do(tok, "POST", "licensee/"+n+"/validate", nil) }},
		{"validate (GET)", all, 200, func(tok, n, _ string) response { return e.do(tok, "GET", "licensee/"+n+"/validate", nil) }},
		{"transfer", all, 204, func(tok, n, src string) response {
			return e.do(tok, "POST", "licensee/"+n+"/transfer", url.Values{"sourceLicenseeNumber": {src}})
		}},
	}
	tokens := map[string]string{}
	for _, r := range all {
		tokens[r] = e.token(auth.Scope{Methods: []string{r}})
	}
	tokens["Web API 3 only"] = e.token(auth.Scope{Methods: []string{"GetKey", "GetCustomers", "AddCustomer", "CreateKey"}})
	n := 0
	for _, c := range calls {
		for holder, tok := range tokens {
			n++
			target, source := "T"+strconv.Itoa(n), "S"+strconv.Itoa(n)
			e.licensee(target, e.product, false)
			e.licensee(source, e.product, true)
			r := c.send(tok, target, source)
			want := http.StatusForbidden
			if slices.Contains(c.roles, holder) {
				want = c.success
			}
			if r.status != want {
				t.Errorf("%s with %s: status %d, want %d: %.300s", c.name, holder, r.status, want, r.body)
				continue
			}
			if want == http.StatusForbidden {
				if id, msg := r.errorInfo(t); id != "AccessDeniedException" || msg != "Access is denied" {
					t.Errorf("%s with %s: %s %s", c.name, holder, id, msg)
				}
			}
		}
	}
}

// TestCredentials: NetLicensing's API key identification (HTTP Basic with
// a token as the password) is the only way in; anything else is 401 with
// a Basic challenge.
func TestCredentials(t *testing.T) {
	e := newEnv(t)
	e.licensee("C1", e.product, false)
	expired := e.token(auth.Scope{Methods: auth.Permissions(), Expires: time.Now().Add(-time.Minute)})
	b64 := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name, header string
		want         int
	}{
		{"none", "", 401},
		{"bearer token", "Bearer " + e.tok, 401},
		{"basic, not base64", "Basic ###", 401},
		{"basic without a colon", b64("apiKey" + e.tok), 401},
		{"basic without a password", b64("apiKey:"), 401},
		{"unknown token", b64("apiKey:not-a-token"), 401},
		{"expired token", basic(expired), 401},
		{"apiKey and the token", basic(e.tok), 200},
		{"another user name and the token", b64("demo:" + e.tok), 200},
		{"lower-case scheme", "basic " + base64.StdEncoding.EncodeToString([]byte("apiKey:"+e.tok)), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("", "GET", "licensee/C1", url.Values{"token": {e.tok}}, "Authorization", tt.header)
			if r.status != tt.want {
				t.Fatalf("status %d, want %d: %.300s", r.status, tt.want, r.body)
			}
			if tt.want == 401 {
				if id, _ := r.errorInfo(t); id != "AuthenticationException" || r.header.Get("WWW-Authenticate") != `Basic realm="NetLicensing"` {
					t.Errorf("401 answer: %s, WWW-Authenticate %q", id, r.header.Get("WWW-Authenticate"))
				}
			}
		})
	}
}

// TestLocks: a product-locked token reaches only its product's licensees
// (and lists only them); it may rename only customers its licensees
// created and link no existing customer; a key-locked token reaches no
// licensee.
func TestLocks(t *testing.T) {
	e := newEnv(t)
	e.licensee("P1-A", e.product, true)
	e.licensee("P2-A", e.product2, false)
	e.licensee("P2-B", e.product2, true)
	locked := e.token(auth.Scope{Methods: auth.Permissions(), ProductLock: e.product2})
	p1, p2 := strconv.FormatInt(e.product, 10), strconv.FormatInt(e.product2, 10)
	tests := []struct {
		name   string
		method string
		path   string
		params url.Values
		want   int
	}{
		{"get own product", "GET", "licensee/P2-A", nil, 200},
		{"get other product", "GET", "licensee/P1-A", nil, 403},
		{"validate other product", "POST", "licensee/P1-A/validate", nil, 403},
		{"update other product", "POST", "licensee/P1-A", url.Values{"active": {"false"}}, 403},
		{"delete other product", "DELETE", "licensee/P1-A", nil, 403},
		{"transfer from other product", "POST", "licensee/P2-A/transfer", url.Values{"sourceLicenseeNumber": {"P1-A"}}, 403},
		{"create in other product", "POST", "licensee", url.Values{"productNumber": {p1}}, 403},
		{"create in own product", "POST", "licensee", url.Values{"productNumber": {p2}, "number": {"P2-C"}, "name": {"Own"}}, 200},
		{"rename a customer it created", "POST", "licensee/P2-C", url.Values{"name": {"Renamed"}}, 200},
		{"link an existing customer", "POST", "licensee", url.Values{"productNumber": {p2}, "keyturnCustomerId": {"1"}}, 403},
		{"transfer within own product", "POST", "licensee/P2-A/transfer", url.Values{"sourceLicenseeNumber": {"P2-B"}}, 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := e.do(locked, tt.method, tt.path, tt.params); r.status != tt.want {
				t.Errorf("status %d, want %d: %.300s", r.status, tt.want, r.body)
			}
		})
	}
	d := e.do(locked, "GET", "licensee", nil).decode(t)
	var numbers []string
	for _, it := range d.Items.Item {
		numbers = append(numbers, it.props()["number"])
	}
	if slices.Sort(numbers); !slices.Equal(numbers, []string{"P2-A", "P2-B", "P2-C"}) || *d.Items.TotalItems != 3 {
		t.Errorf("product-locked listing = %v (total %d), want P2-A P2-B P2-C", numbers, *d.Items.TotalItems)
	}
	// A licensee linked to an existing customer: renaming it renames a
	// customer shared with other products, which needs an unlocked token.
	cust := e.webAPI("customer/AddCustomer", "Name", "Shared", "Email", "shared@example.com", "CompanyName", "Shared AB")
	id := jsonInt(t, cust, "customerId")
	if r := e.do(e.tok, "POST", "licensee", url.Values{"productNumber": {p2}, "number": {"P2-L"}, "keyturnCustomerId": {id}}); r.status != 200 {
		t.Fatalf("link: %d %s", r.status, r.body)
	}
	if r := e.do(locked, "POST", "licensee/P2-L", url.Values{"name": {"Hijacked"}}); r.status != 403 {
		t.Errorf("product-locked rename of a linked customer: %d %s", r.status, r.body)
	}
	if r := e.do(locked, "POST", "licensee/P2-L", url.Values{"name": {"Shared"}, "color": {"green"}}); r.status != 200 {
		t.Errorf("product-locked update keeping the name: %d %s", r.status, r.body)
	}
	keyLocked := e.token(auth.Scope{Methods: auth.Permissions(), ProductLock: e.product2, KeyLock: 1})
	if r := e.do(keyLocked, "POST", "licensee/P2-A/validate", nil); r.status != 403 {
		t.Errorf("key-locked validate: %d %s", r.status, r.body)
	}
	negative := e.token(auth.Scope{Methods: auth.Permissions(), KeyLock: -1})
	if r := e.do(negative, "POST", "licensee", url.Values{"productNumber": {p2}, "keyturnCustomerId": {id}}); r.status != 403 {
		t.Errorf("key lock -1 linking a customer: %d %s", r.status, r.body)
	}
}
