package license

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
)

// fuzzLicense builds a license from fuzz inputs: every text field a client
// or vendor controls, up to three machines (the second floating) and up to
// two data objects.
func fuzzLicense(key, notes, name, email, company, mid, ip, allowed, doName, doValue string, shape uint16, n int64) License {
	clip := func(s string) string { // keeps the number of readings small
		if len(s) > 24 {
			return s[:24]
		}
		return s
	}
	key, notes, name, email, company = clip(key), clip(notes), clip(name), clip(email), clip(company)
	mid, ip, allowed, doName, doValue = clip(mid), clip(ip), clip(allowed), clip(doName), clip(doValue)
	at := func(sec int64) time.Time { return time.Unix(sec%253402300800, 0).UTC() }
	if n < 0 {
		n = -n
	}
	l := License{ProductID: n % 100000, ID: n % 1000, Key: key, Created: at(n), Expires: at(n + 86400), Period: n % 3650,
		Features: [8]bool{shape&1 != 0, shape&2 != 0}, Block: shape&4 != 0, GlobalID: n, TrialActivation: shape&8 != 0,
		MaxNoOfMachines: n%7 - 1}
	if shape&16 != 0 {
		l.Notes = &notes
	}
	if shape&32 != 0 {
		l.AllowedMachines = &allowed
	}
	if shape&64 != 0 {
		l.Customer = &Customer{ID: n % 50, Name: name, Created: at(n / 2)}
		if shape&128 != 0 {
			l.Customer.Email, l.Customer.CompanyName = &email, &company
		}
	}
	for i := range int(shape>>8) % 4 {
		l.Machines = append(l.Machines, Activation{Mid: mid + string(rune('a'+i)), IP: ip, Time: at(n + int64(i)),
			FriendlyName: name, Floating: i == 1, FloatingExpires: at(n + 60)})
	}
	for i := range int(shape>>10) % 3 {
		l.DataObjects = append(l.DataObjects, DataObject{ID: int64(i + 1), Name: doName, StringValue: doValue, IntValue: n % 1000})
	}
	return l
}

func addLicenseSeeds(f *testing.F) {
	f.Add("LEPWV-FOTPG-MWBEO-FBFPS", "notes", "Bob", "bob@example.com", "Bobco", "3f2a9c", "192.0.2.1", "a\nb", "uses", "", uint16(0xffff), int64(1448928000))
	f.Add("K", "", "", "", "", "", "", "", "", "", uint16(0), int64(0))
	f.Add("K", "x,False,1", "n", "e", "c", "m", "1.2.3.4", "", "d", "v", uint16(0x1f0), int64(7))
	f.Add("K", "n", "n", "e", "c", "A,9.9.9.9,2026-11-26T00:00:00,B", "ip", "", "d", "v", uint16(0x1c0), int64(9))
	f.Add("K", "n", "[", "]", ",", "m", "::1", "]", "d", "v", uint16(0x7ff), int64(3))
	f.Add("2015-08-27T00:00:00", "True", "2015-01-02T03:04:05", "-1", "0", "2016-01-01T00:00:00", "2016-01-01T00:00:00", "False", "5", "7", uint16(0x5ff), int64(86400))
	f.Add("K", "\xff\xfe", "é", "\u2028", "<b>&", "\x00", "ip", "\r\n", "\"", "\\", uint16(0xfff), int64(-5))
	f.Add("K", "n", "n", "e", "c", "m", "ip", "", "seats", "", uint16(0x800), int64(5))
}

// FuzzLinqSign: LinqSignable accepts exactly the licenses without
// separators in text fields, without a machine code or IP in the form of a
// date and with at most one data object, and the
// signed text of every license it accepts splits into fields uniquely
// (checkUniqueSplit); a refused license is never signed, and the unsigned
// form always renders.
func FuzzLinqSign(f *testing.F) {
	addLicenseSeeds(f)
	signDate := date("2016-06-11T09:23:28")
	f.Fuzz(func(t *testing.T, key, notes, name, email, company, mid, ip, allowed, doName, doValue string, shape uint16, n int64) {
		l := fuzzLicense(key, notes, name, email, company, mid, ip, allowed, doName, doValue, shape, n)
		err := LinqSignable(l)
		rendered := renderedFields(l, signDate)
		dateLike := false
		for _, m := range rendered.Machines {
			dateLike = dateLike || dateRe.MatchString(m[0]) || dateRe.MatchString(m[1])
		}
		switch {
		case !rendered.separatorFree() || dateLike || len(l.DataObjects) > 1:
			if !errors.Is(err, apierr.LinqAmbiguous) {
				t.Fatalf("LinqSignable(%+v) = %v, want apierr.LinqAmbiguous", l, err)
			}
		default:
			if err != nil {
				t.Fatalf("LinqSignable(%+v) = %v, want nil", l, err)
			}
			checkUniqueSplit(t, l, signDate)
		}
		if _, uerr := LinqSigned(t.Context(), nil, l, 3, signDate); uerr != nil {
			t.Fatalf("unsigned LinqSign rendering failed: %v", uerr)
		}
	})
}

// parsedLicense is the StringSign JSON as a strict client reads it.
type parsedLicense struct {
	ProductID int64 `json:"ProductId"`
	ID        int64
	Key       string
	Created   int64
	Expires   int64
	Period    int64
	F1        bool
	F2        bool
	F3        bool
	F4        bool
	F5        bool
	F6        bool
	F7        bool
	F8        bool
	Notes     *string
	Block     bool
	GlobalID  int64 `json:"GlobalId"`
	Customer  *struct {
		ID          int64 `json:"Id"`
		Name        string
		Email       *string
		CompanyName *string
		Created     int64
	}
	ActivatedMachines []struct {
		Mid             string
		IP              string
		Time            int64
		FriendlyName    string
		FloatingExpires int64
	}
	TrialActivation bool
	MaxNoOfMachines int64
	AllowedMachines *string
	DataObjects     []struct {
		ID          int64 `json:"Id"`
		Name        string
		StringValue string
		IntValue    int64
	}
	Reseller json.RawMessage
	SignDate int64
}

// FuzzStringSign: the SignMethod=1 JSON of any license parses back (with
// unknown fields refused) to exactly its fields; text is carried as is,
// except that bytes that are not UTF-8 become U+FFFD, one per byte, in the
// JSON that is signed, so what is signed is what clients read.
func FuzzStringSign(f *testing.F) {
	addLicenseSeeds(f)
	signDate := date("2016-06-11T09:23:28")
	f.Fuzz(func(t *testing.T, key, notes, name, email, company, mid, ip, allowed, doName, doValue string, shape uint16, n int64) {
		l := fuzzLicense(key, notes, name, email, company, mid, ip, allowed, doName, doValue, shape, n)
		js, err := LicenseJSON(l, 3, signDate)
		if err != nil {
			t.Fatalf("LicenseJSON: %v", err)
		}
		var p parsedLicense
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("license JSON does not parse: %v\n%s", err, js)
		}
		text := func(s string) string { return string([]rune(s)) }
		ptext := func(s *string) *string {
			if s == nil {
				return nil
			}
			v := text(*s)
			return &v
		}
		allowedWant := ""
		if l.AllowedMachines != nil {
			allowedWant = text(*l.AllowedMachines)
		}
		got := []any{p.ProductID, p.ID, p.Key, p.Created, p.Expires, p.Period, [8]bool{p.F1, p.F2, p.F3, p.F4, p.F5, p.F6, p.F7, p.F8},
			p.Notes, p.Block, p.GlobalID, p.TrialActivation, p.MaxNoOfMachines, p.AllowedMachines, p.SignDate, string(p.Reseller)}
		want := []any{l.ProductID, l.ID, text(l.Key), unix(l.Created), unix(l.Expires), l.Period, l.Features,
			ptext(l.Notes), l.Block, l.GlobalID, l.TrialActivation, l.MaxNoOfMachines, &allowedWant, unix(signDate), "null"}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fields = %v, want %v\n%s", got, want, js)
		}
		if (p.Customer == nil) != (l.Customer == nil) {
			t.Fatalf("customer presence differs:\n%s", js)
		}
		if c := l.Customer; c != nil {
			pc := p.Customer
			if pc.ID != c.ID || pc.Name != text(c.Name) || !reflect.DeepEqual(pc.Email, ptext(c.Email)) ||
				!reflect.DeepEqual(pc.CompanyName, ptext(c.CompanyName)) || pc.Created != unix(c.Created) {
				t.Fatalf("customer = %+v, want %+v\n%s", pc, c, js)
			}
		}
		if len(p.ActivatedMachines) != len(l.Machines) || len(p.DataObjects) != len(l.DataObjects) {
			t.Fatalf("lists differ:\n%s", js)
		}
		for i, m := range l.Machines {
			pm := p.ActivatedMachines[i]
			if pm.Mid != text(m.WireMid()) || pm.IP != text(m.IP) || pm.Time != unix(m.Time) ||
				pm.FriendlyName != text(m.FriendlyName) || pm.FloatingExpires != unix(m.FloatingExpires) {
				t.Fatalf("machine %d = %+v, want %+v\n%s", i, pm, m, js)
			}
		}
		for i, o := range l.DataObjects {
			po := p.DataObjects[i]
			if po.ID != o.ID || po.Name != text(o.Name) || po.StringValue != text(o.StringValue) || po.IntValue != o.IntValue {
				t.Fatalf("data object %d = %+v, want %+v\n%s", i, po, o, js)
			}
		}
	})
}
