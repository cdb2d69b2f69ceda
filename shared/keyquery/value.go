package keyquery

import (
	"strconv"
	"strings"
	"time"
)

// Kind is the type of a Value.
type Kind uint8

// The kinds of Value. The zero Kind is KindNull, so the zero Value is null.
const (
	KindNull Kind = iota
	KindInt
	KindString
	KindBool
	KindTime
)

// String returns a lower-case name of the kind, used in error messages.
func (k Kind) String() string {
	switch k {
	case KindNull:
		return "null"
	case KindInt:
		return "int"
	case KindString:
		return "string"
	case KindBool:
		return "bool"
	case KindTime:
		return "DateTime"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is an immutable field value: an int64, a string, a bool, a
// time.Time or null. The zero Value is null. Values are compared with
// Compare; use the As* accessors to read them.
type Value struct {
	kind Kind
	i    int64
	s    string
	b    bool
	t    time.Time
}

// IntValue returns an int Value.
func IntValue(i int64) Value { return Value{kind: KindInt, i: i} }

// StringValue returns a string Value.
func StringValue(s string) Value { return Value{kind: KindString, s: s} }

// BoolValue returns a bool Value.
func BoolValue(b bool) Value { return Value{kind: KindBool, b: b} }

// TimeValue returns a DateTime Value. Times are compared as instants, so
// the location of t does not matter for Compare or for queries.
func TimeValue(t time.Time) Value { return Value{kind: KindTime, t: t} }

// NullValue returns the null Value (identical to Value{}).
func NullValue() Value { return Value{} }

// Kind reports the kind of v.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether v is null.
func (v Value) IsNull() bool { return v.kind == KindNull }

// AsInt returns the integer and true if v is an int, else 0 and false.
func (v Value) AsInt() (int64, bool) { return v.i, v.kind == KindInt }

// AsString returns the string and true if v is a string, else "" and false.
func (v Value) AsString() (string, bool) { return v.s, v.kind == KindString }

// AsBool returns the bool and true if v is a bool, else false and false.
func (v Value) AsBool() (bool, bool) { return v.b, v.kind == KindBool }

// AsTime returns the time and true if v is a DateTime, else the zero time
// and false.
func (v Value) AsTime() (time.Time, bool) { return v.t, v.kind == KindTime }

// String formats v for logs and test messages: null, 42, "text" (Go-quoted),
// true, or an RFC 3339 time.
func (v Value) String() string {
	switch v.kind {
	case KindInt:
		return strconv.FormatInt(v.i, 10)
	case KindString:
		return strconv.Quote(v.s)
	case KindBool:
		return strconv.FormatBool(v.b)
	case KindTime:
		return v.t.Format(time.RFC3339Nano)
	}
	return "null"
}

// Compare orders two Values for sorting and returns -1, 0 or +1. Null sorts
// before everything else; values of the same kind compare naturally (ints
// numerically, strings ordinally byte by byte, false before true, times as
// instants); values of different non-null kinds are ordered by Kind
// (int < string < bool < DateTime) so that the order is total and
// deterministic.
func Compare(a, b Value) int {
	if a.kind != b.kind {
		if a.kind < b.kind {
			return -1
		}
		return 1
	}
	switch a.kind {
	case KindInt:
		switch {
		case a.i < b.i:
			return -1
		case a.i > b.i:
			return 1
		}
		return 0
	case KindString:
		return strings.Compare(a.s, b.s)
	case KindBool:
		switch {
		case a.b == b.b:
			return 0
		case !a.b:
			return -1
		}
		return 1
	case KindTime:
		return a.t.Compare(b.t)
	}
	return 0 // both null
}

// equal implements the query language's == : null equals only null, and
// non-null values are equal when they have the same kind and Compare to 0.
func equal(a, b Value) bool {
	if a.kind != b.kind {
		return false
	}
	return Compare(a, b) == 0
}
