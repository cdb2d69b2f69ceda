package keys

import (
	"bytes"
	"crypto/rand"
	"regexp"
	"testing"
)

func TestGenerateKey(t *testing.T) {
	re := regexp.MustCompile(`^[A-Z]{5}-[A-Z]{5}-[A-Z]{5}-[A-Z]{5}$`)
	seen := map[string]bool{}
	counts := map[byte]int{}
	for i := 0; i < 10000; i++ {
		k, err := GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(k) {
			t.Fatalf("key %q does not match %s", k, re)
		}
		if seen[k] {
			t.Fatalf("duplicate key %q", k)
		}
		seen[k] = true
		for j := 0; j < len(k); j++ {
			counts[k[j]]++
		}
	}
	// 200000 letters over 26: each letter ~7692; a biased generator would
	// be far off.
	for c := byte('A'); c <= 'Z'; c++ {
		if n := counts[c]; n < 7000 || n > 8400 {
			t.Errorf("letter %c appears %d times, want about 7692", c, n)
		}
	}
	if _, err := GenerateKey(bytes.NewReader(nil)); err == nil {
		t.Error("GenerateKey with an empty reader: want error")
	}
}
