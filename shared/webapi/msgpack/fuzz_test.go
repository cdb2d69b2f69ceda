package msgpack

import (
	"encoding/json"
	"maps"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeFlatMap decodes arbitrary bytes as a request body. It never
// panics; what it accepts is a map whose string values survive a round
// trip: encoded again (as a JSON object through FromJSON) and decoded,
// they come back unchanged.
func FuzzDecodeFlatMap(f *testing.F) {
	f.Add([]byte("\x82\xa5token\xa4good\xa1n\xcd\x01\x00"))
	f.Add([]byte("\x80"))
	f.Add([]byte("\x81\xa1a\x92\x01\x81\xa1b\xc0"))
	f.Add([]byte("\x81\xa1a\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("\xdf\xff\xff\xff\xff"))
	f.Add([]byte("\x81\xa1a\xdd\xff\xff\xff\xff"))
	f.Add([]byte("\x81\xa1a\xdb\xff\xff\xff\xff"))
	f.Add([]byte("\x81\x01\x02"))
	f.Add([]byte{0x81, 0xa1, 'a', 0x91, 0x81, 0xa1, 'b', 0xc0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeFlatMap(b)
		if err != nil {
			if m != nil {
				t.Fatalf("DecodeFlatMap(%x) returned a map with error %v", b, err)
			}
			return
		}
		for k, v := range m {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return // JSON carries text only
			}
		}
		js, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("json.Marshal(%v): %v", m, err)
		}
		again, err := FromJSON(js)
		if err != nil {
			t.Fatalf("FromJSON(%s): %v", js, err)
		}
		back, err := DecodeFlatMap(again)
		if err != nil || !maps.Equal(back, m) {
			t.Fatalf("round trip of %v = %v, %v", m, back, err)
		}
	})
}

// FuzzFromJSON converts arbitrary JSON to MessagePack. It never panics; a
// JSON object of scalars converts to a map that decodes to the same
// values as text (strings as they are, numbers and booleans as written).
func FuzzFromJSON(f *testing.F) {
	f.Add([]byte(`{"result":0,"message":""}`))
	f.Add([]byte(`{"a":"x","b":-9223372036854775808,"c":18446744073709551615,"d":true,"e":null}`))
	f.Add([]byte(`{"f":1.5,"g":1e400,"h":[1,{"i":"j"}]}`))
	f.Add([]byte(`[1,2,3]`))
	f.Add([]byte(`{"a":1} trailing`))
	f.Add([]byte(`"\ud800"`))
	f.Add([]byte(`{"a":[1,2,{"b":null}],"c":-1.5e3}`))
	f.Fuzz(func(t *testing.T, js []byte) {
		mp, err := FromJSON(js)
		if err != nil {
			return
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(js, &obj) != nil {
			return // not an object: nothing more to compare
		}
		m, err := DecodeFlatMap(mp)
		if err != nil {
			t.Fatalf("FromJSON(%s) = %x does not decode: %v", js, mp, err)
		}
		for k, raw := range obj {
			var s string
			if json.Unmarshal(raw, &s) == nil && m[k] != s {
				t.Fatalf("FromJSON(%s): %q = %q, want %q", js, k, m[k], s)
			}
		}
	})
}
