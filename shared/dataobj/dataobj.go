// Package dataobj is the data object domain (Web API 3 /api/data/*): named
// integer and string variables attached to an account, a product, a license
// key or a machine activated on a key. It validates input, asks the
// caller's rights (Caller, built by the handler layer from the token) where
// the reference's "Permissions using Access Tokens" apply, and turns increments, decrements and uploaded usage logs into
// single conditional changes (Delta) that the store applies atomically. It
// imports nothing from AWS; the DynamoDB adapter shared/dynamo/datastore
// implements Store.
package dataobj

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/keyturn/keyturn/shared/apierr"
)

// RefType is what a data object is attached to (its referencer).
type RefType int

// Referencer types. User, Product and Key are the reference's values (and
// the wire values of ReferencerType); MachineCode is Keyturn's own type for
// objects created by the ...ToMachineCode methods, shown on the wire as Key
// (see Ref.WireType).
const (
	User        RefType = 0
	Product     RefType = 1
	Key         RefType = 2
	MachineCode RefType = 3
)

// Limits from the reference, and Keyturn's own per-referencer limit.
const (
	// MaxName is the longest name (in characters) of an object created by
	// AddDataObject or AddDataObjectToKey.
	MaxName = 100
	// MaxMachineCodeName is the longest name of an object created by
	// AddDataObjectToMachineCode (the reference documents 10 characters).
	MaxMachineCodeName = 10
	// MaxStringValue is the longest StringValue in characters.
	MaxStringValue = 10000
	// MaxPerReferencer is how many data objects one referencer (the
	// account, one product, one key, or one machine of a key) may hold.
	// Adding more fails with apierr.DataObjectLimit. It keeps listings and
	// rendered licenses small.
	MaxPerReferencer = 100
	// MaxLogEntries is the most entries an uploaded usage log may hold (the
	// reference's limit for UploadValuesToKey).
	MaxLogEntries = 1000
)

// Ref identifies a referencer. Refs of keys and machine codes carry the
// key's product, id and key string, so that access can be checked and the
// key's object count kept without reading the key again.
type Ref struct {
	Type RefType
	// ID is the account id (User), the product id (Product) or the key's
	// global id (Key, MachineCode). Key ids are unique only within their
	// product, so keys are referenced by global id.
	ID int64
	// ProductID, KeyID and Key describe the key of a Key or MachineCode ref.
	ProductID int64
	KeyID     int64
	Key       string
	// MachineCode is the machine of a MachineCode ref.
	MachineCode string
}

// WireType is the ReferencerType shown by ListDataObjects with ShowAll:
// objects of a machine code belong to a key and are shown as Key (2) with
// the key's global id as ReferencerId.
func (r Ref) WireType() int {
	if r.Type == MachineCode {
		return int(Key)
	}
	return int(r.Type)
}

// Handle identifies a stored data object: its account, referencer, id and
// name (a name never changes after creation).
type Handle struct {
	AccountID int64
	ID        int64
	Name      string
	Ref       Ref
}

// Object is a stored data object.
type Object struct {
	ID          int64
	AccountID   int64
	Name        string
	StringValue string
	IntValue    int32
	Ref         Ref
}

// Handle returns the identity of o.
func (o Object) Handle() Handle {
	return Handle{AccountID: o.AccountID, ID: o.ID, Name: o.Name, Ref: o.Ref}
}

// Store errors that are not in package apierr.
var (
	// ErrLimit: the referencer already holds the limit of objects.
	ErrLimit = errors.New("dataobj: referencer holds the maximum number of data objects")
	// ErrDuplicateName: a unique add found an object with the same name.
	ErrDuplicateName = errors.New("dataobj: a data object with this name exists")
)

// CreateOptions are the conditions of Store.CreateObject.
type CreateOptions struct {
	// Limit is the most objects the referencer may hold after the add.
	Limit int
	// Unique makes the add fail with ErrDuplicateName when the referencer
	// holds an object with the same (non-empty) name.
	Unique bool
}

// Store persists data objects. Every change is atomic: counters of the
// referencer and of names are kept in the same transaction as the objects,
// so limits and uniqueness hold under concurrent calls.
type Store interface {
	// CreateObject stores a new object (its id is allocated by the store
	// and returned in the result). Errors: ErrLimit, ErrDuplicateName,
	// apierr.NotFound when the key of a Key ref no longer exists.
	CreateObject(ctx context.Context, o Object, opts CreateOptions) (Object, error)
	// Locate returns the handle of the account's object id, or
	// apierr.NotFound.
	Locate(ctx context.Context, accountID, id int64) (Handle, error)
	// GetObject returns object id of the referencer, or apierr.NotFound.
	GetObject(ctx context.Context, accountID int64, ref Ref, id int64) (Object, error)
	// FindByName returns the referencer's object named name with the
	// lowest id, or apierr.NotFound.
	FindByName(ctx context.Context, accountID int64, ref Ref, name string) (Object, error)
	// ListObjects returns the referencer's objects in id order.
	ListObjects(ctx context.Context, accountID int64, ref Ref) ([]Object, error)
	// ListAccountObjects returns every object of the account in id order.
	ListAccountObjects(ctx context.Context, accountID int64) ([]Object, error)
	// AddInt applies d to the object's int value in one conditional write
	// and returns the object after it. Errors: apierr.NotFound when the
	// object does not exist, apierr.Conflict when d's condition fails
	// (nothing is changed).
	AddInt(ctx context.Context, h Handle, d Delta) (Object, error)
	// SetInt sets the int value to v when the stored value lies in
	// [min, max], in one conditional write. Errors: apierr.NotFound,
	// apierr.Conflict when the stored value is outside the range (nothing
	// is changed).
	SetInt(ctx context.Context, h Handle, v int32, min, max int64) (Object, error)
	// SetString sets the string value. Errors: apierr.NotFound.
	SetString(ctx context.Context, h Handle, v string) (Object, error)
	// DeleteObject removes the object (h.Name must be its stored name).
	// Errors: apierr.NotFound.
	DeleteObject(ctx context.Context, h Handle) error
}

// ParseRefType parses the ReferencerType parameter: empty means User; the
// numbers 0, 1, 2 and the names User, Product, Key (any case) are
// accepted. Anything else is apierr.DataReferencerType.
func ParseRefType(raw string) (RefType, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return User, nil
	}
	if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
		if n >= int64(User) && n <= int64(Key) {
			return RefType(n), nil
		}
		return 0, apierr.DataReferencerType
	}
	for t, name := range map[RefType]string{User: "user", Product: "product", Key: "key"} {
		if strings.EqualFold(raw, name) {
			return t, nil
		}
	}
	return 0, apierr.DataReferencerType
}

// ValidateNew checks a new object's name and string value against the
// reference's limits (maxName is MaxName or MaxMachineCodeName). Errors:
// apierr.DataNameTooLong, apierr.DataMachineNameTooLong,
// apierr.DataStringValueTooLong.
func ValidateNew(name, stringValue string, maxName int) error {
	if utf8.RuneCountInString(name) > maxName {
		if maxName == MaxMachineCodeName {
			return apierr.DataMachineNameTooLong
		}
		return apierr.DataNameTooLong
	}
	return ValidateStringValue(stringValue)
}

// ValidateStringValue checks the length of a StringValue. Errors:
// apierr.DataStringValueTooLong.
func ValidateStringValue(v string) error {
	if utf8.RuneCountInString(v) > MaxStringValue {
		return apierr.DataStringValueTooLong
	}
	return nil
}

// ClampInt32 returns v when it fits an int32 and 0 otherwise (SetIntValue:
// "If you attempt to assign an int value that is beyond the limits of an
// int32, zero will be assigned").
func ClampInt32(v int64) int32 {
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0
	}
	return int32(v)
}
