// Package signing owns Keyturn's per-account response-signing keys.
//
// Every account has an RSA-2048 key pair. Web API 3 responses are signed
// with RSASSA-PKCS1-v1_5: SHA-256 for license signatures, SHA-512 for
// metadata signatures (see WIRE-COMPAT.md). The public key is exported to
// vendors as .NET XML, PEM and JWK.
//
// The private key is protected in one of three modes (Mode*):
//
//   - envelope: the PKCS#8 private key is sealed with AES-256-GCM under a
//     per-record data key from KMS GenerateDataKey; the encrypted data key
//     is stored next to it and decrypted once per process.
//   - local: the same AES-256-GCM sealing, but the key-encryption key is a
//     32-byte file on disk (development and tests; see LocalWrapper).
//   - kms: the private key never leaves KMS; every signature is a KMS Sign
//     call through a KeySource.
//
// This package imports nothing from AWS. The KMS adapter is the subpackage
// kmskeys; the DynamoDB KeyStore is shared/dynamo/catalogstore.
package signing

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"time"
)

// Protection modes of signing keys (the values of KEYTURN_SIGNING_MODE).
const (
	ModeEnvelope = "envelope"
	ModeKMS      = "kms"
	ModeLocal    = "local"
)

// KeyBits is the size of every generated signing key. The Cryptolens wire
// format requires RSA-2048.
const KeyBits = 2048

// ErrUnsupportedHash is returned by Signers and Verify for hash functions
// other than SHA-256 and SHA-512.
var ErrUnsupportedHash = errors.New("signing: unsupported hash (want SHA-256 or SHA-512)")

// Signer produces RSASSA-PKCS1-v1_5 signatures with one account key.
// Implementations are safe for concurrent use.
type Signer interface {
	// Sign signs digest, the output of hash h over the message. h must be
	// crypto.SHA256 or crypto.SHA512 and len(digest) must be h.Size();
	// otherwise Sign returns an error wrapping ErrUnsupportedHash or a
	// length error. Errors from a remote key service are returned wrapped.
	Sign(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error)
	// Public returns the public key matching the signatures. Callers must
	// not modify it.
	Public() *rsa.PublicKey
}

// SignSHA256 hashes msg with SHA-256 and signs the digest with s (the
// license-signature algorithm). Errors are those of s.Sign.
func SignSHA256(ctx context.Context, s Signer, msg []byte) ([]byte, error) {
	d := sha256.Sum256(msg)
	return s.Sign(ctx, crypto.SHA256, d[:])
}

// SignSHA512 hashes msg with SHA-512 and signs the digest with s (the
// metadata-signature algorithm). Errors are those of s.Sign.
func SignSHA512(ctx context.Context, s Signer, msg []byte) ([]byte, error) {
	d := sha512.Sum512(msg)
	return s.Sign(ctx, crypto.SHA512, d[:])
}

// ValidateDigest reports whether h is a supported hash (SHA-256 or
// SHA-512) and digest has its length. It returns an error wrapping
// ErrUnsupportedHash for other hashes. Signer implementations call it
// before signing.
func ValidateDigest(h crypto.Hash, digest []byte) error {
	if h != crypto.SHA256 && h != crypto.SHA512 {
		return fmt.Errorf("%w: %v", ErrUnsupportedHash, h)
	}
	if len(digest) != h.Size() {
		return fmt.Errorf("signing: %v digest has %d bytes, want %d", h, len(digest), h.Size())
	}
	return nil
}

// rsaSigner signs in process with a private key.
type rsaSigner struct{ key *rsa.PrivateKey }

// NewRSASigner returns a Signer that signs in process with key. The key
// must not be modified afterwards.
func NewRSASigner(key *rsa.PrivateKey) Signer { return rsaSigner{key: key} }

func (s rsaSigner) Sign(_ context.Context, h crypto.Hash, digest []byte) ([]byte, error) {
	if err := ValidateDigest(h, digest); err != nil {
		return nil, err
	}
	sig, err := rsa.SignPKCS1v15(nil, s.key, h, digest)
	if err != nil {
		return nil, fmt.Errorf("signing: rsa sign: %w", err)
	}
	return sig, nil
}

func (s rsaSigner) Public() *rsa.PublicKey { return &s.key.PublicKey }

// KeyRecord is one stored version of an account's signing key. The record
// never holds the private key in the clear.
type KeyRecord struct {
	AccountID int64
	// Version starts at 1 and increases by one with every rotation; the
	// highest version is the current key.
	Version int
	// Mode is the protection mode the record was created in
	// (ModeEnvelope, ModeKMS or ModeLocal).
	Mode string
	// PublicKeyDER is the PKIX (SubjectPublicKeyInfo) DER public key.
	PublicKeyDER []byte
	// WrappedPrivateKey is the sealed PKCS#8 private key (envelope and
	// local modes): nonce || AES-256-GCM ciphertext, see SealPrivateKey.
	WrappedPrivateKey []byte
	// WrappedDataKey is the KMS CiphertextBlob of the data key that sealed
	// WrappedPrivateKey (envelope mode only).
	WrappedDataKey []byte
	// KMSKeyID is the KMS key that protects this record: the symmetric
	// wrapping key in envelope mode, the asymmetric signing key in kms
	// mode; empty in local mode.
	KMSKeyID string
	Created  time.Time
}

// PublicKey parses PublicKeyDER. It returns an error when the record has
// no RSA public key.
func (r KeyRecord) PublicKey() (*rsa.PublicKey, error) {
	return ParsePublicKeyDER(r.PublicKeyDER)
}

// KeyStore persists key records. The DynamoDB implementation is
// shared/dynamo/catalogstore.
type KeyStore interface {
	// CurrentSigningKey returns the account's record with the highest
	// version, or an error wrapping apierr.NotFound when it has none.
	CurrentSigningKey(ctx context.Context, accountID int64) (KeyRecord, error)
	// PutSigningKey stores rec. It returns an error wrapping
	// apierr.Conflict when (rec.AccountID, rec.Version) already exists and
	// never overwrites an existing record.
	PutSigningKey(ctx context.Context, rec KeyRecord) error
}

// KeyWrapper protects private keys (PKCS#8 DER) at rest in envelope and
// local modes. Implementations seal with SealPrivateKey and open with
// OpenPrivateKey so the two modes share one AES-GCM code path; only the
// source of the key-encryption key differs.
type KeyWrapper interface {
	// Wrap seals plaintext for the record (accountID, version). It returns
	// the sealed key, the wrapped data key (nil when the key-encryption key
	// is not per record) and the id of the protecting KMS key ("" when not
	// KMS).
	Wrap(ctx context.Context, accountID int64, version int, plaintext []byte) (wrappedPrivateKey, wrappedDataKey []byte, kmsKeyID string, err error)
	// Unwrap returns the PKCS#8 plaintext of rec.WrappedPrivateKey. It
	// fails when the key-encryption key is wrong or the record was
	// tampered with (including a changed AccountID or Version).
	Unwrap(ctx context.Context, rec KeyRecord) ([]byte, error)
}

// KeySource gives access to an asymmetric key that never leaves an
// external key service (kms mode). The KMS implementation is
// kmskeys.Source.
type KeySource interface {
	// KeyID returns the configured key that new records are bound to.
	KeyID() string
	// PublicKey fetches the public key of keyID. It also returns the
	// canonical id of the key (its ARN), which is what records store, so
	// that re-pointing an alias cannot silently change a record's key. It
	// returns an error when the key is missing or is not an RSA-2048
	// signing key.
	PublicKey(ctx context.Context, keyID string) (pub *rsa.PublicKey, canonicalID string, err error)
	// Signer returns a Signer that signs remotely with keyID, whose public
	// key is pub. It does not contact the service.
	Signer(keyID string, pub *rsa.PublicKey) Signer
}
