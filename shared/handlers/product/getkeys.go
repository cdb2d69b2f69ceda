package product

import (
	"context"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/handlers/internal/bind"
	"github.com/keyturn/keyturn/shared/keyquery"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/license"
	"github.com/keyturn/keyturn/shared/webapi"
	"github.com/keyturn/keyturn/shared/wire"
)

// Documented GetKeys messages.

// getKeys implements product/GetKeys: pages of 99 keys with the total and
// page count, an optional SearchQuery filter and OrderBy, or one key by
// GlobalId. The reference says the key lock has no effect here; Keyturn
// lists only the key a key-locked token is locked to (such a token must
// not see the product's other keys). A non-zero feature lock masks the
// listed licenses as it masks GetKey's (FieldsToReturn bits).
func (h handlers) getKeys(ctx context.Context, c *webapi.Call) (any, error) {
	p, err := bind.Product(ctx, c, h.d.Products)
	if err != nil {
		return nil, err
	}
	page, err := c.Params.Int32("Page", 1)
	if err != nil || page < 1 {
		return nil, apierr.BadInput
	}
	gid, err := c.Params.Int("GlobalId", 0)
	if err != nil {
		return nil, err
	}
	model, err := c.Params.ModelVersion(3)
	if err != nil {
		return nil, err
	}
	src, _ := c.Params.String("SearchQuery")
	q, err := keyquery.Parse(src)
	if err != nil {
		return nil, apierr.BadSearchQuery.Wrap(err)
	}
	orderRaw, _ := c.Params.String("OrderBy")
	field, desc, err := keyquery.ParseOrderBy(orderRaw)
	if err != nil {
		return nil, apierr.BadOrderBy.Wrap(err)
	}
	now := h.d.Now().UTC().Truncate(time.Second)
	req := keys.ListRequest{
		AccountID: c.Principal.AccountID, ProductID: p.ID, Page: page, Query: q, OrderField: field, Desc: desc, Now: now,
		GlobalID: gid,
	}
	if scope := c.Principal.Scope; scope.LocksKey() {
		// A key-locked token sees its own key only.
		if scope.CheckProduct(p.ID) != nil {
			return nil, apierr.AccessDenied
		}
		req.KeyID = scope.KeyLock
	}
	res, err := h.d.Listing.Page(ctx, req)
	if err != nil {
		return nil, err
	}
	out := wire.GetKeysResult{Total: res.Total, PageCount: (res.Total + keys.PageSize - 1) / keys.PageSize, LicenseKeys: []wire.UnsignedLicense{}}
	var rel []license.Related
	if h.d.Assembler != nil {
		if rel, err = h.d.Assembler.Related(ctx, c.Principal.AccountID, res.Records, model >= 3); err != nil {
			return nil, err
		}
	}
	for i, r := range res.Records {
		l := license.FromRecord(r, now, model, "")
		if rel != nil {
			l = l.WithRelated(rel[i])
		}
		if fl := c.Principal.Scope.FeatureLock; fl != 0 {
			l = license.Mask(l, fl, "")
		}
		out.LicenseKeys = append(out.LicenseKeys, license.Unsigned(l, int(model)))
	}
	out.Returned = len(out.LicenseKeys)
	return out, nil
}
