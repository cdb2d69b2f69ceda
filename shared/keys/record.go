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
	// Slot is the seat the machine holds on a key with a machine limit
	// (0 .. MaxNoOfMachines-1), or NoSlot for a machine stored by its
	// machine code (keys without a limit, AllowedMachines beyond it).
	Slot int
}

// NoSlot marks an activation stored by machine code rather than in a slot.
const NoSlot = -1

// Seat is one floating activation. A seat is free when its Expires is not
// after now.
type Seat struct {
	Mid          string
	IP           string
	Time         time.Time
	Expires      time.Time
	FriendlyName string
	Overdraft    bool
	OSInfo       string
	// Slot is the seat slot on a key with a machine limit (slots at or
	// above MaxNoOfMachines are overdraft seats), or NoSlot on a key
	// without a limit (one activation per machine code).
	Slot int
}

// Record is a stored license key with its activations.
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
	// LicenseType classifies the license for the vendor (a lower-case word
	// such as "purchased" or "evaluation", see ValidLicenseType); "" when
	// none was set. Peer APIs show it (Revulytics licenseType).
	LicenseType string
	// AutoCollected is set on keys the client application created itself
	// (CreateTrialKey) rather than the vendor.
	AutoCollected bool
	// Edited is when the vendor last created or changed the key (zero:
	// never recorded, e.g. an auto-collected key never edited), and
	// EditedBy the access token id that did it ("" when unknown).
	Edited   time.Time
	EditedBy string
	// OrderRef identifies the order that sold the license ("" for none):
	// set by whatever creates keys from a purchase, and kept by imports
	// from another service (peer APIs show it, e.g. Bytex
	// orderIdentifier).
	OrderRef string
	// Nodes are the node-locked activations by machine code.
	Nodes map[string]Machine
	// Seats are the floating activations (live or expired), in storage
	// order.
	Seats []Seat
	// DuplicateNodes are node-locked activations of a machine code that
	// also holds another slot (left by two activations of one machine
	// racing); Activate removes them.
	DuplicateNodes map[string][]Machine
	// Partial is set when the key has more activations than one read
	// returns (MaxReadActivations): Nodes and Seats are the first ones in
	// storage order.
	Partial bool
}

// MaxReadActivations bounds the activations one read of a key returns
// (and a license lists): a key without a machine limit may hold any number
// of machines, but a response must stay within a few megabytes.
const MaxReadActivations = 10000

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

// ActiveSeats returns the seats that have not expired at now, ordered by
// slot (then machine code).
func (r Record) ActiveSeats(now time.Time) []Seat {
	var out []Seat
	for _, s := range r.Seats {
		if s.Expires.After(now) {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Slot != out[j].Slot {
			return out[i].Slot < out[j].Slot
		}
		return out[i].Mid < out[j].Mid
	})
	return out
}

// NodeActivation asks the store to add one node-locked activation: the
// machine takes slot Machine.Slot (which must be free) or, with NoSlot,
// is stored by its machine code (which must not be activated).
type NodeActivation struct {
	Mid     string
	Machine Machine
	// StartTrial, when non-zero, sets Expires to this instant and marks the
	// trial as started, in the same write, if it has not started yet and
	// the key is not blocked (TrialKeyID is the key's id, for the expiry
	// index).
	StartTrial time.Time
	TrialKeyID int64
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

// SeatClaim asks the store to take a floating seat: slot Seat.Slot if it
// is free at Now, expired, or already held by the same machine; or, with
// NoSlot, the machine's own activation (created or renewed).
type SeatClaim struct {
	Seat Seat
	Now  time.Time
	// StartTrial and TrialKeyID as for NodeActivation.
	StartTrial time.Time
	TrialKeyID int64
}

// Change is a set of field updates for Update; nil fields are unchanged.
type Change struct {
	Block *bool
	Notes **string
	// Expires sets the expiry; KeyID must then be the key's id (the
	// expiry index orders by expiry, then id).
	Expires *time.Time
	KeyID   int64
	// IfExpires makes the update conditional on the stored Expires (for
	// read-modify-write of the expiry date).
	IfExpires *time.Time
	// Period sets the license's Period (days), in the same write as the
	// other fields.
	Period          *int64
	MaxNoOfMachines *int64
	TrialActivation *bool
	// Feature sets Features[Feature.Index] = Feature.Value.
	Feature    *FeatureChange
	CustomerID *int64
	ResellerID *int64
	// Edited, when set, records the change as the vendor's edit at that
	// instant by EditedBy (an access token id, "" when unknown).
	Edited   time.Time
	EditedBy string
}

// FeatureChange sets one feature flag (Index 0..7).
type FeatureChange struct {
	Index int
	Value bool
}

// Store persists key records and their activations. Writes of
// activations return nothing: the caller adds what it wrote to the record
// it read. Errors: apierr.NotFound when the key does not exist (or belongs
// to another account), apierr.Conflict when a write's condition failed
// (the caller re-reads and decides), anything else is a store fault.
type Store interface {
	// GetKey reads a key of a product and its activations (at most
	// MaxReadActivations of them; Partial is set when there are more).
	GetKey(ctx context.Context, productID int64, key string, consistent bool) (Record, error)
	// GetNode reads one activation stored by machine code (NoSlot), or
	// apierr.NotFound.
	GetNode(ctx context.Context, productID int64, key, mid string) (Machine, error)
	// CreateKeys stores new keys; each must not exist yet. All or nothing.
	CreateKeys(ctx context.Context, recs []Record) error
	// AddNode stores a node-locked activation (see NodeActivation);
	// Conflict when the slot is taken or the machine code is activated.
	AddNode(ctx context.Context, productID int64, key string, a NodeActivation) error
	// RemoveNode removes the node-locked activation m of machine mid if it
	// still holds it (Conflict otherwise). With moveIn set, the activation
	// moveIn of machine moveInMid moves into m's slot in the same write
	// (one transaction; moveIn must still be as read): it replaces m, or,
	// with mid "", takes the free slot m.Slot (Conflict if taken).
	RemoveNode(ctx context.Context, productID int64, key, mid string, m Machine, moveInMid string, moveIn *Machine) error
	// ClaimSeat takes a floating seat (see SeatClaim).
	ClaimSeat(ctx context.Context, productID int64, key string, c SeatClaim) error
	// ReleaseSeat frees seat s if it is still held by its machine (no
	// error otherwise).
	ReleaseSeat(ctx context.Context, productID int64, key string, s Seat) error
	// NextKeyIDs reserves n consecutive key ids of a product and returns
	// the last one.
	NextKeyIDs(ctx context.Context, productID int64, n int64) (int64, error)
	// NextGlobalIDs reserves n consecutive global key ids and returns the
	// last one.
	NextGlobalIDs(ctx context.Context, n int64) (int64, error)
	// ReleaseKeyIDs records reserved key ids that got no key (a creation
	// that failed), so listings do not count them.
	ReleaseKeyIDs(ctx context.Context, productID int64, ids []int64) error
	// TrialKeyFor returns the trial key recorded for a machine, or
	// apierr.NotFound.
	TrialKeyFor(ctx context.Context, productID int64, mid string) (string, error)
	// SetTrialKey records a machine's trial key; without replace it fails
	// with apierr.Conflict when one is recorded.
	SetTrialKey(ctx context.Context, productID int64, mid, key string, replace bool) error
	// DeleteKey removes a key and its activations.
	DeleteKey(ctx context.Context, productID int64, key string) error
	// Update applies c to a key of the account and returns the key as
	// stored after it (without its activations).
	Update(ctx context.Context, accountID, productID int64, key string, c Change) (Record, error)
}
