package users

import (
	"bytes"
	"context"
	"errors"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/keys"
)

// memStore is an in-memory Store with the same conditions as the DynamoDB
// adapter (which has its own tests on DynamoDB Local).
type memStore struct {
	mu       sync.Mutex
	users    map[string]User
	attempts map[string]*memAttempts
	// customers are the customers users can be associated with, by
	// custKey, with their user slots as the store counts them.
	customers map[string]*memCustomer
	// fail, when set, runs first in every call with the method's name; an
	// error it returns is the call's result (a store outage).
	fail func(method string) error
}

// failure is what fail makes of a call of method (nil without fail).
func (m *memStore) failure(method string) error {
	if m.fail == nil {
		return nil
	}
	return m.fail(method)
}

// memAttempts is one username's login window.
type memAttempts struct {
	attempts, failures, refused int64
}

// memCustomer is a customer's user-association state.
type memCustomer struct {
	allowMultiple bool
	users         int64
}

func newMemStore() *memStore {
	return &memStore{users: map[string]User{}, attempts: map[string]*memAttempts{}, customers: map[string]*memCustomer{}}
}

func custKey(accountID, customerID int64) string {
	return strconv.FormatInt(accountID, 10) + "/" + strconv.FormatInt(customerID, 10)
}

// move applies the slot changes of moving a user from customer `from` to
// `to` (m.mu held), with the DynamoDB adapter's rules: `to` must exist
// and have room; a gone or uncounted `from` gives nothing back.
func (m *memStore) move(accountID, from, to int64) error {
	if to != 0 && to != from {
		c, ok := m.customers[custKey(accountID, to)]
		switch {
		case !ok:
			return ErrNoCustomer
		case !c.allowMultiple && c.users >= 1:
			return ErrCustomerHasUser
		}
		c.users++
	}
	if c, ok := m.customers[custKey(accountID, from)]; ok && from != 0 && from != to && c.users > 0 {
		c.users--
	}
	return nil
}

func userKey(accountID int64, username string) string {
	return strconv.FormatInt(accountID, 10) + "/" + Key(username)
}

func (m *memStore) CreateUser(_ context.Context, u User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.failure("CreateUser"); err != nil {
		return err
	}
	k := userKey(u.AccountID, u.Username)
	if _, ok := m.users[k]; ok {
		return apierr.Conflict
	}
	if err := m.move(u.AccountID, 0, u.CustomerID); err != nil {
		return err
	}
	m.users[k] = u
	return nil
}

func (m *memStore) GetUser(_ context.Context, accountID int64, username string) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.failure("GetUser"); err != nil {
		return User{}, err
	}
	u, ok := m.users[userKey(accountID, username)]
	if !ok {
		return User{}, apierr.NotFound
	}
	return u, nil
}

func (m *memStore) ListUsers(_ context.Context, accountID, customerID int64) ([]User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.failure("ListUsers"); err != nil {
		return nil, err
	}
	var out []User
	for _, u := range m.users {
		if u.AccountID == accountID && (customerID == 0 || u.CustomerID == customerID) {
			out = append(out, u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return Key(out[i].Username) < Key(out[j].Username) })
	return out, nil
}

func (m *memStore) update(method string, accountID int64, username string, f func(*User) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.failure(method); err != nil {
		return err
	}
	k := userKey(accountID, username)
	u, ok := m.users[k]
	if !ok {
		return apierr.NotFound
	}
	if err := f(&u); err != nil {
		return err
	}
	m.users[k] = u
	return nil
}

func (m *memStore) SetUserCustomer(_ context.Context, accountID int64, username string, from, to int64) error {
	err := m.update("SetUserCustomer", accountID, username, func(u *User) error {
		if u.CustomerID != from {
			return apierr.Conflict
		}
		if err := m.move(accountID, from, to); err != nil {
			return err
		}
		u.CustomerID = to
		return nil
	})
	if errors.Is(err, apierr.NotFound) {
		return apierr.Conflict // one failed condition, as in a transaction
	}
	return err
}

func (m *memStore) SetUserPassword(_ context.Context, accountID int64, username string, p PasswordUpdate) error {
	return m.update("SetUserPassword", accountID, username, func(u *User) error {
		switch {
		case p.IfResetToken != nil:
			if !bytes.Equal(u.ResetTokenHash, p.IfResetToken) || u.ResetExpires.Unix() <= p.Now.Unix() {
				return apierr.Conflict
			}
		case p.IfHash != "":
			if u.PasswordHash != p.IfHash {
				return apierr.Conflict
			}
		}
		u.PasswordHash = p.Hash
		if !p.KeepResetToken {
			u.ResetTokenHash, u.ResetExpires = nil, time.Time{}
		}
		return nil
	})
}

func (m *memStore) SetUserResetToken(_ context.Context, accountID int64, username string, hash []byte, expires time.Time) error {
	return m.update("SetUserResetToken", accountID, username, func(u *User) error {
		u.ResetTokenHash, u.ResetExpires = hash, expires.Truncate(time.Second)
		return nil
	})
}

func (m *memStore) DeleteUser(_ context.Context, accountID int64, username string, customerID int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.failure("DeleteUser"); err != nil {
		return err
	}
	k := userKey(accountID, username)
	if u, ok := m.users[k]; !ok || u.CustomerID != customerID {
		return apierr.Conflict
	}
	_ = m.move(accountID, customerID, 0) // giving back cannot fail
	delete(m.users, k)
	return nil
}

func (m *memStore) ReserveLoginAttempt(_ context.Context, accountID int64, username string, window, max int64, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.failure("ReserveLoginAttempt"); err != nil {
		return err
	}
	k := userKey(accountID, username) + "#" + strconv.FormatInt(window, 10)
	a := m.attempts[k]
	switch {
	case a == nil:
		a = &memAttempts{}
		m.attempts[k] = a
	case a.attempts >= max && a.failures >= max:
		return ErrLoginLocked
	case a.attempts >= max:
		return ErrAttemptsInFlight
	}
	a.attempts++
	return nil
}

func (m *memStore) EndLoginAttempt(_ context.Context, accountID int64, username string, window int64, o AttemptOutcome) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.failure("EndLoginAttempt"); err != nil {
		return err
	}
	a := m.attempts[userKey(accountID, username)+"#"+strconv.FormatInt(window, 10)]
	switch {
	case a == nil:
	case o == AttemptReleased && a.attempts > 0:
		a.attempts--
	case o == AttemptFailed:
		a.failures++
	case o == AttemptRefused:
		a.refused++
	}
	return nil
}

// fakeCustomers is a hand-written Customers with function fields.
type fakeCustomers struct {
	exists func(accountID, customerID int64) error
	keys   func(accountID, customerID int64) ([]keys.Record, error)
}

func (f fakeCustomers) CustomerExists(_ context.Context, accountID, customerID int64) error {
	return f.exists(accountID, customerID)
}

func (f fakeCustomers) CustomerKeys(_ context.Context, accountID, customerID int64) ([]keys.Record, error) {
	return f.keys(accountID, customerID)
}

// customersOf returns Customers where account 1 has customers with the
// given licenses (by customer id).
func customersOf(byID map[int64][]keys.Record) fakeCustomers {
	return fakeCustomers{
		exists: func(accountID, customerID int64) error {
			if _, ok := byID[customerID]; !ok || accountID != 1 {
				return apierr.NotFound
			}
			return nil
		},
		keys: func(accountID, customerID int64) ([]keys.Record, error) {
			if accountID != 1 {
				return []keys.Record{}, nil
			}
			return byID[customerID], nil
		},
	}
}

// loginTokens of memStore, by account and hash.
var memLoginTokens sync.Map

func (m *memStore) PutLoginToken(_ context.Context, t LoginToken) error {
	if err := m.failure("PutLoginToken"); err != nil {
		return err
	}
	memLoginTokens.Store(strconv.FormatInt(t.AccountID, 10)+"/"+string(t.Hash), t)
	return nil
}

func (m *memStore) TakeLoginToken(_ context.Context, accountID int64, hash []byte, now time.Time) (LoginToken, error) {
	if err := m.failure("TakeLoginToken"); err != nil {
		return LoginToken{}, err
	}
	k := strconv.FormatInt(accountID, 10) + "/" + string(hash)
	v, ok := memLoginTokens.Load(k)
	if !ok || !now.Before(v.(LoginToken).Expires) {
		return LoginToken{}, apierr.NotFound
	}
	if _, taken := memLoginTokens.LoadAndDelete(k); !taken {
		return LoginToken{}, apierr.NotFound
	}
	return v.(LoginToken), nil
}
