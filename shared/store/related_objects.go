package store

import (
	"context"

	"github.com/keyturn/keyturn/shared/license"
)

// keyDataObjectsForLicense lists a key's data objects as licenses show them.
func (s *Store) keyDataObjectsForLicense(ctx context.Context, accountID, globalID int64) ([]license.DataObject, error) {
	return []license.DataObject{}, nil
}
