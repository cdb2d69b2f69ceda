package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/keyturn/keyturn/shared/apierr"
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

const signingKeyPrefix = "SIGNKEY#"

func signingKeySK(version int) string { return signingKeyPrefix + pad(int64(version), 6) }

// CurrentSigningKey implements signing.KeyStore: one Query for the highest
// version (strongly consistent, so a rotation is seen at once).
func (s *Store) CurrentSigningKey(ctx context.Context, accountID int64) (signing.KeyRecord, error) {
	q := prefixQuery(accountPK(accountID), signingKeyPrefix)
	q.TableName = s.table
	q.ScanIndexForward = aws.Bool(false)
	q.Limit = aws.Int32(1)
	q.ConsistentRead = aws.Bool(true)
	out, err := s.db.Query(ctx, q)
	if err != nil {
		return signing.KeyRecord{}, fmt.Errorf("query signing key: %w", err)
	}
	if len(out.Items) == 0 {
		return signing.KeyRecord{}, apierr.NotFound
	}
	var it signingKeyItem
	if err := attributevalue.UnmarshalMap(out.Items[0], &it); err != nil {
		return signing.KeyRecord{}, fmt.Errorf("unmarshal signing key: %w", err)
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
	return s.put(ctx, signingKeyItem{
		PK: accountPK(rec.AccountID), SK: signingKeySK(rec.Version), AccountID: rec.AccountID, Version: rec.Version,
		Mode: rec.Mode, PublicKeyDER: rec.PublicKeyDER, WrappedPrivateKey: rec.WrappedPrivateKey,
		WrappedDataKey: rec.WrappedDataKey, KMSKeyID: rec.KMSKeyID, Created: rec.Created.Unix(),
	}, true)
}
