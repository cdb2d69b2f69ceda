package licensestore

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/keys"
)

// holderCond holds when the activation item is held by machine :mid.
const holderCond = "mid = :mid"

// trialOp starts a trial-activation key's countdown: it sets the expiry
// if the trial has not started and the key is not blocked. extra adds a
// condition (with its values) to the same check.
func (s *Store) trialOp(productID int64, key string, start time.Time, keyID int64, extra string, values dynamo.Item) types.TransactWriteItem {
	if values == nil {
		values = dynamo.Item{}
	}
	values[":exp"], values[":g5"] = dynamo.N(start.Unix()), dynamo.S(dynamo.ExpirySK(start.Unix(), keyID))
	values[":true"], values[":false"] = dynamo.Bool(true), dynamo.Bool(false)
	cond := dynamo.Exists + " AND trialStarted = :false AND #blk <> :true"
	if extra != "" {
		cond += " AND " + extra
	}
	return s.t.UpdateOp(dynamo.License(productID, key), dynamo.Update{
		Expr: "SET expires = :exp, gsi5sk = :g5, trialStarted = :true", Cond: cond,
		Names: map[string]string{"#blk": "block"}, Values: values,
	})
}

// AddNode implements keys.Store: one conditional PutItem of the
// activation's item (the slot or machine code must be free); a
// transaction when it also starts the trial countdown or counts the
// machine against the customer's device limit.
func (s *Store) AddNode(ctx context.Context, productID int64, key string, a keys.NodeActivation) error {
	put, err := s.t.PutOp(newNodeItem(productID, key, a.Mid, a.Machine), dynamo.NotExists)
	if err != nil {
		return err
	}
	ops := []types.TransactWriteItem{put}
	if !a.StartTrial.IsZero() {
		ops = append(ops, s.trialOp(productID, key, a.StartTrial, a.TrialKeyID, "", nil))
	}
	if a.Devices == nil {
		return s.t.Transact(ctx, ops)
	}
	return s.addCounted(ctx, productID, key, a, ops)
}

// addCounted adds a node-locked activation and counts the machine against
// the customer's device limit, all or nothing: one transaction of the
// activation item, a check that the key still belongs to the customer and
// is not blocked, the device record (created, or the license added to it)
// and, for a machine new to the customer, its deviceCount + 1 under the
// stored limit. The machine is assumed new first; if its device record
// turns out to exist, the transaction is run again adding the license only.
func (s *Store) addCounted(ctx context.Context, productID int64, key string, a keys.NodeActivation, base []types.TransactWriteItem) error {
	d := a.Devices
	check := s.t.ConditionCheckOp(dynamo.License(productID, key), dynamo.Exists+" AND customerId = :cust AND #blk <> :true",
		map[string]string{"#blk": "block"}, dynamo.Item{":cust": dynamo.N(d.CustomerID), ":true": dynamo.Bool(true)})
	ops := append(append([]types.TransactWriteItem{}, base...), check)
	devIdx := len(ops)
	for _, known := range []bool{false, true} {
		tx := append([]types.TransactWriteItem{}, ops...)
		if known {
			tx = append(tx, s.knownDeviceOp(d.AccountID, d.CustomerID, d.GlobalID, a.Mid))
		} else {
			tx = append(tx, s.newDeviceOp(d.AccountID, d.CustomerID, d.GlobalID, a.Mid),
				// The stored limit decides (the caller's copy may be a
				// moment old); 0 means unlimited.
				s.customerCountOp(d.AccountID, d.CustomerID, 1, dynamo.Exists+" AND (maxNoOfDevices = :zero OR "+
					"attribute_not_exists(deviceCount) OR deviceCount < maxNoOfDevices)", dynamo.Item{":zero": dynamo.N(0)}))
		}
		err := s.t.Transact(ctx, tx)
		var tx2 *dynamo.TxError
		if !errors.As(err, &tx2) {
			return err
		}
		switch {
		case tx2.FailedAt(devIdx) && !known:
			continue // the machine is already counted for this customer
		case !known && tx2.FailedAt(devIdx+1):
			if gone, gerr := s.customerGone(ctx, d.AccountID, d.CustomerID); gerr != nil || gone {
				return apierr.Conflict // customer removed meanwhile: re-read the key
			}
			return apierr.LimitReached
		}
		return apierr.Conflict // the slot, the key or a device record changed: the caller re-reads
	}
	return apierr.Conflict
}

// RemoveNode implements keys.Store: one conditional DeleteItem, or one
// transaction when another activation moves into the slot.
func (s *Store) RemoveNode(ctx context.Context, productID int64, key, mid string, m keys.Machine, moveInMid string, moveIn *keys.Machine) error {
	if moveIn == nil {
		return s.t.Delete(ctx, nodeKey(productID, key, mid, m.Slot), holderCond, nil, dynamo.Item{":mid": dynamo.S(mid)})
	}
	moved := *moveIn
	moved.Slot = m.Slot
	cond := dynamo.NotExists
	values := dynamo.Item{}
	if mid != "" {
		cond = holderCond
		values[":mid"] = dynamo.S(mid)
	}
	put, err := s.t.PutOp(newNodeItem(productID, key, moveInMid, moved), cond)
	if err != nil {
		return err
	}
	if len(values) > 0 {
		put.Put.ExpressionAttributeValues = values
	}
	return s.t.Transact(ctx, []types.TransactWriteItem{
		s.t.DeleteOp(nodeKey(productID, key, moveInMid, moveIn.Slot), "mid = :om", nil, dynamo.Item{":om": dynamo.S(moveInMid)}),
		put,
	})
}

// ClaimSeat implements keys.Store: one PutItem of the seat's item,
// conditioned (for a slot) on the slot being free, expired or held by the
// same machine; a transaction when it also starts the trial countdown.
func (s *Store) ClaimSeat(ctx context.Context, productID int64, key string, c keys.SeatClaim) error {
	cond := ""
	var values dynamo.Item
	if c.Seat.Slot >= 0 {
		cond = dynamo.NotExists + " OR #exp <= :now OR mid = :mid"
		values = dynamo.Item{":now": dynamo.N(c.Now.Unix()), ":mid": dynamo.S(c.Seat.Mid)}
	}
	put, err := s.t.PutOp(newSeatItem(productID, key, c.Seat), cond)
	if err != nil {
		return err
	}
	if cond != "" {
		put.Put.ExpressionAttributeNames = map[string]string{"#exp": "exp"}
		put.Put.ExpressionAttributeValues = values
	}
	ops := []types.TransactWriteItem{put}
	if !c.StartTrial.IsZero() {
		ops = append(ops, s.trialOp(productID, key, c.StartTrial, c.TrialKeyID, "", nil))
	}
	return s.t.Transact(ctx, ops)
}

// ReleaseSeat implements keys.Store: one conditional DeleteItem; a seat
// taken over by another machine meanwhile is left alone.
func (s *Store) ReleaseSeat(ctx context.Context, productID int64, key string, st keys.Seat) error {
	err := s.t.Delete(ctx, seatKey(productID, key, st), holderCond, nil, dynamo.Item{":mid": dynamo.S(st.Mid)})
	if errors.Is(err, apierr.Conflict) {
		return nil
	}
	return err
}
