// Package config reads Keyturn's configuration from environment variables,
// once, at start-up. Infra sets these variables on every Lambda from one
// place (see infra); ./scripts/dev sets them for the local server. Load
// reports every missing or malformed variable at once.
package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Signing modes (see the signing package).
const (
	SigningEnvelope = "envelope"
	SigningKMS      = "kms"
	SigningLocal    = "local"
)

// Environment variable names. Infra and scripts refer to these constants.
const (
	EnvTable            = "KEYTURN_TABLE"
	EnvDynamoEndpoint   = "KEYTURN_DYNAMODB_ENDPOINT"
	EnvSigningMode      = "KEYTURN_SIGNING_MODE"
	EnvKMSKeyID         = "KEYTURN_KMS_KEY_ID"
	EnvKMSSigningKeyID  = "KEYTURN_KMS_SIGNING_KEY_ID"
	EnvKMSEndpoint      = "KEYTURN_KMS_ENDPOINT"
	EnvLocalKEKFile     = "KEYTURN_LOCAL_KEK_FILE"
	EnvAdminSecretHash  = "KEYTURN_ADMIN_SECRET_SHA256"
	EnvMaxBodyBytes     = "KEYTURN_MAX_BODY_BYTES"
	EnvLogLevel         = "KEYTURN_LOG_LEVEL"
	EnvTokenCacheSecond = "KEYTURN_TOKEN_CACHE_SECONDS"
	EnvPublicURL        = "KEYTURN_PUBLIC_URL"
	EnvStripeEndpoint   = "KEYTURN_STRIPE_ENDPOINT"
	// EnvFunctionMemory is set by AWS Lambda (not by Keyturn's infra).
	EnvFunctionMemory = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
	EnvTrustedProxies = "KEYTURN_TRUSTED_PROXIES"
	EnvRequestTimeout = "KEYTURN_REQUEST_TIMEOUT"
)

// DefaultRequestTimeout is the per-request deadline when
// KEYTURN_REQUEST_TIMEOUT is not set: below the functions' 10 s Lambda
// timeout, so a request whose dependency hangs still gets an answer.
const DefaultRequestTimeout = 8 * time.Second

// Config is the parsed configuration shared by every function.
type Config struct {
	// Table is the DynamoDB table name (required).
	Table string
	// DynamoEndpoint overrides the DynamoDB endpoint (DynamoDB Local).
	DynamoEndpoint string
	// SigningMode is one of envelope, kms, local (default envelope).
	SigningMode string
	// KMSKeyID is the symmetric KMS key that wraps private signing keys
	// (required in envelope mode).
	KMSKeyID string
	// KMSSigningKeyID is the asymmetric RSA_2048 SIGN_VERIFY key (required
	// in kms mode).
	KMSSigningKeyID string
	// KMSEndpoint overrides the KMS endpoint (tests).
	KMSEndpoint string
	// LocalKEKFile is the file holding the local key-encryption key
	// (required in local mode; created if missing).
	LocalKEKFile string
	// AdminSecretSHA256 is the hex SHA-256 of the admin credential. Only the
	// admin function needs it; see RequireAdmin.
	AdminSecretSHA256 string
	// MaxBodyBytes limits request bodies (default 262144).
	MaxBodyBytes int64
	// LogLevel is debug, info, warn or error (default info).
	LogLevel string
	// TokenCacheSeconds is how long a verified access token may be reused
	// from the in-process cache before it is read again (default 30; 0
	// disables the cache). It bounds how long a revoked token keeps working
	// in a warm function.
	TokenCacheSeconds int
	// PublicURL is the base URL clients use (the CloudFront URL in AWS),
	// without a trailing slash; customer portal links are built on it.
	// Optional: links carry the customer secret and are never built from
	// request headers, so without it answers carry no portal link.
	PublicURL string
	// StripeEndpoint overrides the Stripe API base URL (tests and local
	// development against a server speaking the Stripe API).
	StripeEndpoint string
	// FunctionMemoryMB is the Lambda function's memory in MB (0 when not
	// running in Lambda); it sizes how many password hashes may run at
	// once (users.HashSlots).
	FunctionMemoryMB int
	// TrustedProxies are the networks (CIDRs, or single addresses) of
	// proxies in front of the service whose X-Forwarded-For header is
	// believed when computing the client IP. Empty (the default): the
	// client IP is API Gateway's source IP in Lambda, the socket peer
	// locally, and X-Forwarded-For is ignored.
	TrustedProxies []netip.Prefix
	// RequestTimeout is the deadline of one request, storage and KMS calls
	// included (default DefaultRequestTimeout). Keep it below the Lambda
	// timeout: a request that runs out of time is answered with a
	// documented 503 instead of being killed without an answer.
	RequestTimeout time.Duration
}

// Load parses the configuration using getenv (os.Getenv in production).
// It returns one error listing every problem found.
func Load(getenv func(string) string) (Config, error) {
	var problems []string
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	c := Config{
		Table:             get(EnvTable),
		DynamoEndpoint:    get(EnvDynamoEndpoint),
		SigningMode:       get(EnvSigningMode),
		KMSKeyID:          get(EnvKMSKeyID),
		KMSSigningKeyID:   get(EnvKMSSigningKeyID),
		KMSEndpoint:       get(EnvKMSEndpoint),
		LocalKEKFile:      get(EnvLocalKEKFile),
		AdminSecretSHA256: strings.ToLower(get(EnvAdminSecretHash)),
		LogLevel:          get(EnvLogLevel),
		PublicURL:         strings.TrimRight(get(EnvPublicURL), "/"),
		StripeEndpoint:    strings.TrimRight(get(EnvStripeEndpoint), "/"),
		MaxBodyBytes:      256 << 10,
		TokenCacheSeconds: 30,
		RequestTimeout:    DefaultRequestTimeout,
	}
	if c.Table == "" {
		problems = append(problems, EnvTable+" is required")
	}
	if c.SigningMode == "" {
		c.SigningMode = SigningEnvelope
	}
	switch c.SigningMode {
	case SigningEnvelope:
		if c.KMSKeyID == "" {
			problems = append(problems, EnvKMSKeyID+" is required in envelope signing mode")
		}
	case SigningKMS:
		if c.KMSSigningKeyID == "" {
			problems = append(problems, EnvKMSSigningKeyID+" is required in kms signing mode")
		}
	case SigningLocal:
		if c.LocalKEKFile == "" {
			problems = append(problems, EnvLocalKEKFile+" is required in local signing mode")
		}
	default:
		problems = append(problems, fmt.Sprintf("%s must be envelope, kms or local, not %q", EnvSigningMode, c.SigningMode))
	}
	if u := c.PublicURL; u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		problems = append(problems, EnvPublicURL+" must be an http(s) URL")
	}
	for _, v := range strings.Split(get(EnvTrustedProxies), ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				problems = append(problems, fmt.Sprintf("%s: %q is not a CIDR or an IP address", EnvTrustedProxies, v))
				continue
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}
	if v := get(EnvRequestTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 15*time.Minute {
			problems = append(problems, EnvRequestTimeout+" must be a duration such as 8s, above 0 and at most 15m")
		} else {
			c.RequestTimeout = d
		}
	}
	if u := c.StripeEndpoint; u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		problems = append(problems, EnvStripeEndpoint+" must be an http(s) URL")
	}
	if v := get(EnvMaxBodyBytes); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 {
			problems = append(problems, EnvMaxBodyBytes+" must be an integer >= 1024")
		} else {
			c.MaxBodyBytes = n
		}
	}
	if v := get(EnvTokenCacheSecond); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			problems = append(problems, EnvTokenCacheSecond+" must be a non-negative integer")
		} else {
			c.TokenCacheSeconds = n
		}
	}
	if v := get(EnvFunctionMemory); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			problems = append(problems, EnvFunctionMemory+" must be a positive integer")
		} else {
			c.FunctionMemoryMB = n
		}
	}
	switch c.LogLevel {
	case "":
		c.LogLevel = "info"
	case "debug", "info", "warn", "error":
	default:
		problems = append(problems, EnvLogLevel+" must be debug, info, warn or error")
	}
	if c.AdminSecretSHA256 != "" && !isHex64(c.AdminSecretSHA256) {
		problems = append(problems, EnvAdminSecretHash+" must be 64 hex characters")
	}
	if len(problems) > 0 {
		return c, errors.New("configuration: " + strings.Join(problems, "; "))
	}
	return c, nil
}

// RequireAdmin reports an error when the admin credential hash is missing.
// The admin function calls it after Load.
func (c Config) RequireAdmin() error {
	if c.AdminSecretSHA256 == "" {
		return errors.New("configuration: " + EnvAdminSecretHash + " is required by the admin API")
	}
	return nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}
