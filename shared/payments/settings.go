package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/signing"
)

// StripeKeys are an account's Stripe credentials in the clear. They exist
// only in memory: stored sealed (SealedSettings), set through the admin
// API, never returned by any API and never logged.
type StripeKeys struct {
	// SecretKey is the account's Stripe secret (sk_...) or restricted
	// (rk_...) API key.
	SecretKey string `json:"secretKey"`
	// WebhookSecret is the signing secret (whsec_...) of the account's
	// webhook endpoint; payment forms need it, metered billing does not.
	WebhookSecret string `json:"webhookSecret"`
}

// SealedSettings is how an account's Stripe credentials are stored: both
// keys sealed together (one KMS Decrypt opens them) and what may be shown
// about them.
type SealedSettings struct {
	AccountID int64
	Keys      signing.SealedSecret
	// Live is true for live-mode keys (sk_live_ / rk_live_).
	Live bool
	// HasWebhookSecret tells whether a webhook secret was given.
	HasWebhookSecret bool
	Updated          time.Time
}

// SettingsStore persists sealed Stripe settings.
type SettingsStore interface {
	// PutStripeSettings stores (replaces) the account's settings.
	PutStripeSettings(ctx context.Context, s SealedSettings) error
	// GetStripeSettings returns the account's settings or apierr.NotFound.
	GetStripeSettings(ctx context.Context, accountID int64) (SealedSettings, error)
	// DeleteStripeSettings removes them (no error when there are none).
	DeleteStripeSettings(ctx context.Context, accountID int64) error
}

// stripeSecretName names the sealed secret (it is bound to the name).
const stripeSecretName = "stripe"

// ErrNotConfigured: the account has no Stripe secret key (or, for payment
// forms, no webhook secret).
var ErrNotConfigured = errors.New("payments: Stripe is not set up for the account")

// errNoSealer: the process has no key-encryption key for account secrets.
var errNoSealer = apierr.New("Account secrets cannot be stored: no key-encryption key is configured (KEYTURN_KMS_KEY_ID or local mode).")

// Settings holds the accounts' Stripe credentials: it validates and seals
// them, and opens them for the processor calls, keeping opened keys in
// the process for ttl (one KMS Decrypt per account per ttl at most). Safe
// for concurrent use.
type Settings struct {
	store  SettingsStore
	sealer signing.SecretWrapper
	now    func() time.Time
	ttl    time.Duration

	mu    sync.Mutex
	cache map[int64]cachedKeys
}

type cachedKeys struct {
	keys    StripeKeys
	err     error
	expires time.Time
}

// NewSettings returns the settings service. sealer may be nil (Set then
// refuses); ttl bounds how long a process uses keys it opened before
// reading them again, so a replaced or removed key stops working in every
// process within ttl.
func NewSettings(store SettingsStore, sealer signing.SecretWrapper, now func() time.Time, ttl time.Duration) *Settings {
	return &Settings{store: store, sealer: sealer, now: now, ttl: ttl, cache: map[int64]cachedKeys{}}
}

// SettingsInfo is what may be shown about an account's Stripe settings.
type SettingsInfo struct {
	Configured       bool
	Live             bool
	HasWebhookSecret bool
	Updated          time.Time
}

// Validation messages of the admin API (Keyturn's own).
var (
	errSecretKey     = apierr.New("secretKey must be a Stripe secret key (sk_...) or restricted key (rk_...).")
	errWebhookSecret = apierr.New("webhookSecret must be a Stripe webhook signing secret (whsec_...) or empty.")
)

// validKey reports whether s is a plausible Stripe key with one of the
// prefixes: printable ASCII without spaces, 10 to 255 characters.
func validKey(s string, prefixes ...string) bool {
	if len(s) < 10 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// Set validates, seals and stores the account's Stripe keys (replacing
// any). Errors: errSecretKey, errWebhookSecret (client-facing), errNoSealer,
// sealing and store faults.
func (s *Settings) Set(ctx context.Context, accountID int64, k StripeKeys) (SettingsInfo, error) {
	k.SecretKey, k.WebhookSecret = strings.TrimSpace(k.SecretKey), strings.TrimSpace(k.WebhookSecret)
	if !validKey(k.SecretKey, "sk_", "rk_") {
		return SettingsInfo{}, errSecretKey
	}
	if k.WebhookSecret != "" && !validKey(k.WebhookSecret, "whsec_") {
		return SettingsInfo{}, errWebhookSecret
	}
	if s.sealer == nil {
		return SettingsInfo{}, errNoSealer
	}
	plain, err := json.Marshal(k)
	if err != nil {
		return SettingsInfo{}, err
	}
	sealed, err := s.sealer.SealSecret(ctx, accountID, stripeSecretName, plain)
	clear(plain)
	if err != nil {
		return SettingsInfo{}, fmt.Errorf("seal Stripe keys of account %d: %w", accountID, err)
	}
	st := SealedSettings{AccountID: accountID, Keys: sealed, HasWebhookSecret: k.WebhookSecret != "",
		Live:    strings.HasPrefix(k.SecretKey, "sk_live_") || strings.HasPrefix(k.SecretKey, "rk_live_"),
		Updated: s.now().UTC().Truncate(time.Second)}
	if err := s.store.PutStripeSettings(ctx, st); err != nil {
		return SettingsInfo{}, err
	}
	s.mu.Lock()
	s.cache[accountID] = cachedKeys{keys: k, expires: s.now().Add(s.ttl)}
	s.mu.Unlock()
	return info(st), nil
}

func info(st SealedSettings) SettingsInfo {
	return SettingsInfo{Configured: true, Live: st.Live, HasWebhookSecret: st.HasWebhookSecret, Updated: st.Updated}
}

// Info returns what may be shown about the account's settings (never the
// keys); Configured is false when there are none.
func (s *Settings) Info(ctx context.Context, accountID int64) (SettingsInfo, error) {
	st, err := s.store.GetStripeSettings(ctx, accountID)
	if errors.Is(err, apierr.NotFound) {
		return SettingsInfo{}, nil
	}
	if err != nil {
		return SettingsInfo{}, err
	}
	return info(st), nil
}

// Remove deletes the account's Stripe settings.
func (s *Settings) Remove(ctx context.Context, accountID int64) error {
	if err := s.store.DeleteStripeSettings(ctx, accountID); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.cache, accountID)
	s.mu.Unlock()
	return nil
}

// Keys returns the account's opened Stripe keys: ErrNotConfigured when it
// has none, or an unwrap or store fault. Results (the absence of keys
// too) are kept for the ttl.
func (s *Settings) Keys(ctx context.Context, accountID int64) (StripeKeys, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := s.cache[accountID]
	s.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.keys, c.err
	}
	k, err := s.open(ctx, accountID)
	if err != nil && !errors.Is(err, ErrNotConfigured) {
		return StripeKeys{}, err
	}
	s.mu.Lock()
	s.cache[accountID] = cachedKeys{keys: k, err: err, expires: now.Add(s.ttl)}
	s.mu.Unlock()
	return k, err
}

func (s *Settings) open(ctx context.Context, accountID int64) (StripeKeys, error) {
	st, err := s.store.GetStripeSettings(ctx, accountID)
	if errors.Is(err, apierr.NotFound) {
		return StripeKeys{}, ErrNotConfigured
	}
	if err != nil {
		return StripeKeys{}, err
	}
	if s.sealer == nil {
		return StripeKeys{}, fmt.Errorf("open Stripe keys of account %d: %w", accountID, errNoSealer)
	}
	plain, err := s.sealer.OpenSecret(ctx, accountID, stripeSecretName, st.Keys)
	if err != nil {
		return StripeKeys{}, fmt.Errorf("open Stripe keys of account %d: %w", accountID, err)
	}
	defer clear(plain)
	var k StripeKeys
	if err := json.Unmarshal(plain, &k); err != nil || k.SecretKey == "" {
		return StripeKeys{}, fmt.Errorf("open Stripe keys of account %d: malformed", accountID)
	}
	return k, nil
}
