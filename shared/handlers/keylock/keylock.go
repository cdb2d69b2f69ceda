// Package keylock implements the auth API group of Web API 3
// (/api/auth/*): KeyLock, which derives from a token with a negative key
// lock a token locked to one key.
package keylock

import (
	"context"

	"github.com/keyturn/keyturn/shared/apierr"
	"github.com/keyturn/keyturn/shared/auth"
	"github.com/keyturn/keyturn/shared/catalog"
	"github.com/keyturn/keyturn/shared/handlers/internal/bind"
	"github.com/keyturn/keyturn/shared/keys"
	"github.com/keyturn/keyturn/shared/webapi"
	"github.com/keyturn/keyturn/shared/wire"
)

// Deps are the auth group's dependencies.
type Deps struct {
	Licenses *keys.Service
	Products catalog.ProductReader
	Tokens   *auth.Service
}

// Group returns the auth API group (auth/KeyLock).
func Group(d Deps) webapi.Group {
	h := handlers{d: d}
	return webapi.Group{Name: "auth", Methods: []webapi.Method{
		// KeyLock needs no permission: a key lock <= -1 enables it.
		{Name: "KeyLock", Handle: h.keyLock},
	}}
}

type handlers struct{ d Deps }

// keyLock implements auth/KeyLock.
func (h handlers) keyLock(ctx context.Context, c *webapi.Call) (any, error) {
	if c.Principal.Scope.KeyLock > -1 {
		return nil, apierr.KeyLockNotNegative
	}
	p, err := bind.Product(ctx, c, h.d.Products)
	if err != nil {
		return nil, err
	}
	k, err := bind.Key(c)
	if err != nil {
		return nil, err
	}
	r, err := h.d.Licenses.Get(ctx, c.Principal.AccountID, p.ID, k)
	if err != nil {
		return nil, err
	}
	tok, err := h.d.Tokens.KeyLock(ctx, c.Principal, r.ProductID, r.ID)
	if err != nil {
		return nil, err
	}
	return wire.KeyLockResult{KeyID: r.ID, Token: tok}, nil
}
