package signing_test

import (
	"bufio"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyturn/keyturn/shared/signing"
)

// conformanceDir returns ../shared/conformance next to the repository root
// (the directory holding go.mod), skipping the test when it is absent.
func conformanceDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
	conf := filepath.Join(dir, "..", "shared", "conformance")
	if _, err := os.Stat(conf); err != nil {
		t.Skipf("conformance data not available: %v", err)
	}
	return conf
}

// TestCapturedCryptolensResponses checks ParseXML and Verify against real
// Cryptolens Activate responses: the signature is PKCS#1 v1.5 SHA-256 over
// the base64-decoded licenseKey bytes.
func TestCapturedCryptolensResponses(t *testing.T) {
	dir := conformanceDir(t)
	b, err := os.ReadFile(filepath.Join(dir, "captured-activate-pubkey.json"))
	if err != nil {
		t.Fatal(err)
	}
	var key struct {
		RSAPubKeyXML string `json:"rsaPubKeyXml"`
	}
	if err := json.Unmarshal(b, &key); err != nil {
		t.Fatal(err)
	}
	pub, err := signing.ParseXML(key.RSAPubKeyXML)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pub.N.BitLen(), 2048; got != want {
		t.Errorf("captured key has %d bits, want %d", got, want)
	}
	if got := signing.XML(pub); got != key.RSAPubKeyXML {
		t.Errorf("XML(ParseXML(captured)) = %s, want it byte-identical", got)
	}

	f, err := os.Open(filepath.Join(dir, "captured-activate-responses.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	verified := 0
	for sc.Scan() {
		var line struct {
			File        string `json:"file"`
			RawResponse string `json:"rawResponse"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		var resp struct {
			LicenseKey string `json:"licenseKey"`
			Signature  string `json:"signature"`
			Result     int    `json:"result"`
		}
		if err := json.Unmarshal([]byte(line.RawResponse), &resp); err != nil || resp.Result != 0 || resp.LicenseKey == "" {
			continue // an error response: nothing signed
		}
		msg, err := base64.StdEncoding.DecodeString(resp.LicenseKey)
		if err != nil {
			t.Fatalf("%s: licenseKey: %v", line.File, err)
		}
		sig, err := base64.StdEncoding.DecodeString(resp.Signature)
		if err != nil {
			t.Fatalf("%s: signature: %v", line.File, err)
		}
		if err := signing.Verify(pub, crypto.SHA256, msg, sig); err != nil {
			t.Errorf("%s: captured signature does not verify: %v", line.File, err)
		}
		verified++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if verified == 0 {
		t.Fatal("no signed response found")
	}
	t.Logf("verified %d captured responses", verified)
}
