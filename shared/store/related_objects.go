package store

import (
	"context"

	"github.com/keyturn/keyturn/shared/license"
)

// keyDataObjectsForLicense lists a key's data objects (not its machine
// codes' objects) as licenses show them: one Query, id order.
func (s *Store) keyDataObjectsForLicense(ctx context.Context, accountID, globalID int64) ([]license.DataObject, error) {
	objs, err := s.KeyDataObjects(ctx, accountID, globalID)
	if err != nil {
		return nil, err
	}
	out := make([]license.DataObject, len(objs))
	for i, o := range objs {
		out[i] = license.DataObject{ID: o.ID, Name: o.Name, StringValue: o.StringValue, IntValue: int64(o.IntValue)}
	}
	return out, nil
}
