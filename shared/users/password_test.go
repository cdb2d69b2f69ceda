package users

import (
	"crypto/rand"
	"strings"
	"testing"
)

func TestHasherRoundTrip(t *testing.T) {
	h := NewHasher(TestParams, rand.Reader)
	enc, err := h.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if want := "$argon2id$v=19$m=64,t=1,p=1$"; !strings.HasPrefix(enc, want) {
		t.Errorf("hash %q, want prefix %q", enc, want)
	}
	tests := []struct {
		password string
		want     bool
	}{
		{"correct horse", true},
		{"correct horse ", false},
		{"Correct horse", false},
		{"", false},
		{"correct horsf", false},
	}
	for _, tt := range tests {
		got, err := h.Verify(enc, tt.password)
		if err != nil || got != tt.want {
			t.Errorf("Verify(%q) = %v, %v; want %v, nil", tt.password, got, err, tt.want)
		}
	}
	again, _ := h.Hash("correct horse")
	if again == enc {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}

// TestHasherReadsParamsFromHash checks that a hash keeps verifying after
// the configured parameters change (they are stored with the hash).
func TestHasherReadsParamsFromHash(t *testing.T) {
	old := NewHasher(Params{Time: 2, MemoryKiB: 128, Threads: 2, SaltLen: 8, KeyLen: 16}, rand.Reader)
	enc, err := old.Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	cur := NewHasher(TestParams, rand.Reader)
	if ok, err := cur.Verify(enc, "pw"); !ok || err != nil {
		t.Errorf("Verify with other current params = %v, %v; want true", ok, err)
	}
}

func TestHasherRejectsMalformedHashes(t *testing.T) {
	h := NewHasher(TestParams, rand.Reader)
	good, _ := h.Hash("pw")
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	tests := []struct{ name, enc string }{
		{"empty", ""},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"old version", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key},
		{"zero time", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key},
		{"huge memory", "$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + key},
		{"too little memory", "$argon2id$v=19$m=4,t=1,p=1$" + salt + "$" + key},
		{"zero threads", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key},
		{"bad salt", "$argon2id$v=19$m=64,t=1,p=1$!!$" + key},
		{"short key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$AAAA"},
		{"missing part", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(tt.enc, "pw")
			if ok || err == nil {
				t.Errorf("Verify = %v, %v; want false and an error", ok, err)
			}
		})
	}
}

func TestNewHasherPanicsOnInvalidParams(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for zero params")
		}
	}()
	NewHasher(Params{}, rand.Reader)
}

func TestDefaultParamsAreValid(t *testing.T) {
	h := NewHasher(DefaultParams, rand.Reader)
	if want := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(h.dummy, want) {
		t.Errorf("dummy %q, want prefix %q", h.dummy, want)
	}
}

// BenchmarkVerifyDefault measures one production-cost verification (the
// CPU part of a Login). Run with -tags purego to measure the pure Go code
// that arm64 Lambdas execute.
func BenchmarkVerifyDefault(b *testing.B) {
	h := NewHasher(DefaultParams, rand.Reader)
	enc, err := h.Hash("benchmark password")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ok, _ := h.Verify(enc, "benchmark password"); !ok {
			b.Fatal("no match")
		}
	}
}

func TestNeedsRehash(t *testing.T) {
	cur := NewHasher(TestParams, rand.Reader)
	with := func(f func(p *Params)) string {
		t.Helper()
		p := TestParams
		f(&p)
		enc, err := NewHasher(p, rand.Reader).Hash("pw")
		if err != nil {
			t.Fatal(err)
		}
		return enc
	}
	tests := []struct {
		name string
		enc  string
		want bool
	}{
		{"current params", with(func(*Params) {}), false},
		{"fewer passes", with(func(p *Params) { p.Time = 2 }), true},
		{"other memory", with(func(p *Params) { p.MemoryKiB = 128 }), true},
		{"other lanes", with(func(p *Params) { p.Threads = 2 }), true},
		{"shorter salt", with(func(p *Params) { p.SaltLen = 8 }), true},
		{"longer key", with(func(p *Params) { p.KeyLen = 64 }), true},
		{"malformed", "$argon2id$v=19$m=64,t=1,p=1$bad", false},
	}
	for _, tt := range tests {
		if got := cur.NeedsRehash(tt.enc); got != tt.want {
			t.Errorf("%s: NeedsRehash(%q) = %v, want %v", tt.name, tt.enc, got, tt.want)
		}
	}
}
