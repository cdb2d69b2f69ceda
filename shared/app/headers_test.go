package app_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/keyturn/keyturn/shared/config"
)

// activationIP activates machine mid with the given request headers and
// returns the IP the signed license records for it.
func activationIP(t *testing.T, e *env, f fixture, k, mid string, header ...string) string {
	t.Helper()
	p := url.Values{"token": {f.token}, "ProductId": {strconv.FormatInt(f.product, 10)}, "Key": {k},
		"MachineCode": {mid}, "Sign": {"true"}, "SignMethod": {"1"}}
	_, body := e.call("POST", "/api/key/Activate", p, header...)
	var r signedResponse
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.Result != 0 {
		t.Fatalf("Activate = %s", body)
	}
	js, _ := base64.StdEncoding.DecodeString(r.LicenseKey)
	var lic struct{ ActivatedMachines []struct{ Mid, IP string } }
	_ = json.Unmarshal(js, &lic)
	for _, m := range lic.ActivatedMachines {
		if m.Mid == mid {
			return m.IP
		}
	}
	t.Fatalf("machine %s not in %s", mid, js)
	return ""
}

// TestHeadersAreNotTrusted: the activation IP is the socket peer, not a
// client-sent X-Forwarded-For (unless the peer is a configured trusted
// proxy), and customer portal links, which carry the customer secret, are
// built on KEYTURN_PUBLIC_URL only, never on Host or X-Forwarded-Host.
func TestHeadersAreNotTrusted(t *testing.T) {
	spoof := []string{"X-Forwarded-For", "9.9.9.9", "X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "http", "Host", "evil.example"}

	e, f, _ := activateEnv(t)
	k := e.createKey(f)
	if ip := activationIP(t, e, f, k, "m1", spoof...); ip != "127.0.0.1" {
		t.Errorf("activation IP with a spoofed X-Forwarded-For = %q, want the peer 127.0.0.1", ip)
	}
	link := func(e *env, f fixture, method string, kv ...string) (string, bool) {
		p := url.Values{"token": {f.token}}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Set(kv[i], kv[i+1])
		}
		_, body := e.call("POST", "/api/customer/"+method, p, spoof...)
		var r struct {
			PortalLink *string `json:"portalLink"`
			Secret     string  `json:"secret"`
			Result     int     `json:"result"`
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil || r.Result != 0 || r.Secret == "" {
			t.Fatalf("%s = %s", method, body)
		}
		if r.PortalLink == nil {
			return "", false
		}
		return *r.PortalLink, true
	}
	add := []string{"Name", "A", "Email", "a@example.com", "CompanyName", "A", "EnableCustomerAssociation", "true"}
	if got, ok := link(e, f, "AddCustomer", add...); !ok || !strings.HasPrefix(got, testPublicURL+"/portal/customer?") {
		t.Errorf("AddCustomer portal link with spoofed host headers = %q, want one on %s", got, testPublicURL)
	}

	// Behind a trusted proxy (here the test client itself), the proxy's
	// X-Forwarded-For names the client.
	proxied := newEnvWith(t, envOptions{env: map[string]string{config.EnvTrustedProxies: "127.0.0.0/8, ::1"}})
	pf := proxied.setup("acme", "*")
	proxied.mustAdmin("POST", "/admin/accounts/"+strconv.FormatInt(pf.account, 10)+"/signing-keys", nil, nil)
	pk := proxied.createKey(pf)
	if ip := activationIP(t, proxied, pf, pk, "m1", "X-Forwarded-For", "203.0.113.1, 198.51.100.4"); ip != "198.51.100.4" {
		t.Errorf("activation IP behind a trusted proxy = %q, want 198.51.100.4", ip)
	}

	// Without KEYTURN_PUBLIC_URL no link is built at all; the secret is
	// still returned and can still be replaced.
	bare := newEnvWith(t, envOptions{env: map[string]string{config.EnvPublicURL: ""}})
	bf := bare.setup("acme", "*")
	if got, ok := link(bare, bf, "AddCustomer", add...); ok {
		t.Errorf("AddCustomer without a public URL returned portal link %q", got)
	}
	var id struct{ CustomerID int64 }
	_ = json.Unmarshal([]byte(bare.post("customer/AddCustomer", "token", bf.token, "Name", "B", "Email", "b@example.com", "CompanyName", "B")), &id)
	if got, ok := link(bare, bf, "EditCustomer", "CustomerId", strconv.FormatInt(id.CustomerID, 10), "Secret", "true"); ok {
		t.Errorf("EditCustomer Secret=true without a public URL returned portal link %q", got)
	}
}
