package config

import (
	"strings"
	"testing"
)

func TestFunctionMemory(t *testing.T) {
	tests := []struct {
		value   string
		want    int
		wantErr bool
	}{
		{"", 0, false},
		{"1769", 1769, false},
		{"0", 0, true},
		{"lots", 0, true},
	}
	for _, tt := range tests {
		env := map[string]string{EnvTable: "t", EnvSigningMode: SigningLocal, EnvLocalKEKFile: "kek", EnvFunctionMemory: tt.value}
		c, err := Load(func(k string) string { return env[k] })
		if (err != nil) != tt.wantErr || err != nil && !strings.Contains(err.Error(), EnvFunctionMemory) {
			t.Errorf("%q: err = %v, want error %v", tt.value, err, tt.wantErr)
		}
		if err == nil && c.FunctionMemoryMB != tt.want {
			t.Errorf("%q: FunctionMemoryMB = %d, want %d", tt.value, c.FunctionMemoryMB, tt.want)
		}
	}
}

// TestStripeEndpoint: the Stripe API override is an http(s) URL without a
// trailing slash; anything else is reported.
func TestStripeEndpoint(t *testing.T) {
	tests := []struct {
		value, want string
		wantErr     bool
	}{
		{"", "", false},
		{"http://127.0.0.1:12111/", "http://127.0.0.1:12111", false},
		{"https://stripe.example", "https://stripe.example", false},
		{"127.0.0.1:12111", "", true},
	}
	for _, tt := range tests {
		env := map[string]string{EnvTable: "t", EnvSigningMode: SigningLocal, EnvLocalKEKFile: "kek", EnvStripeEndpoint: tt.value}
		c, err := Load(func(k string) string { return env[k] })
		if (err != nil) != tt.wantErr || err != nil && !strings.Contains(err.Error(), EnvStripeEndpoint) {
			t.Errorf("%q: err = %v, want error %v", tt.value, err, tt.wantErr)
		}
		if err == nil && c.StripeEndpoint != tt.want {
			t.Errorf("%q: StripeEndpoint = %q, want %q", tt.value, c.StripeEndpoint, tt.want)
		}
	}
}
