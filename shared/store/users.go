package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/schema"
	"github.com/keyturn/keyturn/shared/users"
)

// End users (userauth):
//
//	A#<account>                / USER#<users.Key>    user: username as registered, email,
//	                                                 created, customerId, passwordHash (PHC
//	                                                 argon2id string with salt and
//	                                                 parameters), resetHash + resetExpires
//	                                                 (SHA-256 of the outstanding reset
//	                                                 token, unix seconds)
//	UL#<account>#<users.Key>   / W#<window index>    login attempts of one username in one
//	                                                 fixed window: attempts (failed or in
//	                                                 flight), failures, refused (while
//	                                                 locked), ttl
//
// A user with a customer carries gsi3pk CU#<account>#<customer> and gsi3sk
// <users.Key>, so the sparse gsi3 lists a customer's users (GetUsers
// CustomerId) without reading the account's other users.
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
// give a single-user customer two users.

const userPrefix = "USER#"

func userSK(username string) string { return userPrefix + users.Key(username) }
func loginAttemptsPK(accountID int64, username string) string {
	return "UL#" + strconv.FormatInt(accountID, 10) + "#" + users.Key(username)
}

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

// customerUsersPK is the gsi3 partition of a customer's users.
func customerUsersPK(accountID, customerID int64) string {
	return "CU#" + strconv.FormatInt(accountID, 10) + "#" + strconv.FormatInt(customerID, 10)
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

// CreateUser implements users.Store: one conditional PutItem, or with a
// customer one transaction that also takes a user slot on it.
func (s *Store) CreateUser(ctx context.Context, u users.User) error {
	it := userItem{
		PK: accountPK(u.AccountID), SK: userSK(u.Username), AccountID: u.AccountID, Username: u.Username, Email: u.Email,
		Created: u.Created.Unix(), CustomerID: u.CustomerID, PasswordHash: u.PasswordHash,
	}
	if u.CustomerID != 0 {
		it.GSI3PK, it.GSI3SK = customerUsersPK(u.AccountID, u.CustomerID), users.Key(u.Username)
	}
	op, err := s.putOp(it, "attribute_not_exists(pk)")
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
	if err := s.get(ctx, accountPK(accountID), userSK(username), true, &it); err != nil {
		return users.User{}, err
	}
	return it.user(), nil
}

// ListUsers implements users.Store: one Query (paginated) over the
// account's users, or for a customer a Query of gsi3 and one BatchGetItem
// per 100 of its users (none when it has no users).
func (s *Store) ListUsers(ctx context.Context, accountID, customerID int64) ([]users.User, error) {
	var items []map[string]types.AttributeValue
	var err error
	if customerID == 0 {
		items, err = s.queryAll(ctx, prefixQuery(accountPK(accountID), userPrefix))
	} else {
		items, err = s.indexItems(ctx, indexQuery(schema.GSI3, "gsi3pk", customerUsersPK(accountID, customerID)))
	}
	if err != nil {
		return nil, err
	}
	all, err := decodeAll(items, "user", userItem.user)
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

// updateUser runs a conditional UpdateItem on an existing user (see
// updateExisting for the errors).
func (s *Store) updateUser(ctx context.Context, accountID int64, username, expr, cond string, values map[string]types.AttributeValue) error {
	c := "attribute_exists(#pk)"
	if cond != "" {
		c += " AND (" + cond + ")"
	}
	in := &dynamodb.UpdateItemInput{
		TableName:                s.table,
		Key:                      key(accountPK(accountID), userSK(username)),
		UpdateExpression:         aws.String(expr),
		ConditionExpression:      aws.String(c),
		ExpressionAttributeNames: map[string]string{"#pk": schema.PK},
	}
	if len(values) > 0 {
		in.ExpressionAttributeValues = values
	}
	_, err := s.updateExisting(ctx, in, "user")
	return err
}

// SetUserCustomer implements users.Store: one transaction (user item and
// the user counts of the customers involved).
func (s *Store) SetUserCustomer(ctx context.Context, accountID int64, username string, from, to int64) error {
	expr := "SET customerId = :to REMOVE gsi3pk, gsi3sk"
	values := map[string]types.AttributeValue{":to": num(to), ":from": num(from)}
	if to != 0 {
		expr = "SET customerId = :to, gsi3pk = :g, gsi3sk = :gs"
		values[":g"] = &types.AttributeValueMemberS{Value: customerUsersPK(accountID, to)}
		values[":gs"] = &types.AttributeValueMemberS{Value: users.Key(username)}
	}
	op := types.TransactWriteItem{Update: &types.Update{
		TableName: s.table, Key: key(accountPK(accountID), userSK(username)),
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String("attribute_exists(pk) AND customerId = :from"),
		ExpressionAttributeValues: values,
	}}
	return s.writeUserMove(ctx, accountID, from, to, op)
}

// SetUserPassword implements users.Store: one conditional UpdateItem that
// sets the hash and removes the reset token (unless KeepResetToken). With IfResetToken the
// condition consumes the token: of concurrent changes with one token,
// exactly one succeeds.
func (s *Store) SetUserPassword(ctx context.Context, accountID int64, username string, u users.PasswordUpdate) error {
	values := map[string]types.AttributeValue{":h": &types.AttributeValueMemberS{Value: u.Hash}}
	var cond string
	switch {
	case u.IfResetToken != nil:
		cond = "resetHash = :rh AND resetExpires > :now"
		values[":rh"] = &types.AttributeValueMemberB{Value: u.IfResetToken}
		values[":now"] = num(u.Now.Unix())
	case u.IfHash != "":
		cond = "passwordHash = :old"
		values[":old"] = &types.AttributeValueMemberS{Value: u.IfHash}
	}
	expr := "SET passwordHash = :h REMOVE resetHash, resetExpires"
	if u.KeepResetToken {
		expr = "SET passwordHash = :h"
	}
	return s.updateUser(ctx, accountID, username, expr, cond, values)
}

// SetUserResetToken implements users.Store: one conditional UpdateItem.
func (s *Store) SetUserResetToken(ctx context.Context, accountID int64, username string, hash []byte, expires time.Time) error {
	return s.updateUser(ctx, accountID, username, "SET resetHash = :rh, resetExpires = :e", "",
		map[string]types.AttributeValue{":rh": &types.AttributeValueMemberB{Value: hash}, ":e": num(expires.Unix())})
}

// DeleteUser implements users.Store: one conditional DeleteItem, or with a
// customer one transaction that also gives its user slot back. The
// username's attempt counters stay until their ttl (the limit is per
// username, not per user).
func (s *Store) DeleteUser(ctx context.Context, accountID int64, username string, customerID int64) error {
	op := s.deleteOp(accountPK(accountID), userSK(username), "attribute_exists(pk) AND customerId = :from",
		map[string]types.AttributeValue{":from": num(customerID)})
	return s.writeUserMove(ctx, accountID, customerID, 0, op)
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
			ops = append(ops, s.customerCountOp(accountID, to, "userCount", 1,
				"attribute_exists(pk) AND (allowMultipleUserAssociation = :true OR attribute_not_exists(userCount) OR userCount < :one)",
				map[string]types.AttributeValue{":true": boolean(true), ":one": num(1)}))
		}
		if give {
			giveAt = len(ops)
			ops = append(ops, s.customerCountOp(accountID, from, "userCount", -1, "attribute_exists(pk) AND userCount > :zero",
				map[string]types.AttributeValue{":zero": num(0)}))
		}
		var idx int
		var err error
		if len(ops) == 1 {
			idx, err = 0, s.writeOne(ctx, userOp)
		} else {
			idx, err = s.runTransaction(ctx, ops)
		}
		switch {
		case !errors.Is(err, apierr.Conflict):
			return err
		case idx == giveAt:
			give = false
		case idx == take:
			if err := s.CustomerExists(ctx, accountID, to); err != nil {
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

func loginWindowSK(window int64) string { return "W#" + strconv.FormatInt(window, 10) }

// ReserveLoginAttempt implements users.Store: one conditional UpdateItem
// (ADD attempts 1 unless attempts >= max), atomic under any concurrency.
// attempts counts failed and in-flight attempts, failures the failed ones;
// a refusal tells the two cases apart from the old item that comes back
// with the failed condition (no extra read).
func (s *Store) ReserveLoginAttempt(ctx context.Context, accountID int64, username string, window, max int64, expires time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           s.table,
		Key:                                 key(loginAttemptsPK(accountID, username), loginWindowSK(window)),
		UpdateExpression:                    aws.String("ADD attempts :one SET #ttl = :ttl"),
		ConditionExpression:                 aws.String("attribute_not_exists(attempts) OR attempts < :max"),
		ExpressionAttributeNames:            map[string]string{"#ttl": schema.TTL},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":one": num(1), ":max": num(max), ":ttl": num(expires.Unix())},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		var old struct {
			Failures int64 `dynamodbav:"failures"`
		}
		if err := attributevalue.UnmarshalMap(ccf.Item, &old); err != nil {
			return fmt.Errorf("reserve login attempt: %w", err)
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
	in := &dynamodb.UpdateItemInput{
		TableName: s.table,
		Key:       key(loginAttemptsPK(accountID, username), loginWindowSK(window)),
	}
	switch o {
	case users.AttemptReleased:
		in.UpdateExpression = aws.String("ADD attempts :minus")
		in.ConditionExpression = aws.String("attempts > :zero")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":minus": num(-1), ":zero": num(0)}
	case users.AttemptFailed, users.AttemptRefused:
		name := "failures"
		if o == users.AttemptRefused {
			name = "refused"
		}
		in.UpdateExpression = aws.String("ADD " + name + " :one")
		in.ConditionExpression = aws.String("attribute_exists(attempts)")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":one": num(1)}
	default:
		return fmt.Errorf("end login attempt: unknown outcome %d", o)
	}
	_, err := s.db.UpdateItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("end login attempt: %w", err)
	}
	return nil
}
