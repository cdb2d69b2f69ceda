package key

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/handlers/internal/bind"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/license"
	"github.com/keyturn/keyturn/shared/webapi"
	"github.com/keyturn/keyturn/shared/wire"
)

// spec binds the license parameters shared by CreateKey.
func spec(c *webapi.Call) (keys.Spec, error) {
	var sp keys.Spec
	var err error
	if sp.Period, err = c.Params.Int32("Period", 0); err != nil {
		return sp, err
	}
	for i := range sp.Features {
		if sp.Features[i], err = c.Params.Bool(fmt.Sprintf("F%d", i+1), false); err != nil {
			return sp, err
		}
	}
	// An explicitly empty Notes= is stored as "" (the reference service
	// does so); only an absent Notes (or Node's null, Python's None) is
	// null.
	if v, ok := c.Params.String("Notes"); ok {
		sp.Notes = &v
	} else if raw, sent := c.Params.Raw("Notes"); sent && raw == "" {
		sp.Notes = &raw
	}
	if sp.Block, err = c.Params.Bool("Block", false); err != nil {
		return sp, err
	}
	if sp.TrialActivation, err = c.Params.Bool("TrialActivation", false); err != nil {
		return sp, err
	}
	if sp.MaxNoOfMachines, err = c.Params.Int32("MaxNoOfMachines", 0); err != nil {
		return sp, err
	}
	if v, ok := c.Params.String("AllowedMachines"); ok {
		v = strings.ReplaceAll(v, "\r\n", "\n")
		sp.AllowedMachines = &v
	}
	// Keyturn's own parameter (Cryptolens clients never send it): the
	// license type peer APIs show (Revulytics licenseType).
	if v, ok := c.Params.String("LicenseType"); ok {
		sp.LicenseType = strings.ToLower(strings.TrimSpace(v))
		if sp.LicenseType == "" {
			return sp, keys.BadLicenseType
		}
	}
	sp.CreatedBy = c.Principal.TokenID
	return sp, sp.Validate()
}

// createKey implements key/CreateKey (refused to key-locked tokens: they
// reach one existing key only). With NewCustomer or
// AddOrUseExistingCustomer (which also need the AddCustomer permission and
// a token without product or key lock, as AddCustomer does) the
// customer is created from the AddCustomer parameters first; if the keys
// cannot be created, a customer created here is removed again, so a failed
// call leaves nothing behind.
func (h handlers) createKey(ctx context.Context, c *webapi.Call) (any, error) {
	if err := c.Principal.Scope.RequireUnlockedKey(); err != nil {
		return nil, err
	}
	p, err := h.product(ctx, c)
	if err != nil {
		return nil, err
	}
	sp, err := spec(c)
	if err != nil {
		return nil, err
	}
	n, err := c.Params.Int32("NoOfKeys", 1)
	if err != nil || n < 1 {
		return nil, apierr.BadInput
	}
	newCustomer, err := c.Params.Bool("NewCustomer", false)
	if err != nil {
		return nil, err
	}
	addOrUse, err := c.Params.Bool("AddOrUseExistingCustomer", false)
	if err != nil {
		return nil, err
	}
	cid, err := c.Params.Int32("CustomerId", 0)
	if err != nil {
		return nil, err
	}
	rid, err := c.Params.Int32("ResellerId", 0)
	if err != nil {
		return nil, err
	}
	if (newCustomer || addOrUse) && !c.Principal.Scope.Allows("AddCustomer") {
		return nil, apierr.AddCustomerDenied
	}
	if (newCustomer || addOrUse) && c.Principal.Scope.RequireAccountWide() != nil {
		// Customers belong to the account; a locked token cannot add them.
		return nil, apierr.AccessDenied
	}
	if (newCustomer || addOrUse) && cid != 0 {
		return nil, apierr.BadInput
	}
	acct := c.Principal.AccountID
	if cid != 0 {
		if err := h.d.Customers.CustomerExists(ctx, acct, cid); errors.Is(err, apierr.NotFound) {
			return nil, apierr.CreateKeyCustomerNotFound
		} else if err != nil {
			return nil, err
		}
	}
	if rid != 0 {
		if _, err := h.d.Customers.Reseller(ctx, acct, rid); errors.Is(err, apierr.NotFound) {
			return nil, apierr.BadInput
		} else if err != nil {
			return nil, err
		}
	}
	var created *customers.Customer
	if newCustomer || addOrUse {
		f, err := bind.CustomerFields(c.Params)
		if err != nil {
			return nil, err
		}
		f.Notes, f.MaxNoOfDevices = nil, nil // Notes are the key's here
		var cust customers.Customer
		if newCustomer {
			cust, err = h.d.Customers.AddCustomer(ctx, acct, f)
			created = &cust
		} else {
			cust, err = h.d.Customers.AddOrUseCustomer(ctx, acct, f)
		}
		if err != nil {
			return nil, err
		}
		cid = cust.ID
	}
	sp.CustomerID, sp.ResellerID = cid, rid
	recs, err := h.d.Licenses.Create(ctx, acct, p.ID, sp, int(min(n, keys.MaxKeysPerReq)))
	if err != nil {
		if created != nil {
			if cerr := h.d.Customers.RemoveCustomer(context.WithoutCancel(ctx), acct, created.ID); cerr != nil {
				err = errors.Join(err, fmt.Errorf("undo: remove customer %d of account %d created for the keys: %w", created.ID, acct, cerr))
			}
		}
		return nil, err
	}
	var custOut *int64
	if newCustomer || addOrUse {
		custOut = &cid
	}
	if n == 1 {
		return wire.CreateKeyResult{Key: recs[0].Key, CustomerID: custOut}, nil
	}
	out := wire.CreateKeysResult{Keys: make([]wire.CreatedKey, len(recs)), CustomerID: custOut}
	for i, r := range recs {
		out.Keys[i] = wire.CreatedKey{Key: r.Key}
	}
	return out, nil
}

// createTrialKey implements key/CreateTrialKey: the trial length is the
// token's feature lock in days, or 15. A key-locked token cannot create
// keys.
func (h handlers) createTrialKey(ctx context.Context, c *webapi.Call) (any, error) {
	if err := c.Principal.Scope.RequireUnlockedKey(); err != nil {
		return nil, err
	}
	p, err := h.product(ctx, c)
	if err != nil {
		return nil, err
	}
	mid, _ := c.Params.String("MachineCode")
	if err := license.CheckMachineCode(mid); err != nil {
		return nil, err
	}
	fn, _ := c.Params.String("FriendlyName")
	days := c.Principal.Scope.FeatureLock
	if days <= 0 {
		days = keys.DefaultTrialDays
	}
	r, err := h.d.Licenses.CreateTrial(ctx, keys.TrialInput{AccountID: c.Principal.AccountID, Product: p,
		MachineCode: mid, FriendlyName: fn, IP: c.RemoteIP, Days: days})
	if err != nil {
		return nil, err
	}
	return wire.CreateKeyResult{Key: r.Key}, nil
}

// createKeyFromTemplate implements key/CreateKeyFromTemplate. A non-zero
// feature lock on the token names the only template it may use; a
// key-locked token cannot create keys.
func (h handlers) createKeyFromTemplate(ctx context.Context, c *webapi.Call) (any, error) {
	if err := c.Principal.Scope.RequireUnlockedKey(); err != nil {
		return nil, err
	}
	id, err := c.Params.Int32("LicenseTemplateId", 0)
	if err != nil || id <= 0 {
		return nil, apierr.BadInput
	}
	if fl := c.Principal.Scope.FeatureLock; fl != 0 && fl != id {
		return nil, apierr.TemplateFeatureLock
	}
	t, err := h.d.Templates.Get(ctx, c.Principal.AccountID, int64(id))
	if err != nil {
		return nil, err
	}
	if err := c.Principal.Scope.CheckProduct(t.ProductID); err != nil {
		return nil, err
	}
	if _, err := h.d.Products.GetProduct(ctx, c.Principal.AccountID, t.ProductID); err != nil {
		if errors.Is(err, apierr.NotFound) {
			return nil, apierr.ProductNotFound
		}
		return nil, err
	}
	sp := t.Spec
	sp.CreatedBy = c.Principal.TokenID
	recs, err := h.d.Licenses.Create(ctx, c.Principal.AccountID, t.ProductID, sp, 1)
	if err != nil {
		return nil, err
	}
	raw, err := webapi.Marshal(struct {
		Key     string  `json:"key"`
		Result  string  `json:"result"`
		Message *string `json:"message"`
	}{Key: recs[0].Key, Result: "Success"})
	if err != nil {
		return nil, err
	}
	return wire.CreateKeyFromTemplateResult{Key: recs[0].Key, RawResponse: string(raw)}, nil
}
