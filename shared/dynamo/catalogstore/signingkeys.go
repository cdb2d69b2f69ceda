package catalogstore

import (
	"context"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/signing"
)

// signingKeyItem is one version of an account's signing key. The private
// key is only ever stored sealed (see package signing).
type signingKeyItem struct {
	PK                string `dynamodbav:"pk"`
	SK                string `dynamodbav:"sk"`
	AccountID         int64  `dynamodbav:"accountId"`
	Version           int    `dynamodbav:"version"`
	Mode              string `dynamodbav:"mode"`
	PublicKeyDER      []byte `dynamodbav:"publicKey"`
	WrappedPrivateKey []byte `dynamodbav:"wrappedPrivateKey,omitempty"`
	WrappedDataKey    []byte `dynamodbav:"wrappedDataKey,omitempty"`
	KMSKeyID          string `dynamodbav:"kmsKeyId,omitempty"`
	Created           int64  `dynamodbav:"created"`
}

// CurrentSigningKey implements signing.KeyStore: one Query for the highest
// version (strongly consistent, so a rotation is seen at once).
func (s *Store) CurrentSigningKey(ctx context.Context, accountID int64) (signing.KeyRecord, error) {
	p, err := s.t.QueryPage(ctx, dynamo.Query{PK: dynamo.AccountPK(accountID), Prefix: dynamo.SigningKeyPrefix, Desc: true, Consistent: true}, 1, nil)
	if err != nil {
		return signing.KeyRecord{}, err
	}
	if len(p.Items) == 0 {
		return signing.KeyRecord{}, apierr.NotFound
	}
	var it signingKeyItem
	if err := dynamo.Decode(p.Items[0], "signing key", &it); err != nil {
		return signing.KeyRecord{}, err
	}
	return signing.KeyRecord{
		AccountID: it.AccountID, Version: it.Version, Mode: it.Mode, PublicKeyDER: it.PublicKeyDER,
		WrappedPrivateKey: it.WrappedPrivateKey, WrappedDataKey: it.WrappedDataKey, KMSKeyID: it.KMSKeyID,
		Created: time.Unix(it.Created, 0).UTC(),
	}, nil
}

// PutSigningKey implements signing.KeyStore: a conditional put, so two
// concurrent rotations cannot both create the same version.
func (s *Store) PutSigningKey(ctx context.Context, rec signing.KeyRecord) error {
	k := dynamo.SigningKey(rec.AccountID, rec.Version)
	return s.t.Put(ctx, signingKeyItem{
		PK: k.PK, SK: k.SK, AccountID: rec.AccountID, Version: rec.Version,
		Mode: rec.Mode, PublicKeyDER: rec.PublicKeyDER, WrappedPrivateKey: rec.WrappedPrivateKey,
		WrappedDataKey: rec.WrappedDataKey, KMSKeyID: rec.KMSKeyID, Created: rec.Created.Unix(),
	}, true)
}
