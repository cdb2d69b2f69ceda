package revulytics

import (
	"bytes"
	"cmp"
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/keyquery"
	"github.com/keyturn/keyturn/shared/keys"
)

// Bounds on filter values.
const (
	maxFilterStrings = keys.MaxFilterKeys // stringArray values
	maxFilterString  = 512                // one string or pattern, in characters
	maxStatusObjects = 16                 // licenseStatus objects
)

// stringFilter is a string, stringArray or regex filter (the reference's
// string-based filters): equal to the value, to one of the values, or
// matching the regular expression (RE2 syntax, unanchored).
type stringFilter struct {
	values []string
	re     *regexp.Regexp
}

func (f *stringFilter) match(s string) bool {
	if f.re != nil {
		return f.re.MatchString(s)
	}
	for _, v := range f.values {
		if v == s {
			return true
		}
	}
	return false
}

// rangeFilter bounds a date (instants, inclusive) or a number.
type rangeFilter[T cmp.Ordered] struct {
	min, max *T
}

func (f *rangeFilter[T]) match(v T) bool {
	return (f.min == nil || v >= *f.min) && (f.max == nil || v <= *f.max)
}

// statusFilter is one licenseStatus object: the flags it names must all
// have the given values.
type statusFilter struct{ activated, blocked, expired, allowed *bool }

// filters is a parsed filters object.
type filters struct {
	licenseKey, licenseType *stringFilter
	added, expiry           *rangeFilter[int64] // unix seconds
	autoCollected           *bool
	overQuota               *rangeFilter[float64]
	status                  []statusFilter // ORed; nil: no filter
}

// members returns the members of a JSON object, by lower-cased name
// (SYNTAX ERROR naming what when raw is not an object).
func members(raw json.RawMessage, what string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&m); err != nil || m == nil {
		return nil, syntaxf("%s must be a JSON object.", what)
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out, nil
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

func parseString(raw json.RawMessage, what string) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", syntaxf("%s must be a string.", what)
	}
	return s, nil
}

func parseBool(raw json.RawMessage, what string) (bool, error) {
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return false, syntaxf("%s must be true or false.", what)
	}
	return b, nil
}

func parseNumber(raw json.RawMessage, what string) (float64, error) {
	var n json.Number
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&n); err != nil {
		return 0, syntaxf("%s must be a number.", what)
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, syntaxf("%s must be a number.", what)
	}
	return f, nil
}

// parseInt reads a whole number (a JSON number, or a string of digits)
// within [lo, hi].
func parseInt(raw json.RawMessage, what string, lo, hi int64) (int64, error) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		var n json.Number
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if d.Decode(&n) != nil {
			return 0, syntaxf("%s must be a whole number from %d to %d.", what, lo, hi)
		}
		s = n.String()
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, syntaxf("%s must be a whole number from %d to %d.", what, lo, hi)
	}
	return v, nil
}

func productID(raw json.RawMessage) (int64, error) {
	if isNull(raw) {
		return 0, syntaxErr(apierr.RevProductID)
	}
	v, err := parseInt(raw, "productId", 1, math.MaxInt64)
	if err != nil {
		return 0, syntaxErr(apierr.RevProductID)
	}
	return v, nil
}

// parseStringFilter reads {"type": "string"|"stringArray"|"regex", "value": ...}.
func parseStringFilter(raw json.RawMessage, what string) (*stringFilter, error) {
	m, err := members(raw, what)
	if err != nil {
		return nil, err
	}
	typ, err := parseString(m["type"], what+".type")
	if err != nil {
		return nil, err
	}
	val, ok := m["value"]
	if !ok || isNull(val) {
		return nil, syntaxf("%s.value is required.", what)
	}
	too := func(s string) bool { return utf8.RuneCountInString(s) > maxFilterString }
	switch strings.ToLower(typ) {
	case "string":
		s, err := parseString(val, what+".value")
		if err != nil {
			return nil, err
		}
		if too(s) {
			return nil, syntaxf("%s.value is longer than %d characters.", what, maxFilterString)
		}
		return &stringFilter{values: []string{s}}, nil
	case "stringarray":
		var ss []string
		if err := json.Unmarshal(val, &ss); err != nil {
			return nil, syntaxf("%s.value must be an array of strings.", what)
		}
		if len(ss) > maxFilterStrings {
			return nil, syntaxf("%s.value has more than %d strings.", what, maxFilterStrings)
		}
		for _, s := range ss {
			if too(s) {
				return nil, syntaxf("%s.value has a string longer than %d characters.", what, maxFilterString)
			}
		}
		if ss == nil {
			ss = []string{}
		}
		return &stringFilter{values: ss}, nil
	case "regex":
		s, err := parseString(val, what+".value")
		if err != nil {
			return nil, err
		}
		if too(s) {
			return nil, syntaxf("%s.value is longer than %d characters.", what, maxFilterString)
		}
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, syntaxf("%s.value is not a valid regular expression.", what)
		}
		return &stringFilter{re: re}, nil
	}
	return nil, syntaxf("%s.type must be string, stringArray or regex.", what)
}

// dateLayouts are the ISO 8601 forms a date filter accepts; date-only
// values cover the whole day (UTC).
var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"}

// parseDate returns the first and last second a date value names.
func parseDate(raw json.RawMessage, what string) (int64, int64, error) {
	s, err := parseString(raw, what)
	if err != nil {
		return 0, 0, err
	}
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		t, err := time.Parse(l, s)
		if err != nil {
			continue
		}
		if l == "2006-01-02" {
			return t.Unix(), t.Unix() + 24*3600 - 1, nil
		}
		return t.Unix(), t.Unix(), nil
	}
	return 0, 0, syntaxf("%s must be a date (YYYY-MM-DD) or date and time (YYYY-MM-DDThh:mm:ss) in ISO 8601.", what)
}

// parseDateFilter reads {"type": "date", "value": d} or {"type":
// "dateRange", "min": d, "max": d} (either bound may be left out).
func parseDateFilter(raw json.RawMessage, what string) (*rangeFilter[int64], error) {
	m, err := members(raw, what)
	if err != nil {
		return nil, err
	}
	typ, err := parseString(m["type"], what+".type")
	if err != nil {
		return nil, err
	}
	var f rangeFilter[int64]
	switch strings.ToLower(typ) {
	case "date":
		if isNull(m["value"]) {
			return nil, syntaxf("%s.value is required.", what)
		}
		lo, hi, err := parseDate(m["value"], what+".value")
		if err != nil {
			return nil, err
		}
		f.min, f.max = &lo, &hi
	case "daterange":
		if !isNull(m["min"]) {
			lo, _, err := parseDate(m["min"], what+".min")
			if err != nil {
				return nil, err
			}
			f.min = &lo
		}
		if !isNull(m["max"]) {
			_, hi, err := parseDate(m["max"], what+".max")
			if err != nil {
				return nil, err
			}
			f.max = &hi
		}
	default:
		return nil, syntaxf("%s.type must be date or dateRange.", what)
	}
	return &f, nil
}

// parseNumberFilter reads {"type": "number", "value": n} or {"type":
// "numberRange", "min": n, "max": n}.
func parseNumberFilter(raw json.RawMessage, what string) (*rangeFilter[float64], error) {
	m, err := members(raw, what)
	if err != nil {
		return nil, err
	}
	typ, err := parseString(m["type"], what+".type")
	if err != nil {
		return nil, err
	}
	var f rangeFilter[float64]
	bound := func(name string) (*float64, error) {
		if isNull(m[name]) {
			return nil, nil
		}
		v, err := parseNumber(m[name], what+"."+name)
		return &v, err
	}
	switch strings.ToLower(typ) {
	case "number":
		if isNull(m["value"]) {
			return nil, syntaxf("%s.value is required.", what)
		}
		v, err := bound("value")
		if err != nil {
			return nil, err
		}
		f.min, f.max = v, v
	case "numberrange":
		if f.min, err = bound("min"); err != nil {
			return nil, err
		}
		if f.max, err = bound("max"); err != nil {
			return nil, err
		}
	default:
		return nil, syntaxf("%s.type must be number or numberRange.", what)
	}
	return &f, nil
}

// parseFilters reads the filters object; unknown members are refused (a
// misspelt filter must not silently list every key).
func parseFilters(raw json.RawMessage) (filters, error) {
	var f filters
	if isNull(raw) {
		return f, nil
	}
	m, err := members(raw, "filters")
	if err != nil {
		return f, err
	}
	for name, v := range m {
		if isNull(v) {
			continue
		}
		what := "filters." + name
		switch name {
		case "licensekey":
			f.licenseKey, err = parseStringFilter(v, "filters.licenseKey")
		case "licensetype":
			f.licenseType, err = parseStringFilter(v, "filters.licenseType")
			if err == nil {
				for i, s := range f.licenseType.values {
					f.licenseType.values[i] = strings.ToLower(s)
				}
			}
		case "addeddate":
			f.added, err = parseDateFilter(v, "filters.addedDate")
		case "expirydate":
			f.expiry, err = parseDateFilter(v, "filters.expiryDate")
		case "autocollected":
			var b bool
			b, err = parseBool(v, "filters.autoCollected")
			f.autoCollected = &b
		case "overquotacount":
			f.overQuota, err = parseNumberFilter(v, "filters.overQuotaCount")
		case "licensestatus":
			f.status, err = parseStatus(v)
		default:
			return f, syntaxf("%s is not a filter (filters are licenseKey, addedDate, expiryDate, autoCollected, overQuotaCount, licenseType and licenseStatus).", what)
		}
		if err != nil {
			return f, err
		}
	}
	return f, nil
}

// parseStatus reads the licenseStatus array of flag objects.
func parseStatus(raw json.RawMessage) ([]statusFilter, error) {
	var objs []json.RawMessage
	if err := json.Unmarshal(raw, &objs); err != nil {
		return nil, syntaxf("filters.licenseStatus must be an array of objects.")
	}
	if len(objs) == 0 {
		// An empty array restricts nothing (no status is asked for).
		return nil, nil
	}
	if len(objs) > maxStatusObjects {
		return nil, syntaxf("filters.licenseStatus has more than %d objects.", maxStatusObjects)
	}
	out := make([]statusFilter, 0, len(objs))
	for i, o := range objs {
		what := "filters.licenseStatus[" + strconv.Itoa(i) + "]"
		m, err := members(o, what)
		if err != nil {
			return nil, err
		}
		var sf statusFilter
		for name, v := range m {
			if isNull(v) {
				continue
			}
			b, err := parseBool(v, what+"."+name)
			if err != nil {
				return nil, err
			}
			switch name {
			case "activated":
				sf.activated = &b
			case "blocked":
				sf.blocked = &b
			case "expired":
				sf.expired = &b
			case "allowed":
				sf.allowed = &b
			default:
				return nil, syntaxf("%s.%s is not a license status flag (the flags are activated, blocked, expired and allowed).", what, name)
			}
		}
		out = append(out, sf)
	}
	return out, nil
}

// sorting is a parsed sorting object.
type sorting struct {
	field string // canonical member name
	desc  bool
}

// sortFields are the result members a listing can be sorted by.
var sortFields = map[string]string{}

func init() {
	for _, f := range []string{"licenseKey", "licenseType", "expiryDate", "installQuota", "installCount", "overQuotaCount",
		"addedDate", "autoCollected", "lastEditedDate"} {
		sortFields[strings.ToLower(f)] = f
	}
}

// parseSorting reads {"field": name, "order": "ascending"|"descending"}
// (order may be left out: ascending). Without sorting, keys are listed as
// added.
func parseSorting(raw json.RawMessage) (sorting, error) {
	s := sorting{field: "addedDate"}
	if isNull(raw) {
		return s, nil
	}
	m, err := members(raw, "sorting")
	if err != nil {
		return s, err
	}
	name, err := parseString(m["field"], "sorting.field")
	if err != nil {
		return s, err
	}
	f, ok := sortFields[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return s, syntaxf("sorting.field must be one of licenseKey, licenseType, expiryDate, installQuota, installCount, overQuotaCount, addedDate, autoCollected, lastEditedDate.")
	}
	s.field = f
	if !isNull(m["order"]) {
		o, err := parseString(m["order"], "sorting.order")
		if err != nil {
			return s, err
		}
		switch strings.ToLower(strings.TrimSpace(o)) {
		case "ascending", "asc":
		case "descending", "desc":
			s.desc = true
		default:
			return s, syntaxf("sorting.order must be ascending or descending.")
		}
	}
	return s, nil
}

// parsePaging reads {"startAt": n, "limit": n}.
func parsePaging(raw json.RawMessage) (start, limit int64, err error) {
	limit = DefaultLimit
	if isNull(raw) {
		return 0, limit, nil
	}
	m, err := members(raw, "paging")
	if err != nil {
		return 0, 0, err
	}
	if !isNull(m["startat"]) {
		if start, err = parseInt(m["startat"], "paging.startAt", 0, math.MaxInt32); err != nil {
			return 0, 0, err
		}
	}
	if !isNull(m["limit"]) {
		if limit, err = parseInt(m["limit"], "paging.limit", 1, MaxLimit); err != nil {
			return 0, 0, err
		}
	}
	return start, limit, nil
}

// ---- the listing ----

// usesActivations reports whether deciding the filter reads activations.
func (f filters) usesActivations() bool {
	if f.overQuota != nil {
		return true
	}
	for _, s := range f.status {
		if s.activated != nil {
			return true
		}
	}
	return false
}

// empty reports whether the filters restrict nothing.
func (f filters) empty() bool {
	return f.licenseKey == nil && f.licenseType == nil && f.added == nil && f.expiry == nil && f.autoCollected == nil &&
		f.overQuota == nil && f.status == nil
}

// match decides the filters on a key.
func (f filters) match(v viewer, r keys.Record) bool {
	kv := v.view(r)
	switch {
	case f.licenseKey != nil && !f.licenseKey.match(r.Key),
		f.licenseType != nil && !f.licenseType.match(kv.licenseType),
		f.added != nil && !f.added.match(r.Created.Unix()),
		f.expiry != nil && (!kv.timeLimited || !f.expiry.match(r.Expires.Unix())),
		f.autoCollected != nil && *f.autoCollected != r.AutoCollected,
		f.overQuota != nil && !f.overQuota.match(float64(kv.count-kv.quota)):
		return false
	}
	if f.status == nil {
		return true
	}
	is := func(want *bool, got bool) bool { return want == nil || *want == got }
	for _, s := range f.status {
		if is(s.activated, kv.status.Activated) && is(s.blocked, kv.status.Blocked) &&
			is(s.expired, kv.status.Expired) && is(s.allowed, kv.status.Allowed) {
			return true
		}
	}
	return false
}

// listFilter returns the Listing filter of f (nil when f is empty): named
// keys for a string or stringArray licenseKey filter, a condition
// DynamoDB evaluates for the stored fields, and f.match deciding. never is
// set when no key can match (nothing needs to be read).
func (f filters) listFilter(v viewer) (lf *keys.Filter, never bool) {
	if f.empty() {
		return nil, false
	}
	c := f.stored(v.fd, v.now)
	if c.never {
		return nil, true
	}
	out := &keys.Filter{Activations: f.usesActivations(), Match: func(r keys.Record) bool { return f.match(v, r) }, Stored: c.cond}
	if f.licenseKey != nil && f.licenseKey.re == nil {
		out.Keys = f.licenseKey.values
	}
	return out, false
}

// cond is a storage condition with explicit truth values: always (no
// condition), never, or cond.
type cond struct {
	cond  *keyquery.Cond
	never bool
}

var always = cond{}

func cmpCond(field, op string, v keyquery.Value) cond {
	return cond{cond: &keyquery.Cond{Op: keyquery.CondCmp, Field: field, Cmp: op, Value: v}}
}

func and(cs ...cond) cond {
	var args []keyquery.Cond
	for _, c := range cs {
		switch {
		case c.never:
			return cond{never: true}
		case c.cond != nil:
			args = append(args, *c.cond)
		}
	}
	switch len(args) {
	case 0:
		return always
	case 1:
		return cond{cond: &args[0]}
	}
	return cond{cond: &keyquery.Cond{Op: keyquery.CondAnd, Args: args}}
}

func or(cs ...cond) cond {
	var args []keyquery.Cond
	for _, c := range cs {
		switch {
		case c.never:
		case c.cond == nil:
			return always
		default:
			args = append(args, *c.cond)
		}
	}
	switch len(args) {
	case 0:
		return cond{never: true}
	case 1:
		return cond{cond: &args[0]}
	}
	return cond{cond: &keyquery.Cond{Op: keyquery.CondOr, Args: args}}
}

func not(c cond) cond {
	switch {
	case c.never:
		return always
	case c.cond == nil:
		return cond{never: true}
	}
	return cond{cond: &keyquery.Cond{Op: keyquery.CondNot, Args: []keyquery.Cond{*c.cond}}}
}

// timeLimited is the condition under which a key's expiry applies (see
// license.TimeLimited).
func timeLimited(fd catalog.FeatureDefinitions) cond {
	if fd.AllLicensesTimeLimited {
		return always
	}
	var cs []cond
	for i, f := range fd.Features {
		if f.Type == catalog.FeatureTimeLimited {
			cs = append(cs, cmpCond("F"+strconv.Itoa(i+1), "==", keyquery.BoolValue(true)))
		}
	}
	return or(cs...)
}

func timeRange(field string, f *rangeFilter[int64]) cond {
	var cs []cond
	if f.min != nil {
		cs = append(cs, cmpCond(field, ">=", keyquery.TimeValue(time.Unix(*f.min, 0).UTC())))
	}
	if f.max != nil {
		cs = append(cs, cmpCond(field, "<=", keyquery.TimeValue(time.Unix(*f.max, 0).UTC())))
	}
	return and(cs...)
}

// stored is the part of f storage can evaluate: a condition every key f
// matches satisfies (activations, regular expressions and allowed=false
// are left to match).
func (f filters) stored(fd catalog.FeatureDefinitions, now time.Time) cond {
	var cs []cond
	if f.licenseKey != nil && f.licenseKey.re == nil {
		var ks []cond
		for _, k := range f.licenseKey.values {
			ks = append(ks, cmpCond("Key", "==", keyquery.StringValue(k)))
		}
		cs = append(cs, or(ks...))
	}
	if f.licenseType != nil && f.licenseType.re == nil {
		var ts []cond
		for _, t := range f.licenseType.values {
			ts = append(ts, cmpCond(keys.FieldLicenseType, "==", keyquery.StringValue(t)))
			if t == "unknown" {
				ts = append(ts, cmpCond(keys.FieldLicenseType, "==", keyquery.NullValue()))
			}
		}
		cs = append(cs, or(ts...))
	}
	if f.added != nil {
		cs = append(cs, timeRange("Created", f.added))
	}
	tl := timeLimited(fd)
	if f.expiry != nil {
		cs = append(cs, tl, timeRange("Expires", f.expiry))
	}
	if f.autoCollected != nil {
		auto := cmpCond(keys.FieldAutoCollected, "==", keyquery.BoolValue(true))
		if !*f.autoCollected {
			auto = not(auto)
		}
		cs = append(cs, auto)
	}
	if f.status != nil {
		expired := and(tl, cmpCond("Expires", "<=", keyquery.TimeValue(now)))
		var objs []cond
		for _, s := range f.status {
			var o []cond
			if s.blocked != nil {
				o = append(o, cmpCond("Block", "==", keyquery.BoolValue(*s.blocked)))
			}
			if s.expired != nil {
				if *s.expired {
					o = append(o, expired)
				} else {
					o = append(o, not(expired))
				}
			}
			if s.activated != nil && *s.activated {
				// Activated keys are neither blocked nor expired.
				o = append(o, cmpCond("Block", "==", keyquery.BoolValue(false)), not(expired))
			}
			if s.allowed != nil && *s.allowed {
				o = append(o, cmpCond("AllowedMachines", "!=", keyquery.NullValue()))
			}
			objs = append(objs, and(o...))
		}
		cs = append(cs, or(objs...))
	}
	return and(cs...)
}

// listSort returns the Listing order of s.
func (s sorting) listSort(v viewer) *keys.Sort {
	var compare func(a, b keys.Record) int
	out := &keys.Sort{Desc: s.desc}
	nullsFirst := func(aOK, bOK bool, a, b int64) int {
		switch {
		case aOK && bOK:
			return cmp.Compare(a, b)
		case aOK:
			return 1
		case bOK:
			return -1
		}
		return 0
	}
	switch s.field {
	case "licenseKey":
		compare = func(a, b keys.Record) int { return strings.Compare(a.Key, b.Key) }
	case "licenseType":
		compare = func(a, b keys.Record) int { return strings.Compare(v.view(a).licenseType, v.view(b).licenseType) }
	case "expiryDate":
		compare = func(a, b keys.Record) int {
			x, y := v.view(a), v.view(b)
			return nullsFirst(x.timeLimited, y.timeLimited, a.Expires.Unix(), b.Expires.Unix())
		}
		if v.fd.AllLicensesTimeLimited {
			out.Index = "Expires"
		}
	case "installQuota":
		compare = func(a, b keys.Record) int { return cmp.Compare(v.view(a).quota, v.view(b).quota) }
	case "installCount":
		compare = func(a, b keys.Record) int { return cmp.Compare(v.view(a).count, v.view(b).count) }
		out.Activations = true
	case "overQuotaCount":
		compare = func(a, b keys.Record) int {
			x, y := v.view(a), v.view(b)
			return cmp.Compare(x.count-x.quota, y.count-y.quota)
		}
		out.Activations = true
	case "autoCollected":
		compare = func(a, b keys.Record) int {
			return cmp.Compare(boolInt(a.AutoCollected), boolInt(b.AutoCollected))
		}
	case "lastEditedDate":
		compare = func(a, b keys.Record) int {
			x, y := v.view(a), v.view(b)
			return nullsFirst(x.hasLastEdited, y.hasLastEdited, x.lastEdited.Unix(), y.lastEdited.Unix())
		}
	default:
		// addedDate: the order keys were added in, which is their ids'
		// (as product/GetKeys orders by Created).
		compare = func(a, b keys.Record) int { return cmp.Compare(a.ID, b.ID) }
		out.Index = "ID"
	}
	out.Compare = compare
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
