package keys

import (
	"context"
	"errors"
	"log/slog"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/catalog"
)

// DefaultTrialDays is the trial length when the token's feature lock does
// not set one.
const DefaultTrialDays = 15

// TrialLicenseType is the license type of the keys CreateTrial creates.
const TrialLicenseType = "evaluation"

// MaxTrialMachineCode is the documented machine code limit of
// CreateTrialKey.
const MaxTrialMachineCode = 128

// TrialInput is one CreateTrialKey call.
type TrialInput struct {
	AccountID    int64
	Product      catalog.Product
	MachineCode  string
	FriendlyName string
	IP           string
	// Days is the trial length (the token's feature lock, or 15).
	Days int64
}

// CreateTrial returns the machine's existing trial key if it is still a
// trial (a trial-type feature set) and not blocked; otherwise it creates a
// key that is time-limited (Days), has the product's time-limited and trial
// features set, allows one machine and is activated on MachineCode. Such
// a key is AutoCollected with license type TrialLicenseType. When
// two calls race for one machine, one key wins and the other is removed.
// Errors: apierr.BadInput.
func (s *Service) CreateTrial(ctx context.Context, in TrialInput) (Record, error) {
	if len(in.MachineCode) > MaxTrialMachineCode || in.Days <= 0 {
		return Record{}, apierr.BadInput
	}
	pid := in.Product.ID
	existing := func() (Record, bool, error) {
		k, err := s.store.TrialKeyFor(ctx, pid, in.MachineCode)
		if errors.Is(err, apierr.NotFound) {
			return Record{}, false, nil
		}
		if err != nil {
			return Record{}, false, err
		}
		r, err := s.store.GetKey(ctx, pid, k, true)
		if errors.Is(err, apierr.NotFound) {
			return Record{}, false, nil
		}
		if err != nil {
			return Record{}, false, err
		}
		return r, !r.Block && isTrial(r, in.Product.Features), nil
	}
	if in.MachineCode != "" {
		if r, ok, err := existing(); err != nil || ok {
			return r, err
		}
	}
	var spec Spec
	spec.Period = in.Days
	spec.MaxNoOfMachines = 1
	// The client application creates the key, not the vendor.
	spec.AutoCollected, spec.LicenseType = true, TrialLicenseType
	for i, f := range in.Product.Features.Features {
		if f.Type == catalog.FeatureTimeLimited || f.Type == catalog.FeatureTrial {
			spec.Features[i] = true
		}
	}
	recs, err := s.Create(ctx, in.AccountID, pid, spec, 1)
	if err != nil {
		return Record{}, err
	}
	r := recs[0]
	if in.MachineCode == "" {
		return r, nil
	}
	if err := s.store.SetTrialKey(ctx, pid, in.MachineCode, r.Key, false); errors.Is(err, apierr.Conflict) {
		// A trial exists for this machine: keep it if it is still usable,
		// otherwise this new key replaces it.
		if old, ok, err2 := existing(); err2 == nil && ok {
			if err := s.store.DeleteKey(context.WithoutCancel(ctx), pid, r.Key); err != nil {
				s.log.LogAttrs(ctx, slog.LevelError, "keys: surplus trial key not deleted; delete it (no trial refers to it)",
					slog.Int64("accountId", in.AccountID), slog.Int64("productId", pid), slog.Int64("keyId", r.ID), slog.String("error", err.Error()))
			}
			return old, nil
		}
		if err := s.store.SetTrialKey(ctx, pid, in.MachineCode, r.Key, true); err != nil {
			return Record{}, err
		}
	} else if err != nil {
		return Record{}, err
	}
	return s.Activate(ctx, ActivateInput{AccountID: in.AccountID, ProductID: pid, Key: r.Key,
		MachineCode: in.MachineCode, FriendlyName: in.FriendlyName, IP: in.IP})
}

// isTrial reports whether a trial-type feature is set on r.
func isTrial(r Record, fd catalog.FeatureDefinitions) bool {
	for i, f := range fd.Features {
		if f.Type == catalog.FeatureTrial && r.Features[i] {
			return true
		}
	}
	return false
}
