package auth

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestDecodeBounds: tokens, ids and secrets beyond the bounds are refused
// (they never reach the token store); the largest accepted ones decode.
func TestDecodeBounds(t *testing.T) {
	id, secret := strings.Repeat("i", MaxTokenID), strings.Repeat("s", MaxTokenSecret)
	if gotID, gotSecret, err := Decode(Encode(id, secret)); err != nil || gotID != id || gotSecret != secret {
		t.Errorf("Decode of the largest token = %q, %q, %v", gotID, gotSecret, err)
	}
	for name, raw := range map[string]string{
		"id too long":     Encode(id+"i", "s"),
		"secret too long": Encode("i", secret+"s"),
		"raw too long":    strings.Repeat("A", MaxTokenLength+1),
		"100 kB id":       Encode(strings.Repeat("Z", 100_000), "s"),
	} {
		if _, _, err := Decode(raw); err == nil {
			t.Errorf("%s: Decode accepted it", name)
		}
	}
}

// FuzzDecode parses arbitrary token text. It never panics; an accepted
// token has a non-empty id and secret within the bounds, and encoding them
// again gives a token that decodes to the same pair.
func FuzzDecode(f *testing.F) {
	f.Add(Encode("abcdefghijkl", "c2VjcmV0K3NlY3JldC9zZWNyZXQ="))
	f.Add(strings.ReplaceAll(Encode("id", "a+b"), "+", " "))
	f.Add(strings.TrimRight(Encode("id", "secret"), "="))
	f.Add(base64.StdEncoding.EncodeToString([]byte(`["id","secret","extra"]`)))
	f.Add(base64.StdEncoding.EncodeToString([]byte(`["","secret"]`)))
	f.Add(base64.StdEncoding.EncodeToString([]byte(`{"id":"secret"}`)))
	f.Add(base64.StdEncoding.EncodeToString([]byte(`["\ud800","\xff"]`)))
	f.Add("not base64 at all!")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		id, secret, err := Decode(raw)
		if err != nil {
			if id != "" || secret != "" {
				t.Fatalf("Decode(%q) returned %q, %q with error %v", raw, id, secret, err)
			}
			return
		}
		if len(raw) > MaxTokenLength || id == "" || secret == "" || len(id) > MaxTokenID || len(secret) > MaxTokenSecret {
			t.Fatalf("Decode(%q) accepted id %q secret %q", raw, id, secret)
		}
		id2, secret2, err := Decode(Encode(id, secret))
		if err != nil || id2 != id || secret2 != secret {
			t.Fatalf("Decode(Encode(%q, %q)) = %q, %q, %v", id, secret, id2, secret2, err)
		}
	})
}

// FuzzEncodeDecode: every token the service can issue (non-empty UTF-8 id
// and secret within the bounds) decodes to its id and secret, also when a
// form body turned its '+' into ' '.
func FuzzEncodeDecode(f *testing.F) {
	f.Add("abcdefghijkl", "c2VjcmV0K3NlY3JldC9zZWNyZXQ=")
	f.Add("i", "\"quoted\" \\ and </script>")
	f.Add("é", "\u2028")
	f.Fuzz(func(t *testing.T, id, secret string) {
		if id == "" || secret == "" || !utf8.ValidString(id) || !utf8.ValidString(secret) ||
			len(id) > MaxTokenID || len(secret) > MaxTokenSecret {
			return
		}
		raw := Encode(id, secret)
		if len(raw) > MaxTokenLength {
			t.Fatalf("Encode(%q, %q) is %d characters, beyond MaxTokenLength", id, secret, len(raw))
		}
		for _, form := range []string{raw, strings.ReplaceAll(raw, "+", " ")} {
			gotID, gotSecret, err := Decode(form)
			if err != nil || gotID != id || gotSecret != secret {
				t.Fatalf("Decode(%q) = %q, %q, %v; want %q, %q", form, gotID, gotSecret, err, id, secret)
			}
		}
	})
}
