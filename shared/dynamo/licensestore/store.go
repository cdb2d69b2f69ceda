package licensestore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/schema"
)

// Store implements keys.Store, keys.TemplateStore, keys.ListStore and
// keys.CustomerDevices on the table.
type Store struct {
	t *dynamo.Table
}

// New returns the license store on table t.
func New(t *dynamo.Table) *Store { return &Store{t: t} }

// partition reads the items of a license partition: the key item and up
// to max activations (paged; 0.5 RRU for a key with a handful of
// machines). It returns apierr.NotFound when the key does not exist.
func (s *Store) partition(ctx context.Context, productID int64, key string, consistent bool, max int) ([]dynamo.Item, error) {
	items, err := s.t.QueryUpTo(ctx, dynamo.Query{PK: dynamo.LicensePK(productID, key), Consistent: consistent}, max+2)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	if len(items) == 0 || dynamo.KeyOf(items[0]).SK != dynamo.KeySK {
		return nil, apierr.NotFound
	}
	return items, nil
}

// decode builds a record from a license partition's items (the key item
// first); it reports whether the key item still keeps its activations
// inline (an item written before activations became items).
func decode(items []dynamo.Item, max int) (keys.Record, bool, error) {
	var it keyItem
	if err := dynamo.Decode(items[0], "key", &it); err != nil {
		return keys.Record{}, false, err
	}
	if it.Version < itemVersion {
		return keys.Record{}, true, nil
	}
	r := it.record()
	acts := items[1:]
	if len(acts) > max {
		acts, r.Partial = acts[:max], true
	}
	for _, m := range acts {
		sk := dynamo.KeyOf(m).SK
		switch {
		case strings.HasPrefix(sk, dynamo.NodeSlotPrefix), strings.HasPrefix(sk, dynamo.NodeMachinePrefix):
			var n nodeItem
			if err := dynamo.Decode(m, "activation", &n); err != nil {
				return keys.Record{}, false, err
			}
			addNode(&r, n.Mid, n.machine())
		case strings.HasPrefix(sk, dynamo.SeatSlotPrefix), strings.HasPrefix(sk, dynamo.FloatingMachinePrefix):
			var st seatItem
			if err := dynamo.Decode(m, "seat", &st); err != nil {
				return keys.Record{}, false, err
			}
			r.Seats = append(r.Seats, st.seat())
		}
	}
	return r, false, nil
}

// GetKey implements keys.Store: one Query of the license partition (more
// pages only for keys with many activations).
func (s *Store) GetKey(ctx context.Context, productID int64, key string, consistent bool) (keys.Record, error) {
	return s.getKey(ctx, productID, key, consistent, keys.MaxReadActivations)
}

func (s *Store) getKey(ctx context.Context, productID int64, key string, consistent bool, max int) (keys.Record, error) {
	for attempt := 0; attempt < 3; attempt++ {
		items, err := s.partition(ctx, productID, key, consistent, max)
		if err != nil {
			return keys.Record{}, err
		}
		r, legacy, err := decode(items, max)
		if err != nil || !legacy {
			return r, err
		}
		if err := s.migrateKey(ctx, productID, key); err != nil {
			return keys.Record{}, err
		}
		consistent = true
	}
	return keys.Record{}, fmt.Errorf("key %d/%s: layout migration did not finish", productID, key)
}

// GetNode implements keys.Store: one consistent GetItem.
func (s *Store) GetNode(ctx context.Context, productID int64, key, mid string) (keys.Machine, error) {
	var n nodeItem
	if err := s.t.Get(ctx, dynamo.NodeMachine(productID, key, mid), true, &n); err != nil {
		return keys.Machine{}, err
	}
	return n.machine(), nil
}

// CreateKeys implements keys.Store: one conditional PutItem for a single
// key, otherwise transactions of up to 100 conditional puts. A record's
// node-locked activations, if it has any (imports), are written with it,
// placed as activations would be (see placeNodes). If a later
// transaction fails, the keys of the earlier ones are deleted again, so a
// failed request leaves no keys behind.
func (s *Store) CreateKeys(ctx context.Context, recs []keys.Record) error {
	var ops []types.TransactWriteItem
	for _, r := range recs {
		op, err := s.t.PutOp(newKeyItem(r), dynamo.NotExists)
		if err != nil {
			return err
		}
		ops = append(ops, op)
		for _, n := range placeNodes(r.Nodes, r.MaxNoOfMachines) {
			if op, err = s.t.PutOp(newNodeItem(r.ProductID, r.Key, n.mid, n.m), dynamo.NotExists); err != nil {
				return err
			}
			ops = append(ops, op)
		}
		for _, st := range r.Seats {
			if r.MaxNoOfMachines == 0 {
				st.Slot = keys.NoSlot
			}
			if op, err = s.t.PutOp(newSeatItem(r.ProductID, r.Key, st), dynamo.NotExists); err != nil {
				return err
			}
			ops = append(ops, op)
		}
	}
	for start := 0; start < len(ops); start += 100 {
		if err := s.t.Transact(ctx, ops[start:min(start+100, len(ops))]); err != nil {
			uerr := s.deleteKeys(context.WithoutCancel(ctx), recs)
			conflict := errors.Is(err, apierr.Conflict)
			switch {
			case uerr == nil && conflict:
				return apierr.Conflict
			case uerr == nil:
				return fmt.Errorf("create keys: %w", err)
			case conflict:
				// No longer a Conflict: the caller must not retry while
				// keys of this attempt may remain.
				return fmt.Errorf("create keys: %v: %w", err, uerr)
			}
			return fmt.Errorf("create keys: %w", errors.Join(err, uerr))
		}
	}
	return nil
}

// ImportKeys writes keys and their activations with batched unconditional
// puts (25 items per call) and raises the product's key counter to the
// highest id imported. It is for bulk imports (a vendor moving its keys
// in, benchmarks): the caller guarantees that the key strings and ids are
// new; nothing is checked and a failure may leave some keys written.
func (s *Store) ImportKeys(ctx context.Context, recs []keys.Record) error {
	var items []any
	last := map[int64]int64{}
	for _, r := range recs {
		items = append(items, newKeyItem(r))
		for _, n := range placeNodes(r.Nodes, r.MaxNoOfMachines) {
			items = append(items, newNodeItem(r.ProductID, r.Key, n.mid, n.m))
		}
		for _, st := range r.Seats {
			items = append(items, newSeatItem(r.ProductID, r.Key, st))
		}
		last[r.ProductID] = max(last[r.ProductID], r.ID)
	}
	if err := s.t.BatchPut(ctx, items); err != nil {
		return err
	}
	for pid, id := range last {
		_, err := s.t.Upsert(ctx, dynamo.ProductKeyCounter(pid), dynamo.Update{
			Expr: "SET #n = :id", Cond: "attribute_not_exists(#n) OR #n < :id",
			Names: map[string]string{"#n": "n"}, Values: dynamo.Item{":id": dynamo.N(id)},
		})
		if err != nil && !errors.Is(err, apierr.Conflict) {
			return err
		}
	}
	return nil
}

// deleteKeys undoes created keys: each partition that holds a key of
// recs created by this call is removed (a key that existed before, the
// reason a creation failed, is left alone: its id differs). It tries every
// key and returns an error naming those that may remain.
func (s *Store) deleteKeys(ctx context.Context, recs []keys.Record) error {
	var errs []error
	for _, r := range recs {
		var it keyItem
		err := s.t.Get(ctx, dynamo.License(r.ProductID, r.Key), true, &it)
		switch {
		case errors.Is(err, apierr.NotFound), err == nil && it.GlobalID != r.GlobalID:
			continue
		case err == nil:
			err = s.DeleteKey(ctx, r.ProductID, r.Key)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("key id %d (global id %d) of product %d: %w", r.ID, r.GlobalID, r.ProductID, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("undo: keys of the failed creation may remain, delete them: %w", errors.Join(errs...))
	}
	return nil
}

// DeleteKey implements keys.Store: the key item, its activations and a
// hole for its id (so listings stop counting it) go in transactions of up
// to 100 items, the key item last.
func (s *Store) DeleteKey(ctx context.Context, productID int64, key string) error {
	items, err := s.t.QueryAll(ctx, dynamo.Query{PK: dynamo.LicensePK(productID, key), Consistent: true})
	if err != nil {
		return fmt.Errorf("read key: %w", err)
	}
	if len(items) == 0 {
		return nil
	}
	var it keyItem
	if err := dynamo.Decode(items[0], "key", &it); err != nil {
		return err
	}
	rest := items[1:]
	for len(rest) > 0 {
		chunk := rest[:min(len(rest), 100)]
		rest = rest[len(chunk):]
		ops := make([]types.TransactWriteItem, 0, len(chunk))
		for _, m := range chunk {
			ops = append(ops, s.t.DeleteOp(dynamo.KeyOf(m), "", nil, nil))
		}
		if err := s.t.Transact(ctx, ops); err != nil {
			return fmt.Errorf("delete activations: %w", err)
		}
	}
	hole, err := s.t.PutOp(holeItem(productID, it.ID), "")
	if err != nil {
		return err
	}
	if err := s.t.Transact(ctx, []types.TransactWriteItem{s.t.DeleteOp(dynamo.License(productID, key), "", nil, nil), hole}); err != nil {
		return fmt.Errorf("delete key: %w", err)
	}
	return nil
}

// Update implements keys.Store: one conditional UpdateItem of the key item
// restricted to the account's key.
func (s *Store) Update(ctx context.Context, accountID, productID int64, k string, c keys.Change) (keys.Record, error) {
	u := dynamo.Update{Names: map[string]string{}, Values: dynamo.Item{}}
	var sets, removes []string
	set := func(attr string, v types.AttributeValue) {
		n, p := "#a"+strconv.Itoa(len(sets)), ":v"+strconv.Itoa(len(sets))
		u.Names[n], u.Values[p] = attr, v
		sets = append(sets, n+" = "+p)
	}
	var conds []string
	if accountID != 0 {
		u.Names["#acct"], u.Values[":acct"] = "accountId", dynamo.N(accountID)
		conds = append(conds, "#acct = :acct")
	}
	if c.Block != nil {
		set("block", dynamo.Bool(*c.Block))
	}
	if c.Notes != nil {
		if *c.Notes == nil {
			set("notes", dynamo.Null())
		} else {
			set("notes", dynamo.S(**c.Notes))
		}
	}
	if c.Expires != nil {
		if c.KeyID == 0 {
			return keys.Record{}, errors.New("update key: an expiry change needs the key id")
		}
		set("expires", dynamo.N(c.Expires.Unix()))
		set("gsi5sk", dynamo.S(dynamo.ExpirySK(c.Expires.Unix(), c.KeyID)))
	}
	if c.Period != nil {
		set("period", dynamo.N(*c.Period))
	}
	if c.IfExpires != nil {
		u.Names["#kexp"], u.Values[":ifexp"] = "expires", dynamo.N(c.IfExpires.Unix())
		conds = append(conds, "#kexp = :ifexp")
	}
	if c.MaxNoOfMachines != nil {
		set("maxNoOfMachines", dynamo.N(*c.MaxNoOfMachines))
	}
	if c.TrialActivation != nil {
		set("trialActivation", dynamo.Bool(*c.TrialActivation))
	}
	if c.Feature != nil {
		if c.Feature.Index < 0 || c.Feature.Index > 7 {
			return keys.Record{}, apierr.BadInput
		}
		set("f"+strconv.Itoa(c.Feature.Index+1), dynamo.Bool(c.Feature.Value))
	}
	link := func(id int64, attr, pkAttr, skAttr, pk string) {
		set(attr, dynamo.N(id))
		if id == 0 {
			removes = append(removes, pkAttr, skAttr)
			return
		}
		set(pkAttr, dynamo.S(pk))
		set(skAttr, dynamo.S(dynamo.LicensePK(productID, k)))
	}
	if c.CustomerID != nil {
		if accountID == 0 {
			return keys.Record{}, errors.New("update key: customer change needs the account")
		}
		link(*c.CustomerID, "customerId", "gsi3pk", "gsi3sk", dynamo.CustomerLicensesGSI3PK(accountID, *c.CustomerID))
	}
	if c.ResellerID != nil {
		if accountID == 0 {
			return keys.Record{}, errors.New("update key: reseller change needs the account")
		}
		link(*c.ResellerID, "resellerId", "gsi4pk", "gsi4sk", dynamo.ResellerLicensesGSI4PK(accountID, *c.ResellerID))
	}
	if !c.Edited.IsZero() {
		set("edited", dynamo.N(c.Edited.Unix()))
		if c.EditedBy != "" {
			set("editedBy", dynamo.S(c.EditedBy))
		} else {
			removes = append(removes, "editedBy")
		}
	}
	if len(sets) == 0 {
		return keys.Record{}, errors.New("update key: empty change")
	}
	u.Expr = "SET " + strings.Join(sets, ", ")
	if len(removes) > 0 {
		u.Expr += " REMOVE " + strings.Join(removes, ", ")
	}
	u.Cond = strings.Join(conds, " AND ")
	out, err := s.t.UpdateExisting(ctx, dynamo.License(productID, k), u)
	var ce *dynamo.ConflictError
	if errors.As(err, &ce) && accountID != 0 {
		var old keyItem
		if dynamo.Decode(ce.Old, "key", &old) == nil && old.AccountID != accountID {
			return keys.Record{}, apierr.NotFound
		}
	}
	if err != nil {
		return keys.Record{}, err
	}
	var it keyItem
	if err := dynamo.Decode(out, "key", &it); err != nil {
		return keys.Record{}, err
	}
	return it.record(), nil
}

// KeyByGlobalID returns the key with a global id, or apierr.NotFound. One
// Query on gsi1 and one Query of the license partition.
func (s *Store) KeyByGlobalID(ctx context.Context, globalID int64) (keys.Record, error) {
	p, err := s.t.QueryPage(ctx, dynamo.Query{Index: schema.GSI1, PK: dynamo.GlobalIDGSI1PK(globalID)}, 1, nil)
	if err != nil {
		return keys.Record{}, err
	}
	if len(p.Items) == 0 {
		return keys.Record{}, apierr.NotFound
	}
	productID, k, ok := dynamo.ParseLicensePK(dynamo.KeyOf(p.Items[0]).PK)
	if !ok {
		return keys.Record{}, apierr.NotFound
	}
	return s.GetKey(ctx, productID, k, false)
}

// ---- ids ----

// legacyKeyCounter is where product key ids were counted before each
// product got its own counter partition.
func legacyKeyCounter(productID int64) dynamo.Key {
	return dynamo.Counter("key#" + strconv.FormatInt(productID, 10))
}

// NextKeyIDs implements keys.Store: one UpdateItem of the product's
// counter (initialized once from the legacy global counter item).
func (s *Store) NextKeyIDs(ctx context.Context, productID, n int64) (int64, error) {
	k := dynamo.ProductKeyCounter(productID)
	out, err := s.t.UpdateExisting(ctx, k, dynamo.Update{
		Expr: "ADD #n :k", Names: map[string]string{"#n": "n"}, Values: dynamo.Item{":k": dynamo.N(n)},
	})
	if errors.Is(err, apierr.NotFound) {
		legacy, err := s.t.CounterValue(ctx, legacyKeyCounter(productID))
		if err != nil {
			return 0, err
		}
		if err := s.t.Put(ctx, counterItem{PK: k.PK, SK: k.SK, N: legacy}, true); err != nil && !errors.Is(err, apierr.Conflict) {
			return 0, err
		}
		return s.NextKeyIDs(ctx, productID, n)
	}
	if err != nil {
		return 0, err
	}
	var c counterItem
	if err := dynamo.Decode(out, "counter", &c); err != nil {
		return 0, err
	}
	return c.N, nil
}

type counterItem struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
	N  int64  `dynamodbav:"n"`
}

// keyHole records a key id of a product that has no key.
type keyHole struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
	ID int64  `dynamodbav:"id"`
}

func holeItem(productID, id int64) keyHole {
	k := dynamo.ProductKeyHole(productID, id)
	return keyHole{PK: k.PK, SK: k.SK, ID: id}
}

// NextGlobalIDs implements keys.Store: one UpdateItem of the global
// counter.
func (s *Store) NextGlobalIDs(ctx context.Context, n int64) (int64, error) {
	return s.t.NextIDs(ctx, dynamo.Counter("globalkey"), n)
}

// ReleaseKeyIDs implements keys.Store: one put per id (best effort by the
// caller: an id left uncounted only makes a listing page one key short).
func (s *Store) ReleaseKeyIDs(ctx context.Context, productID int64, ids []int64) error {
	for _, id := range ids {
		if err := s.t.Put(ctx, holeItem(productID, id), false); err != nil {
			return err
		}
	}
	return nil
}

// ---- trials ----

type trialItem struct {
	PK  string `dynamodbav:"pk"`
	SK  string `dynamodbav:"sk"`
	Key string `dynamodbav:"key"`
}

// TrialKeyFor implements keys.Store: one consistent GetItem.
func (s *Store) TrialKeyFor(ctx context.Context, productID int64, mid string) (string, error) {
	var it trialItem
	if err := s.t.Get(ctx, dynamo.Trial(productID, mid), true, &it); err != nil {
		return "", err
	}
	return it.Key, nil
}

// SetTrialKey implements keys.Store: one PutItem (conditional unless
// replace).
func (s *Store) SetTrialKey(ctx context.Context, productID int64, mid, k string, replace bool) error {
	tk := dynamo.Trial(productID, mid)
	return s.t.Put(ctx, trialItem{PK: tk.PK, SK: tk.SK, Key: k}, !replace)
}
