package key

import (
	"context"
	"errors"
	"sort"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/keyquery"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/license"
	"github.com/keyturn/keyturn/shared/webapi"
)

// Documented GetKeys messages.
var (
	badSearchQuery = apierr.New("The search query causes problems. Please check that it follows the standard: https://help.cryptolens.io/web-interface/linq-search-product")
	badOrderBy     = apierr.New("The 'order by' field causes problems. Please check the remarks section for this method.")
)

// pageSize is the number of keys GetKeys returns per page.
const pageSize = 99

// KeyLister lists a product's keys and finds keys by global id.
type KeyLister interface {
	ListKeys(ctx context.Context, productID int64) ([]keys.Record, error)
	KeyByGlobalID(ctx context.Context, globalID int64) (keys.Record, error)
}

type getKeysResult struct {
	LicenseKeys []license.UnsignedLicense `json:"licenseKeys"`
	Returned    int                       `json:"returned"`
	Total       int                       `json:"total"`
	PageCount   int                       `json:"pageCount"`
}

// queryRecord presents a key to keyquery.
type queryRecord struct{ r keys.Record }

func (q queryRecord) Field(name string) (keyquery.Value, bool) {
	r := q.r
	str := func(s *string) keyquery.Value {
		if s == nil {
			return keyquery.NullValue()
		}
		return keyquery.StringValue(*s)
	}
	switch name {
	case "ID":
		return keyquery.IntValue(r.ID), true
	case "Key":
		return keyquery.StringValue(r.Key), true
	case "Created":
		return keyquery.TimeValue(r.Created), true
	case "Expires":
		return keyquery.TimeValue(r.Expires), true
	case "Period":
		return keyquery.IntValue(r.Period), true
	case "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8":
		return keyquery.BoolValue(r.Features[name[1]-'1']), true
	case "Notes":
		return str(r.Notes), true
	case "Block":
		return keyquery.BoolValue(r.Block), true
	case "GlobalId":
		return keyquery.IntValue(r.GlobalID), true
	case "MaxNoOfMachines":
		return keyquery.IntValue(r.MaxNoOfMachines), true
	case "TrialActivation":
		return keyquery.BoolValue(r.TrialActivation), true
	case "AllowedMachines":
		return str(r.AllowedMachines), true
	case "ActivatedMachines":
		return keyquery.IntValue(int64(len(r.Nodes) + len(r.Seats))), true
	case "CustomerId":
		return keyquery.IntValue(r.CustomerID), true
	case "ResellerId":
		return keyquery.IntValue(r.ResellerID), true
	case "Customer.Id":
		return keyquery.IntValue(r.CustomerID), true
	case "Customer.Name", "Customer.Email", "Customer.CompanyName":
		// Customers come with their own API group; no key has one yet.
		return keyquery.NullValue(), true
	}
	return keyquery.Value{}, false
}

// getKeys implements product/GetKeys: pages of 99 keys with the total and
// page count, an optional SearchQuery filter and OrderBy, or one key by
// GlobalId. A token's key lock does not apply here, as documented.
func (h handlers) getKeys(ctx context.Context, c *webapi.Call) (any, error) {
	p, err := h.product(ctx, c)
	if err != nil {
		return nil, err
	}
	page, err := c.Params.Int("Page", 1)
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
		return nil, badSearchQuery.Wrap(err)
	}
	orderRaw, _ := c.Params.String("OrderBy")
	field, desc, err := keyquery.ParseOrderBy(orderRaw)
	if err != nil {
		return nil, badOrderBy.Wrap(err)
	}
	now := h.d.Now()
	var list []keys.Record
	if gid > 0 {
		r, err := h.d.Lister.KeyByGlobalID(ctx, gid)
		if err != nil && !errors.Is(err, apierr.NotFound) {
			return nil, err
		}
		if err == nil && r.ProductID == p.ID && r.AccountID == c.Principal.AccountID {
			list = []keys.Record{r}
		}
	} else if list, err = h.d.Lister.ListKeys(ctx, p.ID); err != nil {
		return nil, err
	}
	matched := list[:0]
	for _, r := range list {
		ok, err := q.Match(queryRecord{r}, now)
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, r)
		}
	}
	sort.SliceStable(matched, func(i, j int) bool {
		a, _ := queryRecord{matched[i]}.Field(field)
		b, _ := queryRecord{matched[j]}.Field(field)
		c := keyquery.Compare(a, b)
		if c == 0 {
			return matched[i].ID < matched[j].ID
		}
		return (c < 0) != desc
	})
	total := len(matched)
	out := getKeysResult{Total: total, PageCount: (total + pageSize - 1) / pageSize, LicenseKeys: []license.UnsignedLicense{}}
	start := int(page-1) * pageSize
	for i := start; i < total && i < start+pageSize; i++ {
		out.LicenseKeys = append(out.LicenseKeys, license.Unsigned(toLicense(matched[i], now, model, ""), int(model)))
	}
	out.Returned = len(out.LicenseKeys)
	return out, nil
}
