package app_test

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/keyturn/keyturn/shared/license"
)

// TestDataObjectsInLicensesAndProducts: a key's data objects appear in its
// license (StringSign, LinqSign and listings) in the WIRE-COMPAT shape,
// machine-code objects do not, and product objects appear in GetProducts.
func TestDataObjectsInLicensesAndProducts(t *testing.T) {
	e, f, _ := activateEnv(t)
	pid := strconv.FormatInt(f.product, 10)
	k := e.createKey(f, "Notes", "with objects")
	add := func(kv ...string) int64 {
		t.Helper()
		body := e.post("data/AddDataObjectToKey", append([]string{"token", f.token, "ProductId", pid, "Key", k}, kv...)...)
		var r struct {
			ID     int64 `json:"id"`
			Result int   `json:"result"`
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil || r.Result != 0 || r.ID == 0 {
			t.Fatalf("AddDataObjectToKey = %s", body)
		}
		return r.ID
	}
	a := add("Name", "uses", "IntValue", "5")
	b := add("Name", "plan", "StringValue", "gold")
	raw, sr := e.activate(f, "Key", k, "MachineCode", "m1")
	lic := licenseJSON(t, sr, raw)
	want := `[{"Id":` + strconv.FormatInt(a, 10) + `,"Name":"uses","StringValue":"","IntValue":5},{"Id":` + strconv.FormatInt(b, 10) + `,"Name":"plan","StringValue":"gold","IntValue":0}]`
	if got := string(lic["DataObjects"]); got != want {
		t.Errorf("DataObjects = %s, want %s", got, want)
	}
	js, _ := base64.StdEncoding.DecodeString(sr.LicenseKey)
	if err := license.SameShape(capturedWithDataObjects(t), js); err != nil {
		t.Errorf("license with data objects differs from captured shape: %v", err)
	}
	// Counter changes show in the next license; machine-code objects do not.
	if got := e.post("data/IncrementIntValueToKey", "token", f.token, "ProductId", pid, "Key", k, "Id", strconv.FormatInt(a, 10), "IntValue", "2"); got != ok {
		t.Fatalf("IncrementIntValueToKey = %s", got)
	}
	if got := e.post("data/AddDataObjectToMachineCode", "token", f.token, "ProductId", pid, "Key", k, "MachineCode", "m1", "Name", "mc"); !strings.Contains(got, `"result":0`) {
		t.Fatalf("AddDataObjectToMachineCode = %s", got)
	}
	raw, sr = e.activate(f, "Key", k, "MachineCode", "m1")
	lic = licenseJSON(t, sr, raw)
	if got := string(lic["DataObjects"]); !strings.Contains(got, `"IntValue":7`) || strings.Contains(got, `"mc"`) {
		t.Errorf("DataObjects after increment = %s", got)
	}
	// LinqSign and GetKeys listings carry them too (camelCase). Two data
	// objects cannot be signed with SignMethod=0 (TestLinqSignForgery), so
	// this LinqSign object is unsigned.
	body := e.post("key/GetKey", "token", f.token, "ProductId", pid, "Key", k, "Sign", "false", "SignMethod", "0")
	if !strings.Contains(body, `"dataObjects":[{"id":`+strconv.FormatInt(a, 10)+`,"name":"uses","stringValue":"","intValue":7}`) {
		t.Errorf("LinqSign dataObjects: %s", body)
	}
	body = e.post("product/GetKeys", "token", f.token, "ProductId", pid)
	if !strings.Contains(body, `"name":"plan","stringValue":"gold"`) {
		t.Errorf("GetKeys dataObjects: %s", body)
	}
	// Removing one leaves the other.
	if got := e.post("data/RemoveDataObjectToKey", "token", f.token, "ProductId", pid, "Key", k, "Name", "uses"); got != ok {
		t.Fatalf("RemoveDataObjectToKey = %s", got)
	}
	raw, sr = e.activate(f, "Key", k, "MachineCode", "m1")
	if got := string(licenseJSON(t, sr, raw)["DataObjects"]); strings.Contains(got, "uses") || !strings.Contains(got, "plan") {
		t.Errorf("DataObjects after removal = %s", got)
	}

	// Product data objects in GetProducts.
	if got := e.post("data/AddDataObject", "token", f.token, "ReferencerType", "1", "ReferencerId", pid, "Name", "version", "StringValue", "2.1"); !strings.Contains(got, `"result":0`) {
		t.Fatalf("AddDataObject product = %s", got)
	}
	body = e.post("product/GetProducts", "token", f.token)
	if !strings.Contains(body, `"dataObjects":[{"id":`) || !strings.Contains(body, `"name":"version","stringValue":"2.1","intValue":0}]`) {
		t.Errorf("GetProducts dataObjects: %s", body)
	}
}

// capturedWithDataObjects returns a captured license JSON with data
// objects and no customer.
func capturedWithDataObjects(t *testing.T) []byte {
	t.Helper()
	for _, js := range capturedLicenses(t) {
		var probe struct {
			Customer    json.RawMessage
			DataObjects []json.RawMessage
			Notes       *string
		}
		_ = json.Unmarshal(js, &probe)
		if string(probe.Customer) == "null" && len(probe.DataObjects) > 0 && probe.Notes != nil {
			return js
		}
	}
	t.Fatal("no captured license with data objects")
	return nil
}
