package app_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// nl calls the NetLicensing licensee API with token (API key
// identification) and returns status and the JSON document.
func (e *env) nl(token, method, path string, params url.Values) (int, nlDoc, string) {
	e.t.Helper()
	target := e.url + "/core/v2/rest/" + path
	var body io.Reader
	if method == "POST" {
		body = strings.NewReader(params.Encode())
	} else if len(params) > 0 {
		target += "?" + params.Encode()
	}
	req, _ := http.NewRequest(method, target, body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("apiKey:"+token)))
	res, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var d nlDoc
	if len(b) > 0 {
		if err := json.Unmarshal(b, &d); err != nil {
			e.t.Fatalf("%s %s: not a document: %s", method, path, b)
		}
	}
	return res.StatusCode, d, string(b)
}

type nlDoc struct {
	Items struct {
		Item []struct {
			Type     string `json:"type"`
			Property []struct{ Name, Value string }
		} `json:"item"`
		TotalItems *int `json:"totalitems"`
	} `json:"items"`
}

// prop returns property name of the first item.
func (d nlDoc) prop(name string) string {
	if len(d.Items.Item) == 0 {
		return ""
	}
	for _, p := range d.Items.Item[0].Property {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// TestNetLicensingWebAPIConsistency: the NetLicensing view and Web API 3
// are one set of data: a licensee's name is its customer's, its licenses
// are the customer's keys in its product, and changes made through either
// API show in the other.
func TestNetLicensingWebAPIConsistency(t *testing.T) {
	e := newEnv(t)
	f := e.setup("acme", "*")
	pn := strconv.FormatInt(f.product, 10)
	valid := func(number string) string {
		t.Helper()
		_, d, body := e.nl(f.token, "POST", "licensee/"+number+"/validate", nil)
		if d.prop("productModuleNumber") != "M"+pn {
			t.Fatalf("validate %s: %s", number, body)
		}
		return d.prop("valid")
	}
	// NetLicensing -> Web API 3: the licensee's customer.
	status, d, body := e.nl(f.token, "POST", "licensee", url.Values{"productNumber": {pn}, "number": {"X1"}, "name": {"Grace"}})
	if status != 200 {
		t.Fatalf("create: %d %s", status, body)
	}
	cid := d.prop("keyturnCustomerId")
	if got := e.post("customer/GetCustomers", "token", f.token); !strings.Contains(got, `"id":`+cid+`,"name":"Grace"`) {
		t.Errorf("GetCustomers after the NetLicensing create: %s", got)
	}
	// Web API 3 -> NetLicensing: the customer's name.
	if got := e.post("customer/EditCustomer", "token", f.token, "CustomerId", cid, "Name", "Grace Hopper"); !strings.Contains(got, `"result":0`) {
		t.Fatalf("EditCustomer: %s", got)
	}
	if _, d, _ := e.nl(f.token, "GET", "licensee/X1", nil); d.prop("name") != "Grace Hopper" || d.prop("inUse") != "false" {
		t.Errorf("licensee after EditCustomer: %+v", d)
	}
	// Web API 3 keys of the customer are the licensee's licenses.
	if valid("X1") != "false" {
		t.Errorf("valid without keys")
	}
	k1 := e.createKey(f, "Period", "30", "CustomerId", cid)
	if _, d, _ := e.nl(f.token, "GET", "licensee/X1", nil); d.prop("inUse") != "true" {
		t.Errorf("inUse after CreateKey: %+v", d)
	}
	if valid("X1") != "true" {
		t.Errorf("not valid after CreateKey with the customer")
	}
	if got := e.post("key/BlockKey", "token", f.token, "ProductId", pn, "Key", k1); got != ok {
		t.Fatal(got)
	}
	if valid("X1") != "false" {
		t.Errorf("valid after BlockKey")
	}
	k2 := e.createKey(f, "Period", "30")
	if got := e.post("key/ChangeCustomer", "token", f.token, "ProductId", pn, "Key", k2, "CustomerId", cid); got != ok {
		t.Fatalf("ChangeCustomer: %s", got)
	}
	if valid("X1") != "true" {
		t.Errorf("not valid after ChangeCustomer gave it a key")
	}
	// NetLicensing -> Web API 3: renaming the licensee renames the
	// customer; a transfer changes the keys' customer.
	e.nl(f.token, "POST", "licensee/X1", url.Values{"name": {"G. Hopper"}, "markedForTransfer": {"true"}})
	if got := e.post("customer/GetCustomers", "token", f.token); !strings.Contains(got, `"name":"G. Hopper"`) {
		t.Errorf("GetCustomers after the NetLicensing update: %s", got)
	}
	_, d, _ = e.nl(f.token, "POST", "licensee", url.Values{"productNumber": {pn}, "number": {"X2"}, "name": {"Target"}})
	target := d.prop("keyturnCustomerId")
	if status, _, body := e.nl(f.token, "POST", "licensee/X2/transfer", url.Values{"sourceLicenseeNumber": {"X1"}}); status != 204 {
		t.Fatalf("transfer: %d %s", status, body)
	}
	if got := e.post("customer/GetCustomerLicenses", "token", f.token, "CustomerId", target); !strings.Contains(got, k1) || !strings.Contains(got, k2) {
		t.Errorf("the target's licenses in Web API 3 after the transfer: %s", got)
	}
	// Web API 3 removing a customer removes its licensee.
	if got := e.post("customer/RemoveCustomer", "token", f.token, "CustomerId", cid); got != ok {
		t.Fatalf("RemoveCustomer: %s", got)
	}
	if status, _, _ := e.nl(f.token, "GET", "licensee/X1", nil); status != 404 {
		t.Errorf("licensee of a removed customer: %d", status)
	}
	if _, d, _ := e.nl(f.token, "GET", "licensee", nil); *d.Items.TotalItems != 1 || len(d.Items.Item) != 1 {
		t.Errorf("listing after RemoveCustomer: %+v", d)
	}
	// NetLicensing deleting with cascade deletes the keys Web API 3 serves.
	if status, _, body := e.nl(f.token, "DELETE", "licensee/X2", url.Values{"forceCascade": {"true"}}); status != 204 {
		t.Fatalf("delete: %d %s", status, body)
	}
	for _, k := range []string{k1, k2} {
		if got := e.post("key/GetKey", "token", f.token, "ProductId", pn, "Key", k); got != `{"result":1,"message":"Could not find the key."}` {
			t.Errorf("key %s after the cascade: %.200s", k, got)
		}
	}
	if got := e.post("customer/GetCustomers", "token", f.token); strings.Contains(got, `"name":"Target"`) {
		t.Errorf("the deleted licensee's customer is still listed: %s", got)
	}
}

// TestNetLicensingTenantIsolation: account B's token, with every role and
// permission, reaches none of account A's licensees, products or
// customers through the licensee API (A's licensee numbers are unknown to
// B, and B may use them itself), and leaves A's items unchanged.
func TestNetLicensingTenantIsolation(t *testing.T) {
	e := newEnv(t)
	a := e.setup("alpha", "*")
	apn := strconv.FormatInt(a.product, 10)
	for _, n := range []string{"A-1", "A-2"} {
		if status, _, body := e.nl(a.token, "POST", "licensee", url.Values{"productNumber": {apn}, "number": {n}, "name": {"alpha " + n},
			"markedForTransfer": {"true"}, "licenseeSecret": {"alpha-secret"}}); status != 200 {
			t.Fatalf("A create: %d %s", status, body)
		}
	}
	_, d, _ := e.nl(a.token, "GET", "licensee/A-1", nil)
	acust := d.prop("keyturnCustomerId")
	e.createKey(a, "Period", "30", "CustomerId", acust)
	before := e.snapshot()
	b := e.setup("bravo", "*")
	bpn := strconv.FormatInt(b.product, 10)
	probes := []struct {
		method, path string
		params       url.Values
		want         int
	}{
		{"GET", "licensee/A-1", nil, 404},
		{"POST", "licensee/A-1", url.Values{"name": {"taken over"}, "active": {"false"}}, 404},
		{"POST", "licensee/A-1/validate", url.Values{"licenseeSecret": {"alpha-secret"}}, 404},
		{"GET", "licensee/A-1/validate", nil, 404},
		{"POST", "licensee/A-1/transfer", url.Values{"sourceLicenseeNumber": {"A-2"}}, 404},
		{"DELETE", "licensee/A-1", url.Values{"forceCascade": {"true"}}, 404},
		{"POST", "licensee", url.Values{"productNumber": {apn}}, 404},
		{"POST", "licensee", url.Values{"productNumber": {bpn}, "keyturnCustomerId": {acust}}, 404},
		{"POST", "licensee", url.Values{"productNumber": {bpn}, "number": {"B-1"}}, 200},
		{"POST", "licensee/B-1/transfer", url.Values{"sourceLicenseeNumber": {"A-2"}}, 404},
		{"POST", "licensee", url.Values{"productNumber": {bpn}, "number": {"A-1"}}, 200}, // numbers are per account
		{"GET", "licensee", nil, 200},
	}
	for _, p := range probes {
		status, _, body := e.nl(b.token, p.method, p.path, p.params)
		if status != p.want {
			t.Errorf("B %s %s %v: %d, want %d: %.300s", p.method, p.path, p.params, status, p.want, body)
		}
		if strings.Contains(body, "alpha") || strings.Contains(body, "A-2") {
			t.Errorf("B %s %s: the answer shows A's data: %.300s", p.method, p.path, body)
		}
	}
	if _, d, _ := e.nl(b.token, "GET", "licensee", nil); *d.Items.TotalItems != 2 {
		t.Errorf("B's listing counts %d licensees, want its own 2", *d.Items.TotalItems)
	}
	after := e.snapshot()
	owner := regexp.MustCompile(`^(A|C|CS|CE|CD|LE|LC|LN)#` + strconv.FormatInt(a.account, 10) + `( |#)`)
	for k, v := range before {
		if globalCounter(k) {
			continue
		}
		if got, ok := after[k]; !ok {
			t.Errorf("A's item %s was removed", k)
		} else if got != v {
			t.Errorf("A's item %s changed:\n before %s\n after  %s", k, v, got)
		}
	}
	for k := range after {
		if _, old := before[k]; !old && owner.MatchString(k) {
			t.Errorf("a new item %s is in A's partitions", k)
		}
	}
}
