package data_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/dataobj"
)

func TestAddAndListEveryVariant(t *testing.T) {
	e := newEnv(t)
	pid, gid := itoa(e.product), itoa(e.key.GlobalID)
	u := e.add("AddDataObject", e.tok, "Name", "cust_name", "StringValue", "Artem")
	blank := e.add("AddDataObject", e.tok, "ReferencerType", "0", "Name", "null", "StringValue", "None")
	p := e.add("AddDataObject", e.tok, "ReferencerType", "1", "ReferencerId", pid, "Name", "location", "StringValue", "Sweden", "IntValue", "-5")
	k := e.add("AddDataObject", e.tok, "ReferencerType", "Key", "ReferencerId", gid, "Name", "usage", "IntValue", "2")
	kk := e.add("AddDataObjectToKey", e.tok, keyArgs(e.key, "Name", "Usage2", "StringValue", "x", "CheckForDuplicates", "True")...)
	m := e.add("AddDataObjectToMachineCode", e.tok, keyArgs(e.key, "MachineCode", "mc1", "Name", "m", "IntValue", "7")...)
	f := e.add("AddDataObjectToMachineCode", e.tok, keyArgs(e.fkey, "MachineCode", "fl1", "Name", "f")...)

	obj := func(id int64, name, sv string, iv int) string {
		return fmt.Sprintf(`{"id":%d,"name":%q,"stringValue":%q,"intValue":%d}`, id, name, sv, iv)
	}
	ref := func(refID int64, refType int, id int64, name, sv string, iv int) string {
		return fmt.Sprintf(`{"referencerId":%d,"referencerType":%d,"id":%d,"name":%q,"stringValue":%q,"intValue":%d}`, refID, refType, id, name, sv, iv)
	}
	list := func(items ...string) string {
		return `{"dataObjects":[` + strings.Join(items, ",") + `],"result":0,"message":""}`
	}
	tests := []struct {
		name   string
		method string
		kv     []string
		want   string
	}{
		{"user (default)", "ListDataObjects", nil, list(obj(u, "cust_name", "Artem", 0), obj(blank, "", "", 0))},
		{"user, contains", "ListDataObjects", []string{"ReferencerType", "User", "Contains", "NAME"}, list(obj(u, "cust_name", "Artem", 0))},
		{"product", "ListDataObjects", []string{"ReferencerType", "1", "ReferencerId", pid}, list(obj(p, "location", "Sweden", -5))},
		{"empty product", "ListDataObjects", []string{"ReferencerType", "1", "ReferencerId", itoa(e.product2)}, list()},
		{"key by global id", "ListDataObjects", []string{"ReferencerType", "2", "ReferencerId", gid}, list(obj(k, "usage", "", 2), obj(kk, "Usage2", "x", 0))},
		{"to key", "ListDataObjectsToKey", keyArgs(e.key), list(obj(k, "usage", "", 2), obj(kk, "Usage2", "x", 0))},
		{"to key, contains", "ListDataObjectsToKey", keyArgs(e.key, "Contains", "age2"), list(obj(kk, "Usage2", "x", 0))},
		{"to key without objects", "ListDataObjectsToKey", keyArgs(e.key2), list()},
		{"to machine code", "ListDataObjectsToMachineCode", keyArgs(e.key, "MachineCode", "mc1"), list(obj(m, "m", "", 7))},
		{"to floating machine code", "ListDataObjectsToMachineCode", keyArgs(e.fkey, "MachineCode", "fl1"), list(obj(f, "f", "", 0))},
		{"show all", "ListDataObjects", []string{"ShowAll", "true", "ReferencerType", "1", "ReferencerId", pid}, list(
			ref(e.account, 0, u, "cust_name", "Artem", 0), ref(e.account, 0, blank, "", "", 0), ref(e.product, 1, p, "location", "Sweden", -5),
			ref(e.key.GlobalID, 2, k, "usage", "", 2), ref(e.key.GlobalID, 2, kk, "Usage2", "x", 0), ref(e.key.GlobalID, 2, m, "m", "", 7),
			ref(e.fkey.GlobalID, 2, f, "f", "", 0))},
		{"show all, contains", "ListDataObjects", []string{"ShowAll", "1", "Contains", "usage"}, list(
			ref(e.key.GlobalID, 2, k, "usage", "", 2), ref(e.key.GlobalID, 2, kk, "Usage2", "x", 0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.call(tt.method, e.tok, tt.kv...); got != tt.want {
				t.Errorf("%s = %s\nwant %s", tt.method, got, tt.want)
			}
		})
	}

	// What license rendering and GetProducts read.
	kobjs, err := e.a.DataStore.KeyDataObjects(context.Background(), e.account, e.key.GlobalID)
	if err != nil || len(kobjs) != 2 || kobjs[0].ID != k || kobjs[1].ID != kk || kobjs[1].StringValue != "x" {
		t.Errorf("KeyDataObjects = %+v, %v; want objects %d and %d", kobjs, err, k, kk)
	}
	pobjs, err := e.a.DataStore.ProductDataObjects(context.Background(), e.account, e.product)
	if err != nil || len(pobjs) != 1 || pobjs[0].ID != p || pobjs[0].IntValue != -5 {
		t.Errorf("ProductDataObjects = %+v, %v", pobjs, err)
	}
	rec, err := e.a.Licenses.Get(context.Background(), e.account, e.product, e.key.Key)
	if err != nil || rec.DataObjectCount != 2 {
		t.Errorf("key DataObjectCount = %d, %v; want 2", rec.DataObjectCount, err)
	}
}

func TestChangeValuesEveryVariant(t *testing.T) {
	e := newEnv(t)
	u := e.add("AddDataObject", e.tok, "Name", "counter")
	kc := e.add("AddDataObjectToKey", e.tok, keyArgs(e.key, "Name", "kc")...)
	mc := e.add("AddDataObjectToMachineCode", e.tok, keyArgs(e.key, "MachineCode", "mc1", "Name", "mcnt")...)
	id := func(n int64, kv ...string) []string { return append([]string{"Id", itoa(n)}, kv...) }
	toKey := func(kv ...string) []string { return keyArgs(e.key, kv...) }
	toMC := func(kv ...string) []string { return keyArgs(e.key, append([]string{"MachineCode", "mc1"}, kv...)...) }
	limit := errBody(apierr.DataInt32Limit)
	tests := []struct {
		name      string
		method    string
		kv        []string
		want      string
		object    int64
		wantInt   int32
		wantValue string
	}{
		{"increment", "IncrementIntValue", id(u, "IntValue", "5"), ok, u, 5, ""},
		{"increment ignores the sign", "IncrementIntValue", id(u, "IntValue", "-3"), ok, u, 8, ""},
		{"decrement", "DecrementIntValue", id(u, "IntValue", "10"), ok, u, -2, ""},
		{"increment past the bound", "IncrementIntValue", id(u, "IntValue", "3", "EnableBound", "true", "Bound", "0"), limit, u, -2, ""},
		{"increment to the bound", "IncrementIntValue", id(u, "IntValue", "2", "EnableBound", "True", "Bound", "0"), ok, u, 0, ""},
		{"bound off", "IncrementIntValue", id(u, "IntValue", "1", "EnableBound", "false", "Bound", "0"), ok, u, 1, ""},
		{"decrement to the lower bound", "DecrementIntValue", id(u, "IntValue", "1", "EnableBound", "1", "Bound", "0"), ok, u, 0, ""},
		{"decrement past the lower bound", "DecrementIntValue", id(u, "IntValue", "1", "EnableBound", "1", "Bound", "0"), limit, u, 0, ""},
		{"set max int32", "SetIntValue", id(u, "IntValue", "2147483647"), ok, u, math.MaxInt32, ""},
		{"increment overflow", "IncrementIntValue", id(u, "IntValue", "1"), limit, u, math.MaxInt32, ""},
		{"increment by zero at max", "IncrementIntValue", id(u), ok, u, math.MaxInt32, ""},
		{"set beyond int32", "SetIntValue", id(u, "IntValue", "2147483648"), ok, u, 0, ""},
		{"set min int32", "SetIntValue", id(u, "IntValue", "-2147483648"), ok, u, math.MinInt32, ""},
		{"decrement overflow", "DecrementIntValue", id(u, "IntValue", "1"), limit, u, math.MinInt32, ""},
		{"set beyond int64", "SetIntValue", id(u, "IntValue", "-99999999999999999999"), ok, u, 0, ""},
		{"set 7", "SetIntValue", id(u, "IntValue", "7"), ok, u, 7, ""},
		{"set without a value", "SetIntValue", id(u), ok, u, 0, ""},
		{"set string", "SetStringValue", id(u, "StringValue", "hello"), ok, u, 0, "hello"},
		{"set string too long", "SetStringValue", id(u, "StringValue", strings.Repeat("s", 10001)), errBody(apierr.DataStringValueTooLong), u, 0, "hello"},
		{"set string of 10000", "SetStringValue", id(u, "StringValue", strings.Repeat("é", 10000)), ok, u, 0, strings.Repeat("é", 10000)},
		{"set string without a value", "SetStringValue", id(u), ok, u, 0, ""},
		{"to key by id", "IncrementIntValueToKey", toKey("Id", itoa(kc), "IntValue", "4"), ok, kc, 4, ""},
		{"to key by name", "IncrementIntValueToKey", toKey("Name", "kc", "IntValue", "1", "EnableBound", "true", "Bound", "5"), ok, kc, 5, ""},
		{"to key by name, bound", "IncrementIntValueToKey", toKey("Name", "kc", "IntValue", "1", "EnableBound", "true", "Bound", "5"), limit, kc, 5, ""},
		{"decrement to key by name", "DecrementIntValueToKey", toKey("Name", "kc", "IntValue", "2"), ok, kc, 3, ""},
		{"decrement to key by id", "DecrementIntValueToKey", toKey("Id", itoa(kc), "IntValue", "1"), ok, kc, 2, ""},
		{"set int to key by name", "SetIntValueToKey", toKey("Name", "kc", "IntValue", "9"), ok, kc, 9, ""},
		{"set int to key by id", "SetIntValueToKey", toKey("Id", itoa(kc), "IntValue", "99999999999"), ok, kc, 0, ""},
		{"set string to key by id", "SetStringValueToKey", toKey("Id", itoa(kc), "StringValue", "a"), ok, kc, 0, "a"},
		{"set string to key by name", "SetStringValueToKey", toKey("Name", "kc", "StringValue", "b"), ok, kc, 0, "b"},
		{"an object of another referencer", "IncrementIntValueToKey", toKey("Id", itoa(u), "IntValue", "1"), errBody(apierr.DataNotEnoughPermission), u, 0, ""},
		{"to key, unknown name", "IncrementIntValueToKey", toKey("Name", "nope", "IntValue", "1"), errBody(apierr.DataNotEnoughPermission), kc, 0, "b"},
		{"id wins over name", "IncrementIntValueToKey", toKey("Id", itoa(kc), "Name", "nope", "IntValue", "1"), ok, kc, 1, "b"},
		{"to machine code by name", "IncrementIntValueToMachineCode", toMC("Name", "mcnt", "IntValue", "3"), ok, mc, 3, ""},
		{"to machine code by id", "DecrementIntValueToMachineCode", toMC("Id", itoa(mc), "IntValue", "1"), ok, mc, 2, ""},
		{"to machine code, bound", "DecrementIntValueToMachineCode", toMC("Id", itoa(mc), "IntValue", "3", "EnableBound", "true"), limit, mc, 2, ""},
		{"set int to machine code by name", "SetIntValueToMachineCode", toMC("Name", "mcnt", "IntValue", "-4"), ok, mc, -4, ""},
		{"set int to machine code by id", "SetIntValueToMachineCode", toMC("Id", itoa(mc), "IntValue", "6"), ok, mc, 6, ""},
		{"set string to machine code by name", "SetStringValueToMachineCode", toMC("Name", "mcnt", "StringValue", "z"), ok, mc, 6, "z"},
		{"set string to machine code by id", "SetStringValueToMachineCode", toMC("Id", itoa(mc), "StringValue", "y"), ok, mc, 6, "y"},
		{"a key object is not the machine's", "SetIntValueToMachineCode", toMC("Id", itoa(kc), "IntValue", "1"), errBody(apierr.DataNotEnoughPermission), mc, 6, "y"},
		{"general by id on a machine object", "IncrementIntValue", id(mc, "IntValue", "1"), ok, mc, 7, "y"},
		{"machine code not activated", "IncrementIntValueToMachineCode", keyArgs(e.key, "MachineCode", "mc2", "Name", "mcnt"), errBody(apierr.DataMachineNotFound), mc, 7, "y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.call(tt.method, e.tok, tt.kv...); got != tt.want {
				t.Errorf("%s = %s, want %s", tt.method, got, tt.want)
			}
			if o := e.object(tt.object); o.IntValue != tt.wantInt || o.StringValue != tt.wantValue {
				t.Errorf("object %d holds %d %.20q, want %d %.20q", tt.object, o.IntValue, o.StringValue, tt.wantInt, tt.wantValue)
			}
		})
	}

	// The token's feature lock bounds the step, and how far SetIntValue
	// may move the value.
	fl := e.token(auth.Scope{FeatureLock: 2})
	for _, tt := range []struct {
		method, value, want string
		wantInt             int32
	}{
		{"IncrementIntValue", "3", errBody(apierr.DataStepNotAllowed), 0},
		{"DecrementIntValue", "-3", errBody(apierr.DataStepNotAllowed), 0},
		{"IncrementIntValue", "-2", ok, 2},
		{"DecrementIntValue", "1", ok, 1},
		{"SetIntValue", "4", errBody(apierr.DataStepNotAllowed), 1},
		{"SetIntValue", "-2", errBody(apierr.DataStepNotAllowed), 1},
		{"SetIntValue", "2147483647", errBody(apierr.DataStepNotAllowed), 1},
		{"SetIntValue", "3", ok, 3},
		{"SetIntValue", "1", ok, 1},
		{"SetIntValue", "99999999999", ok, 0}, // beyond int32: assigns 0, within 2 of 1
	} {
		if got := e.call(tt.method, fl, "Id", itoa(u), "IntValue", tt.value); got != tt.want {
			t.Errorf("feature lock 2, %s %s = %s, want %s", tt.method, tt.value, got, tt.want)
		}
		if got := e.object(u).IntValue; got != tt.wantInt {
			t.Errorf("feature lock 2, after %s %s the value is %d, want %d", tt.method, tt.value, got, tt.wantInt)
		}
	}
	if got := e.call("SetIntValue", e.token(auth.Scope{FeatureLock: -1}), "Id", itoa(u), "IntValue", "0"); got != errBody(apierr.DataStepNotAllowed) {
		t.Errorf("negative feature lock, SetIntValue = %s, want %s", got, errBody(apierr.DataStepNotAllowed))
	}
	if got := e.call("IncrementIntValueToKey", fl, keyArgs(e.key, "Id", itoa(kc), "IntValue", "5")...); got != errBody(apierr.DataStepNotAllowed) {
		t.Errorf("feature lock on the key variant: %s", got)
	}
}

func TestRemoveEveryVariant(t *testing.T) {
	e := newEnv(t)
	count := func() int64 {
		r, err := e.a.Licenses.Get(context.Background(), e.account, e.product, e.key.Key)
		if err != nil {
			t.Fatal(err)
		}
		return r.DataObjectCount
	}
	u := e.add("AddDataObject", e.tok, "Name", "u")
	k1 := e.add("AddDataObjectToKey", e.tok, keyArgs(e.key, "Name", "k1")...)
	e.add("AddDataObjectToKey", e.tok, keyArgs(e.key, "Name", "k2", "CheckForDuplicates", "true")...)
	k3 := e.add("AddDataObject", e.tok, "ReferencerType", "2", "ReferencerId", itoa(e.key.GlobalID), "Name", "k3")
	m1 := e.add("AddDataObjectToMachineCode", e.tok, keyArgs(e.key, "MachineCode", "mc1", "Name", "m1")...)
	e.add("AddDataObjectToMachineCode", e.tok, keyArgs(e.key, "MachineCode", "mc1", "Name", "m2")...)
	if got := count(); got != 3 {
		t.Fatalf("key count = %d, want 3", got)
	}
	gone := errBody(apierr.DataNotEnoughPermission)
	tests := []struct {
		name   string
		method string
		kv     []string
		want   string
	}{
		{"general", "RemoveDataObject", []string{"Id", itoa(u)}, ok},
		{"general again", "RemoveDataObject", []string{"Id", itoa(u)}, gone},
		{"to key by id", "RemoveDataObjectToKey", keyArgs(e.key, "Id", itoa(k1)), ok},
		{"to key by id again", "RemoveDataObjectToKey", keyArgs(e.key, "Id", itoa(k1)), gone},
		{"to key by name", "RemoveDataObjectToKey", keyArgs(e.key, "Name", "k2"), ok},
		{"to key by name again", "RemoveDataObjectToKey", keyArgs(e.key, "Name", "k2"), gone},
		{"a machine object is not the key's", "RemoveDataObjectToKey", keyArgs(e.key, "Id", itoa(m1)), gone},
		{"general on a key object", "RemoveDataObject", []string{"Id", itoa(k3)}, ok},
		{"to machine code by id", "RemoveDataObjectToMachineCode", keyArgs(e.key, "MachineCode", "mc1", "Id", itoa(m1)), ok},
		{"to machine code by name", "RemoveDataObjectToMachineCode", keyArgs(e.key, "MachineCode", "mc1", "Name", "m2"), ok},
		{"to machine code by name again", "RemoveDataObjectToMachineCode", keyArgs(e.key, "MachineCode", "mc1", "Name", "m2"), gone},
		{"without id or name", "RemoveDataObjectToKey", keyArgs(e.key), errBody(apierr.BadInput)},
		{"without id", "RemoveDataObject", nil, errBody(apierr.BadInput)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.call(tt.method, e.tok, tt.kv...); got != tt.want {
				t.Errorf("%s = %s, want %s", tt.method, got, tt.want)
			}
		})
	}
	if got := count(); got != 0 {
		t.Errorf("key count = %d after removing every key object, want 0", got)
	}
	if got := e.call("ListDataObjects", e.tok, "ShowAll", "true"); got != `{"dataObjects":[],"result":0,"message":""}` {
		t.Errorf("objects left: %s", got)
	}
	// A removed name can be used again with CheckForDuplicates.
	e.add("AddDataObjectToKey", e.tok, keyArgs(e.key, "Name", "k2", "CheckForDuplicates", "true")...)
}

func TestUploadValuesToKey(t *testing.T) {
	e := newEnv(t)
	id := e.add("AddDataObjectToKey", e.tok, keyArgs(e.key, "Name", "uses")...)
	log := func(vs ...int64) string {
		entries := make([]dataobj.LogEntry, len(vs))
		for i := range vs {
			entries[i].IntValue = &vs[i]
		}
		return dataobj.EncodeLog(entries)
	}
	incOnly := e.token(auth.Scope{Methods: []string{"IncrementIntValue"}, KeyLock: -1})
	uploadOnly := e.token(auth.Scope{Methods: []string{"UploadValuesToKey"}})
	none := e.token(auth.Scope{Methods: []string{"GetKey", "SetIntValue"}})
	fl := e.token(auth.Scope{Methods: []string{"UploadValuesToKey"}, FeatureLock: 1})
	byID := func(kv ...string) []string { return keyArgs(e.key, append([]string{"Id", itoa(id)}, kv...)...) }
	tests := []struct {
		name string
		tok  string
		kv   []string
		want string
		val  int32
	}{
		{"documented example", e.tok, byID("Data", "W3siSW50VmFsdWUiOjEsIlRpbWUiOjE3NjcyMjU2MDB9LHsiSW50VmFsdWUiOjF9LHsiSW50VmFsdWUiOi0xfV0="), ok, 1},
		{"by name", e.tok, keyArgs(e.key, "Name", "uses", "Data", log(5, -2)), ok, 4},
		{"increment permission, increments only", incOnly, byID("Data", log(1, 1)), ok, 6},
		{"increment permission, a decrement", incOnly, byID("Data", log(1, -1)), errBody(apierr.AccessDenied), 6},
		{"upload permission", uploadOnly, byID("Data", log(-6, 3)), ok, 3},
		{"no permission", none, byID("Data", log(1)), errBody(apierr.AccessDenied), 3},
		{"no permission, no data", none, byID(), errBody(apierr.AccessDenied), 3},
		{"empty", e.tok, byID("Data", ""), errBody(apierr.DataEmpty), 3},
		{"missing", e.tok, byID(), errBody(apierr.DataEmpty), 3},
		{"no entries", e.tok, byID("Data", log()), errBody(apierr.DataEmpty), 3},
		{"corrupted base64", e.tok, byID("Data", "%%%%"), errBody(apierr.DataCorrupted), 3},
		{"corrupted json", e.tok, byID("Data", "aGVsbG8="), errBody(apierr.DataCorrupted), 3},
		{"feature lock", fl, byID("Data", log(1, 2)), errBody(apierr.DataStepNotAllowed), 3},
		{"feature lock allows its steps", fl, byID("Data", log(1, -1, 1)), ok, 4},
		{"int32 overflow on the way", e.tok, byID("Data", log(math.MaxInt32, -math.MaxInt32)), errBody(apierr.DataInt32Limit), 4},
		{"int32 underflow", e.tok, byID("Data", log(math.MinInt32, -10)), errBody(apierr.DataInt32Limit), 4},
		{"unknown key", e.tok, keyArgs(e.key2, "Id", itoa(id), "Data", log(1)), errBody(apierr.DataNotEnoughPermission), 4},
		{"missing key", e.tok, []string{"ProductId", itoa(e.product), "Key", "AAAAA-AAAAA-AAAAA-AAAAA", "Id", itoa(id), "Data", log(1)}, errBody(apierr.DataKeyNotFound), 4},
		{"without id or name", e.tok, keyArgs(e.key, "Data", log(1)), errBody(apierr.BadInput), 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.call("UploadValuesToKey", tt.tok, tt.kv...); got != tt.want {
				t.Errorf("UploadValuesToKey = %s, want %s", got, tt.want)
			}
			if got := e.object(id).IntValue; got != tt.val {
				t.Errorf("value = %d, want %d", got, tt.val)
			}
		})
	}
}

// TestDocumentedErrors reaches every message the reference documents for
// the data object methods (and the 10-character name limit of the machine
// code variant).
func TestDocumentedErrors(t *testing.T) {
	e := newEnv(t)
	pid, gid := itoa(e.product), itoa(e.key.GlobalID)
	dup := e.add("AddDataObjectToKey", e.tok, keyArgs(e.key, "Name", "dup")...)
	// Fill the second key to the limit.
	var made atomic.Int64
	parallel(10, func(int) {
		for made.Add(1) <= dataobj.MaxPerReferencer {
			if _, err := e.a.DataStore.CreateObject(context.Background(), dataobj.Object{AccountID: e.account,
				Ref: dataobj.Ref{Type: dataobj.Key, ID: e.key2.GlobalID, ProductID: e.key2.ProductID, KeyID: e.key2.ID, Key: e.key2.Key}},
				dataobj.CreateOptions{Limit: dataobj.MaxPerReferencer}); err != nil {
				t.Error(err)
			}
		}
	})
	noPerm := e.token(auth.Scope{Methods: []string{"GetKey"}})
	productLocked := e.token(auth.Scope{ProductLock: e.product2})
	tests := []struct {
		name   string
		tok    string
		method string
		kv     []string
		want   error
	}{
		{"access denied", noPerm, "AddDataObject", nil, apierr.AccessDenied},
		{"access denied, key variant", noPerm, "ListDataObjectsToKey", keyArgs(e.key), apierr.AccessDenied},
		{"access denied, upload", noPerm, "UploadValuesToKey", keyArgs(e.key, "Id", itoa(dup)), apierr.AccessDenied},
		{"bad IntValue", e.tok, "AddDataObject", []string{"IntValue", "abc"}, apierr.BadInput},
		{"IntValue beyond int32", e.tok, "AddDataObject", []string{"IntValue", "2147483648"}, apierr.BadInput},
		{"bad CheckForDuplicates", e.tok, "AddDataObject", []string{"CheckForDuplicates", "maybe"}, apierr.BadInput},
		{"bad ReferencerId", e.tok, "ListDataObjects", []string{"ReferencerType", "1", "ReferencerId", "x"}, apierr.BadInput},
		{"bad ShowAll", e.tok, "ListDataObjects", []string{"ShowAll", "yes"}, apierr.BadInput},
		{"missing id", e.tok, "IncrementIntValue", []string{"IntValue", "1"}, apierr.BadInput},
		{"bad EnableBound", e.tok, "IncrementIntValue", []string{"Id", itoa(dup), "EnableBound", "x"}, apierr.BadInput},
		{"bad Bound", e.tok, "DecrementIntValue", []string{"Id", itoa(dup), "Bound", "x"}, apierr.BadInput},
		{"bad IntValue to set", e.tok, "SetIntValue", []string{"Id", itoa(dup), "IntValue", "1e3"}, apierr.BadInput},
		{"missing product", e.tok, "AddDataObjectToKey", []string{"Key", e.key.Key}, apierr.BadInput},
		{"missing key", e.tok, "AddDataObjectToKey", []string{"ProductId", pid}, apierr.BadInput},
		{"missing machine code", e.tok, "AddDataObjectToMachineCode", keyArgs(e.key), apierr.BadInput},
		{"method version", e.tok, "AddDataObject", []string{"v", "2"}, apierr.BadInput},
		{"not enough permission", productLocked, "AddDataObject", nil, apierr.DataNotEnoughPermission},
		{"missing object", e.tok, "SetStringValue", []string{"Id", "999999"}, apierr.DataNotEnoughPermission},
		{"product not found", e.tok, "AddDataObject", []string{"ReferencerType", "1", "ReferencerId", "999999"}, apierr.DataProductNotFound},
		{"product locked", productLocked, "ListDataObjects", []string{"ReferencerType", "1", "ReferencerId", pid}, apierr.DataProductNotFound},
		{"product not found, key variant", e.tok, "SetIntValueToKey", []string{"ProductId", "999999", "Key", e.key.Key, "Name", "dup"}, apierr.DataProductNotFound},
		{"key not found", e.tok, "AddDataObject", []string{"ReferencerType", "2", "ReferencerId", "999999"}, apierr.DataKeyNotFound},
		{"key not found, key variant", e.tok, "RemoveDataObjectToKey", keyArgs(e.key, "Key", "AAAAA-AAAAA-AAAAA-AAAAA", "Name", "dup"), apierr.DataKeyNotFound},
		{"key of a locked-out product", productLocked, "AddDataObject", []string{"ReferencerType", "2", "ReferencerId", gid}, apierr.DataKeyNotFound},
		{"referencer type 3", e.tok, "AddDataObject", []string{"ReferencerType", "3"}, apierr.DataReferencerType},
		{"referencer type by unknown name", e.tok, "ListDataObjects", []string{"ReferencerType", "Machine"}, apierr.DataReferencerType},
		{"name too long", e.tok, "AddDataObject", []string{"Name", strings.Repeat("n", 101)}, apierr.DataNameTooLong},
		{"name too long, key variant", e.tok, "AddDataObjectToKey", keyArgs(e.key, "Name", strings.Repeat("n", 101)), apierr.DataNameTooLong},
		{"name too long, machine code variant", e.tok, "AddDataObjectToMachineCode", keyArgs(e.key, "MachineCode", "mc1", "Name", strings.Repeat("n", 11)), apierr.DataMachineNameTooLong},
		{"string value too long", e.tok, "AddDataObject", []string{"StringValue", strings.Repeat("s", 10001)}, apierr.DataStringValueTooLong},
		{"string value too long, machine variant", e.tok, "SetStringValueToMachineCode", keyArgs(e.key, "MachineCode", "mc1", "Name", "x", "StringValue", strings.Repeat("s", 10001)), apierr.DataStringValueTooLong},
		{"limit", e.tok, "AddDataObjectToKey", keyArgs(e.key2), apierr.DataObjectLimit},
		{"limit, general", e.tok, "AddDataObject", []string{"ReferencerType", "2", "ReferencerId", itoa(e.key2.GlobalID)}, apierr.DataObjectLimit},
		{"machine code not found", e.tok, "ListDataObjectsToMachineCode", keyArgs(e.key, "MachineCode", "unknown"), apierr.DataMachineNotFound},
		{"machine code of another key", e.tok, "AddDataObjectToMachineCode", keyArgs(e.key2, "MachineCode", "mc1"), apierr.DataMachineNotFound},
		{"duplicate name", e.tok, "AddDataObjectToKey", keyArgs(e.key, "Name", "dup", "CheckForDuplicates", "true"), apierr.DataDuplicateName},
		{"step not allowed", e.token(auth.Scope{FeatureLock: 1}), "DecrementIntValueToKey", keyArgs(e.key, "Name", "dup", "IntValue", "2"), apierr.DataStepNotAllowed},
		{"int32 limit", e.tok, "DecrementIntValueToKey", keyArgs(e.key, "Name", "dup", "IntValue", "2147483647", "EnableBound", "false"), nil},
		{"int32 limit reached", e.tok, "DecrementIntValueToKey", keyArgs(e.key, "Name", "dup", "IntValue", "2"), apierr.DataInt32Limit},
		{"data empty", e.tok, "UploadValuesToKey", keyArgs(e.key, "Name", "dup", "Data", "null"), apierr.DataEmpty},
		{"data corrupted", e.tok, "UploadValuesToKey", keyArgs(e.key, "Name", "dup", "Data", "W10x"), apierr.DataCorrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := ok
			if tt.want != nil {
				want = errBody(tt.want)
			}
			if got := e.call(tt.method, tt.tok, tt.kv...); got != want {
				t.Errorf("%s = %.300s, want %s", tt.method, got, want)
			}
		})
	}
	// Nothing was written by the refused adds.
	all, err := e.a.DataStore.ListAccountObjects(context.Background(), e.account)
	if err != nil || len(all) != 1+dataobj.MaxPerReferencer {
		t.Errorf("%d objects stored, want %d: %v", len(all), 1+dataobj.MaxPerReferencer, err)
	}
}

// TestPermissionRules checks the reference's "Permissions using Access
// Tokens" rules for every referencer and form.
func TestPermissionRules(t *testing.T) {
	e := newEnv(t)
	pid, p2, gid := itoa(e.product), itoa(e.product2), itoa(e.key.GlobalID)
	user := e.add("AddDataObject", e.tok, "Name", "u")
	prod := e.add("AddDataObject", e.tok, "ReferencerType", "1", "ReferencerId", pid, "Name", "p")
	keyObj := e.add("AddDataObjectToKey", e.tok, keyArgs(e.key, "Name", "k")...)
	other := e.key2
	scopes := map[string]auth.Scope{
		"none":          {},
		"product":       {ProductLock: e.product},
		"other product": {ProductLock: e.product2},
		"key":           {ProductLock: e.product, KeyLock: e.key.ID},
		"other key":     {ProductLock: e.product, KeyLock: other.ID},
		"negative key":  {KeyLock: -1},
	}
	tokens := map[string]string{}
	for name, s := range scopes {
		tokens[name] = e.token(s)
	}
	var (
		okk  = ok
		np   = errBody(apierr.DataNotEnoughPermission)
		pnf  = errBody(apierr.DataProductNotFound)
		knf  = errBody(apierr.DataKeyNotFound)
		addU = []string{"ReferencerType", "0"}
		addP = []string{"ReferencerType", "1", "ReferencerId", pid}
		addK = []string{"ReferencerType", "2", "ReferencerId", gid}
	)
	type call struct {
		method string
		kv     []string
	}
	tests := []struct {
		name string
		call call
		want map[string]string // by scope name
	}{
		{"add to the user", call{"AddDataObject", addU}, map[string]string{
			"none": "id", "product": np, "other product": np, "key": np, "other key": np, "negative key": np}},
		{"add to a product", call{"AddDataObject", addP}, map[string]string{
			"none": "id", "product": "id", "other product": pnf, "key": np, "other key": np, "negative key": np}},
		{"add to the other product", call{"AddDataObject", []string{"ReferencerType", "1", "ReferencerId", p2}}, map[string]string{
			"none": "id", "product": pnf, "other product": "id", "key": np, "other key": np, "negative key": np}},
		{"add to a key", call{"AddDataObject", addK}, map[string]string{
			"none": "id", "product": "id", "other product": knf, "key": "id", "other key": knf, "negative key": "id"}},
		{"add to key", call{"AddDataObjectToKey", keyArgs(e.key)}, map[string]string{
			"none": "id", "product": "id", "other product": pnf, "key": np, "other key": np, "negative key": "id"}},
		{"add to machine code", call{"AddDataObjectToMachineCode", keyArgs(e.key, "MachineCode", "mc1")}, map[string]string{
			"none": "id", "product": "id", "other product": pnf, "key": np, "other key": np, "negative key": "id"}},
		{"list the user's", call{"ListDataObjects", addU}, map[string]string{
			"none": "list", "product": np, "other product": np, "key": np, "other key": np, "negative key": np}},
		{"list a key's", call{"ListDataObjects", addK}, map[string]string{
			"none": "list", "product": "list", "other product": knf, "key": "list", "other key": knf, "negative key": "list"}},
		{"list to key", call{"ListDataObjectsToKey", keyArgs(e.key)}, map[string]string{
			"none": "list", "product": "list", "other product": pnf, "key": np, "other key": np, "negative key": "list"}},
		{"set a user object", call{"SetIntValue", []string{"Id", itoa(user)}}, map[string]string{
			"none": okk, "product": np, "other product": np, "key": np, "other key": np, "negative key": np}},
		{"set a product object", call{"SetIntValue", []string{"Id", itoa(prod)}}, map[string]string{
			"none": okk, "product": okk, "other product": pnf, "key": np, "other key": np, "negative key": np}},
		{"set a key object", call{"IncrementIntValue", []string{"Id", itoa(keyObj)}}, map[string]string{
			"none": okk, "product": okk, "other product": knf, "key": okk, "other key": knf, "negative key": okk}},
		{"set a key object, key variant", call{"SetStringValueToKey", keyArgs(e.key, "Id", itoa(keyObj))}, map[string]string{
			"none": okk, "product": okk, "other product": pnf, "key": np, "other key": np, "negative key": okk}},
		{"upload", call{"UploadValuesToKey", keyArgs(e.key, "Name", "k", "Data", "W3siSW50VmFsdWUiOjB9XQ==" /* [{"IntValue":0}] */)}, map[string]string{
			"none": okk, "product": okk, "other product": pnf, "key": np, "other key": np, "negative key": okk}},
	}
	for _, tt := range tests {
		for scope, want := range tt.want {
			t.Run(tt.name+"/"+scope, func(t *testing.T) {
				got := e.call(tt.call.method, tokens[scope], tt.call.kv...)
				switch want {
				case "id":
					if !strings.HasPrefix(got, `{"id":`) || !strings.HasSuffix(got, `,"result":0,"message":""}`) {
						t.Errorf("%s = %s, want an id", tt.call.method, got)
					}
				case "list":
					if !strings.HasPrefix(got, `{"dataObjects":[`) {
						t.Errorf("%s = %s, want a list", tt.call.method, got)
					}
				default:
					if got != want {
						t.Errorf("%s = %s, want %s", tt.call.method, got, want)
					}
				}
			})
		}
	}

	// ShowAll lists what the token may access.
	showAll := func(scope string) []int64 {
		var ids []int64
		body := e.call("ListDataObjects", tokens[scope], "ShowAll", "true")
		for _, part := range strings.Split(body, `"id":`)[1:] {
			var id int64
			fmt.Sscan(strings.SplitN(part, ",", 2)[0], &id)
			ids = append(ids, id)
		}
		return ids
	}
	for scope, want := range map[string][]int64{
		"product":       {prod, keyObj},
		"other product": nil,
		"key":           {keyObj},
		"negative key":  {keyObj},
	} {
		got := showAll(scope)
		// Objects created by this test's successful adds are also listed;
		// check only the three fixed ones.
		var fixed []int64
		for _, id := range got {
			if id == user || id == prod || id == keyObj {
				fixed = append(fixed, id)
			}
		}
		if fmt.Sprint(fixed) != fmt.Sprint(want) {
			t.Errorf("ShowAll with a %s lock lists %v of the fixed objects, want %v", scope, fixed, want)
		}
	}
}

func TestAccountIsolation(t *testing.T) {
	e := newEnv(t)
	id := e.add("AddDataObjectToKey", e.tok, keyArgs(e.key, "Name", "secret")...)
	acc, err := e.a.Catalog.CreateAccount(context.Background(), "other")
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := e.a.Tokens.Issue(context.Background(), acc.ID, "t", auth.Scope{Methods: auth.Permissions()}, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method string
		kv     []string
		want   string
	}{
		{"IncrementIntValue", []string{"Id", itoa(id), "IntValue", "1"}, errBody(apierr.DataNotEnoughPermission)},
		{"RemoveDataObject", []string{"Id", itoa(id)}, errBody(apierr.DataNotEnoughPermission)},
		{"ListDataObjects", []string{"ReferencerType", "2", "ReferencerId", itoa(e.key.GlobalID)}, errBody(apierr.DataKeyNotFound)},
		{"AddDataObject", []string{"ReferencerType", "1", "ReferencerId", itoa(e.product)}, errBody(apierr.DataProductNotFound)},
		{"ListDataObjectsToKey", keyArgs(e.key), errBody(apierr.DataProductNotFound)},
		{"ListDataObjects", []string{"ShowAll", "true"}, `{"dataObjects":[],"result":0,"message":""}`},
	}
	for _, tt := range tests {
		if got := e.call(tt.method, tok, tt.kv...); got != tt.want {
			t.Errorf("another account's %s = %s, want %s", tt.method, got, tt.want)
		}
	}
	if o := e.object(id); o.IntValue != 0 || o.Name != "secret" {
		t.Errorf("object changed by another account: %+v", o)
	}
}

func TestConcurrency(t *testing.T) {
	e := newEnv(t)
	t.Run("bounded increments end at the bound", func(t *testing.T) {
		const n, bound, start = 40, 25, 3
		id := e.add("AddDataObject", e.tok, "Name", "uses", "IntValue", itoa(start))
		var okN, refused atomic.Int64
		parallel(n, func(int) {
			switch got := e.call("IncrementIntValue", e.tok, "Id", itoa(id), "IntValue", "1", "EnableBound", "true", "Bound", itoa(bound)); got {
			case ok:
				okN.Add(1)
			case errBody(apierr.DataInt32Limit):
				refused.Add(1)
			default:
				t.Error(got)
			}
		})
		want := int64(min(start+n, bound))
		if v := e.object(id).IntValue; int64(v) != want || okN.Load() != want-start || refused.Load() != n-(want-start) {
			t.Errorf("value %d after %d increments and %d refusals; want %d, %d, %d", v, okN.Load(), refused.Load(), want, want-start, n-(want-start))
		}
	})
	t.Run("adds stop at the limit", func(t *testing.T) {
		const prefill, n = dataobj.MaxPerReferencer - 10, 40
		ref := dataobj.Ref{Type: dataobj.Key, ID: e.key.GlobalID, ProductID: e.key.ProductID, KeyID: e.key.ID, Key: e.key.Key}
		var made atomic.Int64
		parallel(10, func(int) {
			for made.Add(1) <= prefill {
				if _, err := e.a.DataStore.CreateObject(context.Background(), dataobj.Object{AccountID: e.account, Ref: ref}, dataobj.CreateOptions{Limit: dataobj.MaxPerReferencer}); err != nil {
					t.Error(err)
				}
			}
		})
		var okN, full atomic.Int64
		parallel(n, func(i int) {
			body := e.call("AddDataObjectToKey", e.tok, keyArgs(e.key, "Name", fmt.Sprint("n", i))...)
			switch {
			case strings.HasPrefix(body, `{"id":`):
				okN.Add(1)
			case body == errBody(apierr.DataObjectLimit):
				full.Add(1)
			default:
				t.Error(body)
			}
		})
		objs, err := e.a.DataStore.KeyDataObjects(context.Background(), e.account, e.key.GlobalID)
		rec, _ := e.a.Licenses.Get(context.Background(), e.account, e.product, e.key.Key)
		if err != nil || okN.Load() != 10 || full.Load() != n-10 || len(objs) != dataobj.MaxPerReferencer || rec.DataObjectCount != dataobj.MaxPerReferencer {
			t.Errorf("added %d, refused %d, stored %d, count %d (%v); want 10, %d, %d, %d", okN.Load(), full.Load(), len(objs), rec.DataObjectCount, err, n-10, dataobj.MaxPerReferencer, dataobj.MaxPerReferencer)
		}
	})
	t.Run("unique adds of one name create one object", func(t *testing.T) {
		const n = 25
		var okN, dup atomic.Int64
		parallel(n, func(int) {
			body := e.call("AddDataObject", e.tok, "ReferencerType", "1", "ReferencerId", itoa(e.product2), "Name", "licensee", "CheckForDuplicates", "true")
			switch {
			case strings.HasPrefix(body, `{"id":`):
				okN.Add(1)
			case body == errBody(apierr.DataDuplicateName):
				dup.Add(1)
			default:
				t.Error(body)
			}
		})
		objs, err := e.a.DataStore.ProductDataObjects(context.Background(), e.account, e.product2)
		if err != nil || okN.Load() != 1 || dup.Load() != n-1 || len(objs) != 1 {
			t.Errorf("added %d, duplicates %d, stored %d (%v); want 1, %d, 1", okN.Load(), dup.Load(), len(objs), err, n-1)
		}
	})
}

// TestRoundTrips pins the DynamoDB round trips of each method (see the
// package documentation of dynamo/datastore).
func TestRoundTrips(t *testing.T) {
	e := newEnv(t)
	pid := itoa(e.product)
	u := e.add("AddDataObject", e.tok, "Name", "u")
	e.call("ListDataObjects", e.tok, "ReferencerType", "1", "ReferencerId", pid) // warm the product cache
	k := e.add("AddDataObjectToKey", e.tok, keyArgs(e.key, "Name", "k")...)
	m := e.add("AddDataObjectToMachineCode", e.tok, keyArgs(e.key, "MachineCode", "mc1", "Name", "m")...)
	tests := []struct {
		method string
		kv     []string
		trips  int64
	}{
		// The token is cached (read by an earlier request), so these are
		// the method's own round trips.
		{"AddDataObject", []string{"Name", "x"}, 2},
		{"AddDataObject", []string{"ReferencerType", "1", "ReferencerId", pid}, 2}, // product cached
		{"AddDataObject", []string{"ReferencerType", "2", "ReferencerId", itoa(e.key.GlobalID)}, 4},
		{"AddDataObjectToKey", keyArgs(e.key, "CheckForDuplicates", "true", "Name", "y"), 3},
		{"AddDataObjectToMachineCode", keyArgs(e.key, "MachineCode", "mc1"), 3},
		{"ListDataObjects", nil, 1},
		{"ListDataObjects", []string{"ReferencerType", "2", "ReferencerId", itoa(e.key.GlobalID)}, 3},
		{"ListDataObjects", []string{"ShowAll", "true"}, 1}, // gsi2 projects objects whole
		{"ListDataObjectsToKey", keyArgs(e.key), 2},
		{"ListDataObjectsToMachineCode", keyArgs(e.key, "MachineCode", "mc1"), 2},
		{"IncrementIntValue", []string{"Id", itoa(u), "IntValue", "1"}, 2},
		{"IncrementIntValue", []string{"Id", itoa(u), "IntValue", "1", "EnableBound", "true", "Bound", "0"}, 2}, // refused: no re-read
		{"DecrementIntValue", []string{"Id", itoa(u), "IntValue", "1"}, 2},
		{"IncrementIntValueToKey", keyArgs(e.key, "Id", itoa(k)), 2},
		{"IncrementIntValueToKey", keyArgs(e.key, "Name", "k"), 3},
		{"DecrementIntValueToMachineCode", keyArgs(e.key, "MachineCode", "mc1", "Id", itoa(m)), 2},
		{"SetIntValue", []string{"Id", itoa(u)}, 2},
		{"SetIntValueToKey", keyArgs(e.key, "Id", itoa(k)), 2},
		{"SetStringValue", []string{"Id", itoa(u)}, 2},
		{"SetStringValueToMachineCode", keyArgs(e.key, "MachineCode", "mc1", "Name", "m"), 3},
		{"UploadValuesToKey", keyArgs(e.key, "Id", itoa(k), "Data", "W3siSW50VmFsdWUiOjB9XQ=="), 2},
		{"RemoveDataObject", []string{"Id", itoa(u)}, 3},            // pointer, transaction, name-count clean-up
		{"RemoveDataObjectToKey", keyArgs(e.key, "Id", itoa(k)), 4}, // key, object, transaction, clean-up
		{"RemoveDataObjectToMachineCode", keyArgs(e.key, "MachineCode", "mc1", "Name", "m"), 4},
	}
	for _, tt := range tests {
		e.trips.Reset()
		body := e.call(tt.method, e.tok, tt.kv...)
		if !strings.HasSuffix(body, `"result":0,"message":""}`) && body != errBody(apierr.DataInt32Limit) {
			t.Errorf("%s %v = %s", tt.method, tt.kv, body)
		}
		if got := e.trips.Total(); got != tt.trips {
			t.Errorf("%s %v: %d round trips, want %d", tt.method, tt.kv, got, tt.trips)
		}
	}
}
