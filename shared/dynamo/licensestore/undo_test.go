package licensestore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/dynamo/licensestore"
	"github.com/keyturn/keyturn/shared/keys"
)

// hookStore is a keys.Store that passes every call to the DynamoDB store,
// except calls of a method whose function field is set.
type hookStore struct {
	keys.Store
	getKey      func(ctx context.Context, productID int64, key string, consistent bool) (keys.Record, error)
	removeNode  func(ctx context.Context, productID int64, key, mid string, m keys.Machine, moveInMid string, moveIn *keys.Machine) error
	trialKeyFor func(ctx context.Context, productID int64, mid string) (string, error)
	deleteKey   func(ctx context.Context, productID int64, key string) error
}

func (h *hookStore) GetKey(ctx context.Context, productID int64, key string, consistent bool) (keys.Record, error) {
	if h.getKey != nil {
		return h.getKey(ctx, productID, key, consistent)
	}
	return h.Store.GetKey(ctx, productID, key, consistent)
}

func (h *hookStore) RemoveNode(ctx context.Context, productID int64, key, mid string, m keys.Machine, moveInMid string, moveIn *keys.Machine) error {
	if h.removeNode != nil {
		return h.removeNode(ctx, productID, key, mid, m, moveInMid, moveIn)
	}
	return h.Store.RemoveNode(ctx, productID, key, mid, m, moveInMid, moveIn)
}

func (h *hookStore) TrialKeyFor(ctx context.Context, productID int64, mid string) (string, error) {
	if h.trialKeyFor != nil {
		return h.trialKeyFor(ctx, productID, mid)
	}
	return h.Store.TrialKeyFor(ctx, productID, mid)
}

func (h *hookStore) DeleteKey(ctx context.Context, productID int64, key string) error {
	if h.deleteKey != nil {
		return h.deleteKey(ctx, productID, key)
	}
	return h.Store.DeleteKey(ctx, productID, key)
}

// logEntry is one line of a JSON log.
type logEntry struct {
	Level       string
	Msg         string
	AccountID   int64  `json:"accountId"`
	ProductID   int64  `json:"productId"`
	KeyID       int64  `json:"keyId"`
	MachineCode string `json:"machineCode"`
	Error       string
}

// logTo returns a logger writing JSON lines to buf.
func logTo(buf *bytes.Buffer) *slog.Logger { return slog.New(slog.NewJSONHandler(buf, nil)) }

func onlyEntry(t *testing.T, buf *bytes.Buffer) logEntry {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var e logEntry
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &e) != nil {
		t.Fatalf("log = %q, want one JSON entry", buf.String())
	}
	return e
}

// TestFailedUndoOfCreateKeysIsReported: when a creation fails after an
// earlier transaction of it stored keys, and deleting one of those keys
// fails too, the error names that key (and wraps both failures); the
// other keys are deleted.
func TestFailedUndoOfCreateKeysIsReported(t *testing.T) {
	ctx := context.Background()
	db, table := ddbtest.NewTable(t)
	creation, deletion := errors.New("creation outage"), errors.New("deletion outage")
	var transactions atomic.Int64
	api := &ddbtest.Intercept{API: db, Before: func(op string, _ any) error {
		if op != "TransactWriteItems" {
			return nil
		}
		// 1: the first 100 keys; 2: the other two; 3: deleting key 1.
		switch transactions.Add(1) {
		case 2:
			return creation
		case 3:
			return deletion
		}
		return nil
	}}
	st := licensestore.New(dynamo.New(api, table))
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var recs []keys.Record
	for i := range 102 {
		recs = append(recs, keys.Record{AccountID: 1, ProductID: 10, ID: int64(i + 1), GlobalID: int64(1000 + i),
			Key: fmt.Sprintf("UNDO%04d", i+1), Created: now, Expires: now})
	}
	err := st.CreateKeys(ctx, recs)
	if !errors.Is(err, creation) || !errors.Is(err, deletion) || !strings.Contains(err.Error(), "undo") ||
		!strings.Contains(err.Error(), "key id 1 (global id 1000) of product 10") || strings.Contains(err.Error(), "key id 2 ") {
		t.Fatalf("CreateKeys = %v, want both failures and the one key left (id 1 of product 10)", err)
	}
	for _, r := range recs {
		_, err := st.GetKey(ctx, 10, r.Key, true)
		if left := err == nil; left != (r.ID == 1) {
			t.Errorf("key id %d left after the undo: %v (GetKey: %v), want %v", r.ID, left, err, r.ID == 1)
		}
	}
}

// TestFailedUndoIsNotAConflict: a creation that conflicts is retried by
// the caller unless its undo failed (its keys may still be there).
func TestFailedUndoIsNotAConflict(t *testing.T) {
	ctx := context.Background()
	r := newKeyRig(t)
	r.create(t, "TAKEN", func(rec *keys.Record) { rec.ID, rec.GlobalID = 50, 5000 })
	var transactions atomic.Int64
	api := &ddbtest.Intercept{API: r.db, Before: func(op string, _ any) error {
		// 1: keys 1..100; 2: key 101 (conflicts with TAKEN); 3: deleting key 1.
		if op == "TransactWriteItems" && transactions.Add(1) == 3 {
			return errors.New("deletion outage")
		}
		return nil
	}}
	st := licensestore.New(dynamo.New(api, r.table))
	var recs []keys.Record
	for i := range 101 {
		recs = append(recs, keys.Record{AccountID: 1, ProductID: 10, ID: int64(i + 1), GlobalID: int64(1000 + i),
			Key: fmt.Sprintf("CONF%04d", i+1), Created: r.clock.Now(), Expires: r.clock.Now()})
	}
	recs[100].Key = "TAKEN"
	if err := st.CreateKeys(ctx, recs); err == nil || errors.Is(err, apierr.Conflict) || !strings.Contains(err.Error(), "undo") {
		t.Errorf("CreateKeys = %v, want an undo error that is not apierr.Conflict", err)
	}
	// Without the deletion outage the same conflict is a plain Conflict.
	transactions.Store(-100)
	for i := range recs[:100] {
		recs[i].Key += "X"
	}
	if err := st.CreateKeys(ctx, recs); err != apierr.Conflict {
		t.Errorf("CreateKeys = %v, want apierr.Conflict", err)
	}
}

// TestFailedIDReleaseIsReturned: when Create fails and recording its
// reserved ids as unused fails too, the error carries both, naming the
// ids and the product.
func TestFailedIDReleaseIsReturned(t *testing.T) {
	ctx := context.Background()
	r := newKeyRig(t)
	outage := errors.New("write outage")
	// Once the keys' transaction is tried, it and every put fail (the ids
	// are reserved by then).
	var failing atomic.Bool
	api := &ddbtest.Intercept{API: r.db, Before: func(op string, _ any) error {
		if op == "TransactWriteItems" {
			failing.Store(true)
		}
		if failing.Load() && (op == "TransactWriteItems" || op == "PutItem") {
			return outage
		}
		return nil
	}}
	n := 0
	svc := keys.NewService(licensestore.New(dynamo.New(api, r.table)), r.clock.Now).WithKeyGenerator(func() (string, error) {
		n++
		return fmt.Sprintf("REL%04d", n), nil
	})
	_, err := svc.Create(ctx, 1, 10, keys.Spec{Period: 10}, 3)
	if !errors.Is(err, outage) || !strings.Contains(err.Error(), "undo: record key ids 1..3 of product 10 as unused") {
		t.Errorf("Create = %v, want the creation's error and the failed undo of ids 1..3 of product 10", err)
	}
}

// TestFailedTrialCleanupIsLogged: when two trials race for one machine,
// the loser's key is deleted; if that delete fails, the answer is still
// the winner's trial and the key left behind is logged.
func TestFailedTrialCleanupIsLogged(t *testing.T) {
	ctx := context.Background()
	r := newKeyRig(t)
	product := catalog.Product{ID: 10, AccountID: 1, Features: catalog.DefaultFeatureDefinitions()}
	product.Features.Features[0].Type = catalog.FeatureTrial
	n := 0
	gen := func() (string, error) {
		n++
		return fmt.Sprintf("TRIAL%04d", n), nil
	}
	in := keys.TrialInput{AccountID: 1, Product: product, MachineCode: "m1", Days: 15}
	winner, err := keys.NewService(r.st, r.clock.Now).WithKeyGenerator(gen).CreateTrial(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	// The second call does not see the winner's trial at first (it
	// started before the winner recorded it) and cannot delete its own key.
	var reads atomic.Int64
	h := &hookStore{Store: r.st,
		trialKeyFor: func(ctx context.Context, productID int64, mid string) (string, error) {
			if reads.Add(1) == 1 {
				return "", apierr.NotFound
			}
			return r.st.TrialKeyFor(ctx, productID, mid)
		},
		deleteKey: func(context.Context, int64, string) error { return errors.New("delete outage") },
	}
	var logs bytes.Buffer
	got, err := keys.NewService(h, r.clock.Now).WithKeyGenerator(gen).WithLogger(logTo(&logs)).CreateTrial(ctx, in)
	if err != nil || got.Key != winner.Key {
		t.Fatalf("losing CreateTrial = %s, %v; want the winner's %s", got.Key, err, winner.Key)
	}
	e := onlyEntry(t, &logs)
	if e.Level != "ERROR" || e.AccountID != 1 || e.ProductID != 10 || e.KeyID != winner.ID+1 || e.Error != "delete outage" {
		t.Errorf("log entry = %+v, want an ERROR naming account 1, product 10, key id %d and the store's error", e, winner.ID+1)
	}
	if _, err := r.st.GetKey(ctx, 10, "TRIAL0002", true); err != nil {
		t.Errorf("the logged key: %v, want it still stored", err)
	}
}

// TestFailedDuplicateRemovalIsLogged: an activation that finds a machine
// on two slots removes the duplicate; when that fails, the activation
// still succeeds and the failure is logged.
func TestFailedDuplicateRemovalIsLogged(t *testing.T) {
	ctx := context.Background()
	r := newKeyRig(t)
	r.create(t, "DUPKEY", func(rec *keys.Record) { rec.MaxNoOfMachines = 3 })
	h := &hookStore{Store: r.st,
		getKey: func(ctx context.Context, productID int64, key string, consistent bool) (keys.Record, error) {
			rec, err := r.st.GetKey(ctx, productID, key, consistent)
			rec.DuplicateNodes = map[string][]keys.Machine{"m0": {{Slot: 2, Time: r.clock.Now()}}}
			return rec, err
		},
		removeNode: func(context.Context, int64, string, string, keys.Machine, string, *keys.Machine) error {
			return errors.New("remove outage")
		},
	}
	var logs bytes.Buffer
	svc := keys.NewService(h, r.clock.Now).WithLogger(logTo(&logs))
	if _, err := svc.Activate(ctx, keys.ActivateInput{AccountID: 1, ProductID: 10, Key: "DUPKEY", MachineCode: "m1"}); err != nil {
		t.Fatalf("Activate: %v", err)
	}
	e := onlyEntry(t, &logs)
	if e.Level != "WARN" || e.ProductID != 10 || e.KeyID != 1 || e.MachineCode != "m0" || e.Error != "remove outage" {
		t.Errorf("log entry = %+v, want a WARN naming product 10, key id 1, machine m0 and the store's error", e)
	}
}
