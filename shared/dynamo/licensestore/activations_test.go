package licensestore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/dynamo/licensestore"
	"github.com/keyturn/keyturn/shared/keys"
)

// itemSize is the size of an item as DynamoDB bills it (the attribute
// names and values).
func itemSize(item dynamo.Item) int {
	n := 0
	for k, v := range item {
		n += len(k)
		var x any
		if err := attributevalue.Unmarshal(v, &x); err == nil {
			n += len(fmt.Sprint(x))
		}
	}
	return n
}

// TestActivationWriteIndependentOfMachines: a new activation writes one
// small item whatever the key already holds (1, 100 or 2,000 machines),
// and a repeated activation writes nothing.
func TestActivationWriteIndependentOfMachines(t *testing.T) {
	ctx := context.Background()
	db, table := ddbtest.NewTable(t)
	// The size of every item written with PutItem since the last take.
	var mu sync.Mutex
	var written []int
	take := func() []int {
		mu.Lock()
		defer mu.Unlock()
		s := written
		written = nil
		return s
	}
	w := &ddbtest.Intercept{API: db, Before: func(op string, in any) error {
		if put, ok := in.(*dynamodb.PutItemInput); ok {
			mu.Lock()
			written = append(written, itemSize(put.Item))
			mu.Unlock()
		}
		return nil
	}}
	counter := ddbtest.NewCounter(w)
	st := licensestore.New(dynamo.New(counter, table))
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	svc := keys.NewService(st, func() time.Time { return now })
	for i, n := range []int{1, 100, 2000} {
		key := fmt.Sprintf("WCU%02d", i)
		nodes := map[string]keys.Machine{}
		for j := 0; j < n; j++ {
			nodes[fmt.Sprintf("%064x", j)] = keys.Machine{IP: "192.0.2.1", Time: now, FriendlyName: "host"}
		}
		if err := st.CreateKeys(ctx, []keys.Record{{AccountID: 1, ProductID: 10, ID: int64(i + 1), GlobalID: int64(100 + i),
			Key: key, Created: now, Expires: now, Nodes: nodes}}); err != nil {
			t.Fatal(err)
		}
		take()
		counter.Reset()
		mid := fmt.Sprintf("%064x", 1_000_000)
		r, err := svc.Activate(ctx, keys.ActivateInput{AccountID: 1, ProductID: 10, Key: key, MachineCode: mid, IP: "192.0.2.9", FriendlyName: "new"})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := r.Nodes[mid]; !ok {
			t.Errorf("%d machines: the activated machine is missing from the result", n)
		}
		sizes := take()
		if len(sizes) != 1 || sizes[0] > 400 || counter.Of("PutItem") != 1 || counter.Of("UpdateItem")+counter.Of("TransactWriteItems") != 0 {
			t.Errorf("%d machines: writes %v (%s), want one PutItem of one small item", n, sizes, counter.Summary())
		}
		counter.Reset()
		if _, err := svc.Activate(ctx, keys.ActivateInput{AccountID: 1, ProductID: 10, Key: key, MachineCode: mid}); err != nil {
			t.Fatal(err)
		}
		if got := counter.Of("PutItem") + counter.Of("UpdateItem") + counter.Of("TransactWriteItems"); got != 0 {
			t.Errorf("%d machines: a repeated activation wrote %d times", n, got)
		}
	}
}

// TestKeyUsableAfterHostileActivations: clients with an Activate-only
// token add hundreds of machines with the largest accepted machine codes
// and friendly names to a key without a machine limit. The key item does
// not grow, so the vendor still edits the key and clients still activate.
func TestKeyUsableAfterHostileActivations(t *testing.T) {
	ctx := context.Background()
	r := newKeyRig(t)
	r.create(t, "HOSTILE", nil)
	const n = 800
	big := strings.Repeat("x", keys.MaxMachineCode)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	var failures sync.Map
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			mid := fmt.Sprintf("%04d", i) + big[4:]
			if _, err := r.svc.Activate(ctx, keys.ActivateInput{AccountID: 1, ProductID: 10, Key: "HOSTILE", MachineCode: mid, FriendlyName: big, IP: "192.0.2.1"}); err != nil {
				failures.Store(i, err)
			}
		}()
	}
	wg.Wait()
	failures.Range(func(k, v any) bool { t.Errorf("activation %v: %v", k, v); return false })
	notes := "still editable"
	np := &notes
	if _, err := r.svc.Change(ctx, 1, 10, "HOSTILE", keys.Change{Notes: &np}); err != nil {
		t.Fatalf("vendor edit after %d large activations: %v", n, err)
	}
	got, err := r.st.GetKey(ctx, 10, "HOSTILE", false)
	if err != nil || len(got.Nodes) != n || *got.Notes != notes {
		t.Fatalf("key after the storm: %d machines, %v", len(got.Nodes), err)
	}
	var raw map[string]any
	if err := r.rawKey(t, "HOSTILE", &raw); err != nil {
		t.Fatal(err)
	}
	if size := len(fmt.Sprint(raw)); size > 2000 {
		t.Errorf("the key item holds %d bytes after %d activations; activations must be items of their own", size, n)
	}
}

func (r *keyRig) rawKey(t *testing.T, key string, out any) error {
	t.Helper()
	res, err := r.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: &r.table, Key: dynamo.License(10, key).AV()})
	if err != nil {
		return err
	}
	return attributevalue.UnmarshalMap(res.Item, out)
}

// TestDuplicateSlotRepaired: two slots held by one machine (two first
// activations that raced after reading different states) are reduced to
// one by the next activation of the key, freeing the other seat.
func TestDuplicateSlotRepaired(t *testing.T) {
	ctx := context.Background()
	r := newKeyRig(t)
	r.create(t, "DUPS", func(k *keys.Record) { k.MaxNoOfMachines = 2 })
	for _, slot := range []int{0, 1} {
		if err := r.st.AddNode(ctx, 10, "DUPS", keys.NodeActivation{Mid: "twice", Machine: keys.Machine{Time: r.clock.Now(), Slot: slot}}); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := r.st.GetKey(ctx, 10, "DUPS", true)
	if len(got.Nodes) != 1 || len(got.DuplicateNodes["twice"]) != 1 {
		t.Fatalf("read of a duplicated machine: nodes %v, duplicates %v", got.Nodes, got.DuplicateNodes)
	}
	if _, err := r.svc.Activate(ctx, keys.ActivateInput{AccountID: 1, ProductID: 10, Key: "DUPS", MachineCode: "other"}); err != nil {
		t.Fatalf("activation while a machine held two seats: %v", err)
	}
	got, _ = r.st.GetKey(ctx, 10, "DUPS", true)
	if len(got.Nodes) != 2 || len(got.DuplicateNodes) != 0 {
		t.Errorf("after repair: nodes %v, duplicates %v; want twice and other, no duplicates", got.Nodes, got.DuplicateNodes)
	}
}

// TestLimitChangesKeepLimitExact: machines activated while the key had no
// limit move into seats when a limit is set (compaction), so the limit
// holds at once; a seat freed below the limit is taken by a machine above
// it.
func TestLimitChangesKeepLimitExact(t *testing.T) {
	ctx := context.Background()
	r := newKeyRig(t)
	r.create(t, "LIMIT", nil)
	act := func(mid string) error {
		_, err := r.svc.Activate(ctx, keys.ActivateInput{AccountID: 1, ProductID: 10, Key: "LIMIT", MachineCode: mid})
		return err
	}
	for i := 0; i < 5; i++ {
		if err := act(fmt.Sprintf("m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	three := int64(3)
	if _, err := r.svc.Change(ctx, 1, 10, "LIMIT", keys.Change{MaxNoOfMachines: &three}); err != nil {
		t.Fatal(err)
	}
	got, _ := r.st.GetKey(ctx, 10, "LIMIT", true)
	slots := map[int]bool{}
	for _, m := range got.Nodes {
		if m.Slot >= 0 {
			slots[m.Slot] = true
		}
	}
	if len(got.Nodes) != 5 || len(slots) != 3 {
		t.Fatalf("after setting limit 3 on 5 machines: %d machines, slots %v; want 5 and 3 slots", len(got.Nodes), slots)
	}
	if err := act("new"); !errors.Is(err, apierr.LimitReached) {
		t.Errorf("activation over the lowered limit: %v, want LimitReached", err)
	}
	// Two deactivations leave 3 machines: still full.
	for _, mid := range []string{"m0", "m1"} {
		if err := r.svc.Deactivate(ctx, 1, 10, "LIMIT", mid, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := act("new"); !errors.Is(err, apierr.LimitReached) {
		t.Errorf("activation with 3 machines on limit 3: %v, want LimitReached", err)
	}
	if err := r.svc.Deactivate(ctx, 1, 10, "LIMIT", "m2", false); err != nil {
		t.Fatal(err)
	}
	if err := act("new"); err != nil {
		t.Errorf("activation with 2 machines on limit 3: %v", err)
	}
	got, _ = r.st.GetKey(ctx, 10, "LIMIT", true)
	for mid, m := range got.Nodes {
		if m.Slot < 0 || m.Slot >= 3 {
			t.Errorf("machine %s holds slot %d, want a slot below the limit", mid, m.Slot)
		}
	}
}

// TestLegacyKeyMigrated: a key item written with inline activations (the
// layout before activations were items) reads with its machines and seats
// and is moved to the current layout, idempotently; the table-wide
// migration finds nothing left to do.
func TestLegacyKeyMigrated(t *testing.T) {
	ctx := context.Background()
	r := newKeyRig(t)
	legacy := map[string]any{
		"pk": "K#10#LEGACY", "sk": "KEY", "gsi1pk": "G#77", "gsi1sk": "KEY", "gsi2pk": "P#10#KEYS", "gsi2sk": dynamo.Pad(7, 12),
		"accountId": 1, "productId": 10, "id": 7, "globalId": 77, "key": "LEGACY", "created": 1700000000, "expires": 1800000000,
		"period": 30, "notes": nil, "allowedMachines": nil, "maxNoOfMachines": 1, "nodeCount": 2,
		"nodes": map[string]any{"mA": map[string]any{"ip": "10.0.0.1", "t": 1700000001}, "mB": map[string]any{"ip": "10.0.0.2", "t": 1700000002}},
		"seats": map[string]any{"s0": map[string]any{"mid": "f1", "ip": "10.0.0.3", "t": 1700000003, "exp": 4000000000}},
	}
	av, err := attributevalue.MarshalMap(legacy)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &r.table, Item: av}); err != nil {
		t.Fatal(err)
	}
	got, err := r.st.GetKey(ctx, 10, "LEGACY", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Nodes) != 2 || got.Nodes["A"].Slot != 0 || got.Nodes["B"].Slot != keys.NoSlot || len(got.Seats) != 1 || got.Seats[0].Mid != "f1" {
		t.Errorf("migrated key: nodes %+v seats %+v", got.Nodes, got.Seats)
	}
	var raw map[string]any
	if err := r.rawKey(t, "LEGACY", &raw); err != nil {
		t.Fatal(err)
	}
	if _, still := raw["nodes"]; still || raw["v"] == nil || raw["gsi5pk"] == nil {
		t.Errorf("key item after migration: %v", raw)
	}
	n, err := r.st.MigrateLegacyKeys(ctx, r.raw, 0, 1, nil, nil)
	if err != nil || n != 0 {
		t.Errorf("table migration after the key was migrated: %d keys, %v; want 0", n, err)
	}
	again, err := r.st.GetKey(ctx, 10, "LEGACY", true)
	if err != nil || len(again.Nodes) != 2 {
		t.Errorf("read again: %+v, %v", again.Nodes, err)
	}
}
