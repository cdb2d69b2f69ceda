package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/schema"
)

// A customer's devices: CD#<account>#<customer> / m<machine code>, one
// record per distinct machine node-locked on any of the customer's
// licenses, with keys = the number set of those licenses' GlobalIds. The
// customer item's deviceCount is the number of records. Adding a GlobalId
// to the set is idempotent, so counting a machine twice (an activation and
// a recount racing) cannot over-count it.

func devicePK(accountID, customerID int64) string {
	return "CD#" + strconv.FormatInt(accountID, 10) + "#" + strconv.FormatInt(customerID, 10)
}

// globalSet is a number set holding one key GlobalId.
func globalSet(globalID int64) types.AttributeValue {
	return &types.AttributeValueMemberNS{Value: []string{strconv.FormatInt(globalID, 10)}}
}

// newDeviceOp creates a device record for a machine of one license.
func (s *Store) newDeviceOp(accountID, customerID, globalID int64, mid string) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{
		TableName: s.table, ConditionExpression: aws.String("attribute_not_exists(pk)"),
		Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: devicePK(accountID, customerID)},
			"sk": &types.AttributeValueMemberS{Value: nodeKey(mid)}, "keys": globalSet(globalID),
		},
	}}
}

// knownDeviceOp adds a license to an existing device record.
func (s *Store) knownDeviceOp(accountID, customerID, globalID int64, mid string) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName: s.table, Key: key(devicePK(accountID, customerID), nodeKey(mid)),
		UpdateExpression: aws.String("ADD #keys :g"), ConditionExpression: aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames:  map[string]string{"#keys": "keys"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":g": globalSet(globalID)},
	}}
}

// customerCountOp adds n to a counter attribute of the customer item
// (deviceCount, userCount) under cond, whose placeholders values fills.
func (s *Store) customerCountOp(accountID, customerID int64, attr string, n int64, cond string, values map[string]types.AttributeValue) types.TransactWriteItem {
	if values == nil {
		values = map[string]types.AttributeValue{}
	}
	values[":n"] = num(n)
	return types.TransactWriteItem{Update: &types.Update{
		TableName: s.table, Key: key(accountPK(accountID), customerSK(customerID)),
		UpdateExpression: aws.String("ADD " + attr + " :n"), ConditionExpression: aws.String(cond),
		ExpressionAttributeValues: values,
	}}
}

// addNodeCounted adds a node-locked activation and counts the machine
// against the customer's device limit, all or nothing: a transaction of
// the key update (same condition as AddNode, plus the key still belonging
// to the customer), the device record (created, or the license added to
// it) and, for a new machine, the customer's deviceCount + 1 under the
// stored limit. The machine is assumed new first; a failed device
// condition means it is known and the transaction is re-run adding the
// license only. Other races are a failed condition and the caller
// re-reads. After the transaction the key is read back (transactions
// return no values).
func (s *Store) addNodeCounted(ctx context.Context, productID int64, k string, a keys.NodeActivation) (keys.Record, error) {
	d := a.Devices
	expr, cond, names, values, err := addNodeUpdate(a)
	if err != nil {
		return keys.Record{}, err
	}
	cond += " AND customerId = :cust"
	values[":cust"] = num(d.CustomerID)
	for alias, attr := range reservedAliases {
		if strings.Contains(expr, alias) || strings.Contains(cond, alias) {
			names[alias] = attr
		}
	}
	keyOp := types.TransactWriteItem{Update: &types.Update{
		TableName: s.table, Key: key(keyPK(productID, k), keySK),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String("attribute_exists(pk) AND " + cond),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	}}
	// Most activations bring a machine the customer has not used yet:
	// try that first, and count a known machine again only if its device
	// record turns out to exist (no read before the write).
	for _, known := range []bool{false, true} {
		ops := []types.TransactWriteItem{keyOp}
		if known {
			ops = append(ops, s.knownDeviceOp(d.AccountID, d.CustomerID, d.GlobalID, a.Mid))
		} else {
			ops = append(ops, s.newDeviceOp(d.AccountID, d.CustomerID, d.GlobalID, a.Mid),
				// The stored limit decides (the caller's copy may be a
				// moment old); 0 means unlimited.
				s.customerCountOp(d.AccountID, d.CustomerID, "deviceCount", 1, "attribute_exists(pk) AND (maxNoOfDevices = :zero OR "+
					"attribute_not_exists(deviceCount) OR deviceCount < maxNoOfDevices)", map[string]types.AttributeValue{":zero": num(0)}))
		}
		idx, err := s.runTransaction(ctx, ops)
		switch {
		case errors.Is(err, apierr.Conflict) && idx == 1 && !known:
			continue // the machine is already counted for this customer
		case errors.Is(err, apierr.Conflict) && idx == 2:
			if _, gerr := s.GetCustomer(ctx, d.AccountID, d.CustomerID); errors.Is(gerr, apierr.NotFound) {
				return keys.Record{}, apierr.Conflict // customer removed meanwhile: re-read the key
			}
			return keys.Record{}, apierr.LimitReached
		case err != nil:
			return keys.Record{}, err // Conflict on the key or a device race: the caller re-reads
		}
		return s.GetKey(ctx, productID, k, true)
	}
	return keys.Record{}, apierr.Conflict
}

// ReleaseDevice implements keys.CustomerDevices: the license (globalID) no
// longer has the machine node-locked. It is removed from the device
// record; when no license has the machine any more, the record is deleted
// and the customer's deviceCount decremented in one transaction. A
// machine or license that was never counted is ignored.
func (s *Store) ReleaseDevice(ctx context.Context, accountID, customerID, globalID int64, mid string) error {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: s.table, Key: key(devicePK(accountID, customerID), nodeKey(mid)),
		UpdateExpression: aws.String("DELETE #keys :g"), ConditionExpression: aws.String("contains(#keys, :id)"),
		ExpressionAttributeNames: map[string]string{"#keys": "keys"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":g": globalSet(globalID), ":id": &types.AttributeValueMemberN{Value: strconv.FormatInt(globalID, 10)},
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("release device: %w", err)
	}
	if _, left := out.Attributes["keys"]; left {
		return nil
	}
	_, err = s.runTransaction(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName: s.table, Key: key(devicePK(accountID, customerID), nodeKey(mid)),
			ConditionExpression: aws.String("attribute_not_exists(#keys)"), ExpressionAttributeNames: map[string]string{"#keys": "keys"},
		}},
		s.customerCountOp(accountID, customerID, "deviceCount", -1, "attribute_exists(pk) AND deviceCount > :zero",
			map[string]types.AttributeValue{":zero": num(0)}),
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
	var it customerItem
	err := s.get(ctx, accountPK(accountID), customerSK(customerID), false, &it)
	if errors.Is(err, apierr.NotFound) {
		return 0, nil
	}
	return it.MaxNoOfDevices, err
}

// deviceRecord is a stored device: the GlobalIds of the licenses that
// have the machine.
type deviceRecord struct {
	SK   string  `dynamodbav:"sk"`
	Keys []int64 `dynamodbav:"keys,numberset"`
}

// customerDevices returns the customer's device records by machine code
// (one Query, paginated, strongly consistent).
func (s *Store) customerDevices(ctx context.Context, accountID, customerID int64) (map[string][]int64, error) {
	q := prefixQuery(devicePK(accountID, customerID), "m")
	q.ConsistentRead = aws.Bool(true)
	items, err := s.queryAll(ctx, q)
	if err != nil {
		return nil, err
	}
	recs, err := decodeAll(items, "device", func(d deviceRecord) deviceRecord { return d })
	if err != nil {
		return nil, err
	}
	out := make(map[string][]int64, len(recs))
	for _, d := range recs {
		out[strings.TrimPrefix(d.SK, "m")] = d.Keys
	}
	return out, nil
}

// maxCountAttempts bounds the re-reads of a license whose machines keep
// changing while they are being counted.
const maxCountAttempts = 20

// maxDevicesPerWrite bounds the machines one recount transaction covers
// (100 items: the key check, the customer count and the device records).
const maxDevicesPerWrite = 98

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
// transactions of: a check that the key still belongs to the customer and
// still has those machines, the device records (created, or the license
// added), and deviceCount + the number of new records. The count is not
// bounded by the limit: it records what is already activated, and a
// customer over its limit just cannot activate new machines. recorded is
// the customer's device records as read; when a condition fails (the key
// or a record changed meanwhile) the key and records are read again.
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
			names := map[string]string{"#nodes": "nodes"}
			values := map[string]types.AttributeValue{":cust": num(customerID)}
			conds := []string{"attribute_exists(pk)", "customerId = :cust"}
			ops := []types.TransactWriteItem{{}}
			var added int64
			for i, mid := range chunk {
				alias := "#m" + strconv.Itoa(i)
				names[alias] = nodeKey(mid)
				conds = append(conds, "attribute_exists(#nodes."+alias+")")
				if _, ok := recorded[mid]; ok {
					ops = append(ops, s.knownDeviceOp(accountID, customerID, r.GlobalID, mid))
				} else {
					ops = append(ops, s.newDeviceOp(accountID, customerID, r.GlobalID, mid))
					added++
				}
			}
			ops[0] = types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
				TableName: s.table, Key: key(keyPK(r.ProductID, r.Key), keySK),
				ConditionExpression: aws.String(strings.Join(conds, " AND ")), ExpressionAttributeNames: names,
				ExpressionAttributeValues: values,
			}}
			if added > 0 {
				ops = append(ops, s.customerCountOp(accountID, customerID, "deviceCount", added, "attribute_exists(pk)", nil))
			}
			idx, err := s.runTransaction(ctx, ops)
			switch {
			case err == nil:
				for _, mid := range chunk {
					recorded[mid] = append(recorded[mid], r.GlobalID)
				}
			case !errors.Is(err, apierr.Conflict):
				return err
			case idx == len(ops)-1 && added > 0:
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

// RecountDevices implements customers.Store: the customer's device
// records are brought in line with its licenses. Machines node-locked on
// a license but not counted (activated while the customer had no limit)
// are counted; licenses recorded for a machine that no longer have it
// node-locked (moved to another customer, or a failed release) are
// released. Reads: the device records, the customer's licenses (gsi3 and
// BatchGetItem); writes: one transaction per license with uncounted
// machines and one release per stale entry.
func (s *Store) RecountDevices(ctx context.Context, accountID, customerID int64) error {
	recorded, err := s.customerDevices(ctx, accountID, customerID)
	if err != nil {
		return err
	}
	licenses, err := s.CustomerKeys(ctx, accountID, customerID)
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
// strongly consistent GetItem).
func (s *Store) licenseHasMachine(ctx context.Context, accountID, customerID, globalID int64, mid string) (bool, error) {
	refs, err := s.queryAll(ctx, &dynamodb.QueryInput{
		IndexName: aws.String(schema.GSI1), KeyConditionExpression: aws.String("gsi1pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: "G#" + strconv.FormatInt(globalID, 10)},
		},
	})
	if err != nil || len(refs) == 0 {
		return false, err
	}
	productID, k, ok := parseKeyPK(refs[0])
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
