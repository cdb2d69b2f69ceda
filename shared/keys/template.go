package keys

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/keyturn/keyturn/shared/apierr"
)

// Template is a license template: a named Spec for one product.
type Template struct {
	ID        int64
	AccountID int64
	ProductID int64
	Name      string
	Spec      Spec
}

// Template messages from the reference.

// TemplateStore persists license templates.
type TemplateStore interface {
	// CreateTemplate stores t with a new id and returns it.
	CreateTemplate(ctx context.Context, t Template) (Template, error)
	// GetTemplate returns a template of the account or apierr.NotFound.
	GetTemplate(ctx context.Context, accountID, id int64) (Template, error)
	// ListTemplates returns the account's templates ordered by id.
	ListTemplates(ctx context.Context, accountID int64) ([]Template, error)
}

// ValidateTemplate checks a template's name (1..100 characters) and spec.
func ValidateTemplate(t Template) error {
	name := strings.TrimSpace(t.Name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return apierr.New("The template name must be 1 to 100 characters.")
	}
	return t.Spec.Validate()
}

// Parameters renders the template's parameters the way GetLicenseTemplates
// returns them: a JSON string with the fields of the reference's example.
func (t Template) Parameters() string {
	type params struct {
		ProductID       int64   `json:"ProductId"`
		Period          int64   `json:"Period"`
		F1              bool    `json:"F1"`
		F2              bool    `json:"F2"`
		F3              bool    `json:"F3"`
		F4              bool    `json:"F4"`
		F5              bool    `json:"F5"`
		F6              bool    `json:"F6"`
		F7              bool    `json:"F7"`
		F8              bool    `json:"F8"`
		Notes           *string `json:"Notes"`
		Block           bool    `json:"Block"`
		CustomerID      int64   `json:"CustomerId"`
		TrialActivation bool    `json:"TrialActivation"`
		MaxNoOfMachines int64   `json:"MaxNoOfMachines"`
		AllowedMachines *string `json:"AllowedMachines"`
	}
	f := t.Spec.Features
	b, _ := json.Marshal(params{
		ProductID: t.ProductID, Period: t.Spec.Period, F1: f[0], F2: f[1], F3: f[2], F4: f[3], F5: f[4], F6: f[5], F7: f[6], F8: f[7],
		Notes: t.Spec.Notes, Block: t.Spec.Block, CustomerID: t.Spec.CustomerID, TrialActivation: t.Spec.TrialActivation,
		MaxNoOfMachines: t.Spec.MaxNoOfMachines, AllowedMachines: t.Spec.AllowedMachines,
	})
	return string(b)
}

// Templates manages license templates.
type Templates struct {
	store TemplateStore
}

// NewTemplates returns the template service on store.
func NewTemplates(store TemplateStore) *Templates { return &Templates{store: store} }

// Create validates t (ValidateTemplate) and stores it with a new id.
func (s *Templates) Create(ctx context.Context, t Template) (Template, error) {
	if err := ValidateTemplate(t); err != nil {
		return Template{}, err
	}
	t.Name = strings.TrimSpace(t.Name)
	return s.store.CreateTemplate(ctx, t)
}

// Get returns a template of the account. Errors: apierr.TemplateNotFound.
func (s *Templates) Get(ctx context.Context, accountID, id int64) (Template, error) {
	t, err := s.store.GetTemplate(ctx, accountID, id)
	if errors.Is(err, apierr.NotFound) {
		return Template{}, apierr.TemplateNotFound
	}
	return t, err
}

// List returns the account's templates in id order.
func (s *Templates) List(ctx context.Context, accountID int64) ([]Template, error) {
	return s.store.ListTemplates(ctx, accountID)
}
