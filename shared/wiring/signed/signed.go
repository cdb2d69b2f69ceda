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

// NewSigningKeys builds the signing key manager for the configured mode;
// kmsClient is the KMS client to use (nil: one is built from the
// environment for the modes that use KMS).
func NewSigningKeys(c *wiring.Core, kmsClient *kms.Client) (*signing.Manager, error) {
	cfg := c.Config
	client := func() *kms.Client {
		if kmsClient == nil {
			kmsClient = kms.NewFromConfig(c.AWS(), func(o *kms.Options) {
				o.HTTPClient = c.HTTPClient()
				o.Retryer = c.Retryer()
				if cfg.KMSEndpoint != "" {
					o.BaseEndpoint = aws.String(cfg.KMSEndpoint)
				}
			})
		}
		return kmsClient
	}
	mc := signing.ManagerConfig{Store: c.Stores.Catalog, Mode: cfg.SigningMode, Rand: rand.Reader, Now: c.Now, TTL: keyCacheTTL}
	switch cfg.SigningMode {
	case config.SigningLocal:
		w, err := signing.NewLocalWrapper(cfg.LocalKEKFile, rand.Reader)
		if err != nil {
			return nil, err
		}
		mc.Wrapper = w
	case config.SigningEnvelope:
		mc.Wrapper = kmskeys.NewEnvelope(client(), cfg.KMSKeyID, rand.Reader)
	case config.SigningKMS:
		mc.Source = kmskeys.NewSource(client(), cfg.KMSSigningKeyID)
	default:
		return nil, fmt.Errorf("unknown signing mode %q", cfg.SigningMode)
	}
	return signing.NewManager(mc)
}

// KeyFunction serves the key group.
func KeyFunction(c *wiring.Core) (http.Handler, error) {
	sk, err := NewSigningKeys(c, nil)
	if err != nil {
		return nil, err
	}
	return c.WebAPI(wiring.KeyGroup(c, wiring.NewLicenses(c), wiring.NewTemplates(c), sk, wiring.NewCustomers(c), wiring.NewAssembler(c))), nil
}

// AdminFunction serves the admin API (it needs the admin credential's
// hash in the configuration).
func AdminFunction(c *wiring.Core) (http.Handler, error) {
	if err := c.Config.RequireAdmin(); err != nil {
		return nil, err
	}
	sk, err := NewSigningKeys(c, nil)
	if err != nil {
		return nil, err
	}
	return wiring.Admin(c, wiring.NewCatalog(c), sk, wiring.NewTemplates(c)), nil
}
