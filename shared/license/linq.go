package license

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/signing"
	"github.com/keyturn/keyturn/shared/wire"
)

// linqSeparators are the characters that delimit fields in the text
// SignMethod=0 signs: ',' between fields, '[' and ']' around the machine
// and data object lists.
const linqSeparators = ",[]"

// Refusals of SignMethod=0 signing (Keyturn's own messages; the reference
// documents none). The signed text cannot escape anything (clients rebuild
// it from the JSON object and would no longer verify), so a license whose
// text would not split into fields in exactly one way is not signed at all.

// CheckMachineCode returns apierr.MachineCodeRefused when mid could shift field
// boundaries in the SignMethod=0 text: it contains ',', '[' or ']', or it
// has the form of a date.
func CheckMachineCode(mid string) error {
	if strings.ContainsAny(mid, linqSeparators) || dateShaped(mid) {
		return apierr.MachineCodeRefused
	}
	return nil
}

// dateShaped reports whether s has the form of a date in the SignMethod=0
// text, yyyy-MM-ddTHH:mm:ss (digits not checked for range).
func dateShaped(s string) bool {
	if len(s) != len(wire.ISOLayout) {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c, l := s[i], wire.ISOLayout[i]; {
		case l >= '0' && l <= '9':
			if c < '0' || c > '9' {
				return false
			}
		case c != l:
			return false
		}
	}
	return true
}

// LinqSignable reports whether l can be signed with SignMethod=0 so that
// its signed text (LinqSignText) splits into fields in exactly one way. It
// returns apierr.LinqAmbiguous (wrapping which rule failed) when a text field
// contains ',', '[' or ']', when a machine code or IP has the form of a
// date (a reader could then end a machine there), or when it lists more
// than one data object (a reader could regroup two objects into one with
// the other's value); nil otherwise. Call it with the license as rendered
// (after Mask).
//
// With these refusals, a reader that takes the text apart can only regroup
// a list of two or more machines into fewer entries whose machine codes
// are listed ones or contain ',': it cannot add a machine code, nor change
// any other field. Null and empty text read alike (Notes, Email,
// CompanyName, AllowedMachines), and fields outside the text (customer Id,
// machine FriendlyName and FloatingExpires, Reseller) are not signed by
// this method at all.
func LinqSignable(l License) error {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	fields := [][2]string{{"Key", l.Key}, {"Notes", str(l.Notes)}, {"AllowedMachines", str(l.AllowedMachines)}}
	if c := l.Customer; c != nil {
		fields = append(fields, [2]string{"Customer.Name", c.Name}, [2]string{"Customer.Email", str(c.Email)},
			[2]string{"Customer.CompanyName", str(c.CompanyName)})
	}
	for _, a := range l.Machines {
		if dateShaped(a.WireMid()) || dateShaped(a.IP) {
			return apierr.LinqAmbiguous.Wrap(errors.New("a machine code or IP has the form of a date"))
		}
		fields = append(fields, [2]string{"ActivatedMachines.Mid", a.WireMid()}, [2]string{"ActivatedMachines.IP", a.IP})
	}
	for _, o := range l.DataObjects {
		fields = append(fields, [2]string{"DataObjects.Name", o.Name}, [2]string{"DataObjects.StringValue", o.StringValue})
	}
	for _, f := range fields {
		if strings.ContainsAny(f[1], linqSeparators) {
			return apierr.LinqAmbiguous.Wrap(fmt.Errorf("field %s contains a separator", f[0]))
		}
	}
	if len(l.DataObjects) > 1 {
		return apierr.LinqAmbiguous.Wrap(errors.New("more than one data object"))
	}
	return nil
}

func linqBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func linqDate(t time.Time) string { return t.UTC().Format(wire.ISOLayout) }

// LinqSignText returns the text that SignMethod=0 signs (WIRE-COMPAT
// section 6): the fields joined by ",", booleans True/False, dates
// yyyy-MM-ddTHH:mm:ss, null as empty, Customer as Name,Email,CompanyName,
// Created, machines and data objects in brackets, and an empty Signature.
func LinqSignText(l License, signDate time.Time) string {
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	parts := []string{
		strconv.FormatInt(l.ProductID, 10), strconv.FormatInt(l.ID, 10), l.Key,
		linqDate(l.Created), linqDate(l.Expires), strconv.FormatInt(l.Period, 10),
	}
	for _, f := range l.Features {
		parts = append(parts, linqBool(f))
	}
	parts = append(parts, s(l.Notes), linqBool(l.Block), strconv.FormatInt(l.GlobalID, 10))
	if c := l.Customer; c != nil {
		parts = append(parts, c.Name+","+s(c.Email)+","+s(c.CompanyName)+","+linqDate(c.Created))
	} else {
		parts = append(parts, "")
	}
	var m strings.Builder
	m.WriteString("[")
	for _, a := range l.Machines {
		m.WriteString(a.WireMid() + "," + a.IP + "," + linqDate(a.Time) + ",")
	}
	m.WriteString("]")
	parts = append(parts, m.String(), linqBool(l.TrialActivation), strconv.FormatInt(l.MaxNoOfMachines, 10), s(l.AllowedMachines))
	var d strings.Builder
	d.WriteString("[")
	for _, o := range l.DataObjects {
		d.WriteString(strconv.FormatInt(o.ID, 10) + "," + o.Name + "," + o.StringValue + "," + strconv.FormatInt(o.IntValue, 10) + ",")
	}
	d.WriteString("]")
	parts = append(parts, d.String(), linqDate(signDate), "")
	return strings.Join(parts, ",")
}

// utf16le encodes s as UTF-16 little endian.
func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	return b
}

func camelParts(l License, model int) wire.LinqLicense {
	f := l.Features
	out := wire.LinqLicense{
		ID: l.ID, Key: l.Key, Created: linqDate(l.Created), Expires: linqDate(l.Expires), Period: l.Period,
		F1: f[0], F2: f[1], F3: f[2], F4: f[3], F5: f[4], F6: f[5], F7: f[6], F8: f[7],
		Notes: l.Notes, Block: l.Block, GlobalID: l.GlobalID, TrialActivation: l.TrialActivation,
		MaxNoOfMachines: l.MaxNoOfMachines, AllowedMachines: l.AllowedMachines,
		ActivatedMachines: make([]wire.LinqMachine, 0, len(l.Machines)), DataObjects: make([]wire.LinqDataObject, 0, len(l.DataObjects)),
	}
	if c := l.Customer; c != nil {
		out.Customer = &wire.LinqCustomer{ID: c.ID, Name: c.Name, Email: c.Email, CompanyName: c.CompanyName, Created: linqDate(c.Created)}
	}
	for _, a := range l.Machines {
		m := wire.LinqMachine{Mid: a.WireMid(), IP: a.IP, Time: linqDate(a.Time)}
		if model >= 2 {
			fn := a.FriendlyName
			m.FriendlyName = &fn
		}
		if model >= 3 {
			fe := linqDate(a.FloatingExpires)
			if a.FloatingExpires.IsZero() {
				fe = linqDate(time.Unix(0, 0))
			}
			m.FloatingExpires = &fe
		}
		out.ActivatedMachines = append(out.ActivatedMachines, m)
	}
	for _, d := range l.DataObjects {
		out.DataObjects = append(out.DataObjects, wire.LinqDataObject(d))
	}
	if model >= 3 {
		var r *wire.LinqReseller
		if x := l.Reseller; x != nil {
			r = &wire.LinqReseller{ID: x.ID, InviteID: x.InviteID, ResellerUserID: x.ResellerUserID, Created: linqDate(x.Created),
				Name: x.Name, URL: x.URL, Email: x.Email, Phone: x.Phone, Description: x.Description}
		}
		out.Reseller = &r
	}
	return out
}

// LinqSigned returns the SignMethod=0 licenseKey object. With a nil signer
// signature is null; otherwise it is the base64 RSASSA-PKCS1-v1_5 SHA-256
// signature over the UTF-16LE LinqSignText, and a license that
// LinqSignable refuses is not signed (apierr.LinqAmbiguous).
func LinqSigned(ctx context.Context, s signing.Signer, l License, model int, signDate time.Time) (wire.LinqLicense, error) {
	out := camelParts(l, model)
	sd := linqDate(signDate)
	out.SignDate = &sd
	if s != nil {
		if err := LinqSignable(l); err != nil {
			return wire.LinqLicense{}, err
		}
		sig, err := signing.SignSHA256(ctx, s, utf16le(LinqSignText(l, signDate)))
		if err != nil {
			return wire.LinqLicense{}, fmt.Errorf("sign license: %w", err)
		}
		b := base64.StdEncoding.EncodeToString(sig)
		out.Signature = &b
	}
	return out, nil
}

// Unsigned returns the listing model of l.
func Unsigned(l License, model int) wire.UnsignedLicense {
	return wire.UnsignedLicense{ProductID: l.ProductID, LinqLicense: camelParts(l, model)}
}
