package keys

import (
	"fmt"
	"io"
)

// MaxKeyLength is the longest key string a request may name (in bytes).
// Generated keys have 23 characters; a longer value cannot name a key, so
// it is answered as an unknown key before any storage call (the key string
// is part of the key item's partition key, which DynamoDB limits to 2048
// bytes).
const MaxKeyLength = 256

// CanNameKey reports whether k may name a stored key: at most
// MaxKeyLength bytes.
func CanNameKey(k string) bool { return len(k) <= MaxKeyLength }

// GenerateKey returns an SKM15-style key string, XXXXX-XXXXX-XXXXX-XXXXX,
// of uniformly random upper-case letters read from r (rejection sampling,
// so there is no modulo bias). 20 letters give 94 bits of entropy.
func GenerateKey(r io.Reader) (string, error) {
	out := make([]byte, 0, 23)
	buf := make([]byte, 32)
	for len(out) < 23 {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("key string: %w", err)
		}
		for _, b := range buf {
			if b >= 26*9 { // 234..255 would bias the letters
				continue
			}
			if len(out) == 5 || len(out) == 11 || len(out) == 17 {
				out = append(out, '-')
			}
			out = append(out, 'A'+b%26)
			if len(out) == 23 {
				break
			}
		}
	}
	return string(out), nil
}
