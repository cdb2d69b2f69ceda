package users_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/dynamo/stores"
	"github.com/keyturn/keyturn/shared/users"
)

// dynamoRig is a Service on DynamoDB Local that counts DynamoDB calls and
// derivations against real hashes (not the dummy one).
type dynamoRig struct {
	svc  *users.Service
	db   *ddbtest.Counter
	real atomic.Int64
	all  atomic.Int64
}

func newDynamoRig(t *testing.T) *dynamoRig {
	t.Helper()
	raw, table := ddbtest.NewTable(t)
	r := &dynamoRig{db: ddbtest.NewCounter(raw)}
	st := stores.New(r.db, table)
	r.svc = users.NewService(st.Users, st.UserCustomers(), time.Now, rand.Reader).WithParams(users.TestParams).
		WithHashGate(users.NewHashGate(64, time.Minute)).WithLoginWait(time.Minute)
	dummySalt := make([]byte, users.TestParams.SaltLen)
	r.svc.WrapKDF(func(next func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte) func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		return func(password, salt []byte, tm, memory uint32, threads uint8, keyLen uint32) []byte {
			r.all.Add(1)
			if !bytes.Equal(salt, dummySalt) {
				r.real.Add(1)
			}
			return next(password, salt, tm, memory, threads, keyLen)
		}
	})
	for _, u := range []string{"alice", "bob", "carol"} {
		if _, err := r.svc.Register(context.Background(), 1, users.Registration{Username: u, Password: "pw-" + u}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func (r *dynamoRig) parallel(n int, username, password string) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r.svc.Login(context.Background(), 1, username, password)
		}()
	}
	wg.Wait()
	return errs
}

// TestParallelLoginsDynamoDB: on DynamoDB Local, 50 parallel correct
// logins of one user all succeed (the attempt limiter makes them wait for
// each other instead of refusing them), and 20 parallel wrong guesses
// verify at most MaxAttempts passwords against the user's hash.
func TestParallelLoginsDynamoDB(t *testing.T) {
	r := newDynamoRig(t)
	failed := 0
	for _, err := range r.parallel(50, "alice", "pw-alice") {
		if err != nil {
			failed++
			t.Errorf("correct login: %v", err)
		}
	}
	if failed > 0 {
		t.Errorf("%d of 50 parallel correct logins failed, want 0", failed)
	}
	r.real.Store(0)
	for _, err := range r.parallel(20, "bob", "guess") {
		if !errors.Is(err, apierr.UserAuthFailed) {
			t.Errorf("wrong guess: %v, want %v", err, apierr.UserAuthFailed)
		}
	}
	if got := r.real.Load(); got > users.DefaultMaxAttempts {
		t.Errorf("20 parallel guesses verified %d passwords against bob's hash, want at most %d", got, users.DefaultMaxAttempts)
	}
	if _, err := r.svc.Login(context.Background(), 1, "bob", "pw-bob"); !errors.Is(err, apierr.UserAuthFailed) {
		t.Errorf("bob's right password after the guesses: %v, want the window locked", err)
	}
}

// TestLoginEqualWorkDynamoDB: a wrong password, an unknown user and a
// locked username each cost one derivation and the same DynamoDB calls
// (user read and reservation in parallel, then one write to the attempt
// record), so neither the answer nor the work tells them apart.
func TestLoginEqualWorkDynamoDB(t *testing.T) {
	r := newDynamoRig(t)
	for i := 0; i < users.DefaultMaxAttempts; i++ {
		_, _ = r.svc.Login(context.Background(), 1, "carol", "guess")
	}
	tests := []struct{ name, username, password string }{
		{"wrong password", "alice", "guess"},
		{"unknown user", "nobody", "guess"},
		{"locked username, right password", "carol", "pw-carol"},
		{"locked username, wrong password", "carol", "guess"},
	}
	for _, tt := range tests {
		before := r.all.Load()
		var err error
		trips := r.db.Trips(func() { _, err = r.svc.Login(context.Background(), 1, tt.username, tt.password) })
		if !errors.Is(err, apierr.UserAuthFailed) {
			t.Errorf("%s: %v, want %v", tt.name, err, apierr.UserAuthFailed)
		}
		if got := r.all.Load() - before; got != 1 {
			t.Errorf("%s: %d derivations, want 1", tt.name, got)
		}
		if trips != 3 {
			t.Errorf("%s: %d DynamoDB calls, want 3 (GetItem user || UpdateItem reserve, then UpdateItem attempt)", tt.name, trips)
		}
	}
}

// TestLoginTokensDynamoDB: a one-time login token is issued after the
// password is verified (or to an admin by name), is stored only as its
// hash, belongs to its account, and is used up by its first validation:
// of 20 parallel validations exactly one succeeds; it expires.
func TestLoginTokensDynamoDB(t *testing.T) {
	ctx := context.Background()
	raw, table := ddbtest.NewTable(t)
	st := stores.New(raw, table)
	now := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	svc := users.NewService(st.Users, st.UserCustomers(), clock, rand.Reader).WithParams(users.TestParams).WithLoginTokenTTL(time.Minute)
	if _, err := svc.Register(ctx, 1, users.Registration{Username: "Alice", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateLoginToken(ctx, 1, "alice", "wrong"); !errors.Is(err, apierr.UserAuthFailed) {
		t.Errorf("wrong password: %v, want UserAuthFailed", err)
	}
	if _, _, err := svc.LoginTokenFor(ctx, 1, "nobody"); !errors.Is(err, apierr.UserNotFound) {
		t.Errorf("admin token for an unknown user: %v, want UserNotFound", err)
	}
	tok, exp, err := svc.CreateLoginToken(ctx, 1, "alice", "pw")
	if err != nil || len(tok) != 43 || !exp.Equal(now.Add(time.Minute)) {
		t.Fatalf("CreateLoginToken = %q %v %v", tok, exp, err)
	}
	items, err := raw.Scan(ctx, &dynamodb.ScanInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items.Items {
		if b, _ := json.Marshal(it); strings.Contains(string(b), tok) {
			t.Errorf("the token is stored: %s", b)
		}
	}
	if _, err := svc.RedeemLoginToken(ctx, 2, tok); !errors.Is(err, apierr.NotFound) {
		t.Errorf("another account's validation: %v, want NotFound", err)
	}
	var wins, losses atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := svc.RedeemLoginToken(ctx, 1, tok)
			switch {
			case err == nil && u.Username == "Alice":
				wins.Add(1)
			case errors.Is(err, apierr.NotFound):
				losses.Add(1)
			default:
				t.Errorf("redeem: %+v %v", u, err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || losses.Load() != 19 {
		t.Errorf("20 parallel validations: %d succeeded, %d refused; want 1 and 19", wins.Load(), losses.Load())
	}
	tok, _, err = svc.LoginTokenFor(ctx, 1, "ALICE")
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if _, err := svc.RedeemLoginToken(ctx, 1, tok); !errors.Is(err, apierr.NotFound) {
		t.Errorf("expired token: %v, want NotFound", err)
	}
}
