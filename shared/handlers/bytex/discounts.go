package bytex

import (
	"context"
	"errors"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/payments"
)

// PaymentDiscounts creates Bytex's discounts (Discounts/r1/Create) as the
// discount codes payment forms honour (payments.Discounts).
func PaymentDiscounts(d *payments.Discounts, now func() time.Time) Discounts {
	return paymentDiscounts{d: d, now: now}
}

type paymentDiscounts struct {
	d   *payments.Discounts
	now func() time.Time
}

// CreateDiscount implements Discounts: a percentage (in hundredths of a
// percent) must be a whole percentage payment codes take (1 to 99), a
// validFrom must not be in the future (codes work from their creation),
// validUntil is the expiry, and a code the account already has is
// apierr.Conflict.
func (p paymentDiscounts) CreateDiscount(ctx context.Context, accountID int64, s DiscountSpec) (Discount, error) {
	in := payments.DiscountInput{Code: s.Code, ProductID: s.ProductID, AmountOff: s.AmountOff, Currency: s.Currency,
		Expires: s.ValidUntil, MaxRedemptions: s.MaxRedemptions}
	if s.PercentOff != 0 {
		if s.PercentOff%100 != 0 || s.PercentOff > 9900 {
			return Discount{}, apierr.BytexDiscountPercent
		}
		in.PercentOff = s.PercentOff / 100
	}
	if !s.ValidFrom.IsZero() && s.ValidFrom.After(p.now()) {
		return Discount{}, apierr.BytexDiscountValidFrom
	}
	d, err := p.d.Create(ctx, accountID, in)
	if errors.Is(err, payments.ErrDiscountExists) {
		return Discount{}, apierr.Conflict
	}
	if err != nil {
		return Discount{}, err
	}
	return Discount{Code: d.Code}, nil
}
