package webapi

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/keyturn/keyturn/shared/apierr"
)

// Params holds a request's parameters with case-insensitive names. Values
// from the query string, a form body, a JSON body or a MessagePack body are
// merged; a body value wins over a query value of the same name.
type Params struct {
	m map[string]string
}

func (p *Params) set(name, value string) {
	if p.m == nil {
		p.m = map[string]string{}
	}
	p.m[strings.ToLower(name)] = value
}

func (p *Params) addURLValues(v url.Values) {
	for k, vs := range v {
		if len(vs) > 0 {
			p.set(k, vs[len(vs)-1])
		}
	}
}

// addJSONObject merges a JSON object body. Scalars are rendered as their
// text; nested arrays/objects keep their JSON text (parameters such as
// States=[3010,2010] are JSON strings on the wire anyway).
func (p *Params) addJSONObject(body []byte) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return err
	}
	for k, raw := range obj {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			p.set(k, s)
			continue
		}
		p.set(k, strings.TrimSpace(string(raw)))
	}
	return nil
}

// absent reports whether a raw value means "not given": the empty string
// (.NET), None (Python) or null (Node).
func absent(v string) bool {
	switch strings.TrimSpace(v) {
	case "", "None", "null", "NULL", "Null", "undefined":
		return true
	}
	return false
}

// Raw returns the raw value of name and whether it was sent at all (even
// as an "absent" literal).
func (p Params) Raw(name string) (string, bool) {
	v, ok := p.m[strings.ToLower(name)]
	return v, ok
}

// String returns the value of name, or "" and false when it is missing or
// one of the literals that mean "not given" (None, null, empty).
func (p Params) String(name string) (string, bool) {
	v, ok := p.m[strings.ToLower(name)]
	if !ok || absent(v) {
		return "", false
	}
	return v, true
}

// Int returns the value of name, a parameter the reference documents as a
// long (int64). Missing or "not given" values yield def. A present value
// that is not a base-10 integer in the int64 range yields apierr.BadInput.
func (p Params) Int(name string, def int64) (int64, error) {
	return p.integer(name, def, 64)
}

// Int32 returns the value of name, a parameter the reference documents as
// an int (int32: ids, counts, limits, days). Missing or "not given" values
// yield def. A present value that is not a base-10 integer in the int32
// range yields apierr.BadInput, so nothing beyond what int32 clients can
// read is ever stored or signed. def must fit in an int32 too; the result
// then always does.
func (p Params) Int32(name string, def int64) (int64, error) {
	return p.integer(name, def, 32)
}

func (p Params) integer(name string, def int64, bits int) (int64, error) {
	v, ok := p.String(name)
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, bits)
	if err != nil {
		return 0, apierr.BadInput.Wrap(fmt.Errorf("parameter %s: %q is not an int%d", name, Clip(v), bits))
	}
	return n, nil
}

// MaxLoggedValue is how many bytes of a client value an error text or log
// line may carry (see Clip).
const MaxLoggedValue = 64

// Clip returns at most MaxLoggedValue bytes of a client value (cut at a
// rune boundary, with "..." and the full length appended when cut), for
// error texts and logs: a log line never carries a whole client value.
func Clip(v string) string { return ClipTo(v, MaxLoggedValue) }

// ClipTo is Clip with a limit of n bytes (for texts that may embed client
// values, such as error texts).
func ClipTo(v string, n int) string {
	if len(v) <= n {
		return v
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut] + "...(" + strconv.Itoa(len(v)) + " bytes)"
}

// Bool returns the boolean value of name. true/false in any case and 1/0
// are accepted; missing or "not given" values yield def; anything else is
// apierr.BadInput.
func (p Params) Bool(name string, def bool) (bool, error) {
	v, ok := p.String(name)
	if !ok {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, apierr.BadInput.Wrap(fmt.Errorf("parameter %s: %q is not a boolean", name, Clip(v)))
}

// Enum returns the integer value of an enum parameter that may arrive as a
// number or as one of the names in names (matched case-insensitively, e.g.
// SignMethod=StringSign). Missing values yield def.
func (p Params) Enum(name string, names map[string]int64, def int64) (int64, error) {
	v, ok := p.String(name)
	if !ok {
		return def, nil
	}
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, nil
	}
	for k, n := range names {
		if strings.EqualFold(k, v) {
			return n, nil
		}
	}
	return 0, apierr.BadInput.Wrap(fmt.Errorf("parameter %s: %q is not a known value", name, Clip(v)))
}

// ModelVersion returns the ModelVersion parameter (1 when absent). Values
// outside 1..max are apierr.BadInput.
func (p Params) ModelVersion(max int64) (int64, error) {
	v, err := p.Int32("ModelVersion", 1)
	if err != nil {
		return 0, err
	}
	if v < 1 || v > max {
		return 0, apierr.BadInput.Wrap(fmt.Errorf("ModelVersion %d not in 1..%d", v, max))
	}
	return v, nil
}
