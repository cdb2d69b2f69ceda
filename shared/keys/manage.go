package keys

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"
	"unicode/utf8"

	"github.com/keyturn/keyturn/shared/apierr"
)

// Limits and messages from the reference.
const (
	MaxNotes      = 500
	MaxKeysPerReq = 1000
)

// Documented messages of the key methods.

// Spec describes keys to create.
type Spec struct {
	Period          int64
	Features        [8]bool
	Notes           *string
	Block           bool
	TrialActivation bool
	MaxNoOfMachines int64
	AllowedMachines *string
	CustomerID      int64
	ResellerID      int64
	// LicenseType is the keys' license type ("" for none; see
	// ValidLicenseType).
	LicenseType string
	// CreatedBy is the access token id creating the keys (recorded as
	// their editor); AutoCollected marks keys the client application
	// creates itself (no editor is recorded for them).
	CreatedBy     string
	AutoCollected bool
	// OrderRef is the order the keys are sold in ("" for none).
	OrderRef string
}

// Validate checks the spec against the reference's limits.
func (sp Spec) Validate() error {
	if sp.Notes != nil && utf8.RuneCountInString(*sp.Notes) > MaxNotes {
		return apierr.NotesTooLong
	}
	if sp.Period < 0 || sp.MaxNoOfMachines < 0 || sp.Period > 365*1000 {
		return apierr.BadInput
	}
	if sp.LicenseType != "" && !ValidLicenseType(sp.LicenseType) {
		return BadLicenseType
	}
	return nil
}

// MaxLicenseType is the longest license type.
const MaxLicenseType = 32

// BadLicenseType answers a license type that ValidLicenseType refuses.
var BadLicenseType = apierr.New("The license type must be 1 to 32 lower-case letters, digits, '-' or '_'.")

// ValidLicenseType reports whether t can be stored as a license type: 1 to
// MaxLicenseType lower-case ASCII letters, digits, '-' or '_' (callers
// lower-case what clients send).
func ValidLicenseType(t string) bool {
	if t == "" || len(t) > MaxLicenseType {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// KeyGenerator returns a new random key string.
type KeyGenerator func() (string, error)

// WithKeyGenerator sets the key-string generator used by Create.
func (s *Service) WithKeyGenerator(g KeyGenerator) *Service {
	s.newKey = g
	return s
}

// Create makes n keys (capped at 1000, as documented) of a product with
// spec. Ids come from the product's key counter and the global counter (two
// UpdateItems for the whole batch); key strings are random and unique
// within the product (a clash is retried with new strings). All keys are
// created or none; when undoing a failed creation fails too, the error
// says what is left to repair. Errors: apierr.NotesTooLong, apierr.BadInput.
func (s *Service) Create(ctx context.Context, accountID, productID int64, spec Spec, n int) (_ []Record, err error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if n < 1 {
		n = 1
	}
	if n > MaxKeysPerReq {
		n = MaxKeysPerReq
	}
	lastID, err := s.store.NextKeyIDs(ctx, productID, int64(n))
	if err != nil {
		return nil, err
	}
	// Ids that get no key are recorded as holes, so that listings (which
	// page by id) do not count them.
	created := false
	defer func() {
		if !created {
			ids := make([]int64, n)
			for i := range ids {
				ids[i] = lastID - int64(n) + 1 + int64(i)
			}
			if rerr := s.store.ReleaseKeyIDs(context.WithoutCancel(ctx), productID, ids); rerr != nil {
				err = errors.Join(err, fmt.Errorf("undo: record key ids %d..%d of product %d as unused: %w", ids[0], ids[n-1], productID, rerr))
			}
		}
	}()
	lastGlobal, err := s.store.NextGlobalIDs(ctx, int64(n))
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Second)
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{
			AccountID: accountID, ProductID: productID, ID: lastID - int64(n) + 1 + int64(i),
			GlobalID: lastGlobal - int64(n) + 1 + int64(i), Created: now,
			Expires: now.Add(time.Duration(spec.Period) * 24 * time.Hour), Period: spec.Period,
			Features: spec.Features, Notes: spec.Notes, Block: spec.Block, TrialActivation: spec.TrialActivation,
			MaxNoOfMachines: spec.MaxNoOfMachines, AllowedMachines: spec.AllowedMachines,
			CustomerID: spec.CustomerID, ResellerID: spec.ResellerID,
			LicenseType: spec.LicenseType, AutoCollected: spec.AutoCollected, OrderRef: spec.OrderRef,
		}
		if !spec.AutoCollected {
			recs[i].Edited, recs[i].EditedBy = now, spec.CreatedBy
		}
	}
	for attempt := 0; attempt < 3; attempt++ {
		seen := map[string]bool{}
		for i := range recs {
			for {
				k, err := s.newKey()
				if err != nil {
					return nil, err
				}
				if !seen[k] {
					seen[k] = true
					recs[i].Key = k
					break
				}
			}
		}
		err = s.store.CreateKeys(ctx, recs)
		if !errors.Is(err, apierr.Conflict) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	created = true
	return recs, nil
}

// Change applies c to a key of the account and records the edit (Edited
// now, EditedBy c.EditedBy). A license that changes customer takes its
// machines along: they stop counting toward the old customer's
// MaxNoOfDevices and count toward the new one's (a read before the write,
// and the device writes after it). Errors: apierr.KeyNotFound.
func (s *Service) Change(ctx context.Context, accountID, productID int64, key string, c Change) (Record, error) {
	c.Edited = s.now().UTC().Truncate(time.Second)
	moving := c.CustomerID != nil && s.devices != nil
	var before Record
	if moving {
		var err error
		before, err = s.store.GetKey(ctx, productID, key, true)
		if errors.Is(err, apierr.NotFound) || err == nil && before.AccountID != accountID {
			return Record{}, apierr.KeyNotFound
		}
		if err != nil {
			return Record{}, err
		}
	}
	r, err := s.store.Update(ctx, accountID, productID, key, c)
	if errors.Is(err, apierr.NotFound) {
		return Record{}, apierr.KeyNotFound
	}
	if err != nil {
		return Record{}, err
	}
	if c.MaxNoOfMachines != nil {
		if err := s.Compact(ctx, productID, key); err != nil {
			return Record{}, err
		}
	}
	if moving && before.CustomerID != r.CustomerID {
		after, err := s.store.GetKey(ctx, productID, key, true)
		if err != nil {
			return Record{}, err
		}
		if err := s.moveDevices(ctx, before, after); err != nil {
			return Record{}, err
		}
	}
	return r, nil
}

// moveDevices releases the machines of a license from its old customer's
// device count (those it had when read and right after the change, which
// covers an activation that landed in between) and counts them for the
// new customer if that one limits devices.
func (s *Service) moveDevices(ctx context.Context, before, after Record) error {
	if before.CustomerID != 0 {
		mids := map[string]bool{}
		for mid := range maps.Keys(before.Nodes) {
			mids[mid] = true
		}
		for mid := range maps.Keys(after.Nodes) {
			mids[mid] = true
		}
		for mid := range mids {
			if err := s.devices.ReleaseDevice(ctx, before.AccountID, before.CustomerID, before.GlobalID, mid); err != nil {
				return err
			}
		}
	}
	if after.CustomerID == 0 || len(after.Nodes) == 0 {
		return nil
	}
	limit, err := s.devices.DeviceLimit(ctx, after.AccountID, after.CustomerID)
	if err != nil || limit == 0 {
		return err
	}
	return s.devices.CountKeyDevices(ctx, after.AccountID, after.CustomerID, after)
}

// Extend moves the expiry by days: from the current expiry if it has not
// passed, otherwise from now (negative days shorten), and sets Period to
// the whole days from now to the new expiry (truncated toward zero), as
// the reference service does: a key created with Period p and extended by
// d days a few seconds later has Period p+d-1. It is a read and one write
// of expiry and Period conditional on the expiry it read (retried if it
// moved). Errors: apierr.KeyNotFound.
func (s *Service) Extend(ctx context.Context, accountID, productID int64, key string, days int64) (Record, error) {
	return s.ExtendAs(ctx, accountID, productID, key, days, "")
}

// ExtendAs is Extend recording editedBy (an access token id) as the key's
// editor.
func (s *Service) ExtendAs(ctx context.Context, accountID, productID int64, key string, days int64, editedBy string) (Record, error) {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		r, err := s.Get(ctx, accountID, productID, key)
		if err != nil {
			return Record{}, err
		}
		called := s.now().UTC()
		now := called.Truncate(time.Second)
		base := r.Expires
		if !base.After(now) {
			base = now
		}
		exp := base.Add(time.Duration(days) * 24 * time.Hour)
		period := int64(exp.Sub(called) / (24 * time.Hour))
		old := r.Expires
		out, err := s.store.Update(ctx, accountID, productID, key, Change{Expires: &exp, KeyID: r.ID, Period: &period, IfExpires: &old,
			Edited: now, EditedBy: editedBy})
		if errors.Is(err, apierr.Conflict) {
			continue
		}
		if errors.Is(err, apierr.NotFound) {
			return Record{}, apierr.KeyNotFound
		}
		return out, err
	}
	return Record{}, errors.New("extend: too much contention")
}

// Delete removes a key of the account with its activations; the machines
// it had node-locked stop counting toward its customer's MaxNoOfDevices.
// Its data objects are not removed (RemoveDataObject by id still reaches
// them). Errors: apierr.KeyNotFound.
func (s *Service) Delete(ctx context.Context, accountID, productID int64, key string) error {
	r, err := s.store.GetKey(ctx, productID, key, true)
	if errors.Is(err, apierr.NotFound) || err == nil && r.AccountID != accountID {
		return apierr.KeyNotFound
	}
	if err != nil {
		return err
	}
	if err := s.store.DeleteKey(ctx, productID, key); err != nil {
		return err
	}
	if r.CustomerID == 0 || s.devices == nil {
		return nil
	}
	for mid := range r.Nodes {
		if err := s.devices.ReleaseDevice(ctx, accountID, r.CustomerID, r.GlobalID, mid); err != nil {
			return err
		}
	}
	return nil
}
