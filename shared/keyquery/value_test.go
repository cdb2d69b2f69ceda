package keyquery

import (
	"errors"
	"testing"
	"time"
)

func TestCompare(t *testing.T) {
	t1 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.In(time.FixedZone("X", 3600)) // same instant
	tests := []struct {
		name string
		a, b Value
		want int
	}{
		{"null null", NullValue(), Value{}, 0},
		{"null first int", NullValue(), IntValue(-5), -1},
		{"null first string", NullValue(), StringValue(""), -1},
		{"null first bool", NullValue(), BoolValue(false), -1},
		{"null first time", NullValue(), TimeValue(time.Time{}), -1},
		{"int after null", IntValue(0), NullValue(), 1},
		{"int less", IntValue(1), IntValue(2), -1},
		{"int equal", IntValue(7), IntValue(7), 0},
		{"int greater", IntValue(-1), IntValue(-2), 1},
		{"string ordinal", StringValue("B"), StringValue("a"), -1},
		{"string equal", StringValue("x"), StringValue("x"), 0},
		{"bool false first", BoolValue(false), BoolValue(true), -1},
		{"bool equal", BoolValue(true), BoolValue(true), 0},
		{"bool greater", BoolValue(true), BoolValue(false), 1},
		{"time less", TimeValue(t1), TimeValue(t1.Add(time.Second)), -1},
		{"time same instant other zone", TimeValue(t1), TimeValue(t2), 0},
		{"mixed kinds by kind", IntValue(100), StringValue("1"), -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Compare(tt.a, tt.b); got != tt.want {
				t.Errorf("Compare(%v, %v) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got := Compare(tt.b, tt.a); got != -tt.want {
				t.Errorf("Compare(%v, %v) = %d, want %d", tt.b, tt.a, got, -tt.want)
			}
		})
	}
}

func TestValueAccessors(t *testing.T) {
	tm := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if got, ok := IntValue(5).AsInt(); got != 5 || !ok {
		t.Errorf("IntValue(5).AsInt() = %d, %v; want 5, true", got, ok)
	}
	if got, ok := StringValue("s").AsString(); got != "s" || !ok {
		t.Errorf("AsString() = %q, %v; want \"s\", true", got, ok)
	}
	if got, ok := BoolValue(true).AsBool(); !got || !ok {
		t.Errorf("AsBool() = %v, %v; want true, true", got, ok)
	}
	if got, ok := TimeValue(tm).AsTime(); !got.Equal(tm) || !ok {
		t.Errorf("AsTime() = %v, %v; want %v, true", got, ok, tm)
	}
	if _, ok := NullValue().AsInt(); ok {
		t.Errorf("NullValue().AsInt() ok = true, want false")
	}
	if !NullValue().IsNull() || IntValue(0).IsNull() {
		t.Errorf("IsNull wrong")
	}
	strs := []struct {
		v    Value
		want string
	}{
		{NullValue(), "null"}, {IntValue(-3), "-3"}, {StringValue(`a"b`), `"a\"b"`},
		{BoolValue(false), "false"}, {TimeValue(tm), "2020-01-02T03:04:05Z"},
	}
	for _, s := range strs {
		if got := s.v.String(); got != s.want {
			t.Errorf("String() = %q, want %q", got, s.want)
		}
	}
}

func TestCanonicalField(t *testing.T) {
	tests := []struct {
		in       string
		want     string
		wantKind Kind
		wantOK   bool
	}{
		{"id", "ID", KindInt, true},
		{"KEY", "Key", KindString, true},
		{"customer.email", "Customer.Email", KindString, true},
		{"ActivatedMachines.Count()", "ActivatedMachines", KindInt, true},
		{"expires", "Expires", KindTime, true},
		{"f8", "F8", KindBool, true},
		{"F9", "", KindNull, false},
		{"Customer", "", KindNull, false},
		{"", "", KindNull, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, kind, ok := CanonicalField(tt.in)
			if got != tt.want || kind != tt.wantKind || ok != tt.wantOK {
				t.Errorf("CanonicalField(%q) = %q, %v, %v; want %q, %v, %v", tt.in, got, kind, ok, tt.want, tt.wantKind, tt.wantOK)
			}
		})
	}
}

func TestParseOrderBy(t *testing.T) {
	tests := []struct {
		in       string
		wantF    string
		wantDesc bool
		wantErr  bool
	}{
		{"", "ID", false, false},
		{"   ", "ID", false, false},
		{"F1", "F1", false, false},
		{"F1 descending", "F1", true, false},
		{"f1 DESCENDING", "F1", true, false},
		{"Expires ascending", "Expires", false, false},
		{"  period\tDescending ", "Period", true, false},
		{"customer.name descending", "Customer.Name", true, false},
		{"ActivatedMachines.Count()", "ActivatedMachines", false, false},
		{"globalid", "GlobalId", false, false},
		{"Foo", "", false, true},
		{"F1 desc", "", false, true},
		{"F1 descending extra", "", false, true},
		{"descending", "", false, true},
		{"F1,F2", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			f, desc, err := ParseOrderBy(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseOrderBy(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidOrderBy) {
				t.Errorf("ParseOrderBy(%q) error %v does not wrap ErrInvalidOrderBy", tt.in, err)
			}
			if f != tt.wantF || desc != tt.wantDesc {
				t.Errorf("ParseOrderBy(%q) = %q, %v; want %q, %v", tt.in, f, desc, tt.wantF, tt.wantDesc)
			}
		})
	}
}
