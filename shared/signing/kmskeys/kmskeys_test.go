package kmskeys_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/keyturn/keyturn/shared/kmsfake"
	"github.com/keyturn/keyturn/shared/signing"
	"github.com/keyturn/keyturn/shared/signing/kmskeys"
)

var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// fakeKMS is a KMSAPI whose methods are function fields; nil fields fail
// the call.
type fakeKMS struct {
	sign            func(*kms.SignInput) (*kms.SignOutput, error)
	getPublicKey    func(*kms.GetPublicKeyInput) (*kms.GetPublicKeyOutput, error)
	generateDataKey func(*kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error)
	decrypt         func(*kms.DecryptInput) (*kms.DecryptOutput, error)
}

var errNotFaked = errors.New("not faked")

func (f fakeKMS) Sign(_ context.Context, in *kms.SignInput, _ ...func(*kms.Options)) (*kms.SignOutput, error) {
	if f.sign == nil {
		return nil, errNotFaked
	}
	return f.sign(in)
}

func (f fakeKMS) GetPublicKey(_ context.Context, in *kms.GetPublicKeyInput, _ ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error) {
	if f.getPublicKey == nil {
		return nil, errNotFaked
	}
	return f.getPublicKey(in)
}

func (f fakeKMS) GenerateDataKey(_ context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	if f.generateDataKey == nil {
		return nil, errNotFaked
	}
	return f.generateDataKey(in)
}

func (f fakeKMS) Decrypt(_ context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	if f.decrypt == nil {
		return nil, errNotFaked
	}
	return f.decrypt(in)
}

func TestEnvelopeRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := kmsfake.New(t)
	id := s.CreateSymmetricKey()
	s.CreateAlias("keyturn-wrap", id)
	w := kmskeys.NewEnvelope(s.Client(), "alias/keyturn-wrap", rand.Reader)
	secret := []byte("pkcs8 private key bytes")
	sealed, dataKey, kmsKeyID, err := w.Wrap(ctx, 42, 3, secret)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := kmsKeyID, kmsfake.KeyARN(id); got != want {
		t.Errorf("kmsKeyID = %q, want the key ARN %q", got, want)
	}
	if bytes.Contains(sealed, secret) || len(dataKey) == 0 {
		t.Fatalf("sealed key leaks plaintext or data key missing")
	}
	rec := signing.KeyRecord{AccountID: 42, Version: 3, Mode: "envelope", WrappedPrivateKey: sealed, WrappedDataKey: dataKey, KMSKeyID: kmsKeyID}
	got, err := w.Unwrap(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, secret) {
		t.Errorf("Unwrap = %q, want %q", got, secret)
	}
	if got, want := s.Calls(kmsfake.OpDecrypt), 1; got != want {
		t.Errorf("Decrypt calls = %d, want %d", got, want)
	}

	moved := rec
	moved.AccountID = 43
	otherSealed := rec
	otherSealed.WrappedPrivateKey = bytes.Clone(sealed)
	otherSealed.WrappedPrivateKey[20] ^= 1
	noDataKey := rec
	noDataKey.WrappedDataKey = nil
	tests := []struct {
		name     string
		rec      signing.KeyRecord
		wantKMS  bool // the error comes from KMS (encryption context mismatch)
		wantOpen bool // the error is signing.ErrUnwrap
	}{
		{"record moved to another account", moved, true, false},
		{"sealed key tampered", otherSealed, false, true},
		{"no data key", noDataKey, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.Unwrap(ctx, tt.rec)
			if err == nil {
				t.Fatal("Unwrap succeeded, want an error")
			}
			var ic *types.InvalidCiphertextException
			if got := errors.As(err, &ic); got != tt.wantKMS {
				t.Errorf("InvalidCiphertextException: %v, want %v (%v)", got, tt.wantKMS, err)
			}
			if got := errors.Is(err, signing.ErrUnwrap); got != tt.wantOpen {
				t.Errorf("ErrUnwrap: %v, want %v (%v)", got, tt.wantOpen, err)
			}
		})
	}
}

func TestSourceSigns(t *testing.T) {
	ctx := context.Background()
	s := kmsfake.New(t)
	id := s.AddRSASigningKey(rsaKey())
	src := kmskeys.NewSource(s.Client(), id)
	if got := src.KeyID(); got != id {
		t.Errorf("KeyID = %q, want %q", got, id)
	}
	pub, canonical, err := src.PublicKey(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(&rsaKey().PublicKey) {
		t.Fatal("PublicKey returned another key")
	}
	if got, want := canonical, kmsfake.KeyARN(id); got != want {
		t.Errorf("canonical id = %q, want %q", got, want)
	}
	signer := src.Signer(canonical, pub)
	msg := []byte("license")
	for _, tt := range []struct {
		h    crypto.Hash
		sign func(context.Context, signing.Signer, []byte) ([]byte, error)
	}{
		{crypto.SHA256, signing.SignSHA256},
		{crypto.SHA512, signing.SignSHA512},
	} {
		sig, err := tt.sign(ctx, signer, msg)
		if err != nil {
			t.Fatalf("%v: %v", tt.h, err)
		}
		if err := signing.Verify(signer.Public(), tt.h, msg, sig); err != nil {
			t.Errorf("%v signature does not verify: %v", tt.h, err)
		}
	}
	if got, want := s.Calls(kmsfake.OpSign), 2; got != want {
		t.Errorf("Sign calls = %d, want %d", got, want)
	}
	d := sha256.Sum256(msg)
	if _, err := signer.Sign(ctx, crypto.SHA1, d[:20]); !errors.Is(err, signing.ErrUnsupportedHash) {
		t.Errorf("SHA-1: %v, want ErrUnsupportedHash", err)
	}
	if _, err := signer.Sign(ctx, crypto.SHA512, d[:]); err == nil {
		t.Error("SHA-512 with a 32-byte digest succeeded")
	}
	if got, want := s.Calls(kmsfake.OpSign), 2; got != want {
		t.Errorf("invalid digests reached KMS: Sign calls = %d, want %d", got, want)
	}
}

func TestSourceRejectsWrongKeys(t *testing.T) {
	ctx := context.Background()
	s := kmsfake.New(t)
	sym := s.CreateSymmetricKey()
	src := kmskeys.NewSource(s.Client(), sym)
	if _, _, err := src.PublicKey(ctx, sym); err == nil {
		t.Error("PublicKey of a symmetric key succeeded")
	}
	_, _, err := src.PublicKey(ctx, "00000000-0000-0000-0000-000000000000")
	var nf *types.NotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("unknown key: %v, want *types.NotFoundException", err)
	}
	// A key KMS reports with another spec is refused even if it parses.
	fake := fakeKMS{getPublicKey: func(*kms.GetPublicKeyInput) (*kms.GetPublicKeyOutput, error) {
		return &kms.GetPublicKeyOutput{KeySpec: types.KeySpecRsa4096, KeyUsage: types.KeyUsageTypeSignVerify}, nil
	}}
	if _, _, err := kmskeys.NewSource(fake, "k").PublicKey(ctx, "k"); err == nil || !strings.Contains(err.Error(), "RSA_4096") {
		t.Errorf("RSA_4096 key: %v, want a spec error", err)
	}
}

// TestErrorsWrapped checks that KMS failures keep their cause and say
// which operation and key failed, and never include key material.
func TestErrorsWrapped(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	secretDataKey := bytes.Repeat([]byte{0xAB}, 32)
	fake := fakeKMS{
		sign:            func(*kms.SignInput) (*kms.SignOutput, error) { return nil, boom },
		getPublicKey:    func(*kms.GetPublicKeyInput) (*kms.GetPublicKeyOutput, error) { return nil, boom },
		generateDataKey: func(*kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) { return nil, boom },
		decrypt: func(*kms.DecryptInput) (*kms.DecryptOutput, error) {
			return &kms.DecryptOutput{Plaintext: bytes.Clone(secretDataKey)}, nil
		},
	}
	env := kmskeys.NewEnvelope(fake, "wrap-key", nil)
	src := kmskeys.NewSource(fake, "sign-key")
	d512 := sha512.Sum512([]byte("m"))
	tests := []struct {
		name      string
		call      func() error
		wantIn    []string
		wantCause error
	}{
		{"GenerateDataKey", func() error { _, _, _, err := env.Wrap(ctx, 1, 1, []byte("k")); return err }, []string{"GenerateDataKey", "wrap-key"}, boom},
		{"GetPublicKey", func() error { _, _, err := src.PublicKey(ctx, "sign-key"); return err }, []string{"GetPublicKey", "sign-key"}, boom},
		{"Sign", func() error {
			_, err := src.Signer("sign-key", &rsaKey().PublicKey).Sign(ctx, crypto.SHA512, d512[:])
			return err
		}, []string{"Sign", "sign-key"}, boom},
		{"Unwrap with a wrong data key", func() error {
			_, err := env.Unwrap(ctx, signing.KeyRecord{AccountID: 1, Version: 1, WrappedPrivateKey: bytes.Repeat([]byte{1}, 64), WrappedDataKey: []byte("blob"), KMSKeyID: "wrap-key"})
			return err
		}, []string{"account 1"}, signing.ErrUnwrap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.wantCause) {
				t.Fatalf("error %v, want it to wrap %v", err, tt.wantCause)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if strings.Contains(strings.ToLower(err.Error()), "abab") || bytes.Contains([]byte(err.Error()), secretDataKey) {
				t.Errorf("error %q contains key material", err)
			}
		})
	}
}
