package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/app"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/config"
)

// Answers as clients see them.
const (
	deniedBody = `{"result":1,"message":"Access denied."}`
	unauthBody = `{"result":1,"message":"Unable to authenticate."}`
)

func errBody(e *apierr.Error) string { return `{"result":1,"message":"` + e.Message + `"}` }

// adminRaw calls the admin API and returns the status and body.
func (e *env) adminRaw(method, path string, in any) (int, string) {
	e.t.Helper()
	b, _ := json.Marshal(in)
	req, _ := http.NewRequest(method, e.url+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+adminSecret)
	res, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// storedToken stores a token with scope in f's account directly (as a
// token issued before the admin API checked scopes would be) and returns
// its wire form.
func (e *env) storedToken(f fixture, id string, scope auth.Scope) string {
	e.t.Helper()
	const secret = "stored-token-secret"
	err := e.app.CatalogStore.PutToken(context.Background(), auth.Token{ID: id, AccountID: f.account, Name: id,
		SecretHash: auth.HashSecret(secret), Scope: scope, Created: time.Now()})
	if err != nil {
		e.t.Fatal(err)
	}
	return auth.Encode(id, secret)
}

// dataObject adds a data object to key k of product and returns its id.
func (e *env) dataObject(f fixture, product int64, k, name string) string {
	e.t.Helper()
	body := e.post("data/AddDataObjectToKey", "token", f.token, "ProductId", strconv.FormatInt(product, 10), "Key", k, "Name", name, "IntValue", "10")
	var r struct {
		ID     int64 `json:"id"`
		Result int   `json:"result"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.Result != 0 || r.ID == 0 {
		e.t.Fatalf("AddDataObjectToKey = %s", body)
	}
	return strconv.FormatInt(r.ID, 10)
}

// TestKeyLockNamesOneKey: key ids are per product, so a key lock names a
// key only together with a product lock. The admin API refuses a key lock
// without one, and a token stored with that shape reaches no key at all
// (before, key lock 1 read, blocked and changed key #1 of every product
// and incremented its data objects).
func TestKeyLockNamesOneKey(t *testing.T) {
	e := newEnv(t)
	f := e.setup("acme", "*")
	p1, p2 := f.product, e.setupProduct(f, "second")
	k1, k2 := e.createKey(f), e.createKeyIn(f, p2)
	g := f
	g.product = p2
	if r1, r2 := e.record(f, k1), e.record(g, k2); r1.ID != 1 || r2.ID != 1 {
		t.Fatalf("key ids %d and %d, want 1 in both products", r1.ID, r2.ID)
	}
	obj1, obj2 := e.dataObject(f, p1, k1, "uses"), e.dataObject(f, p2, k2, "uses")
	base := "/admin/accounts/" + strconv.FormatInt(f.account, 10)

	// The admin API refuses the ambiguous scope with a clear message.
	status, body := e.adminRaw("POST", base+"/tokens", map[string]any{"methods": []string{"*"}, "keyLock": 1})
	if want := `{"error":"` + apierr.AmbiguousKeyLock.Message + `"}` + "\n"; status != 400 || body != want {
		t.Errorf("keyLock without productLock: %d %s, want 400 %s", status, body, want)
	}

	named := e.token(f, map[string]any{"methods": []string{"*"}, "productLock": p1, "keyLock": 1})
	ambiguous := e.storedToken(f, "ambiguouskl1", auth.Scope{Methods: auth.Permissions(), KeyLock: 1})
	pid1, pid2 := strconv.FormatInt(p1, 10), strconv.FormatInt(p2, 10)
	tests := []struct {
		name  string
		token string
		call  []string
		want  string
	}{
		{"named key: change its notes", named, []string{"key/ChangeNotes", "ProductId", pid1, "Key", k1, "Notes", "mine"}, ok},
		{"named key: increment its object", named, []string{"data/IncrementIntValue", "Id", obj1, "IntValue", "1"}, ok},
		{"named key: key 1 of the other product", named, []string{"key/ChangeNotes", "ProductId", pid2, "Key", k2, "Notes", "x"}, deniedBody},
		{"named key: block key 1 of the other product", named, []string{"key/BlockKey", "ProductId", pid2, "Key", k2}, deniedBody},
		{"named key: object of key 1 of the other product", named, []string{"data/IncrementIntValue", "Id", obj2, "IntValue", "1"}, errBody(apierr.DataKeyNotFound)},
		{"ambiguous: key 1 of the first product", ambiguous, []string{"key/GetKey", "ProductId", pid1, "Key", k1}, deniedBody},
		{"ambiguous: read key 1 of the second product", ambiguous, []string{"key/GetKey", "ProductId", pid2, "Key", k2}, deniedBody},
		{"ambiguous: change notes", ambiguous, []string{"key/ChangeNotes", "ProductId", pid2, "Key", k2, "Notes", "x"}, deniedBody},
		{"ambiguous: block", ambiguous, []string{"key/BlockKey", "ProductId", pid2, "Key", k2}, deniedBody},
		{"ambiguous: activate", ambiguous, []string{"key/Activate", "ProductId", pid2, "Key", k2, "MachineCode", "m"}, deniedBody},
		{"ambiguous: increment an object", ambiguous, []string{"data/IncrementIntValue", "Id", obj2, "IntValue", "1"}, errBody(apierr.DataKeyNotFound)},
		{"ambiguous: products", ambiguous, []string{"product/GetProducts"}, `{"products":[],"result":0,"message":""}`},
		{"ambiguous: listing", ambiguous, []string{"product/GetKeys", "ProductId", pid2}, deniedBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.post(tt.call[0], append([]string{"token", tt.token}, tt.call[1:]...)...); got != tt.want {
				t.Errorf("%s = %s, want %s", tt.call[0], got, tt.want)
			}
		})
	}
	// Nothing of the second product's key 1 changed.
	r2 := e.record(g, k2)
	if r2.Notes != nil || r2.Block || len(r2.Nodes) != 0 {
		t.Errorf("key 1 of the second product changed: notes %v, block %v, machines %d", r2.Notes, r2.Block, len(r2.Nodes))
	}
	if got := e.post("data/ListDataObjectsToKey", "token", f.token, "ProductId", pid2, "Key", k2); got != `{"dataObjects":[{"id":`+obj2+`,"name":"uses","stringValue":"","intValue":10}],"result":0,"message":""}` {
		t.Errorf("objects of key 1 of the second product: %s", got)
	}
	if r1 := e.record(f, k1); r1.Notes == nil || *r1.Notes != "mine" {
		t.Errorf("the named key's notes = %v, want mine", r1.Notes)
	}
}

// scan returns every item of the table (strongly consistent).
func (e *env) scan() []map[string]types.AttributeValue {
	e.t.Helper()
	var out []map[string]types.AttributeValue
	in := &dynamodb.ScanInput{TableName: aws.String(e.table), ConsistentRead: aws.Bool(true)}
	for {
		res, err := e.db.Scan(context.Background(), in)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, res.Items...)
		if len(res.LastEvaluatedKey) == 0 {
			return out
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

// keyLock calls auth/KeyLock and returns the derived token.
func (e *env) keyLock(token string, product int64, k string) string {
	e.t.Helper()
	body := e.post("auth/KeyLock", "token", token, "ProductId", strconv.FormatInt(product, 10), "Key", k)
	var r struct {
		Token  string `json:"token"`
		Result int    `json:"result"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.Result != 0 || r.Token == "" {
		e.t.Fatalf("KeyLock = %s", body)
	}
	return r.Token
}

// TestKeyLockStoresNothing: auth/KeyLock derives tokens without storing
// them (50 calls, no new item); a derived token reaches only its key,
// refuses a changed id or secret and stops working when its parent is
// revoked (token cache off, as after the cache TTL).
func TestKeyLockStoresNothing(t *testing.T) {
	e := newEnvWith(t, envOptions{env: map[string]string{config.EnvTokenCacheSecond: "0"}})
	f := e.setup("acme", "*")
	pid := strconv.FormatInt(f.product, 10)
	k1, k2 := e.createKey(f), e.createKey(f)
	parentID := "parent"
	var parent struct{ ID, Token string }
	e.mustAdmin("POST", "/admin/accounts/"+strconv.FormatInt(f.account, 10)+"/tokens",
		map[string]any{"name": parentID, "methods": []string{"GetKey", "ChangeNotes"}, "keyLock": -1}, &parent)

	before := len(e.scan())
	var derived string
	for i := 0; i < 50; i++ {
		derived = e.keyLock(parent.Token, f.product, k1)
	}
	if after := len(e.scan()); after != before {
		t.Errorf("50 KeyLock calls: %d items before, %d after; want no new item", before, after)
	}
	id, secret, err := auth.Decode(derived)
	if err != nil || !strings.Contains(id, parent.ID) {
		t.Fatalf("derived token %q: id %q, %v", derived, id, err)
	}
	flipped := []byte(secret)
	flipped[len(flipped)/2] ^= 1
	tests := []struct {
		name  string
		token string
		call  []string
		want  string
	}{
		{"its key", derived, []string{"key/ChangeNotes", "ProductId", pid, "Key", k1, "Notes", "n"}, ok},
		{"another key", derived, []string{"key/ChangeNotes", "ProductId", pid, "Key", k2, "Notes", "n"}, deniedBody},
		{"a method the parent lacks", derived, []string{"key/BlockKey", "ProductId", pid, "Key", k1}, deniedBody},
		{"changed secret", auth.Encode(id, string(flipped)), []string{"key/ChangeNotes", "ProductId", pid, "Key", k1, "Notes", "x"}, unauthBody},
		{"changed key id", auth.Encode(strings.Replace(id, "."+pid+".1.", "."+pid+".2.", 1), secret), []string{"key/ChangeNotes", "ProductId", pid, "Key", k2, "Notes", "x"}, unauthBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.post(tt.call[0], append([]string{"token", tt.token}, tt.call[1:]...)...); got != tt.want {
				t.Errorf("%s = %s, want %s", tt.call[0], got, tt.want)
			}
		})
	}
	e.mustAdmin("DELETE", "/admin/accounts/"+strconv.FormatInt(f.account, 10)+"/tokens/"+parent.ID, nil, nil)
	if got := e.post("key/GetKey", "token", derived, "ProductId", pid, "Key", k1); got != unauthBody {
		t.Errorf("derived token after the parent was revoked: %s, want %s", got, unauthBody)
	}
}

// TestFeatureLockMasksListings: the token's feature lock masks the licenses
// of product/GetKeys, customer/GetCustomerLicenses (basic, detailed and
// metadata), GetCustomerLicensesBySecret and userauth/Login as it masks
// GetKey's (FieldsToReturn bits); before, only Activate and GetKey applied
// it.
func TestFeatureLockMasksListings(t *testing.T) {
	e := newEnv(t)
	f := e.setup("acme", "*")
	pid := strconv.FormatInt(f.product, 10)
	cid, secret := e.addCustomer(f)
	k := e.createKey(f, "Notes", "private notes", "CustomerId", strconv.FormatInt(cid, 10))
	e.activate(f, "Key", k, "MachineCode", "m1")
	if got := e.post("userauth/Register", "token", f.token, "Username", "alice", "Password", "pw", "CustomerId", strconv.FormatInt(cid, 10)); got != ok {
		t.Fatalf("Register = %s", got)
	}
	const hide = 1 | 2 | 4 | 8 | 32 | 1024 // id, key, notes, global id, machines, metadata machine count
	masked := e.token(f, map[string]any{"methods": []string{"*"}, "featureLock": hide})
	calls := [][]string{
		{"product/GetKeys", "ProductId", pid},
		{"customer/GetCustomerLicenses", "CustomerId", strconv.FormatInt(cid, 10)},
		{"customer/GetCustomerLicenses", "CustomerId", strconv.FormatInt(cid, 10), "Detailed", "true", "Metadata", "true"},
		{"customer/GetCustomerLicensesBySecret", "Secret", secret},
		{"customer/GetCustomerLicensesBySecret", "Secret", secret, "Detailed", "true"},
		{"userauth/Login", "Username", "alice", "Password", "pw"},
	}
	r := e.record(f, k)
	for _, call := range calls {
		t.Run(strings.Join(call, " "), func(t *testing.T) {
			// Unmasked, the license shows the hidden fields.
			open := e.post(call[0], append([]string{"token", f.token}, call[1:]...)...)
			if !strings.Contains(open, k) || !strings.Contains(open, "private notes") {
				t.Fatalf("%s without a feature lock = %s, want the key and its notes", call[0], open)
			}
			got := e.post(call[0], append([]string{"token", masked}, call[1:]...)...)
			if m := result(t, got); m["result"] != float64(0) {
				t.Fatalf("%s = %s", call[0], got)
			}
			gid := strconv.FormatInt(r.GlobalID, 10)
			for _, hidden := range []string{k, "private notes", `"globalId":` + gid, `"` + gid + `":`, `"productId":` + pid + `,"id":1,`, `"m1"`, `"activatedMachines":1`} {
				if strings.Contains(got, hidden) {
					t.Errorf("%s with feature lock %d shows %s: %s", call[0], hide, hidden, got)
				}
			}
			if !strings.Contains(got, `"key":""`) || !strings.Contains(got, `"notes":null`) {
				t.Errorf("%s with feature lock %d = %s, want the masked fields present and empty", call[0], hide, got)
			}
		})
	}
}

// permissionOf returns the permission a registered method requires ("" when
// the handler authorizes the call itself).
func permissionOf(a *app.App, method string) string {
	for _, g := range app.Groups(a) {
		for _, m := range g.Methods {
			if g.Name+"/"+m.Name == method {
				return m.Permission
			}
		}
	}
	return ""
}

// allBut returns every permission except the given ones.
func allBut(except ...string) []string {
	var out []string
	for _, p := range auth.Permissions() {
		if !slices.Contains(except, p) {
			out = append(out, p)
		}
	}
	return out
}

// TestScopeMethodPermission: every registered method refuses a token that
// lacks its permission (and has every other one) with "Access denied.",
// and accepts one that has only its permission. Methods that authorize
// themselves are listed with the permissions they accept; a new method
// without a permission and without an entry here fails the test.
func TestScopeMethodPermission(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("alpha")
	x := w.targetKey(1)
	all := probes(x)
	// Methods without a webapi permission: what lets them in.
	self := map[string]struct {
		accepts []string // any one of these permissions
		keyLock int64    // the key lock the accepting token needs
	}{
		"auth/KeyLock":              {nil, -1}, // no permission: a key lock of -1 or less
		"userauth/Login":            {[]string{"UserAuthNormal", "UserAuthAdmin"}, 0},
		"userauth/ChangePassword":   {[]string{"UserAuthNormal", "UserAuthAdmin"}, 0},
		"userauth/CreateLoginToken": {[]string{"UserAuthNormal", "UserAuthAdmin"}, 0},
		// IncrementIntValue lets in a log of increments (the probe's);
		// DecrementIntValue one of decrements.
		"data/UploadValuesToKey": {[]string{"UploadValuesToKey", "IncrementIntValue"}, 0},
	}
	for _, method := range registered(e.app) {
		t.Run(method, func(t *testing.T) {
			perm := permissionOf(e.app, method)
			accepts, keyLock := []string{perm}, int64(0)
			if perm == "" {
				s, found := self[method]
				if !found {
					t.Fatalf("%s requires no permission and is not listed as authorizing itself", method)
				}
				accepts, keyLock = s.accepts, s.keyLock
			}
			ps := all[method]
			if len(ps) == 0 {
				t.Fatalf("%s has no probe", method)
			}
			denyAlso := accepts
			if method == "data/UploadValuesToKey" {
				denyAlso = append(slices.Clone(accepts), "DecrementIntValue")
			}
			without := e.token(w.fixture, map[string]any{"methods": allBut(denyAlso...)})
			wantDenied := deniedBody
			if method == "auth/KeyLock" {
				wantDenied = errBody(apierr.KeyLockNotNegative)
			}
			for _, p := range ps {
				if got := e.post(method, append([]string{"token", without}, p.params...)...); got != wantDenied {
					t.Errorf("%s %v without its permission = %.200s, want %s", method, p.params, got, wantDenied)
				}
			}
			for _, perm := range accepts {
				with := e.token(w.fixture, map[string]any{"methods": []string{perm}, "keyLock": keyLock})
				if got := e.post(method, append([]string{"token", with}, ps[0].params...)...); got == deniedBody {
					t.Errorf("%s %v with only %q = %s", method, ps[0].params, perm, got)
				}
			}
			if method == "auth/KeyLock" {
				none := e.token(w.fixture, map[string]any{"methods": []string{}, "keyLock": -1})
				if got := e.post(method, append([]string{"token", none}, ps[0].params...)...); !strings.Contains(got, `"result":0`) {
					t.Errorf("KeyLock with key lock -1 and no permission = %s, want a token", got)
				}
			}
		})
	}
}

// lockCase is one lock test: a token, the target its probes name (outside
// the lock), the probes allowed to succeed (filtered listings and the end
// user's own methods), and the markers of everything outside the lock,
// which no answer may show and whose items must stay unchanged.
type lockCase struct {
	token   string
	target  target
	mayPass map[string]bool // "method" or "method#label"
	markers []string
}

// runLock runs every registered method's probes with the case's token.
func (e *env) runLock(t *testing.T, c lockCase) {
	t.Helper()
	outside := func(s snapshot) map[string]string {
		m := map[string]string{}
		for k, v := range s {
			if len(leaks(v, c.markers)) > 0 {
				m[k] = v
			}
		}
		return m
	}
	before := outside(e.snapshot())
	if len(before) == 0 {
		t.Fatal("no item outside the lock to watch")
	}
	for _, r := range e.runProbes(t, c.token, c.target) {
		if l := leaks(r.body, c.markers); len(l) > 0 {
			t.Errorf("%s %v shows %v outside the lock: %.300s", r.name(), r.probe.params, l, r.body)
		}
		if r.ok && !c.mayPass[r.method] && !c.mayPass[r.name()] {
			t.Errorf("%s %v succeeded outside the lock: %.300s", r.name(), r.probe.params, r.body)
		}
	}
	after := e.snapshot()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("item %s outside the lock changed:\n before %s\n after  %s", k, v, after[k])
		}
	}
}

// Probes a locked token may pass whatever its lock: listings that filter
// by the lock, and the end user's own password methods.
var filteredListings = map[string]bool{
	"product/GetProducts":                           true,
	"customer/GetCustomerLicenses":                  true,
	"customer/GetCustomerLicenses#detailed":         true,
	"customer/GetCustomerLicensesBySecret":          true,
	"customer/GetCustomerLicensesBySecret#detailed": true,
	"userauth/Login":                                true,
	"userauth/ChangePassword":                       true, // with the old password (not AdminMode)
	"userauth/CreateLoginToken":                     true, // with the password (not AdminMode)
	"data/ListDataObjects#show all":                 true,
	// Messages are broadcast to every user of the account's products:
	// apps read them with the tokens they carry, locked or not.
	"message/GetMessages":         true,
	"message/GetMessages#channel": true,
}

func with(m map[string]bool, more ...string) map[string]bool {
	out := maps.Clone(m)
	for _, k := range more {
		out[k] = true
	}
	return out
}

// TestScopeProductLock: a token of every permission locked to product 2
// calls every method with product 1's ids (its keys, their objects and
// machines, its product object and template) and the account's customer,
// reseller, user and user object. Everything naming product 1 is refused,
// listings leave product 1 out, account-wide administration (customers,
// resellers, users, user objects) is refused to a locked token, and
// nothing of product 1 changes.
func TestScopeProductLock(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("alpha")
	e.runLock(t, lockCase{
		token:   e.token(w.fixture, map[string]any{"methods": []string{"*"}, "productLock": w.p2}),
		target:  w.targetKey(1),
		mayPass: with(filteredListings, "licensetemplate/GetLicenseTemplates"),
		markers: []string{w.k1, w.k2, "alpha-notes-1", "alpha-notes-2", "alpha-product-1", w.kObjName(1), w.kObjName(2),
			w.mObjName(1), w.mObjName(2), "alpha-po", "alpha-uo", "alpha-template"},
	})
}

// TestScopeKeyLock: a token of every permission locked to key 1 of product
// 1 calls every method with key 2 of the same product (its objects and
// machine), the product's object and template, product 2's key, and the
// account's customer, reseller, user and user object. Everything naming
// key 2 is refused, so is creating keys and account-wide administration;
// listings show key 1 only; nothing outside key 1 changes.
func TestScopeKeyLock(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("alpha")
	e.runLock(t, lockCase{
		token:   e.token(w.fixture, map[string]any{"methods": []string{"*"}, "productLock": w.p1, "keyLock": w.k1ID}),
		target:  w.targetKey(2),
		mayPass: with(filteredListings, "product/GetKeys", "product/GetKeys#global id", "product/GetKeys#search"),
		markers: []string{w.k2, w.k3, "alpha-notes-2", "alpha-notes-3", "alpha-product-2", w.kObjName(2), w.mObjName(2),
			"alpha-po", "alpha-uo", "alpha-template"},
	})
	// The lock's own key works.
	pid := strconv.FormatInt(w.p1, 10)
	tok := e.token(w.fixture, map[string]any{"methods": []string{"*"}, "productLock": w.p1, "keyLock": w.k1ID})
	if got := e.post("key/ChangeNotes", "token", tok, "ProductId", pid, "Key", w.k1, "Notes", "mine"); got != ok {
		t.Errorf("ChangeNotes on the locked key = %s", got)
	}
	if got := e.post("product/GetKeys", "token", tok, "ProductId", pid); !strings.Contains(got, w.k1) || !strings.Contains(got, `"total":1,`) {
		t.Errorf("GetKeys with a key lock = %.300s, want key 1 only", got)
	}
}

// TestScopeExpiry: an expired token of every permission is refused by
// every registered method with "Unable to authenticate.".
func TestScopeExpiry(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("alpha")
	expired := e.token(w.fixture, map[string]any{"methods": []string{"*"}, "keyLock": -1,
		"expires": time.Now().Add(-time.Second).UTC().Format(time.RFC3339)})
	for _, r := range e.runProbes(t, expired, w.targetKey(1)) {
		if r.body != unauthBody {
			t.Errorf("%s with an expired token = %.200s, want %s", r.name(), r.body, unauthBody)
		}
	}
}

// TestScopeFeatureLock: what the feature lock means for each method. Every
// registered method is listed (a new one fails the test until it is), and
// the methods that give it a meaning are checked.
func TestScopeFeatureLock(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("alpha")
	pid := strconv.FormatInt(w.p1, 10)
	const mask = "fields to return (FieldsToReturn bits) of the licenses returned"
	const step = "largest change of the int value in one call"
	meaning := map[string]string{
		"key/Activate": mask, "key/GetKey": mask, "product/GetKeys": mask, "customer/GetCustomerLicenses": mask,
		"customer/GetCustomerLicensesBySecret": mask, "userauth/Login": mask,
		"key/CreateTrialKey":        "trial length in days",
		"key/CreateKeyFromTemplate": "the only license template id allowed",
		"data/UploadValuesToKey":    step,
	}
	for _, v := range []string{"", "ToKey", "ToMachineCode"} {
		for _, base := range []string{"IncrementIntValue", "DecrementIntValue", "SetIntValue"} {
			meaning["data/"+base+v] = step
		}
	}
	for _, method := range registered(e.app) {
		if _, listed := meaning[method]; !listed && !slices.Contains(featureLockIgnored, method) {
			t.Errorf("%s: say what the feature lock means for it (or that it ignores it)", method)
		}
	}

	tok := func(fl int64) string {
		return e.token(w.fixture, map[string]any{"methods": []string{"*"}, "featureLock": fl})
	}
	hideKey := tok(2)
	for _, call := range [][]string{
		{"key/Activate", "ProductId", pid, "Key", w.k1, "MachineCode", w.machine, "SignMethod", "StringSign"},
		{"key/GetKey", "ProductId", pid, "Key", w.k1, "SignMethod", "StringSign"},
		{"product/GetKeys", "ProductId", pid},
		{"customer/GetCustomerLicenses", "CustomerId", strconv.FormatInt(w.customer, 10)},
		{"customer/GetCustomerLicensesBySecret", "Secret", w.secret},
		{"userauth/Login", "Username", w.username, "Password", w.password},
	} {
		got := e.post(call[0], append([]string{"token", hideKey}, call[1:]...)...)
		if m := result(t, got); m["result"] != float64(0) || strings.Contains(got, w.k1) {
			t.Errorf("%s with feature lock 2 (hide Key) = %.300s, want success without the key", call[0], got)
		}
	}
	body := e.post("key/CreateTrialKey", "token", tok(3), "ProductId", pid, "MachineCode", "trial-machine")
	var trial struct{ Key string }
	_ = json.Unmarshal([]byte(body), &trial)
	g := w.fixture
	if r := e.record(g, trial.Key); r.Expires.Sub(r.Created) != 3*24*time.Hour {
		t.Errorf("CreateTrialKey with feature lock 3: the trial lasts %v, want 3 days (%s)", r.Expires.Sub(r.Created), body)
	}
	if got := e.post("key/CreateKeyFromTemplate", "token", tok(w.template+1), "LicenseTemplateId", strconv.FormatInt(w.template, 10)); !strings.Contains(got, "because feature lock") {
		t.Errorf("CreateKeyFromTemplate with another template's feature lock = %s", got)
	}
	stepped := tok(1)
	for _, v := range []string{"", "ToKey", "ToMachineCode"} {
		args := []string{"Id", strconv.FormatInt(w.userObj, 10)}
		switch v {
		case "ToKey":
			args = []string{"ProductId", pid, "Key", w.k1, "Id", strconv.FormatInt(w.kObj1, 10)}
		case "ToMachineCode":
			args = []string{"ProductId", pid, "Key", w.k1, "MachineCode", w.machine, "Id", strconv.FormatInt(w.mObj1, 10)}
		}
		for _, base := range []string{"IncrementIntValue", "DecrementIntValue", "SetIntValue"} {
			got := e.post("data/"+base+v, append(append([]string{"token", stepped}, args...), "IntValue", "2")...)
			if got != errBody(apierr.DataStepNotAllowed) {
				t.Errorf("%s%s by 2 with feature lock 1 = %s, want %s", base, v, got, errBody(apierr.DataStepNotAllowed))
			}
		}
	}
	if got := e.post("data/UploadValuesToKey", "token", stepped, "ProductId", pid, "Key", w.k1, "Id", strconv.FormatInt(w.kObj1, 10),
		"Data", "W3siSW50VmFsdWUiOjJ9XQ==" /* [{"IntValue":2}] */); got != errBody(apierr.DataStepNotAllowed) {
		t.Errorf("UploadValuesToKey of a step of 2 with feature lock 1 = %s", got)
	}
}

// featureLockIgnored are the methods for which the feature lock means
// nothing (README: "Scopes by method").
var featureLockIgnored = []string{
	"auth/KeyLock", "key/BlockKey", "key/UnblockKey", "key/ChangeCustomer", "key/ChangeNotes", "key/ChangeReseller",
	"key/CreateKey", "key/Deactivate", "key/ExtendLicense", "key/MachineLockLimit", "key/AddFeature", "key/RemoveFeature",
	"key/TrialActivation", "product/GetProducts", "licensetemplate/GetLicenseTemplates",
	"customer/AddCustomer", "customer/EditCustomer", "customer/GetCustomers", "customer/RemoveCustomer",
	"reseller/AddReseller", "reseller/EditReseller", "reseller/GetResellers", "reseller/GetResellerCustomers", "reseller/RemoveReseller",
	"userauth/ChangePassword", "userauth/Register", "userauth/Associate", "userauth/Dissociate", "userauth/GetUsers",
	"userauth/ResetPasswordToken", "userauth/RemoveUser", "userauth/CreateLoginToken",
	"data/AddDataObject", "data/AddDataObjectToKey", "data/AddDataObjectToMachineCode",
	"data/ListDataObjects", "data/ListDataObjectsToKey", "data/ListDataObjectsToMachineCode",
	"data/SetStringValue", "data/SetStringValueToKey", "data/SetStringValueToMachineCode",
	"data/RemoveDataObject", "data/RemoveDataObjectToKey", "data/RemoveDataObjectToMachineCode",
	"message/CreateMessage", "message/GetMessages", "message/RemoveMessage",
	"paymentform/CreateSession", "subscription/RecordUsage",
}

// TestScopeDerivedKeyLock: a token derived by auth/KeyLock has its parent's
// methods and feature lock, is locked to the key (and its product) and
// expires with the parent when the parent expires before |KeyLock| days.
func TestScopeDerivedKeyLock(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("alpha")
	pid := strconv.FormatInt(w.p1, 10)
	parentExpires := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	parent := e.token(w.fixture, map[string]any{"methods": []string{"GetKey", "GetKeys", "ChangeNotes", "Activate"}, "keyLock": -2,
		"featureLock": 4 /* hide Notes */, "expires": parentExpires.Format(time.RFC3339)})
	derived := e.keyLock(parent, w.p1, w.k1)
	id, _, _ := auth.Decode(derived)
	if !strings.HasSuffix(id, "."+strconv.FormatInt(parentExpires.Unix(), 10)) {
		t.Errorf("derived id %s: want the parent's expiry %d (earlier than 2 days)", id, parentExpires.Unix())
	}
	tests := []struct {
		name string
		call []string
		want func(string) bool
	}{
		{"parent's method on its key, feature lock masks notes", []string{"key/GetKey", "ProductId", pid, "Key", w.k1, "SignMethod", "StringSign"},
			func(b string) bool { return strings.Contains(b, `"result":0`) && !strings.Contains(b, "alpha-notes-1") }},
		{"change its key", []string{"key/ChangeNotes", "ProductId", pid, "Key", w.k1, "Notes", "n"}, func(b string) bool { return b == ok }},
		{"another key of the product", []string{"key/ChangeNotes", "ProductId", pid, "Key", w.k2, "Notes", "n"}, func(b string) bool { return b == deniedBody }},
		{"a key of another product", []string{"key/GetKey", "ProductId", strconv.FormatInt(w.p2, 10), "Key", w.k3}, func(b string) bool { return b == deniedBody }},
		{"a method the parent lacks", []string{"key/BlockKey", "ProductId", pid, "Key", w.k1}, func(b string) bool { return b == deniedBody }},
		{"listing shows its key only", []string{"product/GetKeys", "ProductId", pid},
			func(b string) bool { return strings.Contains(b, w.k1) && !strings.Contains(b, w.k2) }},
		{"no further derivation", []string{"auth/KeyLock", "ProductId", pid, "Key", w.k1}, func(b string) bool { return b == errBody(apierr.KeyLockNotNegative) }},
	}
	for _, tt := range tests {
		if got := e.post(tt.call[0], append([]string{"token", derived}, tt.call[1:]...)...); !tt.want(got) {
			t.Errorf("%s: %s = %.300s", tt.name, tt.call[0], got)
		}
	}
}
