package datastore_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/dataobj"
	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/dynamo"
	"github.com/keyturn/keyturn/shared/dynamo/stores"
	"github.com/keyturn/keyturn/shared/keys"
)

type doRig struct {
	db    *dynamodb.Client
	table string
	trips *ddbtest.Counter
	st    *stores.Stores
	key   keys.Record
}

const doAccount = 11

func newDORig(t *testing.T) *doRig {
	db, table := ddbtest.NewTable(t)
	r := &doRig{db: db, table: table, trips: ddbtest.NewCounter(db)}
	r.st = stores.New(r.trips, table)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	r.key = keys.Record{AccountID: doAccount, ProductID: 70, ID: 3, GlobalID: 900, Key: "AAAAA-BBBBB-CCCCC-DDDDD", Created: now, Expires: now}
	if err := r.st.Licenses.CreateKeys(context.Background(), []keys.Record{r.key}); err != nil {
		t.Fatal(err)
	}
	r.trips.Summary()
	return r
}

func (r *doRig) keyRef() dataobj.Ref {
	return dataobj.Ref{Type: dataobj.Key, ID: r.key.GlobalID, ProductID: r.key.ProductID, KeyID: r.key.ID, Key: r.key.Key}
}

func (r *doRig) machineRef(mid string) dataobj.Ref {
	ref := r.keyRef()
	ref.Type, ref.MachineCode = dataobj.MachineCode, mid
	return ref
}

func (r *doRig) create(t *testing.T, ref dataobj.Ref, name string, iv int32, opts dataobj.CreateOptions) dataobj.Object {
	t.Helper()
	if opts.Limit == 0 {
		opts.Limit = dataobj.MaxPerReferencer
	}
	o, err := r.st.Data.CreateObject(context.Background(), dataobj.Object{AccountID: doAccount, Name: name, StringValue: "s:" + name, IntValue: iv, Ref: ref}, opts)
	if err != nil {
		t.Fatalf("CreateObject(%s): %v", name, err)
	}
	return o
}

func (r *doRig) keyCount(t *testing.T) int64 {
	t.Helper()
	rec, err := r.st.Licenses.GetKey(context.Background(), r.key.ProductID, r.key.Key, true)
	if err != nil {
		t.Fatal(err)
	}
	return rec.DataObjectCount
}

// counter reads the attribute n of a counter item (-1 when absent).
func (r *doRig) counter(t *testing.T, pk, sk string) int64 {
	t.Helper()
	out, err := r.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(r.table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Item == nil {
		return -1
	}
	var n int64
	_, _ = fmt.Sscan(out.Item["n"].(*types.AttributeValueMemberN).Value, &n)
	return n
}

func ids(objs []dataobj.Object) []int64 {
	out := []int64{}
	for _, o := range objs {
		out = append(out, o.ID)
	}
	return out
}

func TestDataObjectLifecycle(t *testing.T) {
	ctx := context.Background()
	r := newDORig(t)
	user := dataobj.Ref{Type: dataobj.User, ID: doAccount}
	product := dataobj.Ref{Type: dataobj.Product, ID: 70}
	u := r.create(t, user, "cust", 1, dataobj.CreateOptions{})
	if got := r.trips.Summary(); got != "get=0 put=0 update=1 delete=0 query=0 transact=1 batch=0" {
		t.Errorf("CreateObject round trips: %s; want the id counter and one transaction", got)
	}
	p := r.create(t, product, "", 2, dataobj.CreateOptions{})
	k1 := r.create(t, r.keyRef(), "uses", 3, dataobj.CreateOptions{})
	k2 := r.create(t, r.keyRef(), "uses", 4, dataobj.CreateOptions{})
	m := r.create(t, r.machineRef("m#1"), "uses", 5, dataobj.CreateOptions{})
	if !(u.ID < p.ID && p.ID < k1.ID && k1.ID < k2.ID && k2.ID < m.ID) {
		t.Fatalf("ids not increasing: %d %d %d %d %d", u.ID, p.ID, k1.ID, k2.ID, m.ID)
	}
	if got := r.keyCount(t); got != 2 {
		t.Errorf("key dataObjectCount = %d, want 2 (machine objects are counted apart)", got)
	}
	r.trips.Summary()

	kobjs, err := r.st.Data.KeyDataObjects(ctx, doAccount, r.key.GlobalID)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.trips.Summary(); got != "get=0 put=0 update=0 delete=0 query=1 transact=0 batch=0" {
		t.Errorf("KeyDataObjects round trips: %s; want one Query", got)
	}
	if fmt.Sprint(ids(kobjs)) != fmt.Sprint([]int64{k1.ID, k2.ID}) || kobjs[0] != k1 || kobjs[1].StringValue != "s:uses" || kobjs[1].IntValue != 4 {
		t.Errorf("KeyDataObjects = %+v, want %+v and %+v", kobjs, k1, k2)
	}
	if other, _ := r.st.Data.KeyDataObjects(ctx, doAccount+1, r.key.GlobalID); len(other) != 0 {
		t.Errorf("another account sees the key's objects: %+v", other)
	}
	if pobjs, err := r.st.Data.ProductDataObjects(ctx, doAccount, 70); err != nil || len(pobjs) != 1 || pobjs[0] != p {
		t.Errorf("ProductDataObjects = %+v, %v; want [%+v]", pobjs, err, p)
	}
	if mobjs, err := r.st.Data.ListObjects(ctx, doAccount, r.machineRef("m#1")); err != nil || len(mobjs) != 1 || mobjs[0] != m {
		t.Errorf("machine objects = %+v, %v; want [%+v]", mobjs, err, m)
	}
	all, err := r.st.Data.ListAccountObjects(ctx, doAccount)
	if err != nil || fmt.Sprint(ids(all)) != fmt.Sprint([]int64{u.ID, p.ID, k1.ID, k2.ID, m.ID}) {
		t.Errorf("ListAccountObjects = %v, %v", ids(all), err)
	}
	r.trips.Summary()

	h, err := r.st.Data.Locate(ctx, doAccount, m.ID)
	if err != nil || h != m.Handle() {
		t.Errorf("Locate = %+v, %v; want %+v", h, err, m.Handle())
	}
	if got := r.trips.Summary(); got != "get=1 put=0 update=0 delete=0 query=0 transact=0 batch=0" {
		t.Errorf("Locate round trips: %s", got)
	}
	if _, err := r.st.Data.Locate(ctx, doAccount+1, m.ID); !errors.Is(err, apierr.NotFound) {
		t.Errorf("Locate from another account = %v, want NotFound", err)
	}
	if o, err := r.st.Data.FindByName(ctx, doAccount, r.keyRef(), "uses"); err != nil || o.ID != k1.ID {
		t.Errorf("FindByName = %+v, %v; want the lowest id %d", o, err, k1.ID)
	}
	if _, err := r.st.Data.FindByName(ctx, doAccount, r.keyRef(), "nope"); !errors.Is(err, apierr.NotFound) {
		t.Errorf("FindByName(nope) = %v", err)
	}
	r.trips.Summary()

	o, err := r.st.Data.AddInt(ctx, k1.Handle(), dataobj.IncrementDelta(5, true, 8))
	if err != nil || o.IntValue != 8 {
		t.Errorf("AddInt = %+v, %v; want 8", o, err)
	}
	if got := r.trips.Summary(); got != "get=0 put=0 update=1 delete=0 query=0 transact=0 batch=0" {
		t.Errorf("AddInt round trips: %s; want one UpdateItem", got)
	}
	if _, err := r.st.Data.AddInt(ctx, k1.Handle(), dataobj.IncrementDelta(1, true, 8)); !errors.Is(err, apierr.Conflict) {
		t.Errorf("AddInt past the bound = %v, want Conflict", err)
	}
	if got := r.trips.Summary(); got != "get=0 put=0 update=1 delete=0 query=0 transact=0 batch=0" {
		t.Errorf("refused AddInt round trips: %s; want one UpdateItem, no re-read", got)
	}
	missing := k1.Handle()
	missing.ID = 999999
	if _, err := r.st.Data.AddInt(ctx, missing, dataobj.IncrementDelta(1, false, 0)); !errors.Is(err, apierr.NotFound) {
		t.Errorf("AddInt(missing) = %v, want NotFound", err)
	}
	if _, err := r.st.Data.SetInt(ctx, k1.Handle(), 5, 100, 200); !errors.Is(err, apierr.Conflict) {
		t.Errorf("SetInt with the stored value outside [100, 200] = %v, want Conflict", err)
	}
	if o, err := r.st.Data.SetInt(ctx, k1.Handle(), math.MinInt32, math.MinInt32, math.MaxInt32); err != nil || o.IntValue != math.MinInt32 {
		t.Errorf("SetInt = %+v, %v", o, err)
	}
	if _, err := r.st.Data.AddInt(ctx, k1.Handle(), dataobj.DecrementDelta(1, false, 0)); !errors.Is(err, apierr.Conflict) {
		t.Errorf("AddInt below int32 = %v, want Conflict", err)
	}
	if o, err := r.st.Data.SetString(ctx, k1.Handle(), ""); err != nil || o.StringValue != "" || o.IntValue != math.MinInt32 {
		t.Errorf("SetString = %+v, %v", o, err)
	}
	if _, err := r.st.Data.SetString(ctx, missing, "x"); !errors.Is(err, apierr.NotFound) {
		t.Errorf("SetString(missing) = %v", err)
	}
	if _, err := r.st.Data.SetInt(ctx, missing, 1, math.MinInt32, math.MaxInt32); !errors.Is(err, apierr.NotFound) {
		t.Errorf("SetInt(missing) = %v", err)
	}
	r.trips.Summary()

	// Remove: one transaction, then the name count of "uses" stays (k2
	// still has the name).
	if err := r.st.Data.DeleteObject(ctx, k1.Handle()); err != nil {
		t.Fatal(err)
	}
	if got := r.trips.Summary(); got != "get=0 put=0 update=0 delete=1 query=0 transact=1 batch=0" {
		t.Errorf("DeleteObject round trips: %s; want one transaction and the name-count clean-up", got)
	}
	if err := r.st.Data.DeleteObject(ctx, k1.Handle()); !errors.Is(err, apierr.NotFound) {
		t.Errorf("second DeleteObject = %v, want NotFound", err)
	}
	if _, err := r.st.Data.Locate(ctx, doAccount, k1.ID); !errors.Is(err, apierr.NotFound) {
		t.Errorf("pointer survives the object: %v", err)
	}
	if got := r.keyCount(t); got != 1 {
		t.Errorf("key dataObjectCount = %d after a remove, want 1", got)
	}
	namePK := fmt.Sprintf("DO#%d#K%d", doAccount, r.key.GlobalID)
	if got := r.counter(t, namePK, "N#uses"); got != 1 {
		t.Errorf("name count = %d, want 1", got)
	}
	if err := r.st.Data.DeleteObject(ctx, k2.Handle()); err != nil {
		t.Fatal(err)
	}
	if got := r.counter(t, namePK, "N#uses"); got != -1 {
		t.Errorf("name count of a name no object has = %d, want the item deleted", got)
	}
	if got := r.keyCount(t); got != 0 {
		t.Errorf("key dataObjectCount = %d, want 0", got)
	}
	if err := r.st.Data.DeleteObject(ctx, u.Handle()); err != nil {
		t.Fatal(err)
	}
	if got := r.counter(t, fmt.Sprintf("DO#%d#U", doAccount), "C"); got != 0 {
		t.Errorf("user object count = %d, want 0", got)
	}
	if left, err := r.st.Data.ListAccountObjects(ctx, doAccount); err != nil || fmt.Sprint(ids(left)) != fmt.Sprint([]int64{p.ID, m.ID}) {
		t.Errorf("objects left = %v, %v", ids(left), err)
	}
}

func TestDataObjectLimitAndUniqueness(t *testing.T) {
	ctx := context.Background()
	r := newDORig(t)
	refs := []struct {
		name string
		ref  dataobj.Ref
	}{
		{"user", dataobj.Ref{Type: dataobj.User, ID: doAccount}}, {"product", dataobj.Ref{Type: dataobj.Product, ID: 70}},
		{"key", r.keyRef()}, {"machine", r.machineRef("m")},
	}
	for _, tt := range refs {
		ref := tt.ref
		t.Run(tt.name, func(t *testing.T) {
			opts := dataobj.CreateOptions{Limit: 2}
			a := r.create(t, ref, "a", 0, opts)
			r.create(t, ref, "", 0, opts)
			_, err := r.st.Data.CreateObject(ctx, dataobj.Object{AccountID: doAccount, Name: "c", Ref: ref}, opts)
			if !errors.Is(err, dataobj.ErrLimit) {
				t.Fatalf("third object with limit 2: %v, want ErrLimit", err)
			}
			if err := r.st.Data.DeleteObject(ctx, a.Handle()); err != nil {
				t.Fatal(err)
			}
			r.create(t, ref, "a", 0, dataobj.CreateOptions{Limit: 2, Unique: true})
			_, err = r.st.Data.CreateObject(ctx, dataobj.Object{AccountID: doAccount, Name: "a", Ref: ref}, dataobj.CreateOptions{Limit: 5, Unique: true})
			if !errors.Is(err, dataobj.ErrDuplicateName) {
				t.Errorf("unique add of an existing name: %v, want ErrDuplicateName", err)
			}
			// A duplicate without the check is allowed, and a unique add
			// still sees it.
			dup := r.create(t, ref, "b", 0, dataobj.CreateOptions{Limit: 5})
			r.create(t, ref, "b", 0, dataobj.CreateOptions{Limit: 5})
			_, err = r.st.Data.CreateObject(ctx, dataobj.Object{AccountID: doAccount, Name: "b", Ref: ref}, dataobj.CreateOptions{Limit: 5, Unique: true})
			if !errors.Is(err, dataobj.ErrDuplicateName) {
				t.Errorf("unique add of a name two objects have: %v, want ErrDuplicateName", err)
			}
			if err := r.st.Data.DeleteObject(ctx, dup.Handle()); err != nil {
				t.Fatal(err)
			}
			if _, err = r.st.Data.CreateObject(ctx, dataobj.Object{AccountID: doAccount, Name: "b", Ref: ref}, dataobj.CreateOptions{Limit: 5, Unique: true}); !errors.Is(err, dataobj.ErrDuplicateName) {
				t.Errorf("unique add of a name one object still has: %v, want ErrDuplicateName", err)
			}
		})
	}
	// A key that does not exist (or is another account's) cannot get
	// objects.
	gone := r.keyRef()
	gone.Key = "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ"
	if _, err := r.st.Data.CreateObject(ctx, dataobj.Object{AccountID: doAccount, Ref: gone}, dataobj.CreateOptions{Limit: 5}); !errors.Is(err, apierr.NotFound) {
		t.Errorf("object on a missing key: %v, want NotFound", err)
	}
	if _, err := r.st.Data.CreateObject(ctx, dataobj.Object{AccountID: doAccount + 1, Ref: r.keyRef()}, dataobj.CreateOptions{Limit: 500}); !errors.Is(err, apierr.NotFound) {
		t.Errorf("object on another account's key: %v, want NotFound", err)
	}
	if rec, err := r.st.Licenses.GetKey(ctx, gone.ProductID, gone.Key, true); !errors.Is(err, apierr.NotFound) {
		t.Errorf("a failed add created a key item: %+v, %v", rec, err)
	}
}

// parallel runs fn(i) for i in 0..n-1 at once.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

func TestDataObjectConcurrency(t *testing.T) {
	ctx := context.Background()
	r := newDORig(t)
	t.Run("adds never exceed the limit", func(t *testing.T) {
		const n, limit = 30, 10
		var ok, full atomic.Int64
		parallel(n, func(i int) {
			_, err := r.st.Data.CreateObject(ctx, dataobj.Object{AccountID: doAccount, Name: fmt.Sprint("o", i), Ref: r.keyRef()}, dataobj.CreateOptions{Limit: limit})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, dataobj.ErrLimit):
				full.Add(1)
			default:
				t.Error(err)
			}
		})
		objs, err := r.st.Data.KeyDataObjects(ctx, doAccount, r.key.GlobalID)
		if err != nil {
			t.Fatal(err)
		}
		if ok.Load() != limit || full.Load() != n-limit || len(objs) != limit || r.keyCount(t) != limit {
			t.Errorf("created %d, refused %d, stored %d, count %d; want %d, %d, %d, %d", ok.Load(), full.Load(), len(objs), r.keyCount(t), limit, n-limit, limit, limit)
		}
	})
	t.Run("unique adds of one name create one object", func(t *testing.T) {
		const n = 20
		ref := dataobj.Ref{Type: dataobj.Product, ID: 70}
		var ok, dup atomic.Int64
		parallel(n, func(i int) {
			_, err := r.st.Data.CreateObject(ctx, dataobj.Object{AccountID: doAccount, Name: "only", Ref: ref}, dataobj.CreateOptions{Limit: 100, Unique: true})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, dataobj.ErrDuplicateName):
				dup.Add(1)
			default:
				t.Error(err)
			}
		})
		objs, _ := r.st.Data.ListObjects(ctx, doAccount, ref)
		if ok.Load() != 1 || dup.Load() != n-1 || len(objs) != 1 {
			t.Errorf("created %d, duplicates %d, stored %d; want 1, %d, 1", ok.Load(), dup.Load(), len(objs), n-1)
		}
		if got := r.counter(t, fmt.Sprintf("DO#%d#P70", doAccount), "C"); got != 1 {
			t.Errorf("product object count = %d, want 1", got)
		}
	})
	t.Run("bounded increments stop at the bound", func(t *testing.T) {
		const n, bound = 40, 25
		o := r.create(t, dataobj.Ref{Type: dataobj.User, ID: doAccount}, "counter", 3, dataobj.CreateOptions{})
		var ok, refused atomic.Int64
		parallel(n, func(int) {
			_, err := r.st.Data.AddInt(ctx, o.Handle(), dataobj.IncrementDelta(1, true, bound))
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, apierr.Conflict):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
		got, err := r.st.Data.GetObject(ctx, doAccount, o.Ref, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.IntValue != bound || ok.Load() != bound-3 || refused.Load() != n-(bound-3) {
			t.Errorf("value %d after %d increments and %d refusals; want %d, %d, %d", got.IntValue, ok.Load(), refused.Load(), bound, bound-3, n-(bound-3))
		}
	})
	t.Run("adds and removes keep the count exact", func(t *testing.T) {
		ref := r.machineRef("busy")
		var made []dataobj.Object
		for i := 0; i < 10; i++ {
			made = append(made, r.create(t, ref, "x", 0, dataobj.CreateOptions{}))
		}
		parallel(20, func(i int) {
			var err error
			if i < 10 {
				err = r.st.Data.DeleteObject(ctx, made[i].Handle())
			} else {
				_, err = r.st.Data.CreateObject(ctx, dataobj.Object{AccountID: doAccount, Name: "x", Ref: ref}, dataobj.CreateOptions{Limit: 100})
			}
			if err != nil {
				t.Error(err)
			}
		})
		objs, _ := r.st.Data.ListObjects(ctx, doAccount, ref)
		pk := fmt.Sprintf("DO#%d#M%d#busy", doAccount, r.key.GlobalID)
		if len(objs) != 10 || r.counter(t, pk, "C") != 10 || r.counter(t, pk, "N#x") != 10 {
			t.Errorf("stored %d, count %d, name count %d; want 10 each", len(objs), r.counter(t, pk, "C"), r.counter(t, pk, "N#x"))
		}
	})
}

// conflictDB fails the first writes of data objects with transaction
// conflicts, as DynamoDB does when writes race a transaction on the same
// item (DynamoDB Local serializes transactions and never does): the next
// transactConflicts transactions and updateConflicts counter updates.
func conflictDB(db dynamo.API) (api *ddbtest.Intercept, transactConflicts, updateConflicts *atomic.Int64) {
	transactConflicts, updateConflicts = new(atomic.Int64), new(atomic.Int64)
	api = &ddbtest.Intercept{API: db, Before: func(op string, in any) error {
		switch in := in.(type) {
		case *dynamodb.TransactWriteItemsInput:
			if transactConflicts.Add(-1) >= 0 {
				reasons := make([]types.CancellationReason, len(in.TransactItems))
				for i := range reasons {
					reasons[i].Code = aws.String("None")
				}
				reasons[len(reasons)-1].Code = aws.String("TransactionConflict")
				return &types.TransactionCanceledException{Message: aws.String("conflict"), CancellationReasons: reasons}
			}
		case *dynamodb.UpdateItemInput:
			if _, counter := in.ExpressionAttributeNames["#iv"]; counter && updateConflicts.Add(-1) >= 0 {
				return &types.TransactionConflictException{Message: aws.String("conflict")}
			}
		}
		return nil
	}}
	return api, transactConflicts, updateConflicts
}

func TestDataObjectRetriesTransactionConflicts(t *testing.T) {
	ctx := context.Background()
	db, table := ddbtest.NewTable(t)
	c, transactConflicts, updateConflicts := conflictDB(db)
	st := stores.New(c, table)
	ref := dataobj.Ref{Type: dataobj.User, ID: doAccount}
	transactConflicts.Store(3)
	o, err := st.Data.CreateObject(ctx, dataobj.Object{AccountID: doAccount, Name: "n", Ref: ref}, dataobj.CreateOptions{Limit: 1, Unique: true})
	if err != nil {
		t.Fatalf("CreateObject after 3 conflicts: %v", err)
	}
	transactConflicts.Store(2)
	if _, err := st.Data.CreateObject(ctx, dataobj.Object{AccountID: doAccount, Ref: ref}, dataobj.CreateOptions{Limit: 1}); !errors.Is(err, dataobj.ErrLimit) {
		t.Errorf("CreateObject over the limit after conflicts: %v, want ErrLimit", err)
	}
	updateConflicts.Store(3)
	if got, err := st.Data.AddInt(ctx, o.Handle(), dataobj.IncrementDelta(2, false, 0)); err != nil || got.IntValue != 2 {
		t.Errorf("AddInt after 3 conflicts = %+v, %v", got, err)
	}
	transactConflicts.Store(2)
	if err := st.Data.DeleteObject(ctx, o.Handle()); err != nil {
		t.Errorf("DeleteObject after conflicts: %v", err)
	}
	if objs, _ := st.Data.ListObjects(ctx, doAccount, ref); len(objs) != 0 {
		t.Errorf("objects left: %+v", objs)
	}
	// A conflict that never ends is reported, not retried forever.
	updateConflicts.Store(1 << 30)
	var tce *types.TransactionConflictException
	if _, err := st.Data.SetInt(ctx, o.Handle(), 1, math.MinInt32, math.MaxInt32); !errors.As(err, &tce) {
		t.Errorf("endless conflicts: %v, want the conflict error", err)
	}
}
