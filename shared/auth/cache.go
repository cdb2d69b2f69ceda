package auth

import (
	"sync"
	"time"
)

// tokenCache keeps recently read tokens for a bounded time so that a warm
// process does not read the store for every request. It never stores
// secrets (tokens hold only hashes).
type tokenCache struct {
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	m   map[string]cachedToken
}

type cachedToken struct {
	t       Token
	fetched time.Time
}

const tokenCacheMax = 10000

func newTokenCache(ttl time.Duration, now func() time.Time) *tokenCache {
	return &tokenCache{ttl: ttl, now: now, m: map[string]cachedToken{}}
}

func (c *tokenCache) get(id string) (Token, bool) {
	if c.ttl <= 0 {
		return Token{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || c.now().Sub(e.fetched) >= c.ttl {
		return Token{}, false
	}
	return e.t, true
}

func (c *tokenCache) put(t Token) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= tokenCacheMax {
		// Simple bound: drop everything rather than track recency.
		c.m = map[string]cachedToken{}
	}
	c.m[t.ID] = cachedToken{t: t, fetched: c.now()}
}
