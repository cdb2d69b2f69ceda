// Package kmsfake is an in-process AWS KMS for tests. It is an httptest
// server speaking the real KMS wire protocol (JSON 1.1: POST /,
// X-Amz-Target: TrentService.<Operation>, base64 blobs, errors as
// {"__type": ..., "message": ...}) with real cryptography, so the real
// aws-sdk-go-v2 KMS client can be pointed at it through its BaseEndpoint.
//
// Supported operations: CreateKey, CreateAlias, Encrypt, Decrypt,
// GenerateDataKey, GetPublicKey and Sign. Symmetric keys
// (SYMMETRIC_DEFAULT / ENCRYPT_DECRYPT) encrypt with AES-256-GCM, the
// encryption context being the additional authenticated data; the
// CiphertextBlob embeds the key id, so Decrypt needs no KeyId. Asymmetric
// keys are RSA_2048 / SIGN_VERIFY and sign RAW or DIGEST messages with
// RSASSA_PKCS1_V1_5_SHA_256/384/512 or RSASSA_PSS_SHA_256/384/512.
// Key ids may be given as the bare id, the key ARN, an alias name or an
// alias ARN. The server counts calls per operation.
package kmsfake

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// Region and Account are those of every key ARN the server makes.
const (
	Region  = "us-east-1"
	Account = "111122223333"
)

// Operation names, as in X-Amz-Target (TrentService.<name>) and Calls.
const (
	OpCreateKey       = "CreateKey"
	OpCreateAlias     = "CreateAlias"
	OpEncrypt         = "Encrypt"
	OpDecrypt         = "Decrypt"
	OpGenerateDataKey = "GenerateDataKey"
	OpGetPublicKey    = "GetPublicKey"
	OpSign            = "Sign"
)

const (
	targetPrefix = "TrentService."
	contentType  = "application/x-amz-json-1.1"
	blobMagic    = "KFK1" // CiphertextBlob: magic | len(id) | id | nonce | sealed
	maxBody      = 1 << 20
)

// Server is a fake KMS. Create it with New; it is safe for concurrent use.
type Server struct {
	// URL is the endpoint to give the client as BaseEndpoint.
	URL string

	srv *httptest.Server

	mu       sync.Mutex
	keys     map[string]*key   // by bare key id
	aliases  map[string]string // "alias/x" -> key id
	calls    map[string]int
	failures map[string]kmsError
}

type key struct {
	id      string
	spec    string // SYMMETRIC_DEFAULT or RSA_2048
	usage   string // ENCRYPT_DECRYPT or SIGN_VERIFY
	aes     []byte
	rsa     *rsa.PrivateKey
	created time.Time
}

func (k *key) arn() string { return keyARN(k.id) }

func keyARN(id string) string { return "arn:aws:kms:" + Region + ":" + Account + ":key/" + id }

// kmsError is a KMS error as the server sends it: HTTP Status with body
// {"__type": Type, "message": Message}.
type kmsError struct {
	Status  int
	Type    string
	Message string
}

func errf(typ, format string, args ...any) *kmsError {
	return &kmsError{Status: http.StatusBadRequest, Type: typ, Message: fmt.Sprintf(format, args...)}
}

// New starts a fake KMS. When t is not nil the server is closed when the
// test ends; otherwise call Close.
func New(t testing.TB) *Server {
	s := &Server{
		keys:     map[string]*key{},
		aliases:  map[string]string{},
		calls:    map[string]int{},
		failures: map[string]kmsError{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL
	if t != nil {
		t.Cleanup(s.Close)
	}
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Client returns a real KMS client for the server (see NewClient).
func (s *Server) Client() *kms.Client { return NewClient(context.Background(), s.URL) }

// NewClient returns a real aws-sdk-go-v2 KMS client for the endpoint url,
// with static dummy credentials and region us-east-1. It reads no shared
// AWS configuration or environment, so tests are hermetic; ctx is unused
// and accepted for symmetry with config loading.
func NewClient(ctx context.Context, url string) *kms.Client {
	_ = ctx
	return kms.New(kms.Options{
		Region:       Region,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDKMSFAKE", "kmsfake-secret", ""),
	})
}

// CreateSymmetricKey adds a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key and
// returns its id.
func (s *Server) CreateSymmetricKey() string {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err)
	}
	return s.add(&key{spec: "SYMMETRIC_DEFAULT", usage: "ENCRYPT_DECRYPT", aes: k})
}

// CreateRSASigningKey adds a new RSA_2048 SIGN_VERIFY key and returns its
// id. Generating the key takes about 100ms; AddRSASigningKey reuses one.
func (s *Server) CreateRSASigningKey() string {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return s.AddRSASigningKey(priv)
}

// AddRSASigningKey adds priv as an RSA SIGN_VERIFY key (reported as
// RSA_2048 whatever its size) and returns its id.
func (s *Server) AddRSASigningKey(priv *rsa.PrivateKey) string {
	return s.add(&key{spec: "RSA_2048", usage: "SIGN_VERIFY", rsa: priv})
}

// CreateAlias points alias (with or without the "alias/" prefix) at keyID.
func (s *Server) CreateAlias(alias, keyID string) {
	if !strings.HasPrefix(alias, "alias/") {
		alias = "alias/" + alias
	}
	s.mu.Lock()
	s.aliases[alias] = keyID
	s.mu.Unlock()
}

func (s *Server) add(k *key) string {
	k.id = newID()
	k.created = time.Now()
	s.mu.Lock()
	s.keys[k.id] = k
	s.mu.Unlock()
	return k.id
}

// KeyARN returns the ARN of the key id, as the server reports it.
func KeyARN(keyID string) string { return keyARN(keyID) }

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Calls returns how many requests for op (e.g. OpDecrypt) the server has
// received, including failed ones.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// ResetCalls sets every call counter to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	clear(s.calls)
	s.mu.Unlock()
}

// Fail makes every following call of op fail with the error type errType
// (e.g. "KMSInternalException", status 500, or "DisabledException", status
// 400), until Fail(op, "") clears it.
func (s *Server) Fail(op, errType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if errType == "" {
		delete(s.failures, op)
		return
	}
	status := http.StatusBadRequest
	if errType == "KMSInternalException" || errType == "DependencyTimeoutException" {
		status = http.StatusInternalServerError
	}
	s.failures[op] = kmsError{Status: status, Type: errType, Message: "injected failure"}
}

type handler func(s *Server, body []byte) (any, *kmsError)

var handlers = map[string]handler{
	OpCreateKey:       (*Server).createKey,
	OpCreateAlias:     (*Server).createAlias,
	OpEncrypt:         (*Server).encrypt,
	OpDecrypt:         (*Server).decrypt,
	OpGenerateDataKey: (*Server).generateDataKey,
	OpGetPublicKey:    (*Server).getPublicKey,
	OpSign:            (*Server).sign,
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, targetPrefix)
	h := handlers[op]
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		writeError(w, errf("UnknownOperationException", "%s %s is not a KMS request", r.Method, r.URL.Path))
		return
	case !ok || h == nil:
		writeError(w, errf("UnknownOperationException", "unknown operation %q", target))
		return
	case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 "):
		writeError(w, errf("MissingAuthenticationTokenException", "request is not signed with SigV4"))
		return
	case !strings.HasPrefix(r.Header.Get("Content-Type"), contentType):
		writeError(w, errf("SerializationException", "content type %q, want %s", r.Header.Get("Content-Type"), contentType))
		return
	}
	s.mu.Lock()
	s.calls[op]++
	fail, failing := s.failures[op]
	s.mu.Unlock()
	if failing {
		writeError(w, &fail)
		return
	}
	var body bytes.Buffer
	if _, err := body.ReadFrom(http.MaxBytesReader(w, r.Body, maxBody)); err != nil {
		writeError(w, errf("SerializationException", "read body: %v", err))
		return
	}
	out, kerr := h(s, body.Bytes())
	if kerr != nil {
		writeError(w, kerr)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		writeError(w, &kmsError{Status: 500, Type: "KMSInternalException", Message: err.Error()})
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-RequestId", newID())
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, e *kmsError) {
	b, _ := json.Marshal(map[string]string{"__type": e.Type, "message": e.Message})
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-ErrorType", e.Type)
	w.Header().Set("X-Amzn-RequestId", newID())
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}

func decode(body []byte, v any) *kmsError {
	if err := json.Unmarshal(body, v); err != nil {
		return errf("SerializationException", "%v", err)
	}
	return nil
}

// lookup resolves a key id, key ARN, alias name or alias ARN.
func (s *Server) lookup(id string) (*key, *kmsError) {
	if id == "" {
		return nil, errf("ValidationException", "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ref := id
	if a, ok := strings.CutPrefix(ref, "arn:aws:kms:"+Region+":"+Account+":"); ok {
		ref = a
	}
	if kid, ok := strings.CutPrefix(ref, "key/"); ok {
		ref = kid
	}
	if strings.HasPrefix(ref, "alias/") {
		kid, ok := s.aliases[ref]
		if !ok {
			return nil, errf("NotFoundException", "Alias arn:aws:kms:%s:%s:%s is not found.", Region, Account, ref)
		}
		ref = kid
	}
	k, ok := s.keys[ref]
	if !ok {
		return nil, errf("NotFoundException", "Key '%s' does not exist", keyARN(ref))
	}
	return k, nil
}

func (s *Server) symmetric(id string) (*key, *kmsError) {
	k, err := s.lookup(id)
	if err != nil {
		return nil, err
	}
	if k.usage != "ENCRYPT_DECRYPT" {
		return nil, errf("InvalidKeyUsageException", "%s key usage is %s which is not valid for this operation.", k.arn(), k.usage)
	}
	return k, nil
}

type keyMetadata struct {
	AWSAccountID          string   `json:"AWSAccountId"`
	Arn                   string   `json:"Arn"`
	CreationDate          float64  `json:"CreationDate"`
	CustomerMasterKeySpec string   `json:"CustomerMasterKeySpec"`
	Enabled               bool     `json:"Enabled"`
	EncryptionAlgorithms  []string `json:"EncryptionAlgorithms,omitempty"`
	KeyID                 string   `json:"KeyId"`
	KeyManager            string   `json:"KeyManager"`
	KeySpec               string   `json:"KeySpec"`
	KeyState              string   `json:"KeyState"`
	KeyUsage              string   `json:"KeyUsage"`
	Origin                string   `json:"Origin"`
	SigningAlgorithms     []string `json:"SigningAlgorithms,omitempty"`
}

var rsaSigningAlgorithms = []string{
	"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
	"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
}

func (s *Server) createKey(body []byte) (any, *kmsError) {
	var in struct {
		KeySpec               string
		CustomerMasterKeySpec string
		KeyUsage              string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	spec := in.KeySpec
	if spec == "" {
		spec = in.CustomerMasterKeySpec
	}
	if spec == "" {
		spec = "SYMMETRIC_DEFAULT"
	}
	usage := in.KeyUsage
	if usage == "" {
		usage = "ENCRYPT_DECRYPT"
	}
	var id string
	switch {
	case spec == "SYMMETRIC_DEFAULT" && usage == "ENCRYPT_DECRYPT":
		id = s.CreateSymmetricKey()
	case spec == "RSA_2048" && usage == "SIGN_VERIFY":
		id = s.CreateRSASigningKey()
	default:
		return nil, errf("ValidationException", "kmsfake supports SYMMETRIC_DEFAULT/ENCRYPT_DECRYPT and RSA_2048/SIGN_VERIFY keys, not %s/%s", spec, usage)
	}
	k, _ := s.lookup(id)
	md := keyMetadata{
		AWSAccountID: Account, Arn: k.arn(), CreationDate: float64(k.created.Unix()),
		CustomerMasterKeySpec: spec, Enabled: true, KeyID: id, KeyManager: "CUSTOMER",
		KeySpec: spec, KeyState: "Enabled", KeyUsage: usage, Origin: "AWS_KMS",
	}
	if k.rsa != nil {
		md.SigningAlgorithms = rsaSigningAlgorithms
	} else {
		md.EncryptionAlgorithms = []string{"SYMMETRIC_DEFAULT"}
	}
	return map[string]any{"KeyMetadata": md}, nil
}

func (s *Server) createAlias(body []byte) (any, *kmsError) {
	var in struct{ AliasName, TargetKeyId string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(in.AliasName, "alias/") || in.AliasName == "alias/" {
		return nil, errf("ValidationException", "alias name must begin with alias/")
	}
	k, err := s.lookup(in.TargetKeyId)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.aliases[in.AliasName]; ok {
		return nil, errf("AlreadyExistsException", "An alias with the name arn:aws:kms:%s:%s:%s already exists", Region, Account, in.AliasName)
	}
	s.aliases[in.AliasName] = k.id
	return struct{}{}, nil
}

// contextAAD canonicalises an encryption context (encoding/json sorts map
// keys).
func contextAAD(ec map[string]string) []byte {
	if len(ec) == 0 {
		return nil
	}
	b, _ := json.Marshal(ec)
	return b
}

func gcm(k []byte) cipher.AEAD {
	block, err := aes.NewCipher(k)
	if err != nil {
		panic(err)
	}
	a, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return a
}

func seal(k *key, plaintext []byte, ec map[string]string) []byte {
	a := gcm(k.aes)
	out := append([]byte(blobMagic), byte(len(k.id)))
	out = append(out, k.id...)
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	out = append(out, nonce...)
	return a.Seal(out, nonce, plaintext, contextAAD(ec))
}

func (s *Server) encrypt(body []byte) (any, *kmsError) {
	var in struct {
		KeyId               string
		Plaintext           []byte
		EncryptionContext   map[string]string
		EncryptionAlgorithm string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Plaintext) < 1 || len(in.Plaintext) > 4096 {
		return nil, errf("ValidationException", "Plaintext must be 1 to 4096 bytes, not %d", len(in.Plaintext))
	}
	if in.EncryptionAlgorithm != "" && in.EncryptionAlgorithm != "SYMMETRIC_DEFAULT" {
		return nil, errf("InvalidKeyUsageException", "encryption algorithm %s is not valid for a symmetric key", in.EncryptionAlgorithm)
	}
	k, err := s.symmetric(in.KeyId)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"CiphertextBlob":      seal(k, in.Plaintext, in.EncryptionContext),
		"KeyId":               k.arn(),
		"EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
	}, nil
}

func (s *Server) decrypt(body []byte) (any, *kmsError) {
	var in struct {
		KeyId             string
		CiphertextBlob    []byte
		EncryptionContext map[string]string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	invalid := errf("InvalidCiphertextException", "")
	b := in.CiphertextBlob
	if len(b) < len(blobMagic)+1 || string(b[:len(blobMagic)]) != blobMagic {
		return nil, invalid
	}
	b = b[len(blobMagic):]
	n := int(b[0])
	if len(b) < 1+n+12+16 {
		return nil, invalid
	}
	id := string(b[1 : 1+n])
	b = b[1+n:]
	k, err := s.symmetric(id)
	if err != nil {
		return nil, err
	}
	if in.KeyId != "" {
		want, err := s.lookup(in.KeyId)
		if err != nil {
			return nil, err
		}
		if want.id != k.id {
			return nil, errf("IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.")
		}
	}
	a := gcm(k.aes)
	pt, gerr := a.Open(nil, b[:a.NonceSize()], b[a.NonceSize():], contextAAD(in.EncryptionContext))
	if gerr != nil {
		return nil, invalid
	}
	return map[string]any{"Plaintext": pt, "KeyId": k.arn(), "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

func (s *Server) generateDataKey(body []byte) (any, *kmsError) {
	var in struct {
		KeyId             string
		KeySpec           string
		NumberOfBytes     *int
		EncryptionContext map[string]string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var n int
	switch {
	case in.KeySpec != "" && in.NumberOfBytes != nil:
		return nil, errf("ValidationException", "specify either KeySpec or NumberOfBytes, not both")
	case in.KeySpec == "AES_256":
		n = 32
	case in.KeySpec == "AES_128":
		n = 16
	case in.KeySpec != "":
		return nil, errf("ValidationException", "KeySpec %q is not AES_256 or AES_128", in.KeySpec)
	case in.NumberOfBytes != nil && *in.NumberOfBytes >= 1 && *in.NumberOfBytes <= 1024:
		n = *in.NumberOfBytes
	default:
		return nil, errf("ValidationException", "specify KeySpec or NumberOfBytes (1 to 1024)")
	}
	k, err := s.symmetric(in.KeyId)
	if err != nil {
		return nil, err
	}
	dk := make([]byte, n)
	if _, err := rand.Read(dk); err != nil {
		panic(err)
	}
	return map[string]any{
		"Plaintext":      dk,
		"CiphertextBlob": seal(k, dk, in.EncryptionContext),
		"KeyId":          k.arn(),
	}, nil
}

// signingKey resolves an RSA signing key; errType is the error for a key of
// another usage (it differs per operation in KMS).
func (s *Server) signingKey(id, errType string) (*key, *kmsError) {
	k, err := s.lookup(id)
	if err != nil {
		return nil, err
	}
	if k.usage != "SIGN_VERIFY" {
		return nil, errf(errType, "%s key usage is %s which is not valid for this operation.", k.arn(), k.usage)
	}
	return k, nil
}

func (s *Server) getPublicKey(body []byte) (any, *kmsError) {
	var in struct{ KeyId string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	k, err := s.signingKey(in.KeyId, "UnsupportedOperationException")
	if err != nil {
		return nil, err
	}
	der, merr := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if merr != nil {
		return nil, &kmsError{Status: 500, Type: "KMSInternalException", Message: merr.Error()}
	}
	return map[string]any{
		"KeyId":                 k.arn(),
		"PublicKey":             der,
		"KeySpec":               k.spec,
		"CustomerMasterKeySpec": k.spec,
		"KeyUsage":              k.usage,
		"SigningAlgorithms":     rsaSigningAlgorithms,
	}, nil
}

var algorithms = map[string]struct {
	hash crypto.Hash
	pss  bool
}{
	"RSASSA_PKCS1_V1_5_SHA_256": {crypto.SHA256, false},
	"RSASSA_PKCS1_V1_5_SHA_384": {crypto.SHA384, false},
	"RSASSA_PKCS1_V1_5_SHA_512": {crypto.SHA512, false},
	"RSASSA_PSS_SHA_256":        {crypto.SHA256, true},
	"RSASSA_PSS_SHA_384":        {crypto.SHA384, true},
	"RSASSA_PSS_SHA_512":        {crypto.SHA512, true},
}

func (s *Server) sign(body []byte) (any, *kmsError) {
	var in struct {
		KeyId            string
		Message          []byte
		MessageType      string
		SigningAlgorithm string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	alg, ok := algorithms[in.SigningAlgorithm]
	if !ok {
		return nil, errf("ValidationException", "SigningAlgorithm %q is not supported", in.SigningAlgorithm)
	}
	if len(in.Message) < 1 || len(in.Message) > 4096 {
		return nil, errf("ValidationException", "Message must be 1 to 4096 bytes, not %d", len(in.Message))
	}
	k, kerr := s.signingKey(in.KeyId, "InvalidKeyUsageException")
	if kerr != nil {
		return nil, kerr
	}
	var digest []byte
	switch in.MessageType {
	case "", "RAW":
		h := alg.hash.New()
		h.Write(in.Message)
		digest = h.Sum(nil)
	case "DIGEST":
		if len(in.Message) != alg.hash.Size() {
			return nil, errf("ValidationException", "Digest is invalid length for algorithm %s.", in.SigningAlgorithm)
		}
		digest = in.Message
	default:
		return nil, errf("ValidationException", "MessageType %q is not RAW or DIGEST", in.MessageType)
	}
	var sig []byte
	var err error
	if alg.pss {
		sig, err = rsa.SignPSS(rand.Reader, k.rsa, alg.hash, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	} else {
		sig, err = rsa.SignPKCS1v15(nil, k.rsa, alg.hash, digest)
	}
	if err != nil {
		return nil, &kmsError{Status: 500, Type: "KMSInternalException", Message: err.Error()}
	}
	return map[string]any{"KeyId": k.arn(), "Signature": sig, "SigningAlgorithm": in.SigningAlgorithm}, nil
}
