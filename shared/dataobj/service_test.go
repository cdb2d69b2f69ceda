package dataobj_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/dataobj"
	"github.com/keyturn/keyturn/shared/handlers/data"
	"github.com/keyturn/keyturn/shared/keys"
)

// fakeStore is a hand-written dataobj.Store; a nil function field fails
// the test when called.
type fakeStore struct {
	t          *testing.T
	create     func(dataobj.Object, dataobj.CreateOptions) (dataobj.Object, error)
	locate     func(accountID, id int64) (dataobj.Handle, error)
	get        func(dataobj.Ref, int64) (dataobj.Object, error)
	findByName func(dataobj.Ref, string) (dataobj.Object, error)
	list       func(dataobj.Ref) ([]dataobj.Object, error)
	listAll    func() ([]dataobj.Object, error)
	addInt     func(dataobj.Handle, dataobj.Delta) (dataobj.Object, error)
	setInt     func(dataobj.Handle, int32) (dataobj.Object, error)
	setString  func(dataobj.Handle, string) (dataobj.Object, error)
	del        func(dataobj.Handle) error
}

func (f *fakeStore) missing(name string) {
	f.t.Helper()
	f.t.Fatalf("unexpected store call %s", name)
}

func (f *fakeStore) CreateObject(_ context.Context, o dataobj.Object, opts dataobj.CreateOptions) (dataobj.Object, error) {
	if f.create == nil {
		f.missing("CreateObject")
	}
	return f.create(o, opts)
}
func (f *fakeStore) Locate(_ context.Context, accountID, id int64) (dataobj.Handle, error) {
	if f.locate == nil {
		f.missing("Locate")
	}
	return f.locate(accountID, id)
}
func (f *fakeStore) GetObject(_ context.Context, _ int64, r dataobj.Ref, id int64) (dataobj.Object, error) {
	if f.get == nil {
		f.missing("GetObject")
	}
	return f.get(r, id)
}
func (f *fakeStore) FindByName(_ context.Context, _ int64, r dataobj.Ref, name string) (dataobj.Object, error) {
	if f.findByName == nil {
		f.missing("FindByName")
	}
	return f.findByName(r, name)
}
func (f *fakeStore) ListObjects(_ context.Context, _ int64, r dataobj.Ref) ([]dataobj.Object, error) {
	if f.list == nil {
		f.missing("ListObjects")
	}
	return f.list(r)
}
func (f *fakeStore) ListAccountObjects(context.Context, int64) ([]dataobj.Object, error) {
	if f.listAll == nil {
		f.missing("ListAccountObjects")
	}
	return f.listAll()
}
func (f *fakeStore) AddInt(_ context.Context, h dataobj.Handle, d dataobj.Delta) (dataobj.Object, error) {
	if f.addInt == nil {
		f.missing("AddInt")
	}
	return f.addInt(h, d)
}
func (f *fakeStore) SetInt(_ context.Context, h dataobj.Handle, v int32, min, max int64) (dataobj.Object, error) {
	if f.setInt == nil {
		f.missing("SetInt")
	}
	if min != math.MinInt32 || max != math.MaxInt32 {
		f.t.Errorf("SetInt condition [%d, %d] without a feature lock, want the int32 range", min, max)
	}
	return f.setInt(h, v)
}
func (f *fakeStore) SetString(_ context.Context, h dataobj.Handle, v string) (dataobj.Object, error) {
	if f.setString == nil {
		f.missing("SetString")
	}
	return f.setString(h, v)
}
func (f *fakeStore) DeleteObject(_ context.Context, h dataobj.Handle) error {
	if f.del == nil {
		f.missing("DeleteObject")
	}
	return f.del(h)
}

// fakeKeys serves keys from a map by product/key and by global id.
type fakeKeys map[string]keys.Record

func (k fakeKeys) GetKey(_ context.Context, productID int64, key string, _ bool) (keys.Record, error) {
	for _, r := range k {
		if r.ProductID == productID && r.Key == key {
			return r, nil
		}
	}
	return keys.Record{}, apierr.NotFound
}

func (k fakeKeys) KeyByGlobalID(_ context.Context, globalID int64) (keys.Record, error) {
	for _, r := range k {
		if r.GlobalID == globalID {
			return r, nil
		}
	}
	return keys.Record{}, apierr.NotFound
}

type fakeProducts map[[2]int64]bool

func (p fakeProducts) GetProduct(_ context.Context, accountID, productID int64) (catalog.Product, error) {
	if p[[2]int64{accountID, productID}] {
		return catalog.Product{ID: productID, AccountID: accountID}, nil
	}
	return catalog.Product{}, apierr.NotFound
}

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

const acct = 1

func rig(t *testing.T) (*fakeStore, *dataobj.Service) {
	st := &fakeStore{t: t}
	ks := fakeKeys{
		"k": {AccountID: acct, ProductID: 7, ID: 3, GlobalID: 900, Key: "KEY-A", Nodes: map[string]keys.Machine{"node": {}},
			Seats: []keys.Seat{{Mid: "live", Expires: now.Add(time.Minute), Slot: 0}, {Mid: "gone", Expires: now, Slot: 1}}},
		"other": {AccountID: 2, ProductID: 8, ID: 1, GlobalID: 901, Key: "KEY-B"},
	}
	ps := fakeProducts{{acct, 7}: true, {acct, 9}: true, {2, 8}: true}
	return st, dataobj.NewService(st, ks, ps, func() time.Time { return now })
}

// principal is the domain's view of a caller with scope, as the handler
// layer builds it.
func principal(s auth.Scope) dataobj.Caller {
	return data.Caller(auth.Principal{AccountID: acct, Scope: s})
}

func TestAddResolvesReferencers(t *testing.T) {
	keyRef := dataobj.Ref{Type: dataobj.Key, ID: 900, ProductID: 7, KeyID: 3, Key: "KEY-A"}
	tests := []struct {
		name    string
		scope   auth.Scope
		where   dataobj.Where
		in      dataobj.NewObject
		wantRef dataobj.Ref
		wantErr error
	}{
		{"user", auth.Scope{}, dataobj.Where{RefType: dataobj.User}, dataobj.NewObject{Name: "n"}, dataobj.Ref{Type: dataobj.User, ID: acct}, nil},
		{"user with a product lock", auth.Scope{ProductLock: 7}, dataobj.Where{RefType: dataobj.User}, dataobj.NewObject{}, dataobj.Ref{}, apierr.DataNotEnoughPermission},
		{"product", auth.Scope{ProductLock: 7}, dataobj.Where{RefType: dataobj.Product, RefID: 7}, dataobj.NewObject{}, dataobj.Ref{Type: dataobj.Product, ID: 7}, nil},
		{"missing product", auth.Scope{}, dataobj.Where{RefType: dataobj.Product, RefID: 5}, dataobj.NewObject{}, dataobj.Ref{}, apierr.DataProductNotFound},
		{"another account's product", auth.Scope{}, dataobj.Where{RefType: dataobj.Product, RefID: 8}, dataobj.NewObject{}, dataobj.Ref{}, apierr.DataProductNotFound},
		{"product zero", auth.Scope{}, dataobj.Where{RefType: dataobj.Product}, dataobj.NewObject{}, dataobj.Ref{}, apierr.DataProductNotFound},
		{"key by global id", auth.Scope{ProductLock: 7, KeyLock: 3}, dataobj.Where{RefType: dataobj.Key, RefID: 900}, dataobj.NewObject{}, keyRef, nil},
		{"key by global id, key lock without product lock", auth.Scope{KeyLock: 3}, dataobj.Where{RefType: dataobj.Key, RefID: 900}, dataobj.NewObject{}, dataobj.Ref{}, apierr.DataKeyNotFound},
		{"key of another account", auth.Scope{}, dataobj.Where{RefType: dataobj.Key, RefID: 901}, dataobj.NewObject{}, dataobj.Ref{}, apierr.DataKeyNotFound},
		{"missing key", auth.Scope{}, dataobj.Where{RefType: dataobj.Key, RefID: 5}, dataobj.NewObject{}, dataobj.Ref{}, apierr.DataKeyNotFound},
		{"key zero", auth.Scope{}, dataobj.Where{RefType: dataobj.Key}, dataobj.NewObject{}, dataobj.Ref{}, apierr.DataKeyNotFound},
		{"bad referencer type", auth.Scope{}, dataobj.Where{RefType: 7}, dataobj.NewObject{}, dataobj.Ref{}, apierr.DataReferencerType},
		{"to key", auth.Scope{KeyLock: -1}, dataobj.Where{Variant: dataobj.ToKey, ProductID: 7, Key: " KEY-A "}, dataobj.NewObject{}, keyRef, nil},
		{"to key with a positive key lock", auth.Scope{KeyLock: 3}, dataobj.Where{Variant: dataobj.ToKey, ProductID: 7, Key: "KEY-A"}, dataobj.NewObject{}, dataobj.Ref{}, apierr.DataNotEnoughPermission},
		{"to key, other product lock", auth.Scope{ProductLock: 9}, dataobj.Where{Variant: dataobj.ToKey, ProductID: 7, Key: "KEY-A"}, dataobj.NewObject{}, dataobj.Ref{}, apierr.DataProductNotFound},
		{"to key, missing product", auth.Scope{}, dataobj.Where{Variant: dataobj.ToKey, ProductID: 5, Key: "KEY-A"}, dataobj.NewObject{}, dataobj.Ref{}, apierr.DataProductNotFound},
		{"to key, missing key", auth.Scope{}, dataobj.Where{Variant: dataobj.ToKey, ProductID: 9, Key: "KEY-A"}, dataobj.NewObject{}, dataobj.Ref{}, apierr.DataKeyNotFound},
		{"to key, another account's key", auth.Scope{}, dataobj.Where{Variant: dataobj.ToKey, ProductID: 8, Key: "KEY-B"}, dataobj.NewObject{}, dataobj.Ref{}, apierr.DataProductNotFound},
		{"to key without product", auth.Scope{}, dataobj.Where{Variant: dataobj.ToKey, Key: "KEY-A"}, dataobj.NewObject{}, dataobj.Ref{}, apierr.BadInput},
		{"to key without key", auth.Scope{}, dataobj.Where{Variant: dataobj.ToKey, ProductID: 7, Key: " "}, dataobj.NewObject{}, dataobj.Ref{}, apierr.BadInput},
		{"to node-locked machine", auth.Scope{}, dataobj.Where{Variant: dataobj.ToMachineCode, ProductID: 7, Key: "KEY-A", MachineCode: "node"}, dataobj.NewObject{Name: "0123456789"},
			dataobj.Ref{Type: dataobj.MachineCode, ID: 900, ProductID: 7, KeyID: 3, Key: "KEY-A", MachineCode: "node"}, nil},
		{"to live floating machine", auth.Scope{}, dataobj.Where{Variant: dataobj.ToMachineCode, ProductID: 7, Key: "KEY-A", MachineCode: "live"}, dataobj.NewObject{},
			dataobj.Ref{Type: dataobj.MachineCode, ID: 900, ProductID: 7, KeyID: 3, Key: "KEY-A", MachineCode: "live"}, nil},
		{"to expired floating machine", auth.Scope{}, dataobj.Where{Variant: dataobj.ToMachineCode, ProductID: 7, Key: "KEY-A", MachineCode: "gone"}, dataobj.NewObject{}, dataobj.Ref{}, apierr.DataMachineNotFound},
		{"to unknown machine", auth.Scope{}, dataobj.Where{Variant: dataobj.ToMachineCode, ProductID: 7, Key: "KEY-A", MachineCode: "x"}, dataobj.NewObject{}, dataobj.Ref{}, apierr.DataMachineNotFound},
		{"to machine without machine code", auth.Scope{}, dataobj.Where{Variant: dataobj.ToMachineCode, ProductID: 7, Key: "KEY-A"}, dataobj.NewObject{}, dataobj.Ref{}, apierr.BadInput},
		{"machine name limit", auth.Scope{}, dataobj.Where{Variant: dataobj.ToMachineCode, ProductID: 7, Key: "KEY-A", MachineCode: "node"}, dataobj.NewObject{Name: "01234567890"}, dataobj.Ref{}, apierr.DataMachineNameTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, svc := rig(t)
			var got dataobj.Object
			st.create = func(o dataobj.Object, opts dataobj.CreateOptions) (dataobj.Object, error) {
				if opts.Limit != dataobj.MaxPerReferencer {
					t.Errorf("limit %d, want %d", opts.Limit, dataobj.MaxPerReferencer)
				}
				got = o
				o.ID = 42
				return o, nil
			}
			o, err := svc.Add(context.Background(), principal(tt.scope), tt.where, tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Add = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || o.ID != 42 {
				t.Fatalf("Add = %+v, %v", o, err)
			}
			if got.Ref != tt.wantRef || got.AccountID != acct || got.Name != tt.in.Name {
				t.Errorf("stored %+v, want ref %+v", got, tt.wantRef)
			}
		})
	}
}

func TestAddTranslatesStoreErrors(t *testing.T) {
	for storeErr, want := range map[error]error{
		dataobj.ErrLimit:         apierr.DataObjectLimit,
		dataobj.ErrDuplicateName: apierr.DataDuplicateName,
		apierr.NotFound:          apierr.DataKeyNotFound,
	} {
		st, svc := rig(t)
		st.create = func(o dataobj.Object, opts dataobj.CreateOptions) (dataobj.Object, error) {
			if !opts.Unique {
				t.Error("CheckForDuplicates not passed on")
			}
			return dataobj.Object{}, storeErr
		}
		_, err := svc.Add(context.Background(), principal(auth.Scope{}), dataobj.Where{}, dataobj.NewObject{Name: "n", CheckForDuplicates: true})
		if !errors.Is(err, want) {
			t.Errorf("store error %v: Add = %v, want %v", storeErr, err, want)
		}
	}
}

func TestChangeIntFindsAndChecks(t *testing.T) {
	keyRef := dataobj.Ref{Type: dataobj.Key, ID: 900, ProductID: 7, KeyID: 3, Key: "KEY-A"}
	userHandle := dataobj.Handle{AccountID: acct, ID: 5, Ref: dataobj.Ref{Type: dataobj.User, ID: acct}}
	keyHandle := dataobj.Handle{AccountID: acct, ID: 6, Name: "uses", Ref: keyRef}
	tests := []struct {
		name       string
		scope      auth.Scope
		which      dataobj.Which
		value      int64
		storeErr   error
		wantHandle dataobj.Handle
		wantErr    error
	}{
		{"general by id", auth.Scope{}, dataobj.Which{ID: 5}, 1, nil, userHandle, nil},
		{"general without id", auth.Scope{}, dataobj.Which{}, 1, nil, dataobj.Handle{}, apierr.BadInput},
		{"general, missing object", auth.Scope{}, dataobj.Which{ID: 99}, 1, nil, dataobj.Handle{}, apierr.DataNotEnoughPermission},
		{"general, user object with product lock", auth.Scope{ProductLock: 7}, dataobj.Which{ID: 5}, 1, nil, dataobj.Handle{}, apierr.DataNotEnoughPermission},
		{"general, key object with its key lock", auth.Scope{ProductLock: 7, KeyLock: 3}, dataobj.Which{ID: 6}, 1, nil, keyHandle, nil},
		{"general, key object with another key lock", auth.Scope{ProductLock: 7, KeyLock: 4}, dataobj.Which{ID: 6}, 1, nil, dataobj.Handle{}, apierr.DataKeyNotFound},
		{"general, key object, its key id in another product", auth.Scope{ProductLock: 9, KeyLock: 3}, dataobj.Which{ID: 6}, 1, nil, dataobj.Handle{}, apierr.DataKeyNotFound},
		{"general, key object, key lock without product lock", auth.Scope{KeyLock: 3}, dataobj.Which{ID: 6}, 1, nil, dataobj.Handle{}, apierr.DataKeyNotFound},
		{"feature lock", auth.Scope{FeatureLock: 1}, dataobj.Which{ID: 5}, -2, nil, dataobj.Handle{}, apierr.DataStepNotAllowed},
		{"feature lock allows its value", auth.Scope{FeatureLock: 2}, dataobj.Which{ID: 5}, -2, nil, userHandle, nil},
		{"to key by id", auth.Scope{}, dataobj.Which{Where: dataobj.Where{Variant: dataobj.ToKey, ProductID: 7, Key: "KEY-A"}, ID: 6}, 1, nil,
			dataobj.Handle{AccountID: acct, ID: 6, Ref: keyRef}, nil},
		{"to key by name", auth.Scope{}, dataobj.Which{Where: dataobj.Where{Variant: dataobj.ToKey, ProductID: 7, Key: "KEY-A"}, Name: "uses"}, 1, nil, keyHandle, nil},
		{"to key by unknown name", auth.Scope{}, dataobj.Which{Where: dataobj.Where{Variant: dataobj.ToKey, ProductID: 7, Key: "KEY-A"}, Name: "nope"}, 1, nil, dataobj.Handle{}, apierr.DataNotEnoughPermission},
		{"to key without id or name", auth.Scope{}, dataobj.Which{Where: dataobj.Where{Variant: dataobj.ToKey, ProductID: 7, Key: "KEY-A"}}, 1, nil, dataobj.Handle{}, apierr.BadInput},
		{"store conflict is the int32 limit", auth.Scope{}, dataobj.Which{ID: 5}, 1, apierr.Conflict, userHandle, apierr.DataInt32Limit},
		{"store not found", auth.Scope{}, dataobj.Which{ID: 5}, 1, apierr.NotFound, userHandle, apierr.DataNotEnoughPermission},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, svc := rig(t)
			st.locate = func(accountID, id int64) (dataobj.Handle, error) {
				switch id {
				case 5:
					return userHandle, nil
				case 6:
					return keyHandle, nil
				}
				return dataobj.Handle{}, apierr.NotFound
			}
			st.findByName = func(r dataobj.Ref, name string) (dataobj.Object, error) {
				if r == keyRef && name == "uses" {
					return dataobj.Object{ID: 6, AccountID: acct, Name: "uses", Ref: keyRef}, nil
				}
				return dataobj.Object{}, apierr.NotFound
			}
			var got dataobj.Handle
			var delta dataobj.Delta
			st.addInt = func(h dataobj.Handle, d dataobj.Delta) (dataobj.Object, error) {
				got, delta = h, d
				return dataobj.Object{}, tt.storeErr
			}
			_, err := svc.Increment(context.Background(), principal(tt.scope), tt.which, tt.value, false, 0)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Increment = %v, want %v", err, tt.wantErr)
				}
				if tt.storeErr == nil && got != (dataobj.Handle{}) {
					t.Errorf("refused call reached the store with %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.wantHandle || delta != dataobj.IncrementDelta(tt.value, false, 0) {
				t.Errorf("AddInt(%+v, %+v), want %+v", got, delta, tt.wantHandle)
			}
		})
	}
}

func TestUploadPermissions(t *testing.T) {
	plus, minus := int64(1), int64(-1)
	up := dataobj.EncodeLog([]dataobj.LogEntry{{IntValue: &plus}, {IntValue: &plus}})
	mixed := dataobj.EncodeLog([]dataobj.LogEntry{{IntValue: &plus}, {IntValue: &minus}})
	big := int64(5)
	large := dataobj.EncodeLog([]dataobj.LogEntry{{IntValue: &big}})
	w := dataobj.Which{Where: dataobj.Where{Variant: dataobj.ToKey, ProductID: 7, Key: "KEY-A"}, ID: 6}
	tests := []struct {
		name    string
		scope   auth.Scope
		data    string
		wantErr error
	}{
		{"no permission", auth.Scope{Methods: []string{"SetIntValue"}}, up, apierr.AccessDenied},
		{"no permission, empty data", auth.Scope{Methods: []string{"SetIntValue"}}, "", apierr.AccessDenied},
		{"increment only", auth.Scope{Methods: []string{"IncrementIntValue"}}, up, nil},
		{"increment only, log with a decrement", auth.Scope{Methods: []string{"IncrementIntValue"}}, mixed, apierr.AccessDenied},
		{"both", auth.Scope{Methods: []string{"IncrementIntValue", "DecrementIntValue"}}, mixed, nil},
		{"decrement only, log with an increment", auth.Scope{Methods: []string{"DecrementIntValue"}}, mixed, apierr.AccessDenied},
		{"upload permission", auth.Scope{Methods: []string{"UploadValuesToKey"}}, mixed, nil},
		{"feature lock", auth.Scope{Methods: []string{"UploadValuesToKey"}, FeatureLock: 4}, large, apierr.DataStepNotAllowed},
		{"empty", auth.Scope{Methods: []string{"UploadValuesToKey"}}, "", apierr.DataEmpty},
		{"corrupted", auth.Scope{Methods: []string{"UploadValuesToKey"}}, "%%%", apierr.DataCorrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, svc := rig(t)
			called := false
			st.addInt = func(h dataobj.Handle, d dataobj.Delta) (dataobj.Object, error) {
				called = true
				return dataobj.Object{}, nil
			}
			_, err := svc.Upload(context.Background(), principal(tt.scope), w, tt.data)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Upload = %v, want %v", err, tt.wantErr)
			}
			if called != (tt.wantErr == nil) {
				t.Errorf("store called = %v", called)
			}
		})
	}
}

func TestListFiltersAndShowAll(t *testing.T) {
	objs := []dataobj.Object{
		{ID: 1, Name: "Customer", Ref: dataobj.Ref{Type: dataobj.User, ID: acct}},
		{ID: 2, Name: "location", Ref: dataobj.Ref{Type: dataobj.Product, ID: 7}},
		{ID: 3, Name: "cust_id", Ref: dataobj.Ref{Type: dataobj.Product, ID: 9}},
		{ID: 4, Name: "usage", Ref: dataobj.Ref{Type: dataobj.Key, ID: 900, ProductID: 7, KeyID: 3}},
		{ID: 5, Name: "usage", Ref: dataobj.Ref{Type: dataobj.MachineCode, ID: 900, ProductID: 7, KeyID: 3, MachineCode: "m"}},
		{ID: 6, Name: "", Ref: dataobj.Ref{Type: dataobj.Key, ID: 950, ProductID: 9, KeyID: 1}},
	}
	tests := []struct {
		name     string
		scope    auth.Scope
		contains string
		want     []int64
	}{
		{"everything", auth.Scope{}, "", []int64{1, 2, 3, 4, 5, 6}},
		{"contains, any case", auth.Scope{}, "CUST", []int64{1, 3}},
		{"product lock", auth.Scope{ProductLock: 7}, "", []int64{2, 4, 5}},
		{"key lock", auth.Scope{ProductLock: 7, KeyLock: 3}, "", []int64{4, 5}},
		{"negative key lock", auth.Scope{KeyLock: -1}, "", []int64{4, 5, 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, svc := rig(t)
			st.listAll = func() ([]dataobj.Object, error) { return objs, nil }
			got, err := svc.List(context.Background(), principal(tt.scope), dataobj.Where{RefType: dataobj.Product, RefID: 5}, tt.contains, true)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, o := range got {
				ids = append(ids, o.ID)
			}
			if !equal(ids, tt.want) {
				t.Errorf("ShowAll ids = %v, want %v", ids, tt.want)
			}
		})
	}
	st, svc := rig(t)
	st.list = func(r dataobj.Ref) ([]dataobj.Object, error) {
		if r != (dataobj.Ref{Type: dataobj.Product, ID: 7}) {
			t.Errorf("ListObjects(%+v)", r)
		}
		return objs[1:2], nil
	}
	if got, err := svc.List(context.Background(), principal(auth.Scope{}), dataobj.Where{RefType: dataobj.Product, RefID: 7}, "", false); err != nil || len(got) != 1 {
		t.Errorf("List(product 7) = %v, %v", got, err)
	}
	if _, err := svc.List(context.Background(), principal(auth.Scope{}), dataobj.Where{RefType: dataobj.Product, RefID: 5}, "", false); !errors.Is(err, apierr.DataProductNotFound) {
		t.Errorf("List(missing product) = %v", err)
	}
}

func TestSetRemove(t *testing.T) {
	st, svc := rig(t)
	keyRef := dataobj.Ref{Type: dataobj.Key, ID: 900, ProductID: 7, KeyID: 3, Key: "KEY-A"}
	st.setInt = func(h dataobj.Handle, v int32) (dataobj.Object, error) {
		if v != 0 {
			t.Errorf("SetInt stored %d, want 0 for an out-of-range value", v)
		}
		return dataobj.Object{}, nil
	}
	w := dataobj.Which{Where: dataobj.Where{Variant: dataobj.ToKey, ProductID: 7, Key: "KEY-A"}, ID: 6}
	if _, err := svc.SetInt(context.Background(), principal(auth.Scope{}), w, 1<<31); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetString(context.Background(), principal(auth.Scope{}), w, string(make([]rune, 10001))); !errors.Is(err, apierr.DataStringValueTooLong) {
		t.Errorf("SetString(10001 chars) = %v", err)
	}
	st.get = func(r dataobj.Ref, id int64) (dataobj.Object, error) {
		if r != keyRef || id != 6 {
			return dataobj.Object{}, apierr.NotFound
		}
		return dataobj.Object{ID: 6, AccountID: acct, Name: "uses", Ref: keyRef}, nil
	}
	var deleted dataobj.Handle
	st.del = func(h dataobj.Handle) error { deleted = h; return nil }
	if err := svc.Remove(context.Background(), principal(auth.Scope{}), w); err != nil {
		t.Fatal(err)
	}
	if want := (dataobj.Handle{AccountID: acct, ID: 6, Name: "uses", Ref: keyRef}); deleted != want {
		t.Errorf("DeleteObject(%+v), want %+v (with the stored name)", deleted, want)
	}
	w.ID = 7
	if err := svc.Remove(context.Background(), principal(auth.Scope{}), w); !errors.Is(err, apierr.DataNotEnoughPermission) {
		t.Errorf("Remove(missing) = %v", err)
	}
}
