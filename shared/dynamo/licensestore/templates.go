package licensestore

import (
	"context"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/keys"
)

type templateItem struct {
	PK              string  `dynamodbav:"pk"`
	SK              string  `dynamodbav:"sk"`
	ID              int64   `dynamodbav:"id"`
	AccountID       int64   `dynamodbav:"accountId"`
	ProductID       int64   `dynamodbav:"productId"`
	Name            string  `dynamodbav:"name"`
	Period          int64   `dynamodbav:"period"`
	Features        []bool  `dynamodbav:"features"`
	Notes           *string `dynamodbav:"notes"`
	Block           bool    `dynamodbav:"block"`
	TrialActivation bool    `dynamodbav:"trialActivation"`
	MaxNoOfMachines int64   `dynamodbav:"maxNoOfMachines"`
	AllowedMachines *string `dynamodbav:"allowedMachines"`
	CustomerID      int64   `dynamodbav:"customerId"`
	ResellerID      int64   `dynamodbav:"resellerId"`
}

func (it templateItem) domain() keys.Template {
	t := keys.Template{ID: it.ID, AccountID: it.AccountID, ProductID: it.ProductID, Name: it.Name, Spec: keys.Spec{
		Period: it.Period, Notes: it.Notes, Block: it.Block, TrialActivation: it.TrialActivation,
		MaxNoOfMachines: it.MaxNoOfMachines, AllowedMachines: it.AllowedMachines, CustomerID: it.CustomerID, ResellerID: it.ResellerID,
	}}
	copy(t.Spec.Features[:], it.Features)
	return t
}

// CreateTemplate implements keys.TemplateStore (counter + conditional put).
func (s *Store) CreateTemplate(ctx context.Context, t keys.Template) (keys.Template, error) {
	id, err := s.t.NextIDs(ctx, dynamo.Counter("template"), 1)
	if err != nil {
		return keys.Template{}, err
	}
	t.ID = id
	sp := t.Spec
	k := dynamo.Template(t.AccountID, id)
	it := templateItem{PK: k.PK, SK: k.SK, ID: id, AccountID: t.AccountID, ProductID: t.ProductID,
		Name: t.Name, Period: sp.Period, Features: sp.Features[:], Notes: sp.Notes, Block: sp.Block,
		TrialActivation: sp.TrialActivation, MaxNoOfMachines: sp.MaxNoOfMachines, AllowedMachines: sp.AllowedMachines,
		CustomerID: sp.CustomerID, ResellerID: sp.ResellerID}
	if err := s.t.Put(ctx, it, true); err != nil {
		return keys.Template{}, err
	}
	return t, nil
}

// GetTemplate implements keys.TemplateStore: one GetItem.
func (s *Store) GetTemplate(ctx context.Context, accountID, id int64) (keys.Template, error) {
	var it templateItem
	if err := s.t.Get(ctx, dynamo.Template(accountID, id), false, &it); err != nil {
		return keys.Template{}, err
	}
	return it.domain(), nil
}

// ListTemplates implements keys.TemplateStore: one Query of the account's
// templates (bounded by what the account defines).
func (s *Store) ListTemplates(ctx context.Context, accountID int64) ([]keys.Template, error) {
	items, err := s.t.QueryBounded(ctx, dynamo.Query{PK: dynamo.AccountPK(accountID), Prefix: dynamo.TemplatePrefix}, apierr.MaxListed)
	if err != nil {
		return nil, err
	}
	return dynamo.DecodeAll(items, "template", templateItem.domain)
}
