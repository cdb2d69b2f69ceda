package signing_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/clocktest"
	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/kmsfake"
	"github.com/keyturn/keyturn/shared/signing"
	"github.com/keyturn/keyturn/shared/signing/kmskeys"
)

// memStore is an in-memory KeyStore with the DynamoDB store's contract.
// The optional function fields inject behaviour.
type memStore struct {
	mu    sync.Mutex
	recs  map[int64]map[int]signing.KeyRecord
	reads int

	// onRead, when set, runs before every CurrentSigningKey (outside the
	// lock); a non-nil error is returned.
	onRead func(ctx context.Context, accountID int64) error
	// beforePut, when set, runs before every PutSigningKey (outside the
	// lock); a non-nil error is returned.
	beforePut func(rec signing.KeyRecord) error
}

func newMemStore() *memStore { return &memStore{recs: map[int64]map[int]signing.KeyRecord{}} }

func (s *memStore) CurrentSigningKey(ctx context.Context, accountID int64) (signing.KeyRecord, error) {
	if s.onRead != nil {
		if err := s.onRead(ctx, accountID); err != nil {
			return signing.KeyRecord{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	var cur signing.KeyRecord
	for v, rec := range s.recs[accountID] {
		if v > cur.Version {
			cur = rec
		}
	}
	if cur.Version == 0 {
		return signing.KeyRecord{}, fmt.Errorf("signing key of account %d: %w", accountID, apierr.NotFound)
	}
	return cur, nil
}

func (s *memStore) PutSigningKey(_ context.Context, rec signing.KeyRecord) error {
	if s.beforePut != nil {
		if err := s.beforePut(rec); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.recs[rec.AccountID][rec.Version]; ok {
		return fmt.Errorf("signing key %d/%d: %w", rec.AccountID, rec.Version, apierr.Conflict)
	}
	if s.recs[rec.AccountID] == nil {
		s.recs[rec.AccountID] = map[int]signing.KeyRecord{}
	}
	s.recs[rec.AccountID][rec.Version] = rec
	return nil
}

func (s *memStore) Reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// update changes a stored record in place (to simulate corruption).
func (s *memStore) update(accountID int64, version int, f func(*signing.KeyRecord)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.recs[accountID][version]
	f(&rec)
	s.recs[accountID][version] = rec
}

const ttl = 30 * time.Second

// rig is one deployment: a store, a clock, and for the KMS modes a fake
// KMS. Each manager it makes is one process.
type rig struct {
	mode      string
	store     *memStore
	clock     *clocktest.Clock
	kms       *kmsfake.Server
	wrapKeyID string // envelope
	signKeyID string // kms
	kekPath   string // local
}

func newRig(t *testing.T, mode string) *rig {
	t.Helper()
	r := &rig{mode: mode, store: newMemStore(), clock: clocktest.New(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))}
	switch mode {
	case config.SigningLocal:
		r.kekPath = filepath.Join(t.TempDir(), "kek")
	case config.SigningEnvelope:
		r.kms = kmsfake.New(t)
		r.wrapKeyID = r.kms.CreateSymmetricKey()
	case config.SigningKMS:
		r.kms = kmsfake.New(t)
		r.signKeyID = r.kms.AddRSASigningKey(testKey())
	}
	return r
}

// manager starts a "process": a Manager with empty caches on the rig.
// Options change its configuration before it is built.
func (r *rig) manager(t *testing.T, options ...func(*signing.ManagerConfig)) *signing.Manager {
	t.Helper()
	c := signing.ManagerConfig{Store: r.store, Mode: r.mode, Rand: rand.Reader, Now: r.clock.Now, TTL: ttl}
	switch r.mode {
	case config.SigningLocal:
		w, err := signing.NewLocalWrapper(r.kekPath, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		c.Wrapper = w
	case config.SigningEnvelope:
		c.Wrapper = kmskeys.NewEnvelope(r.kms.Client(), r.wrapKeyID, rand.Reader)
	case config.SigningKMS:
		c.Source = kmskeys.NewSource(r.kms.Client(), r.signKeyID)
	}
	for _, o := range options {
		o(&c)
	}
	m, err := signing.NewManager(c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// signAndVerify signs msg with SHA-256 and SHA-512 through s and verifies
// both signatures with pub.
func signAndVerify(t *testing.T, s signing.Signer, pub *rsa.PublicKey, msg []byte) {
	t.Helper()
	ctx := context.Background()
	for _, tt := range []struct {
		h    crypto.Hash
		sign func(context.Context, signing.Signer, []byte) ([]byte, error)
	}{
		{crypto.SHA256, signing.SignSHA256},
		{crypto.SHA512, signing.SignSHA512},
	} {
		sig, err := tt.sign(ctx, s, msg)
		if err != nil {
			t.Fatalf("%v sign: %v", tt.h, err)
		}
		if err := signing.Verify(pub, tt.h, msg, sig); err != nil {
			t.Errorf("%v signature does not verify: %v", tt.h, err)
		}
	}
}

// TestEveryModeVerifiesWithExportedXML is the acceptance test: in every
// mode, signatures made by the creating process and by a cold process
// verify with the public key parsed back from its .NET XML export.
func TestEveryModeVerifiesWithExportedXML(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []string{config.SigningLocal, config.SigningEnvelope, config.SigningKMS} {
		t.Run(mode, func(t *testing.T) {
			r := newRig(t, mode)
			admin := r.manager(t)
			rec, err := admin.Create(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if rec.AccountID != 1 || rec.Version != 1 || rec.Mode != mode || !rec.Created.Equal(r.clock.Now()) {
				t.Errorf("record = %d/v%d mode %q created %v, want 1/v1 mode %q created %v", rec.AccountID, rec.Version, rec.Mode, rec.Created, mode, r.clock.Now())
			}
			var wantKMSKeyID string
			switch mode {
			case config.SigningEnvelope:
				wantKMSKeyID = kmsfake.KeyARN(r.wrapKeyID)
			case config.SigningKMS:
				wantKMSKeyID = kmsfake.KeyARN(r.signKeyID)
			}
			if rec.KMSKeyID != wantKMSKeyID {
				t.Errorf("KMSKeyID = %q, want %q", rec.KMSKeyID, wantKMSKeyID)
			}
			if got, want := len(rec.WrappedPrivateKey) > 0, mode != config.SigningKMS; got != want {
				t.Errorf("has wrapped private key: %v, want %v", got, want)
			}
			if got, want := len(rec.WrappedDataKey) > 0, mode == config.SigningEnvelope; got != want {
				t.Errorf("has wrapped data key: %v, want %v", got, want)
			}
			pub, version, err := admin.PublicKey(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if version != 1 || pub.N.BitLen() != 2048 {
				t.Errorf("PublicKey = %d-bit v%d, want 2048-bit v1", pub.N.BitLen(), version)
			}
			if der, _ := x509.MarshalPKIXPublicKey(pub); !bytes.Equal(der, rec.PublicKeyDER) {
				t.Error("PublicKey differs from the record's PublicKeyDER")
			}
			xmlPub, err := signing.ParseXML(signing.XML(pub))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []struct {
				name string
				m    *signing.Manager
			}{{"creating process", admin}, {"cold process", r.manager(t)}} {
				t.Run(p.name, func(t *testing.T) {
					s, err := p.m.SignerFor(ctx, 1)
					if err != nil {
						t.Fatal(err)
					}
					if !s.Public().Equal(pub) {
						t.Error("Signer.Public differs from PublicKey")
					}
					signAndVerify(t, s, xmlPub, []byte(`{"ProductId":4848,"Key":"BPPQM-RQKNJ-CLPLG-SJTTR"}`))
				})
			}
		})
	}
}

func TestSignerForUnwrapsOnceAndReadsStoreOncePerTTL(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, config.SigningEnvelope)
	if _, err := r.manager(t).Create(ctx, 1); err != nil {
		t.Fatal(err)
	}
	r.kms.ResetCalls()
	reads0 := r.store.Reads()
	m := r.manager(t)
	pub, _, err := r.manager(t).PublicKey(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	reads0++

	// Concurrent first calls in a cold process share one read and one unwrap.
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			s, err := m.SignerFor(ctx, 1)
			if err != nil {
				t.Error(err)
				return
			}
			sig, err := signing.SignSHA256(ctx, s, []byte{byte(i)})
			if err != nil {
				t.Error(err)
				return
			}
			if err := signing.Verify(pub, crypto.SHA256, []byte{byte(i)}, sig); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, want := r.kms.Calls(kmsfake.OpDecrypt), 1; got != want {
		t.Errorf("after concurrent first calls: Decrypt calls = %d, want %d", got, want)
	}
	if got, want := r.store.Reads()-reads0, 1; got != want {
		t.Errorf("after concurrent first calls: store reads = %d, want %d", got, want)
	}

	// 100 seconds of traffic with a 30s TTL: reads at 30s, 60s and 90s.
	for range 100 {
		r.clock.Advance(time.Second)
		s, err := m.SignerFor(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := signing.SignSHA512(ctx, s, []byte("metadata")); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := r.store.Reads()-reads0, 4; got != want {
		t.Errorf("after 100s: store reads = %d, want %d", got, want)
	}
	if got, want := r.kms.Calls(kmsfake.OpDecrypt), 1; got != want {
		t.Errorf("after 100s: Decrypt calls = %d, want %d", got, want)
	}
}

func TestRotation(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, config.SigningEnvelope)
	admin := r.manager(t)
	signer := r.manager(t) // a warm API process
	viewer := r.manager(t) // another process serving the admin API
	v1, err := admin.Create(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.SignerFor(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	pub1, _ := v1.PublicKey()
	if !s.Public().Equal(pub1) {
		t.Fatal("warm process does not sign with v1")
	}
	if _, _, err := viewer.PublicKey(ctx, 1); err != nil {
		t.Fatal(err)
	}

	r.clock.Advance(time.Second)
	v2, err := admin.Create(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	pub2, _ := v2.PublicKey()
	if v2.Version != 2 || pub2.Equal(pub1) {
		t.Fatalf("rotation made version %d (new key: %v), want a new key as version 2", v2.Version, !pub2.Equal(pub1))
	}
	xml2, err := signing.ParseXML(signing.XML(pub2))
	if err != nil {
		t.Fatal(err)
	}

	readsBefore := r.store.Reads()
	s, err = admin.SignerFor(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Public().Equal(pub2) || r.store.Reads() != readsBefore {
		t.Error("the rotating process does not sign with v2 at once, without a store read")
	}

	s, err = signer.SignerFor(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Public().Equal(pub1) {
		t.Error("within the TTL a warm process should still sign with v1")
	}

	pub, version, err := viewer.PublicKey(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if version != 2 || !pub.Equal(pub2) {
		t.Errorf("PublicKey in another process = v%d, want v2 at once", version)
	}

	r.clock.Advance(ttl)
	s, err = signer.SignerFor(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Public().Equal(pub2) {
		t.Fatal("after the TTL the warm process does not sign with v2")
	}
	signAndVerify(t, s, xml2, []byte("after rotation"))
	// The creating process never decrypts; the warm process decrypted v1 and v2.
	if got, want := r.kms.Calls(kmsfake.OpDecrypt), 2; got != want {
		t.Errorf("Decrypt calls = %d, want %d", got, want)
	}
}

func TestNoKeyIsNotFoundAndNotCached(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, config.SigningLocal)
	m := r.manager(t)
	if _, err := m.SignerFor(ctx, 5); !errors.Is(err, apierr.NotFound) {
		t.Errorf("SignerFor = %v, want apierr.NotFound", err)
	}
	if _, _, err := m.PublicKey(ctx, 5); !errors.Is(err, apierr.NotFound) {
		t.Errorf("PublicKey = %v, want apierr.NotFound", err)
	}
	if _, err := r.manager(t).Create(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SignerFor(ctx, 5); err != nil {
		t.Errorf("after another process created the key: %v", err)
	}
}

func TestCreateConflictDoesNotOverwrite(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, config.SigningLocal)
	m := r.manager(t)
	winner := signing.KeyRecord{AccountID: 3, Version: 1, Mode: config.SigningLocal, PublicKeyDER: []byte("winner")}
	r.store.beforePut = func(signing.KeyRecord) error {
		// Another process creates version 1 between our read and our
		// write (the hook is removed first so that put does not recurse).
		r.store.beforePut = nil
		if err := r.store.PutSigningKey(ctx, winner); err != nil {
			t.Error(err)
		}
		return nil
	}
	_, err := m.Create(ctx, 3)
	if !errors.Is(err, apierr.Conflict) {
		t.Fatalf("Create = %v, want apierr.Conflict", err)
	}
	got, err := r.store.CurrentSigningKey(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 || string(got.PublicKeyDER) != "winner" {
		t.Errorf("stored record = v%d %q, want the winner's v1", got.Version, got.PublicKeyDER)
	}
	// Trying again rotates past the winner.
	r.store.beforePut = nil
	rec, err := m.Create(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Version != 2 {
		t.Errorf("retry created version %d, want 2", rec.Version)
	}
}

func TestCreateStoreReadError(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, config.SigningLocal)
	boom := errors.New("dynamodb unavailable")
	r.store.onRead = func(context.Context, int64) error { return boom }
	m := r.manager(t)
	if _, err := m.Create(ctx, 1); !errors.Is(err, boom) {
		t.Errorf("Create = %v, want it to wrap %v", err, boom)
	}
	if _, err := m.SignerFor(ctx, 1); !errors.Is(err, boom) {
		t.Errorf("SignerFor = %v, want it to wrap %v", err, boom)
	}
}

func TestUnwrapFailureIsNotCached(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, config.SigningEnvelope)
	if _, err := r.manager(t).Create(ctx, 1); err != nil {
		t.Fatal(err)
	}
	r.kms.ResetCalls()
	m := r.manager(t)
	r.kms.Fail(kmsfake.OpDecrypt, "DisabledException")
	if _, err := m.SignerFor(ctx, 1); err == nil || !strings.Contains(err.Error(), "DisabledException") {
		t.Fatalf("SignerFor with KMS failing = %v, want the KMS error", err)
	}
	r.kms.Fail(kmsfake.OpDecrypt, "")
	if _, err := m.SignerFor(ctx, 1); err != nil {
		t.Fatalf("SignerFor after KMS recovered: %v", err)
	}
	if got, want := r.kms.Calls(kmsfake.OpDecrypt), 2; got != want {
		t.Errorf("Decrypt calls = %d, want %d", got, want)
	}
}

func TestSignerForRejectsInconsistentRecords(t *testing.T) {
	ctx := context.Background()
	local := newRig(t, config.SigningLocal)
	if _, err := local.manager(t).Create(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := local.manager(t).Create(ctx, 2); err != nil {
		t.Fatal(err)
	}
	otherDER, err := x509.MarshalPKIXPublicKey(&testKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	local.store.update(2, 1, func(rec *signing.KeyRecord) { rec.PublicKeyDER = otherDER })

	kmsRig := newRig(t, config.SigningKMS)
	kmsRig.store = local.store // a kms-mode process reading local-mode records
	envRig := newRig(t, config.SigningEnvelope)
	envRig.store = local.store

	tests := []struct {
		name    string
		m       *signing.Manager
		account int64
		want    string
	}{
		{"public key does not match private key", local.manager(t), 2, "does not match"},
		{"local record in kms mode", kmsRig.manager(t), 1, "mode"},
		{"local record in envelope mode", envRig.manager(t), 1, "mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.m.SignerFor(ctx, tt.account)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("SignerFor = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestNewManagerValidates(t *testing.T) {
	st := newMemStore()
	w, err := signing.NewLocalWrapper(filepath.Join(t.TempDir(), "kek"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	src := kmskeys.NewSource(nil, "k")
	tests := []struct {
		name    string
		c       signing.ManagerConfig
		wantErr bool
	}{
		{"local", signing.ManagerConfig{Store: st, Mode: config.SigningLocal, Wrapper: w}, false},
		{"envelope", signing.ManagerConfig{Store: st, Mode: config.SigningEnvelope, Wrapper: w}, false},
		{"kms", signing.ManagerConfig{Store: st, Mode: config.SigningKMS, Source: src}, false},
		{"no store", signing.ManagerConfig{Mode: config.SigningLocal, Wrapper: w}, true},
		{"unknown mode", signing.ManagerConfig{Store: st, Mode: "hsm", Wrapper: w}, true},
		{"empty mode", signing.ManagerConfig{Store: st, Wrapper: w}, true},
		{"local without wrapper", signing.ManagerConfig{Store: st, Mode: config.SigningLocal, Source: src}, true},
		{"envelope without wrapper", signing.ManagerConfig{Store: st, Mode: config.SigningEnvelope}, true},
		{"kms without source", signing.ManagerConfig{Store: st, Mode: config.SigningKMS, Wrapper: w}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := signing.NewManager(tt.c)
			if (err != nil) != tt.wantErr {
				t.Errorf("NewManager = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
