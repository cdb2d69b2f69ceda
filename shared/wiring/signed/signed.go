// Package signed wires what needs the accounts' signing keys (and so,
// in the envelope and kms modes, KMS): the signing key manager and the
// functions of the groups that sign or manage keys. Functions of other
// groups do not import it, so their binaries neither link nor initialize
// the KMS client.
package signed

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/signing"
	"github.com/keyturn/keyturn/shared/signing/kmskeys"
	"github.com/keyturn/keyturn/shared/wiring"
)

// keyCacheTTL bounds how long a warm process signs with a key after it was
// rotated out.
const keyCacheTTL = 5 * time.Minute

// KMSClient returns a KMS client built from the environment (endpoint
// override, the Core's HTTP client and retries). Building it calls nothing.
func KMSClient(c *wiring.Core) *kms.Client {
	return kms.NewFromConfig(c.AWS(), func(o *kms.Options) {
		o.HTTPClient = c.HTTPClient()
		o.Retryer = c.Retryer()
		if c.Config.KMSEndpoint != "" {
			o.BaseEndpoint = aws.String(c.Config.KMSEndpoint)
		}
	})
}

// kmsClient returns given, or a KMS client built from the environment.
func kmsClient(c *wiring.Core, given *kms.Client) *kms.Client {
	if given != nil {
		return given
	}
	return KMSClient(c)
}

// NewSigningKeys builds the signing key manager for the configured mode;
// client is the KMS client to use (nil: one is built from the environment
// for the modes that use KMS).
func NewSigningKeys(c *wiring.Core, client *kms.Client) (*signing.Manager, error) {
	cfg := c.Config
	mc := signing.ManagerConfig{Store: c.Stores.Catalog, Mode: cfg.SigningMode, Rand: rand.Reader, Now: c.Now, TTL: keyCacheTTL}
	switch cfg.SigningMode {
	case config.SigningLocal:
		w, err := signing.NewLocalWrapper(cfg.LocalKEKFile, rand.Reader)
		if err != nil {
			return nil, err
		}
		mc.Wrapper = w
	case config.SigningEnvelope:
		mc.Wrapper = kmskeys.NewEnvelope(kmsClient(c, client), cfg.KMSKeyID, rand.Reader)
	case config.SigningKMS:
		mc.Source = kmskeys.NewSource(kmsClient(c, client), cfg.KMSSigningKeyID)
	default:
		return nil, fmt.Errorf("unknown signing mode %q", cfg.SigningMode)
	}
	return signing.NewManager(mc)
}

// NewSecretWrapper returns what seals account secrets (Stripe keys, payment
// form webhook secrets): the signing keys' wrapper of the mode (the local
// key file, or the envelope KMS key); in kms mode the envelope key when
// one is configured, and nil otherwise (secrets cannot be stored then).
func NewSecretWrapper(c *wiring.Core, client *kms.Client) (signing.SecretWrapper, error) {
	switch cfg := c.Config; {
	case cfg.SigningMode == config.SigningLocal:
		return signing.NewLocalWrapper(cfg.LocalKEKFile, rand.Reader)
	case cfg.KMSKeyID != "":
		return kmskeys.NewEnvelope(kmsClient(c, client), cfg.KMSKeyID, rand.Reader), nil
	}
	return nil, nil
}

// KeyFunction serves the key group.
func KeyFunction(c *wiring.Core) (http.Handler, error) {
	sk, err := NewSigningKeys(c, nil)
	if err != nil {
		return nil, err
	}
	return c.WebAPI(wiring.KeyGroup(c, wiring.NewLicenses(c), wiring.NewTemplates(c), sk, wiring.NewCustomers(c), wiring.NewAssembler(c))), nil
}
