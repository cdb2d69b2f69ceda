package keyquery

import (
	"errors"
	"testing"
)

// hostileRecord breaks the schema: it lacks some fields and returns wrong
// kinds for others. Match must report errors, never panic.
type hostileRecord struct{}

func (hostileRecord) Field(name string) (Value, bool) {
	switch len(name) % 3 {
	case 0:
		return Value{}, false
	case 1:
		return StringValue(name), true
	}
	return NullValue(), true
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		"", "F1 == true && Period > 30",
		`Notes.Contains("vip") || Customer.Email.EndsWith("@acme.com")`,
		"Expires < DateTime.Now.AddDays(7)", "Created >= DateTime(2020,1,31)",
		"Created > DateTime(2021,6,15,10,0,0)", "!Block", "ActivatedMachines.Count() >= 2",
		"Notes == null", "Block || F1 && Period > 30", "(Block || F1) && !(Period < -3)",
		`Key.ToLower().StartsWith("a\u00e9\"")`, "DateTime.Today.AddDays(-1) < Expires",
		"((((", "))", `"unterminated`, "F1 & F2", "99999999999999999999", "Key > 5",
		"null == null", "!!!!F1", "Customer.", "ActivatedMachines.", "DateTime(", "\xff\xfe",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		q, err := Parse(src)
		if err != nil {
			if q != nil {
				t.Errorf("Parse(%q) returned a query with error %v", src, err)
			}
			if !errors.Is(err, ErrInvalidQuery) {
				t.Errorf("Parse(%q) error %v does not wrap ErrInvalidQuery", src, err)
			}
			return
		}
		for _, r := range testRecords {
			if _, err := q.Match(r, testNow); err != nil {
				t.Errorf("Parse(%q).Match(valid record) error: %v", src, err)
			}
		}
		if _, err := q.Match(hostileRecord{}, testNow); err != nil && !errors.Is(err, ErrRecord) {
			t.Errorf("Match(hostile) error %v does not wrap ErrRecord", err)
		}
		_, _ = q.Match(nil, testNow)
		_, _, _ = ParseOrderBy(src)
	})
}
