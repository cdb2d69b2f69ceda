package users

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
)

// One-time login tokens let an end user who logged in somewhere (the
// vendor's shop or launcher: userauth/CreateLoginToken) prove it once to
// the vendor's service, which validates the token with its own access
// token (Bytex Authentication/r1/GetTokenValidity). A token carries 256
// random bits, is stored only as its SHA-256, is bound to its account,
// lasts LoginTokenTTL and is used up by the conditional delete that
// validates it.

// LoginToken is a stored one-time login token.
type LoginToken struct {
	// Hash is the SHA-256 of the token.
	Hash      []byte
	AccountID int64
	Username  string
	Expires   time.Time
}

// DefaultLoginTokenTTL is how long a one-time login token can be used.
const DefaultLoginTokenTTL = 5 * time.Minute

// loginTokenBytes is the entropy of a login token.
const loginTokenBytes = 32

// WithLoginTokenTTL sets the lifetime of one-time login tokens.
func (s *Service) WithLoginTokenTTL(ttl time.Duration) *Service {
	s.loginTokenTTL = ttl
	return s
}

// issueLoginToken stores a new login token for the user and returns it
// with its expiry.
func (s *Service) issueLoginToken(ctx context.Context, accountID int64, username string) (string, time.Time, error) {
	b := make([]byte, loginTokenBytes)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", time.Time{}, fmt.Errorf("login token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	ttl := s.loginTokenTTL
	if ttl <= 0 {
		ttl = DefaultLoginTokenTTL
	}
	exp := s.now().UTC().Truncate(time.Second).Add(ttl)
	if err := s.store.PutLoginToken(ctx, LoginToken{Hash: hashToken(token), AccountID: accountID, Username: username, Expires: exp}); err != nil {
		return "", time.Time{}, err
	}
	return token, exp, nil
}

// CreateLoginToken authenticates a user exactly as Login does (the same
// attempt limit and answers) and returns a one-time login token for the
// user and its expiry. Errors: apierr.NoUsernameOrPassword,
// apierr.BadInput, apierr.UserAuthFailed, apierr.PasswordBusy.
func (s *Service) CreateLoginToken(ctx context.Context, accountID int64, username, password string) (string, time.Time, error) {
	username, err := validUsername(username, apierr.NoUsernameOrPassword)
	if err != nil {
		return "", time.Time{}, err
	}
	if password == "" {
		return "", time.Time{}, apierr.NoUsernameOrPassword
	}
	if len(password) > MaxPassword {
		return "", time.Time{}, apierr.UserAuthFailed
	}
	u, a, err := s.checkPassword(ctx, accountID, username, password)
	if errors.Is(err, errNoMatch) {
		return "", time.Time{}, apierr.UserAuthFailed
	}
	if err != nil {
		return "", time.Time{}, err
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.end(ctx, accountID, username, a, AttemptReleased)
	}()
	go func() {
		defer wg.Done()
		s.rehash(ctx, u, password)
	}()
	token, exp, err := s.issueLoginToken(ctx, accountID, u.Username)
	wg.Wait()
	return token, exp, err
}

// LoginTokenFor returns a one-time login token for a user without
// checking a password (the caller authenticated the user itself and holds
// the admin permission). Errors: apierr.NoUsername, apierr.BadInput,
// apierr.UserNotFound.
func (s *Service) LoginTokenFor(ctx context.Context, accountID int64, username string) (string, time.Time, error) {
	username, err := validUsername(username, apierr.NoUsername)
	if err != nil {
		return "", time.Time{}, err
	}
	u, err := s.store.GetUser(ctx, accountID, username)
	if errors.Is(err, apierr.NotFound) {
		return "", time.Time{}, apierr.UserNotFound
	}
	if err != nil {
		return "", time.Time{}, err
	}
	return s.issueLoginToken(ctx, accountID, u.Username)
}

// RedeemLoginToken uses up a one-time login token of the account and
// returns its user. Errors: apierr.NotFound when the token is unknown,
// used, expired, another account's, or its user was removed meanwhile (a
// token that is refused is not used up unless it was the account's).
func (s *Service) RedeemLoginToken(ctx context.Context, accountID int64, token string) (User, error) {
	if token == "" || len(token) > 256 {
		return User{}, apierr.NotFound
	}
	t, err := s.store.TakeLoginToken(ctx, accountID, hashToken(token), s.now())
	if err != nil {
		return User{}, err
	}
	return s.store.GetUser(ctx, accountID, t.Username)
}
