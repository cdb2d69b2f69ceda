package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyturn/keyturn/shared/apierr"
)

// Peer APIs whose clients log in once and then present a session id
// (Revulytics POST /auth/login) log in with an access token: the token is
// the password. A session remembers which token logged in (its id and the
// SHA-256 of its secret, which the token item holds anyway), never the
// token itself, and every call with the session authenticates that token
// again: a token revoked, expired or replaced ends its sessions (after
// the token cache's lifetime in a warm process).

// Session is one peer-API login.
type Session struct {
	// IDHash is the SHA-256 of the session id (the id is shown once).
	IDHash []byte
	// User is the user name the client logged in with; it must accompany
	// the session id.
	User      string
	AccountID int64
	// TokenID and SecretHash identify the access token that logged in.
	TokenID    string
	SecretHash []byte
	Created    time.Time
	// Expires is when the session ends (at the latest when its token
	// expires).
	Expires time.Time
}

// SessionStore persists sessions.
type SessionStore interface {
	// PutSession stores a new session; apierr.Conflict when its IDHash is
	// taken.
	PutSession(ctx context.Context, s Session) error
	// GetSession returns the session with the id hash, or apierr.NotFound
	// (expired sessions may still be returned).
	GetSession(ctx context.Context, idHash []byte) (Session, error)
	// DeleteSession removes the session (nothing when there is none).
	DeleteSession(ctx context.Context, idHash []byte) error
}

// DefaultSessionTTL is how long a session lasts (a working day).
const DefaultSessionTTL = 8 * time.Hour

// MaxSessionUser bounds the user name of a session.
const MaxSessionUser = 254

// sessionIDBytes is the entropy of a session id.
const sessionIDBytes = 16

// Sessions opens and resumes peer-API sessions.
type Sessions struct {
	tokens *Service
	store  SessionStore
	now    func() time.Time
	rand   io.Reader
	ttl    time.Duration
}

// NewSessions returns Sessions on store whose sessions last ttl (0:
// DefaultSessionTTL); tokens authenticates the access tokens.
func NewSessions(tokens *Service, store SessionStore, now func() time.Time, rand io.Reader, ttl time.Duration) *Sessions {
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	return &Sessions{tokens: tokens, store: store, now: now, rand: rand, ttl: ttl}
}

// hashSessionID returns the stored form of a session id.
func hashSessionID(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// Login authenticates the access token raw and opens a session for user
// (1 to MaxSessionUser characters, any text: Keyturn knows no vendor
// users, the token is the credential). It returns the session id (22
// URL-safe characters, 128 random bits; shown once, only its hash is
// stored) and the session. Errors: apierr.Unauthenticated for an empty or
// too long user and for a token that does not authenticate.
func (s *Sessions) Login(ctx context.Context, user, raw string) (string, Session, error) {
	user = strings.TrimSpace(user)
	if user == "" || utf8.RuneCountInString(user) > MaxSessionUser {
		return "", Session{}, apierr.Unauthenticated
	}
	p, err := s.tokens.Authenticate(ctx, raw)
	if err != nil {
		return "", Session{}, err
	}
	_, secret, err := Decode(raw)
	if err != nil {
		return "", Session{}, apierr.Unauthenticated
	}
	now := s.now().UTC().Truncate(time.Second)
	sess := Session{User: user, AccountID: p.AccountID, TokenID: p.TokenID, SecretHash: HashSecret(secret),
		Created: now, Expires: now.Add(s.ttl)}
	if e := p.Scope.Expires; !e.IsZero() && e.Before(sess.Expires) {
		sess.Expires = e.UTC()
	}
	for attempt := 0; attempt < 3; attempt++ {
		b := make([]byte, sessionIDBytes)
		if _, err := io.ReadFull(s.rand, b); err != nil {
			return "", Session{}, fmt.Errorf("session id: %w", err)
		}
		id := base64.RawURLEncoding.EncodeToString(b)
		sess.IDHash = hashSessionID(id)
		err := s.store.PutSession(ctx, sess)
		if errors.Is(err, apierr.Conflict) {
			continue
		}
		if err != nil {
			return "", Session{}, fmt.Errorf("store session: %w", err)
		}
		return id, sess, nil
	}
	return "", Session{}, errors.New("could not allocate a unique session id")
}

// Resume returns the caller of an open session: id must name a session
// that has not expired, whose user is user (compared exactly; "" skips
// the check, for clients that present the session as a cookie), and whose
// token still authenticates. Errors: apierr.Unauthenticated, wrapped store
// failures.
func (s *Sessions) Resume(ctx context.Context, user, id string) (Principal, error) {
	if id == "" || len(id) > 256 {
		return Principal{}, apierr.Unauthenticated
	}
	sess, err := s.store.GetSession(ctx, hashSessionID(id))
	if errors.Is(err, apierr.NotFound) {
		return Principal{}, apierr.Unauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("read session: %w", err)
	}
	if !s.now().Before(sess.Expires) {
		return Principal{}, apierr.Unauthenticated
	}
	if user != "" && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(user)), []byte(sess.User)) != 1 {
		return Principal{}, apierr.Unauthenticated
	}
	p, err := s.tokens.Resume(ctx, sess.TokenID, sess.SecretHash)
	if err != nil {
		return Principal{}, err
	}
	if p.AccountID != sess.AccountID {
		return Principal{}, apierr.Unauthenticated
	}
	return p, nil
}

// Logout ends the session id of user (as Resume checks them). Errors:
// apierr.Unauthenticated when there is no such open session.
func (s *Sessions) Logout(ctx context.Context, user, id string) error {
	if _, err := s.Resume(ctx, user, id); err != nil {
		return err
	}
	return s.store.DeleteSession(ctx, hashSessionID(id))
}

// Resume authenticates again a token that authenticated before, from its
// id and the SHA-256 of its secret (what a session keeps instead of the
// token): a stored token must still exist with that secret hash and not
// be expired; a derived (auth/KeyLock) token must still derive from its
// parent and not be expired. Errors: apierr.Unauthenticated, wrapped
// store failures.
func (s *Service) Resume(ctx context.Context, id string, secretHash []byte) (Principal, error) {
	if d, ok := parseDerivedID(id); ok {
		parent, err := s.lookup(ctx, d.parentID)
		if err != nil {
			return Principal{}, err
		}
		if subtle.ConstantTimeCompare(HashSecret(derivedSecret(parent.SecretHash, id)), secretHash) != 1 {
			return Principal{}, apierr.Unauthenticated
		}
		return s.derivedPrincipal(parent, id, d)
	}
	t, err := s.lookup(ctx, id)
	if err != nil {
		return Principal{}, err
	}
	if subtle.ConstantTimeCompare(t.SecretHash, secretHash) != 1 || t.expired(s.now()) {
		return Principal{}, apierr.Unauthenticated
	}
	return Principal{AccountID: t.AccountID, TokenID: t.ID, Scope: t.Scope}, nil
}

// TokenName returns the name of the account's access token id (for a
// derived token, its parent's name), read through the token cache: what
// listings show as a key's editor. Errors: apierr.NotFound when the
// account has no such token (any more), wrapped store failures.
func (s *Service) TokenName(ctx context.Context, accountID int64, id string) (string, error) {
	if d, ok := parseDerivedID(id); ok {
		id = d.parentID
	}
	t, err := s.lookup(ctx, id)
	if errors.Is(err, apierr.Unauthenticated) || err == nil && t.AccountID != accountID {
		return "", apierr.NotFound
	}
	if err != nil {
		return "", err
	}
	return t.Name, nil
}
