package userstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/users"
)

// loginTokenItem is a one-time login token, keyed by its account and the
// hash of the token; it carries a TTL at its expiry.
type loginTokenItem struct {
	PK       string `dynamodbav:"pk"`
	SK       string `dynamodbav:"sk"`
	Username string `dynamodbav:"username"`
	Expires  int64  `dynamodbav:"expires"`
	TTL      int64  `dynamodbav:"ttl"`
}

// PutLoginToken implements users.Store: one PutItem.
func (s *Store) PutLoginToken(ctx context.Context, t users.LoginToken) error {
	k := dynamo.LoginToken(t.AccountID, hex.EncodeToString(t.Hash))
	return s.t.Put(ctx, loginTokenItem{PK: k.PK, SK: k.SK, Username: t.Username, Expires: t.Expires.Unix(), TTL: t.Expires.Unix()}, true)
}

// TakeLoginToken implements users.Store: one DeleteItem conditioned on
// the token existing and not having expired, returning the deleted item;
// of concurrent takes only one deletes it.
func (s *Store) TakeLoginToken(ctx context.Context, accountID int64, hash []byte, now time.Time) (users.LoginToken, error) {
	k := dynamo.LoginToken(accountID, hex.EncodeToString(hash))
	out, err := s.t.DB().DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: s.t.Name(), Key: k.AV(), ReturnValues: types.ReturnValueAllOld,
		ConditionExpression:       aws.String(dynamo.Exists + " AND expires > :now"),
		ExpressionAttributeValues: dynamo.Item{":now": dynamo.N(now.Unix())},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return users.LoginToken{}, apierr.NotFound
	}
	if err != nil {
		return users.LoginToken{}, fmt.Errorf("take login token: %w", err)
	}
	var it loginTokenItem
	if err := dynamo.Decode(out.Attributes, "login token", &it); err != nil {
		return users.LoginToken{}, err
	}
	return users.LoginToken{Hash: hash, AccountID: accountID, Username: it.Username, Expires: time.Unix(it.Expires, 0).UTC()}, nil
}
