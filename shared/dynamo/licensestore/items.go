// Package licensestore is the DynamoDB adapter of license keys and their
// activations (keys.Store), license templates (keys.TemplateStore),
// product listings (keys.ListStore) and customers' device counts
// (keys.CustomerDevices). Item layout: docs/DATA-MODEL.md, "Licenses".
//
// A license is one partition: the key item (sort key KEY) and one item
// per activation, so an activation's write costs the same however many
// machines the key has, and the key item changes only on vendor edits
// (which is why the listing index gsi2 can project it whole):
//
//	N#<slot>  node-locked seat slot of a key with a machine limit
//	S#<slot>  floating seat slot of a key with a machine limit
//	f#<mid>   floating activation of a key without a limit
//	m#<mid>   node-locked machine holding no slot (no limit, or an
//	          AllowedMachines entry beyond the limit)
//
// A seat limit is enforced by the slots themselves: a new machine takes a
// free slot with a conditional put, so parallel activations can never
// exceed MaxNoOfMachines. One Query of the partition reads the key and its
// activations (one 0.5 RRU read for a key with a handful of machines).
package licensestore

import (
	"strconv"
	"strings"
	"time"

	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/keys"
)

// itemVersion marks key items in the current layout; items without it
// keep activations inline (see migrate.go).
const itemVersion = 2

type keyItem struct {
	PK              string  `dynamodbav:"pk"`
	SK              string  `dynamodbav:"sk"`
	GSI1PK          string  `dynamodbav:"gsi1pk"`
	GSI1SK          string  `dynamodbav:"gsi1sk"`
	GSI2PK          string  `dynamodbav:"gsi2pk"`
	GSI2SK          string  `dynamodbav:"gsi2sk"`
	GSI3PK          string  `dynamodbav:"gsi3pk,omitempty"`
	GSI3SK          string  `dynamodbav:"gsi3sk,omitempty"`
	GSI4PK          string  `dynamodbav:"gsi4pk,omitempty"`
	GSI4SK          string  `dynamodbav:"gsi4sk,omitempty"`
	GSI5PK          string  `dynamodbav:"gsi5pk"`
	GSI5SK          string  `dynamodbav:"gsi5sk"`
	Version         int     `dynamodbav:"v"`
	AccountID       int64   `dynamodbav:"accountId"`
	ProductID       int64   `dynamodbav:"productId"`
	ID              int64   `dynamodbav:"id"`
	GlobalID        int64   `dynamodbav:"globalId"`
	Key             string  `dynamodbav:"key"`
	Created         int64   `dynamodbav:"created"`
	Expires         int64   `dynamodbav:"expires"`
	Period          int64   `dynamodbav:"period"`
	F1              bool    `dynamodbav:"f1"`
	F2              bool    `dynamodbav:"f2"`
	F3              bool    `dynamodbav:"f3"`
	F4              bool    `dynamodbav:"f4"`
	F5              bool    `dynamodbav:"f5"`
	F6              bool    `dynamodbav:"f6"`
	F7              bool    `dynamodbav:"f7"`
	F8              bool    `dynamodbav:"f8"`
	Notes           *string `dynamodbav:"notes"`
	Block           bool    `dynamodbav:"block"`
	TrialActivation bool    `dynamodbav:"trialActivation"`
	TrialStarted    bool    `dynamodbav:"trialStarted"`
	MaxNoOfMachines int64   `dynamodbav:"maxNoOfMachines"`
	AllowedMachines *string `dynamodbav:"allowedMachines"`
	CustomerID      int64   `dynamodbav:"customerId"`
	ResellerID      int64   `dynamodbav:"resellerId"`
	DataObjectCount int64   `dynamodbav:"dataObjectCount"`
	LicenseType     string  `dynamodbav:"licenseType,omitempty"`
	AutoCollected   bool    `dynamodbav:"auto,omitempty"`
	Edited          int64   `dynamodbav:"edited,omitempty"`
	EditedBy        string  `dynamodbav:"editedBy,omitempty"`
	OrderRef        string  `dynamodbav:"orderRef,omitempty"`
}

// nodeItem is a node-locked activation (sort key N#<slot> or m#<mid>).
type nodeItem struct {
	PK           string `dynamodbav:"pk"`
	SK           string `dynamodbav:"sk"`
	Mid          string `dynamodbav:"mid"`
	IP           string `dynamodbav:"ip"`
	Time         int64  `dynamodbav:"t"`
	FriendlyName string `dynamodbav:"fn,omitempty"`
	OSInfo       string `dynamodbav:"os,omitempty"`
}

// seatItem is a floating activation (sort key S#<slot> or f#<mid>). It
// carries a TTL a day after it expires so DynamoDB removes it; readers
// still check exp.
type seatItem struct {
	PK           string `dynamodbav:"pk"`
	SK           string `dynamodbav:"sk"`
	Mid          string `dynamodbav:"mid"`
	IP           string `dynamodbav:"ip"`
	Time         int64  `dynamodbav:"t"`
	Expires      int64  `dynamodbav:"exp"`
	FriendlyName string `dynamodbav:"fn,omitempty"`
	Overdraft    bool   `dynamodbav:"od,omitempty"`
	OSInfo       string `dynamodbav:"os,omitempty"`
	TTL          int64  `dynamodbav:"ttl"`
}

// seatTTLGrace is how long after expiry DynamoDB may delete a seat item.
const seatTTLGrace = 24 * 3600

func newKeyItem(r keys.Record) keyItem {
	k := dynamo.License(r.ProductID, r.Key)
	it := keyItem{
		PK: k.PK, SK: k.SK, Version: itemVersion,
		GSI1PK: dynamo.GlobalIDGSI1PK(r.GlobalID), GSI1SK: dynamo.KeySK,
		GSI2PK: dynamo.ProductKeysGSI2PK(r.ProductID), GSI2SK: dynamo.Pad(r.ID, dynamo.IDWidth),
		GSI5PK: dynamo.ProductExpiryGSI5PK(r.ProductID), GSI5SK: dynamo.ExpirySK(r.Expires.Unix(), r.ID),
		AccountID: r.AccountID, ProductID: r.ProductID, ID: r.ID, GlobalID: r.GlobalID, Key: r.Key,
		Created: r.Created.Unix(), Expires: r.Expires.Unix(), Period: r.Period,
		F1: r.Features[0], F2: r.Features[1], F3: r.Features[2], F4: r.Features[3],
		F5: r.Features[4], F6: r.Features[5], F7: r.Features[6], F8: r.Features[7],
		Notes: r.Notes, Block: r.Block, TrialActivation: r.TrialActivation, TrialStarted: r.TrialStarted,
		MaxNoOfMachines: r.MaxNoOfMachines, AllowedMachines: r.AllowedMachines,
		CustomerID: r.CustomerID, ResellerID: r.ResellerID, DataObjectCount: r.DataObjectCount,
		LicenseType: r.LicenseType, AutoCollected: r.AutoCollected, EditedBy: r.EditedBy, OrderRef: r.OrderRef,
	}
	if !r.Edited.IsZero() {
		it.Edited = r.Edited.Unix()
	}
	if r.CustomerID != 0 {
		it.GSI3PK, it.GSI3SK = dynamo.CustomerLicensesGSI3PK(r.AccountID, r.CustomerID), it.PK
	}
	if r.ResellerID != 0 {
		it.GSI4PK, it.GSI4SK = dynamo.ResellerLicensesGSI4PK(r.AccountID, r.ResellerID), it.PK
	}
	return it
}

func unixTime(s int64) time.Time { return time.Unix(s, 0).UTC() }

// record converts a key item (without activations).
func (it keyItem) record() keys.Record {
	r := keys.Record{
		AccountID: it.AccountID, ProductID: it.ProductID, ID: it.ID, GlobalID: it.GlobalID, Key: it.Key,
		Created: unixTime(it.Created), Expires: unixTime(it.Expires), Period: it.Period,
		Features: [8]bool{it.F1, it.F2, it.F3, it.F4, it.F5, it.F6, it.F7, it.F8},
		Notes:    it.Notes, Block: it.Block, TrialActivation: it.TrialActivation, TrialStarted: it.TrialStarted,
		MaxNoOfMachines: it.MaxNoOfMachines, AllowedMachines: it.AllowedMachines,
		CustomerID: it.CustomerID, ResellerID: it.ResellerID, DataObjectCount: it.DataObjectCount,
		LicenseType: it.LicenseType, AutoCollected: it.AutoCollected, EditedBy: it.EditedBy, OrderRef: it.OrderRef,
		Nodes: map[string]keys.Machine{},
	}
	if it.Edited != 0 {
		r.Edited = unixTime(it.Edited)
	}
	return r
}

// nodeKey is the item key of a node-locked activation.
func nodeKey(productID int64, key, mid string, slot int) dynamo.Key {
	if slot >= 0 {
		return dynamo.NodeSlot(productID, key, slot)
	}
	return dynamo.NodeMachine(productID, key, mid)
}

// seatKey is the item key of a floating activation.
func seatKey(productID int64, key string, s keys.Seat) dynamo.Key {
	if s.Slot >= 0 {
		return dynamo.SeatSlot(productID, key, s.Slot)
	}
	return dynamo.FloatingMachine(productID, key, s.Mid)
}

func newNodeItem(productID int64, key, mid string, m keys.Machine) nodeItem {
	k := nodeKey(productID, key, mid, m.Slot)
	return nodeItem{PK: k.PK, SK: k.SK, Mid: mid, IP: m.IP, Time: m.Time.Unix(), FriendlyName: m.FriendlyName, OSInfo: m.OSInfo}
}

func newSeatItem(productID int64, key string, s keys.Seat) seatItem {
	k := seatKey(productID, key, s)
	return seatItem{PK: k.PK, SK: k.SK, Mid: s.Mid, IP: s.IP, Time: s.Time.Unix(), Expires: s.Expires.Unix(),
		FriendlyName: s.FriendlyName, Overdraft: s.Overdraft, OSInfo: s.OSInfo, TTL: s.Expires.Unix() + seatTTLGrace}
}

// slotOf parses the slot of an N#/S# sort key (-1 if it has none).
func slotOf(sk string) int {
	i := strings.IndexByte(sk, '#')
	if i < 0 {
		return keys.NoSlot
	}
	n, err := strconv.Atoi(sk[i+1:])
	if err != nil {
		return keys.NoSlot
	}
	return n
}

func (it nodeItem) machine() keys.Machine {
	slot := keys.NoSlot
	if strings.HasPrefix(it.SK, dynamo.NodeSlotPrefix) {
		slot = slotOf(it.SK)
	}
	return keys.Machine{IP: it.IP, Time: unixTime(it.Time), FriendlyName: it.FriendlyName, OSInfo: it.OSInfo, Slot: slot}
}

func (it seatItem) seat() keys.Seat {
	slot := keys.NoSlot
	if strings.HasPrefix(it.SK, dynamo.SeatSlotPrefix) {
		slot = slotOf(it.SK)
	}
	return keys.Seat{Mid: it.Mid, IP: it.IP, Time: unixTime(it.Time), Expires: unixTime(it.Expires), FriendlyName: it.FriendlyName,
		Overdraft: it.Overdraft, OSInfo: it.OSInfo, Slot: slot}
}

// addNode adds a decoded node-locked activation to r; a machine code seen
// before (two slots) is kept once, the later slot going to DuplicateNodes.
func addNode(r *keys.Record, mid string, m keys.Machine) {
	prev, dup := r.Nodes[mid]
	if !dup {
		r.Nodes[mid] = m
		return
	}
	if r.DuplicateNodes == nil {
		r.DuplicateNodes = map[string][]keys.Machine{}
	}
	// Keep the earliest slot (machines held by machine code come last).
	if m.Slot >= 0 && (prev.Slot < 0 || m.Slot < prev.Slot) {
		r.Nodes[mid], m = m, prev
	}
	r.DuplicateNodes[mid] = append(r.DuplicateNodes[mid], m)
}
