package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/keys"
)

var keyRe = regexp.MustCompile(`^[A-Z]{5}-[A-Z]{5}-[A-Z]{5}-[A-Z]{5}$`)

// post calls a Web API method with form parameters.
func (e *env) post(method string, kv ...string) string {
	e.t.Helper()
	p := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Set(kv[i], kv[i+1])
	}
	_, body := e.call("POST", "/api/"+method, p)
	return body
}

func (e *env) createKey(f fixture, kv ...string) string {
	e.t.Helper()
	body := e.post("key/CreateKey", append([]string{"token", f.token, "ProductId", strconv.FormatInt(f.product, 10)}, kv...)...)
	var res struct {
		Key    string `json:"key"`
		Result int    `json:"result"`
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil || res.Result != 0 || !keyRe.MatchString(res.Key) {
		e.t.Fatalf("CreateKey = %s", body)
	}
	return res.Key
}

func (e *env) record(f fixture, k string) keys.Record {
	e.t.Helper()
	r, err := e.app.Licenses.Get(context.Background(), f.account, f.product, k)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

const ok = `{"result":0,"message":""}`

func TestKeyMethods(t *testing.T) {
	e := newEnv(t)
	f := e.setup("acme", "*")
	pid := strconv.FormatInt(f.product, 10)
	k := e.createKey(f, "Period", "30", "F3", "True", "Notes", "first", "MaxNoOfMachines", "2")
	r := e.record(f, k)
	if r.Period != 30 || !r.Features[2] || *r.Notes != "first" || r.MaxNoOfMachines != 2 || r.ID != 1 {
		t.Errorf("created record = %+v", r)
	}
	call := func(method string, kv ...string) string {
		return e.post("key/"+method, append([]string{"token", f.token, "ProductId", pid, "Key", k}, kv...)...)
	}
	tests := []struct {
		name   string
		method string
		kv     []string
		want   string
		check  func(keys.Record) bool
	}{
		{"block", "BlockKey", nil, ok, func(r keys.Record) bool { return r.Block }},
		{"unblock", "UnblockKey", nil, ok, func(r keys.Record) bool { return !r.Block }},
		{"add feature", "AddFeature", []string{"Feature", "8"}, ok, func(r keys.Record) bool { return r.Features[7] }},
		{"remove feature", "RemoveFeature", []string{"Feature", "3"}, ok, func(r keys.Record) bool { return !r.Features[2] }},
		{"feature out of range", "AddFeature", []string{"Feature", "9"}, `{"result":1,"message":"The input parameters were incorrect."}`, nil},
		{"notes", "ChangeNotes", []string{"Notes", "second"}, ok, func(r keys.Record) bool { return *r.Notes == "second" }},
		{"notes too long", "ChangeNotes", []string{"Notes", strings.Repeat("n", 501)}, `{"result":1,"message":"The notes field cannot be more than 500 characters."}`,
			func(r keys.Record) bool { return *r.Notes == "second" }},
		{"machine lock limit", "MachineLockLimit", []string{"NumberOfMachines", "7"}, ok, func(r keys.Record) bool { return r.MaxNoOfMachines == 7 }},
		{"machine lock limit missing", "MachineLockLimit", nil, `{"result":1,"message":"The input parameters were incorrect."}`, nil},
		{"trial activation", "TrialActivation", []string{"Enabled", "True"}, ok, func(r keys.Record) bool { return r.TrialActivation }},
		{"trial activation default off", "TrialActivation", nil, ok, func(r keys.Record) bool { return !r.TrialActivation }},
		// Period becomes the whole days from the call to the new expiry:
		// 30+10-1 a moment after the creation, as the reference service.
		{"extend", "ExtendLicense", []string{"NoOfDays", "10"}, ok, func(r keys.Record) bool {
			return r.Expires.Sub(r.Created) == 40*24*time.Hour && r.Period == 39
		}},
		{"change customer", "ChangeCustomer", []string{"CustomerId", "5"}, `{"result":1,"message":"Customer not found, so current key no longer references any customer."}`,
			func(r keys.Record) bool { return r.CustomerID == 0 }},
		{"change reseller", "ChangeReseller", []string{"ResellerId", "5"}, `{"result":1,"message":"The reseller was not found or the id was set to zero. The license will no longer have any reseller associated with it."}`, nil},
		{"deactivate never activated", "Deactivate", []string{"MachineCode", "x"}, `{"result":1,"message":"Either the machine code was never activated or key activation feature was never set up."}`, nil},
		{"deactivate floating unknown", "Deactivate", []string{"MachineCode", "x", "Floating", "true"}, ok, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := call(tt.method, tt.kv...); got != tt.want {
				t.Errorf("%s = %s, want %s", tt.method, got, tt.want)
			}
			if tt.check != nil && !tt.check(e.record(f, k)) {
				t.Errorf("%s: stored record %+v fails the check", tt.method, e.record(f, k))
			}
		})
	}

	// Errors shared by every key method.
	errTests := []struct {
		name string
		kv   []string
		want string
	}{
		{"unknown key", []string{"token", f.token, "ProductId", pid, "Key", "AAAAA-BBBBB-CCCCC-DDDDD"}, `{"result":1,"message":"Could not find the key."}`},
		{"unknown product", []string{"token", f.token, "ProductId", "999999", "Key", k}, `{"result":1,"message":"Could not find the product."}`},
		{"missing product", []string{"token", f.token, "Key", k}, `{"result":1,"message":"The input parameters were incorrect."}`},
		{"missing key", []string{"token", f.token, "ProductId", pid}, `{"result":1,"message":"The input parameters were incorrect."}`},
	}
	for _, tt := range errTests {
		if got := e.post("key/BlockKey", tt.kv...); got != tt.want {
			t.Errorf("%s: BlockKey = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestCreateKeyForms(t *testing.T) {
	e := newEnv(t)
	f := e.setup("acme", "CreateKey")
	pid := strconv.FormatInt(f.product, 10)
	body := e.post("key/CreateKey", "token", f.token, "ProductId", pid, "NoOfKeys", "3")
	var many struct {
		Keys []struct {
			Key     string `json:"key"`
			Result  int    `json:"result"`
			Message string `json:"message"`
		} `json:"keys"`
		Result int `json:"result"`
	}
	if err := json.Unmarshal([]byte(body), &many); err != nil || len(many.Keys) != 3 || many.Result != 0 {
		t.Fatalf("NoOfKeys=3: %s", body)
	}
	for _, k := range many.Keys {
		if !keyRe.MatchString(k.Key) || k.Result != 0 {
			t.Errorf("key element %+v", k)
		}
	}
	_, text := e.call("POST", "/api/key/CreateKey", url.Values{"token": {f.token}, "ProductId": {pid}, "NoOfKeys": {"2"}, "format": {"plaintext"}})
	lines := strings.Split(text, "\n")
	if len(lines) != 2 || !keyRe.MatchString(lines[0]) || !keyRe.MatchString(lines[1]) {
		t.Errorf("plaintext keys = %q", text)
	}
	_, one := e.call("GET", "/api/key/CreateKey", url.Values{"token": {f.token}, "ProductId": {pid}}, "Accept", "text/plain")
	if !keyRe.MatchString(one) {
		t.Errorf("plaintext key = %q", one)
	}
	// NoOfKeys above 1000 is capped at 1000.
	body = e.post("key/CreateKey", "token", f.token, "ProductId", pid, "NoOfKeys", "1500")
	if err := json.Unmarshal([]byte(body), &many); err != nil || len(many.Keys) != 1000 {
		t.Errorf("NoOfKeys=1500 created %d keys, want 1000", len(many.Keys))
	}
	seen := map[string]bool{}
	for _, k := range many.Keys {
		if seen[k.Key] {
			t.Errorf("duplicate key %s", k.Key)
		}
		seen[k.Key] = true
	}
	for name, tt := range map[string]struct {
		kv   []string
		want string
	}{
		"notes too long": {[]string{"Notes", strings.Repeat("x", 501)}, `{"result":1,"message":"The notes field cannot be more than 500 characters."}`},
		"customer":       {[]string{"CustomerId", "3"}, `{"result":1,"message":"Could not find the customer."}`},
		"new customer without AddCustomer": {[]string{"NewCustomer", "true"},
			`{"result":1,"message":"Access denied. Please add 'AddCustomer' permission."}`},
		"bad period": {[]string{"Period", "x"}, `{"result":1,"message":"The input parameters were incorrect."}`},
	} {
		if got := e.post("key/CreateKey", append([]string{"token", f.token, "ProductId", pid}, tt.kv...)...); got != tt.want {
			t.Errorf("%s: %s, want %s", name, got, tt.want)
		}
	}
}

func TestCreateTrialKey(t *testing.T) {
	e := newEnv(t)
	f := e.setup("acme", "CreateTrialKey", "BlockKey")
	pid := strconv.FormatInt(f.product, 10)
	get := func(mid string) string {
		var res struct{ Key string }
		body := e.post("key/CreateTrialKey", "token", f.token, "ProductId", pid, "MachineCode", mid)
		if err := json.Unmarshal([]byte(body), &res); err != nil || !keyRe.MatchString(res.Key) {
			t.Fatalf("CreateTrialKey = %s", body)
		}
		return res.Key
	}
	k1 := get("machine-1")
	if k2 := get("machine-1"); k2 != k1 {
		t.Errorf("second trial for the same machine = %s, want %s", k2, k1)
	}
	if k3 := get("machine-2"); k3 == k1 {
		t.Error("another machine got the same trial key")
	}
	// A blocked trial is not handed out again: the machine gets a new one.
	e.post("key/BlockKey", "token", f.token, "ProductId", pid, "Key", k1)
	if k4 := get("machine-1"); k4 == k1 {
		t.Error("a blocked trial key was returned again")
	}
	r := e.record(f, k1)
	// The fixture product defines F1 as time-limited and F2 as trial.
	if !r.Features[0] || !r.Features[1] || r.Features[2] || r.MaxNoOfMachines != 1 || r.Period != 15 || len(r.Nodes) != 1 {
		t.Errorf("trial record = %+v", r)
	}
	if _, ok := r.Nodes["machine-1"]; !ok {
		t.Errorf("trial key is not activated on its machine: %+v", r.Nodes)
	}
	if got := e.post("key/CreateTrialKey", "token", f.token, "ProductId", pid, "MachineCode", strings.Repeat("m", 129)); got != `{"result":1,"message":"The input parameters were incorrect."}` {
		t.Errorf("long machine code: %s", got)
	}
}

func TestKeyLocks(t *testing.T) {
	e := newEnv(t)
	f := e.setup("acme", "*")
	pid := strconv.FormatInt(f.product, 10)
	k1 := e.createKey(f)
	k2 := e.createKey(f)
	base := "/admin/accounts/" + strconv.FormatInt(f.account, 10)
	var tmpl struct{ Token string }
	e.mustAdmin("POST", base+"/tokens", map[string]any{"methods": []string{"BlockKey", "UnblockKey"}, "keyLock": -3}, &tmpl)

	// auth/KeyLock derives a token locked to one key.
	body := e.post("auth/KeyLock", "token", tmpl.Token, "ProductId", pid, "Key", k1)
	var kl struct {
		KeyID int64  `json:"keyId"`
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(body), &kl); err != nil || kl.KeyID != 1 || kl.Token == "" {
		t.Fatalf("KeyLock = %s", body)
	}
	if got := e.post("key/BlockKey", "token", kl.Token, "ProductId", pid, "Key", k1); got != ok {
		t.Errorf("derived token on its key: %s", got)
	}
	if got := e.post("key/BlockKey", "token", kl.Token, "ProductId", pid, "Key", k2); got != `{"result":1,"message":"Access denied."}` {
		t.Errorf("derived token on another key: %s", got)
	}
	if got := e.post("key/ExtendLicense", "token", kl.Token, "ProductId", pid, "Key", k1); got != `{"result":1,"message":"Access denied."}` {
		t.Errorf("derived token keeps only the parent's methods: %s", got)
	}
	if got := e.post("auth/KeyLock", "token", f.token, "ProductId", pid, "Key", k1); got != `{"result":1,"message":"The Key Lock has to be set to '-1' for this method to work."}` {
		t.Errorf("KeyLock without a negative key lock: %s", got)
	}
	if got := e.post("auth/KeyLock", "token", tmpl.Token, "ProductId", pid, "Key", "NOPE"); got != `{"result":1,"message":"Could not find the key."}` {
		t.Errorf("KeyLock unknown key: %s", got)
	}

	// A product-locked token cannot touch other products.
	var other struct{ ID int64 }
	e.mustAdmin("POST", base+"/products", map[string]any{"name": "other"}, &other)
	var locked struct{ Token string }
	e.mustAdmin("POST", base+"/tokens", map[string]any{"methods": []string{"BlockKey"}, "productLock": other.ID}, &locked)
	if got := e.post("key/BlockKey", "token", locked.Token, "ProductId", pid, "Key", k1); got != `{"result":1,"message":"Access denied."}` {
		t.Errorf("product lock: %s", got)
	}
	// Another account's token cannot see the key.
	g := e.setup("globex", "*")
	if got := e.post("key/BlockKey", "token", g.token, "ProductId", pid, "Key", k1); got != `{"result":1,"message":"Could not find the product."}` {
		t.Errorf("other account: %s", got)
	}
}

func TestLicenseTemplates(t *testing.T) {
	e := newEnv(t)
	f := e.setup("acme", "GetLicenseTemplates", "CreateKeyFromTemplate")
	base := "/admin/accounts/" + strconv.FormatInt(f.account, 10)
	var tpl struct {
		ID         int64
		Parameters string
	}
	e.mustAdmin("POST", base+"/license-templates", map[string]any{"name": "pro", "productId": f.product, "period": 30, "f1": true, "maxNoOfMachines": 3}, &tpl)
	if want := `{"ProductId":` + strconv.FormatInt(f.product, 10) + `,"Period":30,"F1":true,"F2":false,"F3":false,"F4":false,"F5":false,"F6":false,"F7":false,"F8":false,"Notes":null,"Block":false,"CustomerId":0,"TrialActivation":false,"MaxNoOfMachines":3,"AllowedMachines":null}`; tpl.Parameters != want {
		t.Errorf("parameters = %s\nwant %s", tpl.Parameters, want)
	}
	if code := e.admin("POST", base+"/license-templates", map[string]any{"name": "x", "productId": 999999}, nil); code != 400 {
		t.Errorf("template for an unknown product: status %d, want 400", code)
	}
	body := e.post("licensetemplate/GetLicenseTemplates", "token", f.token)
	if !strings.Contains(body, `"name":"pro"`) || !strings.HasSuffix(body, `,"result":0,"message":""}`) {
		t.Errorf("GetLicenseTemplates = %s", body)
	}
	id := strconv.FormatInt(tpl.ID, 10)
	body = e.post("key/CreateKeyFromTemplate", "token", f.token, "LicenseTemplateId", id)
	var res struct {
		Key         string `json:"key"`
		RawResponse string `json:"rawResponse"`
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil || !keyRe.MatchString(res.Key) ||
		res.RawResponse != `{"key":"`+res.Key+`","result":"Success","message":null}` {
		t.Fatalf("CreateKeyFromTemplate = %s", body)
	}
	r := e.record(f, res.Key)
	if r.Period != 30 || !r.Features[0] || r.MaxNoOfMachines != 3 {
		t.Errorf("key from template = %+v", r)
	}
	if got := e.post("key/CreateKeyFromTemplate", "token", f.token, "LicenseTemplateId", "424242"); got != `{"result":1,"message":"Could not find the license template."}` {
		t.Errorf("unknown template: %s", got)
	}
	var locked struct{ Token string }
	e.mustAdmin("POST", base+"/tokens", map[string]any{"methods": []string{"CreateKeyFromTemplate"}, "featureLock": tpl.ID + 1}, &locked)
	if got := e.post("key/CreateKeyFromTemplate", "token", locked.Token, "LicenseTemplateId", id); !strings.Contains(got, "because feature lock") {
		t.Errorf("feature-locked template: %s", got)
	}
}

// TestCreateKeyEmptyNotes: CreateKey with an explicitly empty Notes= stores
// and shows "" (as the reference service does); only an absent Notes, or
// the literals clients send for "unset", is null.
func TestCreateKeyEmptyNotes(t *testing.T) {
	e, f, _ := activateEnv(t)
	pid := strconv.FormatInt(f.product, 10)
	tests := []struct {
		name      string
		kv        []string
		want      *string
		wantNotes string // in the signed license JSON
	}{
		{"absent", nil, nil, `"Notes":null`},
		{"empty", []string{"Notes", ""}, new(""), `"Notes":""`},
		{"Node's null", []string{"Notes", "null"}, nil, `"Notes":null`},
		{"Python's None", []string{"Notes", "None"}, nil, `"Notes":null`},
		{"text", []string{"Notes", "hello"}, new("hello"), `"Notes":"hello"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := e.createKey(f, tt.kv...)
			got := e.record(f, k).Notes
			if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
				t.Errorf("stored notes = %s, want %s", show(got), show(tt.want))
			}
			var r signedResponse
			body := e.post("key/GetKey", "token", f.token, "ProductId", pid, "Key", k, "Sign", "true", "SignMethod", "StringSign")
			if err := json.Unmarshal([]byte(body), &r); err != nil || r.Result != 0 {
				t.Fatalf("GetKey = %s", body)
			}
			lic, _ := base64.StdEncoding.DecodeString(r.LicenseKey)
			if !strings.Contains(string(lic), tt.wantNotes) {
				t.Errorf("license %s, want %s", lic, tt.wantNotes)
			}
		})
	}
}

func show(s *string) string {
	if s == nil {
		return "null"
	}
	return strconv.Quote(*s)
}
