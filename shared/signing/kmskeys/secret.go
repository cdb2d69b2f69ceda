package kmskeys

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/keyturn/keyturn/shared/signing"
)

var _ signing.SecretWrapper = (*Envelope)(nil)

func secretContext(accountID int64, name string) map[string]string {
	return map[string]string{
		"keyturn:purpose": "account-secret",
		"keyturn:account": strconv.FormatInt(accountID, 10),
		"keyturn:name":    name,
	}
}

// SealSecret seals plaintext under a new KMS data key (one GenerateDataKey
// whose encryption context names the purpose, account and secret). It
// returns KMS errors wrapped with the operation and key id; the secret
// never appears in an error.
func (e *Envelope) SealSecret(ctx context.Context, accountID int64, name string, plaintext []byte) (signing.SealedSecret, error) {
	out, err := e.api.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(e.keyID),
		KeySpec:           types.DataKeySpecAes256,
		EncryptionContext: secretContext(accountID, name),
	})
	if err != nil {
		return signing.SealedSecret{}, fmt.Errorf("kms GenerateDataKey (key %s): %w", e.keyID, err)
	}
	defer clear(out.Plaintext)
	if len(out.CiphertextBlob) == 0 {
		return signing.SealedSecret{}, fmt.Errorf("kms GenerateDataKey (key %s): empty CiphertextBlob", e.keyID)
	}
	ct, err := signing.SealSecretWith(e.random, out.Plaintext, accountID, name, plaintext)
	if err != nil {
		return signing.SealedSecret{}, err
	}
	id := e.keyID
	if out.KeyId != nil && *out.KeyId != "" {
		id = *out.KeyId
	}
	return signing.SealedSecret{Ciphertext: ct, WrappedDataKey: out.CiphertextBlob, KMSKeyID: id}, nil
}

// OpenSecret decrypts the data key of s with KMS (one Decrypt, pinned to
// s.KMSKeyID when set) and opens the secret with it. It returns an error
// wrapping signing.ErrUnwrap when the secret does not authenticate.
func (e *Envelope) OpenSecret(ctx context.Context, accountID int64, name string, s signing.SealedSecret) ([]byte, error) {
	if len(s.WrappedDataKey) == 0 {
		return nil, fmt.Errorf("kmskeys: secret %q of account %d has no wrapped data key", name, accountID)
	}
	in := &kms.DecryptInput{CiphertextBlob: s.WrappedDataKey, EncryptionContext: secretContext(accountID, name)}
	if s.KMSKeyID != "" {
		in.KeyId = aws.String(s.KMSKeyID)
	}
	out, err := e.api.Decrypt(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("kms Decrypt (key %s, account %d, secret %q): %w", s.KMSKeyID, accountID, name, err)
	}
	defer clear(out.Plaintext)
	return signing.OpenSecretWith(out.Plaintext, accountID, name, s.Ciphertext)
}
