package signing

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// KEKSize is the size in bytes of a key-encryption key (AES-256).
const KEKSize = 32

// ErrUnwrap is wrapped by OpenPrivateKey when a sealed key does not
// authenticate: wrong key-encryption key, corrupted data, or a record whose
// account or version was changed.
var ErrUnwrap = errors.New("signing: wrapped private key does not authenticate")

// keyAAD binds a sealed private key to its account and version so that a
// sealed key copied into another record does not open.
func keyAAD(accountID int64, version int) []byte {
	return []byte("keyturn/signing-key/v1/" + strconv.FormatInt(accountID, 10) + "/" + strconv.Itoa(version))
}

func newGCM(kek []byte) (cipher.AEAD, error) {
	if len(kek) != KEKSize {
		return nil, fmt.Errorf("signing: key-encryption key has %d bytes, want %d", len(kek), KEKSize)
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return cipher.NewGCM(block)
}

// SealPrivateKey encrypts plaintext (a PKCS#8 private key) with AES-256-GCM
// under kek, with the account id and version as additional authenticated
// data. The result is nonce (12 bytes) || ciphertext || tag. The nonce is
// read from random. It returns an error when kek is not KEKSize bytes or
// random fails. Both KeyWrapper implementations (local and KMS envelope)
// use it.
func SealPrivateKey(random io.Reader, kek []byte, accountID int64, version int, plaintext []byte) ([]byte, error) {
	aead, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := io.ReadFull(random, out); err != nil {
		return nil, fmt.Errorf("signing: read nonce: %w", err)
	}
	return aead.Seal(out, out, plaintext, keyAAD(accountID, version)), nil
}

// OpenPrivateKey reverses SealPrivateKey for rec.WrappedPrivateKey, using
// rec.AccountID and rec.Version as additional authenticated data. It
// returns an error wrapping ErrUnwrap when the data does not authenticate,
// and another error when kek is not KEKSize bytes.
func OpenPrivateKey(kek []byte, rec KeyRecord) ([]byte, error) {
	aead, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	sealed := rec.WrappedPrivateKey
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: account %d version %d: too short", ErrUnwrap, rec.AccountID, rec.Version)
	}
	n := aead.NonceSize()
	pt, err := aead.Open(nil, sealed[:n], sealed[n:], keyAAD(rec.AccountID, rec.Version))
	if err != nil {
		return nil, fmt.Errorf("%w: account %d version %d", ErrUnwrap, rec.AccountID, rec.Version)
	}
	return pt, nil
}
