package signing

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// XML returns pub in the .NET RSAKeyValue format used by Cryptolens
// clients, exactly
//
//	<RSAKeyValue><Modulus>B64</Modulus><Exponent>B64</Exponent></RSAKeyValue>
//
// where B64 is the standard (padded) base64 of the unsigned big-endian
// integer. The usual exponent 65537 is "AQAB".
func XML(pub *rsa.PublicKey) string {
	e := big.NewInt(int64(pub.E))
	return "<RSAKeyValue><Modulus>" + base64.StdEncoding.EncodeToString(pub.N.Bytes()) +
		"</Modulus><Exponent>" + base64.StdEncoding.EncodeToString(e.Bytes()) +
		"</Exponent></RSAKeyValue>"
}

// ParseXML parses a .NET RSAKeyValue public key as produced by XML (and by
// .NET's RSA.ToXmlString(false)). Whitespace around the values is ignored,
// as are private-key elements. It returns an error when the document is
// not an RSAKeyValue, a value is missing or not base64, the modulus is
// zero, or the exponent is not an odd number in [3, 2^31-1].
func ParseXML(s string) (*rsa.PublicKey, error) {
	var doc struct {
		XMLName  xml.Name `xml:"RSAKeyValue"`
		Modulus  string   `xml:"Modulus"`
		Exponent string   `xml:"Exponent"`
	}
	if err := xml.Unmarshal([]byte(s), &doc); err != nil {
		return nil, fmt.Errorf("signing: parse RSAKeyValue: %w", err)
	}
	n, err := xmlInt("Modulus", doc.Modulus)
	if err != nil {
		return nil, err
	}
	e, err := xmlInt("Exponent", doc.Exponent)
	if err != nil {
		return nil, err
	}
	if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 || e.Bit(0) == 0 {
		return nil, fmt.Errorf("signing: parse RSAKeyValue: unsupported exponent %v", e)
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

func xmlInt(name, v string) (*big.Int, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, fmt.Errorf("signing: parse RSAKeyValue: missing %s", name)
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("signing: parse RSAKeyValue: %s: %w", name, err)
	}
	n := new(big.Int).SetBytes(b)
	if n.Sign() == 0 {
		return nil, fmt.Errorf("signing: parse RSAKeyValue: %s is zero", name)
	}
	return n, nil
}

// PEM returns pub as a PEM "PUBLIC KEY" block (PKIX DER), ending in a
// newline. It returns "" only if pub cannot be marshalled (a malformed key).
func PEM(pub *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// jwk fixes the member order of the JSON Web Key.
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// JWK returns pub as a JSON Web Key (RFC 7517):
// {"kty":"RSA","use":"sig","alg":"RS256","kid":...,"n":...,"e":...} with n
// and e in unpadded base64url. kid is the unpadded base64url of the first
// 16 bytes of the SHA-256 of the PKIX DER, so it is stable for a key. It
// returns an error only for a malformed key.
func JWK(pub *rsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("signing: marshal public key: %w", err)
	}
	sum := sha256.Sum256(der)
	b64 := base64.RawURLEncoding
	return json.Marshal(jwk{
		Kty: "RSA",
		Use: "sig",
		Alg: "RS256",
		Kid: b64.EncodeToString(sum[:16]),
		N:   b64.EncodeToString(pub.N.Bytes()),
		E:   b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	})
}

// ParsePublicKeyDER parses a PKIX (SubjectPublicKeyInfo) DER public key and
// returns an error unless it is an RSA key.
func ParsePublicKeyDER(der []byte) (*rsa.PublicKey, error) {
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("signing: parse public key: %w", err)
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("signing: public key is %T, want RSA", k)
	}
	return pub, nil
}

// Verify checks an RSASSA-PKCS1-v1_5 signature of msg (hashed here with h,
// which must be crypto.SHA256 or crypto.SHA512). It returns nil for a valid
// signature, an error wrapping ErrUnsupportedHash for other hashes, and
// rsa.ErrVerification when the signature does not match.
func Verify(pub *rsa.PublicKey, h crypto.Hash, msg, sig []byte) error {
	if h != crypto.SHA256 && h != crypto.SHA512 {
		return fmt.Errorf("%w: %v", ErrUnsupportedHash, h)
	}
	if pub == nil {
		return errors.New("signing: verify: nil public key")
	}
	hh := h.New()
	hh.Write(msg)
	return rsa.VerifyPKCS1v15(pub, h, hh.Sum(nil), sig)
}
