package licensestore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/schema"
)

// Devices (MaxNoOfDevices across a customer's licenses): one record per
// distinct machine node-locked on any of the customer's licenses, whose
// number set "keys" holds those licenses' GlobalIds; the customer item's
// deviceCount is the number of records. Adding a GlobalId to the set is
// idempotent, so counting a machine twice (an activation and a recount
// racing) cannot over-count it.

// globalSet is a number set holding one key GlobalId.
func globalSet(globalID int64) types.AttributeValue {
	return &types.AttributeValueMemberNS{Value: []string{strconv.FormatInt(globalID, 10)}}
}

// newDeviceOp creates a device record for a machine of one license.
func (s *Store) newDeviceOp(accountID, customerID, globalID int64, mid string) types.TransactWriteItem {
	k := dynamo.Device(accountID, customerID, mid)
	return types.TransactWriteItem{Put: &types.Put{
		TableName: s.t.Name(), ConditionExpression: new(dynamo.NotExists),
		Item: dynamo.Item{"pk": dynamo.S(k.PK), "sk": dynamo.S(k.SK), "keys": globalSet(globalID)},
	}}
}

// knownDeviceOp adds a license to an existing device record.
func (s *Store) knownDeviceOp(accountID, customerID, globalID int64, mid string) types.TransactWriteItem {
	return s.t.UpdateOp(dynamo.Device(accountID, customerID, mid), dynamo.Update{
		Expr: "ADD #keys :g", Cond: dynamo.Exists,
		Names: map[string]string{"#keys": "keys"}, Values: dynamo.Item{":g": globalSet(globalID)},
	})
}

// customerCountOp adds n to the customer item's deviceCount under cond,
// whose placeholders values fills.
func (s *Store) customerCountOp(accountID, customerID int64, n int64, cond string, values dynamo.Item) types.TransactWriteItem {
	if values == nil {
		values = dynamo.Item{}
	}
	values[":n"] = dynamo.N(n)
	return s.t.UpdateOp(dynamo.Customer(accountID, customerID), dynamo.Update{
		Expr: "ADD deviceCount :n", Cond: cond, Values: values,
	})
}

// customerGone reports whether the customer no longer exists (one
// consistent GetItem).
func (s *Store) customerGone(ctx context.Context, accountID, customerID int64) (bool, error) {
	var it struct {
		ID int64 `dynamodbav:"id"`
	}
	err := s.t.Get(ctx, dynamo.Customer(accountID, customerID), true, &it)
	if errors.Is(err, apierr.NotFound) {
		return true, nil
	}
	return false, err
}

// ReleaseDevice implements keys.CustomerDevices: the license (globalID) no
// longer has the machine node-locked. It is removed from the device
// record; when no license has the machine any more, the record is deleted
// and the customer's deviceCount decremented in one transaction. A
// machine or license that was never counted is ignored.
func (s *Store) ReleaseDevice(ctx context.Context, accountID, customerID, globalID int64, mid string) error {
	k := dynamo.Device(accountID, customerID, mid)
	out, err := s.t.UpdateExisting(ctx, k, dynamo.Update{
		Expr: "DELETE #keys :g", Cond: "contains(#keys, :id)", Names: map[string]string{"#keys": "keys"},
		Values: dynamo.Item{":g": globalSet(globalID), ":id": dynamo.N(globalID)},
	})
	if errors.Is(err, apierr.NotFound) || errors.Is(err, apierr.Conflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("release device: %w", err)
	}
	if _, left := out["keys"]; left {
		return nil
	}
	err = s.t.Transact(ctx, []types.TransactWriteItem{
		s.t.DeleteOp(k, "attribute_not_exists(#keys)", map[string]string{"#keys": "keys"}, nil),
		s.customerCountOp(accountID, customerID, -1, dynamo.Exists+" AND deviceCount > :zero", dynamo.Item{":zero": dynamo.N(0)}),
	})
	if errors.Is(err, apierr.Conflict) {
		return nil // re-used by another activation meanwhile, or the customer is gone
	}
	return err
}

// DeviceLimit implements keys.CustomerDevices: the customer's
// MaxNoOfDevices, 0 when the customer does not exist. One eventually
// consistent GetItem: it only chooses the write path; the transaction's
// condition checks the stored limit.
func (s *Store) DeviceLimit(ctx context.Context, accountID, customerID int64) (int64, error) {
	var it struct {
		Max int64 `dynamodbav:"maxNoOfDevices"`
	}
	err := s.t.Get(ctx, dynamo.Customer(accountID, customerID), false, &it)
	if errors.Is(err, apierr.NotFound) {
		return 0, nil
	}
	return it.Max, err
}

// deviceRecord is a stored device: the GlobalIds of the licenses that
// have the machine.
type deviceRecord struct {
	SK   string  `dynamodbav:"sk"`
	Keys []int64 `dynamodbav:"keys,numberset"`
}

// customerDevices returns the customer's device records by machine code
// (one Query, paginated, strongly consistent; bounded by the customer's
// devices).
func (s *Store) customerDevices(ctx context.Context, accountID, customerID int64) (map[string][]int64, error) {
	items, err := s.t.QueryAll(ctx, dynamo.Query{PK: dynamo.DevicesPK(accountID, customerID), Prefix: dynamo.DevicePrefix, Consistent: true})
	if err != nil {
		return nil, err
	}
	recs, err := dynamo.DecodeAll(items, "device", func(d deviceRecord) deviceRecord { return d })
	if err != nil {
		return nil, err
	}
	out := make(map[string][]int64, len(recs))
	for _, d := range recs {
		out[strings.TrimPrefix(d.SK, dynamo.DevicePrefix)] = d.Keys
	}
	return out, nil
}

// maxCountAttempts bounds the re-reads of a license whose machines keep
// changing while they are being counted.
const maxCountAttempts = 20

// maxDevicesPerWrite bounds the machines one recount transaction covers
// (100 items: the key check, the customer count, and per machine a check
// of its activation and its device record).
const maxDevicesPerWrite = 49

// CountKeyDevices implements keys.CustomerDevices: every machine
// node-locked on r is counted for the customer (already counted ones are
// skipped). See countKey.
func (s *Store) CountKeyDevices(ctx context.Context, accountID, customerID int64, r keys.Record) error {
	recorded, err := s.customerDevices(ctx, accountID, customerID)
	if err != nil {
		return err
	}
	return s.countKey(ctx, accountID, customerID, r, recorded)
}

// countKey counts r's node-locked machines for the customer in
// transactions of: a check that the key still belongs to the customer,
// per machine a check that it still holds its activation and its device
// record (created, or the license added), and deviceCount + the number of
// new records. The count is not bounded by the limit: it records what is
// already activated, and a customer over its limit just cannot activate
// new machines. recorded is the customer's device records as read; when a
// condition fails (the key or a record changed meanwhile) the key and
// records are read again.
func (s *Store) countKey(ctx context.Context, accountID, customerID int64, r keys.Record, recorded map[string][]int64) error {
	for attempt := 0; ; attempt++ {
		var missing []string
		for mid := range r.Nodes {
			if !slices.Contains(recorded[mid], r.GlobalID) {
				missing = append(missing, mid)
			}
		}
		slices.Sort(missing)
		retry := false
		for len(missing) > 0 && !retry {
			chunk := missing[:min(len(missing), maxDevicesPerWrite)]
			missing = missing[len(chunk):]
			ops := []types.TransactWriteItem{s.t.ConditionCheckOp(dynamo.License(r.ProductID, r.Key),
				dynamo.Exists+" AND customerId = :cust", nil, dynamo.Item{":cust": dynamo.N(customerID)})}
			var added int64
			for _, mid := range chunk {
				ops = append(ops, s.t.ConditionCheckOp(nodeKey(r.ProductID, r.Key, mid, r.Nodes[mid].Slot), holderCond, nil,
					dynamo.Item{":mid": dynamo.S(mid)}))
				if _, ok := recorded[mid]; ok {
					ops = append(ops, s.knownDeviceOp(accountID, customerID, r.GlobalID, mid))
				} else {
					ops = append(ops, s.newDeviceOp(accountID, customerID, r.GlobalID, mid))
					added++
				}
			}
			if added > 0 {
				ops = append(ops, s.customerCountOp(accountID, customerID, added, dynamo.Exists, nil))
			}
			err := s.t.Transact(ctx, ops)
			switch {
			case err == nil:
				for _, mid := range chunk {
					recorded[mid] = append(recorded[mid], r.GlobalID)
				}
			case !errors.Is(err, apierr.Conflict):
				return err
			case added > 0 && dynamo.FailedOp(err) == len(ops)-1:
				return nil // the customer is gone: nothing to count
			case attempt >= maxCountAttempts:
				return fmt.Errorf("count devices of key %d: %w", r.GlobalID, err)
			default:
				retry = true
			}
		}
		if !retry {
			return nil
		}
		// The key or a record changed: read both again.
		fresh, err := s.GetKey(ctx, r.ProductID, r.Key, true)
		if errors.Is(err, apierr.NotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if fresh.CustomerID != customerID {
			return nil // moved to another customer meanwhile
		}
		r = fresh
		if recorded, err = s.customerDevices(ctx, accountID, customerID); err != nil {
			return err
		}
	}
}

// RecountDevices brings the customer's device records in line with its
// licenses. Machines node-locked on a license but not counted (activated
// while the customer had no limit) are counted; licenses recorded for a
// machine that no longer have it node-locked (moved to another customer,
// or a failed release) are released. Reads: the device records and the
// customer's licenses with their activations; writes: one transaction per
// license with uncounted machines and one release per stale entry.
func (s *Store) RecountDevices(ctx context.Context, accountID, customerID int64) error {
	recorded, err := s.customerDevices(ctx, accountID, customerID)
	if err != nil {
		return err
	}
	licenses, err := s.CustomerKeys(ctx, accountID, customerID, true)
	if err != nil {
		return err
	}
	has := map[string]map[int64]bool{} // machine -> licenses that have it
	for _, r := range licenses {
		for mid := range r.Nodes {
			if has[mid] == nil {
				has[mid] = map[int64]bool{}
			}
			has[mid][r.GlobalID] = true
		}
		if err := s.countKey(ctx, accountID, customerID, r, recorded); err != nil {
			return err
		}
	}
	for mid, ids := range recorded {
		for _, id := range ids {
			if has[mid][id] {
				continue
			}
			// The licenses were read a moment ago: release only if the
			// license still does not have the machine.
			still, err := s.licenseHasMachine(ctx, accountID, customerID, id, mid)
			if err != nil {
				return err
			}
			if !still {
				if err := s.ReleaseDevice(ctx, accountID, customerID, id, mid); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// licenseHasMachine reports whether the license with the GlobalId belongs
// to the customer and has the machine node-locked (a Query of gsi1 and a
// consistent read of the license).
func (s *Store) licenseHasMachine(ctx context.Context, accountID, customerID, globalID int64, mid string) (bool, error) {
	p, err := s.t.QueryPage(ctx, dynamo.Query{Index: schema.GSI1, PK: dynamo.GlobalIDGSI1PK(globalID)}, 1, nil)
	if err != nil || len(p.Items) == 0 {
		return false, err
	}
	productID, k, ok := dynamo.ParseLicensePK(dynamo.KeyOf(p.Items[0]).PK)
	if !ok {
		return false, nil
	}
	r, err := s.GetKey(ctx, productID, k, true)
	if errors.Is(err, apierr.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, has := r.Nodes[mid]
	return has && r.AccountID == accountID && r.CustomerID == customerID, nil
}

// DeleteDevices removes every device record of a (removed) customer.
func (s *Store) DeleteDevices(ctx context.Context, accountID, customerID int64) error {
	items, err := s.t.QueryAll(ctx, dynamo.Query{PK: dynamo.DevicesPK(accountID, customerID)})
	if err != nil {
		return err
	}
	for _, d := range items {
		if err := s.t.Delete(ctx, dynamo.KeyOf(d), "", nil, nil); err != nil {
			return fmt.Errorf("delete device record: %w", err)
		}
	}
	return nil
}
