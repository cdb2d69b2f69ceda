package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyturn/keyturn/shared/apierr"
)

// TestTokenInputRefusesAmbiguousKeyLock: the CLI refuses a key lock that
// names no single key before calling the admin API.
func TestTokenInputRefusesAmbiguousKeyLock(t *testing.T) {
	tests := []struct {
		args []string
		want error
	}{
		{[]string{"-key-lock", "1"}, apierr.AmbiguousKeyLock},
		{[]string{"-key-lock", "1", "-product-lock", "3"}, nil},
		{[]string{"-key-lock", "-1"}, nil},
		{nil, nil},
	}
	for _, tt := range tests {
		in, err := tokenInput(tt.args)
		if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
			t.Errorf("tokenInput(%q) = %v, want %v", tt.args, err, tt.want)
		}
		if err == nil && in["keyLock"] == nil {
			t.Errorf("tokenInput(%q) = %v: no keyLock", tt.args, in)
		}
	}
}

// TestStripeSetReadsSecretsFromFiles: "stripe set" sends the keys from the
// files named by flags (never from the command line) in the body of PUT
// .../stripe, and prints the answer.
func TestStripeSetReadsSecretsFromFiles(t *testing.T) {
	var got struct {
		method, path string
		body         map[string]string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.method, got.path = r.Method, r.URL.Path
		_ = json.NewDecoder(r.Body).Decode(&got.body)
		_, _ = io.WriteString(w, `{"configured":true}`)
	}))
	defer srv.Close()
	dir := t.TempDir()
	keyFile, hookFile := filepath.Join(dir, "key"), filepath.Join(dir, "hook")
	_ = os.WriteFile(keyFile, []byte("sk_test_fromfile\n"), 0o600)
	_ = os.WriteFile(hookFile, []byte("whsec_fromfile\n"), 0o600)
	t.Setenv("KEYTURN_ADMIN_SECRET", "admin")
	var out strings.Builder
	err := run([]string{"-url", srv.URL, "stripe", "set", "3", "-secret-key-file", keyFile, "-webhook-secret-file", hookFile}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if got.method != "PUT" || got.path != "/admin/accounts/3/stripe" || got.body["secretKey"] != "sk_test_fromfile" || got.body["webhookSecret"] != "whsec_fromfile" {
		t.Errorf("request %s %s %v", got.method, got.path, got.body)
	}
	if !strings.Contains(out.String(), `"configured": true`) {
		t.Errorf("printed %q", out.String())
	}
	t.Setenv("STRIPE_SECRET_KEY", "")
	if err := run([]string{"-url", srv.URL, "stripe", "set", "3"}, &out); err == nil {
		t.Error("stripe set without a key: no error")
	}
}
