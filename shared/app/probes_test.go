package app_test

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/app"
)

// world is one account with a little of everything, every name carrying
// the account's marker so that answers can be searched for its data.
type world struct {
	fixture
	marker string
	// p1 holds k1 and k2 (both of customer, k1 also of reseller, both
	// activated on machine); p2 holds k3.
	p1, p2     int64
	k1, k2, k3 string
	k1ID, k2ID int64
	gid1, gid2 int64
	machine    string
	customer   int64
	secret     string
	reseller   int64
	template   int64
	username   string
	password   string
	// Data objects: of the account (user), of p1, of k1 and k2, and of the
	// machine on k1 and on k2.
	userObj, productObj, kObj1, kObj2, mObj1, mObj2 int64
	// message is a message of the account (content <marker>-message).
	message int64
	// paymentForm creates keys of p1 from the template.
	paymentForm int64
}

// Names of a world's data objects (machine code objects have at most 10
// characters).
func (w world) kObjName(i int) string { return w.marker + "-ko" + strconv.Itoa(i) }
func (w world) mObjName(i int) string { return w.marker[:4] + "-mo" + strconv.Itoa(i) }

// newWorld builds a world for a new account named marker through the admin
// API and the Web API (with a token of every permission).
func (e *env) newWorld(marker string) world {
	e.t.Helper()
	w := world{marker: marker, machine: marker + "-machine", username: marker + "-user", password: marker + "-password"}
	var acc struct{ ID int64 }
	e.mustAdmin("POST", "/admin/accounts", map[string]any{"name": marker}, &acc)
	w.account = acc.ID
	base := "/admin/accounts/" + strconv.FormatInt(acc.ID, 10)
	var key struct{ XML string }
	e.mustAdmin("POST", base+"/signing-keys", nil, &key)
	for i, p := range []*int64{&w.p1, &w.p2} {
		var out struct{ ID int64 }
		e.mustAdmin("POST", base+"/products", map[string]any{"name": marker + "-product-" + strconv.Itoa(i+1)}, &out)
		*p = out.ID
	}
	w.product = w.p1
	w.token = e.token(w.fixture, map[string]any{"name": marker + "-all", "methods": []string{"*"}})
	var tpl struct{ ID int64 }
	e.mustAdmin("POST", base+"/license-templates", map[string]any{"name": marker + "-template", "productId": w.p1, "period": 30}, &tpl)
	w.template = tpl.ID
	w.customer, w.secret = e.addCustomer(w.fixture, "Name", marker+"-customer", "Email", marker+"@example.com", "CompanyName", marker+"-company")
	body := e.post("reseller/AddReseller", "token", w.token, "Name", marker+"-reseller")
	var res struct {
		ResellerID int64 `json:"resellerId"`
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil || res.ResellerID == 0 {
		e.t.Fatalf("AddReseller = %s", body)
	}
	w.reseller = res.ResellerID
	cid, rid := strconv.FormatInt(w.customer, 10), strconv.FormatInt(w.reseller, 10)
	w.k1 = e.createKeyIn(w.fixture, w.p1, "Notes", marker+"-notes-1", "CustomerId", cid, "ResellerId", rid)
	w.k2 = e.createKeyIn(w.fixture, w.p1, "Notes", marker+"-notes-2", "CustomerId", cid)
	w.k3 = e.createKeyIn(w.fixture, w.p2, "Notes", marker+"-notes-3", "CustomerId", cid)
	for i, k := range []string{w.k1, w.k2} {
		if _, r := e.activate(w.fixture, "Key", k, "MachineCode", w.machine); r.Result != 0 {
			e.t.Fatalf("Activate: %s", r.Message)
		}
		rec := e.record(w.fixture, k)
		if i == 0 {
			w.k1ID, w.gid1 = rec.ID, rec.GlobalID
		} else {
			w.k2ID, w.gid2 = rec.ID, rec.GlobalID
		}
	}
	if got := e.post("userauth/Register", "token", w.token, "Username", w.username, "Password", w.password, "CustomerId", cid); got != ok {
		e.t.Fatalf("Register = %s", got)
	}
	pid := strconv.FormatInt(w.p1, 10)
	add := func(method string, kv ...string) int64 {
		body := e.post("data/"+method, append([]string{"token", w.token}, kv...)...)
		var r struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil || r.ID == 0 {
			e.t.Fatalf("%s = %s", method, body)
		}
		return r.ID
	}
	w.userObj = add("AddDataObject", "Name", marker+"-uo", "StringValue", marker+"-value")
	w.productObj = add("AddDataObject", "ReferencerType", "1", "ReferencerId", pid, "Name", marker+"-po")
	w.kObj1 = add("AddDataObjectToKey", "ProductId", pid, "Key", w.k1, "Name", w.kObjName(1), "IntValue", "5")
	w.kObj2 = add("AddDataObjectToKey", "ProductId", pid, "Key", w.k2, "Name", w.kObjName(2), "IntValue", "5")
	w.mObj1 = add("AddDataObjectToMachineCode", "ProductId", pid, "Key", w.k1, "MachineCode", w.machine, "Name", w.mObjName(1))
	w.mObj2 = add("AddDataObjectToMachineCode", "ProductId", pid, "Key", w.k2, "MachineCode", w.machine, "Name", w.mObjName(2))
	body = e.post("message/CreateMessage", "token", w.token, "Content", marker+"-message", "Channel", marker+"-channel")
	var msg struct {
		MessageID int64 `json:"messageId"`
	}
	if err := json.Unmarshal([]byte(body), &msg); err != nil || msg.MessageID == 0 {
		e.t.Fatalf("CreateMessage = %s", body)
	}
	w.message = msg.MessageID
	var form struct{ ID int64 }
	e.mustAdmin("POST", base+"/payment-forms", map[string]any{"name": marker + "-form", "price": "10.00", "currency": "usd",
		"templateId": w.template, "newCustomer": true}, &form)
	w.paymentForm = form.ID
	return w
}

// target is what probes name: one product and one key of it (with a machine
// activated on it and its key and machine objects), and the account's
// customer, reseller, template, user and objects.
type target struct {
	product                 int64
	key                     string
	globalID                int64
	machine                 string
	keyObj, machineObj      int64
	keyObjName, machineName string
	customer                int64
	secret                  string
	reseller                int64
	template                int64
	username, password      string
	userObj, productObj     int64
	message                 int64
	channel                 string
	paymentForm             int64
}

// targetKey returns the world's target for its key i (1 or 2, both in p1).
func (w world) targetKey(i int) target {
	t := target{product: w.p1, machine: w.machine, customer: w.customer, secret: w.secret, reseller: w.reseller,
		template: w.template, username: w.username, password: w.password, userObj: w.userObj, productObj: w.productObj,
		message: w.message, channel: w.marker + "-channel",
		paymentForm: w.paymentForm}
	if i == 1 {
		t.key, t.globalID, t.keyObj, t.machineObj, t.keyObjName, t.machineName = w.k1, w.gid1, w.kObj1, w.mObj1, w.kObjName(1), w.mObjName(1)
	} else {
		t.key, t.globalID, t.keyObj, t.machineObj, t.keyObjName, t.machineName = w.k2, w.gid2, w.kObj2, w.mObj2, w.kObjName(2), w.mObjName(2)
	}
	return t
}

// probe is one call of a method: its parameters (besides the token), a
// label for expectations ("method#label") and whether, in the isolation
// test, a successful answer is the calling account's own data (methods
// that name nothing of another account: creating in the own account,
// listing the own account's data).
type probe struct {
	label  string
	params []string
	own    bool
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// probes returns, for every Web API method ("group/Name"), the calls that
// name x's data. TestTenantIsolation and the lock tests fail for a
// registered method without an entry.
func probes(x target) map[string][]probe {
	pid := itoa(x.product)
	k := []string{"ProductId", pid, "Key", x.key}
	with := func(base []string, kv ...string) []string { return append(append([]string{}, base...), kv...) }
	one := func(params ...string) []probe { return []probe{{params: params}} }
	m := map[string][]probe{
		"key/Activate":              {{params: with(k, "MachineCode", "probe-machine")}, {label: "known machine", params: with(k, "MachineCode", x.machine, "Sign", "true")}},
		"key/GetKey":                {{params: with(k, "Metadata", "true")}},
		"key/CreateKey":             {{params: []string{"ProductId", pid}}, {label: "customer", params: []string{"ProductId", pid, "CustomerId", itoa(x.customer), "ResellerId", itoa(x.reseller)}}},
		"key/CreateKeyFromTemplate": one("LicenseTemplateId", itoa(x.template)),
		"key/CreateTrialKey":        one("ProductId", pid, "MachineCode", "probe-trial"),
		"key/Deactivate":            one(with(k, "MachineCode", x.machine)...),
		"key/BlockKey":              one(k...),
		"key/UnblockKey":            one(k...),
		"key/ExtendLicense":         one(with(k, "NoOfDays", "30")...),
		"key/MachineLockLimit":      one(with(k, "NumberOfMachines", "7")...),
		"key/ChangeNotes":           one(with(k, "Notes", "probe")...),
		"key/TrialActivation":       one(with(k, "Enabled", "true")...),
		"key/AddFeature":            one(with(k, "Feature", "3")...),
		"key/RemoveFeature":         one(with(k, "Feature", "1")...),
		"key/ChangeCustomer":        one(with(k, "CustomerId", itoa(x.customer))...),
		"key/ChangeReseller":        one(with(k, "ResellerId", itoa(x.reseller))...),
		"auth/KeyLock":              one(k...),
		"product/GetProducts":       {{own: true}},
		"product/GetKeys": {{params: []string{"ProductId", pid}}, {label: "global id", params: []string{"ProductId", pid, "GlobalId", itoa(x.globalID)}},
			{label: "search", params: []string{"ProductId", pid, "SearchQuery", `Key == "` + x.key + `"`}}},
		"licensetemplate/GetLicenseTemplates":  {{own: true}},
		"customer/AddCustomer":                 {{params: []string{"Name", "probe", "Email", "probe@example.com", "CompanyName", "probe"}, own: true}},
		"customer/EditCustomer":                one("CustomerId", itoa(x.customer), "Name", "probe", "Secret", "true", "MaxNoOfDevices", "1"),
		"customer/GetCustomers":                {{own: true}, {label: "by id", params: []string{"CustomerId", itoa(x.customer)}, own: true}},
		"customer/GetCustomerLicenses":         {{params: []string{"CustomerId", itoa(x.customer)}}, {label: "detailed", params: []string{"CustomerId", itoa(x.customer), "Detailed", "true", "Metadata", "true"}}},
		"customer/GetCustomerLicensesBySecret": {{params: []string{"Secret", x.secret}}, {label: "detailed", params: []string{"Secret", x.secret, "Detailed", "true", "Metadata", "true"}}},
		"customer/RemoveCustomer":              one("CustomerId", itoa(x.customer)),
		"reseller/AddReseller":                 {{params: []string{"Name", "probe"}, own: true}},
		"reseller/EditReseller":                one("ResellerId", itoa(x.reseller), "Name", "probe"),
		"reseller/GetResellers":                {{own: true}, {label: "by id", params: []string{"ResellerId", itoa(x.reseller)}, own: true}},
		"reseller/GetResellerCustomers":        one("ResellerId", itoa(x.reseller)),
		"reseller/RemoveReseller":              one("ResellerId", itoa(x.reseller)),
		"userauth/Login":                       one("Username", x.username, "Password", x.password),
		"userauth/CreateLoginToken": {{params: []string{"Username", x.username, "Password", x.password}},
			{label: "admin", params: []string{"Username", x.username, "AdminMode", "true"}}},
		"userauth/ChangePassword": {{params: []string{"Username", x.username, "OldPassword", x.password, "NewPassword", "probe-password"}},
			{label: "admin", params: []string{"Username", x.username, "NewPassword", "probe-password", "AdminMode", "true"}}},
		"userauth/Register":           one("Username", "probe-user", "Password", "probe-password", "CustomerId", itoa(x.customer)),
		"userauth/Associate":          one("Username", x.username, "CustomerId", itoa(x.customer)),
		"userauth/Dissociate":         one("Username", x.username),
		"userauth/GetUsers":           {{own: true}, {label: "customer", params: []string{"CustomerId", itoa(x.customer)}, own: true}},
		"userauth/ResetPasswordToken": one("Username", x.username),
		"userauth/RemoveUser":         one("Username", x.username),
		// Messages belong to the account: creating one makes B's own,
		// reading lists B's own (even of A's channel's name).
		"message/CreateMessage":     {{params: []string{"Content", "probe", "Channel", "probe"}, own: true}},
		"message/GetMessages":       {{own: true}, {label: "channel", params: []string{"Channel", x.channel}, own: true}},
		"message/RemoveMessage":     one("Id", itoa(x.message)),
		"paymentform/CreateSession": one("PaymentFormId", itoa(x.paymentForm), "Currency", "USD", "Expires", "600"),
		"subscription/RecordUsage":  one(with(k, "Amount", "1")...),
		"data/UploadValuesToKey": {{params: with(k, "Id", itoa(x.keyObj), "Data", "W3siSW50VmFsdWUiOjF9XQ==")},
			{label: "name", params: with(k, "Name", x.keyObjName, "Data", "W3siSW50VmFsdWUiOjF9XQ==")}},
	}
	// Data objects: every method in its three forms.
	objects := []int64{x.userObj, x.productObj, x.keyObj, x.machineObj}
	km := with(k, "MachineCode", x.machine)
	values := map[string][]string{
		"IncrementIntValue": {"IntValue", "1"}, "DecrementIntValue": {"IntValue", "1"}, "SetIntValue": {"IntValue", "99"},
		"SetStringValue": {"StringValue", "probe"}, "RemoveDataObject": nil,
	}
	for base, v := range values {
		var general []probe
		for _, id := range objects {
			general = append(general, probe{label: "id " + itoa(id), params: with([]string{"Id", itoa(id)}, v...)})
		}
		m["data/"+base] = general
		m["data/"+base+"ToKey"] = []probe{{label: "id", params: with(k, append([]string{"Id", itoa(x.keyObj)}, v...)...)},
			{label: "name", params: with(k, append([]string{"Name", x.keyObjName}, v...)...)}}
		m["data/"+base+"ToMachineCode"] = []probe{{label: "id", params: with(km, append([]string{"Id", itoa(x.machineObj)}, v...)...)},
			{label: "name", params: with(km, append([]string{"Name", x.machineName}, v...)...)}}
	}
	m["data/AddDataObject"] = []probe{{label: "user", params: []string{"Name", "probe"}, own: true},
		{label: "product", params: []string{"ReferencerType", "1", "ReferencerId", pid, "Name", "probe"}},
		{label: "key", params: []string{"ReferencerType", "2", "ReferencerId", itoa(x.globalID), "Name", "probe"}}}
	m["data/AddDataObjectToKey"] = one(with(k, "Name", "probe")...)
	m["data/AddDataObjectToMachineCode"] = one(with(km, "Name", "probe")...)
	m["data/ListDataObjects"] = []probe{{label: "user", params: []string{"ReferencerType", "0"}, own: true},
		{label: "product", params: []string{"ReferencerType", "1", "ReferencerId", pid}},
		{label: "key", params: []string{"ReferencerType", "2", "ReferencerId", itoa(x.globalID)}},
		{label: "show all", params: []string{"ShowAll", "true"}, own: true}}
	m["data/ListDataObjectsToKey"] = one(k...)
	m["data/ListDataObjectsToMachineCode"] = one(km...)
	return m
}

// registered returns every Web API method the service serves, as
// "group/Name", sorted.
func registered(a *app.App) []string {
	var out []string
	for _, g := range app.Groups(a) {
		for _, m := range g.Methods {
			out = append(out, g.Name+"/"+m.Name)
		}
	}
	sort.Strings(out)
	return out
}

// probeResult is one answer of runProbes.
type probeResult struct {
	method string
	probe  probe
	body   string
	ok     bool // result 0
}

// runProbes calls every registered method with its probes and the token.
// It fails the test for a method without probes.
func (e *env) runProbes(t *testing.T, token string, x target) []probeResult {
	t.Helper()
	all := probes(x)
	var out []probeResult
	for _, method := range registered(e.app) {
		ps, found := all[method]
		if !found || len(ps) == 0 {
			t.Errorf("%s has no probe: add it to probes() so that isolation and locks are tested", method)
			continue
		}
		for _, p := range ps {
			body := e.post(method, append([]string{"token", token}, p.params...)...)
			var r struct {
				Result *int `json:"result"`
			}
			if err := json.Unmarshal([]byte(body), &r); err != nil || r.Result == nil {
				t.Errorf("%s %v: not an envelope: %.300s", method, p.params, body)
				continue
			}
			out = append(out, probeResult{method: method, probe: p, body: body, ok: *r.Result == 0})
		}
	}
	return out
}

// name is how a probe is named in expectations and messages.
func (r probeResult) name() string {
	if r.probe.label == "" {
		return r.method
	}
	return r.method + "#" + r.probe.label
}

// leaks returns the markers a body contains.
func leaks(body string, markers []string) []string {
	var found []string
	for _, m := range markers {
		if m != "" && strings.Contains(body, m) {
			found = append(found, m)
		}
	}
	return found
}

// snapshot is the table's items by primary key, each as its JSON form.
type snapshot map[string]string

func (e *env) snapshot() snapshot {
	e.t.Helper()
	out := snapshot{}
	for _, it := range e.scan() {
		var m map[string]any
		if err := attributevalue.UnmarshalMap(it, &m); err != nil {
			e.t.Fatal(err)
		}
		b, err := json.Marshal(m)
		if err != nil {
			e.t.Fatal(err)
		}
		out[itemKey(it)] = string(b)
	}
	return out
}

func itemKey(it map[string]types.AttributeValue) string {
	s := func(name string) string {
		if v, ok := it[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	return s("pk") + " / " + s("sk")
}

// globalCounter reports whether an item is one of the service-wide id
// counters (any account's writes advance them). Per-product key counters
// are not global: they belong to their product.
func globalCounter(key string) bool {
	name, ok := strings.CutPrefix(key, "COUNTER / ")
	return ok && !strings.HasPrefix(name, "key#")
}
