package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/clocktest"
)

// memStore is a hand-written TokenStore fake with call counting.
type memStore struct {
	mu    sync.Mutex
	m     map[string]Token
	gets  int
	putFn func(Token) error
}

func newMemStore() *memStore { return &memStore{m: map[string]Token{}} }

func (s *memStore) GetToken(_ context.Context, id string) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	t, ok := s.m[id]
	if !ok {
		return Token{}, apierr.NotFound
	}
	return t, nil
}

func (s *memStore) PutToken(_ context.Context, t Token) error {
	if s.putFn != nil {
		if err := s.putFn(t); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[t.ID]; ok {
		return apierr.Conflict
	}
	s.m[t.ID] = t
	return nil
}

func (s *memStore) ListTokens(_ context.Context, accountID int64) ([]Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Token
	for _, t := range s.m {
		if t.AccountID == accountID {
			out = append(out, t)
		}
	}
	return out, nil
}

func (s *memStore) DeleteToken(_ context.Context, accountID int64, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.m[id]; !ok || t.AccountID != accountID {
		return apierr.NotFound
	}
	delete(s.m, id)
	return nil
}

func TestEncodeDecode(t *testing.T) {
	raw := Encode("7791", "JEzBa7MQCINcJgRAspewBvvR83Fz+PbsCT9mrEoQ")
	// The shape of a real Cryptolens token.
	if want := "WyI3NzkxIiwiSkV6QmE3TVFDSU5jSmdSQXNwZXdCdnZSODNGeitQYnNDVDltckVvUSJd"; raw != want {
		t.Errorf("Encode = %s, want %s", raw, want)
	}
	id, secret, err := Decode(raw)
	if err != nil || id != "7791" || secret != "JEzBa7MQCINcJgRAspewBvvR83Fz+PbsCT9mrEoQ" {
		t.Errorf("Decode = %q, %q, %v", id, secret, err)
	}
	bad := []string{"", "!!!", base64.StdEncoding.EncodeToString([]byte(`["only-one"]`)),
		base64.StdEncoding.EncodeToString([]byte(`["", "x"]`)), base64.StdEncoding.EncodeToString([]byte(`{"a":1}`))}
	for _, b := range bad {
		if _, _, err := Decode(b); err == nil {
			t.Errorf("Decode(%q): want error", b)
		}
	}
	// '+' turned into ' ' by a form encoder is repaired.
	var withPlus, plusSecret string
	for i := 0; !strings.Contains(withPlus, "+"); i++ {
		plusSecret = strings.Repeat("~", i%7) + "s" + strings.Repeat("z", i/7)
		withPlus = Encode("a", plusSecret)
	}
	if _, s, err := Decode(strings.ReplaceAll(withPlus, "+", " ")); err != nil || s != plusSecret {
		t.Errorf("Decode with spaces = %q, %v", s, err)
	}
}

func TestScope(t *testing.T) {
	s := Scope{Methods: []string{"Activate", "GetKey"}, ProductLock: 3, KeyLock: 9}
	if !s.Allows("activate") || s.Allows("CreateKey") {
		t.Error("Allows: want case-insensitive membership")
	}
	tests := []struct {
		name            string
		scope           Scope
		product, key    int64
		wantProduct     error
		wantKey         error
		wantUnlockedKey error
	}{
		{"no locks", Scope{}, 3, 9, nil, nil, nil},
		{"product lock, its product", Scope{ProductLock: 3}, 3, 9, nil, nil, nil},
		{"product lock, other product", Scope{ProductLock: 3}, 4, 9, apierr.AccessDenied, apierr.AccessDenied, nil},
		{"key lock, its key", Scope{ProductLock: 3, KeyLock: 9}, 3, 9, nil, nil, apierr.AccessDenied},
		{"key lock, other key", Scope{ProductLock: 3, KeyLock: 9}, 3, 8, nil, apierr.AccessDenied, apierr.AccessDenied},
		{"key lock, same id in another product", Scope{ProductLock: 3, KeyLock: 9}, 4, 9, apierr.AccessDenied, apierr.AccessDenied, apierr.AccessDenied},
		// A key lock without a product lock names no key: it reaches nothing.
		{"ambiguous key lock, matching id", Scope{KeyLock: 9}, 3, 9, apierr.AccessDenied, apierr.AccessDenied, apierr.AccessDenied},
		{"ambiguous key lock, other product", Scope{KeyLock: 9}, 4, 9, apierr.AccessDenied, apierr.AccessDenied, apierr.AccessDenied},
		{"negative key lock", Scope{KeyLock: -2}, 1, 1, nil, nil, nil},
	}
	for _, tt := range tests {
		if got := tt.scope.CheckProduct(tt.product); !errors.Is(got, tt.wantProduct) || (got == nil) != (tt.wantProduct == nil) {
			t.Errorf("%s: CheckProduct(%d) = %v, want %v", tt.name, tt.product, got, tt.wantProduct)
		}
		if got := tt.scope.CheckKey(tt.product, tt.key); !errors.Is(got, tt.wantKey) || (got == nil) != (tt.wantKey == nil) {
			t.Errorf("%s: CheckKey(%d, %d) = %v, want %v", tt.name, tt.product, tt.key, got, tt.wantKey)
		}
		if got := tt.scope.RequireUnlockedKey(); (got == nil) != (tt.wantUnlockedKey == nil) {
			t.Errorf("%s: RequireUnlockedKey = %v, want %v", tt.name, got, tt.wantUnlockedKey)
		}
	}
}

// TestIssueRefusesAmbiguousKeyLock: a positive key lock must come with
// the product lock that makes it name one key.
func TestIssueRefusesAmbiguousKeyLock(t *testing.T) {
	st := newMemStore()
	svc := NewService(st, time.Now, rand.Reader, 0)
	tests := []struct {
		name  string
		scope Scope
		want  error
	}{
		{"key lock without product lock", Scope{KeyLock: 1}, apierr.AmbiguousKeyLock},
		{"key lock with product lock", Scope{ProductLock: 2, KeyLock: 1}, nil},
		{"negative key lock alone", Scope{KeyLock: -1}, nil},
		{"no locks", Scope{}, nil},
	}
	for _, tt := range tests {
		_, _, err := svc.Issue(context.Background(), 1, "t", tt.scope, "")
		if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
			t.Errorf("%s: Issue = %v, want %v", tt.name, err, tt.want)
		}
	}
	if len(st.m) != 3 {
		t.Errorf("stored %d tokens, want 3 (the refused scope stores nothing)", len(st.m))
	}
}

func TestIssueAndAuthenticate(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	c := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	svc := NewService(st, c.Now, rand.Reader, 0)

	raw, tok, err := svc.Issue(ctx, 5, "t", Scope{Methods: []string{"getkey", "GetKey", "Activate"}, Expires: c.Now().Add(time.Hour)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(tok.Scope.Methods, ","), "GetKey,Activate"; got != want {
		t.Errorf("methods = %s, want %s (canonical, deduplicated)", got, want)
	}
	id, secret, _ := Decode(raw)
	stored := st.m[id]
	if bytes.Contains(stored.SecretHash, []byte(secret)) || !bytes.Equal(stored.SecretHash, HashSecret(secret)) {
		t.Error("stored token must hold the SHA-256 of the secret, not the secret")
	}

	p, err := svc.Authenticate(ctx, raw)
	if err != nil || p.AccountID != 5 || p.TokenID != id {
		t.Fatalf("Authenticate = %+v, %v", p, err)
	}
	wrongSecret := Encode(id, secret+"x")
	unknown := Encode("nosuchid", secret)
	for name, bad := range map[string]string{"wrong secret": wrongSecret, "unknown id": unknown, "garbage": "xyz"} {
		if _, err := svc.Authenticate(ctx, bad); !errors.Is(err, apierr.Unauthenticated) {
			t.Errorf("%s: err = %v, want Unauthenticated", name, err)
		}
	}
	c.Advance(time.Hour)
	if _, err := svc.Authenticate(ctx, raw); !errors.Is(err, apierr.Unauthenticated) {
		t.Errorf("expired: err = %v, want Unauthenticated", err)
	}

	if _, _, err := svc.Issue(ctx, 5, "t", Scope{Methods: []string{"NoSuchMethod"}}, ""); err == nil {
		t.Error("unknown permission: want error")
	}
}

func TestAuthenticateCache(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	c := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	svc := NewService(st, c.Now, rand.Reader, 30*time.Second)
	raw, _, err := svc.Issue(ctx, 1, "t", Scope{}, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if _, err := svc.Authenticate(ctx, raw); err != nil {
			t.Fatal(err)
		}
	}
	if st.gets != 1 {
		t.Errorf("store reads = %d, want 1 within the cache TTL", st.gets)
	}
	id, secret, _ := Decode(raw)
	if _, err := svc.Authenticate(ctx, Encode(id, secret+"x")); !errors.Is(err, apierr.Unauthenticated) {
		t.Error("a cached token must still check the secret")
	}
	c.Advance(31 * time.Second)
	if _, err := svc.Authenticate(ctx, raw); err != nil || st.gets != 2 {
		t.Errorf("after TTL: err %v, reads %d; want a second read", err, st.gets)
	}
}

func TestIssueRetriesIDConflict(t *testing.T) {
	st := newMemStore()
	calls := 0
	st.putFn = func(Token) error {
		calls++
		if calls == 1 {
			return apierr.Conflict
		}
		return nil
	}
	svc := NewService(st, time.Now, rand.Reader, 0)
	if _, _, err := svc.Issue(context.Background(), 1, "", Scope{}, ""); err != nil || calls != 2 {
		t.Errorf("Issue after one conflict: err %v, attempts %d; want success on attempt 2", err, calls)
	}
}

func TestKeyLock(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	c := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	svc := NewService(st, c.Now, rand.Reader, 0)
	issue := func(scope Scope) Principal {
		t.Helper()
		raw, _, err := svc.Issue(ctx, 3, "parent", scope, "")
		if err != nil {
			t.Fatal(err)
		}
		p, err := svc.Authenticate(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	parent := issue(Scope{Methods: []string{"GetKey"}, ProductLock: 7, KeyLock: -2, FeatureLock: 5})
	stored := len(st.m)
	raw, err := svc.KeyLock(ctx, parent, 7, 1234)
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	want := Scope{Methods: []string{"GetKey"}, ProductLock: 7, KeyLock: 1234, FeatureLock: 5, Expires: c.Now().Add(48 * time.Hour)}
	if p.Scope.KeyLock != want.KeyLock || p.Scope.ProductLock != want.ProductLock || p.Scope.FeatureLock != want.FeatureLock ||
		!p.Scope.Expires.Equal(want.Expires) || !p.Scope.Allows("GetKey") || p.AccountID != 3 {
		t.Errorf("derived scope = %+v, want %+v", p.Scope, want)
	}
	if len(st.m) != stored {
		t.Errorf("KeyLock stored %d tokens, want none", len(st.m)-stored)
	}
	if _, err := svc.KeyLock(ctx, Principal{Scope: Scope{KeyLock: 0}}, 7, 1); !errors.Is(err, apierr.KeyLockNotNegative) {
		t.Errorf("key lock 0: err = %v, want KeyLockNotNegative", err)
	}
	if _, err := svc.KeyLock(ctx, p, 7, 1234); !errors.Is(err, apierr.KeyLockNotNegative) {
		t.Errorf("derived token deriving again: err = %v, want KeyLockNotNegative", err)
	}
	if _, err := svc.KeyLock(ctx, parent, 8, 1); !errors.Is(err, apierr.AccessDenied) {
		t.Errorf("key of another product: err = %v, want AccessDenied", err)
	}
	// Without a product lock, the derived token is locked to the key's
	// product: key ids repeat across products.
	open := issue(Scope{Methods: []string{"GetKey"}, KeyLock: -1, Expires: c.Now().Add(time.Hour)})
	raw, err = svc.KeyLock(ctx, open, 9, 1)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := svc.Authenticate(ctx, raw); err != nil || p.Scope.ProductLock != 9 || p.Scope.KeyLock != 1 || !p.Scope.Expires.Equal(c.Now().Add(time.Hour)) {
		t.Errorf("derived from an unlocked token expiring in an hour: %+v, %v", p.Scope, err)
	}
	// A key lock beyond the 100-year cap does not overflow.
	long := issue(Scope{KeyLock: -1 << 62})
	raw, err = svc.KeyLock(ctx, long, 9, 1)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := svc.Authenticate(ctx, raw); err != nil || !p.Scope.Expires.Equal(c.Now().AddDate(0, 0, maxKeyLockDays)) {
		t.Errorf("derived from key lock -2^62: %+v, %v", p.Scope, err)
	}
}

// TestDerivedTokenTampering: a derived token is refused when its id or
// secret is changed, when it or its parent expired, and when the parent
// was deleted.
func TestDerivedTokenTampering(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	c := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	svc := NewService(st, c.Now, rand.Reader, 0)
	parentRaw, parentTok, err := svc.Issue(ctx, 3, "parent", Scope{Methods: []string{"GetKey"}, ProductLock: 7, KeyLock: -1}, "")
	if err != nil {
		t.Fatal(err)
	}
	parent, err := svc.Authenticate(ctx, parentRaw)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := svc.KeyLock(ctx, parent, 7, 12)
	if err != nil {
		t.Fatal(err)
	}
	id, secret, _ := Decode(raw)
	_, parentSecret, _ := Decode(parentRaw)
	d, ok := parseDerivedID(id)
	if !ok || d.parentID != parentTok.ID || d.productID != 7 || d.keyID != 12 {
		t.Fatalf("derived id %q parses as %+v, %v", id, d, ok)
	}
	other := d
	other.keyID = 13
	later := d
	later.expires = d.expires.Add(24 * time.Hour)
	otherProduct := d
	otherProduct.productID = 8
	flip := []byte(secret)
	flip[0] ^= 1
	tests := []struct {
		name string
		raw  string
	}{
		{"other key, same secret", Encode(other.id(), secret)},
		{"later expiry, same secret", Encode(later.id(), secret)},
		{"other product, same secret", Encode(otherProduct.id(), secret)},
		{"changed secret", Encode(id, string(flip))},
		{"empty-ish secret", Encode(id, "x")},
		{"non-canonical number", Encode(strings.Replace(id, ".12.", ".012.", 1), secret)},
		{"unknown parent", Encode(strings.Replace(id, parentTok.ID, "zzzzzzzzzzzz", 1), secret)},
		{"secret of the parent", Encode(id, parentSecret)},
	}
	for _, tt := range tests {
		if _, err := svc.Authenticate(ctx, tt.raw); !errors.Is(err, apierr.Unauthenticated) {
			t.Errorf("%s: err = %v, want Unauthenticated", tt.name, err)
		}
	}
	if _, err := svc.Authenticate(ctx, raw); err != nil {
		t.Fatalf("untouched derived token: %v", err)
	}
	c.Advance(24 * time.Hour)
	if _, err := svc.Authenticate(ctx, raw); !errors.Is(err, apierr.Unauthenticated) {
		t.Errorf("after |KeyLock| days: err = %v, want Unauthenticated", err)
	}
	c.Advance(-time.Hour)
	if err := st.DeleteToken(ctx, 3, parentTok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, raw); !errors.Is(err, apierr.Unauthenticated) {
		t.Errorf("parent deleted: err = %v, want Unauthenticated", err)
	}
}
