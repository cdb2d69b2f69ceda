// Package users is the end-user domain of the userauth API group: users
// that log in with a username and password to obtain the licenses of the
// customer they are associated with, password hashing (argon2id), password
// reset tokens and the per-user limit on login attempts. It imports nothing
// from AWS; shared/dynamo/userstore implements Store and
// shared/dynamo/stores provides Customers.
//
// Rules:
//   - A user belongs to one account; usernames are unique within the
//     account, compared case-insensitively (see Key), and kept as
//     registered for display. Leading and trailing white space of a
//     username is ignored everywhere.
//   - Passwords are stored only as argon2id hashes with their salt and
//     parameters (PHC string format).
//   - Login and ChangePassword with an old password are guessing oracles,
//     so both first reserve an attempt in the username's login window
//     (fixed windows aligned to the epoch): at most MaxAttempts attempts
//     per Window are failed or in flight, so however many guesses arrive
//     at once, at most MaxAttempts passwords are verified against the
//     user's hash per window. A successful attempt gives its reservation
//     back; a failed one stays counted as a failure. A reservation refused
//     only because other attempts are in flight (failures still below the
//     limit) waits briefly and retries, so parallel correct logins all
//     succeed; if the attempts stay in flight too long the answer is
//     apierr.PasswordBusy (not a failure). The limit is per username
//     whether or not the user exists, so it reveals nothing either.
//   - A locked username (MaxAttempts failures in the window), an unknown
//     one and a wrong password cost the same work and get the same
//     answer: one password derivation (against a dummy hash when there is
//     nothing to verify) and one write to the attempt record.
//   - Every password derivation runs in a slot of the process's HashGate
//     (HashSlots, sized from the function's memory and CPUs); when none
//     frees up within its wait, the request gets apierr.PasswordBusy.
//   - A password reset token is 32 random bytes (base64url); only its
//     SHA-256 is stored, with an expiry. It is consumed by the conditional
//     write that sets the new password, so it works once; a new token
//     replaces the previous one; any password change voids it.
//   - A user associated with a customer that was removed is treated as not
//     associated by Login (no licenses). GetUsers still shows the stored
//     customer id until Associate or Dissociate changes it.
package users

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/keys"
)

// Limits on input sizes. Usernames are bounded in characters so that the
// item keys built from them stay far below DynamoDB's key size limits;
// passwords in bytes to bound the work per request.
const (
	MaxUsername = 128
	MaxEmail    = 254
	MaxPassword = 1024
)

// Defaults of the service's policies.
const (
	// DefaultMaxAttempts is the number of unsuccessful login attempts a
	// username gets per window.
	DefaultMaxAttempts = 5
	// DefaultWindow is the login window length.
	DefaultWindow = 15 * time.Minute
	// DefaultResetTTL is how long a password reset token is valid.
	DefaultResetTTL = 24 * time.Hour
)

// resetTokenBytes is the entropy of a password reset token.
const resetTokenBytes = 32

// User is a stored end user.
type User struct {
	AccountID int64
	// Username is the name as registered (see Key for uniqueness).
	Username string
	// Email is optional (nil when not given).
	Email   *string
	Created time.Time
	// CustomerID is the associated customer, 0 for none.
	CustomerID int64
	// PasswordHash is the PHC-encoded argon2id hash of the password.
	PasswordHash string
	// ResetTokenHash is the SHA-256 of the outstanding password reset
	// token (nil when there is none); ResetExpires is its expiry.
	ResetTokenHash []byte
	ResetExpires   time.Time
}

// PasswordUpdate is a conditional password change. The store applies it
// only when the user exists and the precondition holds, and it removes any
// outstanding reset token in the same write.
type PasswordUpdate struct {
	// Hash is the new PHC-encoded hash.
	Hash string
	// IfHash, when set, requires the stored hash to equal it (the old
	// password was verified against that hash).
	IfHash string
	// IfResetToken, when set, requires the stored reset token hash to
	// equal it and ResetExpires to be after Now.
	IfResetToken []byte
	Now          time.Time
	// KeepResetToken leaves an outstanding reset token in place (a
	// re-hash of the same password is not a password change).
	KeepResetToken bool
}

// Store persists users and login attempts.
type Store interface {
	// CreateUser stores a new user; apierr.Conflict when the account has
	// a user with the same Key. A user with a customer takes a user slot
	// on it in the same write: ErrNoCustomer, ErrCustomerHasUser.
	CreateUser(ctx context.Context, u User) error
	// GetUser returns the user (strongly consistent) or apierr.NotFound.
	GetUser(ctx context.Context, accountID int64, username string) (User, error)
	// ListUsers returns the account's users ordered by Key; a non-zero
	// customerID keeps only users associated with it.
	ListUsers(ctx context.Context, accountID, customerID int64) ([]User, error)
	// SetUserCustomer moves the user from customer `from` to `to` (0:
	// none; from != to), giving back the slot on `from` and taking one on
	// `to` in the same write. apierr.Conflict when the user does not
	// exist or its customer is not `from`; ErrNoCustomer,
	// ErrCustomerHasUser for `to`.
	SetUserCustomer(ctx context.Context, accountID int64, username string, from, to int64) error
	// SetUserPassword applies u; apierr.NotFound when the user does not
	// exist, apierr.Conflict when the precondition fails.
	SetUserPassword(ctx context.Context, accountID int64, username string, u PasswordUpdate) error
	// SetUserResetToken stores a reset token hash and expiry, replacing any
	// previous one; apierr.NotFound when the user does not exist.
	SetUserResetToken(ctx context.Context, accountID int64, username string, hash []byte, expires time.Time) error
	// DeleteUser removes the user and gives back its slot on customerID;
	// apierr.Conflict when the user does not exist or its customer is not
	// customerID.
	DeleteUser(ctx context.Context, accountID int64, username string, customerID int64) error
	// ReserveLoginAttempt atomically counts one attempt in flight for the
	// username in the window with the given index, unless max attempts
	// (failed or in flight) are already counted there: then ErrLoginLocked
	// when max of them failed, ErrAttemptsInFlight otherwise. The window's
	// record may be removed after expires.
	ReserveLoginAttempt(ctx context.Context, accountID int64, username string, window, max int64, expires time.Time) error
	// EndLoginAttempt records how an attempt in the window ended (see
	// AttemptOutcome).
	EndLoginAttempt(ctx context.Context, accountID int64, username string, window int64, o AttemptOutcome) error
	// PutLoginToken stores a one-time login token (by its hash; the store
	// may remove it after Expires).
	PutLoginToken(ctx context.Context, t LoginToken) error
	// TakeLoginToken removes the account's login token with the hash and
	// returns it, if it has not expired at now: of concurrent takes of one
	// token exactly one gets it. apierr.NotFound otherwise (unknown,
	// already taken, expired, or another account's).
	TakeLoginToken(ctx context.Context, accountID int64, hash []byte, now time.Time) (LoginToken, error)
}

// AttemptOutcome is how a login attempt ended.
type AttemptOutcome int

// Attempt outcomes.
const (
	// AttemptReleased gives a reserved attempt back: the password was
	// right, or it was never verified (busy, store failure).
	AttemptReleased AttemptOutcome = iota
	// AttemptFailed keeps a reserved attempt counted, as a failure.
	AttemptFailed
	// AttemptRefused counts an attempt refused because the window was
	// locked (nothing was reserved); it only keeps that path's work equal
	// to a failure's.
	AttemptRefused
)

// Errors of ReserveLoginAttempt.
var (
	// ErrLoginLocked: the window holds max failed attempts.
	ErrLoginLocked = errors.New("users: too many failed login attempts in this window")
	// ErrAttemptsInFlight: the window holds max attempts, some of them
	// still being verified.
	ErrAttemptsInFlight = errors.New("users: the window's attempts are in flight")
)

// Store errors about the customer a user is being associated with.
var (
	// ErrNoCustomer: the customer does not exist.
	ErrNoCustomer = errors.New("customer does not exist")
	// ErrCustomerHasUser: the customer has a user and does not allow
	// multiple user associations.
	ErrCustomerHasUser = errors.New("customer allows one user and has one")
)

// Customers is what the user domain needs from the customer domain.
// shared/dynamo/stores implements it (UserCustomers).
type Customers interface {
	// CustomerExists returns apierr.NotFound when the customer does not exist in the account.
	CustomerExists(ctx context.Context, accountID, customerID int64) error
	// CustomerKeys returns the customer's license keys, [] if none.
	CustomerKeys(ctx context.Context, accountID, customerID int64) ([]keys.Record, error)
}

// Key returns the form of a username that is unique within an account:
// trimmed and lower-cased.
func Key(username string) string { return strings.ToLower(strings.TrimSpace(username)) }

// DefaultLoginWait is how long, in total, a login waits for attempts of
// the same username that are in flight (see Service.reserve).
const DefaultLoginWait = 3 * time.Second

// Backoff of a reservation refused because of attempts in flight: the
// first wait and the longest one (each wait is halved to fully jittered).
const (
	reserveFirstDelay = 10 * time.Millisecond
	reserveMaxDelay   = 200 * time.Millisecond
)

// Service implements the userauth methods.
type Service struct {
	store       Store
	customers   Customers
	now         func() time.Time
	rand        io.Reader
	hasher      *Hasher
	gate        *HashGate
	maxAttempts int64
	window      time.Duration
	resetTTL    time.Duration
	loginWait   time.Duration
	sleep       func(ctx context.Context, d time.Duration) error
	log         *slog.Logger
	// loginTokenTTL is the lifetime of one-time login tokens (0: the
	// default).
	loginTokenTTL time.Duration
}

// NewService returns a Service with DefaultParams, DefaultMaxAttempts per
// DefaultWindow, DefaultResetTTL, DefaultLoginWait and a HashGate of
// HashSlots(DefaultParams, 0, runtime.NumCPU()) slots and DefaultHashWait
// (use WithHashGate to size it from the function's memory). rand supplies
// salts, reset tokens and backoff jitter.
func NewService(st Store, customers Customers, now func() time.Time, rand io.Reader) *Service {
	return &Service{store: st, customers: customers, now: now, rand: rand, hasher: NewHasher(DefaultParams, rand),
		gate:        NewHashGate(HashSlots(DefaultParams, 0, runtime.NumCPU()), DefaultHashWait),
		maxAttempts: DefaultMaxAttempts, window: DefaultWindow, resetTTL: DefaultResetTTL,
		loginWait: DefaultLoginWait, sleep: sleepCtx, log: slog.Default()}
}

// WithLogger returns a copy of s that reports best-effort writes that
// failed (slog.Default() until set).
func (s *Service) WithLogger(l *slog.Logger) *Service {
	c := *s
	c.log = l
	return &c
}

// WithHashGate returns a copy of s whose password hashes run in g's
// slots (share one gate per process).
func (s *Service) WithHashGate(g *HashGate) *Service {
	c := *s
	c.gate = g
	return &c
}

// sleepCtx waits d or until ctx ends (then it returns ctx.Err()).
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WithParams returns a copy of s that hashes new passwords with p
// (existing hashes keep their own parameters).
func (s *Service) WithParams(p Params) *Service {
	c := *s
	c.hasher = NewHasher(p, s.rand)
	return &c
}

// Registration is the input of Register.
type Registration struct {
	Username string
	Password string
	// Email is optional ("" for none).
	Email string
	// CustomerID is optional (0 for none).
	CustomerID int64
}

// validUsername checks a trimmed username; errMissing is returned for an
// empty one.
func validUsername(username string, errMissing error) (string, error) {
	u := strings.TrimSpace(username)
	if u == "" {
		return "", errMissing
	}
	if !utf8.ValidString(u) || utf8.RuneCountInString(u) > MaxUsername {
		return "", apierr.BadInput
	}
	return u, nil
}

func validPassword(p string) error {
	if p == "" {
		return apierr.NoUsernameOrPassword
	}
	if len(p) > MaxPassword {
		return apierr.BadInput
	}
	return nil
}

// Register creates a user. Errors: apierr.NoUsernameOrPassword,
// apierr.BadInput (too long, invalid UTF-8, negative customer id),
// apierr.UserCustomerNotFound, apierr.CustomerHasUser,
// apierr.UsernameTaken, apierr.PasswordBusy.
func (s *Service) Register(ctx context.Context, accountID int64, r Registration) (User, error) {
	username, err := validUsername(r.Username, apierr.NoUsernameOrPassword)
	if err != nil {
		return User{}, err
	}
	if err := validPassword(r.Password); err != nil {
		return User{}, err
	}
	email := strings.TrimSpace(r.Email)
	if !utf8.ValidString(email) || utf8.RuneCountInString(email) > MaxEmail || r.CustomerID < 0 {
		return User{}, apierr.BadInput
	}
	if r.CustomerID != 0 {
		// Fails early (before the costly hash); the write checks again.
		if err := s.customerExists(ctx, accountID, r.CustomerID); err != nil {
			return User{}, err
		}
	}
	hash, err := s.hash(ctx, r.Password)
	if err != nil {
		return User{}, err
	}
	u := User{AccountID: accountID, Username: username, Created: s.now().UTC().Truncate(time.Second), CustomerID: r.CustomerID, PasswordHash: hash}
	if email != "" {
		u.Email = &email
	}
	err = s.store.CreateUser(ctx, u)
	if errors.Is(err, apierr.Conflict) {
		return User{}, apierr.UsernameTaken
	}
	if err != nil {
		return User{}, customerError(err)
	}
	return u, nil
}

func (s *Service) customerExists(ctx context.Context, accountID, customerID int64) error {
	err := s.customers.CustomerExists(ctx, accountID, customerID)
	if errors.Is(err, apierr.NotFound) {
		return apierr.UserCustomerNotFound
	}
	return err
}

// attempt is a login attempt in one window.
type attempt struct {
	window int64
}

// windowOf returns the index of the login window containing t and when
// that window's record may be removed (a window after its end).
func (s *Service) windowOf(t time.Time) (int64, time.Time) {
	w := t.UnixNano() / int64(s.window)
	return w, time.Unix(0, (w+2)*int64(s.window))
}

// errNoMatch is checkPassword's answer for an unknown user, a wrong
// password and a locked username alike.
var errNoMatch = errors.New("users: unknown user, wrong password or locked username")

// hash hashes a new password in a slot of the gate. Errors:
// apierr.PasswordBusy, the context's error.
func (s *Service) hash(ctx context.Context, password string) (string, error) {
	var h string
	var err error
	if gerr := s.gate.do(ctx, func() { h, err = s.hasher.Hash(password) }); gerr != nil {
		return "", gerr
	}
	return h, err
}

// reserve reserves an attempt for the username in the current window. A
// reservation refused only because other attempts are in flight is
// retried with jittered exponential backoff for up to loginWait in total.
// Errors: ErrLoginLocked (the attempt's window is still returned),
// apierr.PasswordBusy (still in flight after the wait), store errors.
func (s *Service) reserve(ctx context.Context, accountID int64, username string) (attempt, error) {
	delay, waited := reserveFirstDelay, time.Duration(0)
	for {
		w, exp := s.windowOf(s.now())
		err := s.store.ReserveLoginAttempt(ctx, accountID, username, w, s.maxAttempts, exp)
		if !errors.Is(err, ErrAttemptsInFlight) {
			return attempt{window: w}, err
		}
		if waited >= s.loginWait {
			return attempt{window: w}, apierr.PasswordBusy
		}
		d := min(s.jitter(delay), s.loginWait-waited)
		if err := s.sleep(ctx, d); err != nil {
			return attempt{window: w}, err
		}
		waited += d
		delay = min(2*delay, reserveMaxDelay)
	}
}

// jitter returns a duration in [d/2, d] (from the service's randomness).
func (s *Service) jitter(d time.Duration) time.Duration {
	var b [2]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return d
	}
	return d/2 + time.Duration(int64(d/2)*int64(binary.BigEndian.Uint16(b[:]))/0xffff)
}

// end records how an attempt ended, even when the request is cancelled
// meanwhile. It is best effort: a lost release (logged) keeps the attempt
// counted (as if it were in flight) until the window ends.
func (s *Service) end(ctx context.Context, accountID int64, username string, a attempt, o AttemptOutcome) {
	if err := s.store.EndLoginAttempt(context.WithoutCancel(ctx), accountID, username, a.window, o); err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "users: login attempt not released; it counts against the username until its window ends",
			slog.Int64("accountId", accountID), slog.Int64("window", a.window), slog.String("error", err.Error()))
	}
}

// checkPassword reserves an attempt in the username's login window and
// verifies password. The reservation and the user read run in parallel
// (both are needed whatever the other's outcome). On success it returns
// the user and the reservation, which the caller gives back (end with
// AttemptReleased). An unknown user, a wrong password and a locked
// username are errNoMatch, each after one derivation in a gate slot and
// one attempt write. Errors besides: apierr.PasswordBusy (nothing counted
// as failed), store errors.
func (s *Service) checkPassword(ctx context.Context, accountID int64, username, password string) (User, attempt, error) {
	var u User
	var userErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		u, userErr = s.store.GetUser(ctx, accountID, username)
	}()
	a, resErr := s.reserve(ctx, accountID, username)
	wg.Wait()
	switch {
	case errors.Is(resErr, ErrLoginLocked):
		busy := s.gate.do(ctx, func() { s.hasher.VerifyDummy(password) })
		s.end(ctx, accountID, username, a, AttemptRefused)
		if busy != nil {
			return User{}, attempt{}, busy
		}
		return User{}, attempt{}, errNoMatch
	case resErr != nil:
		return User{}, attempt{}, resErr
	case userErr != nil && !errors.Is(userErr, apierr.NotFound):
		s.end(ctx, accountID, username, a, AttemptReleased)
		return User{}, attempt{}, userErr
	}
	var ok bool
	var verr error
	if busy := s.gate.do(ctx, func() {
		if userErr != nil {
			s.hasher.VerifyDummy(password)
			return
		}
		ok, verr = s.hasher.Verify(u.PasswordHash, password)
	}); busy != nil {
		s.end(ctx, accountID, username, a, AttemptReleased)
		return User{}, attempt{}, busy
	}
	if !ok || verr != nil || userErr != nil {
		s.end(ctx, accountID, username, a, AttemptFailed)
		if verr != nil {
			return User{}, attempt{}, fmt.Errorf("user %q: %w", u.Username, verr)
		}
		return User{}, attempt{}, errNoMatch
	}
	return u, a, nil
}

// Login authenticates a user and returns the licenses of the associated
// customer (none when there is no customer or it was removed). Errors:
// apierr.NoUsernameOrPassword, apierr.BadInput, apierr.UserAuthFailed for
// an unknown user, a wrong password and a reached attempt limit alike, and
// apierr.PasswordBusy.
func (s *Service) Login(ctx context.Context, accountID int64, username, password string) ([]keys.Record, error) {
	username, err := validUsername(username, apierr.NoUsernameOrPassword)
	if err != nil {
		return nil, err
	}
	if password == "" {
		return nil, apierr.NoUsernameOrPassword
	}
	if len(password) > MaxPassword {
		return nil, apierr.UserAuthFailed
	}
	u, a, err := s.checkPassword(ctx, accountID, username, password)
	if errors.Is(err, errNoMatch) {
		return nil, apierr.UserAuthFailed
	}
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.end(ctx, accountID, username, a, AttemptReleased)
	}()
	go func() {
		defer wg.Done()
		s.rehash(ctx, u, password)
	}()
	recs, err := s.customerKeys(ctx, accountID, u.CustomerID)
	wg.Wait()
	return recs, err
}

// rehash replaces u's verified password hash with one made with the
// current parameters when they differ. It is best effort (the next Login
// tries again; it is skipped when no gate slot is free right now) and
// conditioned on the hash read, so a password changed meanwhile is never
// overwritten.
func (s *Service) rehash(ctx context.Context, u User, password string) {
	if !s.hasher.NeedsRehash(u.PasswordHash) {
		return
	}
	var hash string
	var err error
	if !s.gate.try(func() { hash, err = s.hasher.Hash(password) }) || err != nil {
		return
	}
	err = s.store.SetUserPassword(context.WithoutCancel(ctx), u.AccountID, u.Username,
		PasswordUpdate{Hash: hash, IfHash: u.PasswordHash, KeepResetToken: true})
	if err != nil && !errors.Is(err, apierr.Conflict) && !errors.Is(err, apierr.NotFound) {
		s.log.LogAttrs(ctx, slog.LevelWarn, "users: password hash not upgraded; the next login tries again",
			slog.Int64("accountId", u.AccountID), slog.String("error", err.Error()))
	}
}

// customerKeys returns the licenses of the customer, or none when id is 0
// or the customer does not exist (any more). The existence check and the
// key listing run in parallel.
func (s *Service) customerKeys(ctx context.Context, accountID, customerID int64) ([]keys.Record, error) {
	if customerID == 0 {
		return []keys.Record{}, nil
	}
	var existsErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		existsErr = s.customers.CustomerExists(ctx, accountID, customerID)
	}()
	recs, err := s.customers.CustomerKeys(ctx, accountID, customerID)
	wg.Wait()
	if errors.Is(existsErr, apierr.NotFound) {
		return []keys.Record{}, nil
	}
	if existsErr != nil {
		return nil, existsErr
	}
	if err != nil {
		return nil, err
	}
	if recs == nil {
		recs = []keys.Record{}
	}
	return recs, nil
}

// Associate associates the user with a customer of the account. A
// customer without AllowMultipleUserAssociation takes one user. Errors:
// apierr.BadInput (no username, invalid customer id),
// apierr.UserCustomerNotFound, apierr.CustomerHasUser,
// apierr.UsernameDoesNotExist.
func (s *Service) Associate(ctx context.Context, accountID int64, username string, customerID int64) error {
	username, err := validUsername(username, apierr.BadInput)
	if err != nil {
		return err
	}
	if customerID < 0 {
		return apierr.BadInput
	}
	if customerID == 0 {
		return apierr.UserCustomerNotFound
	}
	return s.moveUser(ctx, accountID, username, customerID, apierr.UsernameDoesNotExist)
}

// Dissociate removes the user's customer association. Errors:
// apierr.BadInput (no username), apierr.UsernameDoesNotExist.
func (s *Service) Dissociate(ctx context.Context, accountID int64, username string) error {
	username, err := validUsername(username, apierr.BadInput)
	if err != nil {
		return err
	}
	return s.moveUser(ctx, accountID, username, 0, apierr.UsernameDoesNotExist)
}

// maxMoveAttempts bounds the retries of a user write that keeps losing
// races with other changes of the same user.
const maxMoveAttempts = 20

// moveUser associates the user with customer `to` (0: none). The user is read for its current customer and the write is
// conditioned on it; a lost race is retried. A missing user is notFound.
func (s *Service) moveUser(ctx context.Context, accountID int64, username string, to int64, notFound error) error {
	return s.withUser(ctx, accountID, username, notFound, func(u User) error {
		if u.CustomerID == to {
			if to == 0 {
				return nil
			}
			return s.customerExists(ctx, accountID, to)
		}
		return s.store.SetUserCustomer(ctx, accountID, username, u.CustomerID, to)
	})
}

// withUser reads the user and runs write with it until write succeeds or
// fails other than with apierr.Conflict (the user changed or vanished
// since the read). A missing user is notFound.
func (s *Service) withUser(ctx context.Context, accountID int64, username string, notFound error, write func(User) error) error {
	for attempt := 0; ; attempt++ {
		u, err := s.store.GetUser(ctx, accountID, username)
		if errors.Is(err, apierr.NotFound) {
			return notFound
		}
		if err != nil {
			return err
		}
		err = write(u)
		if !errors.Is(err, apierr.Conflict) || attempt == maxMoveAttempts {
			return customerError(err)
		}
	}
}

// customerError maps the store's customer errors to API errors.
func customerError(err error) error {
	switch {
	case errors.Is(err, ErrNoCustomer):
		return apierr.UserCustomerNotFound
	case errors.Is(err, ErrCustomerHasUser):
		return apierr.CustomerHasUser
	}
	return err
}

// List returns the account's users (ordered by Key), only those of
// customerID when it is non-zero. Errors: apierr.BadInput for a negative
// customer id.
func (s *Service) List(ctx context.Context, accountID, customerID int64) ([]User, error) {
	if customerID < 0 {
		return nil, apierr.BadInput
	}
	us, err := s.store.ListUsers(ctx, accountID, customerID)
	if err != nil {
		return nil, err
	}
	if us == nil {
		us = []User{}
	}
	return us, nil
}

// PasswordChange is the input of ChangePassword. The mode is chosen in
// this order: AdminMode (the caller must have checked the admin
// permission), ResetToken, OldPassword.
type PasswordChange struct {
	Username    string
	NewPassword string
	OldPassword string
	ResetToken  string
	AdminMode   bool
}

// ChangePassword sets a new password and voids any reset token. Errors:
// apierr.NoUsernameOrPassword (no username or new password),
// apierr.BadInput (too long, or no old password, reset token or admin
// mode), apierr.PasswordBusy, and apierr.PasswordNotUpdated for an unknown
// user, a wrong old password, a wrong, used or expired reset token, a
// reached attempt limit (old-password mode counts against the login limit)
// and a concurrent change.
func (s *Service) ChangePassword(ctx context.Context, accountID int64, c PasswordChange) error {
	username, err := validUsername(c.Username, apierr.NoUsernameOrPassword)
	if err != nil {
		return err
	}
	if err := validPassword(c.NewPassword); err != nil {
		return err
	}
	var upd PasswordUpdate
	var a *attempt
	switch {
	case c.AdminMode:
	case c.ResetToken != "":
		u, err := s.store.GetUser(ctx, accountID, username)
		if errors.Is(err, apierr.NotFound) {
			return apierr.PasswordNotUpdated
		}
		if err != nil {
			return err
		}
		// Check the token before hashing anything: a wrong token costs no
		// hashing work whether or not the user exists.
		h := hashToken(c.ResetToken)
		if len(u.ResetTokenHash) == 0 || subtle.ConstantTimeCompare(h, u.ResetTokenHash) != 1 || !s.now().Before(u.ResetExpires) {
			return apierr.PasswordNotUpdated
		}
		upd.IfResetToken = h
	case c.OldPassword != "":
		if len(c.OldPassword) > MaxPassword {
			return apierr.PasswordNotUpdated
		}
		u, at, err := s.checkPassword(ctx, accountID, username, c.OldPassword)
		if errors.Is(err, errNoMatch) {
			return apierr.PasswordNotUpdated
		}
		if err != nil {
			return err
		}
		upd.IfHash, a = u.PasswordHash, &at
	default:
		return apierr.BadInput
	}
	if a != nil {
		defer s.end(ctx, accountID, username, *a, AttemptReleased)
	}
	if upd.Hash, err = s.hash(ctx, c.NewPassword); err != nil {
		return err
	}
	upd.Now = s.now()
	err = s.store.SetUserPassword(ctx, accountID, username, upd)
	if errors.Is(err, apierr.NotFound) || errors.Is(err, apierr.Conflict) {
		return apierr.PasswordNotUpdated
	}
	return err
}

// ResetToken creates a password reset token for the user, replacing any
// previous one, and returns it (it is not stored, only its hash). Errors:
// apierr.NoUsername, apierr.BadInput, apierr.ResetTokenFailed (unknown
// user).
func (s *Service) ResetToken(ctx context.Context, accountID int64, username string) (string, error) {
	username, err := validUsername(username, apierr.NoUsername)
	if err != nil {
		return "", err
	}
	b := make([]byte, resetTokenBytes)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("reset token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	err = s.store.SetUserResetToken(ctx, accountID, username, hashToken(token), s.now().Add(s.resetTTL))
	if errors.Is(err, apierr.NotFound) {
		return "", apierr.ResetTokenFailed
	}
	if err != nil {
		return "", err
	}
	return token, nil
}

// Remove deletes the user (giving back its customer's user slot). Errors:
// apierr.NoUsername, apierr.BadInput, apierr.UserNotFound.
func (s *Service) Remove(ctx context.Context, accountID int64, username string) error {
	username, err := validUsername(username, apierr.NoUsername)
	if err != nil {
		return err
	}
	return s.withUser(ctx, accountID, username, apierr.UserNotFound, func(u User) error {
		return s.store.DeleteUser(ctx, accountID, username, u.CustomerID)
	})
}

// hashToken returns the stored form of a reset token. Tokens carry 256
// random bits, so a fast hash suffices (there is nothing to brute-force).
func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return h[:]
}
