package userstore_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/dynamo/stores"
	"github.com/keyturn/keyturn/shared/users"
)

type userRig struct {
	db    *ddbtest.Counter
	raw   *dynamodb.Client
	table string
	st    *stores.Stores
	now   time.Time
}

func newUserRig(t *testing.T) *userRig {
	t.Helper()
	db, table := ddbtest.NewTable(t)
	r := &userRig{db: ddbtest.NewCounter(db), raw: db, table: table, now: time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)}
	r.st = stores.New(r.db, table)
	return r
}

func (r *userRig) create(t *testing.T, u users.User) {
	t.Helper()
	if u.PasswordHash == "" {
		u.PasswordHash = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43)
	}
	if u.Created.IsZero() {
		u.Created = r.now
	}
	if err := r.st.Users.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", u.Username, err)
	}
}

// customer stores a customer users can be associated with.
func (r *userRig) customer(t *testing.T, accountID, id int64, allowMultipleUsers bool) {
	t.Helper()
	c := customers.Customer{AccountID: accountID, ID: id, Name: "c" + strconv.FormatInt(id, 10), Created: r.now,
		Secret: "secret-" + strconv.FormatInt(id, 10), AllowMultipleUserAssociation: allowMultipleUsers}
	if err := r.st.Customers.CreateCustomer(context.Background(), c); err != nil {
		t.Fatalf("CreateCustomer(%d/%d): %v", accountID, id, err)
	}
}

// userCount is the customer's stored user count.
func (r *userRig) userCount(t *testing.T, accountID, id int64) string {
	t.Helper()
	k := dynamo.Customer(accountID, id)
	it := r.rawItem(t, k.PK, k.SK)
	if n, ok := it["userCount"].(*types.AttributeValueMemberN); ok {
		return n.Value
	}
	return "none"
}

// trips runs f and returns how many DynamoDB calls it made.
func (r *userRig) trips(f func()) int64 {
	return r.db.Trips(f)
}

// rawItem reads an item with the bare client.
func (r *userRig) rawItem(t *testing.T, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := r.raw.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(r.table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func TestUserCreateGetList(t *testing.T) {
	ctx := context.Background()
	r := newUserRig(t)
	r.customer(t, 1, 7, true)
	email := "alice@example.com"
	alice := users.User{AccountID: 1, Username: "Alice", Email: &email, Created: r.now, CustomerID: 7, PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$a2V5"}
	if n := r.trips(func() { r.create(t, alice) }); n != 1 {
		t.Errorf("CreateUser: %d round trips, want 1", n)
	}
	r.create(t, users.User{AccountID: 1, Username: "bob"})
	r.create(t, users.User{AccountID: 1, Username: "Carol", CustomerID: 7})
	r.create(t, users.User{AccountID: 2, Username: "alice"})

	if it := r.rawItem(t, "A#1", "USER#alice"); it == nil || it["username"].(*types.AttributeValueMemberS).Value != "Alice" {
		t.Errorf("item A#1/USER#alice = %v", it)
	}
	for _, name := range []string{"alice", "ALICE", "Alice"} {
		err := r.st.Users.CreateUser(ctx, users.User{AccountID: 1, Username: name, PasswordHash: "x"})
		if !errors.Is(err, apierr.Conflict) {
			t.Errorf("CreateUser(%q) again: %v, want Conflict", name, err)
		}
	}

	var got users.User
	var err error
	if n := r.trips(func() { got, err = r.st.Users.GetUser(ctx, 1, "aLICE") }); n != 1 || err != nil {
		t.Fatalf("GetUser: %v (%d round trips, want 1)", err, n)
	}
	if got.Username != "Alice" || got.Email == nil || *got.Email != email || !got.Created.Equal(r.now) || got.CustomerID != 7 ||
		got.PasswordHash != alice.PasswordHash || got.AccountID != 1 || got.ResetTokenHash != nil || !got.ResetExpires.IsZero() {
		t.Errorf("GetUser = %+v, want %+v", got, alice)
	}
	if _, err := r.st.Users.GetUser(ctx, 3, "alice"); !errors.Is(err, apierr.NotFound) {
		t.Errorf("GetUser in another account: %v, want NotFound", err)
	}

	// A customer's users come from gsi3 (Query + BatchGetItem, or the
	// Query alone when it has none); all users from one table Query.
	tests := []struct {
		account, customer int64
		want              string
		trips             int64
	}{
		{1, 0, "Alice,bob,Carol", 1},
		{1, 7, "Alice,Carol", 2},
		{1, 8, "", 1},
		{2, 0, "alice", 1},
		{2, 7, "", 1},
		{3, 0, "", 1},
	}
	for _, tt := range tests {
		var us []users.User
		n := r.trips(func() { us, err = r.st.Users.ListUsers(ctx, tt.account, tt.customer) })
		if err != nil || n != tt.trips {
			t.Fatalf("ListUsers(%d, %d): %v (%d round trips, want %d)", tt.account, tt.customer, err, n, tt.trips)
		}
		var names []string
		for _, u := range us {
			names = append(names, u.Username)
		}
		if got := strings.Join(names, ","); got != tt.want {
			t.Errorf("ListUsers(%d, %d) = %s, want %s", tt.account, tt.customer, got, tt.want)
		}
	}
}

func TestUserUpdates(t *testing.T) {
	ctx := context.Background()
	r := newUserRig(t)
	r.customer(t, 1, 7, false)
	r.create(t, users.User{AccountID: 1, Username: "Alice", PasswordHash: "h0"})
	tok := []byte("0123456789abcdef0123456789abcdef")
	exp := r.now.Add(time.Hour)

	type op struct {
		name string
		f    func() error
		want error
	}
	ops := []op{
		{"set customer", func() error { return r.st.Users.SetUserCustomer(ctx, 1, "ALICE", 0, 7) }, nil},
		{"set customer, stale", func() error { return r.st.Users.SetUserCustomer(ctx, 1, "ALICE", 0, 7) }, apierr.Conflict},
		{"set customer, unknown user", func() error { return r.st.Users.SetUserCustomer(ctx, 1, "bob", 0, 7) }, apierr.Conflict},
		{"set customer, other account", func() error { return r.st.Users.SetUserCustomer(ctx, 2, "alice", 0, 7) }, apierr.Conflict},
		{"reset token", func() error { return r.st.Users.SetUserResetToken(ctx, 1, "alice", tok, exp) }, nil},
		{"reset token, unknown user", func() error { return r.st.Users.SetUserResetToken(ctx, 1, "bob", tok, exp) }, apierr.NotFound},
		{"password if hash, stale", func() error {
			return r.st.Users.SetUserPassword(ctx, 1, "alice", users.PasswordUpdate{Hash: "h1", IfHash: "stale"})
		}, apierr.Conflict},
		{"password with reset token, wrong token", func() error {
			return r.st.Users.SetUserPassword(ctx, 1, "alice", users.PasswordUpdate{Hash: "h1", IfResetToken: []byte("wrong"), Now: r.now})
		}, apierr.Conflict},
		{"password with reset token, expired", func() error {
			return r.st.Users.SetUserPassword(ctx, 1, "alice", users.PasswordUpdate{Hash: "h1", IfResetToken: tok, Now: exp})
		}, apierr.Conflict},
		{"password, unknown user", func() error {
			return r.st.Users.SetUserPassword(ctx, 1, "bob", users.PasswordUpdate{Hash: "h1"})
		}, apierr.NotFound},
		{"password with reset token", func() error {
			return r.st.Users.SetUserPassword(ctx, 1, "alice", users.PasswordUpdate{Hash: "h1", IfResetToken: tok, Now: exp.Add(-time.Second)})
		}, nil},
		{"reset token is consumed", func() error {
			return r.st.Users.SetUserPassword(ctx, 1, "alice", users.PasswordUpdate{Hash: "h2", IfResetToken: tok, Now: r.now})
		}, apierr.Conflict},
		{"password if hash", func() error {
			return r.st.Users.SetUserPassword(ctx, 1, "alice", users.PasswordUpdate{Hash: "h2", IfHash: "h1"})
		}, nil},
		{"password unconditionally", func() error {
			return r.st.Users.SetUserPassword(ctx, 1, "alice", users.PasswordUpdate{Hash: "h3"})
		}, nil},
	}
	for _, o := range ops {
		var err error
		if n := r.trips(func() { err = o.f() }); n != 1 {
			t.Errorf("%s: %d round trips, want 1", o.name, n)
		}
		if !errors.Is(err, o.want) {
			t.Fatalf("%s: %v, want %v", o.name, err, o.want)
		}
	}
	u, err := r.st.Users.GetUser(ctx, 1, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.PasswordHash != "h3" || u.CustomerID != 7 || u.ResetTokenHash != nil || !u.ResetExpires.IsZero() {
		t.Errorf("after updates: %+v", u)
	}
	if got := r.userCount(t, 1, 7); got != "1" {
		t.Errorf("customer 7 userCount = %s, want 1", got)
	}
	// A re-hash keeps an outstanding reset token.
	if err := r.st.Users.SetUserResetToken(ctx, 1, "alice", tok, exp); err != nil {
		t.Fatal(err)
	}
	if err := r.st.Users.SetUserPassword(ctx, 1, "alice", users.PasswordUpdate{Hash: "h4", IfHash: "h3", KeepResetToken: true}); err != nil {
		t.Fatal(err)
	}
	if u, _ := r.st.Users.GetUser(ctx, 1, "alice"); u.PasswordHash != "h4" || !bytes.Equal(u.ResetTokenHash, tok) {
		t.Errorf("after a re-hash: %+v", u)
	}
	// Dissociating stores 0 and gives the slot back (one transaction).
	if n := r.trips(func() { err = r.st.Users.SetUserCustomer(ctx, 1, "alice", 7, 0) }); n != 1 || err != nil {
		t.Fatalf("dissociate: %v (%d round trips)", err, n)
	}
	if u, _ := r.st.Users.GetUser(ctx, 1, "alice"); u.CustomerID != 0 {
		t.Errorf("customer after dissociate = %d", u.CustomerID)
	}
	if got := r.userCount(t, 1, 7); got != "0" {
		t.Errorf("customer 7 userCount after dissociate = %s, want 0", got)
	}

	if n := r.trips(func() { err = r.st.Users.DeleteUser(ctx, 2, "alice", 0) }); n != 1 || !errors.Is(err, apierr.Conflict) {
		t.Errorf("DeleteUser in another account: %v (%d round trips)", err, n)
	}
	if err := r.st.Users.DeleteUser(ctx, 1, "ALICE", 7); !errors.Is(err, apierr.Conflict) {
		t.Errorf("DeleteUser with a stale customer: %v, want Conflict", err)
	}
	if n := r.trips(func() { err = r.st.Users.DeleteUser(ctx, 1, "ALICE", 0) }); n != 1 || err != nil {
		t.Fatalf("DeleteUser: %v (%d round trips)", err, n)
	}
	if err := r.st.Users.DeleteUser(ctx, 1, "alice", 0); !errors.Is(err, apierr.Conflict) {
		t.Errorf("second DeleteUser: %v, want Conflict", err)
	}
	if _, err := r.st.Users.GetUser(ctx, 1, "alice"); !errors.Is(err, apierr.NotFound) {
		t.Errorf("GetUser after delete: %v", err)
	}
}

func TestLoginAttempts(t *testing.T) {
	ctx := context.Background()
	r := newUserRig(t)
	exp := r.now.Add(30 * time.Minute)
	reserve := func(name string, window int64) error {
		var err error
		if n := r.trips(func() { err = r.st.Users.ReserveLoginAttempt(ctx, 1, name, window, 3, exp) }); n != 1 {
			t.Errorf("ReserveLoginAttempt: %d round trips, want 1", n)
		}
		return err
	}
	end := func(name string, window int64, o users.AttemptOutcome) {
		var err error
		if n := r.trips(func() { err = r.st.Users.EndLoginAttempt(ctx, 1, name, window, o) }); n != 1 || err != nil {
			t.Errorf("EndLoginAttempt(%d): %v (%d round trips, want 1)", o, err, n)
		}
	}
	for i := 0; i < 3; i++ {
		if err := reserve("Alice", 100); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	// Three attempts in flight, none failed: the fourth must wait.
	if err := reserve("alice", 100); !errors.Is(err, users.ErrAttemptsInFlight) {
		t.Fatalf("fourth attempt with three in flight: %v, want ErrAttemptsInFlight", err)
	}
	end("alice", 100, users.AttemptFailed)
	end("alice", 100, users.AttemptFailed)
	if err := reserve("alice", 100); !errors.Is(err, users.ErrAttemptsInFlight) {
		t.Fatalf("two failures and one in flight: %v, want ErrAttemptsInFlight", err)
	}
	end("alice", 100, users.AttemptReleased) // the third succeeded
	if err := reserve("alice", 100); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	end("alice", 100, users.AttemptFailed)
	if err := reserve("alice", 100); !errors.Is(err, users.ErrLoginLocked) {
		t.Fatalf("three failures: %v, want ErrLoginLocked", err)
	}
	end("alice", 100, users.AttemptRefused)
	it := r.rawItem(t, "UL#1#alice", "W#100")
	for name, want := range map[string]string{"attempts": "3", "failures": "3", "refused": "1", "ttl": strconv.FormatInt(exp.Unix(), 10)} {
		if v, _ := it[name].(*types.AttributeValueMemberN); v == nil || v.Value != want {
			t.Errorf("attempt item %s = %v, want %s", name, it[name], want)
		}
	}
	if err := reserve("alice", 101); err != nil {
		t.Errorf("next window: %v", err)
	}
	if err := reserve("bob", 100); err != nil {
		t.Errorf("other name: %v", err)
	}
	if err := r.st.Users.ReserveLoginAttempt(ctx, 2, "alice", 100, 3, exp); err != nil {
		t.Errorf("other account: %v", err)
	}
	// Ending what was never reserved changes nothing and creates nothing.
	for _, o := range []users.AttemptOutcome{users.AttemptReleased, users.AttemptFailed, users.AttemptRefused} {
		end("carol", 100, o)
	}
	if it := r.rawItem(t, "UL#1#carol", "W#100"); it != nil {
		t.Errorf("ending an unreserved attempt created an item: %v", it)
	}
}

// TestUserConcurrency checks the invariants under 20 concurrent writers:
// one user per name, at most max attempts per window, one use per reset
// token.
func TestUserConcurrency(t *testing.T) {
	ctx := context.Background()
	r := newUserRig(t)
	tok := []byte("token-hash")
	r.create(t, users.User{AccountID: 1, Username: "alice"})
	if err := r.st.Users.SetUserResetToken(ctx, 1, "alice", tok, r.now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    func(i int) error
		want int64
	}{
		{"create one name", func(i int) error {
			name := []string{"dave", "Dave", "DAVE", " dave"}[i%4]
			return r.st.Users.CreateUser(ctx, users.User{AccountID: 1, Username: name, PasswordHash: "h"})
		}, 1},
		{"reserve attempts", func(int) error {
			return r.st.Users.ReserveLoginAttempt(ctx, 1, "alice", 7, 5, r.now.Add(time.Hour))
		}, 5},
		{"consume reset token", func(int) error {
			return r.st.Users.SetUserPassword(ctx, 1, "alice", users.PasswordUpdate{Hash: "new", IfResetToken: tok, Now: r.now})
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ok atomic.Int64
			var wg sync.WaitGroup
			for i := 0; i < 20; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					err := tt.f(i)
					switch {
					case err == nil:
						ok.Add(1)
					case !errors.Is(err, apierr.Conflict) && !errors.Is(err, users.ErrAttemptsInFlight):
						t.Error(err)
					}
				}(i)
			}
			wg.Wait()
			if ok.Load() != tt.want {
				t.Errorf("%d successes, want %d", ok.Load(), tt.want)
			}
		})
	}
	u, _ := r.st.Users.GetUser(ctx, 1, "alice")
	if u.PasswordHash != "new" || !bytes.Equal(u.ResetTokenHash, nil) {
		t.Errorf("after the race: %+v", u)
	}
}

// TestUserCustomerSlots: a customer without AllowMultipleUserAssociation
// gets exactly one user however many Associate or Register race for it;
// one with it gets them all and counts them; a removed or uncounted
// customer never blocks dissociating or deleting its users; a refused
// write leaves nothing behind.
func TestUserCustomerSlots(t *testing.T) {
	ctx := context.Background()
	r := newUserRig(t)
	r.customer(t, 1, 10, false)
	r.customer(t, 1, 11, true)
	const n = 16
	name := func(i int) string { return "u" + strconv.Itoa(i) }
	for i := 0; i < n; i++ {
		r.create(t, users.User{AccountID: 1, Username: name(i)})
	}
	// race runs f for 0..n-1 in parallel and returns the errors.
	race := func(f func(i int) error) []error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = f(i) }()
		}
		wg.Wait()
		return errs
	}
	// winners checks that exactly want calls succeeded and the rest were
	// refused with ErrCustomerHasUser; it returns the winners.
	winners := func(what string, errs []error, want int) []int {
		t.Helper()
		var won []int
		for i, err := range errs {
			switch {
			case err == nil:
				won = append(won, i)
			case !errors.Is(err, users.ErrCustomerHasUser):
				t.Errorf("%s %d: %v", what, i, err)
			}
		}
		if len(won) != want {
			t.Fatalf("%s: %d succeeded, want %d", what, len(won), want)
		}
		return won
	}

	won := winners("associate with 10", race(func(i int) error { return r.st.Users.SetUserCustomer(ctx, 1, name(i), 0, 10) }), 1)
	list, err := r.st.Users.ListUsers(ctx, 1, 10)
	if err != nil || len(list) != 1 || users.Key(list[0].Username) != name(won[0]) {
		t.Fatalf("users of 10: %+v, %v", list, err)
	}
	if got := r.userCount(t, 1, 10); got != "1" {
		t.Errorf("10 counts %s users, want 1", got)
	}
	winners("register with full 10", race(func(i int) error {
		return r.st.Users.CreateUser(ctx, users.User{AccountID: 1, Username: "r" + strconv.Itoa(i), CustomerID: 10, PasswordHash: "h"})
	}), 0)
	if _, err := r.st.Users.GetUser(ctx, 1, "r0"); !errors.Is(err, apierr.NotFound) {
		t.Errorf("refused registration left a user: %v", err)
	}
	// The winner leaves; the slot is free for exactly one registration.
	if err := r.st.Users.SetUserCustomer(ctx, 1, name(won[0]), 10, 0); err != nil {
		t.Fatal(err)
	}
	reg := winners("register with free 10", race(func(i int) error {
		return r.st.Users.CreateUser(ctx, users.User{AccountID: 1, Username: "r" + strconv.Itoa(i), CustomerID: 10, PasswordHash: "h"})
	}), 1)
	// The index follows: the user who left is no longer listed.
	if list, err := r.st.Users.ListUsers(ctx, 1, 10); err != nil || len(list) != 1 || list[0].Username != "r"+strconv.Itoa(reg[0]) {
		t.Errorf("users of 10 after the change: %+v, %v", list, err)
	}

	winners("associate with 11", race(func(i int) error { return r.st.Users.SetUserCustomer(ctx, 1, name(i), 0, 11) }), n)
	if got := r.userCount(t, 1, 11); got != strconv.Itoa(n) {
		t.Errorf("11 counts %s users, want %d", got, n)
	}
	// Moving between customers moves the count.
	if err := r.st.Users.SetUserCustomer(ctx, 1, name(0), 11, 10); !errors.Is(err, users.ErrCustomerHasUser) {
		t.Errorf("move to full 10: %v", err)
	}
	if err := r.st.Users.DeleteUser(ctx, 1, name(1), 11); err != nil {
		t.Fatal(err)
	}
	if got := r.userCount(t, 1, 11); got != strconv.Itoa(n-1) {
		t.Errorf("11 after a delete counts %s users, want %d", got, n-1)
	}
	if list, err := r.st.Users.ListUsers(ctx, 1, 11); err != nil || len(list) != n-1 {
		t.Errorf("users of 11: %d, %v; want %d", len(list), err, n-1)
	}

	// Unknown customer: refused, nothing written.
	if err := r.st.Users.CreateUser(ctx, users.User{AccountID: 1, Username: "ghost", CustomerID: 99, PasswordHash: "h"}); !errors.Is(err, users.ErrNoCustomer) {
		t.Errorf("register with unknown customer: %v", err)
	}
	if err := r.st.Users.SetUserCustomer(ctx, 1, name(2), 11, 99); !errors.Is(err, users.ErrNoCustomer) {
		t.Errorf("associate with unknown customer: %v", err)
	}
	if _, err := r.st.Users.GetUser(ctx, 1, "ghost"); !errors.Is(err, apierr.NotFound) {
		t.Errorf("ghost user: %v", err)
	}
	if r.rawItem(t, dynamo.Customer(1, 99).PK, dynamo.Customer(1, 99).SK) != nil {
		t.Error("a refused association created customer 99")
	}

	// A removed customer does not block its users: dissociating and
	// deleting retry without giving a slot back (2 round trips).
	r.customer(t, 1, 12, true)
	for _, u := range []string{name(2), name(3)} {
		if err := r.st.Users.SetUserCustomer(ctx, 1, u, 11, 12); err != nil {
			t.Fatal(err)
		}
	}
	c12, err := r.st.Customers.GetCustomer(ctx, 1, 12)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.st.Customers.DeleteCustomer(ctx, c12); err != nil {
		t.Fatal(err)
	}
	if k := r.trips(func() { err = r.st.Users.SetUserCustomer(ctx, 1, name(2), 12, 0) }); err != nil || k != 2 {
		t.Errorf("dissociate from removed customer: %v (%d round trips, want 2)", err, k)
	}
	if k := r.trips(func() { err = r.st.Users.DeleteUser(ctx, 1, name(3), 12) }); err != nil || k != 2 {
		t.Errorf("delete user of removed customer: %v (%d round trips, want 2)", err, k)
	}
	if r.rawItem(t, dynamo.Customer(1, 12).PK, dynamo.Customer(1, 12).SK) != nil {
		t.Error("giving a slot back re-created removed customer 12")
	}
}
