package main

import (
	"errors"
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
