package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/keyturn/keyturn/shared/catalog"
)

type accountItem struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	ID      int64  `dynamodbav:"id"`
	Name    string `dynamodbav:"name"`
	Created int64  `dynamodbav:"created"`
}

const accountsPK = "ACCOUNTS"

func accountSK(id int64) string { return "A#" + pad(id, 12) }

func (it accountItem) domain() catalog.Account {
	return catalog.Account{ID: it.ID, Name: it.Name, Created: time.Unix(it.Created, 0).UTC()}
}

// CreateAccount implements catalog.Store: one counter update and one
// conditional put.
func (s *Store) CreateAccount(ctx context.Context, a catalog.Account) (catalog.Account, error) {
	id, err := s.NextID(ctx, "account")
	if err != nil {
		return catalog.Account{}, err
	}
	a.ID = id
	it := accountItem{PK: accountsPK, SK: accountSK(id), ID: id, Name: a.Name, Created: a.Created.Unix()}
	if err := s.put(ctx, it, true); err != nil {
		return catalog.Account{}, err
	}
	return a, nil
}

// GetAccount implements catalog.Store.
func (s *Store) GetAccount(ctx context.Context, id int64) (catalog.Account, error) {
	var it accountItem
	if err := s.get(ctx, accountsPK, accountSK(id), false, &it); err != nil {
		return catalog.Account{}, err
	}
	return it.domain(), nil
}

// ListAccounts implements catalog.Store.
func (s *Store) ListAccounts(ctx context.Context) ([]catalog.Account, error) {
	items, err := s.queryAll(ctx, prefixQuery(accountsPK, "A#"))
	if err != nil {
		return nil, err
	}
	out := make([]catalog.Account, 0, len(items))
	for _, m := range items {
		var it accountItem
		if err := attributevalue.UnmarshalMap(m, &it); err != nil {
			return nil, fmt.Errorf("unmarshal account: %w", err)
		}
		out = append(out, it.domain())
	}
	return out, nil
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

func productSK(id int64) string { return "P#" + pad(id, 12) }

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
	id, err := s.NextID(ctx, "product")
	if err != nil {
		return catalog.Product{}, err
	}
	p.ID = id
	it := productItem{
		PK: accountPK(p.AccountID), SK: productSK(id), ID: id, AccountID: p.AccountID,
		Name: p.Name, Description: p.Description, Created: p.Created.Unix(), IsPublic: p.IsPublic,
		KeyAlgorithm: p.KeyAlgorithm, AllLicensesTimeLimited: p.Features.AllLicensesTimeLimited,
		BlockExpiredLicenses: p.Features.BlockExpiredLicenses,
	}
	for _, f := range p.Features.Features {
		it.Features = append(it.Features, featureAttr{Name: f.Name, Type: int(f.Type)})
	}
	if err := s.put(ctx, it, true); err != nil {
		return catalog.Product{}, err
	}
	return p, nil
}

// GetProduct implements catalog.Store: one GetItem, keyed by the account,
// so a product of another account is simply not found.
func (s *Store) GetProduct(ctx context.Context, accountID, productID int64) (catalog.Product, error) {
	var it productItem
	if err := s.get(ctx, accountPK(accountID), productSK(productID), false, &it); err != nil {
		return catalog.Product{}, err
	}
	return it.domain(), nil
}

// ListProducts implements catalog.Store: one Query (paged if large).
func (s *Store) ListProducts(ctx context.Context, accountID int64) ([]catalog.Product, error) {
	items, err := s.queryAll(ctx, prefixQuery(accountPK(accountID), "P#"))
	if err != nil {
		return nil, err
	}
	out := make([]catalog.Product, 0, len(items))
	for _, m := range items {
		var it productItem
		if err := attributevalue.UnmarshalMap(m, &it); err != nil {
			return nil, fmt.Errorf("unmarshal product: %w", err)
		}
		out = append(out, it.domain())
	}
	return out, nil
}
