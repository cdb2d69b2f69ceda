package app

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/signing"
	"github.com/keyturn/keyturn/shared/signing/kmskeys"
)

// signingKeyCacheTTL bounds how long a warm process signs with a key after
// it was rotated out.
const signingKeyCacheTTL = 5 * time.Minute

// newSecretWrapper returns what seals account secrets (Stripe keys, form
// webhook secrets): the signing keys' wrapper of the mode (the local key
// file, or the envelope KMS key); in kms mode the envelope key when one is
// configured, nil otherwise (secrets cannot be stored then).
func newSecretWrapper(cfg config.Config, kmsClient *kms.Client) (signing.SecretWrapper, error) {
	switch {
	case cfg.SigningMode == config.SigningLocal:
		return signing.NewLocalWrapper(cfg.LocalKEKFile, rand.Reader)
	case cfg.KMSKeyID != "" && kmsClient != nil:
		return kmskeys.NewEnvelope(kmsClient, cfg.KMSKeyID, rand.Reader), nil
	}
	return nil, nil
}

// newKeys builds the signing key manager for the configured mode.
func newKeys(cfg config.Config, store signing.KeyStore, kmsClient *kms.Client, now func() time.Time) (*signing.Manager, error) {
	mc := signing.ManagerConfig{Store: store, Mode: cfg.SigningMode, Rand: rand.Reader, Now: now, TTL: signingKeyCacheTTL}
	switch cfg.SigningMode {
	case config.SigningLocal:
		w, err := signing.NewLocalWrapper(cfg.LocalKEKFile, rand.Reader)
		if err != nil {
			return nil, err
		}
		mc.Wrapper = w
	case config.SigningEnvelope:
		mc.Wrapper = kmskeys.NewEnvelope(kmsClient, cfg.KMSKeyID, rand.Reader)
	case config.SigningKMS:
		mc.Source = kmskeys.NewSource(kmsClient, cfg.KMSSigningKeyID)
	default:
		return nil, fmt.Errorf("unknown signing mode %q", cfg.SigningMode)
	}
	return signing.NewManager(mc)
}
