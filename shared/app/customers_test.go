package app_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/keyturn/keyturn/shared/license"
	"github.com/keyturn/keyturn/shared/wire"
)

// result decodes a Web API answer.
func result(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return m
}

// wantMessage checks a Web API error answer.
func wantMessage(t *testing.T, what, body, msg string) {
	t.Helper()
	want := `{"result":1,"message":"` + msg + `"}`
	if body != want {
		t.Errorf("%s = %s, want %s", what, body, want)
	}
}

func (e *env) addCustomer(f fixture, kv ...string) (int64, string) {
	e.t.Helper()
	body := e.post("customer/AddCustomer", append([]string{"token", f.token, "Name", "Bob", "Email", "bob@example.com", "CompanyName", "Bobco"}, kv...)...)
	var r struct {
		CustomerID int64  `json:"customerId"`
		Secret     string `json:"secret"`
		Result     int    `json:"result"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.Result != 0 || r.CustomerID == 0 {
		e.t.Fatalf("AddCustomer = %s", body)
	}
	return r.CustomerID, r.Secret
}

func TestCustomerMethods(t *testing.T) {
	e := newEnv(t)
	f := e.setup("acme", "*")
	long := strings.Repeat("x", 101)

	// AddCustomer: required fields, limits, result shape.
	for _, tt := range []struct {
		name string
		kv   []string
		msg  string
	}{
		{"no name", []string{"Email", "a@b", "CompanyName", "c"}, "The input parameters were incorrect."},
		{"no email", []string{"Name", "a", "CompanyName", "c"}, "The input parameters were incorrect."},
		{"long name", []string{"Name", long, "Email", "a@b", "CompanyName", "c"}, "The name of the customer is limited to 100 characters."},
		{"long email", []string{"Name", "a", "Email", long, "CompanyName", "c"}, "The email of the customer is limited to 100 characters."},
		{"long company", []string{"Name", "a", "Email", "a@b", "CompanyName", long}, "The company name of the customer is limited to 100 characters."},
		{"long notes", []string{"Name", "a", "Email", "a@b", "CompanyName", "c", "Notes", strings.Repeat("n", 1001)}, "The input parameters were incorrect."},
		{"bad bool", []string{"Name", "a", "Email", "a@b", "CompanyName", "c", "EnableCustomerAssociation", "maybe"}, "The input parameters were incorrect."},
	} {
		wantMessage(t, "AddCustomer "+tt.name, e.post("customer/AddCustomer", append([]string{"token", f.token}, tt.kv...)...), tt.msg)
	}
	// A name of exactly 100 characters (counted in characters, not bytes) is fine.
	id100, _ := e.addCustomer(f, "Name", strings.Repeat("é", 100))
	body := e.post("customer/AddCustomer", "token", f.token, "Name", "Alice", "Email", "alice@example.com", "CompanyName", "Aco", "EnableCustomerAssociation", "true")
	var added struct {
		CustomerID int64  `json:"customerId"`
		PortalLink string `json:"portalLink"`
		Secret     string `json:"secret"`
	}
	_ = json.Unmarshal([]byte(body), &added)
	if !strings.HasPrefix(body, `{"customerId":`) || added.Secret == "" || !strings.HasPrefix(added.PortalLink, testPublicURL+"/portal/customer?") ||
		!strings.Contains(added.PortalLink, "code="+added.Secret) {
		t.Errorf("AddCustomer with association = %s", body)
	}
	bobID, bobSecret := e.addCustomer(f)
	if strings.Contains(e.post("customer/AddCustomer", "token", f.token, "Name", "C", "Email", "c@c", "CompanyName", "c"), "portalLink") {
		t.Error("portal link without EnableCustomerAssociation")
	}

	// EditCustomer.
	wantMessage(t, "EditCustomer unknown", e.post("customer/EditCustomer", "token", f.token, "CustomerId", "999", "Name", "x"), "Customer could not be found.")
	wantMessage(t, "EditCustomer no id", e.post("customer/EditCustomer", "token", f.token, "Name", "x"), "The input parameters were incorrect.")
	wantMessage(t, "EditCustomer long name", e.post("customer/EditCustomer", "token", f.token, "CustomerId", strconv.FormatInt(bobID, 10), "Name", long), "The name of the customer is limited to 100 characters.")
	wantMessage(t, "EditCustomer long email", e.post("customer/EditCustomer", "token", f.token, "CustomerId", strconv.FormatInt(bobID, 10), "Email", long), "The email of the customer is limited to 100 characters.")
	wantMessage(t, "EditCustomer long company", e.post("customer/EditCustomer", "token", f.token, "CustomerId", strconv.FormatInt(bobID, 10), "CompanyName", long), "The company name of the customer is limited to 100 characters.")
	body = e.post("customer/EditCustomer", "token", f.token, "CustomerId", strconv.FormatInt(bobID, 10), "CompanyName", "Bob Ltd", "MaxNoOfDevices", "4")
	if body != fmt.Sprintf(`{"customerId":%d,"result":0,"message":""}`, bobID) {
		t.Errorf("EditCustomer = %s", body)
	}
	c, err := e.app.Customers.Customer(context.Background(), f.account, bobID)
	if err != nil || c.Name != "Bob" || *c.Email != "bob@example.com" || *c.CompanyName != "Bob Ltd" || c.MaxNoOfDevices != 4 || c.Secret != bobSecret {
		t.Errorf("after edit: %+v, %v", c, err)
	}
	body = e.post("customer/EditCustomer", "token", f.token, "CustomerId", strconv.FormatInt(bobID, 10), "Secret", "true")
	var edited struct{ Secret, PortalLink string }
	_ = json.Unmarshal([]byte(body), &edited)
	if edited.Secret == "" || edited.Secret == bobSecret || edited.PortalLink == "" {
		t.Errorf("EditCustomer Secret=true = %s", body)
	}
	wantMessage(t, "old secret", e.post("customer/GetCustomerLicensesBySecret", "token", f.token, "Secret", bobSecret), "Customer does not exist.")
	if got := e.post("customer/GetCustomerLicensesBySecret", "token", f.token, "Secret", edited.Secret); got != `{"licenseKeys":[],"result":0,"message":""}` {
		t.Errorf("new secret = %s", got)
	}
	wantMessage(t, "no secret", e.post("customer/GetCustomerLicensesBySecret", "token", f.token), "The Secret was not specified.")

	// GetCustomers: order, search, id search, filter, limit, model.
	list := func(kv ...string) []int64 {
		t.Helper()
		var r struct {
			Customers []struct{ ID int64 }
		}
		b := e.post("customer/GetCustomers", append([]string{"token", f.token}, kv...)...)
		if err := json.Unmarshal([]byte(b), &r); err != nil || !strings.Contains(b, `"resellerCustomers":[],"visibleCustomers":[]`) {
			t.Fatalf("GetCustomers = %s", b)
		}
		var ids []int64
		for _, c := range r.Customers {
			ids = append(ids, c.ID)
		}
		return ids
	}
	all := list()
	if len(all) != 4 || all[0] != id100 || all[3] != bobID+1 {
		t.Errorf("GetCustomers ids = %v", all)
	}
	if got := list("SortByCreatedDescending", "true", "Limit", "2"); len(got) != 2 || got[0] != all[3] || got[1] != all[2] {
		t.Errorf("newest first, limit 2 = %v (all %v)", got, all)
	}
	if got := list("Search", "ALICE"); len(got) != 1 || got[0] != added.CustomerID {
		t.Errorf("search alice = %v", got)
	}
	if got := list("Search", "bob ltd"); len(got) != 1 || got[0] != bobID {
		t.Errorf("search company = %v", got)
	}
	if got := list("Search", edited.Secret); len(got) != 1 || got[0] != bobID {
		t.Errorf("search secret = %v", got)
	}
	idText := strconv.FormatInt(bobID, 10)
	has := func(ids []int64, id int64) bool {
		for _, x := range ids {
			if x == id {
				return true
			}
		}
		return false
	}
	// Without IncludeIdInSearch a number only matches text (secrets are
	// random and may contain it).
	if got := list("Search", idText); has(got, bobID) != strings.Contains(edited.Secret, idText) {
		t.Errorf("numeric search without IncludeIdInSearch = %v", got)
	}
	if got := list("Search", idText, "IncludeIdInSearch", "true"); !has(got, bobID) {
		t.Errorf("id search = %v", got)
	}
	if got := list("CustomerId", idText); len(got) != 1 || got[0] != bobID {
		t.Errorf("CustomerId filter = %v", got)
	}
	b1 := e.post("customer/GetCustomers", "token", f.token, "CustomerId", idText)
	if !strings.HasPrefix(b1, fmt.Sprintf(`{"customers":[{"id":%d,"name":"Bob","email":"bob@example.com","companyName":"Bob Ltd","created":"`, bobID)) ||
		strings.Contains(b1, "secret") {
		t.Errorf("model 1 = %s", b1)
	}
	b2 := e.post("customer/GetCustomers", "token", f.token, "CustomerId", idText, "ModelVersion", "2")
	for _, field := range []string{`"enableCustomerAssociation":false`, `"maxNoOfDevices":4`, `"owner":`, `"isPublic":false`, `"secret":"` + edited.Secret + `"`} {
		if !strings.Contains(b2, field) {
			t.Errorf("model 2 lacks %s: %s", field, b2)
		}
	}

	// RemoveCustomer.
	wantMessage(t, "RemoveCustomer no id", e.post("customer/RemoveCustomer", "token", f.token), "The input parameters were incorrect.")
	if got := e.post("customer/RemoveCustomer", "token", f.token, "CustomerId", idText); got != ok {
		t.Errorf("RemoveCustomer = %s", got)
	}
	wantMessage(t, "RemoveCustomer twice", e.post("customer/RemoveCustomer", "token", f.token, "CustomerId", idText), "Customer does not exist.")
	wantMessage(t, "secret of removed", e.post("customer/GetCustomerLicensesBySecret", "token", f.token, "Secret", edited.Secret), "Customer does not exist.")
	wantMessage(t, "licenses of removed", e.post("customer/GetCustomerLicenses", "token", f.token, "CustomerId", idText), "Customer does not exist.")

	// Permissions: each method needs its own permission.
	g := e.setup("limited", "GetCustomers")
	wantMessage(t, "AddCustomer without permission", e.post("customer/AddCustomer", "token", g.token, "Name", "a", "Email", "b", "CompanyName", "c"), "Access denied.")
	if got := e.post("customer/GetCustomers", "token", g.token); got != `{"customers":[],"resellerCustomers":[],"visibleCustomers":[],"result":0,"message":""}` {
		t.Errorf("other account sees customers: %s", got)
	}
}

// licenseJSON decodes the license of a signed StringSign answer.
func licenseJSON(t *testing.T, r signedResponse, body string) map[string]json.RawMessage {
	t.Helper()
	js, err := base64.StdEncoding.DecodeString(r.LicenseKey)
	if err != nil || r.Result != 0 {
		t.Fatalf("activate: %s", body)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCustomersOnKeys(t *testing.T) {
	e, f, _ := activateEnv(t)
	pid := strconv.FormatInt(f.product, 10)
	cid, secret := e.addCustomer(f)
	cidText := strconv.FormatInt(cid, 10)

	// CreateKey with CustomerId / NewCustomer / AddOrUseExistingCustomer.
	wantMessage(t, "unknown customer", e.post("key/CreateKey", "token", f.token, "ProductId", pid, "CustomerId", "999"), "Could not find the customer.")
	wantMessage(t, "unknown reseller", e.post("key/CreateKey", "token", f.token, "ProductId", pid, "ResellerId", "999"), "The input parameters were incorrect.")
	k1 := e.createKey(f, "CustomerId", cidText)
	if r := e.record(f, k1); r.CustomerID != cid {
		t.Errorf("key customer = %d", r.CustomerID)
	}
	limited := e.setup("limited", "CreateKey")
	lpid := strconv.FormatInt(limited.product, 10)
	wantMessage(t, "NewCustomer without AddCustomer", e.post("key/CreateKey", "token", limited.token, "ProductId", lpid, "NewCustomer", "true", "Name", "x"),
		"Access denied. Please add 'AddCustomer' permission.")
	wantMessage(t, "AddOrUse without AddCustomer", e.post("key/CreateKey", "token", limited.token, "ProductId", lpid, "AddOrUseExistingCustomer", "true", "Email", "x@y"),
		"Access denied. Please add 'AddCustomer' permission.")
	body := e.post("key/CreateKey", "token", f.token, "ProductId", pid, "NewCustomer", "true", "Name", "Carol", "Email", "carol@example.com", "Notes", "key notes")
	var created struct {
		Key        string `json:"key"`
		CustomerID int64  `json:"customerId"`
	}
	_ = json.Unmarshal([]byte(body), &created)
	if created.CustomerID == 0 || created.CustomerID == cid || !keyRe.MatchString(created.Key) {
		t.Fatalf("NewCustomer = %s", body)
	}
	// Same keys, order and types as a captured license with a customer
	// (whose company name is null, like Carol's).
	_, sr := e.activate(f, "Key", created.Key, "MachineCode", "m1")
	js, _ := base64.StdEncoding.DecodeString(sr.LicenseKey)
	if err := license.SameShape(capturedWithCustomer(t), js); err != nil {
		t.Errorf("license with customer differs from captured shape: %v\n%s", err, js)
	}
	body = e.post("key/CreateKey", "token", f.token, "ProductId", pid, "AddOrUseExistingCustomer", "true", "Email", "CAROL@example.com", "NoOfKeys", "2")
	var reused struct {
		Keys       []struct{ Key string }
		CustomerID int64 `json:"customerId"`
	}
	_ = json.Unmarshal([]byte(body), &reused)
	if reused.CustomerID != created.CustomerID || len(reused.Keys) != 2 {
		t.Errorf("AddOrUseExistingCustomer = %s, want customer %d", body, created.CustomerID)
	}
	body = e.post("key/CreateKey", "token", f.token, "ProductId", pid, "AddOrUseExistingCustomer", "true", "Name", "Dan", "Email", "dan@example.com")
	_ = json.Unmarshal([]byte(body), &reused)
	if reused.CustomerID == created.CustomerID || reused.CustomerID == 0 {
		t.Errorf("AddOrUseExistingCustomer new email = %s", body)
	}
	wantMessage(t, "NewCustomer with CustomerId", e.post("key/CreateKey", "token", f.token, "ProductId", pid, "NewCustomer", "true", "CustomerId", cidText), "The input parameters were incorrect.")
	wantMessage(t, "NewCustomer bad name", e.post("key/CreateKey", "token", f.token, "ProductId", pid, "NewCustomer", "true", "Name", strings.Repeat("n", 101)),
		"The name of the customer is limited to 100 characters.")

	// The license shows the customer exactly as WIRE-COMPAT section 4 says.
	raw, sr := e.activate(f, "Key", k1, "MachineCode", "m1")
	lic := licenseJSON(t, sr, raw)
	var cust map[string]json.RawMessage
	_ = json.Unmarshal(lic["Customer"], &cust)
	if len(cust) != 5 || string(cust["Id"]) != cidText || string(cust["Name"]) != `"Bob"` || string(cust["Email"]) != `"bob@example.com"` ||
		string(cust["CompanyName"]) != `"Bobco"` || !isInt(cust["Created"]) {
		t.Errorf("Customer = %s", lic["Customer"])
	}

	// GetCustomerLicenses: basic, detailed, metadata, product lock.
	k2 := e.createKey(f, "CustomerId", cidText, "Notes", "second")
	body = e.post("customer/GetCustomerLicenses", "token", f.token, "CustomerId", cidText)
	var basic struct {
		LicenseKeys []map[string]json.RawMessage
	}
	_ = json.Unmarshal([]byte(body), &basic)
	if len(basic.LicenseKeys) != 2 || len(basic.LicenseKeys[0]) != 17 || !strings.Contains(body, `"key":"`+k1+`"`) || !strings.Contains(body, `"key":"`+k2+`"`) ||
		strings.Contains(body, "metadata") {
		t.Errorf("GetCustomerLicenses basic = %s", body)
	}
	if !strings.HasPrefix(body, `{"licenseKeys":[{"productId":`+pid+`,"id":`) {
		t.Errorf("basic model order = %s", body)
	}
	body = e.post("customer/GetCustomerLicensesBySecret", "token", f.token, "Secret", secret, "Detailed", "true", "Metadata", "true")
	var detailed struct {
		LicenseKeys []struct {
			Key               string
			Customer          *struct{ ID int64 }
			ActivatedMachines []struct{ Mid string }
		}
		Metadata map[string]wire.Metadata
	}
	if err := json.Unmarshal([]byte(body), &detailed); err != nil || len(detailed.LicenseKeys) != 2 || len(detailed.Metadata) != 2 {
		t.Fatalf("detailed = %s", body)
	}
	for _, l := range detailed.LicenseKeys {
		if l.Customer == nil || l.Customer.ID != cid {
			t.Errorf("detailed license %s customer = %+v", l.Key, l.Customer)
		}
		if l.Key == k1 && (len(l.ActivatedMachines) != 1 || l.ActivatedMachines[0].Mid != "m1") {
			t.Errorf("detailed machines = %+v", l.ActivatedMachines)
		}
	}
	if m := detailed.Metadata[strconv.FormatInt(e.record(f, k1).GlobalID, 10)]; m.ActivatedMachines != 1 {
		t.Errorf("metadata of k1 = %+v (%s)", m, body)
	}
	wantMessage(t, "licenses unknown customer", e.post("customer/GetCustomerLicenses", "token", f.token, "CustomerId", "12345"), "Customer does not exist.")
	wantMessage(t, "licenses no id", e.post("customer/GetCustomerLicenses", "token", f.token), "The input parameters were incorrect.")
	other := e.setupProduct(f, "other")
	e.createKeyIn(f, other, "CustomerId", cidText)
	locked := e.token(f, map[string]any{"methods": []string{"GetCustomerLicenses"}, "productLock": f.product})
	body = e.post("customer/GetCustomerLicenses", "token", locked, "CustomerId", cidText)
	_ = json.Unmarshal([]byte(body), &basic)
	if len(basic.LicenseKeys) != 2 {
		t.Errorf("product-locked token sees %d licenses: %s", len(basic.LicenseKeys), body)
	}
	body = e.post("customer/GetCustomerLicenses", "token", f.token, "CustomerId", cidText)
	_ = json.Unmarshal([]byte(body), &basic)
	if len(basic.LicenseKeys) != 3 {
		t.Errorf("unlocked token sees %d licenses", len(basic.LicenseKeys))
	}

	// ChangeCustomer.
	k3 := e.createKey(f)
	wantMessage(t, "ChangeCustomer unknown", e.post("key/ChangeCustomer", "token", f.token, "ProductId", pid, "Key", k1, "CustomerId", "999"),
		"Customer not found, so current key no longer references any customer.")
	if r := e.record(f, k1); r.CustomerID != 0 {
		t.Errorf("after unknown customer: %d", r.CustomerID)
	}
	if got := e.post("key/ChangeCustomer", "token", f.token, "ProductId", pid, "Key", k3, "CustomerId", cidText); got != ok {
		t.Errorf("ChangeCustomer = %s", got)
	}
	wantMessage(t, "ChangeCustomer unknown key", e.post("key/ChangeCustomer", "token", f.token, "ProductId", pid, "Key", "AAAAA-AAAAA-AAAAA-AAAAA", "CustomerId", cidText), "Could not find the key.")
	body = e.post("customer/GetCustomerLicenses", "token", f.token, "CustomerId", cidText)
	if strings.Contains(body, k1) || !strings.Contains(body, k3) {
		t.Errorf("after ChangeCustomer: %s", body)
	}

	// Removing the customer keeps the licenses, dissociated.
	if got := e.post("customer/RemoveCustomer", "token", f.token, "CustomerId", cidText); got != ok {
		t.Fatalf("RemoveCustomer = %s", got)
	}
	for _, k := range []string{k2, k3} {
		if r := e.record(f, k); r.CustomerID != 0 {
			t.Errorf("key %s still has customer %d", k, r.CustomerID)
		}
	}
	raw, sr = e.activate(f, "Key", k2, "MachineCode", "m1")
	if lic := licenseJSON(t, sr, raw); string(lic["Customer"]) != "null" {
		t.Errorf("license of removed customer: Customer = %s", lic["Customer"])
	}
	// GetKeys search on customer fields.
	body = e.post("product/GetKeys", "token", f.token, "ProductId", pid, "SearchQuery", `Customer.Name == "Carol"`)
	var gk struct{ Total int }
	_ = json.Unmarshal([]byte(body), &gk)
	if gk.Total != 3 || !strings.Contains(body, `"customer":{"id":`+strconv.FormatInt(created.CustomerID, 10)) {
		t.Errorf("GetKeys by customer name = %s", body)
	}
}

func isInt(b json.RawMessage) bool {
	_, err := strconv.ParseInt(string(b), 10, 64)
	return err == nil
}

// capturedWithCustomer returns a captured license JSON that has a customer.
func capturedWithCustomer(t *testing.T) []byte {
	t.Helper()
	for _, js := range capturedLicenses(t) {
		var probe struct{ Customer json.RawMessage }
		_ = json.Unmarshal(js, &probe)
		if string(probe.Customer) != "null" {
			return js
		}
	}
	t.Fatal("no captured license with a customer")
	return nil
}

func TestResellers(t *testing.T) {
	e, f, _ := activateEnv(t)
	pid := strconv.FormatInt(f.product, 10)
	long := func(n int) string { return strings.Repeat("r", n) }
	for _, tt := range []struct{ field, value, msg string }{
		{"Name", long(101), "The name cannot be longer than 100 characters."},
		{"Url", long(501), "The url cannot be longer than 500 characters."},
		{"Email", long(101), "The email cannot be longer than 100 characters."},
		{"Phone", long(101), "The phone cannot be longer than 100 characters."},
		{"Description", long(501), "The description cannot be longer than 500 characters."},
		{"Metadata", "{not json", "The model state is not valid. Please check the parameters."},
		{"Metadata", `{"a":1}`, "The model state is not valid. Please check the parameters."},
	} {
		wantMessage(t, "AddReseller "+tt.field, e.post("reseller/AddReseller", "token", f.token, tt.field, tt.value), tt.msg)
	}
	body := e.post("reseller/AddReseller", "token", f.token, "Name", "Resell AB", "Description", "Nordic partner", "Metadata", `{"region":"north","tier":"gold"}`)
	var added struct {
		ResellerID int64 `json:"resellerId"`
	}
	_ = json.Unmarshal([]byte(body), &added)
	if added.ResellerID == 0 || !strings.HasPrefix(body, `{"resellerId":`) {
		t.Fatalf("AddReseller = %s", body)
	}
	rid := strconv.FormatInt(added.ResellerID, 10)
	second := e.post("reseller/AddReseller", "token", f.token, "Name", "Other", "Phone", "+46 70")
	_ = second

	body = e.post("reseller/GetResellers", "token", f.token)
	if !strings.HasPrefix(body, `{"resellers":[{"id":`+strconv.FormatInt(added.ResellerID+1, 10)) ||
		!strings.Contains(body, `{"id":`+rid+`,"inviteId":0,"resellerUserId":0,"created":"`) ||
		!strings.Contains(body, `"name":"Resell AB","url":null,"email":null,"phone":null,"description":"Nordic partner","metadata":{"region":"north","tier":"gold"}}`) {
		t.Errorf("GetResellers (newest first) = %s", body)
	}
	for _, tt := range []struct {
		kv   []string
		want int
	}{
		{[]string{"Search", "nordic"}, 1}, {[]string{"Search", "+46"}, 1}, {[]string{"Search", "zzz"}, 0},
		{[]string{"ResellerId", rid}, 1}, {[]string{"ResellerId", "999"}, 0}, {[]string{"Limit", "1"}, 1}, {nil, 2},
	} {
		var r struct{ Resellers []struct{ ID int64 } }
		_ = json.Unmarshal([]byte(e.post("reseller/GetResellers", append([]string{"token", f.token}, tt.kv...)...)), &r)
		if len(r.Resellers) != tt.want {
			t.Errorf("GetResellers %v: %d resellers, want %d", tt.kv, len(r.Resellers), tt.want)
		}
	}
	wantMessage(t, "EditReseller unknown", e.post("reseller/EditReseller", "token", f.token, "ResellerId", "999", "Name", "x"), "Reseller could not be found.")
	wantMessage(t, "EditReseller long", e.post("reseller/EditReseller", "token", f.token, "ResellerId", rid, "Url", long(501)), "The url cannot be longer than 500 characters.")
	if got := e.post("reseller/EditReseller", "token", f.token, "ResellerId", rid, "Email", "sales@resell.example", "Metadata", `{"tier":null,"since":"2020"}`); got != ok {
		t.Errorf("EditReseller = %s", got)
	}
	body = e.post("reseller/GetResellers", "token", f.token, "ResellerId", rid)
	if !strings.Contains(body, `"email":"sales@resell.example"`) || !strings.Contains(body, `"metadata":{"region":"north","since":"2020"}`) {
		t.Errorf("after edit = %s", body)
	}

	// Licenses with a reseller: model 3 shows it, model 2 has no Reseller key.
	wantMessage(t, "GetResellerCustomers unknown", e.post("reseller/GetResellerCustomers", "token", f.token, "ResellerId", "999"), "Reseller could not be found.")
	wantMessage(t, "GetResellerCustomers no id", e.post("reseller/GetResellerCustomers", "token", f.token), "The input parameters were incorrect.")
	cid, _ := e.addCustomer(f)
	k := e.createKey(f, "ResellerId", rid, "CustomerId", strconv.FormatInt(cid, 10))
	e.createKey(f, "ResellerId", rid) // no customer
	body = e.post("reseller/GetResellerCustomers", "token", f.token, "ResellerId", rid)
	if !strings.HasPrefix(body, fmt.Sprintf(`{"customers":[{"id":%d,"name":"Bob","email":"bob@example.com","companyName":"Bobco","created":"`, cid)) {
		t.Errorf("GetResellerCustomers = %s", body)
	}
	raw, sr := e.activate(f, "Key", k, "MachineCode", "m", "ModelVersion", "3")
	lic := licenseJSON(t, sr, raw)
	var res map[string]json.RawMessage
	_ = json.Unmarshal(lic["Reseller"], &res)
	if len(res) != 9 || string(res["Id"]) != rid || string(res["Name"]) != `"Resell AB"` || string(res["Email"]) != `"sales@resell.example"` || !isInt(res["Created"]) {
		t.Errorf("Reseller = %s", lic["Reseller"])
	}
	raw, sr = e.activate(f, "Key", k, "MachineCode", "m", "ModelVersion", "2")
	if _, has := licenseJSON(t, sr, raw)["Reseller"]; has {
		t.Error("model 2 license has a Reseller")
	}

	// ChangeReseller.
	wantMessage(t, "ChangeReseller 0", e.post("key/ChangeReseller", "token", f.token, "ProductId", pid, "Key", k, "ResellerId", "0"),
		"The reseller was not found or the id was set to zero. The license will no longer have any reseller associated with it.")
	if got := e.post("key/ChangeReseller", "token", f.token, "ProductId", pid, "Key", k, "ResellerId", rid); got != ok {
		t.Errorf("ChangeReseller = %s", got)
	}
	// RemoveReseller dissociates its licenses.
	wantMessage(t, "RemoveReseller no id", e.post("reseller/RemoveReseller", "token", f.token), "The input parameters were incorrect.")
	if got := e.post("reseller/RemoveReseller", "token", f.token, "ResellerId", rid); got != ok {
		t.Errorf("RemoveReseller = %s", got)
	}
	wantMessage(t, "RemoveReseller twice", e.post("reseller/RemoveReseller", "token", f.token, "ResellerId", rid), "Reseller could not be found. Maybe it was already removed?")
	if r := e.record(f, k); r.ResellerID != 0 {
		t.Errorf("license keeps reseller %d", r.ResellerID)
	}
	raw, sr = e.activate(f, "Key", k, "MachineCode", "m", "ModelVersion", "3")
	if lic := licenseJSON(t, sr, raw); string(lic["Reseller"]) != "null" {
		t.Errorf("Reseller after removal = %s", lic["Reseller"])
	}
	// One permission for every reseller method.
	g := e.token(f, map[string]any{"methods": []string{"Reseller"}})
	if got := e.post("reseller/GetResellers", "token", g); !strings.HasPrefix(got, `{"resellers":[`) {
		t.Errorf("Reseller permission: %s", got)
	}
	h := e.token(f, map[string]any{"methods": []string{"GetCustomers"}})
	wantMessage(t, "no Reseller permission", e.post("reseller/GetResellers", "token", h), "Access denied.")
}

// TestCustomerDeviceLimit: MaxNoOfDevices caps the distinct machines
// across all of a customer's licenses, under concurrency.
func TestCustomerDeviceLimit(t *testing.T) {
	e, f, _ := activateEnv(t)
	cid, _ := e.addCustomer(f)
	cidText := strconv.FormatInt(cid, 10)
	if got := e.post("customer/EditCustomer", "token", f.token, "CustomerId", cidText, "MaxNoOfDevices", "3"); !strings.Contains(got, `"result":0`) {
		t.Fatal(got)
	}
	k1 := e.createKey(f, "CustomerId", cidText)
	k2 := e.createKey(f, "CustomerId", cidText)
	const n = 24
	var wg sync.WaitGroup
	results := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			k := k1
			if i%2 == 1 {
				k = k2
			}
			_, r := e.activate(f, "Key", k, "MachineCode", fmt.Sprintf("machine-%d", i))
			results[i] = r.Message
		}(i)
	}
	wg.Wait()
	okCount, limited := 0, 0
	for _, m := range results {
		switch m {
		case "":
			okCount++
		case "Cannot activate the new device as the limit has been reached.":
			limited++
		default:
			t.Errorf("unexpected answer %q", m)
		}
	}
	if okCount != 3 || limited != n-3 {
		t.Errorf("%d activations succeeded, %d limited; want 3 and %d", okCount, limited, n-3)
	}
	nodes := len(e.record(f, k1).Nodes) + len(e.record(f, k2).Nodes)
	c, _ := e.app.Customers.Customer(context.Background(), f.account, cid)
	if nodes != 3 || c.DeviceCount != 3 {
		t.Errorf("machines %d, device count %d; want 3", nodes, c.DeviceCount)
	}
	// A machine already counted may activate the customer's other license.
	var counted, otherKey string
	for mid := range e.record(f, k1).Nodes {
		counted, otherKey = mid, k2
	}
	if counted == "" {
		for mid := range e.record(f, k2).Nodes {
			counted, otherKey = mid, k1
		}
	}
	if _, r := e.activate(f, "Key", otherKey, "MachineCode", counted); r.Result != 0 {
		t.Errorf("counted machine on the other license: %s", r.Message)
	}
	if _, r := e.activate(f, "Key", k1, "MachineCode", "new-machine"); r.Message != "Cannot activate the new device as the limit has been reached." {
		t.Errorf("fourth device: %+v", r)
	}
	// Deactivating a machine from every license frees its device.
	pid := strconv.FormatInt(f.product, 10)
	for _, k := range []string{k1, k2} {
		if _, has := e.record(f, k).Nodes[counted]; has {
			if got := e.post("key/Deactivate", "token", f.token, "ProductId", pid, "Key", k, "MachineCode", counted); got != ok {
				t.Fatalf("Deactivate = %s", got)
			}
		}
	}
	if _, r := e.activate(f, "Key", k1, "MachineCode", "new-machine"); r.Result != 0 {
		t.Errorf("after freeing a device: %s", r.Message)
	}
}

// token creates a token in f's account with the given admin API fields.
func (e *env) token(f fixture, fields map[string]any) string {
	e.t.Helper()
	var tok struct{ Token string }
	e.mustAdmin("POST", "/admin/accounts/"+strconv.FormatInt(f.account, 10)+"/tokens", fields, &tok)
	return tok.Token
}

// setupProduct adds a product to f's account and returns its id.
func (e *env) setupProduct(f fixture, name string) int64 {
	e.t.Helper()
	var p struct{ ID int64 }
	e.mustAdmin("POST", "/admin/accounts/"+strconv.FormatInt(f.account, 10)+"/products", map[string]any{"name": name}, &p)
	return p.ID
}

// createKeyIn creates a key in another product of f's account.
func (e *env) createKeyIn(f fixture, product int64, kv ...string) string {
	e.t.Helper()
	g := f
	g.product = product
	return e.createKey(g, kv...)
}

// capturedLicenses returns the license JSON of every captured response.
func capturedLicenses(t *testing.T) [][]byte {
	t.Helper()
	path := filepath.Join("..", "..", "..", "shared", "conformance", "captured-activate-responses.jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("captured responses not present: %v", err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct{ RawResponse string }
		_ = json.Unmarshal(sc.Bytes(), &line)
		var r signedResponse
		_ = json.Unmarshal([]byte(line.RawResponse), &r)
		if js, err := base64.StdEncoding.DecodeString(r.LicenseKey); err == nil && len(js) > 0 {
			out = append(out, js)
		}
	}
	return out
}

// deviceCount is the customer's stored device count.
func (e *env) deviceCount(f fixture, cid int64) int64 {
	e.t.Helper()
	c, err := e.app.Customers.Customer(context.Background(), f.account, cid)
	if err != nil {
		e.t.Fatal(err)
	}
	return c.DeviceCount
}

// distinctMachines counts the machines node-locked on any of the keys.
func (e *env) distinctMachines(f fixture, ks ...string) int64 {
	e.t.Helper()
	seen := map[string]bool{}
	for _, k := range ks {
		for mid := range e.record(f, k).Nodes {
			seen[mid] = true
		}
	}
	return int64(len(seen))
}

// TestCustomerDeviceRecount: setting MaxNoOfDevices counts the machines
// the customer already uses (activated while it had no limit), so the
// limit holds from then on; a license that changes customer takes its
// machines along.
func TestCustomerDeviceRecount(t *testing.T) {
	e, f, _ := activateEnv(t)
	const limitMsg = "Cannot activate the new device as the limit has been reached."
	pid := strconv.FormatInt(f.product, 10)
	a, _ := e.addCustomer(f)
	b, _ := e.addCustomer(f, "Email", "b@example.com")
	aText, bText := strconv.FormatInt(a, 10), strconv.FormatInt(b, 10)
	k1 := e.createKey(f, "CustomerId", aText)
	k2 := e.createKey(f, "CustomerId", aText)
	k3 := e.createKey(f, "CustomerId", aText)
	activate := func(k, mid string) string {
		t.Helper()
		_, r := e.activate(f, "Key", k, "MachineCode", mid)
		return r.Message
	}
	deactivate := func(k, mid string) {
		t.Helper()
		if got := e.post("key/Deactivate", "token", f.token, "ProductId", pid, "Key", k, "MachineCode", mid); got != ok {
			t.Fatalf("Deactivate %s = %s", mid, got)
		}
	}
	edit := func(cid string, max string) {
		t.Helper()
		if got := e.post("customer/EditCustomer", "token", f.token, "CustomerId", cid, "MaxNoOfDevices", max); !strings.Contains(got, `"result":0`) {
			t.Fatalf("EditCustomer = %s", got)
		}
	}
	// No limit yet: nothing is counted.
	for _, a := range [][2]string{{k1, "m1"}, {k1, "m2"}, {k2, "m2"}, {k2, "m3"}, {k3, "x1"}, {k3, "x2"}} {
		if msg := activate(a[0], a[1]); msg != "" {
			t.Fatalf("activate %s: %s", a[1], msg)
		}
	}
	if got := e.deviceCount(f, a); got != 0 {
		t.Fatalf("device count without a limit = %d", got)
	}
	// A limit of 4 below the 5 machines in use: all 5 are counted, no new
	// machine gets in, known machines still activate other licenses.
	edit(aText, "4")
	if got := e.deviceCount(f, a); got != 5 {
		t.Fatalf("device count after setting the limit = %d, want 5", got)
	}
	if msg := activate(k1, "m4"); msg != limitMsg {
		t.Errorf("new machine over the limit: %q", msg)
	}
	if msg := activate(k2, "m1"); msg != "" {
		t.Errorf("known machine on another license: %q", msg)
	}
	edit(aText, "4") // recounting again changes nothing
	if got := e.deviceCount(f, a); got != 5 {
		t.Errorf("device count after a second recount = %d, want 5", got)
	}
	// m2 leaves k1 but is still on k2; then it leaves k2 too.
	deactivate(k1, "m2")
	if got := e.deviceCount(f, a); got != 5 {
		t.Errorf("m2 still on k2: device count %d, want 5", got)
	}
	deactivate(k2, "m2")
	if got := e.deviceCount(f, a); got != 4 {
		t.Errorf("m2 gone: device count %d, want 4", got)
	}
	// k3 (x1, x2) moves to b, which has a limit: its machines go along.
	edit(bText, "10")
	if got := e.post("key/ChangeCustomer", "token", f.token, "ProductId", pid, "Key", k3, "CustomerId", bText); got != ok {
		t.Fatalf("ChangeCustomer = %s", got)
	}
	if ga, gb := e.deviceCount(f, a), e.deviceCount(f, b); ga != 2 || gb != 2 {
		t.Errorf("after moving k3: a counts %d (want 2), b counts %d (want 2)", ga, gb)
	}
	if msg := activate(k1, "m4"); msg != "" {
		t.Errorf("a is under its limit again: %q", msg)
	}
	// Dissociating k3 releases its machines from b.
	if got := e.post("key/ChangeCustomer", "token", f.token, "ProductId", pid, "Key", k3, "CustomerId", "0"); !strings.Contains(got, `"result":1`) {
		t.Fatalf("ChangeCustomer 0 = %s", got)
	}
	if got := e.deviceCount(f, b); got != 0 {
		t.Errorf("b after k3 left: %d devices, want 0", got)
	}
	if got, want := e.deviceCount(f, a), e.distinctMachines(f, k1, k2); got != want {
		t.Errorf("a counts %d devices, its licenses have %d", got, want)
	}
	// A machine that left a license without being released (written
	// around the service) is released by the next recount.
	if err := e.app.LicenseStore.RemoveNode(context.Background(), f.product, k1, "m4", e.record(f, k1).Nodes["m4"], "", nil); err != nil { // m4 is on k1 only
		t.Fatal(err)
	}
	before := e.deviceCount(f, a)
	edit(aText, "4")
	if got, want := e.deviceCount(f, a), e.distinctMachines(f, k1, k2); got != want || got == before {
		t.Errorf("after recounting a stale device: a counts %d (before %d), its licenses have %d", got, before, want)
	}
}

// TestCustomerDeviceRecountRaces: recounts racing with activations and
// deactivations on the customer's licenses leave the count equal to the
// distinct machines the licenses have.
func TestCustomerDeviceRecountRaces(t *testing.T) {
	e, f, _ := activateEnv(t)
	pid := strconv.FormatInt(f.product, 10)
	cid, _ := e.addCustomer(f)
	cidText := strconv.FormatInt(cid, 10)
	ks := []string{e.createKey(f, "CustomerId", cidText), e.createKey(f, "CustomerId", cidText), e.createKey(f, "CustomerId", cidText)}
	// Some machines before any limit, then the limit and a race.
	for i := 0; i < 6; i++ {
		if _, r := e.activate(f, "Key", ks[i%3], "MachineCode", fmt.Sprintf("old-%d", i%4)); r.Result != 0 {
			t.Fatal(r.Message)
		}
	}
	var wg sync.WaitGroup
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			k, mid := ks[i%3], fmt.Sprintf("new-%d", i%8)
			switch {
			case i%6 == 0:
				e.post("customer/EditCustomer", "token", f.token, "CustomerId", cidText, "MaxNoOfDevices", "1000")
			case i%6 == 5:
				e.post("key/Deactivate", "token", f.token, "ProductId", pid, "Key", ks[i%3], "MachineCode", fmt.Sprintf("old-%d", i%4))
			default:
				e.activate(f, "Key", k, "MachineCode", mid)
			}
		}(i)
	}
	wg.Wait()
	// Activations that read "no limit" before the first recount stored
	// their limit are not counted; a last recount picks them up.
	e.post("customer/EditCustomer", "token", f.token, "CustomerId", cidText, "MaxNoOfDevices", "1000")
	if got, want := e.deviceCount(f, cid), e.distinctMachines(f, ks...); got != want {
		t.Errorf("device count %d, licenses have %d distinct machines", got, want)
	}
	// From here every change is counted as it happens.
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i%2 == 0 {
				e.activate(f, "Key", ks[i%3], "MachineCode", fmt.Sprintf("late-%d", i%3))
			} else {
				e.post("key/Deactivate", "token", f.token, "ProductId", pid, "Key", ks[i%3], "MachineCode", fmt.Sprintf("new-%d", i%8))
			}
		}(i)
	}
	wg.Wait()
	if got, want := e.deviceCount(f, cid), e.distinctMachines(f, ks...); got != want {
		t.Errorf("after counted changes: device count %d, licenses have %d distinct machines", got, want)
	}
}

// TestAddCustomerEmptyEmailAndCompany: AddCustomer accepts an empty Email
// and/or CompanyName (the official SDKs send empty strings for them by
// default, and the reference service accepts that); an empty one shows as
// null in the Customer object, as CreateKey's NewCustomer path does. Both
// must still be sent, and Name must not be empty.
func TestAddCustomerEmptyEmailAndCompany(t *testing.T) {
	e := newEnv(t)
	f := e.setup("acme", "*")
	tests := []struct {
		name string
		kv   []string
		want string // the customer as GetCustomers shows it, after its id
	}{
		{"empty email", []string{"Name", "A", "Email", "", "CompanyName", "Aco"}, `"name":"A","email":null,"companyName":"Aco","created":"`},
		{"empty company", []string{"Name", "B", "Email", "b@example.com", "CompanyName", ""}, `"name":"B","email":"b@example.com","companyName":null,"created":"`},
		{"both empty", []string{"Name", "C", "Email", "", "CompanyName", ""}, `"name":"C","email":null,"companyName":null,"created":"`},
		{"Python's None", []string{"Name", "D", "Email", "None", "CompanyName", "None"}, `"name":"D","email":null,"companyName":null,"created":"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, secret := e.addCustomer(f, tt.kv...)
			if secret == "" {
				t.Errorf("AddCustomer returned no secret")
			}
			got := e.post("customer/GetCustomers", "token", f.token, "CustomerId", strconv.FormatInt(id, 10))
			if want := fmt.Sprintf(`{"customers":[{"id":%d,%s`, id, tt.want); !strings.HasPrefix(got, want) {
				t.Errorf("GetCustomers = %s, want it to begin with %s", got, want)
			}
		})
	}
	// The same customer through CreateKey's NewCustomer renders alike.
	k := e.createKey(f, "NewCustomer", "true", "Name", "E", "Email", "", "CompanyName", "")
	body := e.post("product/GetKeys", "token", f.token, "ProductId", strconv.FormatInt(f.product, 10), "SearchQuery", `Key == "`+k+`"`)
	if !strings.Contains(body, `"name":"E","email":null,"companyName":null,`) {
		t.Errorf("GetKeys of a NewCustomer key = %s, want its customer with null email and company", body)
	}
	for _, tt := range []struct {
		name string
		kv   []string
	}{
		{"email not sent", []string{"Name", "a", "CompanyName", "c"}},
		{"company not sent", []string{"Name", "a", "Email", "a@b"}},
		{"empty name", []string{"Name", "", "Email", "", "CompanyName", ""}},
	} {
		wantMessage(t, "AddCustomer "+tt.name, e.post("customer/AddCustomer", append([]string{"token", f.token}, tt.kv...)...), "The input parameters were incorrect.")
	}
}
