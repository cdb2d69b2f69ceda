package keys

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
)

// MaxNodesPerKey bounds node-locked activations of a key with no machine
// limit (MaxNoOfMachines = 0), keeping the key item far below DynamoDB's
// 400 KB item limit.
const MaxNodesPerKey = 2000

// MaxMachineCode is the longest accepted machine code (and friendly name).
const MaxMachineCode = 256

// MaxOSInfo bounds the kept OSInfo, keeping activation records small.
const MaxOSInfo = 512

// Service implements the key operations on a Store.
type Service struct {
	store   Store
	now     func() time.Time
	newKey  KeyGenerator
	devices CustomerDevices
}

// CustomerDevices gives access to customers' device limits
// (MaxNoOfDevices across a customer's licenses).
type CustomerDevices interface {
	// DeviceLimit returns the customer's MaxNoOfDevices (0: unlimited or
	// no such customer).
	DeviceLimit(ctx context.Context, accountID, customerID int64) (int64, error)
	// ReleaseDevice un-counts a machine that the customer's license
	// globalID no longer has (the device stays counted while another of
	// the customer's licenses has it).
	ReleaseDevice(ctx context.Context, accountID, customerID, globalID int64, mid string) error
	// CountKeyDevices counts the machines node-locked on r (a license that
	// just became the customer's) for the customer, beyond its limit if
	// need be: they are already activated.
	CountKeyDevices(ctx context.Context, accountID, customerID int64, r Record) error
}

// WithCustomerDevices makes node-locked activations of keys that have a
// customer respect the customer's device limit.
func (s *Service) WithCustomerDevices(d CustomerDevices) *Service {
	s.devices = d
	return s
}

// NewService returns a Service. Set the key-string generator with
// WithKeyGenerator before calling Create.
func NewService(store Store, now func() time.Time) *Service {
	return &Service{store: store, now: now, newKey: func() (string, error) {
		return "", errors.New("keys: no key generator configured")
	}}
}

// ActivateInput is one Activate call.
type ActivateInput struct {
	AccountID    int64
	ProductID    int64
	Key          string
	MachineCode  string
	FriendlyName string
	IP           string
	// OSInfo is kept with the activation (at most MaxOSInfo bytes).
	OSInfo string
	// FloatingInterval > 0 selects floating licensing.
	FloatingInterval time.Duration
	MaxOverdraft     int64
}

// Get returns a key of the account (apierr.KeyNotFound otherwise).
func (s *Service) Get(ctx context.Context, accountID, productID int64, key string) (Record, error) {
	r, err := s.store.GetKey(ctx, productID, key, false)
	if errors.Is(err, apierr.NotFound) || err == nil && r.AccountID != accountID {
		return Record{}, apierr.KeyNotFound
	}
	return r, err
}

// maxAttempts bounds optimistic retries when concurrent writers race.
const maxAttempts = 50

// Activate activates a machine on a key. Node-locked: a known machine is
// returned unchanged after one read; a new machine costs one read and one
// conditional write that enforces MaxNoOfMachines (machines listed in
// AllowedMachines may exceed it). Floating: the machine takes (or renews)
// one of MaxNoOfMachines + MaxOverdraft seats whose previous holder expired.
// The first activation of a trial-activation key starts its countdown.
// Errors: apierr.KeyNotFound, apierr.KeyBlocked, apierr.LimitReached,
// apierr.BadInput.
func (s *Service) Activate(ctx context.Context, in ActivateInput) (Record, error) {
	if len(in.MachineCode) > MaxMachineCode || len(in.OSInfo) > MaxOSInfo || len(in.FriendlyName) > MaxMachineCode {
		return Record{}, apierr.BadInput
	}
	consistent := false
	for attempt := 0; attempt < maxAttempts; attempt++ {
		r, err := s.store.GetKey(ctx, in.ProductID, in.Key, consistent)
		if errors.Is(err, apierr.NotFound) || err == nil && r.AccountID != in.AccountID {
			return Record{}, apierr.KeyNotFound
		}
		if err != nil {
			return Record{}, err
		}
		if r.Block {
			return Record{}, apierr.KeyBlocked
		}
		now := s.now().UTC().Truncate(time.Second)
		var trial time.Time
		if r.TrialActivation && !r.TrialStarted {
			trial = now.Add(time.Duration(r.Period) * 24 * time.Hour)
		}
		var out Record
		if in.FloatingInterval > 0 {
			out, err = s.claimSeat(ctx, r, in, now, trial)
		} else {
			if _, ok := r.Nodes[in.MachineCode]; ok {
				return r, nil
			}
			limit := r.MaxNoOfMachines
			if allowed(r.AllowedMachines, in.MachineCode) {
				limit = 0
			}
			if limit == 0 {
				limit = MaxNodesPerKey
			}
			if int64(len(r.Nodes)) >= limit {
				if !consistent { // an eventually consistent read may be stale
					consistent = true
					continue
				}
				return Record{}, apierr.LimitReached
			}
			act := NodeActivation{
				Mid: in.MachineCode, Machine: Machine{IP: in.IP, Time: now, FriendlyName: in.FriendlyName, OSInfo: in.OSInfo},
				Limit: limit, StartTrial: trial,
			}
			if r.CustomerID != 0 && s.devices != nil {
				maxDevices, err := s.devices.DeviceLimit(ctx, r.AccountID, r.CustomerID)
				if err != nil {
					return Record{}, err
				}
				if maxDevices > 0 {
					act.Devices = &DeviceLimit{AccountID: r.AccountID, CustomerID: r.CustomerID, Max: maxDevices, GlobalID: r.GlobalID}
				}
			}
			out, err = s.store.AddNode(ctx, in.ProductID, in.Key, act)
			if errors.Is(err, apierr.LimitReached) && act.Devices != nil {
				return Record{}, err
			}
		}
		if errors.Is(err, apierr.LimitReached) && !consistent && in.FloatingInterval > 0 {
			consistent = true
			continue
		}
		if errors.Is(err, apierr.Conflict) {
			consistent = true // someone changed the key meanwhile: re-read and decide again
			continue
		}
		if errors.Is(err, apierr.NotFound) {
			return Record{}, apierr.KeyNotFound
		}
		return out, err
	}
	return Record{}, fmt.Errorf("activate: too much contention on key %d/%s", in.ProductID, in.Key)
}

// claimSeat picks a slot for a floating activation and claims it: the
// machine's own live seat if it has one, otherwise the lowest free slot.
// Slots at or above MaxNoOfMachines are overdraft seats.
func (s *Service) claimSeat(ctx context.Context, r Record, in ActivateInput, now, trial time.Time) (Record, error) {
	capacity := r.MaxNoOfMachines + max(in.MaxOverdraft, 0)
	if r.MaxNoOfMachines == 0 {
		capacity = MaxNodesPerKey
	}
	slot := -1
	for sl, seat := range r.Seats {
		if seat.Mid == in.MachineCode && seat.Expires.After(now) && int64(sl) < capacity {
			slot = sl
			break
		}
	}
	if slot < 0 {
		for sl := 0; int64(sl) < capacity; sl++ {
			seat, ok := r.Seats[sl]
			if !ok || !seat.Expires.After(now) || seat.Mid == in.MachineCode {
				slot = sl
				break
			}
		}
	}
	if slot < 0 {
		return Record{}, apierr.LimitReached
	}
	seat := Seat{Mid: in.MachineCode, IP: in.IP, Time: now, Expires: now.Add(in.FloatingInterval),
		FriendlyName: in.FriendlyName, OSInfo: in.OSInfo, Overdraft: r.MaxNoOfMachines > 0 && int64(slot) >= r.MaxNoOfMachines}
	if old, ok := r.Seats[slot]; ok && old.Mid == in.MachineCode && old.Expires.After(now) {
		seat.Time = old.Time
	}
	return s.store.ClaimSeat(ctx, in.ProductID, in.Key, SeatClaim{Slot: slot, Seat: seat, Now: now, StartTrial: trial})
}

// Deactivate removes a node-locked activation (one conditional write when
// it exists) or, with floating, releases the machine's seat (no error if
// it holds none). Errors: apierr.KeyNotFound, apierr.KeyBlocked,
// apierr.NeverActivated (node-locked only).
func (s *Service) Deactivate(ctx context.Context, accountID, productID int64, key, machineCode string, floating bool) error {
	r, err := s.Get(ctx, accountID, productID, key)
	if err != nil {
		return err
	}
	if r.Block {
		return apierr.KeyBlocked
	}
	if floating {
		for slot, seat := range r.Seats {
			if seat.Mid == machineCode {
				if err := s.store.ReleaseSeat(ctx, productID, key, slot, machineCode); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if _, ok := r.Nodes[machineCode]; !ok {
		return apierr.NeverActivated
	}
	err = s.store.RemoveNode(ctx, productID, key, machineCode)
	if errors.Is(err, apierr.Conflict) {
		// Blocked or deactivated concurrently: report the current state.
		r, gerr := s.store.GetKey(ctx, productID, key, true)
		if gerr == nil && r.Block {
			return apierr.KeyBlocked
		}
		return apierr.NeverActivated
	}
	if errors.Is(err, apierr.NotFound) {
		return apierr.KeyNotFound
	}
	if err == nil && r.CustomerID != 0 && s.devices != nil {
		err = s.devices.ReleaseDevice(ctx, accountID, r.CustomerID, r.GlobalID, machineCode)
	}
	return err
}

// allowed reports whether mid is listed in the newline-separated
// AllowedMachines.
func allowed(list *string, mid string) bool {
	if list == nil || mid == "" {
		return false
	}
	for _, m := range strings.Split(*list, "\n") {
		if strings.TrimSpace(m) == mid {
			return true
		}
	}
	return false
}
