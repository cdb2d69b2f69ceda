package keys

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
)

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
	log     *slog.Logger
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

// WithLogger sets where the Service reports cleanup writes that failed
// after the request itself succeeded (slog.Default() until set).
func (s *Service) WithLogger(l *slog.Logger) *Service {
	s.log = l
	return s
}

// NewService returns a Service. Set the key-string generator with
// WithKeyGenerator before calling Create.
func NewService(store Store, now func() time.Time) *Service {
	return &Service{store: store, now: now, log: slog.Default(), newKey: func() (string, error) {
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

// errStale reports a refusal decided on an eventually consistent read:
// the caller reads again, consistently, before refusing.
var errStale = errors.New("decided on a stale read")

// Activate activates a machine on a key. Every activation is an item of
// its own in the key's partition, so its write costs the same however many
// machines the key has. Node-locked: a known machine is returned unchanged
// after one read; a new machine costs one read and one conditional write
// of its own item. On a key with a machine limit the machine takes one of
// MaxNoOfMachines seat slots (the write fails if the slot is taken, so
// parallel activations never exceed the limit); machines listed in
// AllowedMachines may exceed it. Floating: the machine takes (or renews)
// one of MaxNoOfMachines + MaxOverdraft seat slots whose previous holder
// expired; without a limit it renews its own activation. The first
// activation of a trial-activation key starts its countdown (one
// transaction with the activation). Errors: apierr.KeyNotFound,
// apierr.KeyBlocked, apierr.LimitReached, apierr.BadInput.
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
		s.dropDuplicates(ctx, &r)
		now := s.now().UTC().Truncate(time.Second)
		var trial time.Time
		if r.TrialActivation && !r.TrialStarted {
			trial = now.Add(time.Duration(r.Period) * 24 * time.Hour)
		}
		var out Record
		if in.FloatingInterval > 0 {
			out, err = s.claimSeat(ctx, r, in, now, trial, attempt, consistent)
		} else {
			out, err = s.addNode(ctx, r, in, now, trial, attempt, consistent)
		}
		switch {
		case errors.Is(err, errStale), errors.Is(err, apierr.Conflict):
			consistent = true // someone changed the key meanwhile: re-read and decide again
			continue
		case errors.Is(err, apierr.NotFound):
			return Record{}, apierr.KeyNotFound
		}
		return out, err
	}
	return Record{}, fmt.Errorf("activate: too much contention on key %d/%s", in.ProductID, in.Key)
}

// addNode adds a node-locked activation of in.MachineCode to r (see
// Activate) and returns r with it.
func (s *Service) addNode(ctx context.Context, r Record, in ActivateInput, now, trial time.Time, attempt int, consistent bool) (Record, error) {
	mid := in.MachineCode
	if _, ok := r.Nodes[mid]; ok {
		return r, nil
	}
	m := Machine{IP: in.IP, Time: now, FriendlyName: in.FriendlyName, OSInfo: in.OSInfo, Slot: NoSlot}
	if limit := r.MaxNoOfMachines; limit > 0 {
		count := int64(len(r.Nodes))
		slot := -1
		if count < limit {
			slot = freeSlot(r.usedNodeSlots(), mid, 0, limit, attempt)
		}
		switch {
		case slot >= 0:
			m.Slot = slot
		case allowed(r.AllowedMachines, mid):
			// Listed machines may exceed the limit: stored by machine code.
		case !consistent:
			return Record{}, errStale
		default:
			return Record{}, apierr.LimitReached
		}
	}
	act := NodeActivation{Mid: mid, Machine: m, StartTrial: trial, TrialKeyID: r.ID}
	if r.CustomerID != 0 && s.devices != nil {
		maxDevices, err := s.devices.DeviceLimit(ctx, r.AccountID, r.CustomerID)
		if err != nil {
			return Record{}, err
		}
		if maxDevices > 0 {
			act.Devices = &DeviceLimit{AccountID: r.AccountID, CustomerID: r.CustomerID, Max: maxDevices, GlobalID: r.GlobalID}
		}
	}
	err := s.store.AddNode(ctx, r.ProductID, r.Key, act)
	if errors.Is(err, apierr.Conflict) && m.Slot == NoSlot {
		// The machine may be activated already (a partial or stale read
		// did not show it): then this is a repeated activation.
		if got, gerr := s.store.GetNode(ctx, r.ProductID, r.Key, mid); gerr == nil {
			r.Nodes[mid] = got
			return r, nil
		}
	}
	if err != nil {
		return Record{}, err
	}
	r.Nodes[mid] = m
	if !trial.IsZero() {
		r.Expires, r.TrialStarted = trial, true
	}
	return r, nil
}

// claimSeat takes or renews a floating seat for in.MachineCode (see
// Activate) and returns r with it.
func (s *Service) claimSeat(ctx context.Context, r Record, in ActivateInput, now, trial time.Time, attempt int, consistent bool) (Record, error) {
	mid := in.MachineCode
	seat := Seat{Mid: mid, IP: in.IP, Time: now, Expires: now.Add(in.FloatingInterval), FriendlyName: in.FriendlyName,
		OSInfo: in.OSInfo, Slot: NoSlot}
	limit := r.MaxNoOfMachines
	if limit > 0 {
		capacity := limit + max(in.MaxOverdraft, 0)
		seat.Slot = -1
		for _, old := range r.Seats {
			if old.Mid == mid && old.Expires.After(now) && old.Slot >= 0 && int64(old.Slot) < capacity {
				seat.Slot, seat.Time = old.Slot, old.Time
				break
			}
		}
		if seat.Slot < 0 {
			used := r.usedSeatSlots(now)
			seat.Slot = freeSlot(used, mid, 0, limit, attempt)
			if seat.Slot < 0 && capacity > limit {
				seat.Slot = freeSlot(used, mid, limit, capacity, attempt)
			}
		}
		if seat.Slot < 0 {
			if !consistent {
				return Record{}, errStale
			}
			return Record{}, apierr.LimitReached
		}
		seat.Overdraft = int64(seat.Slot) >= limit
	} else {
		for _, old := range r.Seats {
			if old.Mid == mid && old.Slot == NoSlot && old.Expires.After(now) {
				seat.Time = old.Time
			}
		}
	}
	if err := s.store.ClaimSeat(ctx, r.ProductID, r.Key, SeatClaim{Seat: seat, Now: now, StartTrial: trial, TrialKeyID: r.ID}); err != nil {
		return Record{}, err
	}
	r.Seats = slices.DeleteFunc(r.Seats, func(old Seat) bool {
		return old.Slot == seat.Slot && (seat.Slot != NoSlot || old.Mid == mid)
	})
	r.Seats = append(r.Seats, seat)
	if !trial.IsZero() {
		r.Expires, r.TrialStarted = trial, true
	}
	return r, nil
}

// usedNodeSlots returns the slots held by node-locked activations.
func (r Record) usedNodeSlots() map[int]bool {
	used := make(map[int]bool, len(r.Nodes))
	for _, m := range r.Nodes {
		if m.Slot >= 0 {
			used[m.Slot] = true
		}
	}
	for _, ms := range r.DuplicateNodes {
		for _, m := range ms {
			if m.Slot >= 0 {
				used[m.Slot] = true
			}
		}
	}
	return used
}

// usedSeatSlots returns the floating slots held by live seats at now.
func (r Record) usedSeatSlots(now time.Time) map[int]bool {
	used := map[int]bool{}
	for _, s := range r.Seats {
		if s.Slot >= 0 && s.Expires.After(now) {
			used[s.Slot] = true
		}
	}
	return used
}

// freeSlot returns a slot in [lo, hi) that used does not hold, probing
// from a position derived from the machine code (so two activations of one
// machine try the same slot first and collide instead of taking two), or
// -1 when all are held. attempt shifts the start after lost races.
func freeSlot(used map[int]bool, mid string, lo, hi int64, attempt int) int {
	n := hi - lo
	if n <= 0 {
		return -1
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(mid))
	start := (h.Sum64() + uint64(attempt)*0x9E3779B97F4A7C15) % uint64(n)
	// At most len(used)+1 probes find a free slot when one exists.
	for i := int64(0); i < n && i <= int64(len(used)); i++ {
		slot := lo + int64((start+uint64(i))%uint64(n))
		if !used[int(slot)] {
			return int(slot)
		}
	}
	return -1
}

// dropDuplicates removes, best effort, node-locked activations of a
// machine that holds another slot too (two first activations of one
// machine that raced after reading different states), so the machine
// keeps one seat. A removal that fails is logged; the next activation of
// the key tries again.
func (s *Service) dropDuplicates(ctx context.Context, r *Record) {
	for mid, dups := range r.DuplicateNodes {
		for _, m := range dups {
			if err := s.store.RemoveNode(ctx, r.ProductID, r.Key, mid, m, "", nil); err != nil {
				s.log.LogAttrs(ctx, slog.LevelWarn, "keys: duplicate activation not removed; the machine holds two seats until the key's next activation removes it",
					slog.Int64("accountId", r.AccountID), slog.Int64("productId", r.ProductID), slog.Int64("keyId", r.ID),
					slog.String("machineCode", mid), slog.Int("slot", m.Slot), slog.String("error", err.Error()))
			}
		}
	}
	r.DuplicateNodes = nil
}

// Deactivate removes a node-locked activation (one conditional write when
// it exists) or, with floating, releases the machine's seat (no error if
// it holds none). A seat freed below the machine limit is taken over by a
// machine that exceeds the limit, if any (one transaction), so the limit
// stays exact. Errors: apierr.KeyNotFound, apierr.KeyBlocked,
// apierr.NeverActivated (node-locked only).
func (s *Service) Deactivate(ctx context.Context, accountID, productID int64, key, machineCode string, floating bool) error {
	consistent := false
	for attempt := 0; attempt < maxAttempts; attempt++ {
		r, err := s.store.GetKey(ctx, productID, key, consistent)
		if errors.Is(err, apierr.NotFound) || err == nil && r.AccountID != accountID {
			return apierr.KeyNotFound
		}
		if err != nil {
			return err
		}
		if r.Block {
			return apierr.KeyBlocked
		}
		if floating {
			for _, seat := range r.Seats {
				if seat.Mid == machineCode {
					if err := s.store.ReleaseSeat(ctx, productID, key, seat); err != nil {
						return err
					}
				}
			}
			return nil
		}
		m, ok := r.Nodes[machineCode]
		if !ok && r.Partial {
			m, err = s.store.GetNode(ctx, productID, key, machineCode)
			ok = err == nil
		}
		if !ok {
			if !consistent {
				consistent = true
				continue
			}
			return apierr.NeverActivated
		}
		victims := append([]Machine{m}, r.DuplicateNodes[machineCode]...)
		err = nil
		for _, v := range victims {
			if err = s.removeNode(ctx, r, machineCode, v); err != nil {
				break
			}
		}
		if errors.Is(err, apierr.Conflict) {
			consistent = true
			continue
		}
		if err != nil {
			return err
		}
		if r.CustomerID != 0 && s.devices != nil {
			return s.devices.ReleaseDevice(ctx, accountID, r.CustomerID, r.GlobalID, machineCode)
		}
		return nil
	}
	return fmt.Errorf("deactivate: too much contention on key %d/%s", productID, key)
}

// removeNode removes activation m of mid. When m holds a slot below the
// limit and another machine holds no slot or one above the limit, that
// machine moves into m's slot in the same write.
func (s *Service) removeNode(ctx context.Context, r Record, mid string, m Machine) error {
	if m.Slot >= 0 && int64(m.Slot) < r.MaxNoOfMachines {
		if omid, o, ok := r.outsider(mid); ok {
			return s.store.RemoveNode(ctx, r.ProductID, r.Key, mid, m, omid, &o)
		}
	}
	return s.store.RemoveNode(ctx, r.ProductID, r.Key, mid, m, "", nil)
}

// outsider returns the earliest node-locked activation (other than of
// except) that holds no slot below the machine limit.
func (r Record) outsider(except string) (string, Machine, bool) {
	var best string
	var bm Machine
	found := false
	for mid, m := range r.Nodes {
		if mid == except || (m.Slot >= 0 && int64(m.Slot) < r.MaxNoOfMachines) {
			continue
		}
		if !found || m.Time.Before(bm.Time) || m.Time.Equal(bm.Time) && mid < best {
			best, bm, found = mid, m, true
		}
	}
	return best, bm, found
}

// Compact moves node-locked activations that hold no slot below the
// machine limit (machines activated while the key had no or a higher
// limit, AllowedMachines beyond it) into free slots below it, one
// transaction each, so that a new machine finds a free slot only while the
// key has fewer machines than its limit. Called after the limit changes.
func (s *Service) Compact(ctx context.Context, productID int64, key string) error {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		r, err := s.store.GetKey(ctx, productID, key, true)
		if errors.Is(err, apierr.NotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if r.MaxNoOfMachines <= 0 || r.Partial {
			return nil
		}
		omid, o, ok := r.outsider("")
		if !ok {
			return nil
		}
		slot := freeSlot(r.usedNodeSlots(), omid, 0, r.MaxNoOfMachines, attempt)
		if slot < 0 {
			return nil // the key is full: the extra machines stay above the limit
		}
		err = s.store.RemoveNode(ctx, productID, key, "", Machine{Slot: slot}, omid, &o)
		if err != nil && !errors.Is(err, apierr.Conflict) {
			return err
		}
	}
	return fmt.Errorf("compact: too much contention on key %d/%s", productID, key)
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
