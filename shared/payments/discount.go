package payments

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
)

// Discount is a discount code of an account: a percentage or a fixed
// amount (in one currency) off the price of a payment form, optionally
// only for one product's forms, until an expiry, at most MaxRedemptions
// times.
type Discount struct {
	AccountID int64
	// Code is what buyers type (upper case; matched case-insensitively).
	Code string
	// ProductID restricts the code to payment forms of that product
	// (forms that create keys of it); 0 means any form.
	ProductID int64
	// PercentOff (1..99) or AmountOff (minor units of Currency) is set.
	PercentOff int64
	AmountOff  int64
	Currency   string
	// Expires is when the code stops working (zero: never).
	Expires time.Time
	// MaxRedemptions bounds how often the code is redeemed (0: no bound);
	// Redeemed counts redemptions (a checkout that expires or fails gives
	// its redemption back).
	MaxRedemptions int64
	Redeemed       int64
	Created        time.Time
}

// DiscountInput describes a discount code to create.
type DiscountInput struct {
	// Code is the code buyers type: 3 to 32 letters, digits, '-' or '_'
	// (case-insensitive). Empty: a random code of the form XXXXX-XXXXX-XXXXX.
	Code string
	// ProductID restricts the code to one product's payment forms (0: any).
	ProductID int64
	// Either PercentOff (1..99) or AmountOff (minor units, > 0, at most
	// MaxAmount) with Currency. A checkout charges at least one minor
	// unit, so no code makes a purchase free.
	PercentOff int64
	AmountOff  int64
	Currency   string
	// Expires (zero: never) must be in the future.
	Expires time.Time
	// MaxRedemptions (0: unlimited) must not be negative.
	MaxRedemptions int64
}

// DiscountStore persists discount codes. Redemption is one conditional
// write, so a code with MaxRedemptions N is redeemed at most N times
// however many buyers use it at once.
type DiscountStore interface {
	// CreateDiscount stores d; apierr.Conflict when the account already
	// has the code.
	CreateDiscount(ctx context.Context, d Discount) error
	// GetDiscount returns the account's code (as normalized by
	// NormalizeCode) or apierr.NotFound.
	GetDiscount(ctx context.Context, accountID int64, code string) (Discount, error)
	// RedeemDiscount counts one redemption if the code exists, has not
	// expired at now and has redemptions left (one conditional update)
	// and returns the code after it: apierr.NotFound when it does not
	// exist, ErrDiscountUnavailable when it expired or is used up.
	RedeemDiscount(ctx context.Context, accountID int64, code string, now time.Time) (Discount, error)
	// ReleaseDiscount gives one redemption back (never below zero).
	ReleaseDiscount(ctx context.Context, accountID int64, code string) error
}

// Discount errors. The Create messages are client-facing (Keyturn's own;
// the Bytex Discounts endpoint and the admin API show them).
var (
	ErrDiscountCode      = apierr.New("The discount code must be 3 to 32 letters, digits, '-' or '_'.")
	ErrDiscountKind      = apierr.New("A discount needs either percentOff (1 to 99) or amountOff (greater than 0) with its currency, not both.")
	ErrDiscountCurrency  = apierr.New("The discount currency is not a currency payments accept.")
	ErrDiscountAmount    = apierr.New("The discount amount is out of range.")
	ErrDiscountExpires   = apierr.New("The discount expiry must be in the future.")
	ErrDiscountMaxUses   = apierr.New("maxRedemptions must not be negative.")
	ErrDiscountExists    = apierr.New("A discount with this code already exists.")
	ErrDiscountNotFound  = apierr.New("The discount code does not exist.")
	ErrDiscountProduct   = apierr.New("The discount's product does not exist.")
	ErrDiscountNotForUse = apierr.New("The discount code does not apply to this purchase.")
	// ErrDiscountUnavailable: the code expired or has no redemptions left.
	ErrDiscountUnavailable = apierr.New("The discount code has expired or has been used up.")
)

// NormalizeCode returns the stored form of a code (trimmed, upper case).
func NormalizeCode(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

func validCode(code string) bool {
	if len(code) < 3 || len(code) > 32 {
		return false
	}
	for _, r := range code {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// codeAlphabet has no 0/O or 1/I, so codes read back unambiguously.
const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// newCode returns a random code XXXXX-XXXXX-XXXXX (75 bits).
func newCode(random io.Reader) (string, error) {
	var b [15]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", err
	}
	out := make([]byte, 0, 17)
	for i, c := range b {
		if i == 5 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, codeAlphabet[int(c)%len(codeAlphabet)])
	}
	return string(out), nil
}

// ProductChecker tells whether an account has a product.
type ProductChecker func(ctx context.Context, accountID, productID int64) error

// Discounts manages discount codes. Safe for concurrent use.
type Discounts struct {
	store    DiscountStore
	products ProductChecker
	now      func() time.Time
	random   io.Reader
}

// NewDiscounts returns the discount service; products checks a code's
// product (nil: not checked).
func NewDiscounts(store DiscountStore, products ProductChecker, now func() time.Time, random io.Reader) *Discounts {
	return &Discounts{store: store, products: products, now: now, random: random}
}

// Create validates in and stores a new discount code for the account: one
// conditional write (a taken code is refused, never overwritten).
// Errors (client-facing): ErrDiscountCode, ErrDiscountKind,
// ErrDiscountCurrency, ErrDiscountAmount, ErrDiscountExpires,
// ErrDiscountMaxUses, ErrDiscountProduct, ErrDiscountExists; store faults
// otherwise.
func (s *Discounts) Create(ctx context.Context, accountID int64, in DiscountInput) (Discount, error) {
	d := Discount{AccountID: accountID, Code: NormalizeCode(in.Code), ProductID: in.ProductID,
		PercentOff: in.PercentOff, AmountOff: in.AmountOff, MaxRedemptions: in.MaxRedemptions,
		Created: s.now().UTC().Truncate(time.Second)}
	generated := d.Code == ""
	if generated {
		c, err := newCode(s.random)
		if err != nil {
			return Discount{}, err
		}
		d.Code = c
	}
	switch {
	case !validCode(d.Code):
		return Discount{}, ErrDiscountCode
	case (in.PercentOff != 0) == (in.AmountOff != 0) || in.PercentOff < 0 || in.PercentOff > 99:
		return Discount{}, ErrDiscountKind
	case in.AmountOff < 0 || in.AmountOff > MaxAmount:
		return Discount{}, ErrDiscountAmount
	case in.MaxRedemptions < 0:
		return Discount{}, ErrDiscountMaxUses
	case in.ProductID < 0:
		return Discount{}, ErrDiscountProduct
	}
	if in.AmountOff > 0 {
		cur, ok := Currency(in.Currency)
		if !ok {
			return Discount{}, ErrDiscountCurrency
		}
		d.Currency = cur
	} else if strings.TrimSpace(in.Currency) != "" {
		return Discount{}, ErrDiscountKind
	}
	if !in.Expires.IsZero() {
		if !in.Expires.After(s.now()) {
			return Discount{}, ErrDiscountExpires
		}
		d.Expires = in.Expires.UTC().Truncate(time.Second)
	}
	if d.ProductID != 0 && s.products != nil {
		if err := s.products(ctx, accountID, d.ProductID); errors.Is(err, apierr.NotFound) {
			return Discount{}, ErrDiscountProduct
		} else if err != nil {
			return Discount{}, err
		}
	}
	err := s.store.CreateDiscount(ctx, d)
	if errors.Is(err, apierr.Conflict) && generated {
		// 75 random bits collided: only a broken random source does that.
		return Discount{}, errors.New("payments: generated discount code already exists")
	}
	if errors.Is(err, apierr.Conflict) {
		return Discount{}, ErrDiscountExists
	}
	return d, err
}

// Get returns the account's discount code: ErrDiscountNotFound when it
// has none by that code.
func (s *Discounts) Get(ctx context.Context, accountID int64, code string) (Discount, error) {
	code = NormalizeCode(code)
	if !validCode(code) {
		return Discount{}, ErrDiscountNotFound
	}
	d, err := s.store.GetDiscount(ctx, accountID, code)
	if errors.Is(err, apierr.NotFound) {
		return Discount{}, ErrDiscountNotFound
	}
	return d, err
}

// Redeem counts one redemption of the code (one conditional write):
// ErrDiscountNotFound, ErrDiscountUnavailable (expired or used up).
func (s *Discounts) Redeem(ctx context.Context, accountID int64, code string) (Discount, error) {
	code = NormalizeCode(code)
	if !validCode(code) {
		return Discount{}, ErrDiscountNotFound
	}
	d, err := s.store.RedeemDiscount(ctx, accountID, code, s.now())
	if errors.Is(err, apierr.NotFound) {
		return Discount{}, ErrDiscountNotFound
	}
	return d, err
}

// Release gives back a redemption Redeem counted.
func (s *Discounts) Release(ctx context.Context, accountID int64, code string) error {
	return s.store.ReleaseDiscount(ctx, accountID, NormalizeCode(code))
}

// Usable reports whether d can be redeemed at now (not expired, not used
// up); the store's conditional write decides for real.
func (d Discount) Usable(now time.Time) bool {
	return (d.Expires.IsZero() || now.Before(d.Expires)) && (d.MaxRedemptions == 0 || d.Redeemed < d.MaxRedemptions)
}

// Off returns how much d takes off amount (minor units of currency) on a
// form of productID: ErrDiscountNotForUse when the code is for another
// product or currency, or would leave nothing to pay (checkouts charge at
// least one minor unit).
func (d Discount) Off(amount int64, currency string, productID int64) (int64, error) {
	if d.ProductID != 0 && d.ProductID != productID {
		return 0, ErrDiscountNotForUse
	}
	var off int64
	if d.PercentOff > 0 {
		off = amount * d.PercentOff / 100
	} else {
		if d.Currency != currency {
			return 0, ErrDiscountNotForUse
		}
		off = d.AmountOff
	}
	if off >= amount || off <= 0 {
		return 0, ErrDiscountNotForUse
	}
	return off, nil
}
