package keys

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/keyquery"
)

// ListStore reads a product's licenses for listings (product/GetKeys).
type ListStore interface {
	// KeyIDs returns the product's last key id and, ascending, the ids up
	// to it that have no key (holes). One Query.
	KeyIDs(ctx context.Context, productID int64) (last int64, holes []int64, err error)
	// KeysByID returns up to limit key strings of the product in id order
	// starting at id from (inclusive; descending with desc). One Query.
	KeysByID(ctx context.Context, productID, from int64, desc bool, limit int) ([]string, error)
	// KeysByExpiry returns up to limit key strings of the product in
	// expiry order (then id; descending with desc) after skipping skip
	// keys. Reads the skipped index entries (keys only).
	KeysByExpiry(ctx context.Context, productID int64, skip, limit int, desc bool) ([]string, error)
	// ScanKeys reads the keys of the product with ids in [lo, hi] whose
	// stored fields satisfy filter (nil: every key), without activations,
	// calling fn with each page read. It stops at the first error of fn.
	ScanKeys(ctx context.Context, productID, lo, hi int64, filter *keyquery.Cond, fn func([]Record) error) error
	// Licenses reads keys of the product with their activations (at most
	// maxActivations each; Partial set beyond), in the order given,
	// skipping keys that no longer exist. One Query per key, in parallel.
	Licenses(ctx context.Context, productID int64, keys []string, maxActivations int) ([]Record, error)
	// KeyByGlobalID returns the key with a global id, or apierr.NotFound.
	KeyByGlobalID(ctx context.Context, globalID int64) (Record, error)
	// CustomerKeys returns the licenses of a customer in global id order
	// (with their activations when asked; apierr.ListTooLong beyond
	// apierr.MaxListed).
	CustomerKeys(ctx context.Context, accountID, customerID int64, withActivations bool) ([]Record, error)
}

// CustomerInfo is what a search query can ask of a key's customer.
type CustomerInfo struct {
	Name        string
	Email       *string
	CompanyName *string
}

// CustomerLookup returns the customers of the account with the given ids
// (missing ones are absent from the map).
type CustomerLookup func(ctx context.Context, accountID int64, ids []int64) (map[int64]CustomerInfo, error)

// Listing pages through a product's licenses (product/GetKeys).
type Listing struct {
	store     ListStore
	customers CustomerLookup
	// Budget bounds the work of one search or unindexed order.
	Budget time.Duration
	// MaxScan bounds how many keys one search or unindexed order may hold.
	MaxScan int
}

// NewListing returns a Listing on store; customers resolves Customer.*
// fields of search queries and orders (nil: they are null).
func NewListing(store ListStore, customers CustomerLookup) *Listing {
	return &Listing{store: store, customers: customers, Budget: 4 * time.Second, MaxScan: 200_000}
}

// PageSize is the number of keys per GetKeys page.
const PageSize = 99

// MaxIndexSkip bounds the index entries an expiry-ordered page may read
// before its own keys (pages deeper than that from both ends of a product
// with more than twice as many keys answer apierr.SearchTooBroad).
const MaxIndexSkip = 250_000

// MaxListedActivations bounds the activations each license of a listing
// page shows (a page of 99 licenses must stay within a response).
const MaxListedActivations = 250

// ListRequest is one listing call.
type ListRequest struct {
	AccountID int64
	ProductID int64
	// Page is 1-based.
	Page int64
	// Query filters (nil or empty: every key).
	Query *keyquery.Query
	// OrderField is a canonical keyquery field ("" or "ID": by id).
	OrderField string
	Desc       bool
	// Now is the time the query sees (whole seconds).
	Now time.Time
	// GlobalID, when set, selects the one key with that global id (if it
	// is the product's and satisfies the query).
	GlobalID int64
	// KeyID, when set, restricts the listing to the product's key with
	// that id (a key-locked caller).
	KeyID int64
}

// ListResult is one page.
type ListResult struct {
	// Records are the page's keys with their activations (at most
	// MaxListedActivations each).
	Records []Record
	// Total is the number of keys that satisfy the query.
	Total int64
}

// Page returns one page of a product's keys. Without a search query, the
// orders by ID, Created (ids grow with creation) and Expires read about
// one page through an index, whatever the product's size; other orders
// and searches read the product's keys (filtered in DynamoDB where the
// query allows it, in parallel id ranges) within Budget and MaxScan, and
// answer apierr.SearchTooBroad beyond.
func (l *Listing) Page(ctx context.Context, req ListRequest) (ListResult, error) {
	if req.Page < 1 {
		return ListResult{}, apierr.BadInput
	}
	empty := req.Query.IsEmpty()
	order := req.OrderField
	if order == "" {
		order = "ID"
	}
	if req.GlobalID > 0 || req.KeyID > 0 {
		return l.one(ctx, req, order)
	}
	if empty && (order == "ID" || order == "Created" || order == "Expires") {
		return l.indexed(ctx, req, order)
	}
	return l.scan(ctx, req, order)
}

// total returns the product's key count and its holes.
func (l *Listing) total(ctx context.Context, productID int64) (int64, int64, []int64, error) {
	last, holes, err := l.store.KeyIDs(ctx, productID)
	if err != nil {
		return 0, 0, nil, err
	}
	return last - int64(len(holes)), last, holes, nil
}

// idAtRank returns the id of the key at 0-based ascending rank r, given
// the ascending holes.
func idAtRank(r int64, holes []int64) int64 {
	id := r + 1
	for _, h := range holes {
		if h <= id {
			id++
			continue
		}
		break
	}
	return id
}

func (l *Listing) indexed(ctx context.Context, req ListRequest, order string) (ListResult, error) {
	total, _, holes, err := l.total(ctx, req.ProductID)
	if err != nil {
		return ListResult{}, err
	}
	res := ListResult{Total: total}
	rank := (req.Page - 1) * PageSize
	if rank >= total {
		return res, nil
	}
	var ks []string
	if order == "Expires" {
		// The expiry index is read from the nearer end; the entries
		// before the page are read too (keys only, about 100 bytes each).
		end := min(rank+PageSize, total)
		skip, desc, reverse := rank, req.Desc, false
		if rank > total/2 {
			skip, desc, reverse = total-end, !req.Desc, true
		}
		if skip > MaxIndexSkip {
			return ListResult{}, apierr.SearchTooBroad
		}
		ks, err = l.store.KeysByExpiry(ctx, req.ProductID, int(skip), int(end-rank), desc)
		if reverse {
			slices.Reverse(ks)
		}
	} else {
		r := rank
		if req.Desc {
			r = total - 1 - rank
		}
		ks, err = l.store.KeysByID(ctx, req.ProductID, idAtRank(r, holes), req.Desc, PageSize)
	}
	if err != nil {
		return ListResult{}, err
	}
	res.Records, err = l.store.Licenses(ctx, req.ProductID, ks, MaxListedActivations)
	return res, err
}

// scanRecord presents a key and its customer to keyquery.
type scanRecord struct {
	r    Record
	cust *CustomerInfo
}

func (s scanRecord) Field(name string) (keyquery.Value, bool) { return QueryField(s.r, s.cust, name) }

// storedFields are the fields a key item holds (filterable in storage).
var storedFields = map[string]bool{
	"ID": true, "Key": true, "Created": true, "Expires": true, "Period": true,
	"F1": true, "F2": true, "F3": true, "F4": true, "F5": true, "F6": true, "F7": true, "F8": true,
	"Notes": true, "Block": true, "GlobalId": true, "MaxNoOfMachines": true, "TrialActivation": true,
	"AllowedMachines": true, "CustomerId": true, "ResellerId": true, "Customer.Id": true,
}

// StoredField reports whether a canonical field is kept on the key item.
func StoredField(name string) bool { return storedFields[name] }

// scanSegments is how many id ranges a scan reads in parallel.
const scanSegments = 8

func (l *Listing) scan(parent context.Context, req ListRequest, order string) (ListResult, error) {
	ctx, cancel := context.WithTimeout(parent, l.Budget)
	defer cancel()
	// Work cut short by the budget is the documented refusal.
	bounded := func(err error) error {
		if ctx.Err() != nil && parent.Err() == nil {
			return apierr.SearchTooBroad.Wrap(err)
		}
		return err
	}
	_, last, _, err := l.total(ctx, req.ProductID)
	if err != nil {
		return ListResult{}, bounded(err)
	}
	filter := req.Query.Prefilter(req.Now, StoredField)
	var mu sync.Mutex
	var all []Record
	tooMany := errors.New("too many")
	var wg sync.WaitGroup
	errs := make([]error, scanSegments)
	step := max(last/scanSegments+1, 1)
	for i := 0; i < scanSegments; i++ {
		lo, hi := int64(i)*step+1, int64(i+1)*step
		if lo > last {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.store.ScanKeys(ctx, req.ProductID, lo, min(hi, last), filter, func(page []Record) error {
				mu.Lock()
				defer mu.Unlock()
				all = append(all, page...)
				if len(all) > l.MaxScan {
					return tooMany
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for _, e := range errs {
		switch {
		case e == nil:
		case errors.Is(e, tooMany):
			return ListResult{}, apierr.SearchTooBroad.Wrap(e)
		default:
			return ListResult{}, bounded(e)
		}
	}
	usesMachines := queryUses(req.Query, "ActivatedMachines") || order == "ActivatedMachines"
	if usesMachines {
		ks := make([]string, len(all))
		for i, r := range all {
			ks[i] = r.Key
		}
		if all, err = l.store.Licenses(ctx, req.ProductID, ks, MaxReadActivations); err != nil {
			return ListResult{}, bounded(err)
		}
	}
	custs, err := l.customerInfo(ctx, req, order, all)
	if err != nil {
		return ListResult{}, bounded(err)
	}
	matched := all[:0]
	for _, r := range all {
		if r.AccountID != req.AccountID {
			continue
		}
		ok, err := req.Query.Match(scanRecord{r, custs[r.CustomerID]}, req.Now)
		if err != nil {
			return ListResult{}, err
		}
		if ok {
			matched = append(matched, r)
		}
	}
	sort.SliceStable(matched, func(i, j int) bool {
		a, _ := QueryField(matched[i], custs[matched[i].CustomerID], order)
		b, _ := QueryField(matched[j], custs[matched[j].CustomerID], order)
		c := keyquery.Compare(a, b)
		if c == 0 {
			c = keyquery.Compare(keyquery.IntValue(matched[i].ID), keyquery.IntValue(matched[j].ID))
		}
		return (c < 0) != req.Desc
	})
	res := ListResult{Total: int64(len(matched))}
	start := min((req.Page-1)*PageSize, res.Total)
	page := matched[start:min(start+PageSize, res.Total)]
	if len(page) == 0 {
		return res, nil
	}
	ks := make([]string, len(page))
	for i, r := range page {
		ks[i] = r.Key
	}
	res.Records, err = l.store.Licenses(parent, req.ProductID, ks, MaxListedActivations)
	return res, err
}

// customerInfo resolves the customers of the scanned keys when the query
// or the order needs them.
func (l *Listing) customerInfo(ctx context.Context, req ListRequest, order string, recs []Record) (map[int64]*CustomerInfo, error) {
	out := map[int64]*CustomerInfo{}
	needs := len(order) > 9 && order[:9] == "Customer." && order != "Customer.Id"
	for _, f := range []string{"Customer.Name", "Customer.Email", "Customer.CompanyName"} {
		needs = needs || queryUses(req.Query, f)
	}
	if !needs || l.customers == nil {
		return out, nil
	}
	var ids []int64
	for _, r := range recs {
		if r.CustomerID != 0 {
			if _, ok := out[r.CustomerID]; !ok {
				out[r.CustomerID] = nil
				ids = append(ids, r.CustomerID)
			}
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	got, err := l.customers(ctx, req.AccountID, ids)
	if err != nil {
		return nil, err
	}
	for id, c := range got {
		out[id] = &c
	}
	return out, nil
}

// queryUses reports whether q refers to the canonical field.
func queryUses(q *keyquery.Query, field string) bool {
	return q != nil && q.Uses(field)
}

// one answers a request for one key, by global id or by key id: a page
// with the key if it is the account's product's, has the key id asked
// for, and satisfies the query.
func (l *Listing) one(ctx context.Context, req ListRequest, order string) (ListResult, error) {
	var r Record
	var err error
	if req.GlobalID > 0 {
		r, err = l.store.KeyByGlobalID(ctx, req.GlobalID)
	} else {
		var ks []string
		if ks, err = l.store.KeysByID(ctx, req.ProductID, req.KeyID, false, 1); err == nil {
			var recs []Record
			if recs, err = l.store.Licenses(ctx, req.ProductID, ks, MaxListedActivations); err == nil && len(recs) == 0 {
				err = apierr.NotFound
			} else if err == nil {
				r = recs[0]
			}
		}
	}
	if errors.Is(err, apierr.NotFound) || err == nil && (r.ProductID != req.ProductID || r.AccountID != req.AccountID ||
		req.KeyID > 0 && r.ID != req.KeyID) {
		return ListResult{}, nil
	}
	if err != nil {
		return ListResult{}, err
	}
	custs, err := l.customerInfo(ctx, req, order, []Record{r})
	if err != nil {
		return ListResult{}, err
	}
	ok, err := req.Query.Match(scanRecord{r, custs[r.CustomerID]}, req.Now)
	if err != nil || !ok {
		return ListResult{}, err
	}
	res := ListResult{Total: 1}
	if req.Page == 1 {
		res.Records = []Record{r}
	}
	return res, nil
}

// CustomerLicenses returns the licenses of a customer in global id order,
// with their activations when asked.
func (l *Listing) CustomerLicenses(ctx context.Context, accountID, customerID int64, withActivations bool) ([]Record, error) {
	return l.store.CustomerKeys(ctx, accountID, customerID, withActivations)
}

// QueryField returns a key's value of a canonical keyquery field (see
// keyquery.CanonicalField); cust is the key's customer, if any.
func QueryField(r Record, cust *CustomerInfo, name string) (keyquery.Value, bool) {
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
	case "CustomerId", "Customer.Id":
		return keyquery.IntValue(r.CustomerID), true
	case "ResellerId":
		return keyquery.IntValue(r.ResellerID), true
	case "Customer.Name", "Customer.Email", "Customer.CompanyName":
		if cust == nil {
			return keyquery.NullValue(), true
		}
		switch name {
		case "Customer.Name":
			return keyquery.StringValue(cust.Name), true
		case "Customer.Email":
			return str(cust.Email), true
		}
		return str(cust.CompanyName), true
	}
	return keyquery.Value{}, false
}
