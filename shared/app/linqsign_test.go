package app_test

import (
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/keyturn/keyturn/shared/signing"
	"github.com/keyturn/keyturn/shared/wire"
)

// linqResponse is a SignMethod=0 answer as clients decode it.
type linqResponse struct {
	ProductID  int64            `json:"productId"`
	LicenseKey wire.LinqLicense `json:"licenseKey"`
	Result     int              `json:"result"`
	Message    string           `json:"message"`
}

// clientLinqText rebuilds the signed text from the JSON object the way the
// .NET client does (WIRE-COMPAT section 6), independently of the service's
// own LinqSignText.
func clientLinqText(r linqResponse) string {
	l := r.LicenseKey
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	b := func(v bool) string {
		if v {
			return "True"
		}
		return "False"
	}
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	parts := []string{i(r.ProductID), i(l.ID), l.Key, l.Created, l.Expires, i(l.Period),
		b(l.F1), b(l.F2), b(l.F3), b(l.F4), b(l.F5), b(l.F6), b(l.F7), b(l.F8), s(l.Notes), b(l.Block), i(l.GlobalID)}
	if c := l.Customer; c != nil {
		parts = append(parts, c.Name+","+s(c.Email)+","+s(c.CompanyName)+","+c.Created)
	} else {
		parts = append(parts, "")
	}
	m := "["
	for _, a := range l.ActivatedMachines {
		m += a.Mid + "," + a.IP + "," + a.Time + ","
	}
	d := "["
	for _, o := range l.DataObjects {
		d += i(o.ID) + "," + o.Name + "," + o.StringValue + "," + i(o.IntValue) + ","
	}
	parts = append(parts, m+"]", b(l.TrialActivation), i(l.MaxNoOfMachines), s(l.AllowedMachines), d+"]", s(l.SignDate), "")
	return strings.Join(parts, ",")
}

// verifyLinq checks a SignMethod=0 answer's signature as a client does.
func verifyLinq(t *testing.T, pub *rsa.PublicKey, body string) linqResponse {
	t.Helper()
	var r linqResponse
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.Result != 0 || r.LicenseKey.Signature == nil {
		t.Fatalf("LinqSign answer = %s", body)
	}
	sig, err := base64.StdEncoding.DecodeString(*r.LicenseKey.Signature)
	if err != nil {
		t.Fatal(err)
	}
	u := utf16.Encode([]rune(clientLinqText(r)))
	text := make([]byte, 2*len(u))
	for j, c := range u {
		text[2*j], text[2*j+1] = byte(c), byte(c>>8)
	}
	if err := signing.Verify(pub, crypto.SHA256, text, sig); err != nil {
		t.Errorf("LinqSign signature does not verify over the client's text: %v\n%s", err, body)
	}
	return r
}

// TestLinqSignForgery replays the forgery of SignMethod=0 licenses: a
// machine code that shifts field boundaries is refused before anything is
// stored (no seat used), whatever the SignMethod; licenses whose text would
// not split in exactly one way are not signed with SignMethod=0 (the
// documented refusal) but still are with SignMethod=1 or unsigned; genuine
// LinqSign answers still verify as clients rebuild them.
func TestLinqSignForgery(t *testing.T) {
	e, f, xml := activateEnv(t)
	pub, err := signing.ParseXML(xml)
	if err != nil {
		t.Fatal(err)
	}
	pid := strconv.FormatInt(f.product, 10)
	k := e.createKey(f, "MaxNoOfMachines", "1", "Notes", "plain notes")
	const attack = "A,9.9.9.9,2026-11-26T00:00:00,B"
	refusedMid := `{"result":1,"message":"The machine code cannot contain ',', '[' or ']' or have the form of a date (yyyy-MM-ddTHH:mm:ss)."}`
	for _, method := range []string{"0", "1", "LinqSign"} {
		got := e.post("key/Activate", "token", f.token, "ProductId", pid, "Key", k, "MachineCode", attack, "Sign", "true", "SignMethod", method)
		if got != refusedMid {
			t.Errorf("Activate SignMethod=%s with %q = %s, want %s", method, attack, got, refusedMid)
		}
	}
	for _, mid := range []string{"[x", "x]", "a,b", "2026-11-26T00:00:00"} {
		if got := e.post("key/CreateTrialKey", "token", f.token, "ProductId", pid, "MachineCode", mid); got != refusedMid {
			t.Errorf("CreateTrialKey %q = %s, want %s", mid, got, refusedMid)
		}
	}
	if r := e.record(f, k); len(r.Nodes) != 0 || len(r.Seats) != 0 {
		t.Fatalf("refused activations used a seat: %+v", r.Nodes)
	}
	// The one seat is still free for a genuine machine, and its LinqSign
	// license verifies.
	body := e.post("key/Activate", "token", f.token, "ProductId", pid, "Key", k, "MachineCode", "3f2a9c", "Sign", "true", "SignMethod", "0", "ModelVersion", "3")
	if r := verifyLinq(t, pub, body); len(r.LicenseKey.ActivatedMachines) != 1 || r.LicenseKey.ActivatedMachines[0].Mid != "3f2a9c" {
		t.Errorf("genuine activation = %s", body)
	}

	// Vendor data that would make the text ambiguous: the license is not
	// signed with SignMethod=0, and is with SignMethod=1 or unsigned.
	refused := `{"result":1,"message":"This license cannot be signed with SignMethod=0 because its signed text would be ambiguous. Use SignMethod=1."}`
	getKey := func(k string, kv ...string) string {
		return e.post("key/GetKey", append([]string{"token", f.token, "ProductId", pid, "Key", k}, kv...)...)
	}
	comma := e.createKey(f, "Notes", "Acme, Inc.")
	if got := getKey(comma, "Sign", "true"); got != refused {
		t.Errorf("LinqSign of notes with a comma = %s, want %s", got, refused)
	}
	if got := getKey(comma, "Sign", "true", "SignMethod", "1"); !strings.Contains(got, `"signature":"`) {
		t.Errorf("StringSign of notes with a comma = %s", got)
	}
	if got := getKey(comma, "Sign", "false"); !strings.Contains(got, `"notes":"Acme, Inc."`) || !strings.Contains(got, `"signature":null`) {
		t.Errorf("unsigned LinqSign of notes with a comma = %s", got)
	}
	// Hiding the field (FieldsToReturn, Notes = 4) makes it signable again.
	verifyLinq(t, pub, getKey(comma, "Sign", "true", "FieldsToReturn", "4"))

	objects := e.createKey(f)
	for _, name := range []string{"seats", "usage"} {
		if got := e.post("data/AddDataObjectToKey", "token", f.token, "ProductId", pid, "Key", objects, "Name", name, "IntValue", "5"); !strings.Contains(got, `"result":0`) {
			t.Fatalf("AddDataObjectToKey = %s", got)
		}
		if name == "seats" {
			verifyLinq(t, pub, getKey(objects, "Sign", "true"))
		}
	}
	if got := getKey(objects, "Sign", "true"); got != refused {
		t.Errorf("LinqSign of two data objects = %s, want %s", got, refused)
	}
	verifyLinq(t, pub, getKey(objects, "Sign", "true", "FieldsToReturn", "256"))
	if got := getKey(objects, "Sign", "true", "SignMethod", "StringSign"); !strings.Contains(got, `"signature":"`) {
		t.Errorf("StringSign of two data objects = %s", got)
	}
}
