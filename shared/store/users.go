package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
//	                                                 fixed window (attempts, ttl)
//
// Users live in their account's partition, so GetUsers is one Query. The
// sort key holds the case-folded username, so a conditional put makes
// usernames unique per account. Attempt counters are their own items
// (written on every Login) keyed by username, not by user, so they exist
// for unknown usernames too; each window is a new item, so a counter never
// needs resetting, and the window index in the key is the expiry check
// (a stale item of a past window is never read; ttl lets DynamoDB drop it).

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

// CreateUser implements users.Store: one conditional PutItem.
func (s *Store) CreateUser(ctx context.Context, u users.User) error {
	it := userItem{
		PK: accountPK(u.AccountID), SK: userSK(u.Username), AccountID: u.AccountID, Username: u.Username, Email: u.Email,
		Created: u.Created.Unix(), CustomerID: u.CustomerID, PasswordHash: u.PasswordHash,
	}
	return s.put(ctx, it, true)
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
// account's users; a customer filter is a FilterExpression, so it reads
// (and bills) every user of the account like the unfiltered listing.
func (s *Store) ListUsers(ctx context.Context, accountID, customerID int64) ([]users.User, error) {
	q := prefixQuery(accountPK(accountID), userPrefix)
	if customerID != 0 {
		q.FilterExpression = aws.String("customerId = :c")
		q.ExpressionAttributeValues[":c"] = num(customerID)
	}
	items, err := s.queryAll(ctx, q)
	if err != nil {
		return nil, err
	}
	return decodeAll(items, "user", userItem.user)
}

// updateUser runs a conditional UpdateItem on an existing user. A failed
// condition is apierr.NotFound when the user is missing and apierr.Conflict
// otherwise (the old item comes back with the failure, no extra read).
func (s *Store) updateUser(ctx context.Context, accountID int64, username, expr, cond string, values map[string]types.AttributeValue) error {
	c := "attribute_exists(#pk)"
	if cond != "" {
		c += " AND (" + cond + ")"
	}
	in := &dynamodb.UpdateItemInput{
		TableName:                           s.table,
		Key:                                 key(accountPK(accountID), userSK(username)),
		UpdateExpression:                    aws.String(expr),
		ConditionExpression:                 aws.String(c),
		ExpressionAttributeNames:            map[string]string{"#pk": schema.PK},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if len(values) > 0 {
		in.ExpressionAttributeValues = values
	}
	_, err := s.db.UpdateItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if len(ccf.Item) == 0 {
			return apierr.NotFound
		}
		return apierr.Conflict
	}
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	return nil
}

// SetUserCustomer implements users.Store: one conditional UpdateItem.
func (s *Store) SetUserCustomer(ctx context.Context, accountID int64, username string, customerID int64) error {
	return s.updateUser(ctx, accountID, username, "SET customerId = :c", "",
		map[string]types.AttributeValue{":c": num(customerID)})
}

// SetUserPassword implements users.Store: one conditional UpdateItem that
// sets the hash and removes the reset token. With IfResetToken the
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
	return s.updateUser(ctx, accountID, username, "SET passwordHash = :h REMOVE resetHash, resetExpires", cond, values)
}

// SetUserResetToken implements users.Store: one conditional UpdateItem.
func (s *Store) SetUserResetToken(ctx context.Context, accountID int64, username string, hash []byte, expires time.Time) error {
	return s.updateUser(ctx, accountID, username, "SET resetHash = :rh, resetExpires = :e", "",
		map[string]types.AttributeValue{":rh": &types.AttributeValueMemberB{Value: hash}, ":e": num(expires.Unix())})
}

// DeleteUser implements users.Store: one conditional DeleteItem. The
// username's attempt counters stay until their ttl (the limit is per
// username, not per user).
func (s *Store) DeleteUser(ctx context.Context, accountID int64, username string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                s.table,
		Key:                      key(accountPK(accountID), userSK(username)),
		ConditionExpression:      aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": schema.PK},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return apierr.NotFound
	}
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return nil
}

func loginWindowSK(window int64) string { return "W#" + strconv.FormatInt(window, 10) }

// ReserveLoginAttempt implements users.Store: one conditional UpdateItem
// (ADD attempts 1 unless attempts >= max), atomic under any concurrency.
func (s *Store) ReserveLoginAttempt(ctx context.Context, accountID int64, username string, window, max int64, expires time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 s.table,
		Key:                       key(loginAttemptsPK(accountID, username), loginWindowSK(window)),
		UpdateExpression:          aws.String("ADD attempts :one SET #ttl = :ttl"),
		ConditionExpression:       aws.String("attribute_not_exists(attempts) OR attempts < :max"),
		ExpressionAttributeNames:  map[string]string{"#ttl": schema.TTL},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":max": num(max), ":ttl": num(expires.Unix())},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return apierr.Conflict
	}
	if err != nil {
		return fmt.Errorf("reserve login attempt: %w", err)
	}
	return nil
}

// ReleaseLoginAttempt implements users.Store: one conditional UpdateItem
// (ADD attempts -1 while attempts > 0). Releasing an attempt that is not
// counted is a no-op.
func (s *Store) ReleaseLoginAttempt(ctx context.Context, accountID int64, username string, window int64) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 s.table,
		Key:                       key(loginAttemptsPK(accountID, username), loginWindowSK(window)),
		UpdateExpression:          aws.String("ADD attempts :minus"),
		ConditionExpression:       aws.String("attempts > :zero"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":minus": num(-1), ":zero": num(0)},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("release login attempt: %w", err)
	}
	return nil
}
