package signing

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/keyturn/keyturn/shared/apierr"
)

// ManagerConfig holds a Manager's dependencies.
type ManagerConfig struct {
	// Store persists key records (required).
	Store KeyStore
	// Mode is ModeEnvelope, ModeLocal or
	// ModeKMS: the mode of the keys Create makes.
	Mode string
	// Wrapper seals private keys (required in envelope and local modes).
	Wrapper KeyWrapper
	// Source is the KMS key source (required in kms mode).
	Source KeySource
	// Rand is the randomness for key generation (crypto/rand.Reader when
	// nil).
	Rand io.Reader
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// TTL is how long the current version of an account is reused before
	// the store is read again; it bounds how long a warm process keeps
	// signing with a rotated-out key. Zero or negative reads the store on
	// every SignerFor call (unwrapped keys are cached regardless).
	TTL time.Duration
}

// Manager creates, rotates and loads account signing keys. Build one per
// process and share it: it caches unwrapped keys and current versions. It
// is safe for concurrent use.
type Manager struct {
	store   KeyStore
	mode    string
	wrapper KeyWrapper
	source  KeySource
	rand    io.Reader
	now     func() time.Time
	ttl     time.Duration

	mu      sync.Mutex
	current map[int64]cachedRecord
	signers map[int64]cachedSigner // newest loaded version per account

	// loads shares store reads (key "<account>") and unwraps (key
	// "<account>/<version>") between concurrent callers.
	loads singleflight.Group
}

type cachedRecord struct {
	rec     KeyRecord
	expires time.Time
}

type cachedSigner struct {
	version int
	signer  Signer
}

// NewManager returns a Manager. It returns an error when Store is nil, Mode
// is unknown, or the wrapper (envelope, local) or source (kms) the mode
// needs is nil.
func NewManager(c ManagerConfig) (*Manager, error) {
	if c.Store == nil {
		return nil, errors.New("signing: NewManager: nil KeyStore")
	}
	switch c.Mode {
	case ModeEnvelope, ModeLocal:
		if c.Wrapper == nil {
			return nil, fmt.Errorf("signing: NewManager: %s mode needs a KeyWrapper", c.Mode)
		}
	case ModeKMS:
		if c.Source == nil {
			return nil, errors.New("signing: NewManager: kms mode needs a KeySource")
		}
	default:
		return nil, fmt.Errorf("signing: NewManager: unknown mode %q", c.Mode)
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Manager{
		store: c.Store, mode: c.Mode, wrapper: c.Wrapper, source: c.Source,
		rand: c.Rand, now: c.Now, ttl: c.TTL,
		current: map[int64]cachedRecord{},
		signers: map[int64]cachedSigner{},
	}, nil
}

// Create makes a new signing key for the account as version current+1 (1
// when the account has none) and stores it; it both creates and rotates.
// In envelope and local modes it generates an RSA-2048 key and stores it
// wrapped; in kms mode it records the configured KMS key (by ARN) and its
// public key, so a real rotation in kms mode needs a new KMS key id
// configured first. The new key becomes current in this process at once;
// other processes pick it up within the TTL. It returns an error wrapping
// apierr.Conflict when another create for the same account won the race
// (nothing is overwritten), and wrapped store, KMS or crypto errors
// otherwise.
func (m *Manager) Create(ctx context.Context, accountID int64) (KeyRecord, error) {
	version := 1
	cur, err := m.store.CurrentSigningKey(ctx, accountID)
	switch {
	case err == nil:
		version = cur.Version + 1
	case !errors.Is(err, apierr.NotFound):
		return KeyRecord{}, fmt.Errorf("signing: read current key of account %d: %w", accountID, err)
	}
	rec := KeyRecord{AccountID: accountID, Version: version, Mode: m.mode, Created: m.now().UTC()}
	var signer Signer
	if m.mode == ModeKMS {
		pub, id, err := m.source.PublicKey(ctx, m.source.KeyID())
		if err != nil {
			return KeyRecord{}, fmt.Errorf("signing: account %d: %w", accountID, err)
		}
		if rec.PublicKeyDER, err = x509.MarshalPKIXPublicKey(pub); err != nil {
			return KeyRecord{}, fmt.Errorf("signing: marshal KMS public key: %w", err)
		}
		rec.KMSKeyID = id
		signer = m.source.Signer(id, pub)
	} else {
		priv, err := rsa.GenerateKey(m.rand, KeyBits)
		if err != nil {
			return KeyRecord{}, fmt.Errorf("signing: generate key: %w", err)
		}
		if rec.PublicKeyDER, err = x509.MarshalPKIXPublicKey(&priv.PublicKey); err != nil {
			return KeyRecord{}, fmt.Errorf("signing: marshal public key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return KeyRecord{}, fmt.Errorf("signing: marshal private key: %w", err)
		}
		rec.WrappedPrivateKey, rec.WrappedDataKey, rec.KMSKeyID, err = m.wrapper.Wrap(ctx, accountID, version, der)
		clear(der)
		if err != nil {
			return KeyRecord{}, fmt.Errorf("signing: wrap key of account %d: %w", accountID, err)
		}
		signer = NewRSASigner(priv)
	}
	if err := m.store.PutSigningKey(ctx, rec); err != nil {
		if errors.Is(err, apierr.Conflict) {
			return KeyRecord{}, fmt.Errorf("signing: key version %d of account %d was created concurrently: %w", version, accountID, err)
		}
		return KeyRecord{}, fmt.Errorf("signing: store key of account %d: %w", accountID, err)
	}
	m.mu.Lock()
	m.setCurrentLocked(rec)
	m.setSignerLocked(accountID, version, signer)
	m.mu.Unlock()
	return rec, nil
}

// SignerFor returns a Signer for the account's current key. The current
// version is read from the store at most once per TTL per account, and a
// private key is unwrapped (one KMS Decrypt in envelope mode) at most once
// per process per (account, version); concurrent first calls share one
// store read and one unwrap. Failures are not cached. It returns an error
// wrapping apierr.NotFound when the account has no key, and wrapped store,
// KMS or crypto errors otherwise.
func (m *Manager) SignerFor(ctx context.Context, accountID int64) (Signer, error) {
	rec, err := m.currentRecord(ctx, accountID)
	if err != nil {
		return nil, err
	}
	return m.signerFor(ctx, rec)
}

// PublicKey returns the account's current public key and its version. It
// always reads the store (it serves the admin API, where a rotation made by
// another process must show at once) and refreshes the cache with what it
// read. It returns an error wrapping apierr.NotFound when the account has
// no key.
func (m *Manager) PublicKey(ctx context.Context, accountID int64) (*rsa.PublicKey, int, error) {
	rec, err := m.loadRecord(ctx, accountID)
	if err != nil {
		return nil, 0, err
	}
	pub, err := rec.PublicKey()
	if err != nil {
		return nil, 0, fmt.Errorf("signing: key version %d of account %d: %w", rec.Version, accountID, err)
	}
	return pub, rec.Version, nil
}

// currentRecord returns the cached current record or loads it, sharing the
// load between concurrent callers.
func (m *Manager) currentRecord(ctx context.Context, accountID int64) (KeyRecord, error) {
	cached := func() (KeyRecord, bool) {
		m.mu.Lock()
		defer m.mu.Unlock()
		c, ok := m.current[accountID]
		return c.rec, ok && m.now().Before(c.expires)
	}
	return shared(ctx, &m.loads, strconv.FormatInt(accountID, 10), cached, func() (KeyRecord, error) {
		return m.loadRecord(ctx, accountID)
	})
}

// loadRecord reads the current record from the store and caches it.
func (m *Manager) loadRecord(ctx context.Context, accountID int64) (KeyRecord, error) {
	rec, err := m.store.CurrentSigningKey(ctx, accountID)
	if err != nil {
		return KeyRecord{}, fmt.Errorf("signing: current key of account %d: %w", accountID, err)
	}
	if rec.AccountID != accountID || rec.Version < 1 {
		return KeyRecord{}, fmt.Errorf("signing: store returned key %d/v%d for account %d", rec.AccountID, rec.Version, accountID)
	}
	m.mu.Lock()
	m.setCurrentLocked(rec)
	rec = m.current[accountID].rec
	m.mu.Unlock()
	return rec, nil
}

// setCurrentLocked caches rec as the account's current record unless a
// newer version is already cached (versions only grow).
func (m *Manager) setCurrentLocked(rec KeyRecord) {
	if c, ok := m.current[rec.AccountID]; ok && c.rec.Version > rec.Version {
		rec = c.rec
	}
	m.current[rec.AccountID] = cachedRecord{rec: rec, expires: m.now().Add(m.ttl)}
}

// setSignerLocked caches s unless a newer version is cached; older
// versions of the account are dropped.
func (m *Manager) setSignerLocked(accountID int64, version int, s Signer) {
	if c, ok := m.signers[accountID]; ok && c.version > version {
		return
	}
	m.signers[accountID] = cachedSigner{version: version, signer: s}
}

// signerFor returns the cached Signer of rec or builds it once.
func (m *Manager) signerFor(ctx context.Context, rec KeyRecord) (Signer, error) {
	cached := func() (Signer, bool) {
		m.mu.Lock()
		defer m.mu.Unlock()
		c, ok := m.signers[rec.AccountID]
		return c.signer, ok && c.version == rec.Version
	}
	key := strconv.FormatInt(rec.AccountID, 10) + "/" + strconv.Itoa(rec.Version)
	return shared(ctx, &m.loads, key, cached, func() (Signer, error) {
		s, err := m.buildSigner(ctx, rec)
		if err == nil {
			m.mu.Lock()
			m.setSignerLocked(rec.AccountID, rec.Version, s)
			m.mu.Unlock()
		}
		return s, err
	})
}

// shared returns what cached has, or else runs load once for the callers
// that ask for key while it runs (the first caller's load, with the first
// caller's context) and returns its result to each of them. A caller
// returns ctx's error as soon as ctx ends. A caller that waited for
// another's load loads again itself when that load failed only because the
// other caller's context ended while its own has not. A panic in load is
// returned as an error (load runs in a goroutine of its own).
func shared[T any](ctx context.Context, g *singleflight.Group, key string, cached func() (T, bool), load func() (T, error)) (T, error) {
	for {
		if v, ok := cached(); ok {
			return v, nil
		}
		led := false
		ch := g.DoChan(key, func() (v any, err error) {
			led = true
			if v, ok := cached(); ok { // a load finished since the check above
				return v, nil
			}
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("signing: load %s panicked: %v\n%s", key, p, debug.Stack())
				}
			}()
			return load()
		})
		var zero T
		select {
		case <-ctx.Done():
			return zero, ctx.Err()
		case r := <-ch:
			ctxErr := errors.Is(r.Err, context.Canceled) || errors.Is(r.Err, context.DeadlineExceeded)
			if !led && ctxErr && ctx.Err() == nil {
				continue
			}
			if r.Err != nil {
				return zero, r.Err
			}
			v, _ := r.Val.(T)
			return v, nil
		}
	}
}

// buildSigner unwraps (or, in kms mode, binds) the key of rec.
func (m *Manager) buildSigner(ctx context.Context, rec KeyRecord) (Signer, error) {
	pub, err := rec.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("signing: key version %d of account %d: %w", rec.Version, rec.AccountID, err)
	}
	switch {
	case rec.Mode == ModeKMS:
		if m.source == nil {
			return nil, fmt.Errorf("signing: key version %d of account %d is a kms-mode key but the manager (mode %s) has no KMS key source", rec.Version, rec.AccountID, m.mode)
		}
		if rec.KMSKeyID == "" {
			return nil, fmt.Errorf("signing: kms-mode key version %d of account %d has no KMS key id", rec.Version, rec.AccountID)
		}
		return m.source.Signer(rec.KMSKeyID, pub), nil
	case rec.Mode != m.mode || m.wrapper == nil:
		return nil, fmt.Errorf("signing: key version %d of account %d is a %q-mode key; the manager runs in %s mode", rec.Version, rec.AccountID, rec.Mode, m.mode)
	}
	der, err := m.wrapper.Unwrap(ctx, rec)
	if err != nil {
		return nil, fmt.Errorf("signing: unwrap key version %d of account %d: %w", rec.Version, rec.AccountID, err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	if err != nil {
		return nil, fmt.Errorf("signing: parse key version %d of account %d: %w", rec.Version, rec.AccountID, err)
	}
	priv, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing: key version %d of account %d is %T, want RSA", rec.Version, rec.AccountID, k)
	}
	if !priv.PublicKey.Equal(pub) {
		return nil, fmt.Errorf("signing: key version %d of account %d: private key does not match the stored public key", rec.Version, rec.AccountID)
	}
	return NewRSASigner(priv), nil
}
