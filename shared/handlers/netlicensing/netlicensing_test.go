package netlicensing_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestLicenseeLifecycle: create (generated and given number, custom
// properties), get, update (name, flags, properties added and removed),
// list, delete, each answering NetLicensing's JSON document.
func TestLicenseeLifecycle(t *testing.T) {
	e := newEnv(t)
	pn := strconv.FormatInt(e.product, 10)
	gen := e.do(e.tok, "POST", "licensee", url.Values{"productNumber": {pn}, "name": {"Ada"}}).licensee(t)
	if !strings.HasPrefix(gen["number"], "I") || len(gen["number"]) != 10 || gen["active"] != "true" || gen["name"] != "Ada" ||
		gen["productNumber"] != pn || gen["inUse"] != "false" || gen["markedForTransfer"] != "false" {
		t.Errorf("created licensee = %v", gen)
	}
	got := e.do(e.tok, "POST", "licensee", url.Values{"productNumber": {pn}, "number": {"CUST-1"}, "active": {"false"},
		"licenseeSecret": {"s3"}, "color": {"blue"}}).licensee(t)
	want := map[string]string{"number": "CUST-1", "active": "false", "productNumber": pn, "licenseeSecret": "s3",
		"markedForTransfer": "false", "inUse": "false", "color": "blue", "keyturnCustomerId": got["keyturnCustomerId"]}
	if !equalMaps(got, want) {
		t.Errorf("created = %v\nwant %v", got, want)
	}
	if g := e.do(e.tok, "GET", "licensee/CUST-1", nil).licensee(t); !equalMaps(g, want) {
		t.Errorf("get = %v\nwant %v", g, want)
	}
	upd := e.do(e.tok, "POST", "licensee/CUST-1", url.Values{"name": {"Bo"}, "active": {"true"}, "markedForTransfer": {"true"},
		"color": {""}, "size": {"L"}, "productNumber": {"999"}, "inUse": {"true"}}).licensee(t)
	want["name"], want["active"], want["markedForTransfer"], want["size"] = "Bo", "true", "true", "L"
	delete(want, "color")
	if !equalMaps(upd, want) {
		t.Errorf("updated = %v\nwant %v", upd, want)
	}
	ren := e.do(e.tok, "POST", "licensee/CUST-1", url.Values{"number": {"CUST-2"}}).licensee(t)
	if ren["number"] != "CUST-2" || ren["name"] != "Bo" {
		t.Errorf("renumbered = %v", ren)
	}
	if r := e.do(e.tok, "GET", "licensee/CUST-1", nil); r.status != 404 {
		t.Errorf("old number: %d %s", r.status, r.body)
	}
	r := e.do(e.tok, "GET", "licensee", nil)
	d := r.decode(t)
	if r.status != 200 || len(d.Items.Item) != 2 || *d.Items.TotalItems != 2 || *d.Items.TotalPages != 1 || *d.Items.PageNumber != 0 || *d.Items.HasNext {
		t.Errorf("list = %d %s", r.status, r.body)
	}
	if r := e.do(e.tok, "DELETE", "licensee/CUST-2", url.Values{"forceCascade": {"false"}}); r.status != 204 || r.body != "" {
		t.Errorf("delete: %d %q", r.status, r.body)
	}
	if r := e.do(e.tok, "GET", "licensee/CUST-2", nil); r.status != 404 {
		t.Errorf("deleted licensee: %d", r.status)
	} else if id, msg := r.errorInfo(t); id != "NotFoundException" || msg != "Requested licensee does not exist" {
		t.Errorf("deleted licensee: %s %s", id, msg)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
