package signing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// SealedSecret is an account secret other than a signing key (a payment
// processor's API key, a webhook signing secret) as it is stored: sealed
// with AES-256-GCM under the same key-encryption key that protects the
// account's signing keys (a KMS data key in envelope mode, the local file
// in local mode). The plaintext is never stored.
type SealedSecret struct {
	// Ciphertext is nonce (12 bytes) || AES-256-GCM ciphertext || tag.
	Ciphertext []byte
	// WrappedDataKey is the KMS CiphertextBlob of the data key that sealed
	// Ciphertext (envelope mode only).
	WrappedDataKey []byte
	// KMSKeyID is the KMS key that protects the data key ("" in local
	// mode).
	KMSKeyID string
}

// SecretWrapper seals and opens account secrets. LocalWrapper and
// kmskeys.Envelope implement it with the same key material they use for
// signing keys. A sealed secret is bound to its account and name: it does
// not open under another account or name, and signing keys and secrets
// cannot be swapped for one another.
type SecretWrapper interface {
	// SealSecret seals plaintext as the secret name of the account.
	SealSecret(ctx context.Context, accountID int64, name string, plaintext []byte) (SealedSecret, error)
	// OpenSecret returns the plaintext of s, sealed as the secret name of
	// the account. It returns an error wrapping ErrUnwrap when s does not
	// authenticate (wrong key, tampered data, other account or name).
	OpenSecret(ctx context.Context, accountID int64, name string, s SealedSecret) ([]byte, error)
}

// secretAAD binds a sealed secret to its account and name. Its prefix
// differs from keyAAD's, so a signing key never opens as a secret and a
// secret never opens as a signing key.
func secretAAD(accountID int64, name string) []byte {
	return []byte("keyturn/account-secret/v1/" + strconv.FormatInt(accountID, 10) + "/" + name)
}

// SealSecretWith seals plaintext as the secret name of the account with
// AES-256-GCM under kek (nonce from random). The result is nonce ||
// ciphertext || tag. It returns an error when kek is not KEKSize bytes or
// random fails.
func SealSecretWith(random io.Reader, kek []byte, accountID int64, name string, plaintext []byte) ([]byte, error) {
	if name == "" {
		return nil, errors.New("signing: a sealed secret needs a name")
	}
	aead, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := io.ReadFull(random, out); err != nil {
		return nil, fmt.Errorf("signing: read nonce: %w", err)
	}
	return aead.Seal(out, out, plaintext, secretAAD(accountID, name)), nil
}

// OpenSecretWith reverses SealSecretWith. It returns an error wrapping
// ErrUnwrap when sealed does not authenticate under kek for the account
// and name.
func OpenSecretWith(kek []byte, accountID int64, name string, sealed []byte) ([]byte, error) {
	aead, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: secret %q of account %d: too short", ErrUnwrap, name, accountID)
	}
	n := aead.NonceSize()
	pt, err := aead.Open(nil, sealed[:n], sealed[n:], secretAAD(accountID, name))
	if err != nil {
		return nil, fmt.Errorf("%w: secret %q of account %d", ErrUnwrap, name, accountID)
	}
	return pt, nil
}

var _ SecretWrapper = (*LocalWrapper)(nil)

// SealSecret seals plaintext under the file key.
func (w *LocalWrapper) SealSecret(_ context.Context, accountID int64, name string, plaintext []byte) (SealedSecret, error) {
	ct, err := SealSecretWith(w.random, w.kek, accountID, name, plaintext)
	return SealedSecret{Ciphertext: ct}, err
}

// OpenSecret opens s with the file key.
func (w *LocalWrapper) OpenSecret(_ context.Context, accountID int64, name string, s SealedSecret) ([]byte, error) {
	return OpenSecretWith(w.kek, accountID, name, s.Ciphertext)
}
