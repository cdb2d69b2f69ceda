package kmskeys_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/keyturn/keyturn/shared/kmsfake"
	"github.com/keyturn/keyturn/shared/signing"
	"github.com/keyturn/keyturn/shared/signing/kmskeys"
)

// TestEnvelopeSecrets: account secrets seal under a KMS data key (one
// GenerateDataKey), open with one Decrypt, and do not open under another
// account or name, nor as a signing key (and a signing key does not open
// as a secret).
func TestEnvelopeSecrets(t *testing.T) {
	ctx := context.Background()
	s := kmsfake.New(t)
	id := s.CreateSymmetricKey()
	w := kmskeys.NewEnvelope(s.Client(), id, rand.Reader)
	plain := []byte("sk_test_51Hsecret")
	sealed, err := w.SealSecret(ctx, 7, "stripe", plain)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed.WrappedDataKey) == 0 || sealed.KMSKeyID == "" || string(sealed.Ciphertext) == string(plain) {
		t.Fatalf("sealed = %+v", sealed)
	}
	got, err := w.OpenSecret(ctx, 7, "stripe", sealed)
	if err != nil || string(got) != string(plain) {
		t.Fatalf("OpenSecret = %q, %v; want %q", got, err, plain)
	}
	if g, d := s.Calls(kmsfake.OpGenerateDataKey), s.Calls(kmsfake.OpDecrypt); g != 1 || d != 1 {
		t.Errorf("KMS calls: GenerateDataKey %d, Decrypt %d; want 1 and 1", g, d)
	}
	for _, tt := range []struct {
		account int64
		name    string
	}{{8, "stripe"}, {7, "other"}} {
		if _, err := w.OpenSecret(ctx, tt.account, tt.name, sealed); err == nil {
			t.Errorf("OpenSecret(%d, %q) of account 7's stripe secret succeeded", tt.account, tt.name)
		}
	}
	// The same data key and ciphertext presented as a signing key record
	// of the account do not unwrap.
	rec := signing.KeyRecord{AccountID: 7, Version: 1, WrappedPrivateKey: sealed.Ciphertext, WrappedDataKey: sealed.WrappedDataKey, KMSKeyID: sealed.KMSKeyID}
	if _, err := w.Unwrap(ctx, rec); err == nil {
		t.Error("a sealed secret unwrapped as a signing key")
	}
	wk, dk, kid, err := w.Wrap(ctx, 7, 1, []byte("private key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.OpenSecret(ctx, 7, "stripe", signing.SealedSecret{Ciphertext: wk, WrappedDataKey: dk, KMSKeyID: kid}); err == nil {
		t.Error("a wrapped signing key opened as a secret")
	}
}

// TestLocalSecrets: the local wrapper seals with the file key; a changed
// byte, another account or another name does not open.
func TestLocalSecrets(t *testing.T) {
	ctx := context.Background()
	w, err := signing.NewLocalWrapper(t.TempDir()+"/kek", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := w.SealSecret(ctx, 3, "stripe", []byte("whsec_abc"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := w.OpenSecret(ctx, 3, "stripe", sealed); err != nil || string(got) != "whsec_abc" {
		t.Fatalf("OpenSecret = %q, %v", got, err)
	}
	tampered := signing.SealedSecret{Ciphertext: append([]byte(nil), sealed.Ciphertext...)}
	tampered.Ciphertext[len(tampered.Ciphertext)-1] ^= 1
	cases := map[string]func() error{
		"tampered":      func() error { _, err := w.OpenSecret(ctx, 3, "stripe", tampered); return err },
		"other account": func() error { _, err := w.OpenSecret(ctx, 4, "stripe", sealed); return err },
		"other name":    func() error { _, err := w.OpenSecret(ctx, 3, "webhook", sealed); return err },
	}
	for name, open := range cases {
		if err := open(); !errors.Is(err, signing.ErrUnwrap) {
			t.Errorf("%s: err = %v, want ErrUnwrap", name, err)
		}
	}
}
