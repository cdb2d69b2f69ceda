package license

import (
	"errors"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
)

// linqFields is one reading of a SignMethod=0 text: the values of its
// fields as strings, the way a verifier that rebuilds the text from a JSON
// object would have to supply them.
type linqFields struct {
	Head     []string    // ProductId, ID, Key, Created, Expires, Period, F1..F8, Notes, Block, GlobalId
	Customer []string    // nil (no customer) or Name, Email, CompanyName, Created
	Machines [][3]string // Mid, IP, Time
	Tail     []string    // TrialActivation, MaxNoOfMachines, AllowedMachines
	Objects  [][4]string // Id, Name, StringValue, IntValue
	SignDate string
}

// renderedFields are the fields LinqSignText writes for l.
func renderedFields(l License, signDate time.Time) linqFields {
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	f := linqFields{Head: []string{strconv.FormatInt(l.ProductID, 10), strconv.FormatInt(l.ID, 10), l.Key,
		linqDate(l.Created), linqDate(l.Expires), strconv.FormatInt(l.Period, 10)}}
	for _, b := range l.Features {
		f.Head = append(f.Head, linqBool(b))
	}
	f.Head = append(f.Head, s(l.Notes), linqBool(l.Block), strconv.FormatInt(l.GlobalID, 10))
	if c := l.Customer; c != nil {
		f.Customer = []string{c.Name, s(c.Email), s(c.CompanyName), linqDate(c.Created)}
	}
	for _, a := range l.Machines {
		f.Machines = append(f.Machines, [3]string{a.WireMid(), a.IP, linqDate(a.Time)})
	}
	f.Tail = []string{linqBool(l.TrialActivation), strconv.FormatInt(l.MaxNoOfMachines, 10), s(l.AllowedMachines)}
	for _, o := range l.DataObjects {
		f.Objects = append(f.Objects, [4]string{strconv.FormatInt(o.ID, 10), o.Name, o.StringValue, strconv.FormatInt(o.IntValue, 10)})
	}
	f.SignDate = linqDate(signDate)
	return f
}

// The grammar of the SignMethod=0 text as a verifier reads it: typed
// fields are formatted by the verifier (so only their canonical spellings
// can occur), text fields may hold anything, ',' included.
type linqSym int

const (
	symInt linqSym = iota
	symBool
	symDate
	symText
	symEmpty
	symComma
	symOpen
	symClose
	symCustomer
	symMachines
	symObjects
	symEnd
)

var (
	intRe  = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)
	dateRe = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$`)
)

var linqGrammar = func() []linqSym {
	g := []linqSym{symInt, symComma, symInt, symComma, symText, symComma, symDate, symComma, symDate, symComma, symInt, symComma}
	for range 8 {
		g = append(g, symBool, symComma)
	}
	return append(g, symText, symComma, symBool, symComma, symInt, symComma, symCustomer, symComma,
		symOpen, symMachines, symClose, symComma, symBool, symComma, symInt, symComma, symText, symComma,
		symOpen, symObjects, symClose, symComma, symDate, symComma, symEnd)
}()

// capture is one matched field, or a marker of the list structure.
type capture struct {
	sym   linqSym
	value string
}

// linqReadings returns every way (up to limit) to read text as a license:
// all the field values a verifier could present that rebuild exactly this
// text.
func linqReadings(text string, limit int) []linqFields {
	var out []linqFields
	var match func(pos int, rest []linqSym, caps []capture)
	next := func(pos int, rest []linqSym, caps []capture, c ...capture) {
		match(pos, rest, append(slices.Clip(caps), c...))
	}
	match = func(pos int, rest []linqSym, caps []capture) {
		if len(out) >= limit {
			return
		}
		sym, rest := rest[0], rest[1:]
		switch sym {
		case symEnd:
			if pos == len(text) {
				out = append(out, assemble(caps))
			}
		case symComma, symOpen, symClose:
			if pos < len(text) && text[pos] == ",[]"[sym-symComma] {
				match(pos+1, rest, caps)
			}
		case symEmpty:
			next(pos, rest, caps, capture{symEmpty, ""})
		case symInt, symBool, symDate:
			end := strings.IndexByte(text[pos:], ',')
			if end < 0 {
				return
			}
			v := text[pos : pos+end]
			if sym == symInt && intRe.MatchString(v) || sym == symBool && (v == "True" || v == "False") || sym == symDate && dateRe.MatchString(v) {
				next(pos+end, rest, caps, capture{sym, v})
			}
		case symText:
			for end := pos; end < len(text); end++ {
				if text[end] == ',' {
					next(end, rest, caps, capture{symText, text[pos:end]})
				}
			}
		case symCustomer:
			next(pos, append([]linqSym{symEmpty}, rest...), caps, capture{symCustomer, "null"})
			next(pos, append([]linqSym{symText, symComma, symText, symComma, symText, symComma, symDate}, rest...), caps, capture{symCustomer, "object"})
		case symMachines, symObjects:
			next(pos, rest, caps, capture{sym, "end"})
			elem := []linqSym{symText, symComma, symText, symComma, symDate, symComma}
			if sym == symObjects {
				elem = []linqSym{symInt, symComma, symText, symComma, symText, symComma, symInt, symComma}
			}
			next(pos, append(append(elem, sym), rest...), caps, capture{sym, "item"})
		}
	}
	match(0, linqGrammar, nil)
	return out
}

// assemble turns the captures of a complete match into fields.
func assemble(caps []capture) linqFields {
	var f linqFields
	i := 0
	take := func(n int) []string {
		v := make([]string, n)
		for j := range v {
			v[j] = caps[i].value
			i++
		}
		return v
	}
	f.Head = take(17)
	if caps[i].value == "object" {
		i++
		f.Customer = take(4)
	} else {
		i += 2 // marker and the empty field
	}
	for caps[i].value == "item" {
		i++
		m := take(3)
		f.Machines = append(f.Machines, [3]string(m))
	}
	i++ // end marker
	f.Tail = take(3)
	for caps[i].value == "item" {
		i++
		o := take(4)
		f.Objects = append(f.Objects, [4]string(o))
	}
	i++
	f.SignDate = take(1)[0]
	return f
}

// separatorFree reports whether no text field of f contains a separator.
func (f linqFields) separatorFree() bool {
	texts := []string{f.Head[2], f.Head[14], f.Tail[2]}
	texts = append(texts, f.Customer...)
	for _, m := range f.Machines {
		texts = append(texts, m[0], m[1])
	}
	for _, o := range f.Objects {
		texts = append(texts, o[1], o[2])
	}
	for _, s := range texts {
		if strings.ContainsAny(s, linqSeparators) {
			return false
		}
	}
	return true
}

// checkUniqueSplit asserts what LinqSignable promises for a license it
// accepts: the text has exactly one reading without separators inside text
// fields, and it is the rendered one; every reading at all agrees with it
// on every field except the machine list, which it can only regroup into
// fewer entries whose separator-free machine codes are rendered ones.
func checkUniqueSplit(t testing.TB, l License, signDate time.Time) {
	t.Helper()
	want := renderedFields(l, signDate)
	text := LinqSignText(l, signDate)
	readings := linqReadings(text, 256)
	clean := 0
	mids := map[string]bool{}
	for _, m := range want.Machines {
		mids[m[0]] = true
	}
	for _, r := range readings {
		if r.separatorFree() {
			clean++
			if !reflect.DeepEqual(r, want) {
				t.Errorf("text %q reads as %+v, want %+v", text, r, want)
			}
		}
		other := r
		other.Machines = want.Machines
		if !reflect.DeepEqual(other, want) {
			t.Errorf("text %q has a reading that differs outside the machine list: %+v, want %+v", text, r, want)
		}
		if len(r.Machines) > len(want.Machines) {
			t.Errorf("text %q reads as %d machines, more than the %d rendered", text, len(r.Machines), len(want.Machines))
		}
		for _, m := range r.Machines {
			if !strings.ContainsAny(m[0], linqSeparators) && !mids[m[0]] {
				t.Errorf("text %q reads as a license with machine %q, which is not activated", text, m[0])
			}
		}
	}
	if clean != 1 {
		t.Errorf("text %q has %d separator-free readings, want exactly 1", text, clean)
	}
}

// sample is a license with every kind of field set.
func sample() License {
	return License{ProductID: 3349, ID: 4, Key: "LEPWV-FOTPG-MWBEO-FBFPS", Created: date("2015-08-27T00:00:00"),
		Expires: date("2015-09-26T00:00:00"), Period: 30, Features: [8]bool{true, false, true}, Notes: new("notes"),
		GlobalID: 24966, MaxNoOfMachines: 3, AllowedMachines: new("a\nb"),
		Customer: &Customer{ID: 7, Name: "Bob", Email: new("bob@example.com"), CompanyName: nil, Created: date("2015-01-02T03:04:05")},
		Machines: []Activation{
			{Mid: "m1", IP: "192.0.2.1", Time: date("2016-01-01T00:00:00")},
			{Mid: "m2", IP: "2001:db8::1", Time: date("2016-01-02T00:00:00"), Floating: true},
			{Mid: "m3", IP: "", Time: date("2016-01-03T00:00:00")},
		},
		DataObjects: []DataObject{{ID: 1, Name: "uses", StringValue: "", IntValue: 5}},
	}
}

// TestLinqSignTextSplitsUniquely re-reads the signed text of licenses the
// service signs with SignMethod=0 and checks the split is unique.
func TestLinqSignTextSplitsUniquely(t *testing.T) {
	signDate := date("2016-06-11T09:23:28")
	empty := License{ProductID: 1, ID: 1, Key: "K", MaxNoOfMachines: 0}
	allEmpty := sample()
	allEmpty.Key, allEmpty.Notes, allEmpty.AllowedMachines = "", new(""), new("")
	allEmpty.Customer = &Customer{Created: date("2015-01-02T03:04:05")}
	allEmpty.Machines = []Activation{{}, {}}
	allEmpty.DataObjects = []DataObject{{}}
	datesEverywhere := sample()
	datesEverywhere.Key, datesEverywhere.Notes = "2015-08-27T00:00:00", new("True")
	datesEverywhere.Customer.Name, datesEverywhere.Customer.Email = "2015-01-02T03:04:05", new("-1")
	datesEverywhere.Machines[0].Mid, datesEverywhere.Machines[0].IP = "-1", "True"
	datesEverywhere.Machines[1].Mid, datesEverywhere.Machines[1].IP = "2016-01-01T00:00:0", "2016-01-01 00:00:00"
	datesEverywhere.DataObjects[0].Name, datesEverywhere.DataObjects[0].StringValue = "5", "2016-01-01T00:00:00"
	noCustomer := sample()
	noCustomer.Customer, noCustomer.Notes, noCustomer.AllowedMachines = nil, nil, nil
	for name, l := range map[string]License{
		"known vector": {ProductID: 3349, ID: 4, Key: "LEPWV-FOTPG-MWBEO-FBFPS", Created: date("2015-08-27T00:00:00"),
			Expires: date("2015-09-26T00:00:00"), Period: 30, GlobalID: 24966, MaxNoOfMachines: -1},
		"minimal":                   empty,
		"every field":               sample(),
		"empty strings":             allEmpty,
		"values that look typed":    datesEverywhere,
		"no customer, null strings": noCustomer,
	} {
		t.Run(name, func(t *testing.T) {
			if err := LinqSignable(l); err != nil {
				t.Fatalf("LinqSignable = %v, want nil", err)
			}
			checkUniqueSplit(t, l, signDate)
		})
	}
}

// TestLinqSignRefusesAmbiguousText shows why LinqSignable refuses what it
// refuses: each of these texts can be re-read as another license that
// still verifies, and LinqSigned does not sign it.
func TestLinqSignRefusesAmbiguousText(t *testing.T) {
	signDate := date("2016-06-11T09:23:28")
	forged := sample()
	forged.Machines = []Activation{{Mid: "A,9.9.9.9,2026-11-26T00:00:00,B", IP: "192.0.2.1", Time: date("2016-01-01T00:00:00")}}
	twoObjects := sample()
	twoObjects.DataObjects = []DataObject{{ID: 1, Name: "seats", IntValue: 5}, {ID: 2, Name: "usage", IntValue: 900}}
	// A date-shaped IP or machine code lets a reader end a machine early:
	// the next activation time (or IP) then reads as a machine code.
	three := func(mid2, ip2 string) License {
		l := sample()
		l.Machines = []Activation{{Mid: "m1", IP: "192.0.2.1", Time: date("2016-01-01T00:00:00")},
			{Mid: mid2, IP: ip2, Time: date("2016-01-02T00:00:00")},
			{Mid: "m3", IP: "192.0.2.3", Time: date("2016-01-03T00:00:00")}}
		return l
	}
	dateIP, dateMid := three("m2", "2016-01-01T00:00:00"), three("2016-01-01T00:00:00", "192.0.2.2")
	cases := []struct {
		name string
		l    License
		want error
		// another reading the text allows
		reads func(linqFields) bool
	}{
		{"machine code with separators", forged, apierr.LinqAmbiguous, func(f linqFields) bool {
			return len(f.Machines) == 2 && f.Machines[0][0] == "A" && f.Machines[0][1] == "9.9.9.9"
		}},
		{"two data objects", twoObjects, apierr.LinqAmbiguous, func(f linqFields) bool {
			return len(f.Objects) == 1 && f.Objects[0][1] == "seats" && f.Objects[0][3] == "900"
		}},
		{"IP in the form of a date", dateIP, apierr.LinqAmbiguous, func(f linqFields) bool {
			return len(f.Machines) == 2 && f.Machines[1][0] == "2016-01-02T00:00:00" // an activation time as machine code
		}},
		{"machine code in the form of a date", dateMid, apierr.LinqAmbiguous, func(f linqFields) bool {
			return len(f.Machines) == 2 && f.Machines[1][0] == "192.0.2.2" // an IP as machine code
		}},
	}
	for _, field := range []func(*License){
		func(l *License) { l.Key = "K,1" },
		func(l *License) { l.Notes = new("a,b") },
		func(l *License) { l.AllowedMachines = new("x]") },
		func(l *License) { l.Customer.Name = "[" },
		func(l *License) { l.Customer.Email = new("a,b") },
		func(l *License) { l.Customer.CompanyName = new("a,b") },
		func(l *License) { l.Machines[1].IP = "1,2" },
		func(l *License) { l.DataObjects[0].Name = "n]" },
		func(l *License) { l.DataObjects[0].StringValue = "v," },
	} {
		l := sample()
		field(&l)
		cases = append(cases, struct {
			name  string
			l     License
			want  error
			reads func(linqFields) bool
		}{"separator in a text field", l, apierr.LinqAmbiguous, nil})
	}
	s := signer(t)
	for _, tc := range cases {
		if err := LinqSignable(tc.l); !errors.Is(err, tc.want) {
			t.Errorf("%s: LinqSignable = %v, want %v", tc.name, err, tc.want)
		}
		if _, err := LinqSigned(t.Context(), s, tc.l, 3, signDate); !errors.Is(err, tc.want) {
			t.Errorf("%s: LinqSigned error = %v, want %v", tc.name, err, tc.want)
		}
		if _, err := LinqSigned(t.Context(), nil, tc.l, 3, signDate); err != nil {
			t.Errorf("%s: unsigned rendering refused: %v", tc.name, err)
		}
		if tc.reads == nil {
			continue
		}
		found := false
		for _, r := range linqReadings(LinqSignText(tc.l, signDate), 256) {
			found = found || tc.reads(r)
		}
		if !found {
			t.Errorf("%s: the text %q has no forged reading; the refusal would be unnecessary", tc.name, LinqSignText(tc.l, signDate))
		}
	}
	for _, mid := range []string{"A,9.9.9.9,2026-11-26T00:00:00,B", "[", "]", "2026-11-26T00:00:00", "9999-99-99T99:99:99"} {
		if err := CheckMachineCode(mid); !errors.Is(err, apierr.MachineCodeRefused) {
			t.Errorf("CheckMachineCode(%q) = %v, want apierr.MachineCodeRefused", mid, err)
		}
	}
	for _, mid := range []string{"", "3f2a9c", "floating:x", "a b\tc\n", "é", "2026-11-26", "2026-11-26T00:00:00Z", "2026-11-26 00:00:00"} {
		if err := CheckMachineCode(mid); err != nil {
			t.Errorf("CheckMachineCode(%q) = %v, want nil", mid, err)
		}
	}
}
