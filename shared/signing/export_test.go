package signing_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/keyturn/keyturn/shared/signing"
)

// testKey is one RSA-2048 key shared by the tests that need a real key.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func TestXMLGolden(t *testing.T) {
	tests := []struct {
		name string
		pub  *rsa.PublicKey
		want string
	}{
		// 3233 = 0x0CA1 -> base64("\x0c\xa1") = "DKE="; 17 = 0x11 -> "EQ==".
		{"textbook key", &rsa.PublicKey{N: big.NewInt(3233), E: 17},
			"<RSAKeyValue><Modulus>DKE=</Modulus><Exponent>EQ==</Exponent></RSAKeyValue>"},
		// 0xFFFFFF01 (high bit set: no sign byte) -> "////AQ=="; 65537 -> "AQAB".
		{"unsigned modulus", &rsa.PublicKey{N: big.NewInt(0xFFFFFF01), E: 65537},
			"<RSAKeyValue><Modulus>////AQ==</Modulus><Exponent>AQAB</Exponent></RSAKeyValue>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := signing.XML(tt.pub); got != tt.want {
				t.Errorf("XML = %s, want %s", got, tt.want)
			}
			back, err := signing.ParseXML(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if back.N.Cmp(tt.pub.N) != 0 || back.E != tt.pub.E {
				t.Errorf("ParseXML = %v/%d, want %v/%d", back.N, back.E, tt.pub.N, tt.pub.E)
			}
		})
	}
}

func TestJWKGolden(t *testing.T) {
	pub := &rsa.PublicKey{N: big.NewInt(3233), E: 17}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	want := `{"kty":"RSA","use":"sig","alg":"RS256","kid":"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `","n":"DKE","e":"EQ"}`
	got, err := signing.JWK(pub)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("JWK = %s, want %s", got, want)
	}
}

func TestExportRoundTrip(t *testing.T) {
	pub := &testKey().PublicKey
	t.Run("XML", func(t *testing.T) {
		s := signing.XML(pub)
		if !strings.HasSuffix(s, "<Exponent>AQAB</Exponent></RSAKeyValue>") {
			t.Errorf("XML = %s, want exponent AQAB", s)
		}
		back, err := signing.ParseXML(s)
		if err != nil {
			t.Fatal(err)
		}
		if !back.Equal(pub) {
			t.Error("ParseXML(XML(pub)) differs from pub")
		}
	})
	t.Run("PEM", func(t *testing.T) {
		s := signing.PEM(pub)
		block, rest := pem.Decode([]byte(s))
		if block == nil || block.Type != "PUBLIC KEY" || len(rest) != 0 {
			t.Fatalf("PEM = %q, want one PUBLIC KEY block", s)
		}
		back, err := signing.ParsePublicKeyDER(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if !back.Equal(pub) {
			t.Error("PEM parses to another key")
		}
	})
	t.Run("JWK", func(t *testing.T) {
		b, err := signing.JWK(pub)
		if err != nil {
			t.Fatal(err)
		}
		var k map[string]string
		if err := json.Unmarshal(b, &k); err != nil {
			t.Fatal(err)
		}
		for field, want := range map[string]string{"kty": "RSA", "alg": "RS256", "use": "sig", "e": "AQAB"} {
			if k[field] != want {
				t.Errorf("%s = %q, want %q", field, k[field], want)
			}
		}
		n, err := base64.RawURLEncoding.DecodeString(k["n"])
		if err != nil {
			t.Fatal(err)
		}
		e, err := base64.RawURLEncoding.DecodeString(k["e"])
		if err != nil {
			t.Fatal(err)
		}
		back := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if !back.Equal(pub) {
			t.Error("JWK n/e decode to another key")
		}
		if got := len(k["kid"]); got != 22 {
			t.Errorf("kid %q has %d characters, want 22 (16 bytes)", k["kid"], got)
		}
		b2, _ := signing.JWK(pub)
		if string(b2) != string(b) {
			t.Error("JWK is not deterministic")
		}
	})
}

func TestParseXMLErrors(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"empty", ""},
		{"not xml", "AQAB"},
		{"wrong root", "<RSAKey><Modulus>DKE=</Modulus><Exponent>AQAB</Exponent></RSAKey>"},
		{"no modulus", "<RSAKeyValue><Exponent>AQAB</Exponent></RSAKeyValue>"},
		{"no exponent", "<RSAKeyValue><Modulus>DKE=</Modulus></RSAKeyValue>"},
		{"modulus not base64", "<RSAKeyValue><Modulus>D$KE</Modulus><Exponent>AQAB</Exponent></RSAKeyValue>"},
		{"zero modulus", "<RSAKeyValue><Modulus>AA==</Modulus><Exponent>AQAB</Exponent></RSAKeyValue>"},
		{"even exponent", "<RSAKeyValue><Modulus>DKE=</Modulus><Exponent>Ag==</Exponent></RSAKeyValue>"},
		{"exponent 1", "<RSAKeyValue><Modulus>DKE=</Modulus><Exponent>AQ==</Exponent></RSAKeyValue>"},
		{"huge exponent", "<RSAKeyValue><Modulus>DKE=</Modulus><Exponent>AQAAAAAB</Exponent></RSAKeyValue>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := signing.ParseXML(tt.in); err == nil {
				t.Errorf("ParseXML(%q) = %v, want an error", tt.in, got)
			}
		})
	}
	// Whitespace around values (as in pretty-printed files) is accepted.
	if _, err := signing.ParseXML("<RSAKeyValue>\n  <Modulus> DKE= </Modulus>\n  <Exponent>\nAQAB\n</Exponent>\n</RSAKeyValue>"); err != nil {
		t.Errorf("indented XML: %v", err)
	}
}

func TestSignerAndVerify(t *testing.T) {
	ctx := t.Context()
	s := signing.NewRSASigner(testKey())
	msg := []byte(`{"ProductId":1}`)
	sig256, err := signing.SignSHA256(ctx, s, msg)
	if err != nil {
		t.Fatal(err)
	}
	sig512, err := signing.SignSHA512(ctx, s, msg)
	if err != nil {
		t.Fatal(err)
	}
	tampered := append([]byte(nil), sig256...)
	tampered[0] ^= 1
	tests := []struct {
		name    string
		h       crypto.Hash
		msg     []byte
		sig     []byte
		wantErr error
	}{
		{"SHA-256", crypto.SHA256, msg, sig256, nil},
		{"SHA-512", crypto.SHA512, msg, sig512, nil},
		{"SHA-256 signature checked as SHA-512", crypto.SHA512, msg, sig256, rsa.ErrVerification},
		{"other message", crypto.SHA256, []byte("x"), sig256, rsa.ErrVerification},
		{"tampered signature", crypto.SHA256, msg, tampered, rsa.ErrVerification},
		{"unsupported hash", crypto.SHA1, msg, sig256, signing.ErrUnsupportedHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := signing.Verify(s.Public(), tt.h, tt.msg, tt.sig)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Verify = %v, want %v", err, tt.wantErr)
			}
		})
	}
	digest := sha256.Sum256(msg)
	if _, err := s.Sign(ctx, crypto.SHA1, digest[:20]); !errors.Is(err, signing.ErrUnsupportedHash) {
		t.Errorf("Sign(SHA-1) = %v, want ErrUnsupportedHash", err)
	}
	if _, err := s.Sign(ctx, crypto.SHA512, digest[:]); err == nil {
		t.Error("Sign(SHA-512, 32-byte digest) succeeded, want a length error")
	}
}
