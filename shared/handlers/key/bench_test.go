package key

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/signing"
	"github.com/keyturn/keyturn/shared/webapi"
)

// memKeys is an in-memory keys.Store for CPU benchmarks (no I/O; no
// conditions beyond what the benchmarks exercise).
type memKeys struct {
	mu sync.Mutex
	m  map[string]keys.Record
}

func clone(r keys.Record) keys.Record {
	n := make(map[string]keys.Machine, len(r.Nodes))
	for k, v := range r.Nodes {
		n[k] = v
	}
	r.Nodes, r.Seats = n, append([]keys.Seat(nil), r.Seats...)
	return r
}

func (s *memKeys) GetKey(_ context.Context, pid int64, k string, _ bool) (keys.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[strconv.FormatInt(pid, 10)+k]
	if !ok {
		return keys.Record{}, apierr.NotFound
	}
	return clone(r), nil
}

func (s *memKeys) GetNode(context.Context, int64, string, string) (keys.Machine, error) {
	return keys.Machine{}, apierr.NotFound
}

func (s *memKeys) CreateKeys(_ context.Context, recs []keys.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		s.m[strconv.FormatInt(r.ProductID, 10)+r.Key] = clone(r)
	}
	return nil
}

func (s *memKeys) AddNode(_ context.Context, pid int64, k string, a keys.NodeActivation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[strconv.FormatInt(pid, 10)+k].Nodes[a.Mid] = a.Machine
	return nil
}

func (s *memKeys) ClaimSeat(_ context.Context, pid int64, k string, c keys.SeatClaim) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strconv.FormatInt(pid, 10) + k
	r := s.m[key]
	r.Seats = append(r.Seats, c.Seat)
	s.m[key] = r
	return nil
}

func (s *memKeys) RemoveNode(context.Context, int64, string, string, keys.Machine, string, *keys.Machine) error {
	return nil
}
func (s *memKeys) ReleaseSeat(context.Context, int64, string, keys.Seat) error { return nil }
func (s *memKeys) NextKeyIDs(context.Context, int64, int64) (int64, error)     { return 1, nil }
func (s *memKeys) NextGlobalIDs(context.Context, int64) (int64, error)         { return 1, nil }
func (s *memKeys) ReleaseKeyIDs(context.Context, int64, []int64) error         { return nil }
func (s *memKeys) TrialKeyFor(context.Context, int64, string) (string, error) {
	return "", apierr.NotFound
}
func (s *memKeys) SetTrialKey(context.Context, int64, string, string, bool) error { return nil }
func (s *memKeys) DeleteKey(context.Context, int64, string) error                 { return nil }
func (s *memKeys) Update(context.Context, int64, int64, string, keys.Change) (keys.Record, error) {
	return keys.Record{}, apierr.NotFound
}

type oneProduct struct{ p catalog.Product }

func (o oneProduct) GetProduct(context.Context, int64, int64) (catalog.Product, error) {
	return o.p, nil
}

type oneSigner struct{ s signing.Signer }

func (o oneSigner) SignerFor(context.Context, int64) (signing.Signer, error) { return o.s, nil }

type allowAll struct{}

func (allowAll) Authenticate(context.Context, string) (auth.Principal, error) {
	return auth.Principal{AccountID: 1, Scope: auth.Scope{Methods: auth.Permissions()}}, nil
}

// benchServer is the key group on in-memory dependencies with one key
// (unlimited machines) already activated on "pc".
func benchServer(b *testing.B) *webapi.Server {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	st := &memKeys{m: map[string]keys.Record{}}
	notes := "notes"
	_ = st.CreateKeys(context.Background(), []keys.Record{{AccountID: 1, ProductID: 1, ID: 1, GlobalID: 1, Key: "AAAAA-AAAAA-AAAAA-AAAAA",
		Created: now(), Expires: now().Add(720 * time.Hour), Period: 30, Notes: &notes,
		Nodes: map[string]keys.Machine{"pc": {IP: "192.0.2.1", Time: now()}}}})
	d := Deps{Licenses: keys.NewService(st, now), Products: oneProduct{catalog.Product{ID: 1, AccountID: 1, Features: catalog.DefaultFeatureDefinitions()}},
		Signers: oneSigner{signing.NewRSASigner(priv)}, Now: now}
	return webapi.NewServer(webapi.Options{Auth: allowAll{}}, Group(d))
}

func benchCall(b *testing.B, s *webapi.Server, method string, v url.Values, vary func(int, url.Values)) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if vary != nil {
			vary(i, v)
		}
		req := httptest.NewRequest("POST", "/api/key/"+method, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if !strings.Contains(w.Body.String(), `"result":0`) {
			b.Fatalf("%s: %s", method, w.Body.String())
		}
	}
}

func params(kv ...string) url.Values {
	v := url.Values{"token": {"t"}, "ProductId": {"1"}, "Key": {"AAAAA-AAAAA-AAAAA-AAAAA"}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func BenchmarkActivateRepeatedSigned(b *testing.B) {
	benchCall(b, benchServer(b), "Activate", params("MachineCode", "pc", "Sign", "true", "SignMethod", "1"), nil)
}

func BenchmarkActivateNewMachineSigned(b *testing.B) {
	benchCall(b, benchServer(b), "Activate", params("Sign", "true", "SignMethod", "1"), func(i int, v url.Values) {
		v.Set("MachineCode", "m"+strconv.Itoa(i%1500))
	})
}

func BenchmarkActivateFloatingSigned(b *testing.B) {
	benchCall(b, benchServer(b), "Activate", params("MachineCode", "f", "FloatingTimeInterval", "300", "Sign", "true", "SignMethod", "1"), nil)
}

func BenchmarkGetKeySigned(b *testing.B) {
	benchCall(b, benchServer(b), "GetKey", params("Sign", "true", "SignMethod", "1"), nil)
}

func BenchmarkGetKeySignedWithMetadata(b *testing.B) {
	benchCall(b, benchServer(b), "GetKey", params("Sign", "true", "SignMethod", "1", "Metadata", "true"), nil)
}

func BenchmarkGetKeyUnsigned(b *testing.B) {
	benchCall(b, benchServer(b), "GetKey", params("SignMethod", "1"), nil)
}
