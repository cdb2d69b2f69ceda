package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func load(vars map[string]string) (Config, error) {
	base := map[string]string{EnvTable: "t", EnvSigningMode: SigningLocal, EnvLocalKEKFile: "/tmp/kek"}
	for k, v := range vars {
		base[k] = v
	}
	return Load(func(k string) string { return base[k] })
}

func TestTrustedProxies(t *testing.T) {
	tests := []struct {
		raw     string
		want    []netip.Prefix
		problem string
	}{
		{"", nil, ""},
		{"10.0.0.0/8", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, ""},
		{" 10.1.2.3/8 , 192.0.2.1 ,2001:db8::/32,", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"),
			netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("2001:db8::/32")}, ""},
		{"::ffff:192.0.2.1", []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")}, ""},
		{"10.0.0.0/8,example.com", nil, `"example.com" is not a CIDR or an IP address`},
		{"10.0.0.0/33", nil, EnvTrustedProxies},
	}
	for _, tt := range tests {
		c, err := load(map[string]string{EnvTrustedProxies: tt.raw})
		if tt.problem != "" {
			if err == nil || !strings.Contains(err.Error(), tt.problem) {
				t.Errorf("%q: error = %v, want one mentioning %s", tt.raw, err, tt.problem)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(c.TrustedProxies, tt.want) {
			t.Errorf("%q: TrustedProxies = %v, %v; want %v", tt.raw, c.TrustedProxies, err, tt.want)
		}
	}
}

func TestRequestTimeout(t *testing.T) {
	tests := []struct {
		raw  string
		want time.Duration
		ok   bool
	}{
		{"", DefaultRequestTimeout, true},
		{"8s", 8 * time.Second, true},
		{"250ms", 250 * time.Millisecond, true},
		{"0s", 0, false},
		{"-1s", 0, false},
		{"8", 0, false},
		{"16m", 0, false},
	}
	for _, tt := range tests {
		c, err := load(map[string]string{EnvRequestTimeout: tt.raw})
		if (err == nil) != tt.ok || tt.ok && c.RequestTimeout != tt.want {
			t.Errorf("%q: RequestTimeout = %v, %v; want %v, ok=%v", tt.raw, c.RequestTimeout, err, tt.want, tt.ok)
		}
	}
}

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
