package app_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/keyturn/keyturn/shared/license"
	"github.com/keyturn/keyturn/shared/signing"
)

// activateEnv is an account with a signing key, a product and a token
// with every permission.
func activateEnv(t *testing.T) (*env, fixture, string) {
	e := newEnv(t)
	f := e.setup("acme", "*")
	var key struct{ XML string }
	e.mustAdmin("POST", "/admin/accounts/"+strconv.FormatInt(f.account, 10)+"/signing-keys", nil, &key)
	return e, f, key.XML
}

type signedResponse struct {
	LicenseKey string          `json:"licenseKey"`
	Signature  string          `json:"signature"`
	Metadata   json.RawMessage `json:"metadata"`
	Result     int             `json:"result"`
	Message    string          `json:"message"`
}

func (e *env) activate(f fixture, kv ...string) (string, signedResponse) {
	e.t.Helper()
	body := e.post("key/Activate", append([]string{"token", f.token, "ProductId", strconv.FormatInt(f.product, 10),
		"Sign", "True", "SignMethod", "StringSign"}, kv...)...)
	var r signedResponse
	_ = json.Unmarshal([]byte(body), &r)
	return body, r
}

// capturedSample returns one captured response's license JSON (model 1).
func capturedSample(t *testing.T) []byte {
	t.Helper()
	path := filepath.Join("..", "..", "..", "shared", "conformance", "captured-activate-responses.jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("captured responses not present: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct{ RawResponse string }
		_ = json.Unmarshal(sc.Bytes(), &line)
		var r signedResponse
		_ = json.Unmarshal([]byte(line.RawResponse), &r)
		js, _ := base64.StdEncoding.DecodeString(r.LicenseKey)
		var probe struct {
			Customer    json.RawMessage
			DataObjects []json.RawMessage
			Notes       *string
		}
		_ = json.Unmarshal(js, &probe)
		// The kind of license the service issues here: no customer, no
		// data objects, notes set.
		if string(probe.Customer) == "null" && len(probe.DataObjects) == 0 && probe.Notes != nil {
			return js
		}
	}
	t.Fatal("no captured response without customer and data objects")
	return nil
}

func TestActivateMatchesCapturedShape(t *testing.T) {
	e, f, xml := activateEnv(t)
	k := e.createKey(f, "MaxNoOfMachines", "2", "Notes", "n", "Period", "30")
	body, r := e.activate(f, "Key", k, "MachineCode", "pc-1")
	if r.Result != 0 || !strings.HasSuffix(body, `,"result":0,"message":""}`) {
		t.Fatalf("Activate = %s", body)
	}
	pub, err := signing.ParseXML(xml)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := license.VerifyLicense(pub, r.LicenseKey, r.Signature)
	if err != nil {
		t.Fatalf("the service's signature does not verify with the exported XML key: %v", err)
	}
	if err := license.SameShape(capturedSample(t), ours); err != nil {
		t.Errorf("service license differs from the captured shape: %v\n%s", err, ours)
	}
	// The envelope has the captured key order too.
	if !strings.HasPrefix(body, `{"licenseKey":"`) || !strings.Contains(body, `","signature":"`) {
		t.Errorf("envelope = %s", body)
	}
	var lic struct {
		Key               string
		ProductID         int64 `json:"ProductId"`
		ActivatedMachines []struct{ Mid string }
	}
	_ = json.Unmarshal(ours, &lic)
	if lic.Key != k || lic.ProductID != f.product || len(lic.ActivatedMachines) != 1 || lic.ActivatedMachines[0].Mid != "pc-1" {
		t.Errorf("license = %s", ours)
	}
}

func TestActivateOptions(t *testing.T) {
	e, f, xml := activateEnv(t)
	pub, _ := signing.ParseXML(xml)
	k := e.createKey(f, "MaxNoOfMachines", "3", "Notes", "secret notes", "F1", "true", "Period", "10")
	decode := func(r signedResponse) map[string]any {
		js, err := license.VerifyLicense(pub, r.LicenseKey, r.Signature)
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		var m map[string]any
		_ = json.Unmarshal(js, &m)
		return m
	}
	// Model versions change the machine keys; Reseller only at 3.
	for model, keys := range map[string]string{"1": "IP,Mid,Time", "2": "FriendlyName,IP,Mid,Time", "3": "FloatingExpires,FriendlyName,IP,Mid,Time"} {
		_, r := e.activate(f, "Key", k, "MachineCode", "m1", "FriendlyName", "alice", "ModelVersion", model)
		m := decode(r)
		mach := m["ActivatedMachines"].([]any)[0].(map[string]any)
		var got []string
		for k := range mach {
			got = append(got, k)
		}
		if s := strings.Join(sorted(got), ","); s != keys {
			t.Errorf("model %s machine keys = %s, want %s", model, s, keys)
		}
		if _, has := m["Reseller"]; has != (model == "3") {
			t.Errorf("model %s: Reseller present = %v", model, has)
		}
	}
	// FieldsToReturn hides values; the token's feature lock wins.
	_, r := e.activate(f, "Key", k, "MachineCode", "m2", "FieldsToReturn", strconv.Itoa(license.HideNotes|license.HideActivatedMachines))
	m := decode(r)
	if m["Notes"] != nil || len(m["ActivatedMachines"].([]any)) != 1 {
		t.Errorf("masked license = %v", m)
	}
	base := "/admin/accounts/" + strconv.FormatInt(f.account, 10)
	var locked struct{ Token string }
	e.mustAdmin("POST", base+"/tokens", map[string]any{"methods": []string{"Activate"}, "featureLock": license.HideKey}, &locked)
	body := e.post("key/Activate", "token", locked.Token, "ProductId", strconv.FormatInt(f.product, 10), "Key", k, "MachineCode", "m1",
		"Sign", "true", "SignMethod", "1", "FieldsToReturn", "0")
	_ = json.Unmarshal([]byte(body), &r)
	if m := decode(r); m["Key"] != "" || m["Notes"] != "secret notes" {
		t.Errorf("feature lock must override FieldsToReturn: %v", m)
	}
	// Metadata, signed with SHA-512.
	_, r = e.activate(f, "Key", k, "MachineCode", "m1", "Metadata", "true")
	var meta struct {
		ActivatedMachines int
		LicenseStatus     struct {
			IsValid     bool
			TimeLimited bool
			TimeLeft    int
		}
		Signature string
	}
	if err := json.Unmarshal(r.Metadata, &meta); err != nil || meta.ActivatedMachines != 2 || !meta.LicenseStatus.IsValid ||
		!meta.LicenseStatus.TimeLimited || meta.LicenseStatus.TimeLeft != 9 || meta.Signature == "" {
		t.Errorf("metadata = %s", r.Metadata)
	}
	// LinqSign (the default SignMethod): an object with its own signature.
	body = e.post("key/Activate", "token", f.token, "ProductId", strconv.FormatInt(f.product, 10), "Key", k, "MachineCode", "m1", "Sign", "true")
	var linq struct {
		ProductID  int64 `json:"productId"`
		LicenseKey struct {
			Key       string  `json:"key"`
			Signature *string `json:"signature"`
		} `json:"licenseKey"`
	}
	if err := json.Unmarshal([]byte(body), &linq); err != nil || linq.ProductID != f.product || linq.LicenseKey.Key != k || linq.LicenseKey.Signature == nil {
		t.Errorf("LinqSign response = %s", body)
	}
	// Errors.
	for name, tt := range map[string]struct {
		kv   []string
		want string
	}{
		"bad sign method":   {[]string{"Key", k, "SignMethod", "Fancy"}, `{"result":1,"message":"The input parameters were incorrect."}`},
		"bad model version": {[]string{"Key", k, "ModelVersion", "4"}, `{"result":1,"message":"The input parameters were incorrect."}`},
		"unknown key":       {[]string{"Key", "NOPE"}, `{"result":1,"message":"Could not find the key."}`},
	} {
		if got, _ := e.activate(f, tt.kv...); got != tt.want {
			t.Errorf("%s: %s, want %s", name, got, tt.want)
		}
	}
}

func TestGetKeyIsReadOnly(t *testing.T) {
	e, f, _ := activateEnv(t)
	k := e.createKey(f, "MaxNoOfMachines", "1")
	body := e.post("key/GetKey", "token", f.token, "ProductId", strconv.FormatInt(f.product, 10), "Key", k, "Sign", "true", "SignMethod", "1", "MachineCode", "x")
	if !strings.Contains(body, `"result":0`) {
		t.Fatalf("GetKey = %s", body)
	}
	if r := e.record(f, k); len(r.Nodes) != 0 {
		t.Errorf("GetKey activated a machine: %+v", r.Nodes)
	}
}

func TestGetKeys(t *testing.T) {
	e, f, _ := activateEnv(t)
	pid := strconv.FormatInt(f.product, 10)
	for i := 0; i < 120; i++ {
		kv := []string{"Period", strconv.Itoa(i)}
		if i%10 == 0 {
			kv = append(kv, "Notes", fmt.Sprintf("vip %d", i), "F1", "true")
		}
		e.createKey(f, kv...)
	}
	type page struct {
		LicenseKeys []struct {
			ID       int64  `json:"id"`
			Period   int64  `json:"period"`
			Notes    string `json:"notes"`
			GlobalID int64  `json:"globalId"`
		} `json:"licenseKeys"`
		Returned, Total, PageCount, Result int
	}
	get := func(kv ...string) (page, string) {
		body := e.post("product/GetKeys", append([]string{"token", f.token, "ProductId", pid}, kv...)...)
		var p page
		_ = json.Unmarshal([]byte(body), &p)
		return p, body
	}
	p, body := get()
	if p.Returned != 99 || p.Total != 120 || p.PageCount != 2 || p.LicenseKeys[0].ID != 1 || p.LicenseKeys[98].ID != 99 {
		t.Fatalf("page 1 = returned %d total %d pages %d: %.300s", p.Returned, p.Total, p.PageCount, body)
	}
	if p, _ = get("Page", "2"); p.Returned != 21 || p.LicenseKeys[0].ID != 100 {
		t.Errorf("page 2 = %d keys from %d", p.Returned, p.LicenseKeys[0].ID)
	}
	if p, _ = get("OrderBy", "Period descending"); p.LicenseKeys[0].Period != 119 {
		t.Errorf("descending by period starts with %d", p.LicenseKeys[0].Period)
	}
	if p, body = get("SearchQuery", `F1 == true && Notes.Contains("vip") && Period >= 50`); p.Total != 7 {
		t.Errorf("search total = %d, want 7: %.300s", p.Total, body)
	}
	gid := p.LicenseKeys[0].GlobalID
	if p, _ = get("GlobalId", strconv.FormatInt(gid, 10)); p.Total != 1 || p.LicenseKeys[0].GlobalID != gid {
		t.Errorf("GlobalId lookup = %+v", p)
	}
	if _, body = get("SearchQuery", "Period >"); body != `{"result":1,"message":"The search query causes problems. Please check that it follows the standard: https://help.cryptolens.io/web-interface/linq-search-product"}` {
		t.Errorf("bad query: %s", body)
	}
	if _, body = get("OrderBy", "Nonsense"); body != `{"result":1,"message":"The 'order by' field causes problems. Please check the remarks section for this method."}` {
		t.Errorf("bad order by: %s", body)
	}
}

func sorted(s []string) []string {
	sort.Strings(s)
	return s
}
