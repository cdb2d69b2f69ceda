// Package subscription implements the subscription API group of Web API
// 3 (/api/subscription/*): RecordUsage, which reports a key's usage to
// Stripe's metered billing (payments.Metering).
package subscription

import (
	"context"
	"errors"
	"strings"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/payments"
	"github.com/keyturn/keyturn/shared/webapi"
)

// Deps are the subscription group's dependencies.
type Deps struct {
	Keys     *keys.Service
	Products catalog.ProductReader
	Metering *payments.Metering
}

// Group returns the subscription API group.
func Group(d Deps) webapi.Group {
	h := handlers{d: d}
	return webapi.Group{Name: "subscription", Methods: []webapi.Method{
		{Name: "RecordUsage", Permission: "RecordUsage", Handle: h.recordUsage},
	}}
}

type handlers struct{ d Deps }

// maxKeyLength bounds the Key parameter (key strings are 23 characters).
const maxKeyLength = 255

// recordUsage implements subscription/RecordUsage: ProductId and Key name
// an existing key of the account (within the token's product and key
// locks); Amount (default 0, at most payments.MaxUsage) is added to the
// usage of the key's Stripe subscription item.
func (h handlers) recordUsage(ctx context.Context, c *webapi.Call) (any, error) {
	pid, err := c.Params.Int("ProductId", 0)
	if err != nil || pid <= 0 {
		return nil, apierr.BadInput
	}
	key, ok := c.Params.String("Key")
	key = strings.TrimSpace(key)
	if !ok || key == "" || len(key) > maxKeyLength {
		return nil, apierr.BadInput
	}
	amount, err := c.Params.Int("Amount", 0)
	if err != nil || amount < 0 || amount > payments.MaxUsage {
		return nil, apierr.BadInput
	}
	if err := c.Principal.Scope.CheckProduct(pid); err != nil {
		return nil, err
	}
	if _, err := h.d.Products.GetProduct(ctx, c.Principal.AccountID, pid); errors.Is(err, apierr.NotFound) {
		return nil, apierr.ProductNotFound
	} else if err != nil {
		return nil, err
	}
	rec, err := h.d.Keys.Get(ctx, c.Principal.AccountID, pid, key)
	if err != nil {
		return nil, err
	}
	if err := c.Principal.Scope.CheckKey(rec.ProductID, rec.ID); err != nil {
		return nil, err
	}
	return nil, h.d.Metering.RecordUsage(ctx, c.Principal.AccountID, pid, key, amount, c.RequestID)
}
