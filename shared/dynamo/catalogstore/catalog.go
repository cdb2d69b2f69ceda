// Package catalogstore is the DynamoDB adapter of accounts and products
// (catalog.Store), access tokens (auth.TokenStore) and signing keys
// (signing.KeyStore). Item layout: docs/DATA-MODEL.md, "Catalog".
package catalogstore

import (
	"context"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/dynamo"
)

// Store implements catalog.Store, auth.TokenStore and signing.KeyStore.
type Store struct {
	t *dynamo.Table
}

// New returns the catalog store on table t.
func New(t *dynamo.Table) *Store { return &Store{t: t} }

type accountItem struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	ID      int64  `dynamodbav:"id"`
	Name    string `dynamodbav:"name"`
	Created int64  `dynamodbav:"created"`
}

func (it accountItem) domain() catalog.Account {
	return catalog.Account{ID: it.ID, Name: it.Name, Created: time.Unix(it.Created, 0).UTC()}
}

// CreateAccount implements catalog.Store: one counter update and one
// conditional put.
func (s *Store) CreateAccount(ctx context.Context, a catalog.Account) (catalog.Account, error) {
	id, err := s.t.NextIDs(ctx, dynamo.Counter("account"), 1)
	if err != nil {
		return catalog.Account{}, err
	}
	a.ID = id
	k := dynamo.Account(id)
	if err := s.t.Put(ctx, accountItem{PK: k.PK, SK: k.SK, ID: id, Name: a.Name, Created: a.Created.Unix()}, true); err != nil {
		return catalog.Account{}, err
	}
	return a, nil
}

// GetAccount implements catalog.Store.
func (s *Store) GetAccount(ctx context.Context, id int64) (catalog.Account, error) {
	var it accountItem
	if err := s.t.Get(ctx, dynamo.Account(id), false, &it); err != nil {
		return catalog.Account{}, err
	}
	return it.domain(), nil
}

// ListAccounts implements catalog.Store: one Query (paged) of the accounts
// partition (an operator listing; it grows with the number of accounts).
func (s *Store) ListAccounts(ctx context.Context) ([]catalog.Account, error) {
	items, err := s.t.QueryBounded(ctx, dynamo.Query{PK: dynamo.AccountsPK, Prefix: "A#"}, apierr.MaxListed)
	if err != nil {
		return nil, err
	}
	return dynamo.DecodeAll(items, "account", accountItem.domain)
}

type featureAttr struct {
	Name string `dynamodbav:"n"`
	Type int    `dynamodbav:"t"`
}

type productItem struct {
	PK                     string        `dynamodbav:"pk"`
	SK                     string        `dynamodbav:"sk"`
	ID                     int64         `dynamodbav:"id"`
	AccountID              int64         `dynamodbav:"accountId"`
	Name                   string        `dynamodbav:"name"`
	Description            string        `dynamodbav:"description"`
	Created                int64         `dynamodbav:"created"`
	IsPublic               bool          `dynamodbav:"isPublic"`
	KeyAlgorithm           int           `dynamodbav:"keyAlgorithm"`
	Features               []featureAttr `dynamodbav:"features"`
	AllLicensesTimeLimited bool          `dynamodbav:"allTimeLimited"`
	BlockExpiredLicenses   bool          `dynamodbav:"blockExpired"`
}

func (it productItem) domain() catalog.Product {
	p := catalog.Product{
		ID: it.ID, AccountID: it.AccountID, Name: it.Name, Description: it.Description,
		Created: time.Unix(it.Created, 0).UTC(), IsPublic: it.IsPublic, KeyAlgorithm: it.KeyAlgorithm,
	}
	p.Features.AllLicensesTimeLimited = it.AllLicensesTimeLimited
	p.Features.BlockExpiredLicenses = it.BlockExpiredLicenses
	for i := 0; i < len(it.Features) && i < 8; i++ {
		p.Features.Features[i] = catalog.Feature{Name: it.Features[i].Name, Type: catalog.FeatureType(it.Features[i].Type)}
	}
	return p
}

// CreateProduct implements catalog.Store. Product ids are unique across
// all accounts (one global counter). One counter update and one
// conditional put.
func (s *Store) CreateProduct(ctx context.Context, p catalog.Product) (catalog.Product, error) {
	id, err := s.t.NextIDs(ctx, dynamo.Counter("product"), 1)
	if err != nil {
		return catalog.Product{}, err
	}
	p.ID = id
	k := dynamo.Product(p.AccountID, id)
	it := productItem{
		PK: k.PK, SK: k.SK, ID: id, AccountID: p.AccountID,
		Name: p.Name, Description: p.Description, Created: p.Created.Unix(), IsPublic: p.IsPublic,
		KeyAlgorithm: p.KeyAlgorithm, AllLicensesTimeLimited: p.Features.AllLicensesTimeLimited,
		BlockExpiredLicenses: p.Features.BlockExpiredLicenses,
	}
	for _, f := range p.Features.Features {
		it.Features = append(it.Features, featureAttr{Name: f.Name, Type: int(f.Type)})
	}
	if err := s.t.Put(ctx, it, true); err != nil {
		return catalog.Product{}, err
	}
	return p, nil
}

// GetProduct implements catalog.Store: one GetItem, keyed by the account,
// so a product of another account is simply not found.
func (s *Store) GetProduct(ctx context.Context, accountID, productID int64) (catalog.Product, error) {
	var it productItem
	if err := s.t.Get(ctx, dynamo.Product(accountID, productID), false, &it); err != nil {
		return catalog.Product{}, err
	}
	return it.domain(), nil
}

// ListProducts implements catalog.Store: one Query of the account's
// products (paged if large).
func (s *Store) ListProducts(ctx context.Context, accountID int64) ([]catalog.Product, error) {
	items, err := s.t.QueryBounded(ctx, dynamo.Query{PK: dynamo.AccountPK(accountID), Prefix: dynamo.ProductPrefix}, apierr.MaxListed)
	if err != nil {
		return nil, err
	}
	return dynamo.DecodeAll(items, "product", productItem.domain)
}
