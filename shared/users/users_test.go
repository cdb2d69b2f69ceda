package users

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/clocktest"
	"github.com/keyturn/keyturn/shared/keys"
)

// rig is a Service on an in-memory store with a settable clock and a
// counter of key derivations (the hashing work).
type rig struct {
	st    *memStore
	svc   *Service
	clock *clocktest.Clock
	kdfs  atomic.Int64
}

var (
	aliceKeys = []keys.Record{{AccountID: 1, ProductID: 3, ID: 1, Key: "AAAAA-BBBBB-CCCCC-DDDDD"}, {AccountID: 1, ProductID: 3, ID: 2, Key: "EEEEE-FFFFF-GGGGG-HHHHH"}}
)

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{st: newMemStore(), clock: clocktest.New(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))}
	cust := customersOf(map[int64][]keys.Record{7: aliceKeys, 8: nil})
	// Customer 7 allows multiple users, 8 takes one.
	r.st.customers[custKey(1, 7)] = &memCustomer{allowMultiple: true}
	r.st.customers[custKey(1, 8)] = &memCustomer{}
	r.svc = NewService(r.st, cust, r.clock.Now, rand.Reader).WithParams(TestParams)
	kdf := r.svc.hasher.kdf
	r.svc.hasher.kdf = func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		r.kdfs.Add(1)
		return kdf(password, salt, time, memory, threads, keyLen)
	}
	return r
}

func (r *rig) register(t *testing.T, account int64, reg Registration) User {
	t.Helper()
	u, err := r.svc.Register(context.Background(), account, reg)
	if err != nil {
		t.Fatalf("Register(%+v): %v", reg, err)
	}
	return u
}

// seed registers alice (customer 7, two licenses), bob (no customer) and
// carol (customer 9, which does not exist: it was removed) in account 1.
func (r *rig) seed(t *testing.T) {
	t.Helper()
	r.register(t, 1, Registration{Username: "Alice", Password: "pw-alice", Email: "alice@example.com", CustomerID: 7})
	r.register(t, 1, Registration{Username: "bob", Password: "pw-bob"})
	r.register(t, 1, Registration{Username: "carol", Password: "pw-carol"})
	r.st.customers[custKey(1, 9)] = &memCustomer{}
	if err := r.st.SetUserCustomer(context.Background(), 1, "carol", 0, 9); err != nil {
		t.Fatal(err)
	}
	delete(r.st.customers, custKey(1, 9))
}

func TestRegister(t *testing.T) {
	long := strings.Repeat("x", MaxUsername+1)
	tests := []struct {
		name string
		reg  Registration
		want error
	}{
		{"minimal", Registration{Username: "dave", Password: "p"}, nil},
		{"all fields", Registration{Username: "erin", Password: "p", Email: "erin@example.com", CustomerID: 7}, nil},
		{"customer without licenses", Registration{Username: "frank", Password: "p", CustomerID: 8}, nil},
		{"longest username", Registration{Username: long[1:], Password: "p"}, nil},
		{"no username", Registration{Password: "p"}, apierr.NoUsernameOrPassword},
		{"blank username", Registration{Username: " \t", Password: "p"}, apierr.NoUsernameOrPassword},
		{"no password", Registration{Username: "gina"}, apierr.NoUsernameOrPassword},
		{"username too long", Registration{Username: long, Password: "p"}, apierr.BadInput},
		{"username not UTF-8", Registration{Username: "a\xff", Password: "p"}, apierr.BadInput},
		{"password too long", Registration{Username: "hank", Password: strings.Repeat("p", MaxPassword+1)}, apierr.BadInput},
		{"email too long", Registration{Username: "ian", Password: "p", Email: strings.Repeat("e", MaxEmail+1)}, apierr.BadInput},
		{"negative customer", Registration{Username: "jane", Password: "p", CustomerID: -1}, apierr.BadInput},
		{"unknown customer", Registration{Username: "kim", Password: "p", CustomerID: 99}, apierr.UserCustomerNotFound},
		{"taken", Registration{Username: "bob", Password: "p"}, apierr.UsernameTaken},
		{"taken in another case", Registration{Username: "ALICE", Password: "p"}, apierr.UsernameTaken},
		{"taken with spaces", Registration{Username: " bob ", Password: "p"}, apierr.UsernameTaken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			r.seed(t)
			before := len(r.st.users)
			u, err := r.svc.Register(context.Background(), 1, tt.reg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if tt.want != nil {
				if len(r.st.users) != before {
					t.Error("a failed Register wrote a user")
				}
				return
			}
			got, err := r.st.GetUser(context.Background(), 1, tt.reg.Username)
			if err != nil {
				t.Fatal(err)
			}
			if got.Username != strings.TrimSpace(tt.reg.Username) || got.CustomerID != tt.reg.CustomerID || !got.Created.Equal(r.clock.Now()) || got.AccountID != 1 {
				t.Errorf("stored %+v", got)
			}
			if (tt.reg.Email == "") != (got.Email == nil) || (got.Email != nil && *got.Email != tt.reg.Email) {
				t.Errorf("email = %v, want %q", got.Email, tt.reg.Email)
			}
			if strings.Contains(got.PasswordHash, tt.reg.Password+"$") || !strings.HasPrefix(got.PasswordHash, "$argon2id$") {
				t.Errorf("password hash %q", got.PasswordHash)
			}
			if u.Username != got.Username {
				t.Errorf("returned %+v, stored %+v", u, got)
			}
		})
	}
}

func TestRegisterSameNameInOtherAccount(t *testing.T) {
	r := newRig(t)
	r.seed(t)
	r.register(t, 2, Registration{Username: "alice", Password: "other"})
	if _, err := r.svc.Login(context.Background(), 1, "alice", "pw-alice"); err != nil {
		t.Errorf("account 1 alice: %v", err)
	}
	if _, err := r.svc.Login(context.Background(), 2, "alice", "pw-alice"); !errors.Is(err, apierr.UserAuthFailed) {
		t.Errorf("account 2 alice with account 1's password: %v", err)
	}
}

func TestLogin(t *testing.T) {
	tests := []struct {
		name     string
		account  int64
		username string
		password string
		want     []keys.Record
		wantErr  error
	}{
		{"customer with licenses", 1, "Alice", "pw-alice", aliceKeys, nil},
		{"username in another case", 1, "aLiCe", "pw-alice", aliceKeys, nil},
		{"username with spaces", 1, "  alice ", "pw-alice", aliceKeys, nil},
		{"no customer", 1, "bob", "pw-bob", []keys.Record{}, nil},
		{"removed customer", 1, "carol", "pw-carol", []keys.Record{}, nil},
		{"wrong password", 1, "alice", "pw-bob", nil, apierr.UserAuthFailed},
		{"password with extra space", 1, "alice", "pw-alice ", nil, apierr.UserAuthFailed},
		{"unknown user", 1, "mallory", "pw-alice", nil, apierr.UserAuthFailed},
		{"other account", 2, "alice", "pw-alice", nil, apierr.UserAuthFailed},
		{"no username", 1, "", "pw-alice", nil, apierr.NoUsernameOrPassword},
		{"no password", 1, "alice", "", nil, apierr.NoUsernameOrPassword},
		{"username too long", 1, strings.Repeat("a", MaxUsername+1), "x", nil, apierr.BadInput},
		{"password too long", 1, "alice", strings.Repeat("p", MaxPassword+1), nil, apierr.UserAuthFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			r.seed(t)
			got, err := r.svc.Login(context.Background(), tt.account, tt.username, tt.password)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			if got == nil || len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i].Key != tt.want[i].Key {
					t.Errorf("key %d = %s, want %s", i, got[i].Key, tt.want[i].Key)
				}
			}
		})
	}
}

// TestLoginEqualWork: an unknown user, a wrong password and a locked
// username (limit reached) cost the same hashing work (one derivation)
// and get the same answer; before, a locked username was answered without
// any, so its answer came sooner and revealed the lock.
func TestLoginEqualWork(t *testing.T) {
	r := newRig(t)
	r.seed(t)
	r.svc = r.svc.WithLoginLimit(2, DefaultWindow)
	tests := []struct {
		name, username, password string
		wantErr                  error
	}{
		{"right password", "alice", "pw-alice", nil},
		{"wrong password", "alice", "nope", apierr.UserAuthFailed},
		{"unknown user", "mallory", "nope", apierr.UserAuthFailed},
		{"unknown user again", "mallory", "nope", apierr.UserAuthFailed},
		{"unknown user locked", "mallory", "nope", apierr.UserAuthFailed},
		{"wrong password again", "alice", "nope", apierr.UserAuthFailed},
		{"known user locked, right password", "alice", "pw-alice", apierr.UserAuthFailed},
		{"known user locked, wrong password", "alice", "nope", apierr.UserAuthFailed},
	}
	for _, tt := range tests {
		before := r.kdfs.Load()
		_, err := r.svc.Login(context.Background(), 1, tt.username, tt.password)
		if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
		}
		if got := r.kdfs.Load() - before; got != 1 {
			t.Errorf("%s: %d key derivations, want 1", tt.name, got)
		}
	}
}

// TestLoginRehash: after the parameters are raised, a successful Login
// stores the password re-hashed with the new ones (keeping an outstanding
// reset token); a failed Login changes nothing; a re-hash never
// overwrites a password changed since it was read.
func TestLoginRehash(t *testing.T) {
	r := newRig(t)
	r.seed(t)
	ctx := context.Background()
	if _, err := r.svc.ResetToken(ctx, 1, "alice"); err != nil {
		t.Fatal(err)
	}
	old, _ := r.st.GetUser(ctx, 1, "alice")
	raised := TestParams
	raised.Time = 2
	svc := r.svc.WithParams(raised)

	if _, err := svc.Login(ctx, 1, "alice", "wrong"); !errors.Is(err, apierr.UserAuthFailed) {
		t.Fatalf("wrong password: %v", err)
	}
	if u, _ := r.st.GetUser(ctx, 1, "alice"); u.PasswordHash != old.PasswordHash {
		t.Error("a failed Login re-hashed the password")
	}
	if _, err := svc.Login(ctx, 1, "alice", "pw-alice"); err != nil {
		t.Fatal(err)
	}
	u, _ := r.st.GetUser(ctx, 1, "alice")
	if u.PasswordHash == old.PasswordHash || svc.hasher.NeedsRehash(u.PasswordHash) {
		t.Errorf("hash after Login = %q, want one with %+v", u.PasswordHash, raised)
	}
	if u.ResetTokenHash == nil {
		t.Error("the re-hash voided the reset token")
	}
	if _, err := svc.Login(ctx, 1, "alice", "pw-alice"); err != nil {
		t.Errorf("Login with the re-hashed password: %v", err)
	}
	// Same parameters: no write (the stored hash stays byte-identical).
	again, _ := r.st.GetUser(ctx, 1, "alice")
	if again.PasswordHash != u.PasswordHash {
		t.Error("Login re-hashed a hash made with the current parameters")
	}
	// A re-hash racing with a password change loses.
	if err := r.svc.ChangePassword(ctx, 1, PasswordChange{Username: "alice", NewPassword: "new", AdminMode: true}); err != nil {
		t.Fatal(err)
	}
	changed, _ := r.st.GetUser(ctx, 1, "alice")
	if !svc.hasher.NeedsRehash(old.PasswordHash) {
		t.Fatal("the stale read would not be re-hashed")
	}
	svc.rehash(ctx, old, "pw-alice") // old is a stale read
	if now, _ := r.st.GetUser(ctx, 1, "alice"); now.PasswordHash != changed.PasswordHash {
		t.Error("a stale re-hash overwrote the changed password")
	}
}

func TestLoginLimit(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.seed(t)
	login := func(user, pw string) error { _, err := r.svc.Login(ctx, 1, user, pw); return err }
	// Four failures, then a success: the success gives its attempt back.
	for i := 0; i < 4; i++ {
		if err := login("alice", "guess"); !errors.Is(err, apierr.UserAuthFailed) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if err := login("ALICE", "pw-alice"); err != nil {
		t.Fatalf("right password after 4 failures: %v", err)
	}
	// The fifth failure reaches the limit: now even the right password is
	// refused with the same message, in every spelling of the name.
	if err := login("alice", "guess"); !errors.Is(err, apierr.UserAuthFailed) {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "Alice", " ALICE "} {
		if err := login(name, "pw-alice"); !errors.Is(err, apierr.UserAuthFailed) {
			t.Errorf("limited %q with the right password: %v, want %v", name, err, apierr.UserAuthFailed)
		}
	}
	// Old-password ChangePassword is the same oracle and is limited too.
	err := r.svc.ChangePassword(ctx, 1, PasswordChange{Username: "alice", OldPassword: "pw-alice", NewPassword: "x"})
	if !errors.Is(err, apierr.PasswordNotUpdated) {
		t.Errorf("limited ChangePassword: %v", err)
	}
	// Other users and the same name in other accounts are not affected.
	if err := login("bob", "pw-bob"); err != nil {
		t.Errorf("bob: %v", err)
	}
	r.register(t, 2, Registration{Username: "alice", Password: "pw2"})
	if _, err := r.svc.Login(ctx, 2, "alice", "pw2"); err != nil {
		t.Errorf("alice of account 2: %v", err)
	}
	// The next window starts afresh.
	r.clock.Advance(DefaultWindow)
	if err := login("alice", "pw-alice"); err != nil {
		t.Errorf("next window: %v", err)
	}
}

func TestLoginLimitForUnknownUsers(t *testing.T) {
	r := newRig(t)
	for i := 0; i < DefaultMaxAttempts; i++ {
		_, _ = r.svc.Login(context.Background(), 1, "ghost", "guess")
	}
	// Registering the name later does not lift the window's limit: the
	// limit belongs to the name, whether or not a user has it.
	r.register(t, 1, Registration{Username: "ghost", Password: "pw"})
	if _, err := r.svc.Login(context.Background(), 1, "ghost", "pw"); !errors.Is(err, apierr.UserAuthFailed) {
		t.Errorf("got %v, want %v", err, apierr.UserAuthFailed)
	}
}

// TestFailedBestEffortWritesAreLogged: a Login whose attempt release or
// password re-hash cannot be written still succeeds, and the failure is
// logged with the account and the store's error.
func TestFailedBestEffortWritesAreLogged(t *testing.T) {
	for _, method := range []string{"EndLoginAttempt", "SetUserPassword"} {
		t.Run(method, func(t *testing.T) {
			r := newRig(t)
			r.seed(t)
			var logs bytes.Buffer
			raised := TestParams
			raised.Time = 2 // every stored hash needs a re-hash
			svc := r.svc.WithParams(raised).WithLogger(slog.New(slog.NewJSONHandler(&logs, nil)))
			r.st.fail = func(m string) error {
				if m == method {
					return errors.New("injected outage")
				}
				return nil
			}
			if _, err := svc.Login(context.Background(), 1, "alice", "pw-alice"); err != nil {
				t.Fatalf("Login: %v", err)
			}
			var entry struct {
				Level     string
				Msg       string
				AccountID int64 `json:"accountId"`
				Error     string
			}
			if err := json.Unmarshal(logs.Bytes(), &entry); err != nil {
				t.Fatalf("log = %q: %v", logs.String(), err)
			}
			if entry.Level != "WARN" || entry.AccountID != 1 || entry.Error != "injected outage" || entry.Msg == "" {
				t.Errorf("log entry = %+v, want a WARN with accountId 1 and the store's error", entry)
			}
		})
	}
}

func TestStoreFailureIsInternal(t *testing.T) {
	r := newRig(t)
	r.seed(t)
	outage := errors.New("dynamodb unavailable")
	r.st.fail = func(string) error { return outage }
	ctx := context.Background()
	calls := map[string]error{}
	_, calls["Login"] = r.svc.Login(ctx, 1, "alice", "pw-alice")
	_, calls["Register"] = r.svc.Register(ctx, 1, Registration{Username: "x", Password: "y"})
	calls["Associate"] = r.svc.Associate(ctx, 1, "alice", 7)
	calls["Dissociate"] = r.svc.Dissociate(ctx, 1, "alice")
	_, calls["List"] = r.svc.List(ctx, 1, 0)
	calls["ChangePassword"] = r.svc.ChangePassword(ctx, 1, PasswordChange{Username: "alice", NewPassword: "n", AdminMode: true})
	_, calls["ResetToken"] = r.svc.ResetToken(ctx, 1, "alice")
	calls["Remove"] = r.svc.Remove(ctx, 1, "alice")
	for name, err := range calls {
		if _, isAPI := apierr.Message(err); err == nil || isAPI {
			t.Errorf("%s: %v, want an internal error", name, err)
		}
	}
}

func TestCustomerErrorIsInternal(t *testing.T) {
	r := newRig(t)
	r.seed(t)
	boom := errors.New("boom")
	r.svc.customers = fakeCustomers{
		exists: func(int64, int64) error { return boom },
		keys:   func(int64, int64) ([]keys.Record, error) { return nil, nil },
	}
	if _, err := r.svc.Login(context.Background(), 1, "alice", "pw-alice"); !errors.Is(err, boom) {
		t.Errorf("Login: %v, want %v", err, boom)
	}
	// Re-associating with the same customer only checks that it exists.
	if err := r.svc.Associate(context.Background(), 1, "alice", 7); !errors.Is(err, boom) {
		t.Errorf("Associate: %v, want %v", err, boom)
	}
}

func TestAssociateDissociate(t *testing.T) {
	tests := []struct {
		name     string
		run      func(s *Service) error
		wantErr  error
		user     string
		wantCust int64
	}{
		{"associate", func(s *Service) error { return s.Associate(context.Background(), 1, "BOB", 7) }, nil, "bob", 7},
		{"re-associate", func(s *Service) error { return s.Associate(context.Background(), 1, "alice", 8) }, nil, "alice", 8},
		{"associate unknown customer", func(s *Service) error { return s.Associate(context.Background(), 1, "bob", 99) }, apierr.UserCustomerNotFound, "bob", 0},
		{"associate customer 0", func(s *Service) error { return s.Associate(context.Background(), 1, "bob", 0) }, apierr.UserCustomerNotFound, "bob", 0},
		{"associate negative customer", func(s *Service) error { return s.Associate(context.Background(), 1, "bob", -7) }, apierr.BadInput, "bob", 0},
		{"associate unknown user", func(s *Service) error { return s.Associate(context.Background(), 1, "mallory", 7) }, apierr.UsernameDoesNotExist, "bob", 0},
		{"associate no username", func(s *Service) error { return s.Associate(context.Background(), 1, "", 7) }, apierr.BadInput, "bob", 0},
		{"associate across accounts", func(s *Service) error { return s.Associate(context.Background(), 2, "bob", 7) }, apierr.UsernameDoesNotExist, "bob", 0},
		{"dissociate", func(s *Service) error { return s.Dissociate(context.Background(), 1, "Alice") }, nil, "alice", 0},
		{"dissociate removed customer", func(s *Service) error { return s.Dissociate(context.Background(), 1, "carol") }, nil, "carol", 0},
		{"dissociate unassociated", func(s *Service) error { return s.Dissociate(context.Background(), 1, "bob") }, nil, "bob", 0},
		{"dissociate unknown user", func(s *Service) error { return s.Dissociate(context.Background(), 1, "mallory") }, apierr.UsernameDoesNotExist, "alice", 7},
		{"dissociate no username", func(s *Service) error { return s.Dissociate(context.Background(), 1, " ") }, apierr.BadInput, "alice", 7},
		{"dissociate across accounts", func(s *Service) error { return s.Dissociate(context.Background(), 2, "alice") }, apierr.UsernameDoesNotExist, "alice", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			r.seed(t)
			if err := tt.run(r.svc); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			u, err := r.st.GetUser(context.Background(), 1, tt.user)
			if err != nil {
				t.Fatal(err)
			}
			if u.CustomerID != tt.wantCust {
				t.Errorf("%s customer = %d, want %d", tt.user, u.CustomerID, tt.wantCust)
			}
		})
	}
}

// TestSingleUserCustomer: a customer without AllowMultipleUserAssociation
// (8) takes one user, through Register or Associate; dissociating, moving
// or removing that user frees it; a customer with it (7) takes any number.
func TestSingleUserCustomer(t *testing.T) {
	r := newRig(t)
	r.seed(t)
	ctx := context.Background()
	steps := []struct {
		name    string
		run     func() error
		wantErr error
	}{
		{"bob takes 8", func() error { return r.svc.Associate(ctx, 1, "bob", 8) }, nil},
		{"bob again", func() error { return r.svc.Associate(ctx, 1, "bob", 8) }, nil},
		{"alice refused", func() error { return r.svc.Associate(ctx, 1, "alice", 8) }, apierr.CustomerHasUser},
		{"register refused", func() error {
			_, err := r.svc.Register(ctx, 1, Registration{Username: "dave", Password: "p", CustomerID: 8})
			return err
		}, apierr.CustomerHasUser},
		{"bob moves to 7", func() error { return r.svc.Associate(ctx, 1, "bob", 7) }, nil},
		{"alice takes 8", func() error { return r.svc.Associate(ctx, 1, "alice", 8) }, nil},
		{"alice dissociates", func() error { return r.svc.Dissociate(ctx, 1, "alice") }, nil},
		{"register takes 8", func() error {
			_, err := r.svc.Register(ctx, 1, Registration{Username: "dave", Password: "p", CustomerID: 8})
			return err
		}, nil},
		{"carol refused", func() error { return r.svc.Associate(ctx, 1, "carol", 8) }, apierr.CustomerHasUser},
		{"dave removed", func() error { return r.svc.Remove(ctx, 1, "dave") }, nil},
		{"carol takes 8", func() error { return r.svc.Associate(ctx, 1, "carol", 8) }, nil},
		{"7 takes many", func() error { return r.svc.Associate(ctx, 1, "alice", 7) }, nil},
	}
	for _, s := range steps {
		if err := s.run(); !errors.Is(err, s.wantErr) {
			t.Fatalf("%s: %v, want %v", s.name, err, s.wantErr)
		}
	}
	want := map[string]int64{"alice": 7, "bob": 7, "carol": 8}
	for name, cust := range want {
		if u, err := r.st.GetUser(ctx, 1, name); err != nil || u.CustomerID != cust {
			t.Errorf("%s: customer %d (%v), want %d", name, u.CustomerID, err, cust)
		}
	}
	if got := r.st.customers[custKey(1, 8)].users; got != 1 {
		t.Errorf("customer 8 counts %d users, want 1", got)
	}
	if got := r.st.customers[custKey(1, 7)].users; got != 2 {
		t.Errorf("customer 7 counts %d users, want 2", got)
	}
}

func TestList(t *testing.T) {
	r := newRig(t)
	r.seed(t)
	r.register(t, 2, Registration{Username: "zed", Password: "p", CustomerID: 0})
	tests := []struct {
		name     string
		account  int64
		customer int64
		want     []string
		wantErr  error
	}{
		{"all", 1, 0, []string{"Alice", "bob", "carol"}, nil},
		{"by customer", 1, 7, []string{"Alice"}, nil},
		{"removed customer keeps its id", 1, 9, []string{"carol"}, nil},
		{"customer without users", 1, 8, []string{}, nil},
		{"other account", 2, 0, []string{"zed"}, nil},
		{"empty account", 3, 0, []string{}, nil},
		{"negative customer", 1, -1, nil, apierr.BadInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.svc.List(context.Background(), tt.account, tt.customer)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			if got == nil {
				t.Fatal("nil list, want an empty one")
			}
			var names []string
			for _, u := range got {
				names = append(names, u.Username)
			}
			if strings.Join(names, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", names, tt.want)
			}
		})
	}
}

func TestRemove(t *testing.T) {
	tests := []struct {
		name, username string
		account        int64
		want           error
	}{
		{"remove", "ALICE", 1, nil},
		{"unknown", "mallory", 1, apierr.UserNotFound},
		{"other account", "alice", 2, apierr.UserNotFound},
		{"no username", "", 1, apierr.NoUsername},
		{"too long", strings.Repeat("a", MaxUsername+1), 1, apierr.BadInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			r.seed(t)
			if err := r.svc.Remove(context.Background(), tt.account, tt.username); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			_, err := r.st.GetUser(context.Background(), 1, "alice")
			if gone := errors.Is(err, apierr.NotFound); gone != (tt.want == nil) {
				t.Errorf("alice gone = %v", gone)
			}
		})
	}
}

// countingReader yields 0, 1, 2, ... so tokens are predictable.
type countingReader struct{ n byte }

func (c *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.n
		c.n++
	}
	return len(p), nil
}

func TestResetToken(t *testing.T) {
	r := newRig(t)
	r.seed(t)
	r.svc.rand = &countingReader{}
	ctx := context.Background()
	tok, err := r.svc.ResetToken(ctx, 1, "Alice")
	if err != nil {
		t.Fatal(err)
	}
	if want := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"; tok != want {
		t.Errorf("token = %q, want %q (32 bytes from the injected reader, base64url)", tok, want)
	}
	u, _ := r.st.GetUser(ctx, 1, "alice")
	sum := sha256.Sum256([]byte(tok))
	if !bytes.Equal(u.ResetTokenHash, sum[:]) || bytes.Contains(u.ResetTokenHash, []byte(tok)) {
		t.Errorf("stored %x, want the SHA-256 of the token only", u.ResetTokenHash)
	}
	if want := r.clock.Now().Add(DefaultResetTTL); !u.ResetExpires.Equal(want) {
		t.Errorf("expires %v, want %v", u.ResetExpires, want)
	}
	errTests := []struct {
		name, username string
		account        int64
		want           error
	}{
		{"unknown user", "mallory", 1, apierr.ResetTokenFailed},
		{"other account", "alice", 2, apierr.ResetTokenFailed},
		{"no username", "  ", 1, apierr.NoUsername},
		{"too long", strings.Repeat("a", MaxUsername+1), 1, apierr.BadInput},
	}
	for _, tt := range errTests {
		if _, err := r.svc.ResetToken(ctx, tt.account, tt.username); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestChangePassword(t *testing.T) {
	type step struct {
		change  PasswordChange
		wantErr error
	}
	tests := []struct {
		name string
		// prepare runs first; it may return a reset token for {{token}}.
		prepare func(t *testing.T, r *rig) string
		steps   []step
		// works is the password alice has at the end.
		works string
	}{
		{"admin mode", nil, []step{{PasswordChange{Username: "ALICE", NewPassword: "new", AdminMode: true}, nil}}, "new"},
		{"admin mode ignores a wrong old password", nil, []step{{PasswordChange{Username: "alice", NewPassword: "new", OldPassword: "wrong", AdminMode: true}, nil}}, "new"},
		{"old password", nil, []step{{PasswordChange{Username: "alice", NewPassword: "new", OldPassword: "pw-alice"}, nil}}, "new"},
		{"wrong old password", nil, []step{{PasswordChange{Username: "alice", NewPassword: "new", OldPassword: "pw-bob"}, apierr.PasswordNotUpdated}}, "pw-alice"},
		{"reset token", reset, []step{{PasswordChange{Username: "alice", NewPassword: "new", ResetToken: "{{token}}"}, nil}}, "new"},
		{"reset token wins over a wrong old password", reset, []step{{PasswordChange{Username: "alice", NewPassword: "new", OldPassword: "wrong", ResetToken: "{{token}}"}, nil}}, "new"},
		{"reset token used twice", reset, []step{
			{PasswordChange{Username: "alice", NewPassword: "new", ResetToken: "{{token}}"}, nil},
			{PasswordChange{Username: "alice", NewPassword: "newer", ResetToken: "{{token}}"}, apierr.PasswordNotUpdated},
		}, "new"},
		{"wrong reset token", reset, []step{{PasswordChange{Username: "alice", NewPassword: "new", ResetToken: "AAAA"}, apierr.PasswordNotUpdated}}, "pw-alice"},
		{"another user's reset token", reset, []step{{PasswordChange{Username: "bob", NewPassword: "new", ResetToken: "{{token}}"}, apierr.PasswordNotUpdated}}, "pw-alice"},
		{"reset token without one issued", nil, []step{{PasswordChange{Username: "alice", NewPassword: "new", ResetToken: "AAAA"}, apierr.PasswordNotUpdated}}, "pw-alice"},
		{"expired reset token", func(t *testing.T, r *rig) string {
			tok := reset(t, r)
			r.clock.Advance(DefaultResetTTL)
			return tok
		}, []step{{PasswordChange{Username: "alice", NewPassword: "new", ResetToken: "{{token}}"}, apierr.PasswordNotUpdated}}, "pw-alice"},
		{"reset token just before expiry", func(t *testing.T, r *rig) string {
			tok := reset(t, r)
			r.clock.Advance(DefaultResetTTL - time.Second)
			return tok
		}, []step{{PasswordChange{Username: "alice", NewPassword: "new", ResetToken: "{{token}}"}, nil}}, "new"},
		{"a new reset token voids the old one", func(t *testing.T, r *rig) string {
			tok := reset(t, r)
			reset(t, r)
			return tok
		}, []step{{PasswordChange{Username: "alice", NewPassword: "new", ResetToken: "{{token}}"}, apierr.PasswordNotUpdated}}, "pw-alice"},
		{"a password change voids the reset token", reset, []step{
			{PasswordChange{Username: "alice", NewPassword: "new", AdminMode: true}, nil},
			{PasswordChange{Username: "alice", NewPassword: "newer", ResetToken: "{{token}}"}, apierr.PasswordNotUpdated},
		}, "new"},
		{"unknown user, admin mode", nil, []step{{PasswordChange{Username: "mallory", NewPassword: "new", AdminMode: true}, apierr.PasswordNotUpdated}}, "pw-alice"},
		{"unknown user, old password", nil, []step{{PasswordChange{Username: "mallory", NewPassword: "new", OldPassword: "pw-alice"}, apierr.PasswordNotUpdated}}, "pw-alice"},
		{"unknown user, reset token", reset, []step{{PasswordChange{Username: "mallory", NewPassword: "new", ResetToken: "{{token}}"}, apierr.PasswordNotUpdated}}, "pw-alice"},
		{"no mode", nil, []step{{PasswordChange{Username: "alice", NewPassword: "new"}, apierr.BadInput}}, "pw-alice"},
		{"no new password", nil, []step{{PasswordChange{Username: "alice", OldPassword: "pw-alice"}, apierr.NoUsernameOrPassword}}, "pw-alice"},
		{"no username", nil, []step{{PasswordChange{NewPassword: "new", AdminMode: true}, apierr.NoUsernameOrPassword}}, "pw-alice"},
		{"new password too long", nil, []step{{PasswordChange{Username: "alice", NewPassword: strings.Repeat("n", MaxPassword+1), AdminMode: true}, apierr.BadInput}}, "pw-alice"},
		{"old password too long", nil, []step{{PasswordChange{Username: "alice", NewPassword: "new", OldPassword: strings.Repeat("n", MaxPassword+1)}, apierr.PasswordNotUpdated}}, "pw-alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			r.seed(t)
			var tok string
			if tt.prepare != nil {
				tok = tt.prepare(t, r)
			}
			for i, s := range tt.steps {
				if s.change.ResetToken == "{{token}}" {
					s.change.ResetToken = tok
				}
				if err := r.svc.ChangePassword(context.Background(), 1, s.change); !errors.Is(err, s.wantErr) {
					t.Fatalf("step %d: err = %v, want %v", i, err, s.wantErr)
				}
			}
			if _, err := r.svc.Login(context.Background(), 1, "alice", tt.works); err != nil {
				t.Errorf("login with %q: %v", tt.works, err)
			}
		})
	}
}

func reset(t *testing.T, r *rig) string {
	t.Helper()
	tok, err := r.svc.ResetToken(context.Background(), 1, "alice")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestResetTokenSingleUseConcurrently races ChangePassword calls with one
// token: exactly one may win.
func TestResetTokenSingleUseConcurrently(t *testing.T) {
	r := newRig(t)
	r.seed(t)
	tok := reset(t, r)
	var ok atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := r.svc.ChangePassword(context.Background(), 1, PasswordChange{Username: "alice", NewPassword: "new", ResetToken: tok})
			if err == nil {
				ok.Add(1)
			} else if !errors.Is(err, apierr.PasswordNotUpdated) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Errorf("%d successes, want 1", ok.Load())
	}
}

func TestWindowOf(t *testing.T) {
	s := NewService(nil, nil, time.Now, rand.Reader)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // a multiple of 15 minutes since the epoch
	tests := []struct {
		at       time.Duration
		wantSame bool
	}{
		{0, true},
		{DefaultWindow - time.Nanosecond, true},
		{DefaultWindow, false},
	}
	w0, exp := s.windowOf(base)
	if want := base.Add(2 * DefaultWindow); !exp.Equal(want) {
		t.Errorf("expiry %v, want %v (one window after the window's end)", exp, want)
	}
	for _, tt := range tests {
		w, _ := s.windowOf(base.Add(tt.at))
		if (w == w0) != tt.wantSame {
			t.Errorf("+%v: window %d vs %d, same = %v, want %v", tt.at, w, w0, w == w0, tt.wantSame)
		}
	}
}
