package dataobj

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/keys"
)

// KeyReader reads license keys (implemented by the store).
type KeyReader interface {
	// GetKey returns a key of a product or apierr.NotFound.
	GetKey(ctx context.Context, productID int64, key string, consistent bool) (keys.Record, error)
	// KeyByGlobalID returns the key with a global id or apierr.NotFound.
	KeyByGlobalID(ctx context.Context, globalID int64) (keys.Record, error)
}

// Variant is the form of a data object method: general (referencer given
// by ReferencerType/ReferencerId, or the object by Id alone), key specific
// (...ToKey: ProductId and Key) or machine code specific
// (...ToMachineCode: ProductId, Key and MachineCode).
type Variant int

// Variants.
const (
	General Variant = iota
	ToKey
	ToMachineCode
)

// Where names a referencer.
type Where struct {
	Variant Variant
	// RefType and RefID (General) are ReferencerType and ReferencerId.
	RefType RefType
	RefID   int64
	// ProductID and Key (ToKey, ToMachineCode) name the key.
	ProductID int64
	Key       string
	// MachineCode (ToMachineCode) names the machine.
	MachineCode string
}

// Which names one data object: by ID in every variant, or (ToKey and
// ToMachineCode only) by Name when ID is 0. The General variant ignores
// Where's referencer fields: the object's own referencer is checked.
type Which struct {
	Where
	ID   int64
	Name string
}

// NewObject is the input of Add.
type NewObject struct {
	Name               string
	StringValue        string
	IntValue           int32
	CheckForDuplicates bool
}

// Service implements the data object methods.
type Service struct {
	store    Store
	keys     KeyReader
	products catalog.ProductReader
	now      func() time.Time
}

// NewService returns a Service. products may be a cache (products are only
// checked for existence); now is the clock (floating activations expire).
func NewService(store Store, keys KeyReader, products catalog.ProductReader, now func() time.Time) *Service {
	return &Service{store: store, keys: keys, products: products, now: now}
}

// Caller is the caller of a data object method as the handler layer
// authorized it from the caller's access token: the account, and the
// rights and limits the domain applies at the points only it knows
// (after it has resolved a referencer). The rules themselves ("Permissions
// using Access Tokens" in the reference) live in the handler layer.
type Caller struct {
	AccountID int64
	// Access returns nil when the caller may use objects of ref, and the
	// documented refusal otherwise (nil: every referencer is allowed).
	Access func(ref Ref) error
	// KeyVariant returns nil when the caller may use the ...ToKey and
	// ...ToMachineCode variants on a key of the product, and the
	// documented refusal otherwise (nil: allowed).
	KeyVariant func(productID int64) error
	// StepLimit is the largest allowed change of an int value by one
	// increment, decrement or set (0: no limit; negative: none allowed).
	StepLimit int64
	// Allowed reports whether the caller holds a permission (nil: all).
	Allowed func(permission string) bool
}

func (c Caller) access(ref Ref) error {
	if c.Access == nil {
		return nil
	}
	return c.Access(ref)
}

func (c Caller) keyVariant(productID int64) error {
	if c.KeyVariant == nil {
		return nil
	}
	return c.KeyVariant(productID)
}

func (c Caller) allowed(permission string) bool { return c.Allowed == nil || c.Allowed(permission) }

// resolve checks access to the referencer w names and that it exists, and
// returns its Ref. Errors: apierr.BadInput, apierr.DataReferencerType,
// apierr.DataNotEnoughPermission, apierr.DataProductNotFound,
// apierr.DataKeyNotFound, apierr.DataMachineNotFound.
func (s *Service) resolve(ctx context.Context, p Caller, w Where) (Ref, error) {
	if w.Variant != General {
		return s.resolveKey(ctx, p, w)
	}
	switch w.RefType {
	case User:
		ref := Ref{Type: User, ID: p.AccountID}
		return ref, p.access(ref)
	case Product:
		ref := Ref{Type: Product, ID: w.RefID}
		if err := p.access(ref); err != nil {
			return Ref{}, err
		}
		if err := s.productExists(ctx, p.AccountID, w.RefID); err != nil {
			return Ref{}, err
		}
		return ref, nil
	case Key:
		if w.RefID <= 0 {
			return Ref{}, apierr.DataKeyNotFound
		}
		r, err := s.keys.KeyByGlobalID(ctx, w.RefID)
		if errors.Is(err, apierr.NotFound) || err == nil && r.AccountID != p.AccountID {
			return Ref{}, apierr.DataKeyNotFound
		}
		if err != nil {
			return Ref{}, err
		}
		ref := keyRef(r)
		return ref, p.access(ref)
	}
	return Ref{}, apierr.DataReferencerType
}

func keyRef(r keys.Record) Ref {
	return Ref{Type: Key, ID: r.GlobalID, ProductID: r.ProductID, KeyID: r.ID, Key: r.Key}
}

func (s *Service) productExists(ctx context.Context, accountID, productID int64) error {
	if productID <= 0 {
		return apierr.DataProductNotFound
	}
	_, err := s.products.GetProduct(ctx, accountID, productID)
	if errors.Is(err, apierr.NotFound) {
		return apierr.DataProductNotFound
	}
	return err
}

// resolveKey resolves the key (and machine) of a ToKey or ToMachineCode
// call: one GetItem for the key; the product is read only when the key is
// missing, to choose between the product and the key message.
func (s *Service) resolveKey(ctx context.Context, p Caller, w Where) (Ref, error) {
	w.Key = strings.TrimSpace(w.Key)
	if w.ProductID <= 0 || w.Key == "" || w.Variant == ToMachineCode && w.MachineCode == "" {
		return Ref{}, apierr.BadInput
	}
	if err := p.keyVariant(w.ProductID); err != nil {
		return Ref{}, err
	}
	if !keys.CanNameKey(w.Key) {
		if err := s.productExists(ctx, p.AccountID, w.ProductID); err != nil {
			return Ref{}, err
		}
		return Ref{}, apierr.DataKeyNotFound
	}
	r, err := s.keys.GetKey(ctx, w.ProductID, w.Key, false)
	if errors.Is(err, apierr.NotFound) || err == nil && r.AccountID != p.AccountID {
		if err := s.productExists(ctx, p.AccountID, w.ProductID); err != nil {
			return Ref{}, err
		}
		return Ref{}, apierr.DataKeyNotFound
	}
	if err != nil {
		return Ref{}, err
	}
	ref := keyRef(r)
	if w.Variant == ToMachineCode {
		if !activated(r, w.MachineCode, s.now()) {
			return Ref{}, apierr.DataMachineNotFound
		}
		ref.Type, ref.MachineCode = MachineCode, w.MachineCode
	}
	return ref, p.access(ref)
}

// activated reports whether mid is activated on the key: node-locked, or
// holding a floating seat that has not expired at now.
func activated(r keys.Record, mid string, now time.Time) bool {
	if _, ok := r.Nodes[mid]; ok {
		return true
	}
	for _, seat := range r.Seats {
		if seat.Mid == mid && seat.Expires.After(now) {
			return true
		}
	}
	return false
}

// target finds the object w names and checks access to it. With needName
// the handle's Name is the stored one (one more read for a ToKey or
// ToMachineCode call by id). A missing object is
// apierr.DataNotEnoughPermission.
func (s *Service) target(ctx context.Context, p Caller, w Which, needName bool) (Handle, error) {
	if w.Variant == General {
		if w.ID <= 0 {
			return Handle{}, apierr.BadInput
		}
		h, err := s.store.Locate(ctx, p.AccountID, w.ID)
		if errors.Is(err, apierr.NotFound) {
			return Handle{}, apierr.DataNotEnoughPermission
		}
		if err != nil {
			return Handle{}, err
		}
		return h, p.access(h.Ref)
	}
	if w.ID <= 0 && w.Name == "" {
		return Handle{}, apierr.BadInput
	}
	ref, err := s.resolveKey(ctx, p, w.Where)
	if err != nil {
		return Handle{}, err
	}
	if w.ID > 0 && !needName {
		return Handle{AccountID: p.AccountID, ID: w.ID, Ref: ref}, nil
	}
	var o Object
	if w.ID > 0 {
		o, err = s.store.GetObject(ctx, p.AccountID, ref, w.ID)
	} else if utf8.RuneCountInString(w.Name) > MaxName {
		// No object has a longer name: do not send it to storage.
		return Handle{}, apierr.DataNotEnoughPermission
	} else {
		o, err = s.store.FindByName(ctx, p.AccountID, ref, w.Name)
	}
	if errors.Is(err, apierr.NotFound) {
		return Handle{}, apierr.DataNotEnoughPermission
	}
	if err != nil {
		return Handle{}, err
	}
	return o.Handle(), nil
}

// Add creates a data object and returns it with its id. Round trips: the
// referencer check (none for User; a product read, usually cached, for
// Product; a Query and a GetItem for Key by global id; a GetItem for the
// key-specific variants), one counter UpdateItem for the id and one
// transaction. Errors: apierr.BadInput, apierr.DataReferencerType,
// apierr.DataNameTooLong, apierr.DataMachineNameTooLong,
// apierr.DataStringValueTooLong, apierr.DataObjectLimit,
// apierr.DataDuplicateName and the refusals of CheckAccess and resolve.
func (s *Service) Add(ctx context.Context, p Caller, w Where, in NewObject) (Object, error) {
	maxName := MaxName
	if w.Variant == ToMachineCode {
		maxName = MaxMachineCodeName
	}
	if err := ValidateNew(in.Name, in.StringValue, maxName); err != nil {
		return Object{}, err
	}
	ref, err := s.resolve(ctx, p, w)
	if err != nil {
		return Object{}, err
	}
	o := Object{AccountID: p.AccountID, Name: in.Name, StringValue: in.StringValue, IntValue: in.IntValue, Ref: ref}
	o, err = s.store.CreateObject(ctx, o, CreateOptions{Limit: MaxPerReferencer, Unique: in.CheckForDuplicates})
	switch {
	case errors.Is(err, ErrLimit):
		return Object{}, apierr.DataObjectLimit
	case errors.Is(err, ErrDuplicateName):
		return Object{}, apierr.DataDuplicateName
	case errors.Is(err, apierr.NotFound):
		return Object{}, apierr.DataKeyNotFound
	}
	return o, err
}

// List returns the objects of the referencer w names whose names contain
// contains (case-insensitively; "" matches all), in id order. With showAll
// (General only) it returns every object of the account that the token may
// access, whatever w's referencer. Errors: as resolve.
func (s *Service) List(ctx context.Context, p Caller, w Where, contains string, showAll bool) ([]Object, error) {
	var objs []Object
	if showAll && w.Variant == General {
		all, err := s.store.ListAccountObjects(ctx, p.AccountID)
		if err != nil {
			return nil, err
		}
		for _, o := range all {
			if p.access(o.Ref) == nil {
				objs = append(objs, o)
			}
		}
	} else {
		ref, err := s.resolve(ctx, p, w)
		if err != nil {
			return nil, err
		}
		if objs, err = s.store.ListObjects(ctx, p.AccountID, ref); err != nil {
			return nil, err
		}
	}
	out := make([]Object, 0, len(objs))
	needle := strings.ToLower(contains)
	for _, o := range objs {
		if strings.Contains(strings.ToLower(o.Name), needle) {
			out = append(out, o)
		}
	}
	return out, nil
}

// ProductObjects returns the data objects of a product of the account, in
// id order (GetProducts shows them; the caller has checked its access).
func (s *Service) ProductObjects(ctx context.Context, accountID, productID int64) ([]Object, error) {
	return s.store.ListObjects(ctx, accountID, Ref{Type: Product, ID: productID})
}

// Increment adds |value| to the object's int value (IncrementIntValue).
// Errors: apierr.DataStepNotAllowed (the token's feature lock), apierr.DataInt32Limit
// (the result would exceed the int32 range or, with enableBound, bound;
// nothing is changed), apierr.BadInput, apierr.DataNotEnoughPermission (also
// for a missing object) and the refusals of resolve.
func (s *Service) Increment(ctx context.Context, p Caller, w Which, value int64, enableBound bool, bound int64) (Object, error) {
	if err := CheckStep(p.StepLimit, Magnitude(value)); err != nil {
		return Object{}, err
	}
	return s.addInt(ctx, p, w, IncrementDelta(value, enableBound, bound))
}

// Decrement subtracts |value| from the object's int value
// (DecrementIntValue); bound is then a lower bound. Errors: as Increment.
func (s *Service) Decrement(ctx context.Context, p Caller, w Which, value int64, enableBound bool, bound int64) (Object, error) {
	if err := CheckStep(p.StepLimit, Magnitude(value)); err != nil {
		return Object{}, err
	}
	return s.addInt(ctx, p, w, DecrementDelta(value, enableBound, bound))
}

func (s *Service) addInt(ctx context.Context, p Caller, w Which, d Delta) (Object, error) {
	h, err := s.target(ctx, p, w, false)
	if err != nil {
		return Object{}, err
	}
	o, err := s.store.AddInt(ctx, h, d)
	switch {
	case errors.Is(err, apierr.NotFound):
		return Object{}, apierr.DataNotEnoughPermission
	case errors.Is(err, apierr.Conflict):
		return Object{}, apierr.DataInt32Limit
	}
	return o, err
}

// Upload applies a usage log (UploadValuesToKey, see ParseLog for the
// format) to the object's int value as one atomic change. The token needs
// the UploadValuesToKey permission, or IncrementIntValue when the log
// holds an increment and DecrementIntValue when it holds a decrement (as
// the reference describes). Errors: apierr.AccessDenied, apierr.DataEmpty,
// apierr.DataCorrupted, apierr.BadInput, apierr.DataStepNotAllowed (an entry
// above the feature lock), apierr.DataInt32Limit (some intermediate value would
// leave the int32 range; nothing is changed) and the errors of target.
func (s *Service) Upload(ctx context.Context, p Caller, w Which, data string) (Object, error) {
	if !p.allowed("UploadValuesToKey") && !p.allowed("IncrementIntValue") && !p.allowed("DecrementIntValue") {
		return Object{}, apierr.AccessDenied
	}
	full := p.allowed("UploadValuesToKey")
	entries, err := ParseLog(data)
	if err != nil {
		return Object{}, err
	}
	for _, e := range entries {
		if !full && (e > 0 && !p.allowed("IncrementIntValue") || e < 0 && !p.allowed("DecrementIntValue")) {
			return Object{}, apierr.AccessDenied
		}
		if err := CheckStep(p.StepLimit, Magnitude(e)); err != nil {
			return Object{}, err
		}
	}
	return s.addInt(ctx, p, w, LogDelta(entries))
}

// SetInt assigns value to the object's int value; a value outside the
// int32 range assigns 0, as documented. The token's feature lock, which
// bounds increments and decrements, bounds a set too: with a non-zero
// feature lock the value may move by at most that much (SetRange), checked
// by the same conditional write. Errors: apierr.DataStepNotAllowed (the
// change exceeds the feature lock; nothing is changed) and those of
// target.
func (s *Service) SetInt(ctx context.Context, p Caller, w Which, value int64) (Object, error) {
	if p.StepLimit < 0 {
		return Object{}, apierr.DataStepNotAllowed
	}
	h, err := s.target(ctx, p, w, false)
	if err != nil {
		return Object{}, err
	}
	v := ClampInt32(value)
	lo, hi := SetRange(p.StepLimit, v)
	o, err := s.store.SetInt(ctx, h, v, lo, hi)
	switch {
	case errors.Is(err, apierr.NotFound):
		return Object{}, apierr.DataNotEnoughPermission
	case errors.Is(err, apierr.Conflict):
		return Object{}, apierr.DataStepNotAllowed
	}
	return o, err
}

// SetString assigns value to the object's string value. Errors:
// apierr.DataStringValueTooLong and those of target.
func (s *Service) SetString(ctx context.Context, p Caller, w Which, value string) (Object, error) {
	if err := ValidateStringValue(value); err != nil {
		return Object{}, err
	}
	h, err := s.target(ctx, p, w, false)
	if err != nil {
		return Object{}, err
	}
	o, err := s.store.SetString(ctx, h, value)
	if errors.Is(err, apierr.NotFound) {
		return Object{}, apierr.DataNotEnoughPermission
	}
	return o, err
}

// Remove deletes the object and releases its place in the referencer's
// limit. Errors: as target.
func (s *Service) Remove(ctx context.Context, p Caller, w Which) error {
	h, err := s.target(ctx, p, w, true)
	if err != nil {
		return err
	}
	err = s.store.DeleteObject(ctx, h)
	if errors.Is(err, apierr.NotFound) {
		return apierr.DataNotEnoughPermission
	}
	return err
}
