package key

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/webapi"
)

// addCustomerDenied is CreateKey's message when a customer-creating option
// is used without the AddCustomer permission.
var addCustomerDenied = apierr.New("Access denied. Please add 'AddCustomer' permission.")

// createdKey is one key of a CreateKey result. In the multi-key form every
// element carries its own result and message, as the reference shows.
type createdKey struct {
	Key     string `json:"key"`
	Result  int    `json:"result"`
	Message string `json:"message"`
}

type createKeyResult struct {
	Key string `json:"key"`
}

func (r createKeyResult) PlainText() string { return r.Key }

type createKeysResult struct {
	Keys []createdKey `json:"keys"`
}

func (r createKeysResult) PlainText() string {
	ks := make([]string, len(r.Keys))
	for i, k := range r.Keys {
		ks[i] = k.Key
	}
	return strings.Join(ks, "\n")
}

// spec binds the license parameters shared by CreateKey.
func spec(c *webapi.Call) (keys.Spec, error) {
	var sp keys.Spec
	var err error
	if sp.Period, err = c.Params.Int("Period", 0); err != nil {
		return sp, err
	}
	for i := range sp.Features {
		if sp.Features[i], err = c.Params.Bool(fmt.Sprintf("F%d", i+1), false); err != nil {
			return sp, err
		}
	}
	if v, ok := c.Params.String("Notes"); ok {
		sp.Notes = &v
	}
	if sp.Block, err = c.Params.Bool("Block", false); err != nil {
		return sp, err
	}
	if sp.TrialActivation, err = c.Params.Bool("TrialActivation", false); err != nil {
		return sp, err
	}
	if sp.MaxNoOfMachines, err = c.Params.Int("MaxNoOfMachines", 0); err != nil {
		return sp, err
	}
	if v, ok := c.Params.String("AllowedMachines"); ok {
		v = strings.ReplaceAll(v, "\r\n", "\n")
		sp.AllowedMachines = &v
	}
	return sp, sp.Validate()
}

// createKey implements key/CreateKey. Customers and resellers get their own
// API group; until then a CustomerId or ResellerId that is set cannot
// exist and is refused, and the customer-creating options need the
// AddCustomer permission and are refused after that check.
func (h handlers) createKey(ctx context.Context, c *webapi.Call) (any, error) {
	p, err := h.product(ctx, c)
	if err != nil {
		return nil, err
	}
	sp, err := spec(c)
	if err != nil {
		return nil, err
	}
	n, err := c.Params.Int("NoOfKeys", 1)
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
	if newCustomer || addOrUse {
		if !c.Principal.Scope.Allows("AddCustomer") {
			return nil, addCustomerDenied
		}
		return nil, keys.CustomerMissing
	}
	if cid, err := c.Params.Int("CustomerId", 0); err != nil {
		return nil, err
	} else if cid != 0 {
		return nil, keys.CustomerMissing
	}
	if rid, err := c.Params.Int("ResellerId", 0); err != nil || rid != 0 {
		return nil, apierr.BadInput
	}
	recs, err := h.d.Keys.Create(ctx, c.Principal.AccountID, p.ID, sp, int(min(n, keys.MaxKeysPerReq)))
	if err != nil {
		return nil, err
	}
	if n == 1 {
		return createKeyResult{Key: recs[0].Key}, nil
	}
	out := createKeysResult{Keys: make([]createdKey, len(recs))}
	for i, r := range recs {
		out.Keys[i] = createdKey{Key: r.Key}
	}
	return out, nil
}

// createTrialKey implements key/CreateTrialKey: the trial length is the
// token's feature lock in days, or 15.
func (h handlers) createTrialKey(ctx context.Context, c *webapi.Call) (any, error) {
	p, err := h.product(ctx, c)
	if err != nil {
		return nil, err
	}
	mid, _ := c.Params.String("MachineCode")
	fn, _ := c.Params.String("FriendlyName")
	days := c.Principal.Scope.FeatureLock
	if days <= 0 {
		days = keys.DefaultTrialDays
	}
	r, err := h.d.Keys.CreateTrial(ctx, keys.TrialInput{AccountID: c.Principal.AccountID, Product: p,
		MachineCode: mid, FriendlyName: fn, IP: c.RemoteIP, Days: days})
	if err != nil {
		return nil, err
	}
	return createKeyResult{Key: r.Key}, nil
}

type fromTemplateResult struct {
	Key         string `json:"key"`
	RawResponse string `json:"rawResponse"`
}

// createKeyFromTemplate implements key/CreateKeyFromTemplate. A non-zero
// feature lock on the token names the only template it may use.
func (h handlers) createKeyFromTemplate(ctx context.Context, c *webapi.Call) (any, error) {
	id, err := c.Params.Int("LicenseTemplateId", 0)
	if err != nil || id <= 0 {
		return nil, apierr.BadInput
	}
	if fl := c.Principal.Scope.FeatureLock; fl != 0 && fl != id {
		return nil, keys.TemplateFeatureLock
	}
	t, err := h.d.Templates.GetTemplate(ctx, c.Principal.AccountID, id)
	if errors.Is(err, apierr.NotFound) {
		return nil, keys.TemplateNotFound
	}
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
	recs, err := h.d.Keys.Create(ctx, c.Principal.AccountID, t.ProductID, t.Spec, 1)
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
	return fromTemplateResult{Key: recs[0].Key, RawResponse: string(raw)}, nil
}
