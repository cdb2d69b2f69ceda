package keys

import (
	"cmp"
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
	// stored fields satisfy filter (nil: every key; fields are StoredField
	// names, FieldLicenseType and FieldAutoCollected), without
	// activations, calling fn with each page read. It stops at the first
	// error of fn.
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
	// Offset and Limit, when Limit > 0, select the keys at the 0-based
	// ranks Offset .. Offset+Limit-1 instead of Page (PageSize keys a page).
	Offset, Limit int64
	// Filter, when set, restricts the listing further (see Filter).
	Filter *Filter
	// Sort, when set, orders the listing instead of OrderField and Desc.
	Sort *Sort
	// MaxActivations bounds the activations each listed key carries (0:
	// MaxListedActivations; Partial is set on keys that have more).
	MaxActivations int
}

// Filter is a condition on keys that a peer API builds in Go (the search
// query language cannot express it). It applies together with Query.
type Filter struct {
	// Keys, when not nil, restricts the listing to the product's keys with
	// these strings. They are read directly (one Query each), so such a
	// listing costs what it returns whatever the product's size. At most
	// MaxFilterKeys distinct strings (apierr.SearchTooBroad beyond).
	Keys []string
	// Stored, when set, is a condition on stored key fields (StoredField
	// names, FieldLicenseType, FieldAutoCollected) that every key Match
	// accepts satisfies. Storage evaluates it while reading the product's
	// keys, so fewer of them are read into memory; it is an optimization
	// only, Match decides (Stored without Match is a programming error).
	Stored *keyquery.Cond
	// Match decides on each key (nil: every key). With Activations the
	// key carries its activations (at most MaxReadActivations).
	Match       func(r Record) bool
	Activations bool
}

// Sort orders a listing by what OrderField cannot name (a peer API's
// fields).
type Sort struct {
	// Compare orders two keys ascending; ties are ordered by id.
	Compare func(a, b Record) int
	// Desc reverses the order (ties included).
	Desc bool
	// Index, when "ID" or "Expires", states that Compare orders keys as
	// that index does (by id; by expiry, then id), so that a listing
	// without conditions reads only its page through the index.
	Index string
	// Activations is set when Compare reads activations.
	Activations bool
}

// MaxFilterKeys bounds Filter.Keys.
const MaxFilterKeys = 1000

// Stored key fields that Filter.Stored may name besides the keyquery
// fields (see StoredField).
const (
	FieldLicenseType   = "LicenseType"
	FieldAutoCollected = "AutoCollected"
)

// empty reports whether f restricts nothing.
func (f *Filter) empty() bool {
	return f == nil || f.Keys == nil && f.Stored == nil && f.Match == nil
}

// match reports whether f admits r (membership in Keys is the caller's).
func (f *Filter) match(r Record) bool { return f == nil || f.Match == nil || f.Match(r) }

// window returns the first rank and the number of keys a request asks for.
func (req ListRequest) window() (start, n int64, err error) {
	if req.Limit > 0 {
		if req.Offset < 0 {
			return 0, 0, apierr.BadInput
		}
		return req.Offset, req.Limit, nil
	}
	if req.Page < 1 {
		return 0, 0, apierr.BadInput
	}
	return (req.Page - 1) * PageSize, PageSize, nil
}

// desc reports whether the listing is in descending order.
func (req ListRequest) desc() bool {
	if req.Sort != nil {
		return req.Sort.Desc
	}
	return req.Desc
}

// index names the index whose order is the listing's ("" for none).
func (req ListRequest) index(order string) string {
	if req.Sort != nil {
		if req.Sort.Index == "ID" || req.Sort.Index == "Expires" {
			return req.Sort.Index
		}
		return ""
	}
	switch order {
	case "ID", "Created":
		return "ID"
	case "Expires":
		return "Expires"
	}
	return ""
}

// maxActivations is how many activations each listed key carries.
func (req ListRequest) maxActivations() int {
	if req.MaxActivations > 0 {
		return req.MaxActivations
	}
	return MaxListedActivations
}

// needsActivations reports whether matching or ordering reads
// activations.
func (req ListRequest) needsActivations(order string) bool {
	return queryUses(req.Query, "ActivatedMachines") || req.Sort == nil && order == "ActivatedMachines" ||
		req.Filter != nil && req.Filter.Activations || req.Sort != nil && req.Sort.Activations
}

// ListResult is one page.
type ListResult struct {
	// Records are the page's keys with their activations (at most
	// MaxListedActivations each).
	Records []Record
	// Total is the number of keys that satisfy the query.
	Total int64
}

// Page returns one page of a product's keys. Without a search query or
// filter, the orders by ID, Created (ids grow with creation) and Expires
// (and a Sort naming their index) read about one page through an index,
// whatever the product's size; a filter naming its keys reads those keys;
// other orders and searches read the product's keys (filtered in DynamoDB
// where the query and filter allow it, in parallel id ranges) within
// Budget and MaxScan, and answer apierr.SearchTooBroad beyond (so does an
// Expires page more than MaxIndexSkip entries from both ends of the expiry
// index).
func (l *Listing) Page(ctx context.Context, req ListRequest) (ListResult, error) {
	start, n, err := req.window()
	if err != nil {
		return ListResult{}, err
	}
	order := req.OrderField
	if order == "" {
		order = "ID"
	}
	if req.GlobalID > 0 || req.KeyID > 0 {
		return l.one(ctx, req, order, start, n)
	}
	if req.Filter != nil && req.Filter.Keys != nil {
		return l.listed(ctx, req, order, start, n)
	}
	if req.Query.IsEmpty() && req.Filter.empty() {
		if idx := req.index(order); idx != "" {
			return l.indexed(ctx, req, idx, start, n)
		}
	}
	return l.scan(ctx, req, order, start, n)
}

// Licenses reads keys of the product with all their activations (at most
// MaxReadActivations each), skipping keys that no longer exist: for
// callers that count the activations of listed keys that carried only
// some of them (Partial).
func (l *Listing) Licenses(ctx context.Context, productID int64, ks []string) ([]Record, error) {
	return l.store.Licenses(ctx, productID, ks, MaxReadActivations)
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

func (l *Listing) indexed(ctx context.Context, req ListRequest, idx string, start, n int64) (ListResult, error) {
	total, _, holes, err := l.total(ctx, req.ProductID)
	if err != nil {
		return ListResult{}, err
	}
	res := ListResult{Total: total}
	if start >= total {
		return res, nil
	}
	n = min(n, total-start)
	desc := req.desc()
	var ks []string
	if idx == "Expires" {
		// The expiry index is read from the nearer end; the entries
		// before the page are read too (keys only, about 100 bytes each).
		end := start + n
		skip, d, reverse := start, desc, false
		if start > total/2 {
			skip, d, reverse = total-end, !desc, true
		}
		if skip > MaxIndexSkip {
			return ListResult{}, apierr.SearchTooBroad
		}
		ks, err = l.store.KeysByExpiry(ctx, req.ProductID, int(skip), int(n), d)
		if reverse {
			slices.Reverse(ks)
		}
	} else {
		r := start
		if desc {
			r = total - 1 - start
		}
		ks, err = l.store.KeysByID(ctx, req.ProductID, idAtRank(r, holes), desc, int(n))
	}
	if err != nil {
		return ListResult{}, err
	}
	res.Records, err = l.store.Licenses(ctx, req.ProductID, ks, req.maxActivations())
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

func (l *Listing) scan(parent context.Context, req ListRequest, order string, start, n int64) (ListResult, error) {
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
	if req.Filter != nil && req.Filter.Stored != nil {
		if filter == nil {
			filter = req.Filter.Stored
		} else {
			filter = &keyquery.Cond{Op: keyquery.CondAnd, Args: []keyquery.Cond{*filter, *req.Filter.Stored}}
		}
	}
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
	if req.needsActivations(order) {
		ks := make([]string, len(all))
		for i, r := range all {
			ks[i] = r.Key
		}
		if all, err = l.store.Licenses(ctx, req.ProductID, ks, MaxReadActivations); err != nil {
			return ListResult{}, bounded(err)
		}
	}
	matched, err := l.matching(ctx, req, order, all)
	if err != nil {
		return ListResult{}, bounded(err)
	}
	res := ListResult{Total: int64(len(matched))}
	from := min(start, res.Total)
	page := matched[from:min(from+n, res.Total)]
	if len(page) == 0 {
		return res, nil
	}
	ks := make([]string, len(page))
	for i, r := range page {
		ks[i] = r.Key
	}
	res.Records, err = l.store.Licenses(parent, req.ProductID, ks, req.maxActivations())
	return res, err
}

// matching returns the records of the account that satisfy the request's
// query and filter, in the listing's order.
func (l *Listing) matching(ctx context.Context, req ListRequest, order string, recs []Record) ([]Record, error) {
	custs, err := l.customerInfo(ctx, req, order, recs)
	if err != nil {
		return nil, err
	}
	matched := make([]Record, 0, len(recs))
	for _, r := range recs {
		if r.AccountID != req.AccountID || r.ProductID != req.ProductID {
			continue
		}
		ok, err := req.Query.Match(scanRecord{r, custs[r.CustomerID]}, req.Now)
		if err != nil {
			return nil, err
		}
		if ok && req.Filter.match(r) {
			matched = append(matched, r)
		}
	}
	compare := req.compare(order, custs)
	desc := req.desc()
	sort.SliceStable(matched, func(i, j int) bool { return (compare(matched[i], matched[j]) < 0) != desc })
	return matched, nil
}

// compare orders two keys ascending by the listing's order, then by id.
func (req ListRequest) compare(order string, custs map[int64]*CustomerInfo) func(a, b Record) int {
	return func(a, b Record) int {
		var c int
		if req.Sort != nil {
			c = req.Sort.Compare(a, b)
		} else {
			x, _ := QueryField(a, custs[a.CustomerID], order)
			y, _ := QueryField(b, custs[b.CustomerID], order)
			c = keyquery.Compare(x, y)
		}
		if c == 0 {
			c = cmp.Compare(a.ID, b.ID)
		}
		return c
	}
}

// listed answers a request whose filter names its keys: those keys are
// read (with their activations) and matched, whatever the product's size.
func (l *Listing) listed(ctx context.Context, req ListRequest, order string, start, n int64) (ListResult, error) {
	seen := make(map[string]bool, len(req.Filter.Keys))
	var ks []string
	for _, k := range req.Filter.Keys {
		if !seen[k] {
			seen[k] = true
			ks = append(ks, k)
		}
	}
	if len(ks) > MaxFilterKeys {
		return ListResult{}, apierr.SearchTooBroad
	}
	acts := req.maxActivations()
	if req.needsActivations(order) {
		acts = MaxReadActivations
	}
	recs, err := l.store.Licenses(ctx, req.ProductID, ks, acts)
	if err != nil {
		return ListResult{}, err
	}
	matched, err := l.matching(ctx, req, order, recs)
	if err != nil {
		return ListResult{}, err
	}
	res := ListResult{Total: int64(len(matched))}
	from := min(start, res.Total)
	if page := matched[from:min(from+n, res.Total)]; len(page) > 0 {
		res.Records = page
	}
	return res, nil
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
// for, and satisfies the query and the filter.
func (l *Listing) one(ctx context.Context, req ListRequest, order string, start, n int64) (ListResult, error) {
	var r Record
	var err error
	if req.GlobalID > 0 {
		r, err = l.store.KeyByGlobalID(ctx, req.GlobalID)
	} else {
		acts := req.maxActivations()
		if req.needsActivations(order) {
			acts = MaxReadActivations
		}
		var ks []string
		if ks, err = l.store.KeysByID(ctx, req.ProductID, req.KeyID, false, 1); err == nil {
			var recs []Record
			if recs, err = l.store.Licenses(ctx, req.ProductID, ks, acts); err == nil && len(recs) == 0 {
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
	if req.Filter != nil && req.Filter.Keys != nil && !slices.Contains(req.Filter.Keys, r.Key) {
		return ListResult{}, nil
	}
	matched, err := l.matching(ctx, req, order, []Record{r})
	if err != nil || len(matched) == 0 {
		return ListResult{}, err
	}
	res := ListResult{Total: 1}
	if start == 0 && n > 0 {
		res.Records = matched
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
