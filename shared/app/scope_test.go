package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
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
	err := e.app.Store.PutToken(context.Background(), auth.Token{ID: id, AccountID: f.account, Name: id,
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
	if want := `{"error":"` + auth.ErrAmbiguousKeyLock.Message + `"}` + "\n"; status != 400 || body != want {
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
	e := newEnvWith(t, map[string]string{config.EnvTokenCacheSecond: "0"})
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
