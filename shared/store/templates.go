package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

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

func templateSK(id int64) string { return "TPL#" + pad(id, 12) }

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
	id, err := s.NextID(ctx, "template")
	if err != nil {
		return keys.Template{}, err
	}
	t.ID = id
	sp := t.Spec
	it := templateItem{PK: accountPK(t.AccountID), SK: templateSK(id), ID: id, AccountID: t.AccountID, ProductID: t.ProductID,
		Name: t.Name, Period: sp.Period, Features: sp.Features[:], Notes: sp.Notes, Block: sp.Block,
		TrialActivation: sp.TrialActivation, MaxNoOfMachines: sp.MaxNoOfMachines, AllowedMachines: sp.AllowedMachines,
		CustomerID: sp.CustomerID, ResellerID: sp.ResellerID}
	if err := s.put(ctx, it, true); err != nil {
		return keys.Template{}, err
	}
	return t, nil
}

// GetTemplate implements keys.TemplateStore: one GetItem.
func (s *Store) GetTemplate(ctx context.Context, accountID, id int64) (keys.Template, error) {
	var it templateItem
	if err := s.get(ctx, accountPK(accountID), templateSK(id), false, &it); err != nil {
		return keys.Template{}, err
	}
	return it.domain(), nil
}

// ListTemplates implements keys.TemplateStore: one Query.
func (s *Store) ListTemplates(ctx context.Context, accountID int64) ([]keys.Template, error) {
	items, err := s.queryAll(ctx, prefixQuery(accountPK(accountID), "TPL#"))
	if err != nil {
		return nil, err
	}
	out := make([]keys.Template, 0, len(items))
	for _, m := range items {
		var it templateItem
		if err := attributevalue.UnmarshalMap(m, &it); err != nil {
			return nil, fmt.Errorf("unmarshal template: %w", err)
		}
		out = append(out, it.domain())
	}
	return out, nil
}
