// Package keys is the license-key domain: key records, node-locked and
// floating activation, trial activation and key mutations. It imports
// nothing from AWS; the DynamoDB adapter in package store implements Store
// and enforces the seat invariants with conditional writes.
package keys

import (
	"context"
	"sort"
	"time"
)

// Machine is one node-locked activation.
type Machine struct {
	IP           string
	Time         time.Time
	FriendlyName string
	// OSInfo is the client's OS description (kept, never sent back).
	OSInfo string
}

// Seat is one floating seat (slot). A seat is free when it is missing or
// its Expires is not after now.
type Seat struct {
	Mid          string
	IP           string
	Time         time.Time
	Expires      time.Time
	FriendlyName string
	Overdraft    bool
	OSInfo       string
}

// Record is a stored license key.
type Record struct {
	AccountID       int64
	ProductID       int64
	ID              int64
	GlobalID        int64
	Key             string
	Created         time.Time
	Expires         time.Time
	Period          int64
	Features        [8]bool
	Notes           *string
	Block           bool
	TrialActivation bool
	// TrialStarted is set by the first activation of a trial-activation
	// key (its countdown starts then).
	TrialStarted    bool
	MaxNoOfMachines int64
	AllowedMachines *string
	CustomerID      int64
	ResellerID      int64
	// DataObjectCount is how many data objects reference the key (kept by
	// the data-object store in the same transaction as each add/remove), so
	// rendering a license reads them only when there are some.
	DataObjectCount int64
	// Nodes are the node-locked activations by machine code.
	Nodes map[string]Machine
	// Seats are the floating seats by slot index.
	Seats map[int]Seat
}

// NodeMids returns the node-locked machine codes ordered by activation
// time (then code).
func (r Record) NodeMids() []string {
	mids := make([]string, 0, len(r.Nodes))
	for m := range r.Nodes {
		mids = append(mids, m)
	}
	sort.Slice(mids, func(i, j int) bool {
		a, b := r.Nodes[mids[i]], r.Nodes[mids[j]]
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		return mids[i] < mids[j]
	})
	return mids
}

// ActiveSeats returns the slots whose seats have not expired at now, in
// slot order.
func (r Record) ActiveSeats(now time.Time) []int {
	var slots []int
	for s, seat := range r.Seats {
		if seat.Expires.After(now) {
			slots = append(slots, s)
		}
	}
	sort.Ints(slots)
	return slots
}

// NodeActivation asks the store to add one node-locked activation.
type NodeActivation struct {
	Mid     string
	Machine Machine
	// Limit, when > 0, is the seat limit the write must respect
	// (activations before the write < Limit).
	Limit int64
	// StartTrial, when non-zero, sets Expires to this instant and marks the
	// trial as started, in the same write, if it has not started yet.
	StartTrial time.Time
	// Devices, when set, counts the machine against the key's customer's
	// device limit in the same write (apierr.LimitReached when the
	// customer already uses Max distinct machines).
	Devices *DeviceLimit
}

// DeviceLimit is a customer's MaxNoOfDevices, enforced across all of the
// customer's node-locked licenses: a machine counts once however many of
// them it activates.
type DeviceLimit struct {
	AccountID  int64
	CustomerID int64
	Max        int64
	// GlobalID is the activated license's GlobalId (device records list
	// the licenses that have the machine).
	GlobalID int64
}

// SeatClaim asks the store to take floating slot Slot for Seat.Mid. The
// write succeeds only if the slot is free at Now or already held by the
// same machine.
type SeatClaim struct {
	Slot int
	Seat Seat
	Now  time.Time
	// StartTrial as for NodeActivation.
	StartTrial time.Time
}

// Change is a set of field updates for Update; nil fields are unchanged.
type Change struct {
	Block   *bool
	Notes   **string
	Expires *time.Time
	// IfExpires makes the update conditional on the stored Expires (for
	// read-modify-write of the expiry date).
	IfExpires       *time.Time
	MaxNoOfMachines *int64
	TrialActivation *bool
	// Feature sets Features[Feature.Index] = Feature.Value.
	Feature    *FeatureChange
	CustomerID *int64
	ResellerID *int64
}

// FeatureChange sets one feature flag (Index 0..7).
type FeatureChange struct {
	Index int
	Value bool
}

// Store persists key records. All methods that write return the record as
// stored after the write. Errors: apierr.NotFound when the key does not
// exist (or belongs to another account), apierr.Conflict when a write's
// condition failed (the caller re-reads and decides), anything else is a
// store fault.
type Store interface {
	// GetKey reads a key of a product.
	GetKey(ctx context.Context, productID int64, key string, consistent bool) (Record, error)
	// CreateKeys stores new keys; each must not exist yet. All or nothing.
	CreateKeys(ctx context.Context, recs []Record) error
	// AddNode adds a node-locked activation if the machine is not
	// activated, the key is not blocked and the limit holds.
	AddNode(ctx context.Context, productID int64, key string, a NodeActivation) (Record, error)
	// RemoveNode removes a node-locked activation of a key that is not
	// blocked; Conflict if the machine is not activated or the key blocked.
	RemoveNode(ctx context.Context, productID int64, key, mid string) error
	// ClaimSeat takes a floating slot (see SeatClaim).
	ClaimSeat(ctx context.Context, productID int64, key string, c SeatClaim) (Record, error)
	// ReleaseSeat frees slot if it is held by mid (no error otherwise).
	ReleaseSeat(ctx context.Context, productID int64, key string, slot int, mid string) error
	// NextIDs reserves n consecutive ids from a counter and returns the
	// last one.
	NextIDs(ctx context.Context, counter string, n int64) (int64, error)
	// TrialKeyFor returns the trial key recorded for a machine, or
	// apierr.NotFound.
	TrialKeyFor(ctx context.Context, productID int64, mid string) (string, error)
	// SetTrialKey records a machine's trial key; without replace it fails
	// with apierr.Conflict when one is recorded.
	SetTrialKey(ctx context.Context, productID int64, mid, key string, replace bool) error
	// DeleteKey removes a key.
	DeleteKey(ctx context.Context, productID int64, key string) error
	// Update applies c to a key of the account.
	Update(ctx context.Context, accountID, productID int64, key string, c Change) (Record, error)
}
