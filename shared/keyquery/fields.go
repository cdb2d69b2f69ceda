package keyquery

import "strings"

// Record is one license key as seen by a query. Field returns the value of
// the canonical field name (see CanonicalField) and true; it returns false
// only when the record does not provide that field at all, which Match
// reports as an error. An absent optional value (Notes not set, no
// customer) is NullValue(), true. Field must not panic.
type Record interface {
	Field(name string) (Value, bool)
}

type fieldDef struct {
	name string
	kind Kind
}

// fieldDefs lists the canonical fields in documentation order.
var fieldDefs = []fieldDef{
	{"ID", KindInt},
	{"Key", KindString},
	{"Created", KindTime},
	{"Expires", KindTime},
	{"Period", KindInt},
	{"F1", KindBool},
	{"F2", KindBool},
	{"F3", KindBool},
	{"F4", KindBool},
	{"F5", KindBool},
	{"F6", KindBool},
	{"F7", KindBool},
	{"F8", KindBool},
	{"Notes", KindString},
	{"Block", KindBool},
	{"GlobalId", KindInt},
	{"MaxNoOfMachines", KindInt},
	{"TrialActivation", KindBool},
	{"AllowedMachines", KindString},
	{"ActivatedMachines", KindInt}, // the number of activated machines
	{"Customer.Id", KindInt},
	{"Customer.Name", KindString},
	{"Customer.Email", KindString},
	{"Customer.CompanyName", KindString},
	{"CustomerId", KindInt},
	{"ResellerId", KindInt},
}

// fieldIndex maps lower-cased names (and the aliases
// activatedmachines.count and activatedmachines.count()) to fieldDefs.
var fieldIndex = func() map[string]fieldDef {
	m := make(map[string]fieldDef, len(fieldDefs)+2)
	for _, f := range fieldDefs {
		m[strings.ToLower(f.name)] = f
	}
	am := m["activatedmachines"]
	m["activatedmachines.count"] = am
	m["activatedmachines.count()"] = am
	return m
}()

// CanonicalField resolves a field name case-insensitively and returns its
// canonical spelling (the name passed to Record.Field) and its Kind.
// "ActivatedMachines.Count" and "ActivatedMachines.Count()" are accepted as
// aliases of ActivatedMachines, which is the number of activated machines.
// ok is false for an unknown name.
func CanonicalField(name string) (canonical string, kind Kind, ok bool) {
	f, ok := fieldIndex[strings.ToLower(name)]
	if !ok {
		return "", KindNull, false
	}
	return f.name, f.kind, true
}
