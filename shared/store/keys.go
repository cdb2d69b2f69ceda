package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/schema"
)

// License keys live in their own partition, K#<product>#<key string> / KEY,
// so the key string is unique within its product by construction (a
// conditional put on the primary key) and Activate/GetKey are one GetItem.
// Activations are kept inside the key item (node-locked in the map
// "nodes" with the counter "nodeCount", floating seats in the map "seats"
// keyed s<slot>), so every seat invariant is one conditional UpdateItem and
// the answer comes back with ReturnValues ALL_NEW (no second read).
//
// gsi1: G#<global id> / KEY (GetKeys by GlobalId); gsi2: P#<product>#KEYS /
// <id:012> (listing a product's keys in id order); gsi3 (only on keys with
// a customer): C#<account>#<customer> / <pk> (a customer's licenses); gsi4
// (only with a reseller): R#<account>#<reseller> / <pk>.

type nodeAttr struct {
	IP           string `dynamodbav:"ip"`
	Time         int64  `dynamodbav:"t"`
	FriendlyName string `dynamodbav:"fn,omitempty"`
	OSInfo       string `dynamodbav:"os,omitempty"`
}

type seatAttr struct {
	Mid          string `dynamodbav:"mid"`
	IP           string `dynamodbav:"ip"`
	Time         int64  `dynamodbav:"t"`
	Expires      int64  `dynamodbav:"exp"`
	FriendlyName string `dynamodbav:"fn,omitempty"`
	Overdraft    bool   `dynamodbav:"od,omitempty"`
	OSInfo       string `dynamodbav:"os,omitempty"`
}

type keyItem struct {
	PK              string              `dynamodbav:"pk"`
	SK              string              `dynamodbav:"sk"`
	GSI1PK          string              `dynamodbav:"gsi1pk"`
	GSI1SK          string              `dynamodbav:"gsi1sk"`
	GSI2PK          string              `dynamodbav:"gsi2pk"`
	GSI2SK          string              `dynamodbav:"gsi2sk"`
	GSI3PK          string              `dynamodbav:"gsi3pk,omitempty"`
	GSI3SK          string              `dynamodbav:"gsi3sk,omitempty"`
	GSI4PK          string              `dynamodbav:"gsi4pk,omitempty"`
	GSI4SK          string              `dynamodbav:"gsi4sk,omitempty"`
	AccountID       int64               `dynamodbav:"accountId"`
	ProductID       int64               `dynamodbav:"productId"`
	ID              int64               `dynamodbav:"id"`
	GlobalID        int64               `dynamodbav:"globalId"`
	Key             string              `dynamodbav:"key"`
	Created         int64               `dynamodbav:"created"`
	Expires         int64               `dynamodbav:"expires"`
	Period          int64               `dynamodbav:"period"`
	F1              bool                `dynamodbav:"f1"`
	F2              bool                `dynamodbav:"f2"`
	F3              bool                `dynamodbav:"f3"`
	F4              bool                `dynamodbav:"f4"`
	F5              bool                `dynamodbav:"f5"`
	F6              bool                `dynamodbav:"f6"`
	F7              bool                `dynamodbav:"f7"`
	F8              bool                `dynamodbav:"f8"`
	Notes           *string             `dynamodbav:"notes"`
	Block           bool                `dynamodbav:"block"`
	TrialActivation bool                `dynamodbav:"trialActivation"`
	TrialStarted    bool                `dynamodbav:"trialStarted"`
	MaxNoOfMachines int64               `dynamodbav:"maxNoOfMachines"`
	AllowedMachines *string             `dynamodbav:"allowedMachines"`
	CustomerID      int64               `dynamodbav:"customerId"`
	ResellerID      int64               `dynamodbav:"resellerId"`
	DataObjectCount int64               `dynamodbav:"dataObjectCount"`
	Nodes           map[string]nodeAttr `dynamodbav:"nodes"`
	NodeCount       int64               `dynamodbav:"nodeCount"`
	Seats           map[string]seatAttr `dynamodbav:"seats"`
}

func keyPK(productID int64, key string) string {
	return "K#" + strconv.FormatInt(productID, 10) + "#" + key
}

const keySK = "KEY"

func seatName(slot int) string { return "s" + strconv.Itoa(slot) }

// nodeKey is the map key of a machine code in "nodes": prefixed, because a
// machine code may be empty and DynamoDB map keys may not.
func nodeKey(mid string) string { return "m" + mid }

func newKeyItem(r keys.Record) keyItem {
	it := keyItem{
		PK: keyPK(r.ProductID, r.Key), SK: keySK,
		GSI1PK: "G#" + strconv.FormatInt(r.GlobalID, 10), GSI1SK: keySK,
		GSI2PK: "P#" + strconv.FormatInt(r.ProductID, 10) + "#KEYS", GSI2SK: pad(r.ID, 12),
		AccountID: r.AccountID, ProductID: r.ProductID, ID: r.ID, GlobalID: r.GlobalID, Key: r.Key,
		Created: r.Created.Unix(), Expires: r.Expires.Unix(), Period: r.Period,
		F1: r.Features[0], F2: r.Features[1], F3: r.Features[2], F4: r.Features[3],
		F5: r.Features[4], F6: r.Features[5], F7: r.Features[6], F8: r.Features[7],
		Notes: r.Notes, Block: r.Block, TrialActivation: r.TrialActivation, TrialStarted: r.TrialStarted,
		MaxNoOfMachines: r.MaxNoOfMachines, AllowedMachines: r.AllowedMachines,
		CustomerID: r.CustomerID, ResellerID: r.ResellerID,
		Nodes: map[string]nodeAttr{}, Seats: map[string]seatAttr{},
	}
	if r.CustomerID != 0 {
		it.GSI3PK, it.GSI3SK = customerKeysPK(r.AccountID, r.CustomerID), it.PK
	}
	if r.ResellerID != 0 {
		it.GSI4PK, it.GSI4SK = resellerKeysPK(r.AccountID, r.ResellerID), it.PK
	}
	for mid, m := range r.Nodes {
		it.Nodes[nodeKey(mid)] = nodeAttr{IP: m.IP, Time: m.Time.Unix(), FriendlyName: m.FriendlyName, OSInfo: m.OSInfo}
	}
	it.NodeCount = int64(len(it.Nodes))
	for slot, s := range r.Seats {
		it.Seats[seatName(slot)] = seatAttr{Mid: s.Mid, IP: s.IP, Time: s.Time.Unix(), Expires: s.Expires.Unix(), FriendlyName: s.FriendlyName, Overdraft: s.Overdraft, OSInfo: s.OSInfo}
	}
	return it
}

func (it keyItem) record() keys.Record {
	r := keys.Record{
		AccountID: it.AccountID, ProductID: it.ProductID, ID: it.ID, GlobalID: it.GlobalID, Key: it.Key,
		Created: time.Unix(it.Created, 0).UTC(), Expires: time.Unix(it.Expires, 0).UTC(), Period: it.Period,
		Features: [8]bool{it.F1, it.F2, it.F3, it.F4, it.F5, it.F6, it.F7, it.F8},
		Notes:    it.Notes, Block: it.Block, TrialActivation: it.TrialActivation, TrialStarted: it.TrialStarted,
		MaxNoOfMachines: it.MaxNoOfMachines, AllowedMachines: it.AllowedMachines,
		CustomerID: it.CustomerID, ResellerID: it.ResellerID, DataObjectCount: it.DataObjectCount,
		Nodes: make(map[string]keys.Machine, len(it.Nodes)), Seats: make(map[int]keys.Seat, len(it.Seats)),
	}
	for k, n := range it.Nodes {
		r.Nodes[strings.TrimPrefix(k, "m")] = keys.Machine{IP: n.IP, Time: time.Unix(n.Time, 0).UTC(), FriendlyName: n.FriendlyName, OSInfo: n.OSInfo}
	}
	for name, s := range it.Seats {
		slot, err := strconv.Atoi(strings.TrimPrefix(name, "s"))
		if err != nil {
			continue
		}
		r.Seats[slot] = keys.Seat{Mid: s.Mid, IP: s.IP, Time: time.Unix(s.Time, 0).UTC(), Expires: time.Unix(s.Expires, 0).UTC(), FriendlyName: s.FriendlyName, Overdraft: s.Overdraft, OSInfo: s.OSInfo}
	}
	return r
}

func decodeKey(m map[string]types.AttributeValue) (keys.Record, error) {
	var it keyItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		return keys.Record{}, fmt.Errorf("unmarshal key: %w", err)
	}
	return it.record(), nil
}

// GetKey implements keys.Store: one GetItem.
func (s *Store) GetKey(ctx context.Context, productID int64, key string, consistent bool) (keys.Record, error) {
	var it keyItem
	if err := s.get(ctx, keyPK(productID, key), keySK, consistent, &it); err != nil {
		return keys.Record{}, err
	}
	return it.record(), nil
}

// CreateKeys implements keys.Store: one conditional PutItem for a single
// key, otherwise transactions of up to 100 conditional puts. If a later
// transaction fails, the keys of the earlier ones are deleted again, so a
// failed request leaves no keys behind.
func (s *Store) CreateKeys(ctx context.Context, recs []keys.Record) error {
	if len(recs) == 1 {
		return s.put(ctx, newKeyItem(recs[0]), true)
	}
	var done []keys.Record
	for start := 0; start < len(recs); start += 100 {
		batch := recs[start:min(start+100, len(recs))]
		var items []types.TransactWriteItem
		for _, r := range batch {
			av, err := attributevalue.MarshalMap(newKeyItem(r))
			if err != nil {
				return fmt.Errorf("marshal key: %w", err)
			}
			items = append(items, types.TransactWriteItem{Put: &types.Put{
				TableName: s.table, Item: av,
				ConditionExpression: aws.String("attribute_not_exists(pk)"),
			}})
		}
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err != nil {
			s.deleteKeys(context.WithoutCancel(ctx), done)
			var tc *types.TransactionCanceledException
			if errors.As(err, &tc) {
				for _, r := range tc.CancellationReasons {
					if aws.ToString(r.Code) == "ConditionalCheckFailed" {
						return apierr.Conflict
					}
				}
			}
			return fmt.Errorf("create keys: %w", err)
		}
		done = append(done, batch...)
	}
	return nil
}

func (s *Store) deleteKeys(ctx context.Context, recs []keys.Record) {
	for _, r := range recs {
		_, _ = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.table, Key: key(keyPK(r.ProductID, r.Key), keySK)})
	}
}

// update runs one conditional UpdateItem on a key and returns the new
// record. A failed condition is apierr.NotFound when the item is absent (or
// fails accountID, if non-zero) and apierr.Conflict otherwise.
func (s *Store) update(ctx context.Context, productID int64, k string, accountID int64, expr, cond string,
	names map[string]string, values map[string]types.AttributeValue) (keys.Record, error) {
	if names == nil {
		names = map[string]string{}
	}
	if values == nil {
		values = map[string]types.AttributeValue{}
	}
	c := "attribute_exists(pk)"
	if accountID != 0 {
		c += " AND #acct = :acct"
		values[":acct"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(accountID, 10)}
	}
	if cond != "" {
		c += " AND (" + cond + ")"
	}
	for alias, attr := range reservedAliases {
		if strings.Contains(expr, alias) || strings.Contains(c, alias) {
			names[alias] = attr
		}
	}
	in := &dynamodb.UpdateItemInput{
		TableName: s.table, Key: key(keyPK(productID, k), keySK),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String(c),
		ExpressionAttributeValues:           values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if len(names) > 0 {
		in.ExpressionAttributeNames = names
	}
	out, err := s.db.UpdateItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if len(ccf.Item) == 0 {
			return keys.Record{}, apierr.NotFound
		}
		if accountID != 0 {
			if old, err := decodeKey(ccf.Item); err == nil && old.AccountID != accountID {
				return keys.Record{}, apierr.NotFound
			}
		}
		return keys.Record{}, apierr.Conflict
	}
	if err != nil {
		return keys.Record{}, fmt.Errorf("update key: %w", err)
	}
	return decodeKey(out.Attributes)
}

// reservedAliases name attributes in expressions (several are DynamoDB
// reserved words); update adds the ones an expression uses.
var reservedAliases = map[string]string{
	"#blk": "block", "#nodes": "nodes", "#nc": "nodeCount", "#seats": "seats", "#smid": "mid",
	"#sexp": "exp", "#trs": "trialStarted", "#kexp": "expires", "#acct": "accountId",
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
func boolean(b bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: b} }

// trialClause adds the "start the trial countdown" part to an update.
func trialClause(start time.Time, values map[string]types.AttributeValue) (set, cond string) {
	if start.IsZero() {
		return "", ""
	}
	values[":trialExp"] = num(start.Unix())
	values[":true"] = boolean(true)
	values[":false"] = boolean(false)
	return ", #kexp = :trialExp, #trs = :true", "#trs = :false"
}

// addNodeUpdate builds the conditional update that adds a node-locked
// activation (shared by AddNode and the device-limited transaction).
func addNodeUpdate(a keys.NodeActivation) (expr, cond string, names map[string]string, values map[string]types.AttributeValue, err error) {
	m, err := attributevalue.Marshal(nodeAttr{IP: a.Machine.IP, Time: a.Machine.Time.Unix(), FriendlyName: a.Machine.FriendlyName, OSInfo: a.Machine.OSInfo})
	if err != nil {
		return "", "", nil, nil, err
	}
	values = map[string]types.AttributeValue{":m": m, ":one": num(1), ":blocked": boolean(true)}
	cond = "attribute_not_exists(#nodes.#mid) AND #blk <> :blocked"
	if a.Limit > 0 {
		cond += " AND #nc < :limit"
		values[":limit"] = num(a.Limit)
	}
	tset, tcond := trialClause(a.StartTrial, values)
	if tcond != "" {
		cond += " AND " + tcond
	}
	return "SET #nodes.#mid = :m, #nc = #nc + :one" + tset, cond, map[string]string{"#mid": nodeKey(a.Mid)}, values, nil
}

// AddNode implements keys.Store: one conditional UpdateItem, or, when the
// key's customer limits its devices (a.Devices), a transaction (see
// addNodeCounted).
func (s *Store) AddNode(ctx context.Context, productID int64, k string, a keys.NodeActivation) (keys.Record, error) {
	if a.Devices != nil {
		return s.addNodeCounted(ctx, productID, k, a)
	}
	expr, cond, names, values, err := addNodeUpdate(a)
	if err != nil {
		return keys.Record{}, err
	}
	return s.update(ctx, productID, k, 0, expr, cond, names, values)
}

// RemoveNode implements keys.Store: one conditional UpdateItem.
func (s *Store) RemoveNode(ctx context.Context, productID int64, k, mid string) error {
	_, err := s.update(ctx, productID, k, 0, "REMOVE #nodes.#mid SET #nc = #nc - :one",
		"attribute_exists(#nodes.#mid) AND #blk <> :blocked", map[string]string{"#mid": nodeKey(mid)},
		map[string]types.AttributeValue{":one": num(1), ":blocked": boolean(true)})
	return err
}

// ClaimSeat implements keys.Store: one conditional UpdateItem.
func (s *Store) ClaimSeat(ctx context.Context, productID int64, k string, c keys.SeatClaim) (keys.Record, error) {
	seat, err := attributevalue.Marshal(seatAttr{Mid: c.Seat.Mid, IP: c.Seat.IP, Time: c.Seat.Time.Unix(),
		Expires: c.Seat.Expires.Unix(), FriendlyName: c.Seat.FriendlyName, Overdraft: c.Seat.Overdraft, OSInfo: c.Seat.OSInfo})
	if err != nil {
		return keys.Record{}, err
	}
	values := map[string]types.AttributeValue{":seat": seat, ":now": num(c.Now.Unix()),
		":mid": &types.AttributeValueMemberS{Value: c.Seat.Mid}, ":blocked": boolean(true)}
	cond := "#blk <> :blocked AND (attribute_not_exists(#seats.#s) OR #seats.#s.#sexp <= :now OR #seats.#s.#smid = :mid)"
	tset, tcond := trialClause(c.StartTrial, values)
	if tcond != "" {
		cond += " AND " + tcond
	}
	return s.update(ctx, productID, k, 0, "SET #seats.#s = :seat"+tset, cond,
		map[string]string{"#s": seatName(c.Slot)}, values)
}

// ReleaseSeat implements keys.Store: one conditional UpdateItem; a seat
// held by another machine (or no seat) is left alone without error.
func (s *Store) ReleaseSeat(ctx context.Context, productID int64, k string, slot int, mid string) error {
	_, err := s.update(ctx, productID, k, 0, "REMOVE #seats.#s", "#seats.#s.#smid = :mid",
		map[string]string{"#s": seatName(slot)}, map[string]types.AttributeValue{":mid": &types.AttributeValueMemberS{Value: mid}})
	if errors.Is(err, apierr.Conflict) {
		return nil
	}
	return err
}

// Update implements keys.Store: one conditional UpdateItem restricted to
// the account's key.
func (s *Store) Update(ctx context.Context, accountID, productID int64, k string, c keys.Change) (keys.Record, error) {
	var sets []string
	values := map[string]types.AttributeValue{}
	names := map[string]string{}
	cond := ""
	set := func(attr string, v types.AttributeValue) {
		n := fmt.Sprintf("#a%d", len(sets))
		p := fmt.Sprintf(":v%d", len(sets))
		names[n] = attr
		values[p] = v
		sets = append(sets, n+" = "+p)
	}
	if c.Block != nil {
		set("block", boolean(*c.Block))
	}
	if c.Notes != nil {
		if *c.Notes == nil {
			set("notes", &types.AttributeValueMemberNULL{Value: true})
		} else {
			set("notes", &types.AttributeValueMemberS{Value: **c.Notes})
		}
	}
	if c.Expires != nil {
		set("expires", num(c.Expires.Unix()))
	}
	if c.IfExpires != nil {
		values[":ifexp"] = num(c.IfExpires.Unix())
		cond = "#kexp = :ifexp"
	}
	if c.MaxNoOfMachines != nil {
		set("maxNoOfMachines", num(*c.MaxNoOfMachines))
	}
	if c.TrialActivation != nil {
		set("trialActivation", boolean(*c.TrialActivation))
	}
	if c.Feature != nil {
		if c.Feature.Index < 0 || c.Feature.Index > 7 {
			return keys.Record{}, apierr.BadInput
		}
		set("f"+strconv.Itoa(c.Feature.Index+1), boolean(c.Feature.Value))
	}
	var removes []string
	link := func(id int64, attr, pkAttr, skAttr, pk string) {
		set(attr, num(id))
		if id == 0 {
			removes = append(removes, pkAttr, skAttr)
			return
		}
		set(pkAttr, &types.AttributeValueMemberS{Value: pk})
		set(skAttr, &types.AttributeValueMemberS{Value: keyPK(productID, k)})
	}
	if c.CustomerID != nil {
		if accountID == 0 {
			return keys.Record{}, errors.New("update key: customer change needs the account")
		}
		link(*c.CustomerID, "customerId", "gsi3pk", "gsi3sk", customerKeysPK(accountID, *c.CustomerID))
	}
	if c.ResellerID != nil {
		if accountID == 0 {
			return keys.Record{}, errors.New("update key: reseller change needs the account")
		}
		link(*c.ResellerID, "resellerId", "gsi4pk", "gsi4sk", resellerKeysPK(accountID, *c.ResellerID))
	}
	if len(sets) == 0 {
		return keys.Record{}, errors.New("update key: empty change")
	}
	expr := "SET " + strings.Join(sets, ", ")
	if len(removes) > 0 {
		expr += " REMOVE " + strings.Join(removes, ", ")
	}
	return s.update(ctx, productID, k, accountID, expr, cond, names, values)
}

type trialItem struct {
	PK  string `dynamodbav:"pk"`
	SK  string `dynamodbav:"sk"`
	Key string `dynamodbav:"key"`
}

func trialPK(productID int64, mid string) string {
	return "TRIAL#" + strconv.FormatInt(productID, 10) + "#" + mid
}

// TrialKeyFor implements keys.Store: the key of the trial created for a
// machine of a product, or apierr.NotFound. One GetItem.
func (s *Store) TrialKeyFor(ctx context.Context, productID int64, mid string) (string, error) {
	var it trialItem
	if err := s.get(ctx, trialPK(productID, mid), "TRIAL", true, &it); err != nil {
		return "", err
	}
	return it.Key, nil
}

// SetTrialKey implements keys.Store: records key as the machine's trial
// key. With replace false it fails with apierr.Conflict when one exists.
func (s *Store) SetTrialKey(ctx context.Context, productID int64, mid, k string, replace bool) error {
	return s.put(ctx, trialItem{PK: trialPK(productID, mid), SK: "TRIAL", Key: k}, !replace)
}

// DeleteKey implements keys.Store (used to undo a key that lost a race).
func (s *Store) DeleteKey(ctx context.Context, productID int64, k string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.table, Key: key(keyPK(productID, k), keySK)})
	if err != nil {
		return fmt.Errorf("delete key: %w", err)
	}
	return nil
}

// ListKeys returns every key of a product in id order (a paged Query on
// gsi2, then BatchGetItem for the items). It reads the whole product, which
// product/GetKeys needs for its total, search and ordering; its cost grows
// with the product's size.
func (s *Store) ListKeys(ctx context.Context, productID int64) ([]keys.Record, error) {
	items, err := s.indexItems(ctx, &dynamodb.QueryInput{
		IndexName:              aws.String(schema.GSI2),
		KeyConditionExpression: aws.String("gsi2pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: "P#" + strconv.FormatInt(productID, 10) + "#KEYS"},
		},
	})
	if err != nil {
		return nil, err
	}
	out := make([]keys.Record, 0, len(items))
	for _, m := range items {
		r, err := decodeKey(m)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// KeyByGlobalID returns the key with a global id, or apierr.NotFound. One
// Query on gsi1 and one GetItem.
func (s *Store) KeyByGlobalID(ctx context.Context, globalID int64) (keys.Record, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:              s.table,
		IndexName:              aws.String(schema.GSI1),
		KeyConditionExpression: aws.String("gsi1pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: "G#" + strconv.FormatInt(globalID, 10)},
		},
		Limit: aws.Int32(1),
	})
	if err != nil {
		return keys.Record{}, fmt.Errorf("query global id: %w", err)
	}
	if len(out.Items) == 0 {
		return keys.Record{}, apierr.NotFound
	}
	var it keyItem
	pk, _ := out.Items[0][schema.PK].(*types.AttributeValueMemberS)
	if pk == nil {
		return keys.Record{}, apierr.NotFound
	}
	if err := s.get(ctx, pk.Value, keySK, false, &it); err != nil {
		return keys.Record{}, err
	}
	return it.record(), nil
}
