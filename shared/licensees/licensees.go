// Package licensees is the NetLicensing licensee view of Keyturn's data. A
// licensee is one customer within one product: its licenses are the
// product's keys whose customer is that customer, its name is the
// customer's name, and only what Keyturn has no field for (the licensee
// number, active, markedForTransfer, the licensee secret and custom
// properties) is stored with the licensee itself. Nothing is copied: every
// answer is computed from the keys and customers that Web API 3 serves, so a
// change through either API shows in the other.
//
// A key is valid exactly when Web API 3 calls it valid (metadata
// licenseStatus.isValid): not blocked, and not expired if it is
// time-limited (the product's AllLicensesTimeLimited, or a time-limited
// feature set on the key). A licensee is valid for its product when it is
// active, its licensee secret (if it has one) was given, and one of its
// keys is valid; it is valid for feature Fi when one of its valid keys has
// Fi.
//
// The package is domain code: it imports nothing from AWS; package
// shared/dynamo/licenseestore implements Store.
package licensees

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/customers"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/license"
	"github.com/keyturn/keyturn/shared/wire"
)

// Licensee is a stored licensee.
type Licensee struct {
	AccountID int64
	// Number identifies the licensee within the account (NetLicensing:
	// unique across all products of a vendor).
	Number     string
	ProductID  int64
	CustomerID int64
	// OwnsCustomer is set when creating the licensee created its customer:
	// deleting the licensee removes the customer again when nothing else
	// uses it. A licensee made for an existing customer leaves it.
	OwnsCustomer bool
	// Active false makes every validation invalid.
	Active bool
	// MarkedForTransfer lets Transfer move this licensee's licenses away.
	MarkedForTransfer bool
	// Secret, when set, must be given to Validate (NetLicensing's licensee
	// secret, "predefined" mode).
	Secret string
	// Properties are the custom properties.
	Properties map[string]string
	Created    time.Time
	// Seq and ProductSeq are the licensee's positions in the account's and
	// the product's listings (assigned once; deleted licensees leave holes).
	Seq, ProductSeq int64
	// Version is the store's revision (optimistic concurrency).
	Version int64
}

// View is a licensee as clients see it.
type View struct {
	Licensee
	// Name is the customer's name.
	Name string
	// InUse is set when the licensee has a license.
	InUse bool
}

// Fields are the settable fields of Create and Update; nil means "not
// given". Update merges Properties: an empty value removes the property.
type Fields struct {
	Number            *string
	Name              *string
	Active            *bool
	MarkedForTransfer *bool
	Secret            *string
	Properties        map[string]string
}

// Limits is what the caller may reach (the handler derives it from the
// access token).
type Limits struct {
	// ProductID, when non-zero, is the only product whose licensees the
	// caller reaches.
	ProductID int64
	// AccountWide is set for callers that may change what belongs to the
	// account as a whole: linking an existing customer, and renaming a
	// customer the licensee did not create (customers are shared by every
	// product).
	AccountWide bool
}

func (l Limits) reach(productID int64) error {
	if l.ProductID != 0 && l.ProductID != productID {
		return apierr.AccessDenied
	}
	return nil
}

// Bounds on what a licensee stores.
const (
	MaxNumberRunes     = 1000
	maxNumberBytes     = 2000
	MaxSecret          = 1000
	MaxProperties      = 50
	MaxPropertyName    = 100
	MaxPropertyValue   = 1000
	MaxPropertiesBytes = 10000
	// MaxPageSize bounds a listing page (and is its default size).
	MaxPageSize = 100
	// MaxValidatedLicenses bounds the licenses one validation reads.
	MaxValidatedLicenses = 1000
	// moveBatch is how many licenses a transfer or cascade reads at once.
	moveBatch = 100
	// ValidationTTL is how long a validation may be reused at most.
	ValidationTTL = time.Hour
)

// Domain errors the stores return.
var (
	// ErrNumberTaken: another licensee of the account has the number.
	ErrNumberTaken = errors.New("licensee number taken")
	// ErrCustomerTaken: the customer already is a licensee of the product.
	ErrCustomerTaken = errors.New("customer already a licensee of the product")
)

// Store persists licensees. Errors: apierr.NotFound for a missing
// licensee, apierr.Conflict when a version condition failed.
type Store interface {
	// NextSeqs reserves a new licensee's positions in the account's and
	// the product's listings.
	NextSeqs(ctx context.Context, accountID, productID int64) (seq, productSeq int64, err error)
	// Create stores l if its number is free (ErrNumberTaken), its customer
	// is no licensee of the product yet (ErrCustomerTaken) and the customer
	// exists (apierr.NotFound), in one transaction that also counts it.
	Create(ctx context.Context, l Licensee) error
	// Get reads a licensee, strongly consistent if asked.
	Get(ctx context.Context, accountID int64, number string, consistent bool) (Licensee, error)
	// Replace writes l over prev if the stored licensee is still at
	// prev.Version; a changed number moves it (ErrNumberTaken if taken).
	Replace(ctx context.Context, prev, l Licensee) error
	// Delete removes l if it is still at l.Version.
	Delete(ctx context.Context, l Licensee) error
	// Page returns the licensees at listing positions from..to (inclusive)
	// of the account (productID 0) or of one product, with the listing's
	// last position and how many licensees it holds.
	Page(ctx context.Context, accountID, productID, from, to int64) (items []Licensee, last, count int64, err error)
	// OfCustomer returns the customer's licensees (one per product).
	OfCustomer(ctx context.Context, accountID, customerID int64) ([]Licensee, error)
}

// Licenses reads the keys that are a licensee's licenses.
type Licenses interface {
	// CustomerProductKeys returns up to max of the customer's keys in the
	// product (without activations), only those still linked to it.
	CustomerProductKeys(ctx context.Context, accountID, customerID, productID int64, max int) ([]keys.Record, error)
	// HasCustomerKeys reports whether the customer has a key in the
	// product, or in any product when productID is 0.
	HasCustomerKeys(ctx context.Context, accountID, customerID, productID int64) (bool, error)
}

// KeyChanger changes and deletes keys (keys.Service).
type KeyChanger interface {
	Change(ctx context.Context, accountID, productID int64, key string, c keys.Change) (keys.Record, error)
	Delete(ctx context.Context, accountID, productID int64, key string) error
}

// Customers manages the customers licensees stand for (customers.Service).
type Customers interface {
	AddCustomer(ctx context.Context, accountID int64, f customers.CustomerFields) (customers.Customer, error)
	EditCustomer(ctx context.Context, accountID, id int64, f customers.CustomerFields, newSecret bool) (customers.Customer, error)
	Customer(ctx context.Context, accountID, id int64) (customers.Customer, error)
	CustomersByID(ctx context.Context, accountID int64, ids []int64) ([]customers.Customer, error)
	RemoveCustomer(ctx context.Context, accountID, id int64) error
}

// Products reads products (catalog.ProductCache).
type Products interface {
	GetProduct(ctx context.Context, accountID, productID int64) (catalog.Product, error)
}

// Service implements the licensee operations.
type Service struct {
	store     Store
	licenses  Licenses
	keys      KeyChanger
	customers Customers
	products  Products
	now       func() time.Time
	random    io.Reader
}

// NewService returns a Service.
func NewService(store Store, licenses Licenses, keyChanger KeyChanger, cust Customers, products Products, now func() time.Time, random io.Reader) *Service {
	return &Service{store: store, licenses: licenses, keys: keyChanger, customers: cust, products: products, now: now, random: random}
}

// ValidNumber reports whether n can be a licensee number: 1 to 1000
// characters (at most 2000 bytes) of valid UTF-8 without whitespace,
// control characters or any of / ? # % \ (a number travels in URL paths).
func ValidNumber(n string) bool {
	if n == "" || len(n) > maxNumberBytes || !utf8.ValidString(n) || utf8.RuneCountInString(n) > MaxNumberRunes {
		return false
	}
	for _, r := range n {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`/?#%\`, r) {
			return false
		}
	}
	return true
}

// checkFields validates the given fields (names are checked by the
// customer domain).
func checkFields(f Fields) error {
	if f.Number != nil && !ValidNumber(*f.Number) {
		return apierr.LicenseeNumberInvalid
	}
	if f.Secret != nil && !utf8.ValidString(*f.Secret) {
		return apierr.BadInput
	}
	if f.Secret != nil && utf8.RuneCountInString(*f.Secret) > MaxSecret {
		return apierr.LicenseeSecretTooLong
	}
	if f.Name != nil {
		if !utf8.ValidString(*f.Name) {
			return apierr.BadInput
		}
		if err := (customers.CustomerFields{Name: f.Name}).Validate(); err != nil {
			return err
		}
	}
	return checkProperties(f.Properties, true)
}

// checkProperties bounds custom properties; empty values are allowed
// where they mean "remove" (update) or "nothing" (create).
func checkProperties(p map[string]string, allowEmpty bool) error {
	if len(p) > MaxProperties {
		return apierr.LicenseePropertiesInvalid
	}
	total := 0
	for k, v := range p {
		total += len(k) + len(v)
		if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) || utf8.RuneCountInString(k) > MaxPropertyName ||
			utf8.RuneCountInString(v) > MaxPropertyValue || (v == "" && !allowEmpty) {
			return apierr.LicenseePropertiesInvalid
		}
		for _, r := range k {
			if unicode.IsControl(r) {
				return apierr.LicenseePropertiesInvalid
			}
		}
	}
	if total > MaxPropertiesBytes {
		return apierr.LicenseePropertiesInvalid
	}
	return nil
}

// product reads a product of the account (LicenseeProductNotFound).
func (s *Service) product(ctx context.Context, accountID, productID int64) (catalog.Product, error) {
	if productID <= 0 {
		return catalog.Product{}, apierr.LicenseeProductNotFound
	}
	p, err := s.products.GetProduct(ctx, accountID, productID)
	if errors.Is(err, apierr.NotFound) {
		return catalog.Product{}, apierr.LicenseeProductNotFound
	}
	return p, err
}

// get reads a licensee the caller reaches: strongly consistent for the
// calls that change it (their writes are conditioned on what they read),
// eventually consistent for reads, which read again, consistently, before
// answering that the licensee does not exist (so a licensee created a
// moment ago is found). Errors: LicenseeNotFound, LicenseeNumberInvalid
// (too long), apierr.AccessDenied.
func (s *Service) get(ctx context.Context, accountID int64, number string, lim Limits, consistent bool) (Licensee, error) {
	if len(number) > maxNumberBytes || utf8.RuneCountInString(number) > MaxNumberRunes {
		return Licensee{}, apierr.LicenseeNumberInvalid
	}
	if !ValidNumber(number) {
		return Licensee{}, apierr.LicenseeNotFound
	}
	l, err := s.store.Get(ctx, accountID, number, consistent)
	if errors.Is(err, apierr.NotFound) && !consistent {
		l, err = s.store.Get(ctx, accountID, number, true)
	}
	if errors.Is(err, apierr.NotFound) {
		return Licensee{}, apierr.LicenseeNotFound
	}
	if err != nil {
		return Licensee{}, err
	}
	if err := lim.reach(l.ProductID); err != nil {
		return Licensee{}, err
	}
	return l, nil
}

// view adds the customer's name and whether the licensee has a license.
// A licensee whose customer is gone (removed through Web API 3 a moment
// ago, its licensees not yet forgotten) does not exist.
func (s *Service) view(ctx context.Context, l Licensee) (View, error) {
	c, err := s.customers.Customer(ctx, l.AccountID, l.CustomerID)
	if errors.Is(err, apierr.NotFound) {
		return View{}, apierr.LicenseeNotFound
	}
	if err != nil {
		return View{}, err
	}
	inUse, err := s.licenses.HasCustomerKeys(ctx, l.AccountID, l.CustomerID, l.ProductID)
	if err != nil {
		return View{}, err
	}
	return View{Licensee: l, Name: c.Name, InUse: inUse}, nil
}

// newNumber returns a generated licensee number: "I" and 9 characters of
// A-Z and 2-9.
func (s *Service) newNumber() (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ23456789"
	b := make([]byte, 9)
	if _, err := io.ReadFull(s.random, b); err != nil {
		return "", fmt.Errorf("licensee number: %w", err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "I" + string(b), nil
}

// Create makes a licensee of a product. Without customerID it creates the
// customer too (named f.Name; removed again if the licensee cannot be
// stored); with one it makes that existing customer a licensee of the
// product (needs lim.AccountWide), renaming it when f.Name is given.
// Without f.Number a number is generated. Active defaults to true.
// Errors: apierr.AccessDenied, LicenseeProductNotFound,
// LicenseeCustomerNotFound, LicenseeNumberTaken, LicenseeCustomerTaken,
// the field errors of checkFields.
func (s *Service) Create(ctx context.Context, accountID, productID int64, f Fields, customerID int64, lim Limits) (View, error) {
	if err := lim.reach(productID); err != nil {
		return View{}, err
	}
	if customerID != 0 && !lim.AccountWide {
		return View{}, apierr.AccessDenied
	}
	if err := checkFields(f); err != nil {
		return View{}, err
	}
	if _, err := s.product(ctx, accountID, productID); err != nil {
		return View{}, err
	}
	l := Licensee{AccountID: accountID, ProductID: productID, Active: true, Created: s.now().UTC().Truncate(time.Millisecond)}
	if f.Active != nil {
		l.Active = *f.Active
	}
	if f.MarkedForTransfer != nil {
		l.MarkedForTransfer = *f.MarkedForTransfer
	}
	if f.Secret != nil {
		l.Secret = *f.Secret
	}
	for k, v := range f.Properties {
		if v != "" { // an empty value sets nothing (it removes, in an update)
			if l.Properties == nil {
				l.Properties = map[string]string{}
			}
			l.Properties[k] = v
		}
	}
	var c customers.Customer
	var err error
	if customerID != 0 {
		if c, err = s.customers.Customer(ctx, accountID, customerID); errors.Is(err, apierr.NotFound) {
			return View{}, apierr.LicenseeCustomerNotFound
		} else if err != nil {
			return View{}, err
		}
	} else {
		name := ""
		if f.Name != nil {
			name = *f.Name
		}
		if c, err = s.customers.AddCustomer(ctx, accountID, customers.CustomerFields{Name: &name}); err != nil {
			return View{}, err
		}
		l.OwnsCustomer = true
	}
	l.CustomerID = c.ID
	if l.Seq, l.ProductSeq, err = s.store.NextSeqs(ctx, accountID, productID); err == nil {
		err = s.createWithNumber(ctx, &l, f.Number)
	}
	if err != nil {
		if l.OwnsCustomer {
			_ = s.customers.RemoveCustomer(context.WithoutCancel(ctx), accountID, c.ID)
		}
		return View{}, err
	}
	if customerID != 0 && f.Name != nil && *f.Name != c.Name {
		if c, err = s.customers.EditCustomer(ctx, accountID, c.ID, customers.CustomerFields{Name: f.Name}, false); err != nil {
			return View{}, err
		}
	}
	inUse := false
	if customerID != 0 {
		if inUse, err = s.licenses.HasCustomerKeys(ctx, accountID, c.ID, productID); err != nil {
			return View{}, err
		}
	}
	return View{Licensee: l, Name: c.Name, InUse: inUse}, nil
}

// createWithNumber stores l with the given number, or with generated
// numbers until one is free.
func (s *Service) createWithNumber(ctx context.Context, l *Licensee, number *string) error {
	for attempt := 0; ; attempt++ {
		if number != nil {
			l.Number = *number
		} else {
			n, err := s.newNumber()
			if err != nil {
				return err
			}
			l.Number = n
		}
		l.Version = 1
		err := s.store.Create(ctx, *l)
		switch {
		case errors.Is(err, ErrNumberTaken) && number == nil && attempt < 5:
			continue
		case errors.Is(err, ErrNumberTaken):
			return apierr.LicenseeNumberTaken
		case errors.Is(err, ErrCustomerTaken):
			return apierr.LicenseeCustomerTaken
		case errors.Is(err, apierr.NotFound):
			return apierr.LicenseeCustomerNotFound
		}
		return err
	}
}

// Get returns a licensee. Errors: LicenseeNotFound, LicenseeNumberInvalid,
// apierr.AccessDenied (another product than the caller's).
func (s *Service) Get(ctx context.Context, accountID int64, number string, lim Limits) (View, error) {
	l, err := s.get(ctx, accountID, number, lim, false)
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, l)
}

// Page is one listing page.
type Page struct {
	Items []View
	// Number is the page (0-based) and Size the positions per page; pages
	// may hold fewer licensees than Size (deleted licensees leave holes).
	Number, Size int
	TotalPages   int64
	TotalItems   int64
}

// HasNext reports whether a later page exists.
func (p Page) HasNext() bool { return p.TotalPages > int64(p.Number)+1 }

// List returns page number page (0-based) of size positions of the
// account's licensees, or of the caller's product's when lim names one.
// Its cost is one page: one Query (and, for a product, one BatchGetItem),
// one BatchGetItem of the customers and one Query per licensee for InUse.
func (s *Service) List(ctx context.Context, accountID int64, page, size int, lim Limits) (Page, error) {
	if size <= 0 || size > MaxPageSize {
		size = MaxPageSize
	}
	page = max(page, 0)
	from := int64(page)*int64(size) + 1
	items, last, count, err := s.store.Page(ctx, accountID, lim.ProductID, from, from+int64(size)-1)
	if err != nil {
		return Page{}, err
	}
	out := Page{Number: page, Size: size, TotalPages: (last + int64(size) - 1) / int64(size), TotalItems: count, Items: []View{}}
	if len(items) == 0 {
		return out, nil
	}
	ids := make([]int64, len(items))
	for i, l := range items {
		ids[i] = l.CustomerID
	}
	cs, err := s.customers.CustomersByID(ctx, accountID, ids)
	if err != nil {
		return Page{}, err
	}
	names := make(map[int64]string, len(cs))
	for _, c := range cs {
		names[c.ID] = c.Name
	}
	views := make([]View, 0, len(items))
	for _, l := range items {
		if name, ok := names[l.CustomerID]; ok {
			views = append(views, View{Licensee: l, Name: name})
		}
	}
	if err := s.inUse(ctx, views); err != nil {
		return Page{}, err
	}
	out.Items = views
	return out, nil
}

// inUse fills InUse of each view, a few queries at a time.
func (s *Service) inUse(ctx context.Context, views []View) error {
	var wg sync.WaitGroup
	errs := make([]error, len(views))
	sem := make(chan struct{}, 8)
	for i := range views {
		wg.Add(1)
		sem <- struct{}{}
		go func(v *View, err *error) {
			defer wg.Done()
			defer func() { <-sem }()
			v.InUse, *err = s.licenses.HasCustomerKeys(ctx, v.AccountID, v.CustomerID, v.ProductID)
		}(&views[i], &errs[i])
	}
	wg.Wait()
	return errors.Join(errs...)
}

// maxEditAttempts bounds retries of an edit that keeps losing races.
const maxEditAttempts = 20

// Update sets the given fields. A new number is refused once the licensee
// has a license (LicenseeNumberReadOnly); a new name renames the customer
// (needs lim.AccountWide unless the licensee created it). Properties are
// merged; an empty value removes one. Concurrent updates are serialized by
// the store's version condition (a lost race is retried on the fresh
// licensee). Errors: those of Get and Create.
func (s *Service) Update(ctx context.Context, accountID int64, number string, f Fields, lim Limits) (View, error) {
	if err := checkFields(f); err != nil {
		return View{}, err
	}
	for attempt := 0; ; attempt++ {
		prev, err := s.get(ctx, accountID, number, lim, true)
		if err != nil {
			return View{}, err
		}
		v, err := s.view(ctx, prev)
		if err != nil {
			return View{}, err
		}
		l := prev
		if f.Active != nil {
			l.Active = *f.Active
		}
		if f.MarkedForTransfer != nil {
			l.MarkedForTransfer = *f.MarkedForTransfer
		}
		if f.Secret != nil {
			l.Secret = *f.Secret
		}
		if len(f.Properties) > 0 {
			merged := make(map[string]string, len(prev.Properties)+len(f.Properties))
			for k, val := range prev.Properties {
				merged[k] = val
			}
			for k, val := range f.Properties {
				if val == "" {
					delete(merged, k)
				} else {
					merged[k] = val
				}
			}
			if err := checkProperties(merged, false); err != nil {
				return View{}, err
			}
			l.Properties = merged
		}
		if f.Number != nil && *f.Number != prev.Number {
			if v.InUse {
				return View{}, apierr.LicenseeNumberReadOnly
			}
			l.Number = *f.Number
		}
		rename := f.Name != nil && *f.Name != v.Name
		if rename && !l.OwnsCustomer && !lim.AccountWide {
			return View{}, apierr.AccessDenied
		}
		if !sameLicensee(prev, l) {
			err = s.store.Replace(ctx, prev, l)
			switch {
			case errors.Is(err, apierr.Conflict) && attempt < maxEditAttempts:
				continue
			case errors.Is(err, ErrNumberTaken):
				return View{}, apierr.LicenseeNumberTaken
			case errors.Is(err, apierr.NotFound):
				return View{}, apierr.LicenseeNotFound
			case err != nil:
				return View{}, err
			}
			l.Version = prev.Version + 1
		}
		v.Licensee = l
		if rename {
			c, err := s.customers.EditCustomer(ctx, accountID, l.CustomerID, customers.CustomerFields{Name: f.Name}, false)
			if errors.Is(err, apierr.CustomerCouldNotBeFound) {
				return View{}, apierr.LicenseeNotFound
			}
			if err != nil {
				return View{}, err
			}
			v.Name = c.Name
		}
		return v, nil
	}
}

// sameLicensee reports whether a and b store the same fields.
func sameLicensee(a, b Licensee) bool {
	if a.Number != b.Number || a.Active != b.Active || a.MarkedForTransfer != b.MarkedForTransfer || a.Secret != b.Secret ||
		len(a.Properties) != len(b.Properties) {
		return false
	}
	for k, v := range a.Properties {
		if w, ok := b.Properties[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Delete removes a licensee. Its licenses (keys) are deleted with it when
// cascade is set; without it a licensee that has licenses is refused
// (LicenseeHasLicenses). A customer the licensee created is removed too
// when it has no other licensee and no key left. Errors: those of Get.
func (s *Service) Delete(ctx context.Context, accountID int64, number string, cascade bool, lim Limits) error {
	for attempt := 0; ; attempt++ {
		l, err := s.get(ctx, accountID, number, lim, true)
		if err != nil {
			return err
		}
		if cascade {
			if err := s.eachLicense(ctx, l, func(r keys.Record) error {
				err := s.keys.Delete(ctx, accountID, r.ProductID, r.Key)
				if errors.Is(err, apierr.KeyNotFound) {
					return nil
				}
				return err
			}); err != nil {
				return err
			}
		} else if has, err := s.licenses.HasCustomerKeys(ctx, accountID, l.CustomerID, l.ProductID); err != nil {
			return err
		} else if has {
			return apierr.LicenseeHasLicenses
		}
		err = s.store.Delete(ctx, l)
		if errors.Is(err, apierr.Conflict) && attempt < maxEditAttempts {
			continue
		}
		if errors.Is(err, apierr.NotFound) {
			return apierr.LicenseeNotFound
		}
		if err != nil {
			return err
		}
		if l.OwnsCustomer {
			return s.dropCustomer(ctx, l)
		}
		return nil
	}
}

// dropCustomer removes the customer of a deleted licensee that created it,
// unless it is another product's licensee or has a key.
func (s *Service) dropCustomer(ctx context.Context, l Licensee) error {
	others, err := s.store.OfCustomer(ctx, l.AccountID, l.CustomerID)
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.Number != l.Number {
			return nil
		}
	}
	if has, err := s.licenses.HasCustomerKeys(ctx, l.AccountID, l.CustomerID, 0); err != nil || has {
		return err
	}
	err = s.customers.RemoveCustomer(ctx, l.AccountID, l.CustomerID)
	if errors.Is(err, apierr.CustomerDoesNotExist) {
		return nil
	}
	return err
}

// eachLicense calls fn for every license of l, reading moveBatch at a time
// until a read finds none still linked (fn must unlink the license: delete
// it or move it to another customer).
func (s *Service) eachLicense(ctx context.Context, l Licensee, fn func(keys.Record) error) error {
	for {
		recs, err := s.licenses.CustomerProductKeys(ctx, l.AccountID, l.CustomerID, l.ProductID, moveBatch)
		if err != nil || len(recs) == 0 {
			return err
		}
		for _, r := range recs {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
}

// Transfer moves every license of the source licensee to the target
// licensee: the keys' customer becomes the target's. Both must belong to
// the same product and the source must be marked for transfer. Errors:
// LicenseeSourceNotProvided, LicenseeTransferToSelf,
// LicenseeTransferProducts, LicenseeNotMarkedTransfer and those of Get.
func (s *Service) Transfer(ctx context.Context, accountID int64, target, source string, lim Limits) error {
	if source == "" {
		return apierr.LicenseeSourceNotProvided
	}
	t, err := s.get(ctx, accountID, target, lim, true)
	if err != nil {
		return err
	}
	src, err := s.get(ctx, accountID, source, lim, true)
	if err != nil {
		return err
	}
	switch {
	case src.Number == t.Number:
		return apierr.LicenseeTransferToSelf
	case src.ProductID != t.ProductID:
		return apierr.LicenseeTransferProducts
	case !src.MarkedForTransfer:
		return apierr.LicenseeNotMarkedTransfer
	}
	if src.CustomerID == t.CustomerID {
		return nil
	}
	to := t.CustomerID
	return s.eachLicense(ctx, src, func(r keys.Record) error {
		_, err := s.keys.Change(ctx, accountID, r.ProductID, r.Key, keys.Change{CustomerID: &to})
		if errors.Is(err, apierr.KeyNotFound) {
			return nil
		}
		return err
	})
}

// ValidateInput is what a validation may pass besides the number.
type ValidateInput struct {
	// Secret is the licensee secret the client holds (licenseeSecret).
	Secret string
}

// Validity is one product's or feature's validation.
type Validity struct {
	Valid bool
	// Expires is when a valid answer ends (the latest expiry of the valid
	// licenses) when every valid license is time-limited; for an invalid
	// answer it is when the last time-limited license expired. Nil when a
	// valid license never expires or no license is time-limited.
	Expires *time.Time
}

// Validation is the result of Validate.
type Validation struct {
	Licensee Licensee
	Product  catalog.Product
	// Product is the validity of the licensee's product.
	ProductValidity Validity
	// Features are F1..F8.
	Features [8]Validity
	// TTL is when the answer must be asked for again: ValidationTTL from
	// now, or earlier when a valid license expires before that.
	TTL time.Time
}

// Validate computes the licensee's validity from its licenses (see the
// package documentation). One read of the licensee, one Query and one
// BatchGetItem of its licenses (at most MaxValidatedLicenses), the
// product from the cache. Errors: those of Get.
func (s *Service) Validate(ctx context.Context, accountID int64, number string, in ValidateInput, lim Limits) (Validation, error) {
	l, err := s.get(ctx, accountID, number, lim, false)
	if err != nil {
		return Validation{}, err
	}
	p, err := s.products.GetProduct(ctx, accountID, l.ProductID)
	if errors.Is(err, apierr.NotFound) {
		return Validation{}, apierr.LicenseeNotFound
	}
	if err != nil {
		return Validation{}, err
	}
	now := s.now().UTC()
	v := Validation{Licensee: l, Product: p, TTL: now.Add(ValidationTTL)}
	if !l.Active || l.Secret != "" && subtle.ConstantTimeCompare([]byte(in.Secret), []byte(l.Secret)) != 1 {
		return v, nil
	}
	recs, err := s.licenses.CustomerProductKeys(ctx, accountID, l.CustomerID, l.ProductID, MaxValidatedLicenses)
	if err != nil {
		return Validation{}, err
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].ID < recs[j].ID })
	var product tally
	var features [8]tally
	for _, r := range recs {
		st := license.ComputeMetadata(license.FromRecord(r, now, 3, ""), p.Features, now).LicenseStatus
		if st.IsValid && st.TimeLimited && r.Expires.Before(v.TTL) {
			v.TTL = r.Expires
		}
		product.add(st, r.Expires)
		for i, on := range r.Features {
			if on {
				features[i].add(st, r.Expires)
			}
		}
	}
	v.ProductValidity = product.validity()
	for i := range features {
		v.Features[i] = features[i].validity()
	}
	return v, nil
}

// tally collects the licenses that decide one validity.
type tally struct {
	valid, perpetual bool
	// validUntil is the latest expiry of a valid time-limited license;
	// expired the latest expiry of an expired one.
	validUntil, expired time.Time
}

func (t *tally) add(st wire.LicenseStatus, expires time.Time) {
	switch {
	case st.IsValid && !st.TimeLimited:
		t.valid, t.perpetual = true, true
	case st.IsValid:
		t.valid = true
		if expires.After(t.validUntil) {
			t.validUntil = expires
		}
	case st.ReasonForInvalidity == license.ReasonExpired && expires.After(t.expired):
		t.expired = expires
	}
}

func (t tally) validity() Validity {
	switch {
	case t.valid && t.perpetual:
		return Validity{Valid: true}
	case t.valid:
		e := t.validUntil
		return Validity{Valid: true, Expires: &e}
	case !t.expired.IsZero():
		e := t.expired
		return Validity{Expires: &e}
	}
	return Validity{}
}
