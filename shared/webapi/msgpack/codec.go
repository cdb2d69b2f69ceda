// Package msgpack converts Web API responses from JSON to MessagePack and
// reads MessagePack request bodies. It keeps object key order (the envelope
// puts result and message last) and uses the smallest encodings. The
// MessagePack primitives come from github.com/tinylib/msgp; this package
// walks JSON and MessagePack values with them.
package msgpack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tinylib/msgp/msgp"
)

// FromJSON converts one JSON value to MessagePack. Objects become maps with
// their keys in the original order, integers the smallest int encoding,
// other numbers float64. It returns an error for invalid JSON or trailing
// data.
func FromJSON(js []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	out, err := encodeValue(dec, nil)
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
			n := uint32(0)
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("msgpack: %w", err)
				}
				ks, ok := k.(string)
				if !ok {
					return nil, errors.New("msgpack: object key is not a string")
				}
				body = msgp.AppendString(body, ks)
				if body, err = encodeValue(dec, body); err != nil {
					return nil, err
				}
				n++
			}
			if _, err := dec.Token(); err != nil { // '}'
				return nil, fmt.Errorf("msgpack: %w", err)
			}
			return append(msgp.AppendMapHeader(out, n), body...), nil
		case '[':
			var body []byte
			n := uint32(0)
			for dec.More() {
				if body, err = encodeValue(dec, body); err != nil {
					return nil, err
				}
				n++
			}
			if _, err := dec.Token(); err != nil { // ']'
				return nil, fmt.Errorf("msgpack: %w", err)
			}
			return append(msgp.AppendArrayHeader(out, n), body...), nil
		}
		return nil, fmt.Errorf("msgpack: unexpected %v", v)
	case string:
		return msgp.AppendString(out, v), nil
	case bool:
		return msgp.AppendBool(out, v), nil
	case nil:
		return msgp.AppendNil(out), nil
	case json.Number:
		return appendNumber(out, string(v))
	}
	return nil, fmt.Errorf("msgpack: unexpected token %T", tok)
}

// appendNumber writes an integer that fits 64 bits in the smallest form
// (unsigned forms for non-negative values, signed ones for negative
// values) and any other number as float64.
func appendNumber(out []byte, s string) ([]byte, error) {
	if !strings.ContainsAny(s, ".eE") {
		if strings.HasPrefix(s, "-") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				if i >= 0 { // -0
					return msgp.AppendUint64(out, uint64(i)), nil
				}
				return msgp.AppendInt64(out, i), nil
			}
		} else if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return msgp.AppendUint64(out, u), nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("msgpack: number %q: %w", s, err)
	}
	return msgp.AppendFloat64(out, f), nil
}

// DecodeFlatMap decodes a MessagePack map with string keys into strings:
// nil becomes "", booleans "true"/"false", numbers their decimal text,
// str/bin their bytes, and nested arrays or maps their compact JSON text.
// It returns an error (never panics) for malformed or truncated input,
// non-map top levels, non-string keys, extension types and nesting deeper
// than maxDepth.
func DecodeFlatMap(b []byte) (map[string]string, error) {
	n, b, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return nil, errors.New("msgpack: body is not a map")
	}
	if int64(n) > int64(len(b)) {
		return nil, errTruncated
	}
	out := make(map[string]string, n)
	for range n {
		var k string
		var v any
		if k, b, err = readKey(b); err != nil {
			return nil, err
		}
		if v, b, err = readValue(b, 0); err != nil {
			return nil, err
		}
		switch v := v.(type) {
		case nil:
			out[k] = ""
		case string:
			out[k] = v
		case bool:
			out[k] = strconv.FormatBool(v)
		case int64:
			out[k] = strconv.FormatInt(v, 10)
		case uint64:
			out[k] = strconv.FormatUint(v, 10)
		case float64:
			out[k] = strconv.FormatFloat(v, 'g', -1, 64)
		default:
			j, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("msgpack: %w", err)
			}
			out[k] = string(j)
		}
	}
	if len(b) != 0 {
		return nil, errors.New("msgpack: trailing data after map")
	}
	return out, nil
}

var errTruncated = errors.New("msgpack: truncated input")

const maxDepth = 32

// readKey reads a map key: a str or bin.
func readKey(b []byte) (string, []byte, error) {
	switch msgp.NextType(b) {
	case msgp.StrType, msgp.BinType:
		k, b, err := msgp.ReadMapKeyZC(b)
		return string(k), b, decodeErr(err)
	case msgp.InvalidType:
		if len(b) == 0 {
			return "", nil, errTruncated
		}
	}
	return "", nil, errors.New("msgpack: map key is not a string")
}

// readValue decodes one value into nil, bool, int64, uint64, float64, string,
// []any or map[string]any, and returns the bytes after it.
func readValue(b []byte, depth int) (v any, rest []byte, err error) {
	if depth > maxDepth {
		return nil, nil, errors.New("msgpack: nesting too deep")
	}
	switch t := msgp.NextType(b); t {
	case msgp.NilType:
		rest, err = msgp.ReadNilBytes(b)
	case msgp.BoolType:
		v, rest, err = msgp.ReadBoolBytes(b)
	case msgp.IntType:
		v, rest, err = msgp.ReadInt64Bytes(b)
	case msgp.UintType:
		v, rest, err = msgp.ReadUint64Bytes(b)
	case msgp.Float32Type:
		var f float32
		f, rest, err = msgp.ReadFloat32Bytes(b)
		v = float64(f)
	case msgp.Float64Type:
		v, rest, err = msgp.ReadFloat64Bytes(b)
	case msgp.StrType:
		var s []byte
		s, rest, err = msgp.ReadStringZC(b)
		v = string(s)
	case msgp.BinType:
		var s []byte
		s, rest, err = msgp.ReadBytesZC(b)
		v = string(s)
	case msgp.ArrayType:
		return readArray(b, depth)
	case msgp.MapType:
		return readObject(b, depth)
	default:
		if len(b) == 0 {
			return nil, nil, errTruncated
		}
		return nil, nil, fmt.Errorf("msgpack: unsupported type byte 0x%02x", b[0])
	}
	if err != nil {
		return nil, nil, decodeErr(err)
	}
	return v, rest, nil
}

func readArray(b []byte, depth int) ([]any, []byte, error) {
	n, b, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return nil, nil, decodeErr(err)
	}
	if int64(n) > int64(len(b)) {
		return nil, nil, errTruncated
	}
	out := make([]any, 0, n)
	for range n {
		var v any
		if v, b, err = readValue(b, depth+1); err != nil {
			return nil, nil, err
		}
		out = append(out, v)
	}
	return out, b, nil
}

func readObject(b []byte, depth int) (map[string]any, []byte, error) {
	n, b, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return nil, nil, decodeErr(err)
	}
	if int64(n) > int64(len(b)) {
		return nil, nil, errTruncated
	}
	out := make(map[string]any, n)
	for range n {
		var k string
		var v any
		if k, b, err = readKey(b); err != nil {
			return nil, nil, err
		}
		if v, b, err = readValue(b, depth+1); err != nil {
			return nil, nil, err
		}
		out[k] = v
	}
	return out, b, nil
}

// decodeErr names a short read as truncation and prefixes other errors.
func decodeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, msgp.ErrShortBytes):
		return errTruncated
	}
	return fmt.Errorf("msgpack: %w", err)
}
