package msgpack

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

func TestFromJSON(t *testing.T) {
	tests := []struct {
		in   string
		want string // hex
	}{
		{`{"result":0,"message":""}`, "82" + "a6726573756c74" + "00" + "a76d657373616765" + "a0"},
		{`[]`, "90"},
		{`{}`, "80"},
		{`null`, "c0"},
		{`true`, "c3"},
		{`false`, "c2"},
		{`127`, "7f"},
		{`128`, "cc80"},
		{`255`, "ccff"},
		{`256`, "cd0100"},
		{`65535`, "cdffff"},
		{`65536`, "ce00010000"},
		{`4294967296`, "cf0000000100000000"},
		{`18446744073709551615`, "cfffffffffffffffff"},
		{`-1`, "ff"},
		{`-32`, "e0"},
		{`-33`, "d0df"},
		{`-128`, "d080"},
		{`-129`, "d1ff7f"},
		{`-2147483648`, "d280000000"},
		{`-9223372036854775808`, "d38000000000000000"},
		{`1.5`, "cb3ff8000000000000"},
		{`1e2`, "cb4059000000000000"},
		{`{"b":1,"a":[1,"x"]}`, "82a16201a1619201a178"},
	}
	for _, tt := range tests {
		got, err := FromJSON([]byte(tt.in))
		if err != nil || hex.EncodeToString(got) != tt.want {
			t.Errorf("FromJSON(%s) = %x, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, n := range []int{31, 32, 255, 256, 65535, 65536} {
		s := strings.Repeat("x", n)
		got, err := FromJSON([]byte(`"` + s + `"`))
		if err != nil {
			t.Fatal(err)
		}
		var hdr []byte
		switch {
		case n <= 31:
			hdr = []byte{0xa0 | byte(n)}
		case n <= 255:
			hdr = []byte{0xd9, byte(n)}
		case n <= 65535:
			hdr = []byte{0xda, byte(n >> 8), byte(n)}
		default:
			hdr = []byte{0xdb, 0, byte(n >> 16), byte(n >> 8), byte(n)}
		}
		if !bytes.Equal(got[:len(hdr)], hdr) || len(got) != len(hdr)+n {
			t.Errorf("string of %d bytes: header %x, length %d", n, got[:len(hdr)], len(got))
		}
	}
	for _, bad := range []string{``, `{`, `{"a":}`, `[1,]`, `1 2`, `{"a":1}x`} {
		if _, err := FromJSON([]byte(bad)); err == nil {
			t.Errorf("FromJSON(%q): want error", bad)
		}
	}
}

func TestDecodeFlatMap(t *testing.T) {
	// {"token":"abc","n":-5,"big":300,"f":true,"z":nil,"l":[1,"a"],"d":1.5}
	in, err := FromJSON([]byte(`{"token":"abc","n":-5,"big":300,"f":true,"z":null,"l":[1,"a"],"d":1.5,"m":{"k":2}}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeFlatMap(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"token": "abc", "n": "-5", "big": "300", "f": "true", "z": "", "l": `[1,"a"]`, "d": "1.5", "m": `{"k":2}`}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("key %s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d keys, want %d", len(got), len(want))
	}
	bad := [][]byte{
		nil,
		{0x90},                   // array, not map
		{0x81, 0x01, 0x02},       // int key
		{0x81, 0xa3, 'a'},        // truncated key
		{0x81, 0xa1, 'a'},        // missing value
		{0xdf, 0xff, 0xff, 0xff}, // truncated length
		{0x81, 0xa1, 'a', 0xc1},  // reserved type
		{0x80, 0x00},             // trailing data
		{0x81, 0xa1, 'a', 0xdd, 0xff, 0xff, 0xff, 0xff}, // huge array
	}
	for _, b := range bad {
		if _, err := DecodeFlatMap(b); err == nil {
			t.Errorf("DecodeFlatMap(%x): want error", b)
		}
	}
}
