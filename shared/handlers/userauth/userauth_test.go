package userauth_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/dynamo/stores"
	"github.com/keyturn/keyturn/shared/handlers/userauth"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/users"
	"github.com/keyturn/keyturn/shared/webapi"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Messages as clients see them.
const (
	ok             = `{"result":0,"message":""}`
	denied         = `{"result":1,"message":"Access denied."}`
	badInput       = `{"result":1,"message":"The input parameters were incorrect."}`
	authFailed     = `{"result":1,"message":"Unable to authenticate user."}`
	noUserOrPass   = `{"result":1,"message":"No username or password supplied."}`
	noUser         = `{"result":1,"message":"No username supplied."}`
	taken          = `{"result":1,"message":"Username already exists. Please pick a different one."}`
	custNotFound   = `{"result":1,"message":"Customer not found."}`
	userNotExist   = `{"result":1,"message":"Username does not exist."}`
	notUpdated     = `{"result":1,"message":"Could not update the password."}`
	resetFailed    = `{"result":1,"message":"Could not generate the password reset token."}`
	userNotFound   = `{"result":1,"message":"The user could not be found."}`
	unauthToken    = `{"result":1,"message":"Unable to authenticate."}`
	emptyLicenses  = `{"licenseKeys":[],"result":0,"message":""}`
	account, other = int64(1), int64(2)
)

// seqReader is a deterministic, goroutine-safe random source (0, 1, 2...).
type seqReader struct {
	mu sync.Mutex
	n  byte
}

func (r *seqReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range p {
		p[i] = r.n
		r.n++
	}
	return len(p), nil
}

// env is the userauth group over HTTP on its own DynamoDB Local table,
// with the real store for users, customers, licenses and tokens.
type env struct {
	t     *testing.T
	db    *ddbtest.Counter
	table string
	st    *stores.Stores
	url   string
	mu    sync.Mutex
	now   time.Time
	// tokens by role: admin (UserAuthAdmin), normal (UserAuthNormal),
	// both, none (a token without userauth permissions), otherAdmin (an
	// admin of another account), locked (normal, product lock 4).
	tok map[string]string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	raw, table := ddbtest.NewTable(t)
	e := &env{t: t, db: ddbtest.NewCounter(raw), table: table, now: time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC), tok: map[string]string{}}
	e.st = stores.New(e.db, table)
	tokens := auth.NewService(e.st.Catalog, time.Now, rand.Reader, time.Hour)
	svc := users.NewService(e.st.Users, e.st.UserCustomers(), e.clock, &seqReader{}).WithParams(users.TestParams)
	srv := httptest.NewServer(webapi.NewServer(webapi.Options{Auth: tokens}, userauth.Group(userauth.Deps{Users: svc})))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	ctx := context.Background()
	for role, sc := range map[string]struct {
		account int64
		scope   auth.Scope
	}{
		"admin":      {account, auth.Scope{Methods: []string{userauth.PermAdmin}}},
		"normal":     {account, auth.Scope{Methods: []string{userauth.PermNormal}}},
		"both":       {account, auth.Scope{Methods: []string{userauth.PermNormal, userauth.PermAdmin}}},
		"none":       {account, auth.Scope{Methods: []string{"GetKey", "GetCustomers"}}},
		"otherAdmin": {other, auth.Scope{Methods: []string{userauth.PermAdmin}}},
		"locked":     {account, auth.Scope{Methods: []string{userauth.PermNormal}, ProductLock: 4}},
	} {
		tok, _, err := tokens.Issue(ctx, sc.account, role, sc.scope, "")
		if err != nil {
			t.Fatal(err)
		}
		e.tok[role] = tok
	}
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

// call posts a form to /api/userauth/<method> with the role's token and
// name/value pairs; it returns the body (the status must be 200).
func (e *env) call(role, method string, kv ...string) string {
	e.t.Helper()
	v := url.Values{}
	if role != "" {
		v.Set("token", e.tok[role])
	}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	res, err := http.Post(e.url+"/api/userauth/"+method, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		e.t.Fatalf("%s: status %d: %s", method, res.StatusCode, b)
	}
	return string(b)
}

func (e *env) must(role, method string, kv ...string) string {
	e.t.Helper()
	body := e.call(role, method, kv...)
	if !strings.Contains(body, `"result":0,"message":""}`) {
		e.t.Fatalf("%s %v: %s", method, kv, body)
	}
	return body
}

// customer creates customer id in the account with n licenses (see
// licenses); it allows multiple user associations.
func (e *env) customer(accountID, id int64, n int) {
	e.t.Helper()
	e.customerWith(accountID, id, n, true)
}

// customerWith is customer with AllowMultipleUserAssociation given.
func (e *env) customerWith(accountID, id int64, n int, allowMultipleUsers bool) {
	e.t.Helper()
	ctx := context.Background()
	c := customers.Customer{AccountID: accountID, ID: id, Name: "Customer", Created: e.now, Secret: "secret-" + string(rune('a'+id)),
		AllowMultipleUserAssociation: allowMultipleUsers}
	if err := e.st.Customers.CreateCustomer(ctx, c); err != nil {
		e.t.Fatal(err)
	}
	e.licenses(accountID, id, n)
}

// licenses creates licenses pointing at customer id (which need not
// exist): n-1 of product 3 (key ids 1..n-1) and one of product 4.
func (e *env) licenses(accountID, customerID int64, n int) {
	e.t.Helper()
	if n == 0 {
		return
	}
	notes := "for the user"
	var recs []keys.Record
	for i := 1; i < n; i++ {
		recs = append(recs, keys.Record{AccountID: accountID, ProductID: 3, ID: int64(i), GlobalID: customerID*100 + int64(i),
			Key:     strings.Repeat(string(rune('A'+i)), 5) + "-CUST" + string(rune('0'+customerID%10)) + "-KEYTU-RNABC",
			Created: e.now, Expires: e.now.Add(30 * 24 * time.Hour), Period: 30, Features: [8]bool{true, false, true},
			Notes: &notes, CustomerID: customerID, MaxNoOfMachines: 1})
	}
	recs = append(recs, keys.Record{AccountID: accountID, ProductID: 4, ID: 1, GlobalID: customerID*100 + 99,
		Key: "PRODU-CTFOU-RKEYX-CUST" + string(rune('0'+customerID%10)), Created: e.now, Expires: e.now, CustomerID: customerID})
	if err := e.st.Licenses.CreateKeys(context.Background(), recs); err != nil {
		e.t.Fatal(err)
	}
}

// golden compares body with testdata/<name>.json (rewritten with -update).
func golden(t *testing.T, name, body string) {
	t.Helper()
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got := body + "\n"; got != string(want) {
		t.Errorf("%s:\ngot  %s\nwant %s", name, got, want)
	}
}

// TestUserLifecycle walks every method through its successful path and
// compares the bodies with golden files.
func TestUserLifecycle(t *testing.T) {
	e := newEnv(t)
	e.customer(account, 7, 3)

	e.must("admin", "Register", "Username", "Alice", "Password", "s3cret pass", "Email", "alice@example.com", "CustomerId", "7")
	e.must("admin", "Register", "Username", "bob", "Password", "pw-bob", "CustomerId", "null", "Email", "None")
	golden(t, "Login", e.must("normal", "Login", "Username", "alice", "Password", "s3cret pass"))
	if got := e.must("normal", "Login", "Username", "BOB", "Password", "pw-bob"); got != emptyLicenses {
		t.Errorf("Login without customer = %s", got)
	}
	// A product-locked token sees only that product's licenses.
	var locked struct {
		LicenseKeys []struct{ ProductID int64 } `json:"licenseKeys"`
	}
	if err := json.Unmarshal([]byte(e.must("locked", "Login", "Username", "alice", "Password", "s3cret pass")), &locked); err != nil {
		t.Fatal(err)
	}
	if len(locked.LicenseKeys) != 1 || locked.LicenseKeys[0].ProductID != 4 {
		t.Errorf("product-locked Login = %+v, want the one license of product 4", locked.LicenseKeys)
	}

	golden(t, "GetUsers", e.must("admin", "GetUsers"))
	if got := e.must("admin", "GetUsers", "CustomerId", "7"); !strings.Contains(got, `"username":"Alice"`) || strings.Contains(got, "bob") {
		t.Errorf("GetUsers CustomerId=7 = %s", got)
	}

	e.must("admin", "Associate", "Username", "BOB", "CustomerId", "7")
	if got := e.must("normal", "Login", "Username", "bob", "Password", "pw-bob"); got == emptyLicenses {
		t.Error("Login after Associate has no licenses")
	}
	e.must("admin", "Dissociate", "Username", "bob")
	if got := e.must("normal", "Login", "Username", "bob", "Password", "pw-bob"); got != emptyLicenses {
		t.Errorf("Login after Dissociate = %s", got)
	}

	e.must("normal", "ChangePassword", "Username", "alice", "OldPassword", "s3cret pass", "NewPassword", "second")
	e.must("admin", "ChangePassword", "Username", "alice", "NewPassword", "third", "AdminMode", "True")
	reset := e.must("admin", "ResetPasswordToken", "Username", "alice")
	golden(t, "ResetPasswordToken", reset)
	var rt struct {
		PasswordResetToken string `json:"passwordResetToken"`
	}
	_ = json.Unmarshal([]byte(reset), &rt)
	e.must("normal", "ChangePassword", "Username", "alice", "PasswordResetToken", rt.PasswordResetToken, "NewPassword", "fourth")
	for pw, want := range map[string]string{"s3cret pass": authFailed, "second": authFailed, "third": authFailed} {
		if got := e.call("normal", "Login", "Username", "alice", "Password", pw); got != want {
			t.Errorf("Login with old password %q = %s", pw, got)
		}
	}
	e.must("both", "Login", "Username", "alice", "Password", "fourth")

	e.must("admin", "RemoveUser", "Username", "ALICE")
	if got := e.call("normal", "Login", "Username", "alice", "Password", "fourth"); got != authFailed {
		t.Errorf("Login after RemoveUser = %s", got)
	}
	if got := e.must("admin", "GetUsers"); strings.Contains(got, "Alice") {
		t.Errorf("GetUsers after RemoveUser = %s", got)
	}
}

// TestPermissions checks each method with each kind of token.
func TestPermissions(t *testing.T) {
	e := newEnv(t)
	e.must("admin", "Register", "Username", "alice", "Password", "pw")
	type call struct {
		method string
		kv     []string
	}
	login := call{"Login", []string{"Username", "alice", "Password", "pw"}}
	changeOld := call{"ChangePassword", []string{"Username", "alice", "OldPassword", "pw", "NewPassword", "pw"}}
	changeAdmin := call{"ChangePassword", []string{"Username", "alice", "NewPassword", "pw", "AdminMode", "true"}}
	changeNotAdmin := call{"ChangePassword", []string{"Username", "alice", "OldPassword", "pw", "NewPassword", "pw", "AdminMode", "false"}}
	register := call{"Register", []string{"Username", "x", "Password", "pw"}}
	associate := call{"Associate", []string{"Username", "nobody", "CustomerId", "1"}}
	dissociate := call{"Dissociate", []string{"Username", "alice"}}
	getUsers := call{"GetUsers", nil}
	reset := call{"ResetPasswordToken", []string{"Username", "alice"}}
	remove := call{"RemoveUser", []string{"Username", "nobody"}}
	tests := []struct {
		role    string
		call    call
		allowed bool
	}{
		{"normal", login, true}, {"admin", login, true}, {"none", login, false},
		{"normal", changeOld, true}, {"admin", changeOld, true}, {"none", changeOld, false},
		{"normal", changeNotAdmin, true},
		{"normal", changeAdmin, false}, {"admin", changeAdmin, true}, {"both", changeAdmin, true}, {"none", changeAdmin, false},
		{"normal", register, false}, {"admin", register, true}, {"none", register, false},
		{"normal", associate, false}, {"admin", associate, true},
		{"normal", dissociate, false}, {"admin", dissociate, true},
		{"normal", getUsers, false}, {"admin", getUsers, true},
		{"normal", reset, false}, {"admin", reset, true},
		{"normal", remove, false}, {"admin", remove, true}, {"none", remove, false},
	}
	for _, tt := range tests {
		t.Run(tt.role+"/"+tt.call.method+strings.Join(tt.call.kv, ","), func(t *testing.T) {
			got := e.call(tt.role, tt.call.method, tt.call.kv...)
			if (got != denied) != tt.allowed {
				t.Errorf("got %s, allowed = %v", got, tt.allowed)
			}
		})
	}
	for _, m := range []string{"Login", "Register", "GetUsers", "ChangePassword", "RemoveUser"} {
		if got := e.call("", m); got != unauthToken {
			t.Errorf("%s without a token = %s, want %s", m, got, unauthToken)
		}
	}
}

// TestDocumentedErrors produces every documented error message of every
// method (Access denied. is covered by TestPermissions).
func TestDocumentedErrors(t *testing.T) {
	e := newEnv(t)
	e.customer(account, 7, 1)
	e.customer(other, 8, 1)
	e.must("admin", "Register", "Username", "alice", "Password", "pw", "CustomerId", "7")
	long := strings.Repeat("u", users.MaxUsername+1)
	tests := []struct {
		method string
		kv     []string
		want   string
	}{
		{"Login", []string{"Username", "alice", "Password", "pw", "v", "2"}, badInput},
		{"Login", []string{"Username", long, "Password", "pw"}, badInput},
		{"Login", []string{"Username", "alice", "Password", "wrong"}, authFailed},
		{"Login", []string{"Username", "nobody", "Password", "pw"}, authFailed},
		{"Login", []string{"Password", "pw"}, noUserOrPass},
		{"Login", []string{"Username", "alice"}, noUserOrPass},
		{"Login", []string{"Username", "alice", "Password", "null"}, noUserOrPass},

		{"Register", []string{"Username", "x", "Password", "pw", "CustomerId", "seven"}, badInput},
		{"Register", []string{"Username", "x", "Password", "pw", "CustomerId", "-7"}, badInput},
		{"Register", []string{"Username", long, "Password", "pw"}, badInput},
		{"Register", []string{"Username", "x", "Password", "pw", "Email", strings.Repeat("e", users.MaxEmail+1)}, badInput},
		{"Register", []string{"Username", "x"}, noUserOrPass},
		{"Register", []string{"Password", "pw"}, noUserOrPass},
		{"Register", []string{"Username", "ALICE", "Password", "pw"}, taken},
		{"Register", []string{"Username", "x", "Password", "pw", "CustomerId", "99"}, custNotFound},
		{"Register", []string{"Username", "x", "Password", "pw", "CustomerId", "8"}, custNotFound},

		{"Associate", []string{"Username", "alice", "CustomerId", "x"}, badInput},
		{"Associate", []string{"CustomerId", "7"}, badInput},
		{"Associate", []string{"Username", "nobody", "CustomerId", "7"}, userNotExist},
		{"Associate", []string{"Username", "alice", "CustomerId", "99"}, custNotFound},
		{"Associate", []string{"Username", "alice"}, custNotFound},

		{"Dissociate", []string{}, badInput},
		{"Dissociate", []string{"Username", "alice", "v", "0"}, badInput},
		{"Dissociate", []string{"Username", "nobody"}, userNotExist},

		{"GetUsers", []string{"CustomerId", "-1"}, badInput},
		{"GetUsers", []string{"CustomerId", "1.5"}, badInput},

		{"ChangePassword", []string{"Username", "alice", "NewPassword", "n", "AdminMode", "maybe"}, badInput},
		{"ChangePassword", []string{"Username", "alice", "NewPassword", "n"}, badInput},
		{"ChangePassword", []string{"Username", "alice", "OldPassword", "pw"}, noUserOrPass},
		{"ChangePassword", []string{"OldPassword", "pw", "NewPassword", "n"}, noUserOrPass},
		{"ChangePassword", []string{"Username", "alice", "OldPassword", "wrong", "NewPassword", "n"}, notUpdated},
		{"ChangePassword", []string{"Username", "alice", "PasswordResetToken", "bogus", "NewPassword", "n"}, notUpdated},
		{"ChangePassword", []string{"Username", "nobody", "NewPassword", "n", "AdminMode", "true"}, notUpdated},

		{"ResetPasswordToken", []string{"Username", long}, badInput},
		{"ResetPasswordToken", []string{}, noUser},
		{"ResetPasswordToken", []string{"Username", "nobody"}, resetFailed},

		{"RemoveUser", []string{"Username", long}, badInput},
		{"RemoveUser", []string{"Username", ""}, noUser},
		{"RemoveUser", []string{"Username", "nobody"}, userNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.method+"/"+tt.want[strings.Index(tt.want, `"message"`):], func(t *testing.T) {
			if got := e.call("admin", tt.method, tt.kv...); got != tt.want {
				t.Errorf("%s %v = %s, want %s", tt.method, tt.kv, got, tt.want)
			}
		})
	}
	// Nothing above changed alice.
	if got := e.must("normal", "Login", "Username", "alice", "Password", "pw"); got == emptyLicenses {
		t.Error("alice lost her customer")
	}
	if got := e.must("admin", "GetUsers"); strings.Count(got, `"username"`) != 1 {
		t.Errorf("failed calls created users: %s", got)
	}
}

// TestSingleUserCustomer: a customer without AllowMultipleUserAssociation
// takes one user, by Register or Associate, until that user leaves.
func TestSingleUserCustomer(t *testing.T) {
	e := newEnv(t)
	e.customerWith(account, 8, 1, false)
	const taken = `{"result":1,"message":"The customer already has a user and does not allow multiple user associations."}`
	e.must("admin", "Register", "Username", "alice", "Password", "pw", "CustomerId", "8")
	if got := e.call("admin", "Register", "Username", "bob", "Password", "pw", "CustomerId", "8"); got != taken {
		t.Errorf("Register with a taken customer = %s", got)
	}
	e.must("admin", "Register", "Username", "bob", "Password", "pw")
	if got := e.call("admin", "Associate", "Username", "bob", "CustomerId", "8"); got != taken {
		t.Errorf("Associate with a taken customer = %s", got)
	}
	e.must("admin", "Associate", "Username", "alice", "CustomerId", "8") // already hers
	e.must("admin", "Dissociate", "Username", "alice")
	e.must("admin", "Associate", "Username", "bob", "CustomerId", "8")
	e.must("admin", "RemoveUser", "Username", "bob")
	e.must("admin", "Register", "Username", "carol", "Password", "pw", "CustomerId", "8")
	if got := e.must("admin", "GetUsers", "CustomerId", "8"); !strings.Contains(got, `"username":"carol"`) || strings.Count(got, `"username"`) != 1 {
		t.Errorf("GetUsers CustomerId=8 = %s", got)
	}
}

// TestAccountIsolation checks that a token never sees another account's
// users or customers.
func TestAccountIsolation(t *testing.T) {
	e := newEnv(t)
	e.customer(account, 7, 1)
	e.must("admin", "Register", "Username", "alice", "Password", "pw", "CustomerId", "7")
	tests := []struct {
		method string
		kv     []string
		want   string
	}{
		{"GetUsers", nil, `{"users":[],"result":0,"message":""}`},
		{"Login", []string{"Username", "alice", "Password", "pw"}, authFailed},
		{"Associate", []string{"Username", "alice", "CustomerId", "7"}, userNotExist},
		{"Dissociate", []string{"Username", "alice"}, userNotExist},
		{"ResetPasswordToken", []string{"Username", "alice"}, resetFailed},
		{"ChangePassword", []string{"Username", "alice", "NewPassword", "x", "AdminMode", "true"}, notUpdated},
		{"RemoveUser", []string{"Username", "alice"}, userNotFound},
	}
	for _, tt := range tests {
		if got := e.call("otherAdmin", tt.method, tt.kv...); got != tt.want {
			t.Errorf("%s from another account = %s, want %s", tt.method, got, tt.want)
		}
	}
	// The other account can have its own alice.
	e.must("otherAdmin", "Register", "Username", "alice", "Password", "other")
	if got := e.must("normal", "Login", "Username", "alice", "Password", "pw"); got == emptyLicenses {
		t.Error("account 1's alice lost her licenses")
	}
}

// TestRemovedCustomer: a user whose customer was removed behaves as not
// associated in Login; GetUsers keeps showing the stored id.
func TestRemovedCustomer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.customer(account, 7, 3)
	e.must("admin", "Register", "Username", "alice", "Password", "pw", "CustomerId", "7")
	c, err := e.st.Customers.GetCustomer(ctx, account, 7)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.Customers.DeleteCustomer(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := e.must("normal", "Login", "Username", "alice", "Password", "pw"); got != emptyLicenses {
		t.Errorf("Login after the customer was removed = %s", got)
	}
	if got := e.must("admin", "GetUsers"); !strings.Contains(got, `"customerId":7`) {
		t.Errorf("GetUsers = %s, want the stored customer id 7", got)
	}
	// Licenses that still point at a customer that no longer exists (a
	// removal interrupted half-way) are not shown either.
	e.customer(account, 5, 0)
	e.must("admin", "Register", "Username", "bob", "Password", "pw", "CustomerId", "5")
	c5, _ := e.st.Customers.GetCustomer(ctx, account, 5)
	if err := e.st.Customers.DeleteCustomer(ctx, c5); err != nil {
		t.Fatal(err)
	}
	e.licenses(account, 5, 1)
	if got := e.must("normal", "Login", "Username", "bob", "Password", "pw"); got != emptyLicenses {
		t.Errorf("Login with dangling licenses = %s", got)
	}
	e.must("admin", "Dissociate", "Username", "alice")
	if got := e.must("admin", "GetUsers", "CustomerId", "7"); got != `{"users":[],"result":0,"message":""}` {
		t.Errorf("GetUsers CustomerId=7 after Dissociate = %s", got)
	}
}

func TestResetTokenSingleUseAndExpiry(t *testing.T) {
	e := newEnv(t)
	e.must("admin", "Register", "Username", "alice", "Password", "pw")
	token := func() string {
		var rt struct {
			PasswordResetToken string `json:"passwordResetToken"`
		}
		_ = json.Unmarshal([]byte(e.must("admin", "ResetPasswordToken", "Username", "alice")), &rt)
		return rt.PasswordResetToken
	}
	change := func(tok, pw string) string {
		return e.call("normal", "ChangePassword", "Username", "alice", "PasswordResetToken", tok, "NewPassword", pw)
	}
	tok := token()
	if got := change(tok, "one"); got != ok {
		t.Fatalf("first use = %s", got)
	}
	if got := change(tok, "two"); got != notUpdated {
		t.Errorf("second use = %s, want %s", got, notUpdated)
	}
	tok = token()
	e.advance(users.DefaultResetTTL)
	if got := change(tok, "three"); got != notUpdated {
		t.Errorf("expired token = %s, want %s", got, notUpdated)
	}
	tok = token()
	e.advance(users.DefaultResetTTL - time.Minute)
	if got := change(tok, "four"); got != ok {
		t.Errorf("token a minute before expiry = %s", got)
	}
	e.must("normal", "Login", "Username", "alice", "Password", "four")
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t)
	e.must("admin", "Register", "Username", "alice", "Password", "pw")
	e.must("admin", "Register", "Username", "bob", "Password", "pw")
	for i := 0; i < users.DefaultMaxAttempts; i++ {
		if got := e.call("normal", "Login", "Username", "alice", "Password", "guess"); got != authFailed {
			t.Fatalf("guess %d = %s", i, got)
		}
	}
	// Limited: the right password gets the same answer, and so does the
	// old-password mode of ChangePassword.
	if got := e.call("normal", "Login", "Username", "Alice", "Password", "pw"); got != authFailed {
		t.Errorf("right password while limited = %s, want %s", got, authFailed)
	}
	if got := e.call("normal", "ChangePassword", "Username", "alice", "OldPassword", "pw", "NewPassword", "x"); got != notUpdated {
		t.Errorf("ChangePassword while limited = %s, want %s", got, notUpdated)
	}
	// An unknown name is limited the same way (no oracle).
	for i := 0; i <= users.DefaultMaxAttempts; i++ {
		if got := e.call("normal", "Login", "Username", "nobody", "Password", "guess"); got != authFailed {
			t.Fatalf("unknown user %d = %s", i, got)
		}
	}
	e.must("normal", "Login", "Username", "bob", "Password", "pw")
	e.advance(users.DefaultWindow)
	e.must("normal", "Login", "Username", "alice", "Password", "pw")
	// Successful logins do not use up the window.
	for i := 0; i < 2*users.DefaultMaxAttempts; i++ {
		e.must("normal", "Login", "Username", "alice", "Password", "pw")
	}
}

// TestConcurrency races 20 requests: one username is registered once, one
// reset token changes the password once, and 20 parallel guesses get at
// most the window's attempts.
func TestConcurrency(t *testing.T) {
	e := newEnv(t)
	e.must("admin", "Register", "Username", "alice", "Password", "pw")
	e.must("admin", "Register", "Username", "bob", "Password", "pw")
	var rt struct {
		PasswordResetToken string `json:"passwordResetToken"`
	}
	_ = json.Unmarshal([]byte(e.must("admin", "ResetPasswordToken", "Username", "alice")), &rt)
	tests := []struct {
		name    string
		call    func(i int) string
		success string
		failure string
		want    int64
	}{
		{"Register", func(i int) string {
			return e.call("admin", "Register", "Username", []string{"dave", "Dave", "DAVE"}[i%3], "Password", "pw")
		}, ok, taken, 1},
		{"ChangePassword with one reset token", func(i int) string {
			return e.call("normal", "ChangePassword", "Username", "alice", "PasswordResetToken", rt.PasswordResetToken, "NewPassword", "new")
		}, ok, notUpdated, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var wins atomic.Int64
			var wg sync.WaitGroup
			for i := 0; i < 20; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					switch got := tt.call(i); got {
					case tt.success:
						wins.Add(1)
					case tt.failure:
					default:
						t.Errorf("unexpected answer %s", got)
					}
				}(i)
			}
			wg.Wait()
			if wins.Load() != tt.want {
				t.Errorf("%d successes, want %d", wins.Load(), tt.want)
			}
		})
	}
	// 20 parallel guesses when one attempt is left in bob's window: each
	// reserves an attempt before verifying, so exactly one is verified and
	// the window's counter ends at the limit, not above it.
	for i := 0; i < users.DefaultMaxAttempts-1; i++ {
		e.call("normal", "Login", "Username", "bob", "Password", "guess")
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := e.call("normal", "Login", "Username", "bob", "Password", "guess"); got != authFailed {
				t.Errorf("parallel guess = %s", got)
			}
		}()
	}
	wg.Wait()
	window := e.clock().UnixNano() / int64(users.DefaultWindow)
	out, err := e.db.API.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(e.table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "UL#1#bob"},
			"sk": &types.AttributeValueMemberS{Value: "W#" + strconv.FormatInt(window, 10)},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := out.Item["attempts"].(*types.AttributeValueMemberN); n == nil || n.Value != strconv.Itoa(users.DefaultMaxAttempts) {
		t.Errorf("attempts after the parallel guesses = %v, want %d", out.Item["attempts"], users.DefaultMaxAttempts)
	}
	if got := e.call("normal", "Login", "Username", "bob", "Password", "pw"); got != authFailed {
		t.Errorf("after parallel guesses = %s, want %s", got, authFailed)
	}
	if got := e.must("admin", "GetUsers"); strings.Count(got, `"username":"`) != 3 {
		t.Errorf("users after the race: %s", got)
	}
}

// TestRoundTrips pins the DynamoDB calls of each method (the token is
// cached, as in a warm Lambda). Calls that run in parallel are listed in
// the method's doc; the count here is the total.
func TestRoundTrips(t *testing.T) {
	e := newEnv(t)
	e.customer(account, 7, 3)
	for role := range e.tok {
		e.call(role, "GetUsers") // warm the token cache
	}
	e.must("admin", "Register", "Username", "carl", "Password", "pw")
	tests := []struct {
		method string
		kv     []string
		want   int64
	}{
		// CustomerExists (1) + TransactWriteItems (user, customer's user count).
		{"Register", []string{"Username", "alice", "Password", "pw", "CustomerId", "7"}, 2},
		{"Register", []string{"Username", "bob", "Password", "pw"}, 1},
		// GetItem user || UpdateItem reserve; then UpdateItem release ||
		// GetItem customer || Query gsi3; then BatchGetItem licenses.
		{"Login", []string{"Username", "alice", "Password", "pw"}, 6},
		// GetItem user || UpdateItem reserve; then UpdateItem release.
		{"Login", []string{"Username", "bob", "Password", "pw"}, 3},
		// GetItem user || UpdateItem reserve; then UpdateItem failure (a
		// locked username costs the same: the refusal is counted instead).
		{"Login", []string{"Username", "bob", "Password", "wrong"}, 3},
		{"Login", []string{"Username", "nobody", "Password", "wrong"}, 3},
		// GetItem user + TransactWriteItems (user, customer's user count).
		{"Associate", []string{"Username", "bob", "CustomerId", "7"}, 2},
		{"Dissociate", []string{"Username", "bob"}, 2},
		{"GetUsers", nil, 1},
		// Query gsi3 + BatchGetItem of the customer's users.
		{"GetUsers", []string{"CustomerId", "7"}, 2},
		{"ResetPasswordToken", []string{"Username", "bob"}, 1},
		// GetItem user || reserve; release; UpdateItem.
		{"ChangePassword", []string{"Username", "bob", "OldPassword", "pw", "NewPassword", "pw2"}, 4},
		{"ChangePassword", []string{"Username", "bob", "NewPassword", "pw3", "AdminMode", "true"}, 1},
		// GetItem user (for its customer) + DeleteItem.
		{"RemoveUser", []string{"Username", "carl"}, 2},
	}
	for _, tt := range tests {
		before := e.db.Total()
		e.call("both", tt.method, tt.kv...)
		if got := e.db.Total() - before; got != tt.want {
			t.Errorf("%s %v: %d DynamoDB calls, want %d", tt.method, tt.kv, got, tt.want)
		}
	}
	var rt struct {
		PasswordResetToken string `json:"passwordResetToken"`
	}
	_ = json.Unmarshal([]byte(e.must("admin", "ResetPasswordToken", "Username", "bob")), &rt)
	before := e.db.Total()
	e.must("normal", "ChangePassword", "Username", "bob", "PasswordResetToken", rt.PasswordResetToken, "NewPassword", "pw4")
	// GetItem user, then the conditional UpdateItem.
	if got := e.db.Total() - before; got != 2 {
		t.Errorf("ChangePassword with a reset token: %d DynamoDB calls, want 2", got)
	}
}
