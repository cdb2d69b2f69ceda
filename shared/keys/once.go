package keys

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
)

// CreateOnce creates one key of a product with spec under the key string
// key, which the caller chose in advance (GenerateKey) and recorded, so
// that it can repeat the call after a failure without creating a second
// key: when the product already has a key with that string for the
// account, that key is returned and nothing is written (existing is
// true). The key's existence is checked with a consistent read and the
// creation is conditional on the string being free, so two repeats racing
// each other still create one key. Errors: NotesTooLong, apierr.BadInput
// (spec or key string invalid), apierr.Conflict when the string belongs to
// another account's key.
func (s *Service) CreateOnce(ctx context.Context, accountID, productID int64, spec Spec, key string) (rec Record, existing bool, err error) {
	if err := spec.Validate(); err != nil {
		return Record{}, false, err
	}
	if !ValidKeyString(key) {
		return Record{}, false, apierr.BadInput
	}
	found := func() (Record, bool, error) {
		r, err := s.store.GetKey(ctx, productID, key, true)
		if err != nil {
			return Record{}, false, err
		}
		if r.AccountID != accountID {
			return Record{}, false, fmt.Errorf("key string of product %d belongs to another account: %w", productID, apierr.Conflict)
		}
		return r, true, nil
	}
	if r, ok, err := found(); err == nil {
		return r, ok, nil
	} else if !errors.Is(err, apierr.NotFound) {
		return Record{}, false, err
	}
	id, err := s.store.NextKeyIDs(ctx, productID, 1)
	if err != nil {
		return Record{}, false, err
	}
	created := false
	defer func() {
		if !created {
			_ = s.store.ReleaseKeyIDs(context.WithoutCancel(ctx), productID, []int64{id})
		}
	}()
	global, err := s.store.NextGlobalIDs(ctx, 1)
	if err != nil {
		return Record{}, false, err
	}
	now := s.now().UTC().Truncate(time.Second)
	rec = Record{
		AccountID: accountID, ProductID: productID, ID: id, GlobalID: global, Key: key, Created: now,
		Expires: now.Add(time.Duration(spec.Period) * 24 * time.Hour), Period: spec.Period,
		Features: spec.Features, Notes: spec.Notes, Block: spec.Block, TrialActivation: spec.TrialActivation,
		MaxNoOfMachines: spec.MaxNoOfMachines, AllowedMachines: spec.AllowedMachines,
		CustomerID: spec.CustomerID, ResellerID: spec.ResellerID,
	}
	err = s.store.CreateKeys(ctx, []Record{rec})
	if errors.Is(err, apierr.Conflict) {
		// Another repeat created it between the read and the write.
		return found()
	}
	if err != nil {
		return Record{}, false, err
	}
	created = true
	return rec, false, nil
}

// ValidKeyString reports whether key has the form GenerateKey produces:
// four groups of five upper-case letters joined by hyphens.
func ValidKeyString(key string) bool {
	if len(key) != 23 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if i == 5 || i == 11 || i == 17 {
			if c != '-' {
				return false
			}
		} else if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}
