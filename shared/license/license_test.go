package license

import (
	"bufio"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/signing"
	"github.com/keyturn/keyturn/shared/wire"
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

func signer(t *testing.T) signing.Signer {
	t.Helper()
	keyOnce.Do(func() {
		var err error
		if testKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return signing.NewRSASigner(testKey)
}

func date(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// TestLinqSignKnownVector checks WIRE-COMPAT section 6's vector.
func TestLinqSignKnownVector(t *testing.T) {
	l := License{ProductID: 3349, ID: 4, Key: "LEPWV-FOTPG-MWBEO-FBFPS", Created: date("2015-08-27T00:00:00"),
		Expires: date("2015-09-26T00:00:00"), Period: 30, GlobalID: 24966, MaxNoOfMachines: -1}
	got := LinqSignText(l, date("2016-06-11T09:23:28"))
	want := "3349,4,LEPWV-FOTPG-MWBEO-FBFPS,2015-08-27T00:00:00,2015-09-26T00:00:00,30,False,False,False,False,False,False,False,False,,False,24966,,[],False,-1,,[],2016-06-11T09:23:28,"
	if got != want {
		t.Errorf("LinqSignText =\n%s\nwant\n%s", got, want)
	}
	// The signature is over the UTF-16LE text.
	s := signer(t)
	ll, err := LinqSigned(context.Background(), s, l, 1, date("2016-06-11T09:23:28"))
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := base64.StdEncoding.DecodeString(*ll.Signature)
	if err := signing.Verify(s.Public(), crypto.SHA256, utf16le(want), sig); err != nil {
		t.Errorf("LinqSign signature does not verify over UTF-16LE text: %v", err)
	}
	if ll.Created != "2015-08-27T00:00:00" || *ll.SignDate != "2016-06-11T09:23:28" {
		t.Errorf("wire.LinqLicense dates = %s / %s", ll.Created, *ll.SignDate)
	}
}

func sharedDir(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root not found")
		}
		dir = parent
	}
	shared := filepath.Join(dir, "..", "shared", "conformance")
	if _, err := os.Stat(shared); err != nil {
		t.Skip("../shared/conformance not present")
	}
	return shared
}

// TestCapturedResponses verifies every captured Activate response with
// the captured key and checks that LicenseJSON has exactly their shape.
func TestCapturedResponses(t *testing.T) {
	dir := sharedDir(t)
	var pk struct {
		RsaPubKeyXML string `json:"rsaPubKeyXml"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "captured-activate-pubkey.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pk); err != nil {
		t.Fatal(err)
	}
	pub, err := signing.ParseXML(pk.RsaPubKeyXML)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "captured-activate-responses.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		var line struct {
			ProductID   int64  `json:"productId"`
			Key         string `json:"key"`
			MachineCode string `json:"machineCode"`
			RawResponse string `json:"rawResponse"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		var res struct {
			LicenseKey string `json:"licenseKey"`
			Signature  string `json:"signature"`
		}
		if err := json.Unmarshal([]byte(line.RawResponse), &res); err != nil {
			t.Fatal(err)
		}
		captured, err := VerifyLicense(pub, res.LicenseKey, res.Signature)
		if err != nil {
			t.Errorf("captured response %d does not verify: %v", n, err)
			continue
		}
		// Build the same kind of license with our types and compare shape.
		var c struct {
			Customer    json.RawMessage
			DataObjects []json.RawMessage
			Notes       *string
		}
		_ = json.Unmarshal(captured, &c)
		l := License{ProductID: line.ProductID, ID: 1, Key: line.Key, Notes: c.Notes,
			Machines: []Activation{{Mid: line.MachineCode, IP: "192.0.2.1", Time: time.Unix(1565811490, 0)}}}
		if string(c.Customer) != "null" {
			e, cn := "e@example.com", "Co"
			l.Customer = &Customer{ID: 1, Name: "n", Email: &e, CompanyName: &cn, Created: time.Unix(1, 0)}
			var cc map[string]any
			_ = json.Unmarshal(c.Customer, &cc)
			if cc["Email"] == nil {
				l.Customer.Email = nil
			}
			if cc["CompanyName"] == nil {
				l.Customer.CompanyName = nil
			}
		}
		for range c.DataObjects {
			l.DataObjects = append(l.DataObjects, DataObject{ID: 1, Name: "x"})
		}
		ours, err := LicenseJSON(l, 1, time.Unix(1570460815, 0))
		if err != nil {
			t.Fatal(err)
		}
		if err := SameShape(captured, ours); err != nil {
			t.Errorf("response %d: shape differs: %v\ncaptured %s\nours     %s", n, err, captured, ours)
		}
		n++
	}
	if n != 64 {
		t.Errorf("checked %d captured responses, want 64", n)
	}
}

func TestSignedLicenseModels(t *testing.T) {
	s := signer(t)
	notes := "n"
	l := License{ProductID: 3, ID: 7, Key: "AAAAA-BBBBB-CCCCC-DDDDD", Created: time.Unix(100, 0), Expires: time.Unix(200, 0), Notes: &notes,
		Machines: []Activation{{Mid: "pc", IP: "192.0.2.1", Time: time.Unix(150, 0), FriendlyName: "alice"},
			{Mid: "f1", Floating: true, FloatingExpires: time.Unix(300, 0)},
			{Mid: "f2", Floating: true, Overdraft: true, FloatingExpires: time.Unix(300, 0)}}}
	tests := []struct {
		model       int
		machineKeys string
		reseller    bool
	}{
		{1, `{"Mid":"pc","IP":"192.0.2.1","Time":150}`, false},
		{2, `{"Mid":"pc","IP":"192.0.2.1","Time":150,"FriendlyName":"alice"}`, false},
		{3, `{"Mid":"pc","IP":"192.0.2.1","Time":150,"FriendlyName":"alice","FloatingExpires":0}`, true},
	}
	for _, tt := range tests {
		lk, sig, err := SignedLicense(context.Background(), s, l, tt.model, time.Unix(400, 0))
		if err != nil {
			t.Fatal(err)
		}
		js, err := VerifyLicense(s.Public(), lk, sig)
		if err != nil {
			t.Fatalf("model %d: %v", tt.model, err)
		}
		got := string(js)
		if !strings.Contains(got, `"ActivatedMachines":[`+tt.machineKeys) {
			t.Errorf("model %d machines: %s", tt.model, got)
		}
		if strings.Contains(got, `"Reseller":null`) != tt.reseller {
			t.Errorf("model %d: Reseller present = %v, want %v", tt.model, !tt.reseller, tt.reseller)
		}
		if !strings.Contains(got, `"Mid":"floating:f1"`) || !strings.Contains(got, `"Mid":"floating-overdraft:f2"`) {
			t.Errorf("model %d: floating prefixes missing: %s", tt.model, got)
		}
		if !strings.HasPrefix(got, `{"ProductId":3,"ID":7,"Key":"AAAAA-BBBBB-CCCCC-DDDDD","Created":100,"Expires":200,"Period":0,"F1":false`) ||
			!strings.HasSuffix(got, `"SignDate":400}`) || !strings.Contains(got, `"AllowedMachines":"","DataObjects":[]`) {
			t.Errorf("model %d layout: %s", tt.model, got)
		}
	}
	if _, err := VerifyLicense(s.Public(), base64.StdEncoding.EncodeToString([]byte("{}")), base64.StdEncoding.EncodeToString([]byte("bad"))); err == nil {
		t.Error("VerifyLicense accepted a bad signature")
	}
}

func TestMask(t *testing.T) {
	notes, allowed := "n", "a\nb"
	full := License{ID: 1, Key: "K", Notes: &notes, GlobalID: 2, Customer: &Customer{ID: 3}, MaxNoOfMachines: 4,
		AllowedMachines: &allowed, DataObjects: []DataObject{{ID: 5}}, Reseller: &Reseller{ID: 6},
		Machines: []Activation{{Mid: "a"}, {Mid: "b"}, {Mid: "c", Floating: true}}}
	tests := []struct {
		bit   int64
		check func(License) bool
	}{
		{HideID, func(l License) bool { return l.ID == 0 && l.Key == "K" }},
		{HideKey, func(l License) bool { return l.Key == "" && l.ID == 1 }},
		{HideNotes, func(l License) bool { return l.Notes == nil }},
		{HideGlobalID, func(l License) bool { return l.GlobalID == 0 }},
		{HideCustomer, func(l License) bool { return l.Customer == nil }},
		{HideActivatedMachines, func(l License) bool { return len(l.Machines) == 1 && l.Machines[0].Mid == "b" }},
		{HideMaxNoOfMachines, func(l License) bool { return l.MaxNoOfMachines == 0 }},
		{HideAllowedMachines, func(l License) bool { return l.AllowedMachines == nil }},
		{HideDataObjects, func(l License) bool { return len(l.DataObjects) == 0 && l.DataObjects != nil }},
		{HideReseller, func(l License) bool { return l.Reseller == nil }},
		{0, func(l License) bool { return len(l.Machines) == 3 && l.Reseller != nil }},
	}
	for _, tt := range tests {
		if got := Mask(full, tt.bit, "b"); !tt.check(got) {
			t.Errorf("Mask(%d) = %+v", tt.bit, got)
		}
	}
	if got := Mask(full, HideActivatedMachines, "floating:c"); len(got.Machines) != 1 || got.Machines[0].Mid != "c" {
		t.Errorf("hidden machines with a floating activating machine = %+v", got.Machines)
	}
	if EffectiveFields(4, 0) != 4 || EffectiveFields(4, 32) != 32 {
		t.Error("EffectiveFields: the feature lock must win when set")
	}
}

func TestMetadata(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fd := catalog.DefaultFeatureDefinitions()
	fd.Features[0].Type = catalog.FeatureTimeLimited
	fd.Features[1].Type = catalog.FeatureTrial
	tests := []struct {
		name string
		l    License
		want wire.LicenseStatus
	}{
		{"plain", License{Expires: now.Add(-time.Hour)}, wire.LicenseStatus{IsValid: true}},
		{"time-limited, 3.5 days left", License{Features: [8]bool{true}, Expires: now.Add(84 * time.Hour)},
			wire.LicenseStatus{IsValid: true, TimeLimited: true, TimeLeft: 3}},
		{"expired", License{Features: [8]bool{true}, Expires: now}, wire.LicenseStatus{ReasonForInvalidity: 1, TimeLimited: true}},
		{"blocked trial", License{Features: [8]bool{false, true}, Block: true}, wire.LicenseStatus{ReasonForInvalidity: 2, Trial: true}},
	}
	for _, tt := range tests {
		if got := ComputeMetadata(tt.l, fd, now).LicenseStatus; got != tt.want {
			t.Errorf("%s: status = %+v, want %+v", tt.name, got, tt.want)
		}
	}
	l := License{Machines: []Activation{{Mid: "a"}, {Mid: "b", Floating: true, FloatingExpires: now.Add(time.Minute)},
		{Mid: "c", Floating: true, FloatingExpires: now.Add(-time.Minute)}}}
	m := ComputeMetadata(l, fd, now)
	if m.ActivatedMachines != 1 || m.UsedFloatingMachines != 1 {
		t.Errorf("counts = %d, %d; want 1, 1", m.ActivatedMachines, m.UsedFloatingMachines)
	}
	s := signer(t)
	sig, err := SignMetadata(context.Background(), s, m, now)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(sig)
	var sm struct {
		Data, Signature string
		Date            int64
		Version         int
	}
	if err := json.Unmarshal(raw, &sm); err != nil || sm.Version != 1 || sm.Date != now.Unix() {
		t.Fatalf("signed metadata = %s, %v", raw, err)
	}
	data, _ := base64.StdEncoding.DecodeString(sm.Data)
	sigBytes, _ := base64.StdEncoding.DecodeString(sm.Signature)
	if err := signing.Verify(s.Public(), crypto.SHA512, data, sigBytes); err != nil {
		t.Errorf("metadata signature (SHA-512) does not verify: %v", err)
	}
	if want := `{"activatedMachines":1,"licenseStatus":{"isValid":true,"reasonForInvalidity":0,"trial":false,"timeLimited":false,"timeLeft":0},"usedFloatingMachines":1}`; string(data) != want {
		t.Errorf("metadata Data = %s\nwant %s", data, want)
	}
	if got := MaskMetadata(m, HideMetaActivatedMachines|HideMetaUsedFloatingMachines); got.ActivatedMachines != 0 || got.UsedFloatingMachines != 0 {
		t.Errorf("MaskMetadata = %+v", got)
	}
}

func TestUnsigned(t *testing.T) {
	l := License{ProductID: 9, ID: 1, Key: "K", Created: date("2015-08-27T00:00:00"), Machines: []Activation{{Mid: "m", Time: date("2016-01-01T00:00:00")}}}
	b, err := marshal(Unsigned(l, 1))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); !strings.HasPrefix(got, `{"productId":9,"id":1,"key":"K","created":"2015-08-27T00:00:00"`) ||
		!strings.Contains(got, `"activatedMachines":[{"mid":"m","ip":"","time":"2016-01-01T00:00:00"}]`) ||
		!strings.HasSuffix(got, `"signDate":null,"signature":null}`) {
		t.Errorf("Unsigned = %s", got)
	}
}
