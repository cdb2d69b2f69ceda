package app_test

import (
	"strconv"
	"strings"
	"testing"
)

const badInputBody = `{"result":1,"message":"The input parameters were incorrect."}`

// resellerBadInput is the reseller methods' documented answer to bad input.
const resellerBadInput = `{"result":1,"message":"The model state is not valid. Please check the parameters."}`

// TestNumbersBeyondDocumentedTypes sends, for every numeric parameter the
// reference documents as an int (int32), values just outside the int32
// range and the int64 extremes: each is refused with the documented
// message, and nothing is stored or signed that int32 clients cannot read.
func TestNumbersBeyondDocumentedTypes(t *testing.T) {
	e := newEnv(t)
	f := e.setup("acme", "*")
	pid := strconv.FormatInt(f.product, 10)
	k := e.createKey(f, "MaxNoOfMachines", "2")
	cid, _ := e.addCustomer(f, "Name", "C")
	cust := strconv.FormatInt(cid, 10)
	onKey := func(kv ...string) []string { return append([]string{"ProductId", pid, "Key", k}, kv...) }
	cases := []struct {
		method string
		params []string
		param  string // the out-of-range parameter, appended with each value
	}{
		{"key/CreateKey", []string{"ProductId", pid}, "MaxNoOfMachines"},
		{"key/CreateKey", []string{"ProductId", pid}, "Period"},
		{"key/CreateKey", []string{"ProductId", pid}, "NoOfKeys"},
		{"key/CreateKey", []string{"ProductId", pid}, "CustomerId"},
		{"key/CreateKey", []string{"ProductId", pid}, "ResellerId"},
		{"key/CreateKey", []string{}, "ProductId"},
		{"key/MachineLockLimit", onKey(), "NumberOfMachines"},
		{"key/Activate", onKey("MachineCode", "m"), "FieldsToReturn"},
		{"key/Activate", onKey("MachineCode", "m"), "FloatingTimeInterval"},
		{"key/Activate", onKey("MachineCode", "m"), "MaxOverdraft"},
		{"key/Activate", onKey("MachineCode", "m"), "ModelVersion"},
		{"key/GetKey", onKey(), "FieldsToReturn"},
		{"key/GetKey", onKey(), "FloatingTimeInterval"},
		{"key/GetKey", onKey(), "v"},
		{"key/ExtendLicense", onKey(), "NoOfDays"},
		{"key/AddFeature", onKey(), "Feature"},
		{"key/ChangeCustomer", onKey(), "CustomerId"},
		{"key/ChangeReseller", onKey(), "ResellerId"},
		{"key/CreateKeyFromTemplate", []string{}, "LicenseTemplateId"},
		{"product/GetKeys", []string{"ProductId", pid}, "Page"},
		{"customer/EditCustomer", []string{"CustomerId", cust}, "MaxNoOfDevices"},
		{"customer/EditCustomer", []string{"Name", "x"}, "CustomerId"},
		{"customer/GetCustomers", []string{}, "Limit"},
		{"customer/GetCustomers", []string{}, "CustomerId"},
		{"customer/GetCustomerLicenses", []string{}, "CustomerId"},
		{"customer/RemoveCustomer", []string{}, "CustomerId"},
		{"reseller/EditReseller", []string{"Name", "x"}, "ResellerId"},
		{"reseller/GetResellerCustomers", []string{}, "Limit"},
		{"reseller/RemoveReseller", []string{}, "ResellerId"},
		{"data/AddDataObject", []string{"ReferencerType", "1", "Name", "n"}, "ReferencerId"},
		{"data/AddDataObjectToKey", onKey("Name", "n"), "IntValue"},
		{"data/IncrementIntValueToKey", onKey("Name", "n"), "IntValue"},
		{"data/DecrementIntValueToKey", onKey("Name", "n", "EnableBound", "true"), "Bound"},
		{"userauth/Register", []string{"Username", "u", "Password", "p"}, "CustomerId"},
	}
	values := []string{"2147483648", "-2147483649", "9223372036854775807", "-9223372036854775808"}
	for _, tc := range cases {
		want := badInputBody
		if tc.method == "reseller/EditReseller" { // its documented bad-model message
			want = resellerBadInput
		}
		for _, v := range values {
			kv := append(append([]string{"token", f.token}, tc.params...), tc.param, v)
			if got := e.post(tc.method, kv...); got != want {
				t.Errorf("%s %s=%s: got %s, want %s", tc.method, tc.param, v, got, want)
			}
		}
	}
	// Nothing was stored: the key keeps its limit, no key was created
	// beyond the first, the customer has no device limit.
	if r := e.record(f, k); r.MaxNoOfMachines != 2 || r.CustomerID != 0 || r.Period != 0 {
		t.Errorf("key after refused calls = %+v", r)
	}
	if got := e.post("product/GetKeys", "token", f.token, "ProductId", pid); !strings.Contains(got, `"total":1,`) {
		t.Errorf("GetKeys after refused CreateKeys = %.300s, want total 1", got)
	}
	// The int32 extremes themselves are accepted.
	if got := e.post("key/MachineLockLimit", append([]string{"token", f.token}, onKey("NumberOfMachines", "2147483647")...)...); got != ok {
		t.Errorf("MachineLockLimit 2147483647 = %s, want success", got)
	}
	if r := e.record(f, k); r.MaxNoOfMachines != 2147483647 {
		t.Errorf("MaxNoOfMachines = %d, want 2147483647", r.MaxNoOfMachines)
	}
}
