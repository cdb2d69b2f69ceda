// Package wiring builds Keyturn's functions from the environment: the Core
// every function needs (configuration, logger, AWS clients, the table's
// adapters, the token service), one constructor per domain service, and
// each Web API group's handlers on its services. A Lambda main starts its
// group's Function (here, or in package signed for the groups that sign),
// which constructs only what the group needs, so the binary links only
// that group's handlers; package app builds every group for the
// development server, the fallback function and tests.
package wiring

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/dataobj"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/dynamo/stores"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/license"
	"github.com/keyturn/keyturn/shared/licensees"
	"github.com/keyturn/keyturn/shared/messages"
	"github.com/keyturn/keyturn/shared/payments"
	"github.com/keyturn/keyturn/shared/users"
	"github.com/keyturn/keyturn/shared/webapi"
)

// Core is what every function builds at cold start: the configuration,
// the logger, the DynamoDB client and the table's adapters, the token
// service and the product cache. The domain services are built from it
// by the constructors below, each function calling only those its group
// needs (so its binary links only them). Everything in it is safe for
// concurrent use.
type Core struct {
	Config   config.Config
	Logger   *slog.Logger
	DynamoDB dynamo.API
	Stores   *stores.Stores
	Tokens   *auth.Service
	Products *catalog.ProductCache
	Now      func() time.Time

	awsCfg aws.Config
}

// Clients are AWS clients to use instead of building them from the
// configuration (tests). Leave a field nil to have it built.
type Clients struct {
	DynamoDB dynamo.API
}

// NewCore builds the Core: AWS clients from the environment (no file or
// network access at start-up; the KMS client only when first needed),
// the stores and the token service.
func NewCore(cfg config.Config, logger *slog.Logger, clients Clients) (*Core, error) {
	if logger == nil {
		logger = NewLogger(cfg.LogLevel, io.Discard)
	}
	c := &Core{Config: cfg, Logger: logger, DynamoDB: clients.DynamoDB,
		Now: func() time.Time { return time.Now().UTC() }}
	if c.DynamoDB == nil || c.NeedsKMS() {
		awsCfg, err := awsConfig(cfg, os.Getenv)
		if err != nil {
			return nil, err
		}
		c.awsCfg = awsCfg
	}
	if c.DynamoDB == nil {
		c.DynamoDB = dynamodb.NewFromConfig(c.awsCfg, func(o *dynamodb.Options) {
			o.HTTPClient = awsHTTPClient(cfg.RequestTimeout)
			// A single-item write that meets a transaction on the same
			// item (an activation while a data object is added to the
			// key) fails with TransactionConflictException: retry it.
			o.Retryer = retry.AddWithErrorCodes(awsRetryer(), "TransactionConflictException")
			if cfg.DynamoEndpoint != "" {
				o.BaseEndpoint = aws.String(cfg.DynamoEndpoint)
			}
		})
	}
	c.Stores = stores.New(c.DynamoDB, cfg.Table)
	c.Tokens = auth.NewService(c.Stores.Catalog, c.Now, rand.Reader, time.Duration(cfg.TokenCacheSeconds)*time.Second)
	c.Products = catalog.NewProductCache(c.Stores.Catalog, productCacheTTL, c.Now)
	return c, nil
}

// NeedsKMS reports whether the signing mode uses KMS.
func (c *Core) NeedsKMS() bool {
	return c.Config.SigningMode == config.SigningEnvelope || c.Config.SigningMode == config.SigningKMS
}

// AWS returns the AWS configuration built from the environment (zero when
// every client was supplied).
func (c *Core) AWS() aws.Config { return c.awsCfg }

// HTTPClient is the HTTP client of AWS SDK clients (see awsHTTPClient);
// Retryer their retryer.
func (c *Core) HTTPClient() *awshttp.BuildableClient { return awsHTTPClient(c.Config.RequestTimeout) }

// Retryer is the bounded retryer of AWS SDK clients.
func (c *Core) Retryer() aws.Retryer { return awsRetryer() }

// WebAPI returns the Web API 3 server for the given groups.
func (c *Core) WebAPI(groups ...webapi.Group) *webapi.Server {
	return webapi.NewServer(webapi.Options{Auth: c.Tokens, Logger: c.Logger, MaxBodyBytes: c.Config.MaxBodyBytes,
		TrustedProxies: c.Config.TrustedProxies, RequestTimeout: c.Config.RequestTimeout}, groups...)
}

// awsConfig is the AWS configuration from the environment Lambda sets
// (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN):
// no shared config files, profiles or instance metadata are consulted.
// When only local endpoints are used, dummy credentials do (DynamoDB Local
// and the KMS test server accept any).
func awsConfig(cfg config.Config, getenv func(string) string) (aws.Config, error) {
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	local := cfg.DynamoEndpoint != "" && (cfg.SigningMode == config.SigningLocal || cfg.KMSEndpoint != "")
	if region == "" && local {
		region = "us-east-1"
	}
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	var creds aws.CredentialsProvider
	switch {
	case id != "" && secret != "":
		creds = credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))
	case local:
		creds = credentials.NewStaticCredentialsProvider("local", "local", "")
	default:
		return aws.Config{}, fmt.Errorf("aws config: no credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY")
	}
	if region == "" {
		return aws.Config{}, fmt.Errorf("aws config: AWS_REGION is not set")
	}
	return aws.Config{Region: region, Credentials: aws.NewCredentialsCache(creds)}, nil
}

// Bounds of every AWS SDK call (DynamoDB, KMS): at most awsMaxAttempts
// attempts, at most awsMaxBackoff between them, and each attempt bounded by
// the HTTP client (awsHTTPClient). The request deadline
// (config.RequestTimeout) bounds the whole call on top of that.
const (
	awsMaxAttempts = 3
	awsMaxBackoff  = 500 * time.Millisecond
)

// awsRetryer is the SDK's standard retryer with awsMaxAttempts and
// awsMaxBackoff.
func awsRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = awsMaxAttempts
		o.MaxBackoff = awsMaxBackoff
	})
}

// awsHTTPClient is the HTTP client of the AWS SDK clients: an attempt
// (connect, request, response) gets a third of the request deadline, so a
// dependency that stops answering fails the attempt (and is retried)
// before the request runs out of time; connecting gets at most 2 s.
func awsHTTPClient(requestTimeout time.Duration) *awshttp.BuildableClient {
	if requestTimeout <= 0 {
		requestTimeout = config.DefaultRequestTimeout
	}
	attempt := requestTimeout / awsMaxAttempts
	connect := min(attempt, 2*time.Second)
	return awshttp.NewBuildableClient().
		WithTimeout(attempt).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = connect }).
		WithTransportOptions(func(t *http.Transport) {
			t.TLSHandshakeTimeout = connect
			t.ResponseHeaderTimeout = attempt
		})
}

// NewLogger returns a JSON slog logger at the given level.
func NewLogger(level string, w io.Writer) *slog.Logger {
	var l slog.Level
	switch level {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// productCacheTTL bounds how long a warm process uses a product (feature
// definitions) it read before reading it again.
const productCacheTTL = time.Minute

// ---- domain services ----

// NewCatalog is the account and product service.
func NewCatalog(c *Core) *catalog.Service { return catalog.NewService(c.Stores.Catalog, c.Now) }

// NewLicenses is the license-key service (keys, activations, customer
// device limits).
func NewLicenses(c *Core) *keys.Service {
	return keys.NewService(c.Stores.Licenses, c.Now).WithKeyGenerator(func() (string, error) {
		return keys.GenerateKey(rand.Reader)
	}).WithCustomerDevices(c.Stores.Licenses).WithLogger(c.Logger)
}

// NewTemplates is the license template service.
func NewTemplates(c *Core) *keys.Templates { return keys.NewTemplates(c.Stores.Licenses) }

// NewCustomers is the customer and reseller service.
func NewCustomers(c *Core) *customers.Service {
	return customers.NewService(c.Stores.Customers, c.Stores.CustomerLicenses(), c.Now, rand.Reader)
}

// NewListing pages through products' and customers' licenses; searches
// resolve customer fields through the customer store.
func NewListing(c *Core) *keys.Listing {
	cs := c.Stores.Customers
	return keys.NewListing(c.Stores.Licenses, func(ctx context.Context, accountID int64, ids []int64) (map[int64]keys.CustomerInfo, error) {
		list, err := cs.CustomersByID(ctx, accountID, ids)
		if err != nil {
			return nil, err
		}
		out := make(map[int64]keys.CustomerInfo, len(list))
		for _, x := range list {
			out[x.ID] = keys.CustomerInfo{Name: x.Name, Email: x.Email, CompanyName: x.CompanyName}
		}
		return out, nil
	})
}

// NewAssembler adds licenses' customers, resellers and data objects.
func NewAssembler(c *Core) *license.Assembler { return license.NewAssembler(c.Stores.LicenseSources()) }

// NewUsers is the end-user service, with password hashing bounded by the
// function's memory and CPUs.
func NewUsers(c *Core) *users.Service {
	return users.NewService(c.Stores.Users, c.Stores.UserCustomers(), c.Now, rand.Reader).WithHashGate(users.NewHashGate(
		users.HashSlots(users.DefaultParams, c.Config.FunctionMemoryMB, runtime.NumCPU()), users.DefaultHashWait)).WithLogger(c.Logger)
}

// NewDataObjects is the data object service.
func NewDataObjects(c *Core) *dataobj.Service {
	return dataobj.NewService(c.Stores.Data, c.Stores.Licenses, c.Products, c.Now)
}

// NewMessages is the broadcast message service.
func NewMessages(c *Core) *messages.Service { return messages.NewService(c.Stores.Messages, c.Now) }

// NewLicensees is the NetLicensing licensee view of customers and keys, on
// the key and customer services given.
func NewLicensees(c *Core, lic *keys.Service, cust *customers.Service) *licensees.Service {
	return licensees.NewService(c.Stores.Licensees, c.Stores.Licenses, lic, cust, c.Products, c.Now, rand.Reader)
}

// NewSessions are the login sessions of peer APIs (Revulytics), on the
// Core's token service.
func NewSessions(c *Core) *auth.Sessions {
	return auth.NewSessions(c.Tokens, c.Stores.Catalog, c.Now, rand.Reader, 0)
}

// NewDiscounts is the discount code service (payment forms honour the
// codes; the Bytex API creates them).
func NewDiscounts(c *Core) *payments.Discounts {
	cat := c.Stores.Catalog
	return payments.NewDiscounts(c.Stores.Payments, func(ctx context.Context, accountID, productID int64) error {
		_, err := cat.GetProduct(ctx, accountID, productID)
		return err
	}, c.Now, rand.Reader)
}
