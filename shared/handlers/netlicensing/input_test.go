package netlicensing_test

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestBadInput: hostile and malformed requests get NetLicensing's status
// code and ERROR info (never a 500), in the requested format, and create
// nothing.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	e.licensee("TAKEN", e.product, false)
	e.licensee("OTHER-PRODUCT", e.product2, true)
	e.licensee("UNMARKED", e.product, false)
	pn := strconv.FormatInt(e.product, 10)
	create := func(kv ...string) url.Values {
		v := url.Values{"productNumber": {pn}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	manyProps := create()
	for i := 0; i < 51; i++ {
		manyProps.Set("p"+strconv.Itoa(i), "v")
	}
	long := strings.Repeat("x", 1001)
	const (
		malformed = "MalformedRequestException"
		notFound  = "NotFoundException"
	)
	tests := []struct {
		name   string
		method string
		path   string
		params url.Values
		raw    string // a raw body instead of params
		status int
		id     string
		msg    string // "" to skip
	}{
		{"create without productNumber", "POST", "licensee", url.Values{"name": {"x"}}, "", 400, malformed, "Product number is not provided"},
		{"create with a blank productNumber", "POST", "licensee", url.Values{"productNumber": {" "}}, "", 400, malformed, "Product number is not provided"},
		{"productNumber not a number", "POST", "licensee", url.Values{"productNumber": {"abc"}}, "", 404, notFound, "Requested product does not exist"},
		{"productNumber out of range", "POST", "licensee", url.Values{"productNumber": {"99999999999999999999999"}}, "", 404, notFound, ""},
		{"productNumber negative", "POST", "licensee", url.Values{"productNumber": {"-3"}}, "", 404, notFound, ""},
		{"productNumber unknown", "POST", "licensee", url.Values{"productNumber": {"424242"}}, "", 404, notFound, ""},
		{"number with a slash", "POST", "licensee", create("number", "a/b"), "", 400, malformed, "Licensee number must be 1 to 1000 characters without whitespace, control characters or any of / ? # % \\"},
		{"number with a space", "POST", "licensee", create("number", "a b"), "", 400, malformed, ""},
		{"number with a control character", "POST", "licensee", create("number", "a\x01b"), "", 400, malformed, ""},
		{"number not UTF-8", "POST", "licensee", create("number", "a\xffb"), "", 400, malformed, ""},
		{"number of 1001 characters", "POST", "licensee", create("number", long), "", 400, malformed, ""},
		{"number taken", "POST", "licensee", create("number", "TAKEN"), "", 400, malformed, "Licensee with this number already exists"},
		{"name of 101 characters", "POST", "licensee", create("name", strings.Repeat("n", 101)), "", 400, malformed, "The name of the customer is limited to 100 characters."},
		{"name not UTF-8", "POST", "licensee", create("name", "\xfe"), "", 400, malformed, ""},
		{"licensee secret not UTF-8", "POST", "licensee", create("licenseeSecret", "\xff"), "", 400, malformed, "The input parameters were incorrect."},
		{"licensee secret too long", "POST", "licensee", create("licenseeSecret", long), "", 400, malformed, "Licensee secret is limited to 1000 characters"},
		{"51 custom properties", "POST", "licensee", manyProps, "", 400, malformed, ""},
		{"custom property value too long", "POST", "licensee", create("color", long), "", 400, malformed, ""},
		{"custom property name with a control character", "POST", "licensee", create("co\x07lor", "red"), "", 400, malformed, ""},
		{"keyturnCustomerId not a number", "POST", "licensee", create("keyturnCustomerId", "x"), "", 400, malformed, "keyturnCustomerId must be the id of a customer"},
		{"keyturnCustomerId unknown", "POST", "licensee", create("keyturnCustomerId", "777777"), "", 404, notFound, "Requested customer does not exist"},
		{"body not url-encoded", "POST", "licensee", nil, "productNumber=%zz", 400, malformed, ""},
		{"body too large", "POST", "licensee", nil, "productNumber=" + pn + "&pad=" + strings.Repeat("x", 20001), 400, malformed, "The request body is too large"},
		{"query not url-encoded", "GET", "licensee/TAKEN?x=%zz", nil, "", 400, malformed, ""},
		{"get a number of 1001 characters", "GET", "licensee/" + long, nil, "", 400, malformed, ""},
		{"get unknown", "GET", "licensee/NOPE", nil, "", 404, notFound, "Requested licensee does not exist"},
		{"update unknown", "POST", "licensee/NOPE", url.Values{"name": {"x"}}, "", 404, notFound, ""},
		{"update to a taken number", "POST", "licensee/UNMARKED", url.Values{"number": {"TAKEN"}}, "", 400, malformed, ""},
		{"update to an invalid number", "POST", "licensee/UNMARKED", url.Values{"number": {"a?b"}}, "", 400, malformed, ""},
		{"delete unknown", "DELETE", "licensee/NOPE", nil, "", 404, notFound, ""},
		{"validate unknown", "POST", "licensee/NOPE/validate", nil, "", 404, notFound, ""},
		{"transfer without source", "POST", "licensee/TAKEN/transfer", nil, "", 400, malformed, "Source licensee number is not provided"},
		{"transfer from unknown", "POST", "licensee/TAKEN/transfer", url.Values{"sourceLicenseeNumber": {"NOPE"}}, "", 404, notFound, ""},
		{"transfer to itself", "POST", "licensee/TAKEN/transfer", url.Values{"sourceLicenseeNumber": {"TAKEN"}}, "", 400, malformed, ""},
		{"transfer across products", "POST", "licensee/TAKEN/transfer", url.Values{"sourceLicenseeNumber": {"OTHER-PRODUCT"}}, "", 400, malformed,
			"Licensees with sourceLicenseeNumber and licenseeNumber must be assigned to the same product"},
		{"transfer from an unmarked licensee", "POST", "licensee/TAKEN/transfer", url.Values{"sourceLicenseeNumber": {"UNMARKED"}}, "", 400, malformed, ""},
		{"method not served", "PUT", "licensee", nil, "", 405, "MethodNotAllowedException", ""},
		{"unknown resource", "GET", "product", nil, "", 404, notFound, "Resource not found"},
		{"too deep", "GET", "licensee/A/validate/x", nil, "", 404, notFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, accept := range []string{"application/json", "application/xml"} {
				var r response
				if tt.raw != "" {
					r = e.raw(e.tok, tt.method, tt.path, tt.raw, accept)
				} else {
					r = e.do(e.tok, tt.method, tt.path, tt.params, "Accept", accept)
				}
				if r.status != tt.status {
					t.Fatalf("%s: status %d, want %d: %.300s", accept, r.status, tt.status, r.body)
				}
				var id, msg string
				if accept == "application/xml" {
					id, msg = xmlError(t, r)
				} else {
					id, msg = r.errorInfo(t)
				}
				if id != tt.id || tt.msg != "" && msg != tt.msg {
					t.Errorf("%s: info %s %q, want %s %q", accept, id, msg, tt.id, tt.msg)
				}
			}
		})
	}
	d := e.do(e.tok, "GET", "licensee", nil).decode(t)
	if *d.Items.TotalItems != 3 || len(d.Items.Item) != 3 {
		t.Errorf("after the refused calls the account has %d licensees, want the 3 it had", *d.Items.TotalItems)
	}
	if got := e.webAPI("customer/GetCustomers"); strings.Count(got, `"id":`) != 3 {
		t.Errorf("after the refused calls the customers are %s, want the 3 licensees' customers", got)
	}
	if r := e.do(e.tok, "PUT", "licensee/TAKEN", nil); r.header.Get("Allow") != "DELETE, GET, POST" {
		t.Errorf("405 Allow = %q", r.header.Get("Allow"))
	}
}

// TestLenientInput: what NetLicensing accepts loosely is accepted:
// malformed filter entries, booleans spelled any way, unknown Accept
// types (answered in XML), repeated parameters (the first counts).
func TestLenientInput(t *testing.T) {
	e := newEnv(t)
	e.licensee("L1", e.product, false)
	if r := e.do(e.tok, "GET", "licensee", url.Values{"filter": {"page=x;items=-5;foo;=3;page"}}); r.status != 200 || len(r.decode(t).Items.Item) != 1 {
		t.Errorf("malformed filter: %d %s", r.status, r.body)
	}
	for spelling, want := range map[string]string{"TRUE": "true", "1": "true", "yes": "true", "false": "false", "0": "false", "maybe": "false"} {
		if got := e.do(e.tok, "POST", "licensee/L1", url.Values{"markedForTransfer": {spelling}}).licensee(t)["markedForTransfer"]; got != want {
			t.Errorf("markedForTransfer=%s: %s, want %s", spelling, got, want)
		}
	}
	for _, accept := range []string{"", "text/html", "*/*", "application/xml;q=0.9, application/json;q=0.5", "text/xml"} {
		r := e.do(e.tok, "GET", "licensee/L1", nil, "Accept", accept)
		if r.status != 200 || !strings.HasPrefix(r.body, "<?xml") || !strings.HasPrefix(r.header.Get("Content-Type"), "application/xml") {
			t.Errorf("Accept %q: %d %s %.100s", accept, r.status, r.header.Get("Content-Type"), r.body)
		}
	}
	if r := e.do(e.tok, "GET", "licensee/L1", nil, "Accept", "application/xml;q=0.5, application/json"); !strings.HasPrefix(r.body, "{") {
		t.Errorf("JSON preferred: %.100s", r.body)
	}
	r := e.raw(e.tok, "POST", "licensee/L1", "color=red&color=blue", "application/json")
	if got := r.licensee(t)["color"]; got != "red" {
		t.Errorf("repeated parameter: color %q, want the first, red", got)
	}
	// Paths are matched case-insensitively and with extra slashes.
	if r := e.do(e.tok, "GET", "/Licensee//L1/", nil); r.status != 200 {
		t.Errorf("path spelling: %d", r.status)
	}
}

// TestXMLDocuments: the XML documents are well-formed, in NetLicensing's
// namespace, and carry client values escaped.
func TestXMLDocuments(t *testing.T) {
	e := newEnv(t)
	pn := strconv.FormatInt(e.product, 10)
	r := e.do(e.tok, "POST", "licensee", url.Values{"productNumber": {pn}, "number": {"X&1"}, "name": {`<b>"Ada"</b>`}, "note": {"]]>&\x00"}}, "Accept", "application/xml")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var d struct {
		XMLName xml.Name
		Items   struct {
			Item []struct {
				Type     string `xml:"type,attr"`
				Property []struct {
					Name  string `xml:"name,attr"`
					Value string `xml:",chardata"`
				} `xml:"property"`
			} `xml:"item"`
		} `xml:"items"`
	}
	if err := xml.Unmarshal([]byte(r.body), &d); err != nil {
		t.Fatalf("not well-formed XML: %v\n%s", err, r.body)
	}
	if d.XMLName.Space != "http://netlicensing.labs64.com/schema/context" || d.XMLName.Local != "netlicensing" {
		t.Errorf("root element %v", d.XMLName)
	}
	got := map[string]string{}
	for _, p := range d.Items.Item[0].Property {
		got[p.Name] = p.Value
	}
	if got["number"] != "X&1" || got["name"] != `<b>"Ada"</b>` || got["note"] != "]]>&\uFFFD" {
		t.Errorf("properties = %v", got)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/xml;charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}
	// An error document in XML.
	r = e.do(e.tok, "GET", "licensee/NOPE", nil, "Accept", "application/xml")
	want := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		`<netlicensing xmlns="http://netlicensing.labs64.com/schema/context"><infos><info id="NotFoundException" type="ERROR">Requested licensee does not exist</info></infos><items/></netlicensing>`
	if r.status != http.StatusNotFound || r.body != want {
		t.Errorf("got %d %s\nwant 404 %s", r.status, r.body, want)
	}
	// The same in JSON.
	r = e.do(e.tok, "GET", "licensee/NOPE", nil)
	wantJSON := `{"signature":null,"infos":{"info":[{"value":"Requested licensee does not exist","id":"NotFoundException","type":"ERROR"}]},` +
		`"items":{"item":[],"pagenumber":null,"itemsnumber":null,"totalpages":null,"totalitems":null,"hasnext":null},"id":null,"ttl":null}`
	if r.body != wantJSON || r.header.Get("Content-Type") != "application/json;charset=UTF-8" {
		t.Errorf("got %s %s\nwant %s", r.header.Get("Content-Type"), r.body, wantJSON)
	}
}

// xmlError returns the id and text of the ERROR info of an XML document.
func xmlError(t *testing.T, r response) (string, string) {
	t.Helper()
	var d struct {
		Infos struct {
			Info []struct {
				ID    string `xml:"id,attr"`
				Type  string `xml:"type,attr"`
				Value string `xml:",chardata"`
			} `xml:"info"`
		} `xml:"infos"`
	}
	if err := xml.Unmarshal([]byte(r.body), &d); err != nil {
		t.Fatalf("not an XML document (%d): %v: %.300s", r.status, err, r.body)
	}
	for _, in := range d.Infos.Info {
		if in.Type == "ERROR" {
			return in.ID, in.Value
		}
	}
	t.Fatalf("no ERROR info: %.300s", r.body)
	return "", ""
}
