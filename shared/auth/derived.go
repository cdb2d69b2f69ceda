package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
)

// Derived tokens (auth/KeyLock) are not stored: every KeyLock call would
// otherwise add an item that lives for |KeyLock| days. A derived token has
// the usual wire form, base64 of ["<id>","<secret>"], where
//
//	id     = "kl1.<parent token id>.<product id>.<key id>.<expiry, unix seconds>"
//	secret = base64url(HMAC-SHA256(key: the parent's stored secret hash,
//	                               message: derivedMAC + id))
//
// Authentication reads only the parent (cached like any token), recomputes
// the secret and compares it in constant time, so a changed id or secret
// is refused, and deleting or expiring the parent refuses every token
// derived from it. The scope is the parent's methods and feature lock,
// locked to the key (product lock and key lock of the key), expiring at
// the earlier of the encoded expiry and the parent's own.
//
// The HMAC key is the parent's secret hash: whoever holds the parent
// token, or can read the table, can compute derived tokens, but those never
// reach more than the parent itself does (its methods, its product lock,
// one key, its expiry). A derived token cannot be used to derive another
// one (its key lock is positive).

// derivedPrefix starts every derived token id. Stored token ids are
// lower-case letters and digits only, so the two never collide.
const derivedPrefix = "kl1."

// derivedMAC separates derived-token MACs from any other use of the key.
const derivedMAC = "keyturn auth/KeyLock v1\n"

// maxKeyLockDays caps the lifetime a negative key lock asks for (100
// years), so that no key lock overflows the expiry arithmetic.
const maxKeyLockDays = 36500

// derived is what a derived token id encodes.
type derived struct {
	parentID  string
	productID int64
	keyID     int64
	expires   time.Time
}

func (d derived) id() string {
	return derivedPrefix + d.parentID + "." + strconv.FormatInt(d.productID, 10) + "." +
		strconv.FormatInt(d.keyID, 10) + "." + strconv.FormatInt(d.expires.Unix(), 10)
}

// derivedSecret is the secret of the derived token id under a parent with
// the given secret hash.
func derivedSecret(parentHash []byte, id string) string {
	m := hmac.New(sha256.New, parentHash)
	m.Write([]byte(derivedMAC))
	m.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// parseDerivedID parses a derived token id. It accepts only the canonical
// form (a stored-token-style parent id, positive decimal numbers without
// signs or leading zeros), so every derived token has exactly one id.
func parseDerivedID(id string) (derived, bool) {
	rest, ok := strings.CutPrefix(id, derivedPrefix)
	if !ok || len(rest) > 128 {
		return derived{}, false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 4 || parts[0] == "" || strings.Trim(parts[0], idAlphabet) != "" {
		return derived{}, false
	}
	var n [3]int64
	for i, p := range parts[1:] {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil || v <= 0 || strconv.FormatInt(v, 10) != p {
			return derived{}, false
		}
		n[i] = v
	}
	return derived{parentID: parts[0], productID: n[0], keyID: n[1], expires: time.Unix(n[2], 0).UTC()}, true
}

// authenticateDerived verifies a derived token (see derived) with one read
// of its parent. Errors: apierr.Unauthenticated, wrapped store failures.
func (s *Service) authenticateDerived(ctx context.Context, id, secret string, d derived) (Principal, error) {
	parent, err := s.lookup(ctx, d.parentID)
	if err != nil {
		return Principal{}, err
	}
	if !hmac.Equal([]byte(secret), []byte(derivedSecret(parent.SecretHash, id))) {
		return Principal{}, apierr.Unauthenticated
	}
	return s.derivedPrincipal(parent, id, d)
}

// derivedPrincipal is the caller a derived token id names under its
// (verified) parent. Errors: apierr.Unauthenticated when it or its parent
// expired or the parent no longer derives tokens for the product.
func (s *Service) derivedPrincipal(parent Token, id string, d derived) (Principal, error) {
	now := s.now()
	if !now.Before(d.expires) || parent.expired(now) {
		return Principal{}, apierr.Unauthenticated
	}
	// The parent must still be a KeyLock template that reaches the product.
	if parent.Scope.KeyLock > -1 || parent.Scope.CheckProduct(d.productID) != nil {
		return Principal{}, apierr.Unauthenticated
	}
	scope := parent.Scope
	scope.ProductLock, scope.KeyLock = d.productID, d.keyID
	if scope.Expires.IsZero() || d.expires.Before(scope.Expires) {
		scope.Expires = d.expires
	}
	return Principal{AccountID: parent.AccountID, TokenID: id, Scope: scope}, nil
}

// KeyLock derives a token locked to one key from the calling principal,
// as auth/KeyLock does: same methods and feature lock, product lock set to
// the key's product and key lock to its id (key ids are only unique within
// a product), expiring after |KeyLock| days (at most 100 years) or with
// the parent, whichever comes first. Nothing is stored (see derived); the
// parent is read (usually from the cache filled by this request's
// authentication). The caller must have checked that the key exists and
// belongs to the account. Errors: apierr.KeyLockNotNegative,
// apierr.AccessDenied (the product lock forbids the product),
// apierr.BadInput, apierr.Unauthenticated (the parent is gone).
func (s *Service) KeyLock(ctx context.Context, p Principal, productID, keyID int64) (string, error) {
	if p.Scope.KeyLock > -1 {
		return "", apierr.KeyLockNotNegative
	}
	if err := p.Scope.CheckProduct(productID); err != nil {
		return "", err
	}
	if productID <= 0 || keyID <= 0 {
		return "", apierr.BadInput
	}
	parent, err := s.lookup(ctx, p.TokenID)
	if err != nil {
		return "", err
	}
	days := int64(maxKeyLockDays)
	if p.Scope.KeyLock >= -maxKeyLockDays {
		days = -p.Scope.KeyLock
	}
	exp := s.now().UTC().Add(time.Duration(days) * 24 * time.Hour).Truncate(time.Second)
	if pe := parent.Scope.Expires; !pe.IsZero() && pe.Before(exp) {
		exp = pe.UTC().Truncate(time.Second)
	}
	d := derived{parentID: p.TokenID, productID: productID, keyID: keyID, expires: exp}
	id := d.id()
	if _, ok := parseDerivedID(id); !ok {
		// The parent is not a stored token of the usual form (or its
		// expiry is before 1970): there is nothing to derive from.
		return "", apierr.Unauthenticated
	}
	return Encode(id, derivedSecret(parent.SecretHash, id)), nil
}
