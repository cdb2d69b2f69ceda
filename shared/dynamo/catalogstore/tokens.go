package catalogstore

import (
	"context"
	"errors"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/schema"
)

// tokenItem is the stored access token. It holds the SHA-256 of the
// secret, never the secret.
type tokenItem struct {
	PK          string   `dynamodbav:"pk"`
	SK          string   `dynamodbav:"sk"`
	GSI1PK      string   `dynamodbav:"gsi1pk"`
	GSI1SK      string   `dynamodbav:"gsi1sk"`
	ID          string   `dynamodbav:"id"`
	AccountID   int64    `dynamodbav:"accountId"`
	Name        string   `dynamodbav:"name"`
	SecretHash  []byte   `dynamodbav:"secretHash"`
	Methods     []string `dynamodbav:"methods"`
	ProductLock int64    `dynamodbav:"productLock"`
	KeyLock     int64    `dynamodbav:"keyLock"`
	FeatureLock int64    `dynamodbav:"featureLock"`
	Expires     int64    `dynamodbav:"expires"`
	Created     int64    `dynamodbav:"created"`
	ParentID    string   `dynamodbav:"parentId,omitempty"`
	TTL         int64    `dynamodbav:"ttl,omitempty"`
}

func (it tokenItem) domain() auth.Token {
	t := auth.Token{
		ID: it.ID, AccountID: it.AccountID, Name: it.Name, SecretHash: it.SecretHash,
		Created: time.Unix(it.Created, 0).UTC(), ParentID: it.ParentID,
		Scope: auth.Scope{Methods: it.Methods, ProductLock: it.ProductLock, KeyLock: it.KeyLock, FeatureLock: it.FeatureLock},
	}
	if it.Expires != 0 {
		t.Scope.Expires = time.Unix(it.Expires, 0).UTC()
	}
	return t
}

// PutToken implements auth.TokenStore (conditional put on the id).
// Expiring tokens carry a TTL a day after expiry so DynamoDB removes them.
func (s *Store) PutToken(ctx context.Context, t auth.Token) error {
	k := dynamo.Token(t.ID)
	it := tokenItem{
		PK: k.PK, SK: k.SK, GSI1PK: dynamo.TokensGSI1PK(t.AccountID), GSI1SK: t.ID,
		ID: t.ID, AccountID: t.AccountID, Name: t.Name, SecretHash: t.SecretHash,
		Methods: t.Scope.Methods, ProductLock: t.Scope.ProductLock, KeyLock: t.Scope.KeyLock,
		FeatureLock: t.Scope.FeatureLock, Created: t.Created.Unix(), ParentID: t.ParentID,
	}
	if it.Methods == nil {
		it.Methods = []string{}
	}
	if !t.Scope.Expires.IsZero() {
		it.Expires = t.Scope.Expires.Unix()
		it.TTL = it.Expires + 24*3600
	}
	return s.t.Put(ctx, it, true)
}

// GetToken implements auth.TokenStore: one GetItem.
func (s *Store) GetToken(ctx context.Context, id string) (auth.Token, error) {
	var it tokenItem
	if err := s.t.Get(ctx, dynamo.Token(id), false, &it); err != nil {
		return auth.Token{}, err
	}
	return it.domain(), nil
}

// ListTokens implements auth.TokenStore: one Query of gsi1 and
// BatchGetItem (an account's tokens).
func (s *Store) ListTokens(ctx context.Context, accountID int64) ([]auth.Token, error) {
	refs, err := s.t.QueryBounded(ctx, dynamo.Query{Index: schema.GSI1, PK: dynamo.TokensGSI1PK(accountID)}, apierr.MaxListed)
	if err != nil {
		return nil, err
	}
	items, err := s.t.BatchGet(ctx, dynamo.IndexKeys(refs))
	if err != nil {
		return nil, err
	}
	return dynamo.DecodeAll(items, "token", tokenItem.domain)
}

// DeleteToken implements auth.TokenStore: a conditional delete that only
// succeeds for a token of the given account.
func (s *Store) DeleteToken(ctx context.Context, accountID int64, id string) error {
	err := s.t.Delete(ctx, dynamo.Token(id), "accountId = :a", nil, dynamo.Item{":a": dynamo.N(accountID)})
	if errors.Is(err, apierr.Conflict) {
		return apierr.NotFound
	}
	return err
}
