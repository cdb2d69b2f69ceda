// Package key implements the key API group of Web API 3 (/api/key/*).
// Handlers bind parameters, check the token's locks, call the keys domain
// service and return the wire model.
package key

import (
	"context"
	"errors"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/handlers/internal/bind"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/license"
	"github.com/keyturn/keyturn/shared/webapi"
)

// Deps are the key group's dependencies.
type Deps struct {
	// Licenses are the license keys and their activations.
	Licenses *keys.Service
	// Products gives the product a call names (a cache: hot path).
	Products catalog.ProductReader
	// Templates are the license templates (CreateKeyFromTemplate).
	Templates *keys.Templates
	// Signers signs licenses with the account's key.
	Signers Signers
	// Now is the clock.
	Now func() time.Time
	// Customers checks and creates customers and resellers.
	Customers *customers.Service
	// Assembler adds a license's customer, reseller and data objects.
	Assembler *license.Assembler
}

type handlers struct{ d Deps }

// Group returns the key API group (methods that do not render licenses;
// see also the rendering methods registered by the same group).
func Group(d Deps) webapi.Group {
	h := handlers{d: d}
	return webapi.Group{Name: "key", Methods: []webapi.Method{
		{Name: "Activate", Permission: "Activate", MaxVersion: 1, Handle: h.activate},
		{Name: "GetKey", Permission: "GetKey", Handle: h.getKey},
		{Name: "CreateKey", Permission: "CreateKey", PlainText: true, Handle: h.createKey},
		{Name: "CreateKeyFromTemplate", Permission: "CreateKeyFromTemplate", Handle: h.createKeyFromTemplate},
		{Name: "CreateTrialKey", Permission: "CreateTrialKey", Handle: h.createTrialKey},
		{Name: "Deactivate", Permission: "Deactivate", Handle: h.deactivate},
		{Name: "BlockKey", Permission: "BlockKey", Handle: h.setBlock(true)},
		{Name: "UnblockKey", Permission: "UnblockKey", Handle: h.setBlock(false)},
		{Name: "ExtendLicense", Permission: "ExtendLicense", Handle: h.extend},
		{Name: "MachineLockLimit", Permission: "MachineLockLimit", Handle: h.machineLockLimit},
		{Name: "ChangeNotes", Permission: "ChangeNotes", Handle: h.changeNotes},
		{Name: "TrialActivation", Permission: "TrialActivation", Handle: h.trialActivation},
		{Name: "AddFeature", Permission: "AddFeature", Handle: h.setFeature(true)},
		{Name: "RemoveFeature", Permission: "RemoveFeature", Handle: h.setFeature(false)},
		{Name: "ChangeCustomer", Permission: "ChangeCustomer", Handle: h.changeCustomer},
		{Name: "ChangeReseller", Permission: "ChangeReseller", Handle: h.changeReseller},
	}}
}

// product binds ProductId (see bind.Product).
func (h handlers) product(ctx context.Context, c *webapi.Call) (catalog.Product, error) {
	return bind.Product(ctx, c, h.d.Products)
}

// target binds ProductId and Key for a method on an existing key. With a
// positive key lock on the token, the key is read to check that it is the
// one the lock names (product and id).
func (h handlers) target(ctx context.Context, c *webapi.Call) (catalog.Product, string, error) {
	p, err := h.product(ctx, c)
	if err != nil {
		return p, "", err
	}
	k, err := bind.Key(c)
	if err != nil {
		return p, "", err
	}
	if c.Principal.Scope.LocksKey() {
		r, err := h.d.Licenses.Get(ctx, c.Principal.AccountID, p.ID, k)
		if err != nil {
			return p, "", err
		}
		if err := c.Principal.Scope.CheckKey(r.ProductID, r.ID); err != nil {
			return p, "", err
		}
	}
	return p, k, nil
}

func (h handlers) change(ctx context.Context, c *webapi.Call, ch keys.Change) (any, error) {
	p, k, err := h.target(ctx, c)
	if err != nil {
		return nil, err
	}
	ch.EditedBy = c.Principal.TokenID
	_, err = h.d.Licenses.Change(ctx, c.Principal.AccountID, p.ID, k, ch)
	return nil, err
}

func (h handlers) setBlock(block bool) webapi.HandlerFunc {
	return func(ctx context.Context, c *webapi.Call) (any, error) {
		return h.change(ctx, c, keys.Change{Block: &block})
	}
}

func (h handlers) setFeature(v bool) webapi.HandlerFunc {
	return func(ctx context.Context, c *webapi.Call) (any, error) {
		f, err := c.Params.Int32("Feature", 0)
		if err != nil || f < 1 || f > 8 {
			return nil, apierr.BadInput
		}
		return h.change(ctx, c, keys.Change{Feature: &keys.FeatureChange{Index: int(f - 1), Value: v}})
	}
}

func (h handlers) extend(ctx context.Context, c *webapi.Call) (any, error) {
	days, err := c.Params.Int32("NoOfDays", 0)
	if err != nil || days > 365*1000 || days < -365*1000 {
		return nil, apierr.BadInput
	}
	p, k, err := h.target(ctx, c)
	if err != nil {
		return nil, err
	}
	_, err = h.d.Licenses.ExtendAs(ctx, c.Principal.AccountID, p.ID, k, days, c.Principal.TokenID)
	return nil, err
}

func (h handlers) machineLockLimit(ctx context.Context, c *webapi.Call) (any, error) {
	if _, ok := c.Params.String("NumberOfMachines"); !ok {
		return nil, apierr.BadInput
	}
	n, err := c.Params.Int32("NumberOfMachines", 0)
	if err != nil || n < 0 {
		return nil, apierr.BadInput
	}
	return h.change(ctx, c, keys.Change{MaxNoOfMachines: &n})
}

func (h handlers) changeNotes(ctx context.Context, c *webapi.Call) (any, error) {
	raw, sent := c.Params.Raw("Notes")
	if !sent {
		return nil, apierr.BadInput
	}
	var notes *string
	if v, ok := c.Params.String("Notes"); ok {
		notes = &v
	} else if raw == "" {
		notes = &raw
	}
	if err := (keys.Spec{Notes: notes}).Validate(); err != nil {
		return nil, err
	}
	return h.change(ctx, c, keys.Change{Notes: &notes})
}

func (h handlers) trialActivation(ctx context.Context, c *webapi.Call) (any, error) {
	// The reference: without Enabled, trial activation is set to false.
	on, err := c.Params.Bool("Enabled", false)
	if err != nil {
		return nil, apierr.BadInput
	}
	return h.change(ctx, c, keys.Change{TrialActivation: &on})
}

// changeCustomer implements key/ChangeCustomer: an existing customer is
// associated; CustomerId 0 or an unknown customer dissociates the key and
// answers the documented message.
func (h handlers) changeCustomer(ctx context.Context, c *webapi.Call) (any, error) {
	id, err := c.Params.Int32("CustomerId", 0)
	if err != nil {
		return nil, apierr.BadInput
	}
	found := false
	if id != 0 {
		err := h.d.Customers.CustomerExists(ctx, c.Principal.AccountID, id)
		if err != nil && !errors.Is(err, apierr.NotFound) {
			return nil, err
		}
		found = err == nil
	}
	if !found {
		id = 0
	}
	if _, err := h.change(ctx, c, keys.Change{CustomerID: &id}); err != nil {
		return nil, err
	}
	if !found {
		return nil, apierr.KeyCustomerNotFound
	}
	return nil, nil
}

// changeReseller implements key/ChangeReseller like changeCustomer.
func (h handlers) changeReseller(ctx context.Context, c *webapi.Call) (any, error) {
	id, err := c.Params.Int32("ResellerId", 0)
	if err != nil {
		return nil, apierr.BadInput
	}
	found := false
	if id != 0 {
		_, err := h.d.Customers.Reseller(ctx, c.Principal.AccountID, id)
		if err != nil && !errors.Is(err, apierr.NotFound) {
			return nil, err
		}
		found = err == nil
	}
	if !found {
		id = 0
	}
	if _, err := h.change(ctx, c, keys.Change{ResellerID: &id}); err != nil {
		return nil, err
	}
	if !found {
		return nil, apierr.KeyResellerNotFound
	}
	return nil, nil
}

func (h handlers) deactivate(ctx context.Context, c *webapi.Call) (any, error) {
	p, k, err := h.target(ctx, c)
	if err != nil {
		return nil, err
	}
	mid, _ := c.Params.String("MachineCode")
	floating, err := c.Params.Bool("Floating", false)
	if err != nil {
		return nil, err
	}
	return nil, h.d.Licenses.Deactivate(ctx, c.Principal.AccountID, p.ID, k, mid, floating)
}
