// Package customers is the customer and reseller domain: customer records
// with their secrets and portal settings, resellers with their metadata,
// validation with the documented messages, and the rules that tie them to
// license keys. It imports nothing from AWS; shared/dynamo/customerstore implements Store.
//
// Removing a customer or reseller keeps its licenses: they are dissociated
// (their CustomerId / ResellerId becomes 0, and a license payload shows
// Customer / Reseller as null). A license whose customer disappeared
// between the removal and the dissociation renders the same way, so no
// payload ever carries a dangling reference.
package customers

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyturn/keyturn/shared/apierr"
)

// Documented messages of the customer and reseller methods.
var (
	errSecretGenerationFail = errors.New("customer secret: could not generate a unique secret")

	// ErrSecretInUse is returned by stores when a customer secret is
	// already claimed in the account.
	ErrSecretInUse = errors.New("customer secret in use")
)

// Length limits from the reference.
const (
	maxName        = 100
	maxEmail       = 100
	maxCompany     = 100
	maxNotes       = 1000
	maxResellerURL = 500
	maxPhone       = 100
	maxDescription = 500
	// MaxMetadataBytes bounds a reseller's metadata dictionary (JSON).
	MaxMetadataBytes = 10000
)

// Customer is a stored customer.
type Customer struct {
	AccountID   int64
	ID          int64
	Name        string
	Email       *string
	CompanyName *string
	Notes       *string
	Created     time.Time
	// EnableCustomerAssociation lets the customer open the portal link.
	EnableCustomerAssociation    bool
	AllowActivationManagement    bool
	AllowMultipleUserAssociation bool
	// MaxNoOfDevices limits the distinct machines activated across the
	// customer's node-locked licenses (0 = unlimited).
	MaxNoOfDevices int64
	// Secret identifies the customer to GetCustomerLicensesBySecret and
	// the portal; unique within the account.
	Secret string
	// DeviceCount is how many distinct machines are counted against
	// MaxNoOfDevices (maintained by the store).
	DeviceCount int64
	// Version is the store's revision of the record (optimistic
	// concurrency for edits).
	Version int64
}

// Reseller is a stored reseller.
type Reseller struct {
	AccountID      int64
	ID             int64
	InviteID       int64
	ResellerUserID int64
	Created        time.Time
	Name           *string
	URL            *string
	Email          *string
	Phone          *string
	Description    *string
	Metadata       map[string]string
}

// CustomerFields are the editable customer fields; nil means "not given".
type CustomerFields struct {
	Name, Email, CompanyName, Notes *string
	EnableCustomerAssociation       *bool
	AllowActivationManagement       *bool
	AllowMultipleUserAssociation    *bool
	MaxNoOfDevices                  *int64
}

// Validate checks the documented length limits (in characters).
func (f CustomerFields) Validate() error {
	switch {
	case tooLong(f.Name, maxName):
		return apierr.CustomerNameTooLong
	case tooLong(f.Email, maxEmail):
		return apierr.CustomerEmailTooLong
	case tooLong(f.CompanyName, maxCompany):
		return apierr.CustomerCompanyTooLong
	case tooLong(f.Notes, maxNotes):
		return apierr.BadInput
	case f.MaxNoOfDevices != nil && *f.MaxNoOfDevices < 0:
		return apierr.BadInput
	}
	return nil
}

// Apply copies the given fields onto c.
func (f CustomerFields) Apply(c *Customer) {
	if f.Name != nil {
		c.Name = *f.Name
	}
	if f.Email != nil {
		c.Email = f.Email
	}
	if f.CompanyName != nil {
		c.CompanyName = f.CompanyName
	}
	if f.Notes != nil {
		c.Notes = f.Notes
	}
	if f.EnableCustomerAssociation != nil {
		c.EnableCustomerAssociation = *f.EnableCustomerAssociation
	}
	if f.AllowActivationManagement != nil {
		c.AllowActivationManagement = *f.AllowActivationManagement
	}
	if f.AllowMultipleUserAssociation != nil {
		c.AllowMultipleUserAssociation = *f.AllowMultipleUserAssociation
	}
	if f.MaxNoOfDevices != nil {
		c.MaxNoOfDevices = *f.MaxNoOfDevices
	}
}

// ResellerFields are the editable reseller fields; nil means "not given".
// Metadata entries with an empty value are removed by an edit.
type ResellerFields struct {
	Name, URL, Email, Phone, Description *string
	Metadata                             map[string]string
}

// Validate checks the documented length limits.
func (f ResellerFields) Validate() error {
	switch {
	case tooLong(f.Name, maxName):
		return apierr.ResellerNameTooLong
	case tooLong(f.URL, maxResellerURL):
		return apierr.ResellerURLTooLong
	case tooLong(f.Email, maxEmail):
		return apierr.ResellerEmailTooLong
	case tooLong(f.Phone, maxPhone):
		return apierr.ResellerPhoneTooLong
	case tooLong(f.Description, maxDescription):
		return apierr.ResellerDescTooLong
	}
	n := 0
	for k, v := range f.Metadata {
		n += len(k) + len(v)
	}
	if n > MaxMetadataBytes {
		return apierr.ResellerBadModel
	}
	return nil
}

// Apply copies the given fields onto r; metadata is merged, and keys
// given with an empty value are deleted.
func (f ResellerFields) Apply(r *Reseller) {
	set := func(dst **string, v *string) {
		if v != nil {
			*dst = v
		}
	}
	set(&r.Name, f.Name)
	set(&r.URL, f.URL)
	set(&r.Email, f.Email)
	set(&r.Phone, f.Phone)
	set(&r.Description, f.Description)
	if f.Metadata != nil && r.Metadata == nil {
		r.Metadata = map[string]string{}
	}
	for k, v := range f.Metadata {
		if v == "" {
			delete(r.Metadata, k)
		} else {
			r.Metadata[k] = v
		}
	}
}

func tooLong(s *string, n int) bool { return s != nil && utf8.RuneCountInString(*s) > n }

// MaxSecretLength bounds the customer secret a request may present (in
// bytes). Issued secrets have 32 characters; a longer value cannot resolve,
// and is answered like an unknown secret before any storage call (the
// secret is part of an item key).
const MaxSecretLength = 256

// NewSecret returns a random customer secret (32 URL-safe characters from
// 24 random bytes).
func NewSecret(random io.Reader) (string, error) {
	b := make([]byte, 24)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", fmt.Errorf("customer secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Store persists customers and resellers. Errors: apierr.NotFound for a
// missing item, apierr.Conflict when a uniqueness condition failed.
type Store interface {
	NextID(ctx context.Context, counter string) (int64, error)
	// CreateCustomer stores a new customer; ErrSecretInUse if its secret
	// is taken.
	CreateCustomer(ctx context.Context, c Customer) error
	GetCustomer(ctx context.Context, accountID, id int64) (Customer, error)
	// CustomerBySecret finds a customer of the account by secret.
	CustomerBySecret(ctx context.Context, accountID int64, secret string) (Customer, error)
	// CustomerByEmail finds the oldest customer with this email (case
	// insensitive), or NotFound.
	CustomerByEmail(ctx context.Context, accountID int64, email string) (Customer, error)
	// ReplaceCustomer writes c's fields over prev (same id) if the stored
	// record is still at prev.Version (else Conflict); when the secret
	// changes, the old secret is released and the new one claimed
	// atomically (ErrSecretInUse if taken). NotFound if the customer is
	// gone. The device count is not touched.
	ReplaceCustomer(ctx context.Context, prev, c Customer) error
	// DeleteCustomer removes the customer and its secret.
	DeleteCustomer(ctx context.Context, c Customer) error
	// ListCustomers reads the account's customers in id order (or newest
	// first) that keep accepts, filtered as q allows, stopping at q.Limit
	// of them; without a limit, more than apierr.MaxListed kept customers
	// are apierr.ListTooLong.
	ListCustomers(ctx context.Context, accountID int64, q ListQuery, keep func(Customer) bool) ([]Customer, error)
	// CustomersByID reads customers by id in the given order, skipping
	// missing ones.
	CustomersByID(ctx context.Context, accountID int64, ids []int64) ([]Customer, error)

	CreateReseller(ctx context.Context, r Reseller) error
	GetReseller(ctx context.Context, accountID, id int64) (Reseller, error)
	PutReseller(ctx context.Context, r Reseller) error
	// DeleteReseller removes the reseller.
	DeleteReseller(ctx context.Context, r Reseller) error
	ListResellers(ctx context.Context, accountID int64) ([]Reseller, error)
	// ResellersByID reads resellers by id in the given order, skipping
	// missing ones.
	ResellersByID(ctx context.Context, accountID int64, ids []int64) ([]Reseller, error)
}

// Licenses is what the customer domain needs of the licenses that point at
// customers and resellers.
type Licenses interface {
	// DissociateCustomer sets every license of the customer to no
	// customer and forgets the customer's device records.
	DissociateCustomer(ctx context.Context, accountID, customerID int64) error
	// DissociateReseller sets every license of the reseller to no
	// reseller.
	DissociateReseller(ctx context.Context, accountID, resellerID int64) error
	// ResellerCustomerIDs returns the distinct customer ids of the
	// reseller's licenses.
	ResellerCustomerIDs(ctx context.Context, accountID, resellerID int64) ([]int64, error)
	// RecountDevices brings the customer's device count in line with the
	// machines node-locked on its licenses (counting those activated while
	// it had no limit).
	RecountDevices(ctx context.Context, accountID, customerID int64) error
}

// Service implements the customer and reseller operations.
type Service struct {
	store    Store
	licenses Licenses
	now      func() time.Time
	random   io.Reader
}

// NewService returns a Service.
func NewService(s Store, licenses Licenses, now func() time.Time, random io.Reader) *Service {
	return &Service{store: s, licenses: licenses, now: now, random: random}
}

// AddCustomer creates a customer with a fresh unique secret. name is
// required by AddCustomer (CreateKey's NewCustomer may pass "").
func (s *Service) AddCustomer(ctx context.Context, accountID int64, f CustomerFields) (Customer, error) {
	if err := f.Validate(); err != nil {
		return Customer{}, err
	}
	id, err := s.store.NextID(ctx, "customer")
	if err != nil {
		return Customer{}, err
	}
	c := Customer{AccountID: accountID, ID: id, Created: s.now().UTC().Truncate(time.Millisecond)}
	f.Apply(&c)
	for attempt := 0; attempt < 3; attempt++ {
		if c.Secret, err = NewSecret(s.random); err != nil {
			return Customer{}, err
		}
		err = s.store.CreateCustomer(ctx, c)
		if !errors.Is(err, ErrSecretInUse) {
			break
		}
	}
	if errors.Is(err, ErrSecretInUse) {
		// Three random secrets in a row were taken: only a broken random
		// source does that.
		return Customer{}, apierr.CustomerSecretTaken.Wrap(errSecretGenerationFail)
	}
	return c, err
}

// AddOrUseCustomer returns the customer with f's email, or creates one.
func (s *Service) AddOrUseCustomer(ctx context.Context, accountID int64, f CustomerFields) (Customer, error) {
	if err := f.Validate(); err != nil {
		return Customer{}, err // before the lookup: the email is part of an item key
	}
	if f.Email != nil && *f.Email != "" {
		c, err := s.store.CustomerByEmail(ctx, accountID, *f.Email)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, apierr.NotFound) {
			return Customer{}, err
		}
	}
	return s.AddCustomer(ctx, accountID, f)
}

// EditCustomer changes the given fields; newSecret replaces the secret.
// Giving a positive MaxNoOfDevices also recounts the customer's devices.
// Concurrent edits are serialized by the store's conditional write
// (a lost race is retried on the fresh record).
func (s *Service) EditCustomer(ctx context.Context, accountID, id int64, f CustomerFields, newSecret bool) (Customer, error) {
	if err := f.Validate(); err != nil {
		return Customer{}, err
	}
	for attempt := 0; ; attempt++ {
		prev, err := s.store.GetCustomer(ctx, accountID, id)
		if errors.Is(err, apierr.NotFound) {
			return Customer{}, apierr.CustomerCouldNotBeFound
		}
		if err != nil {
			return Customer{}, err
		}
		c := prev
		f.Apply(&c)
		if newSecret {
			if c.Secret, err = NewSecret(s.random); err != nil {
				return Customer{}, err
			}
		}
		err = s.store.ReplaceCustomer(ctx, prev, c)
		switch {
		case err == nil:
			// Setting a limit counts what the customer already uses.
			// Counting is idempotent, so an edit that failed here is
			// completed by repeating it.
			if f.MaxNoOfDevices != nil && c.MaxNoOfDevices > 0 {
				if err := s.licenses.RecountDevices(ctx, accountID, id); err != nil {
					return Customer{}, err
				}
			}
			return c, nil
		case errors.Is(err, apierr.NotFound):
			return Customer{}, apierr.CustomerCouldNotBeFound
		case errors.Is(err, apierr.Conflict) && attempt < maxEditAttempts:
			continue // edited concurrently: apply the change to the fresh record
		case errors.Is(err, ErrSecretInUse):
			return Customer{}, apierr.CustomerSecretTaken
		default:
			return Customer{}, err
		}
	}
}

// maxEditAttempts bounds retries of an edit that keeps losing races.
const maxEditAttempts = 50

// RemoveCustomer deletes a customer, then dissociates its licenses and
// forgets its devices. A crash in between leaves licenses pointing at a
// missing customer, which render as "no customer"; removing again is not
// possible (the customer is gone), but ChangeCustomer dissociates such a
// license, and the next RemoveCustomer of the id answers not found.
func (s *Service) RemoveCustomer(ctx context.Context, accountID, id int64) error {
	c, err := s.store.GetCustomer(ctx, accountID, id)
	if errors.Is(err, apierr.NotFound) {
		return apierr.CustomerDoesNotExist
	}
	if err != nil {
		return err
	}
	if err := s.store.DeleteCustomer(ctx, c); err != nil {
		return err
	}
	return s.licenses.DissociateCustomer(ctx, accountID, id)
}

// CustomerQuery filters GetCustomers.
type CustomerQuery struct {
	Search           string
	IncludeIDSearch  bool
	CustomerID       int64
	Limit            int64
	CreatedNewestTop bool
}

// GetCustomers lists the account's customers: by default in id order
// (creation order), newest first with CreatedNewestTop; Search matches
// name, company, email or secret (case-insensitive substring), and the id
// when IncludeIDSearch is set and Search is numeric. The store reads in
// order and stops at Limit matches; without a Limit, more than
// apierr.MaxListed matches answer apierr.ListTooLong.
func (s *Service) GetCustomers(ctx context.Context, accountID int64, q CustomerQuery) ([]Customer, error) {
	if q.CustomerID != 0 {
		c, err := s.store.GetCustomer(ctx, accountID, q.CustomerID)
		if errors.Is(err, apierr.NotFound) || err == nil && q.Search != "" && !matchesCustomer(c, strings.ToLower(q.Search), q.IncludeIDSearch) {
			return []Customer{}, nil
		}
		if err != nil {
			return nil, err
		}
		return []Customer{c}, nil
	}
	needle := strings.ToLower(q.Search)
	keep := func(c Customer) bool { return q.Search == "" || matchesCustomer(c, needle, q.IncludeIDSearch) }
	out, err := s.store.ListCustomers(ctx, accountID, ListQuery{Search: needle, IncludeID: q.IncludeIDSearch,
		Desc: q.CreatedNewestTop, Limit: q.Limit}, keep)
	if out == nil && err == nil {
		out = []Customer{}
	}
	return out, err
}

// ListQuery tells a store how to read customers: Search (lower-cased) and
// IncludeID let it filter before reading items into memory; Desc reads
// newest first; Limit > 0 stops after that many kept customers.
type ListQuery struct {
	Search    string
	IncludeID bool
	Desc      bool
	Limit     int64
}

// SearchText is what a customer's Search matches, lower-cased (stores
// keep it so they can filter without reading every customer).
func SearchText(c Customer) string {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return strings.ToLower(c.Name + "\n" + str(c.Email) + "\n" + str(c.CompanyName) + "\n" + c.Secret)
}

func matchesCustomer(c Customer, needle string, byID bool) bool {
	has := func(s *string) bool { return s != nil && strings.Contains(strings.ToLower(*s), needle) }
	if strings.Contains(strings.ToLower(c.Name), needle) || has(c.Email) || has(c.CompanyName) || strings.Contains(strings.ToLower(c.Secret), needle) {
		return true
	}
	return byID && fmt.Sprint(c.ID) == strings.TrimSpace(needle)
}

// CustomerBySecret resolves GetCustomerLicensesBySecret's secret.
func (s *Service) CustomerBySecret(ctx context.Context, accountID int64, secret string) (Customer, error) {
	if secret == "" {
		return Customer{}, apierr.CustomerSecretNotSpecified
	}
	if len(secret) > MaxSecretLength {
		// Not a secret this service issued: no storage call for it.
		return Customer{}, apierr.CustomerDoesNotExist
	}
	c, err := s.store.CustomerBySecret(ctx, accountID, secret)
	if errors.Is(err, apierr.NotFound) {
		return Customer{}, apierr.CustomerDoesNotExist
	}
	return c, err
}

// AddReseller creates a reseller.
func (s *Service) AddReseller(ctx context.Context, accountID int64, f ResellerFields) (Reseller, error) {
	if err := f.Validate(); err != nil {
		return Reseller{}, err
	}
	id, err := s.store.NextID(ctx, "reseller")
	if err != nil {
		return Reseller{}, err
	}
	r := Reseller{AccountID: accountID, ID: id, Created: s.now().UTC().Truncate(time.Millisecond), Metadata: map[string]string{}}
	f.Apply(&r)
	return r, s.store.CreateReseller(ctx, r)
}

// EditReseller changes the given fields of a reseller.
func (s *Service) EditReseller(ctx context.Context, accountID, id int64, f ResellerFields) (Reseller, error) {
	if err := f.Validate(); err != nil {
		return Reseller{}, err
	}
	r, err := s.store.GetReseller(ctx, accountID, id)
	if errors.Is(err, apierr.NotFound) {
		return Reseller{}, apierr.ResellerNotFound
	}
	if err != nil {
		return Reseller{}, err
	}
	f.Apply(&r)
	err = s.store.PutReseller(ctx, r)
	if errors.Is(err, apierr.NotFound) {
		return Reseller{}, apierr.ResellerNotFound
	}
	return r, err
}

// RemoveReseller deletes a reseller and dissociates its licenses.
func (s *Service) RemoveReseller(ctx context.Context, accountID, id int64) error {
	r, err := s.store.GetReseller(ctx, accountID, id)
	if errors.Is(err, apierr.NotFound) {
		return apierr.ResellerAlreadyRemoved
	}
	if err != nil {
		return err
	}
	if err := s.store.DeleteReseller(ctx, r); err != nil {
		return err
	}
	return s.licenses.DissociateReseller(ctx, accountID, id)
}

// GetResellers lists resellers newest first; Search matches name, phone,
// email or description; resellerID selects one.
func (s *Service) GetResellers(ctx context.Context, accountID int64, search string, resellerID, limit int64) ([]Reseller, error) {
	all, err := s.store.ListResellers(ctx, accountID)
	if err != nil {
		return nil, err
	}
	needle := strings.ToLower(search)
	has := func(p *string) bool { return p != nil && strings.Contains(strings.ToLower(*p), needle) }
	out := []Reseller{}
	for i := len(all) - 1; i >= 0; i-- {
		r := all[i]
		if resellerID != 0 && r.ID != resellerID {
			continue
		}
		if search != "" && !(has(r.Name) || has(r.Phone) || has(r.Email) || has(r.Description)) {
			continue
		}
		out = append(out, r)
	}
	if limit > 0 && int64(len(out)) > limit {
		out = out[:limit]
	}
	return out, nil
}

// ResellerCustomers returns the customers of the reseller's licenses.
func (s *Service) ResellerCustomers(ctx context.Context, accountID, resellerID int64) ([]Customer, error) {
	if _, err := s.store.GetReseller(ctx, accountID, resellerID); errors.Is(err, apierr.NotFound) {
		return nil, apierr.ResellerNotFound
	} else if err != nil {
		return nil, err
	}
	ids, err := s.licenses.ResellerCustomerIDs(ctx, accountID, resellerID)
	if err != nil {
		return nil, err
	}
	return s.store.CustomersByID(ctx, accountID, ids)
}

// CustomersByID returns the account's customers with the given ids, in
// that order, skipping missing ones.
func (s *Service) CustomersByID(ctx context.Context, accountID int64, ids []int64) ([]Customer, error) {
	return s.store.CustomersByID(ctx, accountID, ids)
}

// Customer returns a customer of the account (apierr.NotFound if absent).
func (s *Service) Customer(ctx context.Context, accountID, id int64) (Customer, error) {
	return s.store.GetCustomer(ctx, accountID, id)
}

// Reseller returns a reseller of the account (apierr.NotFound if absent).
func (s *Service) Reseller(ctx context.Context, accountID, id int64) (Reseller, error) {
	return s.store.GetReseller(ctx, accountID, id)
}

// CustomerExists returns apierr.NotFound when the customer is missing.
func (s *Service) CustomerExists(ctx context.Context, accountID, id int64) error {
	_, err := s.store.GetCustomer(ctx, accountID, id)
	return err
}
