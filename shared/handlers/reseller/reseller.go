// Package reseller implements the reseller API group of Web API 3
// (/api/reseller/*). Every method needs the "Reseller" permission, as the
// reference says.
package reseller

import (
	"context"
	"encoding/json"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/webapi"
	"github.com/keyturn/keyturn/shared/wire"
)

// Group returns the reseller API group. Resellers belong to the account:
// every method refuses a token with a product or key lock.
func Group(svc *customers.Service) webapi.Group {
	h := handlers{svc: svc}
	return webapi.Group{Name: "reseller", Methods: []webapi.Method{
		{Name: "AddReseller", Permission: "Reseller", AccountWide: true, Handle: h.add},
		{Name: "EditReseller", Permission: "Reseller", AccountWide: true, Handle: h.edit},
		{Name: "GetResellers", Permission: "Reseller", AccountWide: true, Handle: h.list},
		{Name: "GetResellerCustomers", Permission: "Reseller", AccountWide: true, Handle: h.customers},
		{Name: "RemoveReseller", Permission: "Reseller", AccountWide: true, Handle: h.remove},
	}}
}

type handlers struct{ svc *customers.Service }

func model(r customers.Reseller) wire.Reseller {
	md := r.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return wire.Reseller{ID: r.ID, InviteID: r.InviteID, ResellerUserID: r.ResellerUserID, Created: wire.ISOTime(r.Created),
		Name: r.Name, URL: r.URL, Email: r.Email, Phone: r.Phone, Description: r.Description, Metadata: md}
}

// fields binds the reseller parameters. Metadata is a JSON object of
// strings (null values mean "remove this entry" on edit); anything else is
// the documented model-state error.
func fields(c *webapi.Call) (customers.ResellerFields, error) {
	var f customers.ResellerFields
	str := func(name string) *string {
		if v, ok := c.Params.String(name); ok {
			return &v
		}
		return nil
	}
	f.Name, f.URL, f.Email, f.Phone, f.Description = str("Name"), str("Url"), str("Email"), str("Phone"), str("Description")
	if raw, ok := c.Params.String("Metadata"); ok {
		var m map[string]*string
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			return f, apierr.ResellerBadModel.Wrap(err)
		}
		f.Metadata = make(map[string]string, len(m))
		for k, v := range m {
			if k == "" {
				return f, apierr.ResellerBadModel
			}
			if v == nil {
				f.Metadata[k] = ""
			} else {
				f.Metadata[k] = *v
			}
		}
	}
	return f, nil
}

func (h handlers) add(ctx context.Context, c *webapi.Call) (any, error) {
	f, err := fields(c)
	if err != nil {
		return nil, err
	}
	r, err := h.svc.AddReseller(ctx, c.Principal.AccountID, f)
	if err != nil {
		return nil, err
	}
	return wire.AddResellerResult{ResellerID: r.ID}, nil
}

func (h handlers) edit(ctx context.Context, c *webapi.Call) (any, error) {
	id, err := c.Params.Int32("ResellerId", 0)
	if err != nil {
		return nil, apierr.ResellerBadModel
	}
	f, err := fields(c)
	if err != nil {
		return nil, err
	}
	if id <= 0 {
		return nil, apierr.ResellerNotFound
	}
	_, err = h.svc.EditReseller(ctx, c.Principal.AccountID, id, f)
	return nil, err
}

func (h handlers) list(ctx context.Context, c *webapi.Call) (any, error) {
	search, _ := c.Params.String("Search")
	id, err := c.Params.Int32("ResellerId", 0)
	if err != nil {
		return nil, err
	}
	limit, err := c.Params.Int32("Limit", 0)
	if err != nil || limit < 0 {
		return nil, apierr.BadInput
	}
	rs, err := h.svc.GetResellers(ctx, c.Principal.AccountID, search, id, limit)
	if err != nil {
		return nil, err
	}
	out := wire.GetResellersResult{Resellers: make([]wire.Reseller, len(rs))}
	for i, r := range rs {
		out.Resellers[i] = model(r)
	}
	return out, nil
}

func (h handlers) customers(ctx context.Context, c *webapi.Call) (any, error) {
	id, err := c.Params.Int32("ResellerId", 0)
	if err != nil || id <= 0 {
		return nil, apierr.BadInput
	}
	cs, err := h.svc.ResellerCustomers(ctx, c.Principal.AccountID, id)
	if err != nil {
		return nil, err
	}
	return wire.GetResellerCustomersResult{Customers: wire.Customers(cs, 1)}, nil
}

func (h handlers) remove(ctx context.Context, c *webapi.Call) (any, error) {
	id, err := c.Params.Int32("ResellerId", 0)
	if err != nil || id <= 0 {
		return nil, apierr.BadInput
	}
	return nil, h.svc.RemoveReseller(ctx, c.Principal.AccountID, id)
}
