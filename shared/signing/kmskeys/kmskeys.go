// Package kmskeys is the AWS KMS adapter of package signing: the envelope
// KeyWrapper (private keys sealed under KMS data keys) and the kms-mode
// KeySource (private keys that never leave KMS). Key material is never
// logged or put into errors.
package kmskeys

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/keyturn/keyturn/shared/signing"
)

// KMSAPI is the subset of the KMS client this package uses; *kms.Client
// satisfies it.
type KMSAPI interface {
	Sign(ctx context.Context, in *kms.SignInput, opts ...func(*kms.Options)) (*kms.SignOutput, error)
	GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, opts ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, opts ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

var _ KMSAPI = (*kms.Client)(nil)

// Envelope is the envelope-mode signing.KeyWrapper. Each key record gets
// its own AES-256 data key from KMS GenerateDataKey under the symmetric
// key; the plaintext data key seals the private key with
// signing.SealPrivateKey and is then discarded, and its CiphertextBlob is
// stored as the record's WrappedDataKey. Unwrap is one KMS Decrypt. The
// KMS encryption context binds each data key to its account and version
// (and shows them in CloudTrail). Safe for concurrent use.
type Envelope struct {
	api    KMSAPI
	keyID  string
	random io.Reader
}

var _ signing.KeyWrapper = (*Envelope)(nil)

// NewEnvelope returns an envelope wrapper using the symmetric KMS key keyID
// (id, ARN or alias). random is the source of AES-GCM nonces
// (crypto/rand.Reader when nil).
func NewEnvelope(api KMSAPI, keyID string, random io.Reader) *Envelope {
	if random == nil {
		random = rand.Reader
	}
	return &Envelope{api: api, keyID: keyID, random: random}
}

func encryptionContext(accountID int64, version int) map[string]string {
	return map[string]string{
		"keyturn:purpose": "signing-key",
		"keyturn:account": strconv.FormatInt(accountID, 10),
		"keyturn:version": strconv.Itoa(version),
	}
}

// Wrap seals plaintext under a new data key. kmsKeyID is the ARN KMS
// reports for the wrapping key. It returns KMS errors wrapped with the
// operation and key id.
func (e *Envelope) Wrap(ctx context.Context, accountID int64, version int, plaintext []byte) (wrappedPrivateKey, wrappedDataKey []byte, kmsKeyID string, err error) {
	out, err := e.api.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(e.keyID),
		KeySpec:           types.DataKeySpecAes256,
		EncryptionContext: encryptionContext(accountID, version),
	})
	if err != nil {
		return nil, nil, "", fmt.Errorf("kms GenerateDataKey (key %s): %w", e.keyID, err)
	}
	defer clear(out.Plaintext)
	if len(out.CiphertextBlob) == 0 {
		return nil, nil, "", fmt.Errorf("kms GenerateDataKey (key %s): empty CiphertextBlob", e.keyID)
	}
	sealed, err := signing.SealPrivateKey(e.random, out.Plaintext, accountID, version, plaintext)
	if err != nil {
		return nil, nil, "", err
	}
	kmsKeyID = e.keyID
	if out.KeyId != nil && *out.KeyId != "" {
		kmsKeyID = *out.KeyId
	}
	return sealed, out.CiphertextBlob, kmsKeyID, nil
}

// Unwrap decrypts rec.WrappedDataKey with KMS (pinned to rec.KMSKeyID when
// set) and opens rec.WrappedPrivateKey with it. It returns KMS errors
// wrapped with context, and an error wrapping signing.ErrUnwrap when the
// sealed key does not authenticate.
func (e *Envelope) Unwrap(ctx context.Context, rec signing.KeyRecord) ([]byte, error) {
	if len(rec.WrappedDataKey) == 0 {
		return nil, fmt.Errorf("kmskeys: key version %d of account %d has no wrapped data key", rec.Version, rec.AccountID)
	}
	in := &kms.DecryptInput{
		CiphertextBlob:    rec.WrappedDataKey,
		EncryptionContext: encryptionContext(rec.AccountID, rec.Version),
	}
	if rec.KMSKeyID != "" {
		in.KeyId = aws.String(rec.KMSKeyID)
	}
	out, err := e.api.Decrypt(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("kms Decrypt (key %s, account %d, version %d): %w", rec.KMSKeyID, rec.AccountID, rec.Version, err)
	}
	defer clear(out.Plaintext)
	return signing.OpenPrivateKey(out.Plaintext, rec)
}

// Source is the kms-mode signing.KeySource: an asymmetric RSA_2048
// SIGN_VERIFY KMS key signs every response with KMS Sign.
type Source struct {
	api   KMSAPI
	keyID string
}

var _ signing.KeySource = (*Source)(nil)

// NewSource returns a key source for the asymmetric KMS key keyID (id, ARN
// or alias).
func NewSource(api KMSAPI, keyID string) *Source { return &Source{api: api, keyID: keyID} }

// KeyID returns the configured key id.
func (s *Source) KeyID() string { return s.keyID }

// PublicKey calls KMS GetPublicKey. It returns the key and the ARN KMS
// reports for it, or an error when the call fails or the key is not an
// RSA_2048 SIGN_VERIFY key.
func (s *Source) PublicKey(ctx context.Context, keyID string) (*rsa.PublicKey, string, error) {
	out, err := s.api.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		return nil, "", fmt.Errorf("kms GetPublicKey (key %s): %w", keyID, err)
	}
	if out.KeySpec != types.KeySpecRsa2048 || out.KeyUsage != types.KeyUsageTypeSignVerify {
		return nil, "", fmt.Errorf("kms key %s is %s/%s, want %s/%s", keyID, out.KeySpec, out.KeyUsage, types.KeySpecRsa2048, types.KeyUsageTypeSignVerify)
	}
	pub, err := signing.ParsePublicKeyDER(out.PublicKey)
	if err != nil {
		return nil, "", fmt.Errorf("kms key %s: %w", keyID, err)
	}
	id := keyID
	if out.KeyId != nil && *out.KeyId != "" {
		id = *out.KeyId
	}
	return pub, id, nil
}

// Signer returns a Signer whose Sign is one KMS Sign call with keyID.
func (s *Source) Signer(keyID string, pub *rsa.PublicKey) signing.Signer {
	return &remoteSigner{api: s.api, keyID: keyID, pub: pub}
}

type remoteSigner struct {
	api   KMSAPI
	keyID string
	pub   *rsa.PublicKey
}

// Sign signs digest with KMS (MessageType DIGEST, RSASSA_PKCS1_V1_5_SHA_256
// or _SHA_512). It returns signing.ValidateDigest's errors and KMS errors
// wrapped with the key id.
func (r *remoteSigner) Sign(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error) {
	if err := signing.ValidateDigest(h, digest); err != nil {
		return nil, err
	}
	alg := types.SigningAlgorithmSpecRsassaPkcs1V15Sha256
	if h == crypto.SHA512 {
		alg = types.SigningAlgorithmSpecRsassaPkcs1V15Sha512
	}
	out, err := r.api.Sign(ctx, &kms.SignInput{
		KeyId:            aws.String(r.keyID),
		Message:          digest,
		MessageType:      types.MessageTypeDigest,
		SigningAlgorithm: alg,
	})
	if err != nil {
		return nil, fmt.Errorf("kms Sign (key %s): %w", r.keyID, err)
	}
	if len(out.Signature) == 0 {
		return nil, errors.New("kms Sign (key " + r.keyID + "): empty signature")
	}
	return out.Signature, nil
}

func (r *remoteSigner) Public() *rsa.PublicKey { return r.pub }
