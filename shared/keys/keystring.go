package keys

import (
	"fmt"
	"io"
)

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
