package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/keys"
)

// A customer's device records: CD#<account>#<customer> / m<machine code>
// with refs = how many of the customer's licenses have the machine
// node-locked. The customer item's deviceCount is the number of records.

func devicePK(accountID, customerID int64) string {
	return "CD#" + strconv.FormatInt(accountID, 10) + "#" + strconv.FormatInt(customerID, 10)
}

// addNodeCounted adds a node-locked activation and counts the machine
// against the customer's device limit, all or nothing: a transaction of
// the key update (same condition as AddNode), the device record (refs + 1;
// created if new) and, for a new machine, the customer's deviceCount + 1
// under deviceCount < Max. The machine is assumed new first; a failed
// device condition means it is known and the transaction is re-run with
// refs + 1 only. Other races are a failed condition and the caller
// re-reads. After the transaction the key is read back (transactions
// return no values).
func (s *Store) addNodeCounted(ctx context.Context, productID int64, k string, a keys.NodeActivation) (keys.Record, error) {
	d := a.Devices
	expr, cond, names, values, err := addNodeUpdate(a)
	if err != nil {
		return keys.Record{}, err
	}
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
			ops = append(ops, types.TransactWriteItem{Update: &types.Update{
				TableName: s.table, Key: key(devicePK(d.AccountID, d.CustomerID), nodeKey(a.Mid)),
				UpdateExpression: aws.String("ADD refs :one"), ConditionExpression: aws.String("attribute_exists(pk)"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)},
			}})
		} else {
			ops = append(ops,
				types.TransactWriteItem{Put: &types.Put{
					TableName: s.table, ConditionExpression: aws.String("attribute_not_exists(pk)"),
					Item: map[string]types.AttributeValue{
						"pk": &types.AttributeValueMemberS{Value: devicePK(d.AccountID, d.CustomerID)},
						"sk": &types.AttributeValueMemberS{Value: nodeKey(a.Mid)}, "refs": num(1),
					},
				}},
				types.TransactWriteItem{Update: &types.Update{
					TableName: s.table, Key: key(accountPK(d.AccountID), customerSK(d.CustomerID)),
					UpdateExpression: aws.String("ADD deviceCount :one"),
					// The stored limit decides (the caller's copy may be a
					// moment old); 0 means unlimited.
					ConditionExpression: aws.String("attribute_exists(pk) AND (maxNoOfDevices = :zero OR " +
						"attribute_not_exists(deviceCount) OR deviceCount < maxNoOfDevices)"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":zero": num(0)},
				}})
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

// ReleaseDevice un-counts a machine that one of the customer's licenses
// no longer has node-locked: refs - 1, and when no license has it any
// more, the record is deleted and the customer's deviceCount decremented
// in one transaction. A machine that was never counted is ignored.
func (s *Store) ReleaseDevice(ctx context.Context, accountID, customerID int64, mid string) error {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: s.table, Key: key(devicePK(accountID, customerID), nodeKey(mid)),
		UpdateExpression: aws.String("ADD refs :minus"), ConditionExpression: aws.String("attribute_exists(pk) AND refs > :zero"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":minus": num(-1), ":zero": num(0)},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("release device: %w", err)
	}
	if n, ok := out.Attributes["refs"].(*types.AttributeValueMemberN); !ok || n.Value != "0" {
		return nil
	}
	_, err = s.runTransaction(ctx, []types.TransactWriteItem{
		s.deleteOp(devicePK(accountID, customerID), nodeKey(mid), "refs = :zero", map[string]types.AttributeValue{":zero": num(0)}),
		{Update: &types.Update{
			TableName: s.table, Key: key(accountPK(accountID), customerSK(customerID)),
			UpdateExpression: aws.String("ADD deviceCount :minus"), ConditionExpression: aws.String("attribute_exists(pk) AND deviceCount > :zero"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":minus": num(-1), ":zero": num(0)},
		}},
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
