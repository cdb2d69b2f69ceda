// Package msgpack converts Web API responses from JSON to MessagePack and
// reads MessagePack request bodies. It keeps object key order (the envelope
// puts result and message last) and uses the smallest encodings.
package msgpack

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// FromJSON converts one JSON value to MessagePack. Objects become maps with
// their keys in the original order, integers the smallest int encoding,
// other numbers float64. It returns an error for invalid JSON or trailing
// data.
func FromJSON(js []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var out []byte
	out, err := encodeValue(dec, out)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("msgpack: trailing data after JSON value")
	}
	return out, nil
}

func encodeValue(dec *json.Decoder, out []byte) ([]byte, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("msgpack: %w", err)
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			var body []byte
			n := 0
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("msgpack: %w", err)
				}
				ks, ok := k.(string)
				if !ok {
					return nil, errors.New("msgpack: object key is not a string")
				}
				body = appendString(body, ks)
				if body, err = encodeValue(dec, body); err != nil {
					return nil, err
				}
				n++
			}
			if _, err := dec.Token(); err != nil { // '}'
				return nil, fmt.Errorf("msgpack: %w", err)
			}
			return append(appendHeader(out, n, 0x80, 0xde, 0xdf, 15), body...), nil
		case '[':
			var body []byte
			n := 0
			for dec.More() {
				if body, err = encodeValue(dec, body); err != nil {
					return nil, err
				}
				n++
			}
			if _, err := dec.Token(); err != nil { // ']'
				return nil, fmt.Errorf("msgpack: %w", err)
			}
			return append(appendHeader(out, n, 0x90, 0xdc, 0xdd, 15), body...), nil
		}
		return nil, fmt.Errorf("msgpack: unexpected %v", v)
	case string:
		return appendString(out, v), nil
	case bool:
		if v {
			return append(out, 0xc3), nil
		}
		return append(out, 0xc2), nil
	case nil:
		return append(out, 0xc0), nil
	case json.Number:
		return appendNumber(out, string(v))
	}
	return nil, fmt.Errorf("msgpack: unexpected token %T", tok)
}

// appendHeader writes a map or array header: fix form for n <= fixMax,
// else 16- or 32-bit length.
func appendHeader(out []byte, n int, fix, h16, h32 byte, fixMax int) []byte {
	switch {
	case n <= fixMax:
		return append(out, fix|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(out, h16), uint16(n))
	default:
		return binary.BigEndian.AppendUint32(append(out, h32), uint32(n))
	}
}

func appendString(out []byte, s string) []byte {
	n := len(s)
	switch {
	case n <= 31:
		out = append(out, 0xa0|byte(n))
	case n <= math.MaxUint8:
		out = append(out, 0xd9, byte(n))
	case n <= math.MaxUint16:
		out = binary.BigEndian.AppendUint16(append(out, 0xda), uint16(n))
	default:
		out = binary.BigEndian.AppendUint32(append(out, 0xdb), uint32(n))
	}
	return append(out, s...)
}

func appendNumber(out []byte, s string) ([]byte, error) {
	if !strings.ContainsAny(s, ".eE") {
		if strings.HasPrefix(s, "-") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return appendInt(out, i), nil
			}
		} else if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return appendUint(out, u), nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("msgpack: number %q: %w", s, err)
	}
	return binary.BigEndian.AppendUint64(append(out, 0xcb), math.Float64bits(f)), nil
}

func appendUint(out []byte, u uint64) []byte {
	switch {
	case u <= 127:
		return append(out, byte(u))
	case u <= math.MaxUint8:
		return append(out, 0xcc, byte(u))
	case u <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(out, 0xcd), uint16(u))
	case u <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(out, 0xce), uint32(u))
	}
	return binary.BigEndian.AppendUint64(append(out, 0xcf), u)
}

func appendInt(out []byte, i int64) []byte {
	switch {
	case i >= 0:
		return appendUint(out, uint64(i))
	case i >= -32:
		return append(out, byte(int8(i)))
	case i >= math.MinInt8:
		return append(out, 0xd0, byte(int8(i)))
	case i >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(out, 0xd1), uint16(int16(i)))
	case i >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(out, 0xd2), uint32(int32(i)))
	}
	return binary.BigEndian.AppendUint64(append(out, 0xd3), uint64(i))
}

// DecodeFlatMap decodes a MessagePack map with string keys into strings:
// nil becomes "", booleans "true"/"false", numbers their decimal text,
// str/bin their bytes, and nested arrays or maps their compact JSON text.
// It returns an error (never panics) for malformed or truncated input,
// non-map top levels and non-string keys.
func DecodeFlatMap(b []byte) (map[string]string, error) {
	d := decoder{b: b}
	n, ok := d.mapLen()
	if !ok {
		return nil, errors.New("msgpack: body is not a map")
	}
	if n > len(b) {
		return nil, errors.New("msgpack: truncated map")
	}
	out := make(map[string]string, n)
	for i := 0; i < n; i++ {
		k, err := d.value(0)
		if err != nil {
			return nil, err
		}
		ks, ok := k.(string)
		if !ok {
			return nil, errors.New("msgpack: map key is not a string")
		}
		v, err := d.value(0)
		if err != nil {
			return nil, err
		}
		switch v := v.(type) {
		case nil:
			out[ks] = ""
		case string:
			out[ks] = v
		case bool:
			out[ks] = strconv.FormatBool(v)
		case int64:
			out[ks] = strconv.FormatInt(v, 10)
		case uint64:
			out[ks] = strconv.FormatUint(v, 10)
		case float64:
			out[ks] = strconv.FormatFloat(v, 'g', -1, 64)
		default:
			j, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("msgpack: %w", err)
			}
			out[ks] = string(j)
		}
	}
	if d.i != len(b) {
		return nil, errors.New("msgpack: trailing data after map")
	}
	return out, nil
}

type decoder struct {
	b []byte
	i int
}

var errTruncated = errors.New("msgpack: truncated input")

func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || d.i+n > len(d.b) {
		return nil, errTruncated
	}
	s := d.b[d.i : d.i+n]
	d.i += n
	return s, nil
}

func (d *decoder) uint(n int) (uint64, error) {
	s, err := d.take(n)
	if err != nil {
		return 0, err
	}
	var u uint64
	for _, c := range s {
		u = u<<8 | uint64(c)
	}
	return u, nil
}

// mapLen reads a map header.
func (d *decoder) mapLen() (int, bool) {
	if d.i >= len(d.b) {
		return 0, false
	}
	c := d.b[d.i]
	switch {
	case c&0xf0 == 0x80:
		d.i++
		return int(c & 0x0f), true
	case c == 0xde:
		d.i++
		n, err := d.uint(2)
		return int(n), err == nil
	case c == 0xdf:
		d.i++
		n, err := d.uint(4)
		return int(n), err == nil
	}
	return 0, false
}

const maxDepth = 32

// value decodes one value into nil, bool, int64, uint64, float64, string,
// []any or map[string]any.
func (d *decoder) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("msgpack: nesting too deep")
	}
	s, err := d.take(1)
	if err != nil {
		return nil, err
	}
	c := s[0]
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c >= 0xe0:
		return int64(int8(c)), nil
	case c&0xe0 == 0xa0:
		return d.str(int(c & 0x1f))
	case c&0xf0 == 0x90:
		return d.array(int(c&0x0f), depth)
	case c&0xf0 == 0x80:
		return d.object(int(c&0x0f), depth)
	}
	switch c {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xc4, 0xd9:
		n, err := d.uint(1)
		if err != nil {
			return nil, err
		}
		return d.str(int(n))
	case 0xc5, 0xda:
		n, err := d.uint(2)
		if err != nil {
			return nil, err
		}
		return d.str(int(n))
	case 0xc6, 0xdb:
		n, err := d.uint(4)
		if err != nil {
			return nil, err
		}
		return d.str(int(n))
	case 0xca:
		u, err := d.uint(4)
		return float64(math.Float32frombits(uint32(u))), err
	case 0xcb:
		u, err := d.uint(8)
		return math.Float64frombits(u), err
	case 0xcc, 0xcd, 0xce, 0xcf:
		return d.uint(1 << (c - 0xcc))
	case 0xd0:
		u, err := d.uint(1)
		return int64(int8(u)), err
	case 0xd1:
		u, err := d.uint(2)
		return int64(int16(u)), err
	case 0xd2:
		u, err := d.uint(4)
		return int64(int32(u)), err
	case 0xd3:
		u, err := d.uint(8)
		return int64(u), err
	case 0xdc, 0xdd:
		n, err := d.uint(2 << (c - 0xdc))
		if err != nil {
			return nil, err
		}
		return d.array(int(n), depth)
	case 0xde, 0xdf:
		n, err := d.uint(2 << (c - 0xde))
		if err != nil {
			return nil, err
		}
		return d.object(int(n), depth)
	}
	return nil, fmt.Errorf("msgpack: unsupported type byte 0x%02x", c)
}

func (d *decoder) str(n int) (string, error) {
	s, err := d.take(n)
	return string(s), err
}

func (d *decoder) array(n, depth int) ([]any, error) {
	if n > len(d.b)-d.i {
		return nil, errTruncated
	}
	out := make([]any, 0, n)
	for i := 0; i < n; i++ {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (d *decoder) object(n, depth int) (map[string]any, error) {
	if n > len(d.b)-d.i {
		return nil, errTruncated
	}
	out := make(map[string]any, n)
	for i := 0; i < n; i++ {
		k, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		ks, ok := k.(string)
		if !ok {
			return nil, errors.New("msgpack: map key is not a string")
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out[ks] = v
	}
	return out, nil
}
