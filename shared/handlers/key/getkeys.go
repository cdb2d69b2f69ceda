package key

import (
	"context"
	"errors"
	"sort"
	"sync"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/customers"
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

// queryRecord presents a key (and its customer, if any) to keyquery.
type queryRecord struct {
	r    keys.Record
	cust *customers.Customer
}

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
		if q.cust == nil {
			return keyquery.NullValue(), true
		}
		switch name {
		case "Customer.Name":
			return keyquery.StringValue(q.cust.Name), true
		case "Customer.Email":
			return str(q.cust.Email), true
		}
		return str(q.cust.CompanyName), true
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
	custs, err := h.customersOf(ctx, c.Principal.AccountID, list)
	if err != nil {
		return nil, err
	}
	matched := list[:0]
	for _, r := range list {
		ok, err := q.Match(queryRecord{r, custs[r.CustomerID]}, now)
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, r)
		}
	}
	sort.SliceStable(matched, func(i, j int) bool {
		a, _ := queryRecord{matched[i], custs[matched[i].CustomerID]}.Field(field)
		b, _ := queryRecord{matched[j], custs[matched[j].CustomerID]}.Field(field)
		c := keyquery.Compare(a, b)
		if c == 0 {
			return matched[i].ID < matched[j].ID
		}
		return (c < 0) != desc
	})
	total := len(matched)
	out := getKeysResult{Total: total, PageCount: (total + pageSize - 1) / pageSize, LicenseKeys: []license.UnsignedLicense{}}
	start := min(int(page-1)*pageSize, total)
	pageKeys := matched[start:min(start+pageSize, total)]
	lics := make([]license.License, len(pageKeys))
	errs := make([]error, len(pageKeys))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, r := range pageKeys {
		if r.CustomerID == 0 && r.ResellerID == 0 && r.DataObjectCount == 0 {
			lics[i] = license.FromRecord(r, now, model, "")
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			lics[i], errs[i] = h.licenseOf(ctx, c.Principal.AccountID, r, now, model, "")
		}()
	}
	wg.Wait()
	for i := range pageKeys {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out.LicenseKeys = append(out.LicenseKeys, license.Unsigned(lics[i], int(model)))
	}
	out.Returned = len(out.LicenseKeys)
	return out, nil
}

// customersOf reads the customers of the listed keys (one BatchGetItem
// per 100 distinct customers; none when no key has a customer).
func (h handlers) customersOf(ctx context.Context, accountID int64, list []keys.Record) (map[int64]*customers.Customer, error) {
	out := map[int64]*customers.Customer{}
	var ids []int64
	for _, r := range list {
		if r.CustomerID != 0 {
			if _, ok := out[r.CustomerID]; !ok {
				out[r.CustomerID] = nil
				ids = append(ids, r.CustomerID)
			}
		}
	}
	if len(ids) == 0 || h.d.Customers == nil {
		return out, nil
	}
	cs, err := h.d.Customers.Store().CustomersByID(ctx, accountID, ids)
	if err != nil {
		return nil, err
	}
	for i := range cs {
		out[cs[i].ID] = &cs[i]
	}
	return out, nil
}
