package licensestore

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/keyquery"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/schema"
)

// KeyIDs implements keys.ListStore: one Query of the product's counter
// partition (the counter and its holes).
func (s *Store) KeyIDs(ctx context.Context, productID int64) (int64, []int64, error) {
	items, err := s.t.QueryAll(ctx, dynamo.Query{PK: dynamo.ProductKeysPK(productID)})
	if err != nil {
		return 0, nil, err
	}
	last, found := int64(0), false
	var holes []int64
	for _, m := range items {
		switch sk := dynamo.KeyOf(m).SK; {
		case sk == "N":
			var c counterItem
			if err := dynamo.Decode(m, "counter", &c); err != nil {
				return 0, nil, err
			}
			last, found = c.N, true
		case strings.HasPrefix(sk, "H#"):
			id, err := strconv.ParseInt(sk[2:], 10, 64)
			if err == nil {
				holes = append(holes, id)
			}
		}
	}
	if !found {
		if last, err = s.t.CounterValue(ctx, legacyKeyCounter(productID)); err != nil {
			return 0, nil, err
		}
	}
	sort.Slice(holes, func(i, j int) bool { return holes[i] < holes[j] })
	for len(holes) > 0 && holes[len(holes)-1] > last {
		holes = holes[:len(holes)-1]
	}
	return last, holes, nil
}

// keyStrings returns the key strings of index entries (keys-only or
// whole).
func keyStrings(items []dynamo.Item) []string {
	out := make([]string, 0, len(items))
	for _, m := range items {
		if _, k, ok := dynamo.ParseLicensePK(dynamo.KeyOf(m).PK); ok {
			out = append(out, k)
		}
	}
	return out
}

// KeysByID implements keys.ListStore: one Query of gsi2.
func (s *Store) KeysByID(ctx context.Context, productID, from int64, desc bool, limit int) ([]string, error) {
	q := dynamo.Query{Index: schema.GSI2, PK: dynamo.ProductKeysGSI2PK(productID), Desc: desc}
	if desc {
		q.To = dynamo.Pad(from, dynamo.IDWidth)
	} else {
		q.From = dynamo.Pad(from, dynamo.IDWidth)
	}
	items, err := s.t.QueryUpTo(ctx, q, limit)
	if err != nil {
		return nil, err
	}
	return keyStrings(items), nil
}

// KeysByExpiry implements keys.ListStore: Queries of gsi5 (keys only);
// the skipped entries are read too (about 100 bytes each).
func (s *Store) KeysByExpiry(ctx context.Context, productID int64, skip, limit int, desc bool) ([]string, error) {
	q := dynamo.Query{Index: schema.GSI5, PK: dynamo.ProductExpiryGSI5PK(productID), Desc: desc}
	var start dynamo.Item
	for skip > 0 {
		p, err := s.t.QueryPage(ctx, q, int32(skip), start)
		if err != nil {
			return nil, err
		}
		skip -= len(p.Items)
		if p.Next == nil {
			return nil, nil
		}
		start = p.Next
	}
	var items []dynamo.Item
	for len(items) < limit {
		p, err := s.t.QueryPage(ctx, q, int32(limit-len(items)), start)
		if err != nil {
			return nil, err
		}
		items = append(items, p.Items...)
		if p.Next == nil {
			break
		}
		start = p.Next
	}
	return keyStrings(items), nil
}

// ScanKeys implements keys.ListStore: Queries of gsi2 (which projects the
// whole key item) over the id range, with filter as a filter expression.
func (s *Store) ScanKeys(ctx context.Context, productID, lo, hi int64, filter *keyquery.Cond, fn func([]keys.Record) error) error {
	q := dynamo.Query{Index: schema.GSI2, PK: dynamo.ProductKeysGSI2PK(productID),
		From: dynamo.Pad(lo, dynamo.IDWidth), To: dynamo.Pad(hi, dynamo.IDWidth)}
	if filter != nil {
		f := filterBuilder{names: map[string]string{}, values: dynamo.Item{}}
		expr, err := f.build(*filter)
		if err != nil {
			return err
		}
		q.Filter, q.Names, q.Values = expr, f.names, f.values
	}
	var start dynamo.Item
	for {
		p, err := s.t.QueryPage(ctx, q, 0, start)
		if err != nil {
			return err
		}
		recs, err := dynamo.DecodeAll(p.Items, "key", keyItem.record)
		if err != nil {
			return err
		}
		if err := fn(recs); err != nil {
			return err
		}
		if p.Next == nil {
			return nil
		}
		start = p.Next
	}
}

// licenseConcurrency bounds the parallel reads of Licenses.
const licenseConcurrency = 16

// Licenses implements keys.ListStore: one Query per license partition, in
// parallel.
func (s *Store) Licenses(ctx context.Context, productID int64, ks []string, maxActivations int) ([]keys.Record, error) {
	out := make([]keys.Record, len(ks))
	found := make([]bool, len(ks))
	errs := make([]error, len(ks))
	sem := make(chan struct{}, licenseConcurrency)
	var wg sync.WaitGroup
	for i, k := range ks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r, err := s.getKey(ctx, productID, k, false, maxActivations)
			switch {
			case errors.Is(err, apierr.NotFound):
			case err != nil:
				errs[i] = err
			default:
				out[i], found[i] = r, true
			}
		}()
	}
	wg.Wait()
	recs := make([]keys.Record, 0, len(ks))
	for i := range ks {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if found[i] {
			recs = append(recs, out[i])
		}
	}
	return recs, nil
}

// attrs maps canonical query fields to key item attributes.
var attrs = map[string]string{
	"ID": "id", "Key": "key", "Created": "created", "Expires": "expires", "Period": "period",
	"F1": "f1", "F2": "f2", "F3": "f3", "F4": "f4", "F5": "f5", "F6": "f6", "F7": "f7", "F8": "f8",
	"Notes": "notes", "Block": "block", "GlobalId": "globalId", "MaxNoOfMachines": "maxNoOfMachines",
	"TrialActivation": "trialActivation", "AllowedMachines": "allowedMachines", "CustomerId": "customerId",
	"Customer.Id": "customerId", "ResellerId": "resellerId",
	keys.FieldLicenseType: "licenseType", keys.FieldAutoCollected: "auto",
}

// filterBuilder translates a keyquery.Cond into a filter expression.
type filterBuilder struct {
	names  map[string]string
	values dynamo.Item
}

var errUnfilterable = errors.New("licensestore: condition cannot be filtered")

func (f *filterBuilder) name(field string) (string, error) {
	a, ok := attrs[field]
	if !ok {
		return "", errUnfilterable
	}
	n := "#f_" + a
	f.names[n] = a
	return n, nil
}

func (f *filterBuilder) value(v keyquery.Value) (string, error) {
	p := ":f" + strconv.Itoa(len(f.values))
	switch v.Kind() {
	case keyquery.KindInt:
		i, _ := v.AsInt()
		f.values[p] = dynamo.N(i)
	case keyquery.KindString:
		s, _ := v.AsString()
		f.values[p] = dynamo.S(s)
	case keyquery.KindBool:
		b, _ := v.AsBool()
		f.values[p] = dynamo.Bool(b)
	case keyquery.KindTime:
		t, _ := v.AsTime()
		f.values[p] = dynamo.N(t.Unix())
	default:
		return "", errUnfilterable
	}
	return p, nil
}

func (f *filterBuilder) build(c keyquery.Cond) (string, error) {
	switch c.Op {
	case keyquery.CondAnd, keyquery.CondOr:
		sep := " AND "
		if c.Op == keyquery.CondOr {
			sep = " OR "
		}
		parts := make([]string, 0, len(c.Args))
		for _, a := range c.Args {
			x, err := f.build(a)
			if err != nil {
				return "", err
			}
			parts = append(parts, "("+x+")")
		}
		return strings.Join(parts, sep), nil
	case keyquery.CondNot:
		if len(c.Args) != 1 {
			return "", errUnfilterable
		}
		x, err := f.build(c.Args[0])
		if err != nil {
			return "", err
		}
		return "NOT (" + x + ")", nil
	case keyquery.CondContains, keyquery.CondPrefix:
		n, err := f.name(c.Field)
		if err != nil {
			return "", err
		}
		v, err := f.value(c.Value)
		if err != nil {
			return "", err
		}
		if c.Op == keyquery.CondContains {
			return "contains(" + n + ", " + v + ")", nil
		}
		return "begins_with(" + n + ", " + v + ")", nil
	case keyquery.CondCmp:
		n, err := f.name(c.Field)
		if err != nil {
			return "", err
		}
		if c.Value.IsNull() {
			f.values[":fnull"] = dynamo.S("NULL")
			isNull := "attribute_not_exists(" + n + ") OR attribute_type(" + n + ", :fnull)"
			if c.Cmp == "!=" {
				return "NOT (" + isNull + ")", nil
			}
			return isNull, nil
		}
		v, err := f.value(c.Value)
		if err != nil {
			return "", err
		}
		switch c.Cmp {
		case "==":
			return n + " = " + v, nil
		case "!=":
			return "NOT (" + n + " = " + v + ")", nil
		case "<", "<=", ">", ">=":
			return n + " " + c.Cmp + " " + v, nil
		}
	}
	return "", errUnfilterable
}

// CustomerKeys returns the customer's licenses in global id order: one
// Query of gsi3, then the key items (BatchGetItem) or, withActivations,
// each license partition. Its cost grows with the customer's licenses.
func (s *Store) CustomerKeys(ctx context.Context, accountID, customerID int64, withActivations bool) ([]keys.Record, error) {
	return s.linkedKeys(ctx, schema.GSI3, dynamo.CustomerLicensesGSI3PK(accountID, customerID), withActivations,
		func(r keys.Record) bool { return r.AccountID == accountID && r.CustomerID == customerID })
}

// CustomerProductKeys returns up to max of the customer's licenses in one
// product (without activations), in key order: one Query of gsi3 (the
// product's range of the customer's partition) and one BatchGetItem per
// 100 licenses. Only licenses still linked to the customer are returned
// (the index lags the table).
func (s *Store) CustomerProductKeys(ctx context.Context, accountID, customerID, productID int64, max int) ([]keys.Record, error) {
	refs, err := s.t.QueryUpTo(ctx, dynamo.Query{Index: schema.GSI3, PK: dynamo.CustomerLicensesGSI3PK(accountID, customerID),
		Prefix: dynamo.LicensePK(productID, "")}, max)
	if err != nil {
		return nil, err
	}
	items, err := s.t.BatchGet(ctx, dynamo.IndexKeys(refs))
	if err != nil {
		return nil, err
	}
	recs, err := dynamo.DecodeAll(items, "key", keyItem.record)
	if err != nil {
		return nil, err
	}
	out := recs[:0]
	for _, r := range recs {
		if r.AccountID == accountID && r.CustomerID == customerID && r.ProductID == productID {
			out = append(out, r)
		}
	}
	return out, nil
}

// HasCustomerKeys reports whether the customer has a license in the
// product (productID > 0) or in any product (0): one Query of gsi3 that
// reads at most one index entry.
func (s *Store) HasCustomerKeys(ctx context.Context, accountID, customerID, productID int64) (bool, error) {
	q := dynamo.Query{Index: schema.GSI3, PK: dynamo.CustomerLicensesGSI3PK(accountID, customerID)}
	if productID > 0 {
		q.Prefix = dynamo.LicensePK(productID, "")
	}
	p, err := s.t.QueryPage(ctx, q, 1, nil)
	if err != nil {
		return false, err
	}
	return len(p.Items) > 0, nil
}

// ResellerKeys returns the reseller's licenses (without activations) in
// global id order: one Query of gsi4 and BatchGetItem.
func (s *Store) ResellerKeys(ctx context.Context, accountID, resellerID int64) ([]keys.Record, error) {
	return s.linkedKeys(ctx, schema.GSI4, dynamo.ResellerLicensesGSI4PK(accountID, resellerID), false,
		func(r keys.Record) bool { return r.AccountID == accountID && r.ResellerID == resellerID })
}

func (s *Store) linkedKeys(ctx context.Context, index, pk string, withActivations bool, still func(keys.Record) bool) ([]keys.Record, error) {
	refs, err := s.t.QueryBounded(ctx, dynamo.Query{Index: index, PK: pk}, apierr.MaxListed)
	if err != nil {
		return nil, err
	}
	var recs []keys.Record
	if withActivations {
		byProduct := map[int64][]string{}
		for _, k := range dynamo.IndexKeys(refs) {
			if pid, key, ok := dynamo.ParseLicensePK(k.PK); ok {
				byProduct[pid] = append(byProduct[pid], key)
			}
		}
		for pid, ks := range byProduct {
			got, err := s.Licenses(ctx, pid, ks, keys.MaxReadActivations)
			if err != nil {
				return nil, err
			}
			recs = append(recs, got...)
		}
	} else {
		items, err := s.t.BatchGet(ctx, dynamo.IndexKeys(refs))
		if err != nil {
			return nil, err
		}
		if recs, err = dynamo.DecodeAll(items, "key", keyItem.record); err != nil {
			return nil, err
		}
	}
	// The index lags the table: keep only licenses still linked.
	out := recs[:0]
	for _, r := range recs {
		if still(r) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GlobalID < out[j].GlobalID })
	return out, nil
}

// DissociateCustomer sets customerId 0 on every license of the customer
// (one UpdateItem each) and removes its device records.
func (s *Store) DissociateCustomer(ctx context.Context, accountID, customerID int64) error {
	refs, err := s.t.QueryAll(ctx, dynamo.Query{Index: schema.GSI3, PK: dynamo.CustomerLicensesGSI3PK(accountID, customerID)})
	if err != nil {
		return err
	}
	zero := int64(0)
	for _, k := range dynamo.IndexKeys(refs) {
		pid, key, ok := dynamo.ParseLicensePK(k.PK)
		if !ok {
			continue
		}
		if _, err := s.Update(ctx, accountID, pid, key, keys.Change{CustomerID: &zero}); err != nil && !errors.Is(err, apierr.NotFound) {
			return err
		}
	}
	return s.DeleteDevices(ctx, accountID, customerID)
}

// DissociateReseller sets resellerId 0 on every license of the reseller
// (one UpdateItem each).
func (s *Store) DissociateReseller(ctx context.Context, accountID, resellerID int64) error {
	refs, err := s.t.QueryAll(ctx, dynamo.Query{Index: schema.GSI4, PK: dynamo.ResellerLicensesGSI4PK(accountID, resellerID)})
	if err != nil {
		return err
	}
	zero := int64(0)
	for _, k := range dynamo.IndexKeys(refs) {
		pid, key, ok := dynamo.ParseLicensePK(k.PK)
		if !ok {
			continue
		}
		if _, err := s.Update(ctx, accountID, pid, key, keys.Change{ResellerID: &zero}); err != nil && !errors.Is(err, apierr.NotFound) {
			return err
		}
	}
	return nil
}

// ResellerCustomerIDs returns the distinct customers of the reseller's
// licenses, ascending.
func (s *Store) ResellerCustomerIDs(ctx context.Context, accountID, resellerID int64) ([]int64, error) {
	recs, err := s.ResellerKeys(ctx, accountID, resellerID)
	if err != nil {
		return nil, err
	}
	seen := map[int64]bool{}
	var ids []int64
	for _, r := range recs {
		if r.CustomerID != 0 && !seen[r.CustomerID] {
			seen[r.CustomerID] = true
			ids = append(ids, r.CustomerID)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}
