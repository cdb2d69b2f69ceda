package netlicensing_test

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/auth"
)

// numbersOf returns the licensee numbers of a listing page.
func numbersOf(d doc) []string {
	var out []string
	for _, it := range d.Items.Item {
		out = append(out, it.props()["number"])
	}
	return out
}

// TestListPaging: pages hold the licensees at fixed positions (a deleted
// licensee leaves a hole), the totals count what exists, a product's
// listing pages on its own, and reading a page costs the same DynamoDB
// calls whichever page it is.
func TestListPaging(t *testing.T) {
	e := newEnv(t)
	for i := 1; i <= 7; i++ {
		e.licensee(fmt.Sprintf("A%d", i), e.product, false)
	}
	for i := 1; i <= 3; i++ {
		e.licensee(fmt.Sprintf("B%d", i), e.product2, false)
	}
	page := func(tok, filter string) doc {
		t.Helper()
		r := e.do(tok, "GET", "licensee", url.Values{"filter": {filter}})
		if r.status != 200 {
			t.Fatalf("%s: %d %s", filter, r.status, r.body)
		}
		return r.decode(t)
	}
	var all []string
	for p := 0; p < 4; p++ {
		d := page(e.tok, "page="+strconv.Itoa(p)+";items=3")
		if *d.Items.TotalItems != 10 || *d.Items.TotalPages != 4 || *d.Items.PageNumber != p || *d.Items.HasNext != (p < 3) {
			t.Errorf("page %d: total %d items %d pages, number %d, hasnext %v", p, *d.Items.TotalItems, *d.Items.TotalPages, *d.Items.PageNumber, *d.Items.HasNext)
		}
		all = append(all, numbersOf(d)...)
	}
	if want := []string{"A1", "A2", "A3", "A4", "A5", "A6", "A7", "B1", "B2", "B3"}; !slices.Equal(all, want) {
		t.Errorf("pages hold %v, want %v", all, want)
	}
	if r := e.do(e.tok, "DELETE", "licensee/A2", nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	d := page(e.tok, "page=0;items=3")
	if got := numbersOf(d); !slices.Equal(got, []string{"A1", "A3"}) || *d.Items.ItemsNumber != 2 || *d.Items.TotalItems != 9 || *d.Items.TotalPages != 4 {
		t.Errorf("page 0 after deleting A2: %v, itemsnumber %d, totals %d/%d", got, *d.Items.ItemsNumber, *d.Items.TotalItems, *d.Items.TotalPages)
	}
	locked := e.token(auth.Scope{Methods: []string{auth.RoleAPIKeyAnalytics}, ProductLock: e.product2})
	d = page(locked, "page=1;items=2")
	if got := numbersOf(d); !slices.Equal(got, []string{"B3"}) || *d.Items.TotalItems != 3 || *d.Items.TotalPages != 2 || *d.Items.HasNext {
		t.Errorf("product page 1: %v, totals %d/%d", got, *d.Items.TotalItems, *d.Items.TotalPages)
	}
	if d := page(e.tok, "page=40;items=3"); len(d.Items.Item) != 0 || *d.Items.HasNext {
		t.Errorf("page past the end: %v", numbersOf(d))
	}
	// Same calls for the first and the last full page, for the account
	// and for a product.
	for _, tok := range []string{e.tok, locked} {
		page(tok, "page=0;items=1") // token cached
		first := e.trips.Trips(func() { page(tok, "page=0;items=1") })
		last := e.trips.Trips(func() { page(tok, "page=2;items=1") })
		if first != last || first > 5 {
			t.Errorf("DynamoDB calls: page 0 %d, page 2 %d; want equal and at most 5", first, last)
		}
	}
	if d := page(e.tok, "items=500"); len(d.Items.Item) != 9 || *d.Items.TotalPages != 1 {
		t.Errorf("items above the maximum page size: %d items, %d pages", len(d.Items.Item), *d.Items.TotalPages)
	}
}

// validation is a decoded validation: the product module's and the
// features module's properties and the features' lists.
type validation struct {
	product, features map[string]string
	lists             map[string]map[string]string
	ttl               time.Time
}

func (e *env) validate(number string, params url.Values) validation {
	e.t.Helper()
	r := e.do(e.tok, "POST", "licensee/"+number+"/validate", params)
	if r.status != 200 {
		e.t.Fatalf("validate %s: %d %s", number, r.status, r.body)
	}
	d := r.decode(e.t)
	if len(d.Items.Item) != 2 || d.TTL == nil {
		e.t.Fatalf("validate %s: want two product modules and a ttl: %s", number, r.body)
	}
	v := validation{product: d.Items.Item[0].props(), features: d.Items.Item[1].props(), lists: map[string]map[string]string{}}
	for _, l := range d.Items.Item[1].List {
		v.lists[l.Name] = l.props()
	}
	ttl, err := time.Parse("2006-01-02T15:04:05.000Z", *d.TTL)
	if err != nil {
		e.t.Fatalf("ttl %q: %v", *d.TTL, err)
	}
	v.ttl = ttl
	return v
}

// TestValidate: a licensee is valid when one of its keys is valid as Web
// API 3 defines it; features follow the valid keys that have them; an
// inactive licensee and a wrong licensee secret are invalid; the ttl never
// outlives the validity it reports.
func TestValidate(t *testing.T) {
	e := newEnv(t)
	pn := strconv.FormatInt(e.product, 10)
	cust := strconv.FormatInt(e.licensee("V1", e.product, false), 10)
	v := e.validate("V1", nil)
	if v.product["productModuleNumber"] != "M"+pn || v.product["valid"] != "false" || v.product["licensingModel"] != "Subscription" ||
		v.product["productModuleName"] != "Editor" || v.product["expires"] != "" {
		t.Errorf("no licenses: %v", v.product)
	}
	if v.features["productModuleNumber"] != "M"+pn+"F" || v.features["licensingModel"] != "MultiFeature" || v.features["valid"] != "false" ||
		len(v.lists) != 8 || v.lists["F1"]["featureName"] != "Time Limit (F1)" || v.lists["F3"]["featureName"] != "Feature 3" {
		t.Errorf("features module: %v %v", v.features, v.lists)
	}
	if d := time.Until(v.ttl); d < 50*time.Minute || d > 61*time.Minute {
		t.Errorf("ttl %v from now, want an hour", d)
	}
	// A time-limited key (F1) valid for 10 days.
	timed := jsonStr(t, e.webAPI("key/CreateKey", "ProductId", pn, "Period", "10", "F1", "true", "F3", "true", "CustomerId", cust), "key")
	v = e.validate("V1", nil)
	exp, _ := time.Parse("2006-01-02T15:04:05.000Z", v.product["expires"])
	if v.product["valid"] != "true" || time.Until(exp) < 9*24*time.Hour || v.lists["F1"]["valid"] != "true" || v.lists["F3"]["valid"] != "true" ||
		v.lists["F2"]["valid"] != "false" || v.features["valid"] != "true" || v.lists["F3"]["expires"] != v.product["expires"] {
		t.Errorf("time-limited key: %v %v", v.product, v.lists)
	}
	// Expired: Web API 3 shortens it into the past.
	if got := e.webAPI("key/ExtendLicense", "ProductId", pn, "Key", timed, "NoOfDays", "-20"); !strings.Contains(got, `"result":0`) {
		t.Fatalf("ExtendLicense: %s", got)
	}
	v = e.validate("V1", nil)
	if v.product["valid"] != "false" || v.product["expires"] == "" || v.lists["F1"]["valid"] != "false" {
		t.Errorf("expired key: %v %v", v.product, v.lists)
	}
	// A key without a time-limited feature never expires (the product does
	// not make every license time-limited), even with a past expiry.
	perpetual := jsonStr(t, e.webAPI("key/CreateKey", "ProductId", pn, "Period", "1", "F3", "true", "CustomerId", cust), "key")
	e.webAPI("key/ExtendLicense", "ProductId", pn, "Key", perpetual, "NoOfDays", "-5")
	v = e.validate("V1", nil)
	if v.product["valid"] != "true" || v.product["expires"] != "" || v.lists["F3"]["valid"] != "true" || v.lists["F1"]["valid"] != "false" {
		t.Errorf("perpetual key: %v %v", v.product, v.lists)
	}
	// Blocked through Web API 3.
	e.webAPI("key/BlockKey", "ProductId", pn, "Key", perpetual)
	if v = e.validate("V1", nil); v.product["valid"] != "false" {
		t.Errorf("blocked key: %v", v.product)
	}
	e.webAPI("key/UnblockKey", "ProductId", pn, "Key", perpetual)
	// A key expiring in 10 minutes: the ttl ends with it.
	soon := jsonStr(t, e.webAPI("key/CreateKey", "ProductId", pn, "Period", "1", "F1", "true", "CustomerId", cust), "key")
	e.webAPI("key/ExtendLicense", "ProductId", pn, "Key", soon, "NoOfDays", "-1")
	e.webAPI("key/ExtendLicense", "ProductId", pn, "Key", soon, "NoOfDays", "1")
	if v = e.validate("V1", nil); v.product["valid"] != "true" || time.Until(v.ttl) > 24*time.Hour+time.Minute {
		t.Errorf("ttl %v from now", time.Until(v.ttl))
	}
	// Inactive licensee, then a licensee secret.
	e.do(e.tok, "POST", "licensee/V1", url.Values{"active": {"false"}})
	if v = e.validate("V1", nil); v.product["valid"] != "false" || v.lists["F3"]["valid"] != "false" {
		t.Errorf("inactive licensee: %v", v.product)
	}
	e.do(e.tok, "POST", "licensee/V1", url.Values{"active": {"true"}, "licenseeSecret": {"hw-123"}})
	for secret, want := range map[string]string{"": "false", "hw-12": "false", "hw-123": "true"} {
		if v = e.validate("V1", url.Values{"licenseeSecret": {secret}}); v.product["valid"] != want {
			t.Errorf("licenseeSecret %q: valid %s, want %s", secret, v.product["valid"], want)
		}
	}
	// The cost of a validation: the licensee, its keys (a Query and a
	// BatchGetItem); token and product come from the caches.
	if n := e.trips.Trips(func() { e.validate("V1", url.Values{"licenseeSecret": {"hw-123"}}) }); n != 3 {
		t.Errorf("validation made %d DynamoDB calls, want 3", n)
	}
}

// TestTransfer: the source's licenses become the target's (Web API 3
// shows the keys with the target's customer); other licenses stay.
func TestTransfer(t *testing.T) {
	e := newEnv(t)
	pn := strconv.FormatInt(e.product, 10)
	src := strconv.FormatInt(e.licensee("SRC", e.product, true), 10)
	dst := e.licensee("DST", e.product, false)
	var moved []string
	for i := 0; i < 3; i++ {
		moved = append(moved, jsonStr(t, e.webAPI("key/CreateKey", "ProductId", pn, "Period", "30", "CustomerId", src), "key"))
	}
	// The customer's key in another product is not the licensee's.
	other := jsonStr(t, e.webAPI("key/CreateKey", "ProductId", strconv.FormatInt(e.product2, 10), "Period", "30", "CustomerId", src), "key")
	if r := e.do(e.tok, "POST", "licensee/DST/transfer", url.Values{"sourceLicenseeNumber": {"SRC"}}); r.status != 204 {
		t.Fatalf("transfer: %d %s", r.status, r.body)
	}
	for _, k := range moved {
		if got := e.webAPI("key/GetKey", "ProductId", pn, "Key", k); !strings.Contains(got, fmt.Sprintf(`"customer":{"id":%d,`, dst)) {
			t.Errorf("key %s after the transfer: %.300s", k, got)
		}
	}
	if got := e.webAPI("key/GetKey", "ProductId", strconv.FormatInt(e.product2, 10), "Key", other); !strings.Contains(got, `"customer":{"id":`+src+`,`) {
		t.Errorf("the other product's key moved: %.300s", got)
	}
	if v := e.validate("SRC", nil); v.product["valid"] != "false" {
		t.Errorf("source still valid")
	}
	if v := e.validate("DST", nil); v.product["valid"] != "true" {
		t.Errorf("target not valid")
	}
}

// TestDelete: without forceCascade a licensee with licenses stays; with it
// its keys go too, and so does the customer it created (unless the
// customer has keys elsewhere); a linked customer stays.
func TestDelete(t *testing.T) {
	e := newEnv(t)
	pn := strconv.FormatInt(e.product, 10)
	cust := e.licensee("D1", e.product, false)
	k := jsonStr(t, e.webAPI("key/CreateKey", "ProductId", pn, "Period", "30", "CustomerId", strconv.FormatInt(cust, 10)), "key")
	e.webAPI("key/Activate", "ProductId", pn, "Key", k, "MachineCode", "m1")
	r := e.do(e.tok, "DELETE", "licensee/D1", url.Values{"forceCascade": {"false"}})
	if id, msg := r.errorInfo(t); r.status != 400 || id != "MalformedRequestException" || msg != "Licensee has licenses: delete it with forceCascade=true to delete them too" {
		t.Errorf("delete without cascade: %d %s %s", r.status, id, msg)
	}
	if r := e.do(e.tok, "DELETE", "licensee/D1", nil); r.status != 400 {
		t.Errorf("delete without forceCascade: %d %s", r.status, r.body)
	}
	// The documented form: licensee/{number}?forceCascade (the bare flag).
	if r := e.do(e.tok, "DELETE", "licensee/D1?forceCascade", nil); r.status != 204 {
		t.Fatalf("delete with cascade: %d %s", r.status, r.body)
	}
	if got := e.webAPI("key/GetKey", "ProductId", pn, "Key", k); got != `{"result":1,"message":"Could not find the key."}` {
		t.Errorf("the licensee's key after the cascade: %s", got)
	}
	if got := e.webAPI("customer/GetCustomers"); strings.Contains(got, fmt.Sprintf(`"id":%d`, cust)) {
		t.Errorf("the licensee's own customer survived: %s", got)
	}
	// A licensee linked to an existing customer leaves the customer.
	id := jsonInt(t, e.webAPI("customer/AddCustomer", "Name", "Kept", "Email", "k@example.com", "CompanyName", "K"), "customerId")
	e.do(e.tok, "POST", "licensee", url.Values{"productNumber": {pn}, "number": {"D2"}, "keyturnCustomerId": {id}})
	if r := e.do(e.tok, "DELETE", "licensee/D2", nil); r.status != 204 {
		t.Fatalf("delete D2: %d %s", r.status, r.body)
	}
	if got := e.webAPI("customer/GetCustomers"); !strings.Contains(got, `"name":"Kept"`) {
		t.Errorf("the linked customer was removed: %s", got)
	}
	// A created customer with a key in another product stays too.
	c3 := strconv.FormatInt(e.licensee("D3", e.product, false), 10)
	e.webAPI("key/CreateKey", "ProductId", strconv.FormatInt(e.product2, 10), "Period", "30", "CustomerId", c3)
	e.do(e.tok, "DELETE", "licensee/D3", nil)
	if got := e.webAPI("customer/GetCustomers"); !strings.Contains(got, `"id":`+c3) {
		t.Errorf("a customer with keys elsewhere was removed: %s", got)
	}
}

// TestConcurrentCreate: parallel creates of one number store exactly one
// licensee; the others are refused and leave no customer behind.
func TestConcurrentCreate(t *testing.T) {
	e := newEnv(t)
	pn := strconv.FormatInt(e.product, 10)
	const n = 8
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			codes[i] = e.do(e.tok, "POST", "licensee", url.Values{"productNumber": {pn}, "number": {"SAME"}, "name": {"c" + strconv.Itoa(i)}}).status
		}(i)
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		switch c {
		case 200:
			ok++
		case 400:
		default:
			t.Errorf("status %d", c)
		}
	}
	if ok != 1 {
		t.Errorf("%d creates succeeded, want 1 (%v)", ok, codes)
	}
	d := e.do(e.tok, "GET", "licensee", nil).decode(t)
	if *d.Items.TotalItems != 1 || len(d.Items.Item) != 1 {
		t.Errorf("listing after the race: %d licensees (total %d)", len(d.Items.Item), *d.Items.TotalItems)
	}
	if got := e.webAPI("customer/GetCustomers"); strings.Count(got, `"id":`) != 1 {
		t.Errorf("customers after the race: %s", got)
	}
}

// jsonStr returns a string member of a Web API 3 answer.
func jsonStr(t *testing.T, body, name string) string {
	t.Helper()
	i := strings.Index(body, `"`+name+`":"`)
	if i < 0 {
		t.Fatalf("no %s in %s", name, body)
	}
	rest := body[i+len(name)+4:]
	return rest[:strings.IndexByte(rest, '"')]
}
