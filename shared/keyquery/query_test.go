package keyquery

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeRecord is a Record backed by a map of canonical names.
type fakeRecord map[string]Value

func (r fakeRecord) Field(name string) (Value, bool) {
	v, ok := r[name]
	return v, ok
}

var testNow = time.Date(2024, 5, 10, 12, 0, 0, 0, time.UTC)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// newRecord returns a record with every field set, then applies overrides.
func newRecord(id int64, overrides map[string]Value) fakeRecord {
	r := fakeRecord{
		"ID": IntValue(id), "Key": StringValue("AAAAA-BBBBB-CCCCC-DDDDD"),
		"Created": TimeValue(day(2020, 1, 1)), "Expires": TimeValue(testNow.AddDate(1, 0, 0)),
		"Period": IntValue(30), "Notes": NullValue(), "Block": BoolValue(false),
		"GlobalId": IntValue(1000 + id), "MaxNoOfMachines": IntValue(1),
		"TrialActivation": BoolValue(false), "AllowedMachines": StringValue(""),
		"ActivatedMachines": IntValue(0), "Customer.Id": NullValue(), "Customer.Name": NullValue(),
		"Customer.Email": NullValue(), "Customer.CompanyName": NullValue(),
		"CustomerId": IntValue(0), "ResellerId": IntValue(0),
	}
	for i := 1; i <= 8; i++ {
		r["F"+string(rune('0'+i))] = BoolValue(false)
	}
	for k, v := range overrides {
		r[k] = v
	}
	return r
}

var testRecords = []fakeRecord{
	newRecord(1, map[string]Value{
		"F1": BoolValue(true), "Period": IntValue(45), "Notes": StringValue("VIP customer"),
		"Created": TimeValue(day(2020, 1, 31)), "Expires": TimeValue(testNow.AddDate(0, 0, 3)),
		"ActivatedMachines": IntValue(3), "Customer.Id": IntValue(7), "CustomerId": IntValue(7),
		"Customer.Name": StringValue("Bob"), "Customer.Email": StringValue("bob@acme.com"),
		"Key": StringValue("KEY-ONE"),
	}),
	newRecord(2, map[string]Value{
		"F1": BoolValue(true), "Period": IntValue(20), "Block": BoolValue(true),
		"Created": TimeValue(day(2019, 12, 1)), "Expires": TimeValue(testNow.AddDate(0, 0, 30)),
		"Key": StringValue("KEY-TWO"),
	}),
	newRecord(3, map[string]Value{
		"F2": BoolValue(true), "Period": IntValue(60), "Notes": StringValue("a vip key"),
		"Created": TimeValue(time.Date(2021, 6, 15, 10, 0, 0, 0, time.UTC)),
		"Expires": TimeValue(testNow.AddDate(0, 0, -1)), "ActivatedMachines": IntValue(2),
		"Customer.Id": IntValue(8), "Customer.Name": StringValue("Eve \"E\" Smith"),
		"Customer.Email": StringValue("eve@example.com"), "Customer.CompanyName": StringValue("ACME"),
		"Key": StringValue("key-three"),
	}),
}

func matchIDs(t *testing.T, q *Query) []int64 {
	t.Helper()
	var ids []int64
	for _, r := range testRecords {
		ok, err := q.Match(r, testNow)
		if err != nil {
			t.Fatalf("Match(%d) error: %v", r["ID"].i, err)
		}
		if ok {
			ids = append(ids, r["ID"].i)
		}
	}
	return ids
}

func TestParseMatch(t *testing.T) {
	tests := []struct {
		query string
		want  []int64
	}{
		{"", []int64{1, 2, 3}},
		{"   \t\n", []int64{1, 2, 3}},
		{"F1 == true && Period > 30", []int64{1}},
		{"F1 = true and Period > 30", []int64{1}},
		{"f1 == TRUE AND period >= 20", []int64{1, 2}},
		{`Notes.Contains("vip") || Customer.Email.EndsWith("@acme.com")`, []int64{1, 3}},
		{`Notes.Contains("vip")`, []int64{3}},
		{`Notes.ToLower().Contains("vip")`, []int64{1, 3}},
		{`Notes.ToUpper().StartsWith("VIP")`, []int64{1}},
		{`!Notes.Contains("vip")`, []int64{1, 2}},
		{"Expires < DateTime.Now.AddDays(7)", []int64{1, 3}},
		{"Expires < DateTime.UtcNow", []int64{3}},
		{"Expires >= DateTime.Today.AddDays(-1)", []int64{1, 2, 3}},
		{"Expires > DateTime.Today", []int64{1, 2}},
		{"Created.AddDays(30) > DateTime(2020,2,1)", []int64{1, 3}},
		{"Created >= DateTime(2020,1,31)", []int64{1, 3}},
		{"Created == DateTime(2020, 1, 31)", []int64{1}},
		{"Created > DateTime(2021,6,15,9,59,59)", []int64{3}},
		{"Created > DateTime(2021,6,15,10,0,0)", nil},
		{"!Block", []int64{1, 3}},
		{"Block", []int64{2}},
		{"!!Block", []int64{2}},
		{"F2", []int64{3}},
		{"ActivatedMachines.Count() >= 2", []int64{1, 3}},
		{"ActivatedMachines.Count == 0", []int64{2}},
		{"activatedmachines.count() < 3", []int64{2, 3}},
		{"Notes == null", []int64{2}},
		{"Notes != null", []int64{1, 3}},
		{"null == Customer.Name", []int64{2}},
		{"null == null", []int64{1, 2, 3}},
		{"Customer.Id > 7", []int64{3}}, // null > 7 is false
		{"CustomerId == 7", []int64{1}},
		{`Customer.Name == "Eve \"E\" Smith"`, []int64{3}},
		{`Customer.CompanyName == "ACME"`, []int64{3}},
		{`customer.companyname == "acme"`, nil}, // ordinal
		{`Key == "key-one"`, nil},
		{`Key == "KEY-ONE"`, []int64{1}},
		{`Key < "KEY-TWO"`, []int64{1}}, // ordinal: "K..." < "k..."
		{`Key.ToLower() == "key-one"`, []int64{1}},
		{"ID != 2", []int64{1, 3}},
		{"GlobalId == 1002", []int64{2}},
		{"Period > -1", []int64{1, 2, 3}},
		// && binds tighter than ||.
		{"Block || F1 && Period > 30", []int64{1, 2}},
		{"F1 && Period > 30 || F2", []int64{1, 3}},
		{"(Block || F1) && Period > 30", []int64{1}},
		{"F1 && (Period > 30 || Block)", []int64{1, 2}},
		{"!(F1 && Block)", []int64{1, 3}},
		{"((((F2))))", []int64{3}},
		{"(Period) > 40", []int64{1, 3}},
		{"(F1 == true) == false", []int64{3}},
		{"true", []int64{1, 2, 3}},
		{"1 == 2", nil},
		{"F1 || F2 || F3", []int64{1, 2, 3}},
		{"F1 && F2", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := Parse(tt.query)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.query, err)
			}
			if got := matchIDs(t, q); !slices.Equal(got, tt.want) {
				t.Errorf("Parse(%q) matched %v, want %v", tt.query, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, query string
	}{
		{"unbalanced open", "(F1 && F2"},
		{"unbalanced close", "F1 && F2)"},
		{"empty parens", "()"},
		{"unknown field", "Foo == 1"},
		{"unknown customer field", `Customer.Phone == "1"`},
		{"bare customer", "Customer == null"},
		{"bare activated machines", "ActivatedMachines > 1"},
		{"unknown member", `Key.Trim() == "x"`},
		{"method on int", `Period.Contains("3")`},
		{"trailing tokens", "F1 F2"},
		{"trailing comparison", "Period == 1 == true"},
		{"dangling operator", "F1 &&"},
		{"single ampersand", "F1 & F2"},
		{"single bar", "F1 | F2"},
		{"bad character", "F1 # F2"},
		{"unterminated string", `Key == "abc`},
		{"bad escape", `Key == "a\qb"`},
		{"bad unicode escape", `Key == "\u12"`},
		{"decimal literal", "Period > 1.5"},
		{"malformed number", "Period > 12ab"},
		{"integer overflow", "Period > 99999999999999999999"},
		{"single quotes", "Key == 'abc'"},
		{"type error string int", "Key > 5"},
		{"type error bool int", "F1 == 1"},
		{"type error order bool", "F1 < true"},
		{"type error order null", "Notes < null"},
		{"type error time int", "Created > 5"},
		{"non-bool query", "Period"},
		{"non-bool string query", "Key"},
		{"non-bool and operand", "F1 && Period"},
		{"non-bool or operand", "Key || F1"},
		{"not on int", "!Period"},
		{"not binds tighter", "!Period > 5"},
		{"contains int arg", "Key.Contains(5)"},
		{"contains null arg", "Key.Contains(null)"},
		{"contains two args", `Key.Contains("a", "b")`},
		{"tolower with arg", `Key.ToLower("x") == "a"`},
		{"bad date", "Created > DateTime(2021,2,29)"},
		{"bad month", "Created > DateTime(2021,13,1)"},
		{"date arity", "Created > DateTime(2021,2)"},
		{"date arity 4", "Created > DateTime(2021,2,1,1)"},
		{"date too many", "Created > DateTime(2021,2,1,1,1,1,1)"},
		{"date string arg", `Created > DateTime("2021",2,1)`},
		{"date unknown member", "Created > DateTime.Yesterday"},
		{"bare DateTime", "Created > DateTime"},
		{"adddays decimal", "Expires < DateTime.Now.AddDays(1.5)"},
		{"adddays missing arg", "Expires < DateTime.Now.AddDays()"},
		{"adddays huge", "Expires < DateTime.Now.AddDays(99999999)"},
		{"adddays on string", "Key.AddDays(1) == Key"},
		{"null predicate", "null"},
		{"null member", "null.ToLower() == null"},
		{"keyword as operand", "and"},
		{"only not", "!"},
		{"too long", "F1 || " + strings.Repeat("F2 || ", 400) + "F3"},
		{"too deep parens", strings.Repeat("(", 51) + "F1" + strings.Repeat(")", 51)},
		{"too deep not", strings.Repeat("!", 51) + "F1"},
		{"non-ascii", "Key == «x»"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Parse(tt.query)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, nil; want error", tt.query, q)
			}
			if !errors.Is(err, ErrInvalidQuery) {
				t.Errorf("Parse(%q) error %v does not wrap ErrInvalidQuery", tt.query, err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("Parse(%q) error %T is not a *ParseError", tt.query, err)
			} else if pe.Offset < 0 || pe.Offset > len(tt.query) {
				t.Errorf("Parse(%q) offset %d out of range", tt.query, pe.Offset)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	tests := []struct {
		name    string
		query   string
		wantErr bool
	}{
		{"depth 50 parens", strings.Repeat("(", 50) + "F1" + strings.Repeat(")", 50), false},
		{"depth 51 parens", strings.Repeat("(", 51) + "F1" + strings.Repeat(")", 51), true},
		{"depth 50 not", strings.Repeat("!", 50) + "F1", false},
		{"length 2000", "F1" + strings.Repeat(" ", 1998), false},
		{"length 2001", "F1" + strings.Repeat(" ", 1999), true},
		{"length counts runes", `Key == "` + strings.Repeat("é", 1990) + `"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.query)
			if got := err != nil; got != tt.wantErr {
				t.Errorf("Parse(len %d) error = %v, want error %v", len(tt.query), err, tt.wantErr)
			}
		})
	}
}

func TestMatchRecordErrors(t *testing.T) {
	good := newRecord(1, nil)
	missing := newRecord(1, nil)
	delete(missing, "Period")
	wrongKind := newRecord(1, map[string]Value{"Period": StringValue("30")})
	tests := []struct {
		name    string
		query   string
		r       Record
		want    bool
		wantErr bool
	}{
		{"good", "Period == 30", good, true, false},
		{"missing field", "Period == 30", missing, false, true},
		{"wrong kind", "Period == 30", wrongKind, false, true},
		{"nil record", "Period == 30", nil, false, true},
		{"empty query nil record", "", nil, true, false},
		{"short circuit skips missing field", "F1 || true || Period == 30", missing, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Parse(tt.query)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.query, err)
			}
			got, err := q.Match(tt.r, testNow)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Match error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrRecord) {
				t.Errorf("Match error %v does not wrap ErrRecord", err)
			}
			if got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNilQueryMatchesAll(t *testing.T) {
	var q *Query
	got, err := q.Match(newRecord(1, nil), testNow)
	if err != nil || !got {
		t.Errorf("nil Query Match = %v, %v; want true, nil", got, err)
	}
	if got, want := q.String(), ""; got != want {
		t.Errorf("nil Query String = %q, want %q", got, want)
	}
}

func TestQueryString(t *testing.T) {
	const src = " F1 && Block "
	q, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if got := q.String(); got != src {
		t.Errorf("String() = %q, want %q", got, src)
	}
}

func TestStringEscapes(t *testing.T) {
	tests := []struct {
		literal string
		want    string
	}{
		{`"plain"`, "plain"},
		{`"a\"b"`, `a"b`},
		{`"a\\b"`, `a\b`},
		{`"a\'b"`, `a'b`},
		{`"a\/b"`, `a/b`},
		{`"\n\r\t\0"`, "\n\r\t\x00"},
		{`"\u00e9"`, "é"},
		{`"héllo"`, "héllo"},
		{`""`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.literal, func(t *testing.T) {
			q, err := Parse("Key == " + tt.literal)
			if err != nil {
				t.Fatalf("Parse error: %v", err)
			}
			got, err := q.Match(newRecord(1, map[string]Value{"Key": StringValue(tt.want)}), testNow)
			if err != nil || !got {
				t.Errorf("Key == %s against %q = %v, %v; want true, nil", tt.literal, tt.want, got, err)
			}
		})
	}
}
