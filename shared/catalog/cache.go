package catalog

import (
	"context"
	"sync"
	"time"
)

// ProductReader reads one product of an account.
type ProductReader interface {
	GetProduct(ctx context.Context, accountID, productID int64) (Product, error)
}

// ProductCache keeps products a warm process has read for a bounded time,
// so that hot paths (Activate, GetKey) do not read the product on every
// request. Products change rarely (feature definitions are edited by
// hand); a change is seen after at most the TTL. Not-found answers are not
// cached. Safe for concurrent use.
type ProductCache struct {
	src ProductReader
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	m   map[[2]int64]cachedProduct
}

type cachedProduct struct {
	p       Product
	fetched time.Time
}

// NewProductCache returns a cache over src.
func NewProductCache(src ProductReader, ttl time.Duration, now func() time.Time) *ProductCache {
	return &ProductCache{src: src, ttl: ttl, now: now, m: map[[2]int64]cachedProduct{}}
}

// GetProduct implements ProductReader (errors as src's).
func (c *ProductCache) GetProduct(ctx context.Context, accountID, productID int64) (Product, error) {
	k := [2]int64{accountID, productID}
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && c.now().Sub(e.fetched) < c.ttl {
		return e.p, nil
	}
	p, err := c.src.GetProduct(ctx, accountID, productID)
	if err != nil {
		return Product{}, err
	}
	c.mu.Lock()
	if len(c.m) > 10000 {
		c.m = map[[2]int64]cachedProduct{}
	}
	c.m[k] = cachedProduct{p: p, fetched: c.now()}
	c.mu.Unlock()
	return p, nil
}
