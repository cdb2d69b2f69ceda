// Package app wires Keyturn's dependencies from a Config: AWS clients,
// the DynamoDB store, the domain services and the HTTP handlers. The Lambda
// mains, the local development server and end-to-end tests all build the
// service through it, so there is no second implementation of anything.
package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/dataobj"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/dynamo/catalogstore"
	"github.com/keyturn/keyturn/shared/dynamo/customerstore"
	"github.com/keyturn/keyturn/shared/dynamo/datastore"
	"github.com/keyturn/keyturn/shared/dynamo/licensestore"
	"github.com/keyturn/keyturn/shared/dynamo/stores"
	"github.com/keyturn/keyturn/shared/dynamo/userstore"
	"github.com/keyturn/keyturn/shared/handlers/admin"
	"github.com/keyturn/keyturn/shared/handlers/bytex"
	"github.com/keyturn/keyturn/shared/handlers/customer"
	"github.com/keyturn/keyturn/shared/handlers/data"
	"github.com/keyturn/keyturn/shared/handlers/key"
	"github.com/keyturn/keyturn/shared/handlers/licensetemplate"
	"github.com/keyturn/keyturn/shared/handlers/product"
	"github.com/keyturn/keyturn/shared/handlers/reseller"
	"github.com/keyturn/keyturn/shared/handlers/revulytics"
	"github.com/keyturn/keyturn/shared/handlers/userauth"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/license"
	"github.com/keyturn/keyturn/shared/signing"
	"github.com/keyturn/keyturn/shared/users"
	"github.com/keyturn/keyturn/shared/webapi"
)

// App holds the long-lived dependencies of one process. Build it once (at
// cold start) and share it between requests; everything in it is safe for
// concurrent use.
type App struct {
	Config   config.Config
	Logger   *slog.Logger
	DynamoDB dynamo.API
	// Table is the DynamoDB table; the *Store fields are its adapters.
	Table         *dynamo.Table
	stores        *stores.Stores
	CatalogStore  *catalogstore.Store
	LicenseStore  *licensestore.Store
	CustomerStore *customerstore.Store
	UserStore     *userstore.Store
	DataStore     *datastore.Store
	Catalog       *catalog.Service
	Tokens        *auth.Service
	// SigningKeys manages the accounts' signing keys.
	SigningKeys *signing.Manager
	// Licenses is the license-key service; Listing pages through a
	// product's keys; Assembler adds a license's customer, reseller and
	// data objects; Products caches product reads for hot paths.
	Licenses  *keys.Service
	Listing   *keys.Listing
	Assembler *license.Assembler
	Products  *catalog.ProductCache
	// Customers manages customers and resellers.
	Customers *customers.Service
	// Users are the end-user accounts (userauth).
	Users *users.Service
	// DataObjects are the data objects (usage counters).
	DataObjects *dataobj.Service
	// Sessions are the login sessions of peer APIs (Revulytics).
	Sessions *auth.Sessions
	Now      func() time.Time
}

// Clients are the AWS clients an App uses. Leave a field nil to have New
// build it from the Config.
type Clients struct {
	DynamoDB dynamo.API
	KMS      *kms.Client
}

// New builds an App. It creates AWS clients (with endpoint overrides from
// cfg) unless clients supplies them.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger, clients Clients) (*App, error) {
	if logger == nil {
		logger = NewLogger(cfg.LogLevel, io.Discard)
	}
	needKMS := cfg.SigningMode == config.SigningEnvelope || cfg.SigningMode == config.SigningKMS
	if clients.DynamoDB == nil || (needKMS && clients.KMS == nil) {
		awsCfg, err := loadAWS(ctx, cfg)
		if err != nil {
			return nil, err
		}
		if clients.DynamoDB == nil {
			clients.DynamoDB = dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
				// A single-item write that meets a transaction on the same
				// item (an activation while a data object is added to the
				// key) fails with TransactionConflictException: retry it.
				o.Retryer = retry.AddWithErrorCodes(retry.NewStandard(), "TransactionConflictException")
				if cfg.DynamoEndpoint != "" {
					o.BaseEndpoint = aws.String(cfg.DynamoEndpoint)
				}
			})
		}
		if needKMS && clients.KMS == nil {
			clients.KMS = kms.NewFromConfig(awsCfg, func(o *kms.Options) {
				if cfg.KMSEndpoint != "" {
					o.BaseEndpoint = aws.String(cfg.KMSEndpoint)
				}
			})
		}
	}
	now := func() time.Time { return time.Now().UTC() }
	st := stores.New(clients.DynamoDB, cfg.Table)
	table, cat, lic, cust, usr, data := st.Table, st.Catalog, st.Licenses, st.Customers, st.Users, st.Data
	signKeys, err := newKeys(cfg, cat, clients.KMS, now)
	if err != nil {
		return nil, err
	}
	products := catalog.NewProductCache(cat, productCacheTTL, now)
	customerSvc := customers.NewService(cust, lic, now, rand.Reader)
	tokens := auth.NewService(cat, now, rand.Reader, time.Duration(cfg.TokenCacheSeconds)*time.Second)
	return &App{
		Config:        cfg,
		Logger:        logger,
		DynamoDB:      clients.DynamoDB,
		Table:         table,
		stores:        st,
		CatalogStore:  cat,
		LicenseStore:  lic,
		CustomerStore: cust,
		UserStore:     usr,
		DataStore:     data,
		Catalog:       catalog.NewService(cat, now),
		Tokens:        tokens,
		Sessions:      auth.NewSessions(tokens, cat, now, rand.Reader, 0),
		SigningKeys:   signKeys,
		Licenses: keys.NewService(lic, now).WithKeyGenerator(func() (string, error) {
			return keys.GenerateKey(rand.Reader)
		}).WithCustomerDevices(lic),
		Listing:   keys.NewListing(lic, customerLookup(customerSvc)),
		Assembler: license.NewAssembler(st.LicenseSources()),
		Products:  products,
		Customers: customerSvc,
		Users: users.NewService(usr, st.UserCustomers(), now, rand.Reader).WithHashGate(users.NewHashGate(
			users.HashSlots(users.DefaultParams, cfg.FunctionMemoryMB, runtime.NumCPU()), users.DefaultHashWait)),
		DataObjects: dataobj.NewService(data, lic, products, now),
		Now:         now,
	}, nil
}

// customerLookup resolves the customer fields of GetKeys searches.
func customerLookup(s *customers.Service) keys.CustomerLookup {
	return func(ctx context.Context, accountID int64, ids []int64) (map[int64]keys.CustomerInfo, error) {
		cs, err := s.CustomersByID(ctx, accountID, ids)
		if err != nil {
			return nil, err
		}
		out := make(map[int64]keys.CustomerInfo, len(cs))
		for _, c := range cs {
			out[c.ID] = keys.CustomerInfo{Name: c.Name, Email: c.Email, CompanyName: c.CompanyName}
		}
		return out, nil
	}
}

// loadAWS loads the default AWS configuration. When only local endpoints
// are used and no credentials are configured, static dummy credentials are
// used (DynamoDB Local and the KMS test server accept any).
func loadAWS(ctx context.Context, cfg config.Config) (aws.Config, error) {
	opts := []func(*awsconfig.LoadOptions) error{}
	if cfg.DynamoEndpoint != "" && (cfg.SigningMode == config.SigningLocal || cfg.KMSEndpoint != "") {
		opts = append(opts,
			awsconfig.WithRegion("us-east-1"),
			awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	c, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws config: %w", err)
	}
	return c, nil
}

// WebAPI returns the Web API 3 server for the given groups.
func (a *App) WebAPI(groups ...webapi.Group) *webapi.Server {
	return webapi.NewServer(webapi.Options{Auth: a.Tokens, Logger: a.Logger, MaxBodyBytes: a.Config.MaxBodyBytes}, groups...)
}

// Admin returns the admin API handler.
func (a *App) Admin() http.Handler {
	return admin.New(admin.Deps{
		Catalog: a.Catalog, CatalogData: a.CatalogStore, Tokens: a.Tokens, TokenStore: a.CatalogStore, Keys: a.SigningKeys, Templates: a.LicenseStore,
		SecretSHA256: a.Config.AdminSecretSHA256, Logger: a.Logger, MaxBodyBytes: a.Config.MaxBodyBytes,
	})
}

// Peer is an HTTP surface other than Web API 3 (a peer API) that the
// router sends its own paths to.
type Peer struct {
	// Serves reports whether a path (cleaned by webapi.CleanPath, in any
	// case) is the peer's.
	Serves  func(path string) bool
	Handler http.Handler
}

// Router sends /admin/... (any case, any slashes) to admin, the paths of
// a peer to that peer and everything else to api. Either of api and
// adminAPI may be nil (then those paths get a JSON 404). Peers come
// before api, so a peer path under /api/ (Bytex's /API/Public/...) never
// reaches Web API 3's /api/<group>/<method> routing.
func Router(api, adminAPI http.Handler, peers ...Peer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		clean := webapi.CleanPath(r.URL.Path)
		p := strings.ToLower(clean)
		h := api
		if p == "/admin" || strings.HasPrefix(p, "/admin/") {
			h = adminAPI
		} else {
			for _, peer := range peers {
				if peer.Serves(clean) {
					h = peer.Handler
					break
				}
			}
		}
		if h == nil {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"result":1,"message":"The method could not be found."}`)
			return
		}
		h.ServeHTTP(w, r)
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

// KeyDeps returns the dependencies of the key and auth groups.
func (a *App) KeyDeps() key.Deps {
	return key.Deps{Keys: a.Licenses, Products: a.Products, Tokens: a.Tokens, Templates: a.LicenseStore, Signers: a.SigningKeys, Now: a.Now,
		Listing: a.Listing, Customers: a.Customers, Licenses: a.Assembler}
}

// CustomerDeps returns the dependencies of the customer group.
func (a *App) CustomerDeps() customer.Deps {
	return customer.Deps{Customers: a.Customers, Keys: a.LicenseStore, Licenses: a.Assembler, Products: a.Products,
		PublicURL: a.Config.PublicURL, Now: a.Now}
}

// Revulytics returns the Revulytics key registry API (POST /auth/login,
// /auth/logout, /licenseKeys/listKeys).
func (a *App) Revulytics() http.Handler {
	return revulytics.New(revulytics.Deps{Sessions: a.Sessions, Products: a.Products, Listing: a.Listing, Editors: a.Tokens,
		Now: a.Now, Logger: a.Logger, MaxBodyBytes: a.Config.MaxBodyBytes})
}

// Bytex returns the Bytex vendor API (/API/Public/v1/...).
func (a *App) Bytex() http.Handler { return bytex.New(a.BytexDeps()) }

// BytexDeps returns the Bytex API's dependencies. Discounts is nil, so
// Discounts/r1/Create answers 501, until the payment domain's discounts
// service is wired in here.
func (a *App) BytexDeps() bytex.Deps {
	return bytex.Deps{Tokens: a.Tokens, Products: bytexProducts{a}, Keys: a.Licenses, Customers: bytexCustomers{a},
		Users: a.Users, Now: a.Now, Logger: a.Logger, MaxBodyBytes: a.Config.MaxBodyBytes}
}

// bytexProducts reads products through the cache and lists them from the
// store.
type bytexProducts struct{ a *App }

func (p bytexProducts) GetProduct(ctx context.Context, accountID, productID int64) (catalog.Product, error) {
	return p.a.Products.GetProduct(ctx, accountID, productID)
}

func (p bytexProducts) ListProducts(ctx context.Context, accountID int64) ([]catalog.Product, error) {
	return p.a.CatalogStore.ListProducts(ctx, accountID)
}

// bytexCustomers reads customers and their licenses.
type bytexCustomers struct{ a *App }

func (c bytexCustomers) Customer(ctx context.Context, accountID, id int64) (customers.Customer, error) {
	return c.a.Customers.Customer(ctx, accountID, id)
}

func (c bytexCustomers) CustomerKeys(ctx context.Context, accountID, customerID int64) ([]keys.Record, error) {
	return c.a.LicenseStore.CustomerKeys(ctx, accountID, customerID, false)
}

// Peers returns every peer API with the paths it serves, for routers that
// serve them all (the local development server, the $default function).
func (a *App) Peers() []Peer {
	return []Peer{
		{Serves: revulytics.Serves, Handler: a.Revulytics()},
		{Serves: bytex.Serves, Handler: a.Bytex()},
	}
}

// Groups returns every Web API group, for servers that serve them all
// (the local development server). Each Lambda serves only its own group.
func Groups(a *App) []webapi.Group {
	return []webapi.Group{
		product.Group(a.stores.Products(), key.ProductKeysMethod(a.KeyDeps())),
		key.Group(a.KeyDeps()),
		key.AuthGroup(a.KeyDeps()),
		licensetemplate.Group(a.LicenseStore),
		customer.Group(a.CustomerDeps()),
		reseller.Group(a.Customers),
		userauth.Group(userauth.Deps{Users: a.Users}),
		data.Group(data.Deps{Objects: a.DataObjects}),
	}
}

// Handler returns the HTTP handler of one deployed group (see
// shared/deploy): what functions/<group>/main.go serves.
func (a *App) Handler(group string) (http.Handler, error) {
	d := a.KeyDeps()
	switch group {
	case "admin":
		if err := a.Config.RequireAdmin(); err != nil {
			return nil, err
		}
		return a.Admin(), nil
	case "product":
		return a.WebAPI(product.Group(a.stores.Products(), key.ProductKeysMethod(d))), nil
	case "key":
		return a.WebAPI(key.Group(d)), nil
	case "auth":
		return a.WebAPI(key.AuthGroup(d)), nil
	case "licensetemplate":
		return a.WebAPI(licensetemplate.Group(a.LicenseStore)), nil
	case "customer":
		return a.WebAPI(customer.Group(a.CustomerDeps())), nil
	case "reseller":
		return a.WebAPI(reseller.Group(a.Customers)), nil
	case "data":
		return a.WebAPI(data.Group(data.Deps{Objects: a.DataObjects})), nil
	case "userauth":
		return a.WebAPI(userauth.Group(userauth.Deps{Users: a.Users})), nil
	case "revulytics":
		return a.Revulytics(), nil
	case "bytex":
		return a.Bytex(), nil
	}
	return nil, fmt.Errorf("unknown group %q", group)
}
