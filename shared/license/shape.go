package license

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// SameShape reports whether two JSON documents have the same keys in the
// same order and the same JSON types, recursively (array elements are
// compared with the first element of the other array). Values may differ;
// null matches only null.
func SameShape(a, b []byte) error {
	da := json.NewDecoder(bytes.NewReader(a))
	db := json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	va, err := readOrdered(da)
	if err != nil {
		return fmt.Errorf("first document: %w", err)
	}
	vb, err := readOrdered(db)
	if err != nil {
		return fmt.Errorf("second document: %w", err)
	}
	return compareShape("$", va, vb)
}

type orderedObject struct {
	keys []string
	vals []any
}

func readOrdered(d *json.Decoder) (any, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			o := orderedObject{}
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				val, err := readOrdered(d)
				if err != nil {
					return nil, err
				}
				o.keys = append(o.keys, k.(string))
				o.vals = append(o.vals, val)
			}
			_, err := d.Token()
			return o, err
		}
		var arr []any
		for d.More() {
			val, err := readOrdered(d)
			if err != nil {
				return nil, err
			}
			arr = append(arr, val)
		}
		_, err := d.Token()
		if arr == nil {
			arr = []any{}
		}
		return arr, err
	}
	return tok, nil
}

func kind(v any) string {
	switch v.(type) {
	case orderedObject:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func compareShape(path string, a, b any) error {
	if kind(a) != kind(b) {
		return fmt.Errorf("%s: %s vs %s", path, kind(a), kind(b))
	}
	switch x := a.(type) {
	case orderedObject:
		y := b.(orderedObject)
		if fmt.Sprint(x.keys) != fmt.Sprint(y.keys) {
			return fmt.Errorf("%s: keys %v vs %v", path, x.keys, y.keys)
		}
		for i := range x.keys {
			if err := compareShape(path+"."+x.keys[i], x.vals[i], y.vals[i]); err != nil {
				return err
			}
		}
	case []any:
		y := b.([]any)
		if len(x) > 0 && len(y) > 0 {
			for _, e := range x {
				if err := compareShape(path+"[]", e, y[0]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
