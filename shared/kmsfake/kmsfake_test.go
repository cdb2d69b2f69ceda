package kmsfake_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/keyturn/keyturn/shared/kmsfake"
)

// rsaKey is generated once for the whole package.
var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestEncryptDecrypt(t *testing.T) {
	ctx := context.Background()
	s := kmsfake.New(t)
	c := s.Client()
	id := s.CreateSymmetricKey()
	s.CreateAlias("keyturn", id)
	tests := []struct {
		name  string
		keyID string
		ec    map[string]string
	}{
		{"bare id", id, nil},
		{"arn", kmsfake.KeyARN(id), nil},
		{"alias", "alias/keyturn", nil},
		{"alias arn", "arn:aws:kms:us-east-1:111122223333:alias/keyturn", nil},
		{"encryption context", id, map[string]string{"b": "2", "a": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt := []byte("secret " + tt.name)
			enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(tt.keyID), Plaintext: pt, EncryptionContext: tt.ec})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := aws.ToString(enc.KeyId), kmsfake.KeyARN(id); got != want {
				t.Errorf("Encrypt KeyId = %q, want %q", got, want)
			}
			if bytes.Contains(enc.CiphertextBlob, pt) {
				t.Error("ciphertext contains the plaintext")
			}
			dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: tt.ec})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(dec.Plaintext, pt) {
				t.Errorf("Decrypt = %q, want %q", dec.Plaintext, pt)
			}
		})
	}
}

func TestGenerateDataKey(t *testing.T) {
	ctx := context.Background()
	s := kmsfake.New(t)
	c := s.Client()
	id := s.CreateSymmetricKey()
	ec := map[string]string{"keyturn:account": "7"}
	out, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(id), KeySpec: types.DataKeySpecAes256, EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(out.Plaintext), 32; got != want {
		t.Fatalf("data key has %d bytes, want %d", got, want)
	}
	dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dec.Plaintext, out.Plaintext) {
		t.Error("Decrypt(CiphertextBlob) differs from the data key")
	}
	n, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(id), NumberOfBytes: aws.Int32(7)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(n.Plaintext), 7; got != want {
		t.Errorf("NumberOfBytes 7: got %d bytes, want %d", got, want)
	}
}

func TestSign(t *testing.T) {
	ctx := context.Background()
	s := kmsfake.New(t)
	c := s.Client()
	id := s.AddRSASigningKey(rsaKey())
	pk, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if pk.KeySpec != types.KeySpecRsa2048 || pk.KeyUsage != types.KeyUsageTypeSignVerify {
		t.Errorf("GetPublicKey spec/usage = %s/%s, want RSA_2048/SIGN_VERIFY", pk.KeySpec, pk.KeyUsage)
	}
	parsed, err := x509.ParsePKIXPublicKey(pk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub := parsed.(*rsa.PublicKey)
	if !pub.Equal(&rsaKey().PublicKey) {
		t.Fatal("GetPublicKey returned another key")
	}
	msg := []byte(`{"ProductId":3}`)
	d256 := sha256.Sum256(msg)
	d512 := sha512.Sum512(msg)
	tests := []struct {
		alg     types.SigningAlgorithmSpec
		msgType types.MessageType
		message []byte
		hash    crypto.Hash
		digest  []byte
		pss     bool
	}{
		{types.SigningAlgorithmSpecRsassaPkcs1V15Sha256, types.MessageTypeRaw, msg, crypto.SHA256, d256[:], false},
		{types.SigningAlgorithmSpecRsassaPkcs1V15Sha256, types.MessageTypeDigest, d256[:], crypto.SHA256, d256[:], false},
		{types.SigningAlgorithmSpecRsassaPkcs1V15Sha512, types.MessageTypeRaw, msg, crypto.SHA512, d512[:], false},
		{types.SigningAlgorithmSpecRsassaPkcs1V15Sha512, types.MessageTypeDigest, d512[:], crypto.SHA512, d512[:], false},
		{types.SigningAlgorithmSpecRsassaPssSha256, types.MessageTypeDigest, d256[:], crypto.SHA256, d256[:], true},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg)+"/"+string(tt.msgType), func(t *testing.T) {
			out, err := c.Sign(ctx, &kms.SignInput{KeyId: aws.String(id), Message: tt.message, MessageType: tt.msgType, SigningAlgorithm: tt.alg})
			if err != nil {
				t.Fatal(err)
			}
			if tt.pss {
				err = rsa.VerifyPSS(pub, tt.hash, tt.digest, out.Signature, nil)
			} else {
				err = rsa.VerifyPKCS1v15(pub, tt.hash, tt.digest, out.Signature)
			}
			if err != nil {
				t.Errorf("signature does not verify: %v", err)
			}
		})
	}
}

func TestCreateKey(t *testing.T) {
	ctx := context.Background()
	s := kmsfake.New(t)
	c := s.Client()
	out, err := c.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	md := out.KeyMetadata
	if md.KeySpec != types.KeySpecSymmetricDefault || md.KeyUsage != types.KeyUsageTypeEncryptDecrypt || !md.Enabled {
		t.Errorf("default CreateKey metadata = %+v", md)
	}
	if got, want := aws.ToString(md.Arn), kmsfake.KeyARN(aws.ToString(md.KeyId)); got != want {
		t.Errorf("Arn = %q, want %q", got, want)
	}
	if _, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")}); err != nil {
		t.Errorf("Encrypt with the created key: %v", err)
	}
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
	if got, want := errorCode(err), "ValidationException"; got != want {
		t.Errorf("unsupported spec: error code %q (%v), want %q", got, err, want)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	s := kmsfake.New(t)
	c := s.Client()
	sym := s.CreateSymmetricKey()
	other := s.CreateSymmetricKey()
	asym := s.AddRSASigningKey(rsaKey())
	const missing = "00000000-0000-0000-0000-000000000000"
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(sym), Plaintext: []byte("p"), EncryptionContext: map[string]string{"a": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(enc.CiphertextBlob)
	tampered[len(tampered)-1] ^= 1
	digest := make([]byte, 32)
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"Sign unknown key", func() error {
			_, err := c.Sign(ctx, &kms.SignInput{KeyId: aws.String(missing), Message: digest, MessageType: types.MessageTypeDigest, SigningAlgorithm: types.SigningAlgorithmSpecRsassaPkcs1V15Sha256})
			return err
		}, "NotFoundException"},
		{"GetPublicKey unknown key", func() error {
			_, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(missing)})
			return err
		}, "NotFoundException"},
		{"GenerateDataKey unknown alias", func() error {
			_, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String("alias/nope"), KeySpec: types.DataKeySpecAes256})
			return err
		}, "NotFoundException"},
		{"Decrypt wrong context", func() error {
			_, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"a": "2"}})
			return err
		}, "InvalidCiphertextException"},
		{"Decrypt tampered", func() error {
			_, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: tampered, EncryptionContext: map[string]string{"a": "1"}})
			return err
		}, "InvalidCiphertextException"},
		{"Decrypt garbage", func() error {
			_, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: []byte("garbage")})
			return err
		}, "InvalidCiphertextException"},
		{"Decrypt with another KeyId", func() error {
			_, err := c.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(other), CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"a": "1"}})
			return err
		}, "IncorrectKeyException"},
		{"Sign with symmetric key", func() error {
			_, err := c.Sign(ctx, &kms.SignInput{KeyId: aws.String(sym), Message: digest, MessageType: types.MessageTypeDigest, SigningAlgorithm: types.SigningAlgorithmSpecRsassaPkcs1V15Sha256})
			return err
		}, "InvalidKeyUsageException"},
		{"Encrypt with signing key", func() error {
			_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(asym), Plaintext: []byte("p")})
			return err
		}, "InvalidKeyUsageException"},
		{"GetPublicKey of symmetric key", func() error {
			_, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(sym)})
			return err
		}, "UnsupportedOperationException"},
		{"Sign digest of wrong length", func() error {
			_, err := c.Sign(ctx, &kms.SignInput{KeyId: aws.String(asym), Message: digest, MessageType: types.MessageTypeDigest, SigningAlgorithm: types.SigningAlgorithmSpecRsassaPkcs1V15Sha512})
			return err
		}, "ValidationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if got := errorCode(err); got != tt.want {
				t.Errorf("error code %q (%v), want %q", got, err, tt.want)
			}
		})
	}
	// The SDK maps the error to its modeled type.
	_, err = c.Sign(ctx, &kms.SignInput{KeyId: aws.String(missing), Message: digest, MessageType: types.MessageTypeDigest, SigningAlgorithm: types.SigningAlgorithmSpecRsassaPkcs1V15Sha256})
	var nf *types.NotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("unknown key: %T %v, want *types.NotFoundException", err, err)
	}
}

func TestProtocol(t *testing.T) {
	s := kmsfake.New(t)
	tests := []struct {
		name    string
		method  string
		target  string
		auth    string
		ctype   string
		status  int
		errType string
	}{
		{"unknown target", "POST", "TrentService.ScheduleKeyDeletion", "AWS4-HMAC-SHA256 x", "application/x-amz-json-1.1", 400, "UnknownOperationException"},
		{"other service", "POST", "DynamoDB_20120810.GetItem", "AWS4-HMAC-SHA256 x", "application/x-amz-json-1.1", 400, "UnknownOperationException"},
		{"no target", "POST", "", "AWS4-HMAC-SHA256 x", "application/x-amz-json-1.1", 400, "UnknownOperationException"},
		{"GET", "GET", "TrentService.Sign", "AWS4-HMAC-SHA256 x", "application/x-amz-json-1.1", 400, "UnknownOperationException"},
		{"unsigned", "POST", "TrentService.Sign", "", "application/x-amz-json-1.1", 400, "MissingAuthenticationTokenException"},
		{"wrong content type", "POST", "TrentService.Sign", "AWS4-HMAC-SHA256 x", "application/json", 400, "SerializationException"},
		{"bad json", "POST", "TrentService.Sign", "AWS4-HMAC-SHA256 x", "application/x-amz-json-1.1", 400, "SerializationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, s.URL+"/", strings.NewReader("{not json"))
			if tt.target != "" {
				req.Header.Set("X-Amz-Target", tt.target)
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			req.Header.Set("Content-Type", tt.ctype)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.status || body.Type != tt.errType || body.Message == "" {
				t.Errorf("got %d %q %q, want %d %q with a message", res.StatusCode, body.Type, body.Message, tt.status, tt.errType)
			}
		})
	}
}

func TestCallsAndFail(t *testing.T) {
	ctx := context.Background()
	s := kmsfake.New(t)
	c := s.Client()
	id := s.CreateSymmetricKey()
	for range 3 {
		if _, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(id), KeySpec: types.DataKeySpecAes256}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := s.Calls(kmsfake.OpGenerateDataKey), 3; got != want {
		t.Errorf("GenerateDataKey calls = %d, want %d", got, want)
	}
	if got := s.Calls(kmsfake.OpDecrypt); got != 0 {
		t.Errorf("Decrypt calls = %d, want 0", got)
	}
	s.Fail(kmsfake.OpEncrypt, "DisabledException")
	_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte("p")})
	var de *types.DisabledException
	if !errors.As(err, &de) {
		t.Errorf("injected failure: %v, want *types.DisabledException", err)
	}
	s.Fail(kmsfake.OpEncrypt, "")
	if _, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte("p")}); err != nil {
		t.Errorf("after clearing the failure: %v", err)
	}
	if got, want := s.Calls(kmsfake.OpEncrypt), 2; got != want {
		t.Errorf("Encrypt calls = %d, want %d", got, want)
	}
	s.ResetCalls()
	if got := s.Calls(kmsfake.OpGenerateDataKey); got != 0 {
		t.Errorf("after ResetCalls: %d, want 0", got)
	}
}
