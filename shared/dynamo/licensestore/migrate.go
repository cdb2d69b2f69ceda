package licensestore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/keys"
)

// Before activations became items of their own, a key item kept them
// inline: node-locked machines in the map "nodes" (keys "m"+machine code)
// counted by "nodeCount", floating seats in the map "seats" (keys
// "s"+slot), and it had no expiry index attributes. migrateKey moves such
// a key to the current layout; GetKey calls it when it meets one, and
// MigrateLegacyKeys runs it over the whole table.

type legacyNode struct {
	IP           string `dynamodbav:"ip"`
	Time         int64  `dynamodbav:"t"`
	FriendlyName string `dynamodbav:"fn,omitempty"`
	OSInfo       string `dynamodbav:"os,omitempty"`
}

type legacySeat struct {
	Mid          string `dynamodbav:"mid"`
	IP           string `dynamodbav:"ip"`
	Time         int64  `dynamodbav:"t"`
	Expires      int64  `dynamodbav:"exp"`
	FriendlyName string `dynamodbav:"fn,omitempty"`
	Overdraft    bool   `dynamodbav:"od,omitempty"`
	OSInfo       string `dynamodbav:"os,omitempty"`
}

type legacyKeyItem struct {
	keyItem
	Nodes map[string]legacyNode `dynamodbav:"nodes"`
	Seats map[string]legacySeat `dynamodbav:"seats"`
}

// migrateKey moves one key to the current layout. It is idempotent and
// safe to run concurrently: the activation items are written with plain
// puts (the same content each time), then the key item drops its inline
// maps in one write conditioned on not being migrated yet.
func (s *Store) migrateKey(ctx context.Context, productID int64, key string) error {
	var it legacyKeyItem
	if err := s.t.Get(ctx, dynamo.License(productID, key), true, &it); err != nil {
		return err
	}
	if it.Version >= itemVersion {
		return nil
	}
	var puts []any
	nodes := make(map[string]keys.Machine, len(it.Nodes))
	for k, n := range it.Nodes {
		nodes[strings.TrimPrefix(k, "m")] = keys.Machine{IP: n.IP, Time: unixTime(n.Time), FriendlyName: n.FriendlyName, OSInfo: n.OSInfo}
	}
	for _, n := range placeNodes(nodes, it.MaxNoOfMachines) {
		puts = append(puts, newNodeItem(productID, key, n.mid, n.m))
	}
	for name, st := range it.Seats {
		slot, err := strconv.Atoi(strings.TrimPrefix(name, "s"))
		if err != nil {
			continue
		}
		if it.MaxNoOfMachines == 0 {
			slot = keys.NoSlot
		}
		puts = append(puts, newSeatItem(productID, key, keys.Seat{Mid: st.Mid, IP: st.IP, Time: unixTime(st.Time),
			Expires: unixTime(st.Expires), FriendlyName: st.FriendlyName, Overdraft: st.Overdraft, OSInfo: st.OSInfo, Slot: slot}))
	}
	for start := 0; start < len(puts); start += 100 {
		chunk := puts[start:min(start+100, len(puts))]
		ops := make([]types.TransactWriteItem, 0, len(chunk))
		for _, p := range chunk {
			op, err := s.t.PutOp(p, "")
			if err != nil {
				return err
			}
			ops = append(ops, op)
		}
		if err := s.t.Transact(ctx, ops); err != nil {
			return fmt.Errorf("migrate key %d/%s: %w", productID, key, err)
		}
	}
	_, err := s.t.UpdateExisting(ctx, dynamo.License(productID, key), dynamo.Update{
		Expr:  "SET #v = :v, gsi5pk = :g5p, gsi5sk = :g5s REMOVE nodes, nodeCount, seats",
		Cond:  "attribute_not_exists(#v) OR #v < :v",
		Names: map[string]string{"#v": "v"},
		Values: dynamo.Item{":v": dynamo.N(itemVersion), ":g5p": dynamo.S(dynamo.ProductExpiryGSI5PK(productID)),
			":g5s": dynamo.S(dynamo.ExpirySK(it.Expires, it.ID))},
	})
	if err != nil && !errors.Is(err, apierr.Conflict) && !errors.Is(err, apierr.NotFound) {
		return fmt.Errorf("migrate key %d/%s: %w", productID, key, err)
	}
	return nil
}

// Scanner is the DynamoDB Scan call (the migration reads the whole table).
type Scanner interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// MigrateLegacyKeys moves every key item still in the inline layout to the
// current one, reading the table with a filtered Scan (segment of total,
// starting after start, which the returned position resumes). progress is
// called after each page with the number of keys migrated so far. It is
// idempotent: running it again (or from any position) is safe.
func (s *Store) MigrateLegacyKeys(ctx context.Context, db Scanner, segment, total int32, start dynamo.Item, progress func(migrated int, next dynamo.Item)) (int, error) {
	migrated := 0
	for {
		in := &dynamodb.ScanInput{
			TableName:                 s.t.Name(),
			FilterExpression:          aws.String("sk = :key AND (attribute_not_exists(#v) OR #v < :v)"),
			ExpressionAttributeNames:  map[string]string{"#v": "v"},
			ExpressionAttributeValues: dynamo.Item{":key": dynamo.S(dynamo.KeySK), ":v": dynamo.N(itemVersion)},
			ExclusiveStartKey:         start,
		}
		if total > 1 {
			in.Segment, in.TotalSegments = aws.Int32(segment), aws.Int32(total)
		}
		out, err := db.Scan(ctx, in)
		if err != nil {
			return migrated, fmt.Errorf("scan: %w", err)
		}
		for _, m := range out.Items {
			pid, k, ok := dynamo.ParseLicensePK(dynamo.KeyOf(m).PK)
			if !ok {
				continue
			}
			if err := s.migrateKey(ctx, pid, k); err != nil {
				return migrated, err
			}
			migrated++
		}
		if progress != nil {
			progress(migrated, out.LastEvaluatedKey)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return migrated, nil
		}
		start = out.LastEvaluatedKey
	}
}

type placedNode struct {
	mid string
	m   keys.Machine
}

// placeNodes assigns slots to node-locked machines as activations in
// their time order would have: with a limit, the first limit machines
// take slots 0.. and the rest none; without a limit, none.
func placeNodes(nodes map[string]keys.Machine, limit int64) []placedNode {
	out := make([]placedNode, 0, len(nodes))
	for mid, m := range nodes {
		out = append(out, placedNode{mid, m})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].m.Time.Equal(out[j].m.Time) {
			return out[i].m.Time.Before(out[j].m.Time)
		}
		return out[i].mid < out[j].mid
	})
	for i := range out {
		out[i].m.Slot = keys.NoSlot
		if int64(i) < limit {
			out[i].m.Slot = i
		}
	}
	return out
}
