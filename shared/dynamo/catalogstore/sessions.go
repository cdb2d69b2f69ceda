package catalogstore

import (
	"context"
	"encoding/hex"
	"time"

	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/dynamo"
)

// sessionItem is a peer-API login session, keyed by the hash of its id.
// It carries a TTL at its expiry; readers check the expiry themselves.
type sessionItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	AccountID  int64  `dynamodbav:"accountId"`
	User       string `dynamodbav:"user"`
	TokenID    string `dynamodbav:"tokenId"`
	SecretHash []byte `dynamodbav:"secretHash"`
	Created    int64  `dynamodbav:"created"`
	Expires    int64  `dynamodbav:"expires"`
	TTL        int64  `dynamodbav:"ttl"`
}

func sessionKey(idHash []byte) dynamo.Key { return dynamo.PeerSession(hex.EncodeToString(idHash)) }

// PutSession implements auth.SessionStore: one conditional PutItem.
func (s *Store) PutSession(ctx context.Context, sess auth.Session) error {
	k := sessionKey(sess.IDHash)
	return s.t.Put(ctx, sessionItem{PK: k.PK, SK: k.SK, AccountID: sess.AccountID, User: sess.User, TokenID: sess.TokenID,
		SecretHash: sess.SecretHash, Created: sess.Created.Unix(), Expires: sess.Expires.Unix(), TTL: sess.Expires.Unix()}, true)
}

// GetSession implements auth.SessionStore: one GetItem (eventually
// consistent: a session is read after the login that wrote it returned).
func (s *Store) GetSession(ctx context.Context, idHash []byte) (auth.Session, error) {
	var it sessionItem
	if err := s.t.Get(ctx, sessionKey(idHash), false, &it); err != nil {
		return auth.Session{}, err
	}
	return auth.Session{IDHash: idHash, User: it.User, AccountID: it.AccountID, TokenID: it.TokenID, SecretHash: it.SecretHash,
		Created: time.Unix(it.Created, 0).UTC(), Expires: time.Unix(it.Expires, 0).UTC()}, nil
}

// DeleteSession implements auth.SessionStore: one DeleteItem.
func (s *Store) DeleteSession(ctx context.Context, idHash []byte) error {
	return s.t.Delete(ctx, sessionKey(idHash), "", nil, nil)
}
