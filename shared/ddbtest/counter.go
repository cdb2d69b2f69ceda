package ddbtest

import (
	"fmt"
	"sync"

	"github.com/keyturn/keyturn/shared/dynamo"
)

// Counter wraps a dynamo.API and counts its calls (each one DynamoDB round
// trip) by operation name ("GetItem", "TransactWriteItems", ...). It is
// safe for concurrent use.
type Counter struct {
	Intercept
	mu    sync.Mutex
	calls map[string]int64
}

// NewCounter returns a Counter in front of api.
func NewCounter(api dynamo.API) *Counter {
	c := &Counter{calls: map[string]int64{}}
	c.Intercept = Intercept{API: api, Before: func(op string, _ any) error {
		c.add(op)
		return nil
	}}
	return c
}

func (c *Counter) add(op string) {
	c.mu.Lock()
	c.calls[op]++
	c.mu.Unlock()
}

// Total is the number of calls since the last Reset.
func (c *Counter) Total() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, k := range c.calls {
		n += k
	}
	return n
}

// Of is the number of calls of one operation since the last Reset.
func (c *Counter) Of(op string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

// Reset zeroes the counts.
func (c *Counter) Reset() {
	c.mu.Lock()
	clear(c.calls)
	c.mu.Unlock()
}

// Trips runs f and returns the calls it made (f must be the only user of
// the Counter meanwhile).
func (c *Counter) Trips(f func()) int64 {
	before := c.Total()
	f()
	return c.Total() - before
}

// Summary returns the counts since the last Reset as
// "get=N put=N update=N delete=N query=N transact=N batch=N", then resets.
func (c *Counter) Summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := fmt.Sprintf("get=%d put=%d update=%d delete=%d query=%d transact=%d batch=%d",
		c.calls["GetItem"], c.calls["PutItem"], c.calls["UpdateItem"], c.calls["DeleteItem"],
		c.calls["Query"], c.calls["TransactWriteItems"], c.calls["BatchGetItem"])
	clear(c.calls)
	return s
}
