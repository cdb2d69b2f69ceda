package catalogstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/ddbtest"
)

// TestSessions: a session opened with an access token resumes with its
// id and user until it expires, is logged out, or its token is revoked;
// the id is never stored (a stored hash does not resume anything); a
// session of a derived (KeyLock) token ends with its parent; sessions end
// no later than their token.
func TestSessions(t *testing.T) {
	ctx := context.Background()
	s := ddbtest.NewStores(t)
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	clock := func() time.Time { return now }
	tokens := auth.NewService(s.Catalog, clock, rand.Reader, 0)
	sessions := auth.NewSessions(tokens, s.Catalog, clock, rand.Reader, time.Hour)
	raw, tok, err := tokens.Issue(ctx, 7, "registry", auth.Scope{Methods: []string{"GetKeys"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	id, sess, err := sessions.Login(ctx, "ops@example.com", raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 22 || sess.AccountID != 7 || sess.TokenID != tok.ID || !sess.Expires.Equal(now.Add(time.Hour)) {
		t.Fatalf("Login = %q, %+v", id, sess)
	}
	for _, c := range []struct {
		name, user, id string
		ok             bool
	}{
		{"id and user", "ops@example.com", id, true},
		{"id as a cookie, no user", "", id, true},
		{"another user", "other@example.com", id, false},
		{"another id", "ops@example.com", "AAAAAAAAAAAAAAAAAAAAAA", false},
		{"no id", "ops@example.com", "", false},
	} {
		p, err := sessions.Resume(ctx, c.user, c.id)
		if c.ok && (err != nil || p.AccountID != 7 || p.TokenID != tok.ID || !p.Scope.Allows("GetKeys")) {
			t.Errorf("%s: %+v, %v; want the token's principal", c.name, p, err)
		}
		if !c.ok && !errors.Is(err, apierr.Unauthenticated) {
			t.Errorf("%s: %v, want Unauthenticated", c.name, err)
		}
	}
	if _, _, err := sessions.Login(ctx, "ops@example.com", raw+"x"); !errors.Is(err, apierr.Unauthenticated) {
		t.Errorf("login with a wrong token: %v", err)
	}
	if _, _, err := sessions.Login(ctx, " ", raw); !errors.Is(err, apierr.Unauthenticated) {
		t.Errorf("login without a user: %v", err)
	}

	// Expiry.
	now = now.Add(time.Hour)
	if _, err := sessions.Resume(ctx, "ops@example.com", id); !errors.Is(err, apierr.Unauthenticated) {
		t.Errorf("expired session: %v", err)
	}

	// Logout ends it at once.
	id, _, _ = sessions.Login(ctx, "ops@example.com", raw)
	if err := sessions.Logout(ctx, "ops@example.com", id); err != nil {
		t.Fatal(err)
	}
	if _, err := sessions.Resume(ctx, "ops@example.com", id); !errors.Is(err, apierr.Unauthenticated) {
		t.Errorf("after logout: %v", err)
	}

	// A revoked token ends its sessions.
	id, _, _ = sessions.Login(ctx, "ops@example.com", raw)
	if err := s.Catalog.DeleteToken(ctx, 7, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := sessions.Resume(ctx, "ops@example.com", id); !errors.Is(err, apierr.Unauthenticated) {
		t.Errorf("after the token was revoked: %v", err)
	}

	// A token expiring before the session's lifetime bounds it.
	short, _, err := tokens.Issue(ctx, 7, "short", auth.Scope{Methods: []string{"GetKeys"}, Expires: now.Add(time.Minute)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, sess, err := sessions.Login(ctx, "ops", short); err != nil || !sess.Expires.Equal(now.Add(time.Minute)) {
		t.Errorf("session of a token expiring in a minute: %+v, %v", sess, err)
	}

	// Derived tokens: the session resumes while the parent derives it.
	parentRaw, parent, err := tokens.Issue(ctx, 7, "parent", auth.Scope{Methods: []string{"GetKeys"}, KeyLock: -10}, "")
	if err != nil {
		t.Fatal(err)
	}
	pp, err := tokens.Authenticate(ctx, parentRaw)
	if err != nil {
		t.Fatal(err)
	}
	derived, err := tokens.KeyLock(ctx, pp, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	id, _, err = sessions.Login(ctx, "ops", derived)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := sessions.Resume(ctx, "ops", id); err != nil || p.Scope.ProductLock != 3 || p.Scope.KeyLock != 4 {
		t.Errorf("derived token's session: %+v, %v", p, err)
	}
	if err := s.Catalog.DeleteToken(ctx, 7, parent.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := sessions.Resume(ctx, "ops", id); !errors.Is(err, apierr.Unauthenticated) {
		t.Errorf("derived token's session after the parent was revoked: %v", err)
	}
}

// TestTokenName: an account's token names itself (a derived token by its
// parent's name); another account's token is not found.
func TestTokenName(t *testing.T) {
	ctx := context.Background()
	s := ddbtest.NewStores(t)
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tokens := auth.NewService(s.Catalog, func() time.Time { return now }, rand.Reader, time.Minute)
	raw, tok, err := tokens.Issue(ctx, 7, "Ada Lovelace <ada@example.com>", auth.Scope{Methods: []string{"GetKey"}, KeyLock: -1}, "")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := tokens.Authenticate(ctx, raw)
	derived, err := tokens.KeyLock(ctx, p, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	dp, err := tokens.Authenticate(ctx, derived)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{tok.ID, dp.TokenID} {
		if name, err := tokens.TokenName(ctx, 7, id); err != nil || name != "Ada Lovelace <ada@example.com>" {
			t.Errorf("TokenName(%s) = %q, %v", id, name, err)
		}
	}
	if _, err := tokens.TokenName(ctx, 8, tok.ID); !errors.Is(err, apierr.NotFound) {
		t.Errorf("another account's token: %v, want NotFound", err)
	}
	if _, err := tokens.TokenName(ctx, 7, "nosuchtoken0"); !errors.Is(err, apierr.NotFound) {
		t.Errorf("unknown token: %v, want NotFound", err)
	}
}
