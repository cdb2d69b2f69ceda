// Package userstore is the DynamoDB adapter of end users (users.Store).
// Item layout: docs/DATA-MODEL.md, "End users".
//
// Users live in their account's partition, so GetUsers is one Query. The
// sort key holds the case-folded username, so a conditional put makes
// usernames unique per account. Attempt counters are their own items
// (written on every Login) keyed by username, not by user, so they exist
// for unknown usernames too; each window is a new item, so a counter never
// needs resetting, and the window index in the key is the expiry check
// (a stale item of a past window is never read; ttl lets DynamoDB drop it).
//
// A customer item counts its associated users in userCount. Every write
// that changes a user's customer (Register with a customer, Associate,
// Dissociate, RemoveUser) is one transaction: the user item, conditioned
// on the customer id read, plus ADD userCount on the customer gaining
// the user (conditioned on allowMultipleUserAssociation or no user yet)
// and on the customer losing it. Parallel associations therefore cannot
// give a single-user customer two users. A user with a customer carries
// gsi3 keys, so the sparse gsi3 lists a customer's users.
package userstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/schema"
	"github.com/keyturn/keyturn/shared/users"
)

// Store implements users.Store.
type Store struct {
	t *dynamo.Table
}

// New returns the user store on table t.
func New(t *dynamo.Table) *Store { return &Store{t: t} }

type userItem struct {
	PK           string  `dynamodbav:"pk"`
	SK           string  `dynamodbav:"sk"`
	AccountID    int64   `dynamodbav:"accountId"`
	Username     string  `dynamodbav:"username"`
	Email        *string `dynamodbav:"email,omitempty"`
	Created      int64   `dynamodbav:"created"`
	CustomerID   int64   `dynamodbav:"customerId"`
	PasswordHash string  `dynamodbav:"passwordHash"`
	ResetHash    []byte  `dynamodbav:"resetHash,omitempty"`
	ResetExpires int64   `dynamodbav:"resetExpires,omitempty"`
	GSI3PK       string  `dynamodbav:"gsi3pk,omitempty"`
	GSI3SK       string  `dynamodbav:"gsi3sk,omitempty"`
}

func (it userItem) user() users.User {
	u := users.User{
		AccountID: it.AccountID, Username: it.Username, Email: it.Email, Created: time.Unix(it.Created, 0).UTC(),
		CustomerID: it.CustomerID, PasswordHash: it.PasswordHash, ResetTokenHash: it.ResetHash,
	}
	if it.ResetExpires != 0 {
		u.ResetExpires = time.Unix(it.ResetExpires, 0).UTC()
	}
	return u
}

func userKey(accountID int64, username string) dynamo.Key {
	return dynamo.User(accountID, users.Key(username))
}

// CreateUser implements users.Store: one conditional PutItem, or with a
// customer one transaction that also takes a user slot on it.
func (s *Store) CreateUser(ctx context.Context, u users.User) error {
	k := userKey(u.AccountID, u.Username)
	it := userItem{
		PK: k.PK, SK: k.SK, AccountID: u.AccountID, Username: u.Username, Email: u.Email,
		Created: u.Created.Unix(), CustomerID: u.CustomerID, PasswordHash: u.PasswordHash,
	}
	if u.CustomerID != 0 {
		it.GSI3PK, it.GSI3SK = dynamo.CustomerUsersGSI3PK(u.AccountID, u.CustomerID), users.Key(u.Username)
	}
	op, err := s.t.PutOp(it, dynamo.NotExists)
	if err != nil {
		return err
	}
	return s.writeUserMove(ctx, u.AccountID, 0, u.CustomerID, op)
}

// GetUser implements users.Store: one strongly consistent GetItem (a
// Login right after Register, or a ChangePassword right after
// ResetPasswordToken, must see the write).
func (s *Store) GetUser(ctx context.Context, accountID int64, username string) (users.User, error) {
	var it userItem
	if err := s.t.Get(ctx, userKey(accountID, username), true, &it); err != nil {
		return users.User{}, err
	}
	return it.user(), nil
}

// ListUsers implements users.Store: one Query (paginated) over the
// account's users, or for a customer a Query of gsi3 and one BatchGetItem
// per 100 of its users (none when it has no users).
func (s *Store) ListUsers(ctx context.Context, accountID, customerID int64) ([]users.User, error) {
	var items []dynamo.Item
	var err error
	if customerID == 0 {
		items, err = s.t.QueryBounded(ctx, dynamo.Query{PK: dynamo.AccountPK(accountID), Prefix: dynamo.UserPrefix}, apierr.MaxListed)
	} else {
		var refs []dynamo.Item
		if refs, err = s.t.QueryBounded(ctx, dynamo.Query{Index: schema.GSI3, PK: dynamo.CustomerUsersGSI3PK(accountID, customerID)}, apierr.MaxListed); err == nil {
			items, err = s.t.BatchGet(ctx, dynamo.IndexKeys(refs))
		}
	}
	if err != nil {
		return nil, err
	}
	all, err := dynamo.DecodeAll(items, "user", userItem.user)
	if err != nil || customerID == 0 {
		return all, err
	}
	// The index lags the table: keep only users still with the customer.
	out := all[:0]
	for _, u := range all {
		if u.CustomerID == customerID {
			out = append(out, u)
		}
	}
	return out, nil
}

// SetUserCustomer implements users.Store: one transaction (user item and
// the user counts of the customers involved).
func (s *Store) SetUserCustomer(ctx context.Context, accountID int64, username string, from, to int64) error {
	u := dynamo.Update{
		Expr:   "SET customerId = :to REMOVE gsi3pk, gsi3sk",
		Cond:   dynamo.Exists + " AND customerId = :from",
		Values: dynamo.Item{":to": dynamo.N(to), ":from": dynamo.N(from)},
	}
	if to != 0 {
		u.Expr = "SET customerId = :to, gsi3pk = :g, gsi3sk = :gs"
		u.Values[":g"] = dynamo.S(dynamo.CustomerUsersGSI3PK(accountID, to))
		u.Values[":gs"] = dynamo.S(users.Key(username))
	}
	return s.writeUserMove(ctx, accountID, from, to, s.t.UpdateOp(userKey(accountID, username), u))
}

// SetUserPassword implements users.Store: one conditional UpdateItem that
// sets the hash and removes the reset token (unless KeepResetToken). With
// IfResetToken the condition consumes the token: of concurrent changes
// with one token, exactly one succeeds.
func (s *Store) SetUserPassword(ctx context.Context, accountID int64, username string, p users.PasswordUpdate) error {
	u := dynamo.Update{Expr: "SET passwordHash = :h REMOVE resetHash, resetExpires", Values: dynamo.Item{":h": dynamo.S(p.Hash)}}
	switch {
	case p.IfResetToken != nil:
		u.Cond = "resetHash = :rh AND resetExpires > :now"
		u.Values[":rh"] = &types.AttributeValueMemberB{Value: p.IfResetToken}
		u.Values[":now"] = dynamo.N(p.Now.Unix())
	case p.IfHash != "":
		u.Cond = "passwordHash = :old"
		u.Values[":old"] = dynamo.S(p.IfHash)
	}
	if p.KeepResetToken {
		u.Expr = "SET passwordHash = :h"
	}
	_, err := s.t.UpdateExisting(ctx, userKey(accountID, username), u)
	return err
}

// SetUserResetToken implements users.Store: one conditional UpdateItem.
func (s *Store) SetUserResetToken(ctx context.Context, accountID int64, username string, hash []byte, expires time.Time) error {
	_, err := s.t.UpdateExisting(ctx, userKey(accountID, username), dynamo.Update{
		Expr:   "SET resetHash = :rh, resetExpires = :e",
		Values: dynamo.Item{":rh": &types.AttributeValueMemberB{Value: hash}, ":e": dynamo.N(expires.Unix())},
	})
	return err
}

// DeleteUser implements users.Store: one conditional DeleteItem, or with a
// customer one transaction that also gives its user slot back. The
// username's attempt counters stay until their ttl (the limit is per
// username, not per user).
func (s *Store) DeleteUser(ctx context.Context, accountID int64, username string, customerID int64) error {
	op := s.t.DeleteOp(userKey(accountID, username), dynamo.Exists+" AND customerId = :from", nil,
		dynamo.Item{":from": dynamo.N(customerID)})
	return s.writeUserMove(ctx, accountID, customerID, 0, op)
}

// userCountOp adds n to a customer item's userCount under cond.
func (s *Store) userCountOp(accountID, customerID, n int64, cond string, values dynamo.Item) types.TransactWriteItem {
	values[":n"] = dynamo.N(n)
	return s.t.UpdateOp(dynamo.Customer(accountID, customerID), dynamo.Update{Expr: "ADD userCount :n", Cond: cond, Values: values})
}

// writeUserMove writes userOp together with the user counts of moving a
// user's association from customer `from` to customer `to` (0: none).
// Errors: apierr.Conflict when userOp's condition fails,
// users.ErrNoCustomer when `to` does not exist, users.ErrCustomerHasUser
// when `to` allows one user and has one. A `from` customer that is gone,
// or counts no users (associated before counting began), has no slot to
// give back: the write is retried without it.
func (s *Store) writeUserMove(ctx context.Context, accountID, from, to int64, userOp types.TransactWriteItem) error {
	give := from != 0 && from != to
	for {
		ops, take, giveAt := []types.TransactWriteItem{userOp}, -1, -1
		if to != 0 && to != from {
			take = len(ops)
			ops = append(ops, s.userCountOp(accountID, to, 1,
				dynamo.Exists+" AND (allowMultipleUserAssociation = :true OR attribute_not_exists(userCount) OR userCount < :one)",
				dynamo.Item{":true": dynamo.Bool(true), ":one": dynamo.N(1)}))
		}
		if give {
			giveAt = len(ops)
			ops = append(ops, s.userCountOp(accountID, from, -1, dynamo.Exists+" AND userCount > :zero", dynamo.Item{":zero": dynamo.N(0)}))
		}
		err := s.t.Transact(ctx, ops)
		idx := dynamo.FailedOp(err)
		switch {
		case !errors.Is(err, apierr.Conflict):
			return err
		case idx == giveAt:
			give = false
		case idx == take:
			var c struct {
				ID int64 `dynamodbav:"id"`
			}
			if err := s.t.Get(ctx, dynamo.Customer(accountID, to), true, &c); err != nil {
				if errors.Is(err, apierr.NotFound) {
					return users.ErrNoCustomer
				}
				return err
			}
			return users.ErrCustomerHasUser
		default:
			return apierr.Conflict
		}
	}
}

// ReserveLoginAttempt implements users.Store: one conditional UpdateItem
// (ADD attempts 1 unless attempts >= max), atomic under any concurrency.
// attempts counts failed and in-flight attempts, failures the failed ones;
// a refusal tells the two cases apart from the old item that comes back
// with the failed condition (no extra read).
func (s *Store) ReserveLoginAttempt(ctx context.Context, accountID int64, username string, window, max int64, expires time.Time) error {
	_, err := s.t.Upsert(ctx, dynamo.LoginWindow(accountID, users.Key(username), window), dynamo.Update{
		Expr: "ADD attempts :one SET #ttl = :ttl", Cond: "attribute_not_exists(attempts) OR attempts < :max",
		Names:  map[string]string{"#ttl": schema.TTL},
		Values: dynamo.Item{":one": dynamo.N(1), ":max": dynamo.N(max), ":ttl": dynamo.N(expires.Unix())},
	})
	var ce *dynamo.ConflictError
	if errors.As(err, &ce) {
		var old struct {
			Failures int64 `dynamodbav:"failures"`
		}
		if err := dynamo.Decode(ce.Old, "login attempts", &old); err != nil {
			return err
		}
		if old.Failures >= max {
			return users.ErrLoginLocked
		}
		return users.ErrAttemptsInFlight
	}
	if err != nil {
		return fmt.Errorf("reserve login attempt: %w", err)
	}
	return nil
}

// EndLoginAttempt implements users.Store: one conditional UpdateItem.
// AttemptReleased is ADD attempts -1 while attempts > 0 (releasing what
// is not counted is a no-op); AttemptFailed is ADD failures 1 and
// AttemptRefused ADD refused 1, both only on an existing record.
func (s *Store) EndLoginAttempt(ctx context.Context, accountID int64, username string, window int64, o users.AttemptOutcome) error {
	u := dynamo.Update{}
	switch o {
	case users.AttemptReleased:
		u.Expr, u.Cond, u.Values = "ADD attempts :minus", "attempts > :zero", dynamo.Item{":minus": dynamo.N(-1), ":zero": dynamo.N(0)}
	case users.AttemptFailed, users.AttemptRefused:
		name := "failures"
		if o == users.AttemptRefused {
			name = "refused"
		}
		u.Expr, u.Cond, u.Values = "ADD "+name+" :one", "attribute_exists(attempts)", dynamo.Item{":one": dynamo.N(1)}
	default:
		return fmt.Errorf("end login attempt: unknown outcome %d", o)
	}
	err := s.t.WriteOne(ctx, s.t.UpdateOp(dynamo.LoginWindow(accountID, users.Key(username), window), u))
	if errors.Is(err, apierr.Conflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("end login attempt: %w", err)
	}
	return nil
}
