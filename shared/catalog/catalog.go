// Package catalog holds the vendor-side objects every other domain hangs
// from: accounts (tenants) and their products with feature definitions. It is
// domain code and imports nothing from AWS.
package catalog

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyturn/keyturn/shared/apierr"
)

// Account is one tenant. Every stored item belongs to exactly one account.
type Account struct {
	ID      int64
	Name    string
	Created time.Time
}

// FeatureType says how a feature flag is interpreted.
type FeatureType int

// Feature types, as the reference numbers them.
const (
	FeatureDefault     FeatureType = 0
	FeatureTimeLimited FeatureType = 1
	FeatureTrial       FeatureType = 2
)

// Feature is the name and type of one of F1..F8.
type Feature struct {
	Name string
	Type FeatureType
}

// FeatureDefinitions describe F1..F8 of a product's licenses.
type FeatureDefinitions struct {
	Features               [8]Feature
	AllLicensesTimeLimited bool
	BlockExpiredLicenses   bool
}

// DefaultFeatureDefinitions returns "Feature 1".."Feature 8", all of the
// default type.
func DefaultFeatureDefinitions() FeatureDefinitions {
	var d FeatureDefinitions
	for i := range d.Features {
		d.Features[i] = Feature{Name: fmt.Sprintf("Feature %d", i+1), Type: FeatureDefault}
	}
	return d
}

// KeyAlgorithmSKM15 is the only key algorithm Keyturn issues.
const KeyAlgorithmSKM15 = 1

// Product is a vendor's product; licenses belong to products.
type Product struct {
	ID           int64
	AccountID    int64
	Name         string
	Description  string
	Created      time.Time
	IsPublic     bool
	KeyAlgorithm int
	Features     FeatureDefinitions
}

// Limits from the reference's Product model.
const (
	MaxProductName        = 100
	MaxProductDescription = 500
	MaxAccountName        = 100
	MaxFeatureName        = 100
)

// Store persists accounts and products.
type Store interface {
	// CreateAccount stores a new account and returns it with its id.
	CreateAccount(ctx context.Context, a Account) (Account, error)
	// GetAccount returns an account or apierr.NotFound.
	GetAccount(ctx context.Context, id int64) (Account, error)
	// ListAccounts returns all accounts ordered by id.
	ListAccounts(ctx context.Context) ([]Account, error)
	// CreateProduct stores a new product and returns it with its id.
	CreateProduct(ctx context.Context, p Product) (Product, error)
	// GetProduct returns a product of the account or apierr.NotFound
	// (also when the product exists but belongs to another account).
	GetProduct(ctx context.Context, accountID, productID int64) (Product, error)
	// ListProducts returns the account's products ordered by id.
	ListProducts(ctx context.Context, accountID int64) ([]Product, error)
}

// Service validates and creates catalog objects.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service.
func NewService(store Store, now func() time.Time) *Service {
	return &Service{store: store, now: now}
}

// CreateAccount validates name and creates an account. Invalid input is an
// *apierr.Error.
func (s *Service) CreateAccount(ctx context.Context, name string) (Account, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > MaxAccountName {
		return Account{}, apierr.Newf("The account name must be 1 to %d characters.", MaxAccountName)
	}
	return s.store.CreateAccount(ctx, Account{Name: name, Created: s.now().UTC().Truncate(time.Second)})
}

// CreateProduct validates p (name 1..100, description <= 500, feature names
// <= 100, feature types 0..2), checks the account exists and creates the
// product. Invalid input is an *apierr.Error; an unknown account is
// apierr.NotFound.
func (s *Service) CreateProduct(ctx context.Context, p Product) (Product, error) {
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" || utf8.RuneCountInString(p.Name) > MaxProductName {
		return Product{}, apierr.Newf("The product name must be 1 to %d characters.", MaxProductName)
	}
	if utf8.RuneCountInString(p.Description) > MaxProductDescription {
		return Product{}, apierr.Newf("The product description must be at most %d characters.", MaxProductDescription)
	}
	def := DefaultFeatureDefinitions()
	for i, f := range p.Features.Features {
		if f.Name == "" {
			p.Features.Features[i].Name = def.Features[i].Name
		}
		if utf8.RuneCountInString(f.Name) > MaxFeatureName {
			return Product{}, apierr.Newf("Feature names must be at most %d characters.", MaxFeatureName)
		}
		if f.Type < FeatureDefault || f.Type > FeatureTrial {
			return Product{}, apierr.New("Feature types must be 0 (default), 1 (time-limited) or 2 (trial).")
		}
	}
	if _, err := s.store.GetAccount(ctx, p.AccountID); err != nil {
		return Product{}, err
	}
	p.ID = 0
	p.Created = s.now().UTC().Truncate(time.Second)
	p.KeyAlgorithm = KeyAlgorithmSKM15
	return s.store.CreateProduct(ctx, p)
}

// Account returns an account (apierr.NotFound if absent).
func (s *Service) Account(ctx context.Context, id int64) (Account, error) {
	return s.store.GetAccount(ctx, id)
}

// Accounts lists every account (the operator's view).
func (s *Service) Accounts(ctx context.Context) ([]Account, error) {
	return s.store.ListAccounts(ctx)
}

// Product returns a product of the account (apierr.NotFound if absent).
func (s *Service) Product(ctx context.Context, accountID, productID int64) (Product, error) {
	return s.store.GetProduct(ctx, accountID, productID)
}

// Products lists the account's products in id order.
func (s *Service) Products(ctx context.Context, accountID int64) ([]Product, error) {
	return s.store.ListProducts(ctx, accountID)
}
