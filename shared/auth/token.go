// Package auth implements Web API 3 access tokens: their wire form, hashed
// storage, scopes (allowed methods, product, key and feature locks, expiry)
// and authentication of incoming requests. It is domain code: it imports
// nothing from AWS; the DynamoDB adapter implements TokenStore.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
)

// Scope is what a token may do.
//
// Locks: a product lock restricts the token to one product (and its keys);
// a positive key lock restricts it to one key, which it names together
// with the product lock (key ids are only unique within a product). A
// positive key lock without a product lock names no key unambiguously:
// Validate refuses to issue such a scope, and a stored one (issued before
// that check) reaches no product and no key (CheckProduct and CheckKey
// deny everything) rather than every product's key with that id.
type Scope struct {
	// Methods is the set of allowed permission names (canonical spelling).
	Methods []string
	// ProductLock, when non-zero, restricts the token to that product id.
	ProductLock int64
	// KeyLock, when positive, restricts the token to the key with that id
	// in the ProductLock product. A negative value enables auth/KeyLock,
	// which derives a token locked to one key that expires after
	// |KeyLock| days; it locks no key itself.
	KeyLock int64
	// FeatureLock has a per-method meaning (fields to return for
	// Activate/GetKey and the listings of licenses, trial length for
	// CreateTrialKey, template id for CreateKeyFromTemplate, the largest
	// change of a data object's int value ...).
	FeatureLock int64
	// Expires, when non-zero, is the instant after which the token is
	// refused.
	Expires time.Time
}

// Validate reports whether the scope may be issued: a positive key lock
// needs a product lock. Errors: apierr.AmbiguousKeyLock.
func (s Scope) Validate() error {
	if s.KeyLock > 0 && s.ProductLock == 0 {
		return apierr.AmbiguousKeyLock
	}
	return nil
}

// LocksKey reports whether the scope is restricted to a single key (a
// positive key lock). Such a token reaches only that key: listings show
// only it, and methods that create keys refuse it (RequireUnlockedKey).
func (s Scope) LocksKey() bool { return s.KeyLock > 0 }

// ambiguous reports a positive key lock without a product lock.
func (s Scope) ambiguous() bool { return s.KeyLock > 0 && s.ProductLock == 0 }

// Allows reports whether the scope grants permission (case-insensitive).
func (s Scope) Allows(permission string) bool {
	for _, m := range s.Methods {
		if strings.EqualFold(m, permission) {
			return true
		}
	}
	return false
}

// CheckProduct returns apierr.AccessDenied when the product lock forbids
// productID, or when an ambiguous key lock (see Scope) makes the scope
// reach no product at all.
func (s Scope) CheckProduct(productID int64) error {
	if s.ambiguous() || s.ProductLock != 0 && s.ProductLock != productID {
		return apierr.AccessDenied
	}
	return nil
}

// CheckKey returns apierr.AccessDenied unless the scope reaches the key
// with id keyID in product productID: the product lock must allow the
// product and a positive key lock must name this key (product lock and key
// id both equal). Negative key locks (KeyLock templates) do not restrict
// keys; an ambiguous key lock allows none.
func (s Scope) CheckKey(productID, keyID int64) error {
	if err := s.CheckProduct(productID); err != nil {
		return err
	}
	if s.KeyLock > 0 && s.KeyLock != keyID {
		return apierr.AccessDenied
	}
	return nil
}

// RequireUnlockedKey returns apierr.AccessDenied for a scope locked to one
// key (or with an ambiguous key lock): methods that create keys call it.
func (s Scope) RequireUnlockedKey() error {
	if s.KeyLock > 0 {
		return apierr.AccessDenied
	}
	return nil
}

// RequireAccountWide returns apierr.AccessDenied unless the scope has
// neither a product lock nor a key lock (of any sign): methods on what
// belongs to the account as a whole (customers, resellers, end users) call
// it, as the reference requires for data objects of the account (User
// objects). Their effects cross products (removing a customer dissociates
// its licenses in every product), so no lock can contain them.
func (s Scope) RequireAccountWide() error {
	if s.ProductLock != 0 || s.KeyLock != 0 {
		return apierr.AccessDenied
	}
	return nil
}

// Token is the stored form of an access token. The secret itself is never
// stored: only SecretHash, the SHA-256 of the secret. Secrets are 32 random
// bytes, so a fast hash is sufficient (there is nothing to brute-force).
type Token struct {
	ID         string
	AccountID  int64
	Name       string
	SecretHash []byte
	Scope      Scope
	Created    time.Time
	// ParentID is the token this one was derived from, for tokens that
	// auth/KeyLock stored before derived tokens became stateless (see
	// derived); they keep working until they expire.
	ParentID string
}

// Principal is the authenticated caller of one request.
type Principal struct {
	AccountID int64
	TokenID   string
	Scope     Scope
}

// TokenStore persists tokens.
type TokenStore interface {
	// GetToken returns the token with id, or apierr.NotFound.
	GetToken(ctx context.Context, id string) (Token, error)
	// PutToken stores a new token; apierr.Conflict if the id exists.
	PutToken(ctx context.Context, t Token) error
	// ListTokens returns the tokens of an account (no secrets exist to leak).
	ListTokens(ctx context.Context, accountID int64) ([]Token, error)
	// DeleteToken removes a token of the account; apierr.NotFound if absent.
	DeleteToken(ctx context.Context, accountID int64, id string) error
}

// Encode returns the wire form of a token: standard base64 of the JSON
// array ["<id>","<secret>"], as Cryptolens tokens are.
func Encode(id, secret string) string {
	b, _ := json.Marshal([]string{id, secret})
	return base64.StdEncoding.EncodeToString(b)
}

// Bounds of the token wire form. Issued tokens are far shorter (a 12-byte
// id and a 40-byte secret); anything longer cannot be a token, and is
// refused before it reaches storage (a token id is part of an item key).
const (
	// MaxTokenLength bounds the raw (base64) token.
	MaxTokenLength = 1024
	// MaxTokenID bounds the decoded id.
	MaxTokenID = 128
	// MaxTokenSecret bounds the decoded secret.
	MaxTokenSecret = 256
)

// Decode parses the wire form. It returns an error for anything that is not
// base64 of a two-string JSON array with non-empty parts, and for tokens,
// ids or secrets beyond MaxTokenLength, MaxTokenID or MaxTokenSecret bytes.
func Decode(raw string) (id, secret string, err error) {
	if len(raw) > MaxTokenLength {
		return "", "", errors.New("token is too long")
	}
	// A form value whose '+' was not percent-encoded arrives as ' '; base64
	// never contains spaces, so put the '+' back.
	raw = strings.ReplaceAll(strings.TrimSpace(raw), " ", "+")
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		// Some clients drop padding or use the URL alphabet.
		b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(raw, "="))
		if err != nil {
			return "", "", errors.New("token is not base64")
		}
	}
	var parts []string
	if err := json.Unmarshal(b, &parts); err != nil || len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", errors.New("token is not a [id, secret] pair")
	}
	if len(parts[0]) > MaxTokenID || len(parts[1]) > MaxTokenSecret {
		return "", "", errors.New("token id or secret is too long")
	}
	return parts[0], parts[1], nil
}

// HashSecret returns the stored hash of a token secret.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Service authenticates requests and issues tokens.
type Service struct {
	store TokenStore
	now   func() time.Time
	rand  io.Reader
	cache *tokenCache
}

// NewService returns a Service. cacheTTL > 0 lets a warm process reuse a
// token read from the store for that long (a revoked token may keep working
// in that process for up to cacheTTL); 0 reads the store on every request.
func NewService(store TokenStore, now func() time.Time, rand io.Reader, cacheTTL time.Duration) *Service {
	return &Service{store: store, now: now, rand: rand, cache: newTokenCache(cacheTTL, now)}
}

// Authenticate verifies a raw token. It returns apierr.Unauthenticated for
// a malformed, unknown, wrong-secret or expired token, and wraps store
// failures as internal errors.
func (s *Service) Authenticate(ctx context.Context, raw string) (Principal, error) {
	id, secret, err := Decode(raw)
	if err != nil {
		return Principal{}, apierr.Unauthenticated
	}
	if d, ok := parseDerivedID(id); ok {
		return s.authenticateDerived(ctx, id, secret, d)
	}
	t, err := s.lookup(ctx, id)
	if err != nil {
		return Principal{}, err
	}
	if subtle.ConstantTimeCompare(HashSecret(secret), t.SecretHash) != 1 {
		return Principal{}, apierr.Unauthenticated
	}
	if t.expired(s.now()) {
		return Principal{}, apierr.Unauthenticated
	}
	return Principal{AccountID: t.AccountID, TokenID: t.ID, Scope: t.Scope}, nil
}

// lookup returns the stored token id (from the cache when it is fresh).
// Errors: apierr.Unauthenticated when there is no such token, wrapped
// store failures.
func (s *Service) lookup(ctx context.Context, id string) (Token, error) {
	if t, ok := s.cache.get(id); ok {
		return t, nil
	}
	t, err := s.store.GetToken(ctx, id)
	if errors.Is(err, apierr.NotFound) {
		return Token{}, apierr.Unauthenticated
	}
	if err != nil {
		return Token{}, fmt.Errorf("read token: %w", err)
	}
	s.cache.put(t)
	return t, nil
}

// expired reports whether the token's expiry has passed at now.
func (t Token) expired(now time.Time) bool {
	return !t.Scope.Expires.IsZero() && !now.Before(t.Scope.Expires)
}

// Issue creates and stores a token for the account with the given scope.
// It returns the wire form (shown once; it cannot be recovered later) and
// the stored record. Errors: a client-facing error naming an unknown
// permission, apierr.AmbiguousKeyLock (see Scope.Validate).
func (s *Service) Issue(ctx context.Context, accountID int64, name string, scope Scope, parentID string) (string, Token, error) {
	if err := scope.Validate(); err != nil {
		return "", Token{}, err
	}
	methods := make([]string, 0, len(scope.Methods))
	seen := map[string]bool{}
	for _, m := range scope.Methods {
		p, ok := CanonicalPermission(m)
		if !ok {
			return "", Token{}, apierr.Newf("Unknown method permission %q.", m)
		}
		if !seen[p] {
			seen[p] = true
			methods = append(methods, p)
		}
	}
	scope.Methods = methods
	for attempt := 0; attempt < 3; attempt++ {
		id, err := s.randomString(12, idAlphabet)
		if err != nil {
			return "", Token{}, err
		}
		secretBytes := make([]byte, 30)
		if _, err := io.ReadFull(s.rand, secretBytes); err != nil {
			return "", Token{}, fmt.Errorf("token secret: %w", err)
		}
		secret := base64.StdEncoding.EncodeToString(secretBytes)
		t := Token{ID: id, AccountID: accountID, Name: name, SecretHash: HashSecret(secret), Scope: scope, Created: s.now().UTC(), ParentID: parentID}
		err = s.store.PutToken(ctx, t)
		if errors.Is(err, apierr.Conflict) {
			continue
		}
		if err != nil {
			return "", Token{}, fmt.Errorf("store token: %w", err)
		}
		return Encode(id, secret), t, nil
	}
	return "", Token{}, errors.New("could not allocate a unique token id")
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

func (s *Service) randomString(n int, alphabet string) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	// 256 % 36 != 0 gives a negligible bias; ids need uniqueness, not
	// unpredictability (the secret carries the entropy).
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}

// Tokens lists the account's access tokens (no secrets exist to leak).
func (s *Service) Tokens(ctx context.Context, accountID int64) ([]Token, error) {
	return s.store.ListTokens(ctx, accountID)
}

// Revoke deletes an access token of the account (apierr.NotFound if it is
// not one of the account's). A warm process may keep accepting it for the
// token cache's lifetime.
func (s *Service) Revoke(ctx context.Context, accountID int64, id string) error {
	return s.store.DeleteToken(ctx, accountID, id)
}
