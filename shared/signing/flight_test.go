package signing_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keyturn/keyturn/shared/config"
	"github.com/keyturn/keyturn/shared/signing"
)

// hookWrapper is a KeyWrapper whose Unwrap runs onUnwrap first; a non-nil
// error from it is returned.
type hookWrapper struct {
	signing.KeyWrapper
	onUnwrap func(ctx context.Context) error
}

func (w hookWrapper) Unwrap(ctx context.Context, rec signing.KeyRecord) ([]byte, error) {
	if w.onUnwrap != nil {
		if err := w.onUnwrap(ctx); err != nil {
			return nil, err
		}
	}
	return w.KeyWrapper.Unwrap(ctx, rec)
}

// gate blocks the loads that pass it until it is opened and counts them.
type gate struct {
	open    chan struct{}
	once    sync.Once
	entered atomic.Int64
}

func newGate() *gate { return &gate{open: make(chan struct{})} }

// release opens the gate (again: it stays open).
func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

// pass waits until the gate opens or ctx ends.
func (g *gate) pass(ctx context.Context) error {
	g.entered.Add(1)
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flightRig is a local-mode deployment with a key for account 1 and a
// cold process whose store reads and unwraps wait at gates.
type flightRig struct {
	m            *signing.Manager
	read, unwrap *gate
}

func newFlightRig(t *testing.T, ttl time.Duration) *flightRig {
	t.Helper()
	r := newRig(t, config.SigningLocal)
	if _, err := r.manager(t).Create(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	f := &flightRig{read: newGate(), unwrap: newGate()}
	r.store.onRead = func(ctx context.Context, _ int64) error { return f.read.pass(ctx) }
	f.m = r.manager(t, func(c *signing.ManagerConfig) {
		c.TTL = ttl
		c.Wrapper = hookWrapper{KeyWrapper: c.Wrapper, onUnwrap: f.unwrap.pass}
	})
	return f
}

// TestConcurrentFirstCallsShareOneLoad: calls that arrive while a store
// read or an unwrap is under way wait for it instead of starting their own,
// even when the TTL makes every call read the store.
func TestConcurrentFirstCallsShareOneLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFlightRig(t, 0)
		const n = 8
		signers := make([]signing.Signer, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				var err error
				if signers[i], err = f.m.SignerFor(context.Background(), 1); err != nil {
					t.Errorf("caller %d: %v", i, err)
				}
			})
		}
		synctest.Wait()
		if got := f.read.entered.Load(); got != 1 {
			t.Errorf("store reads while %d callers wait = %d, want 1", n, got)
		}
		f.read.release()
		synctest.Wait()
		if got := f.unwrap.entered.Load(); got != 1 {
			t.Errorf("unwraps while %d callers wait = %d, want 1", n, got)
		}
		f.unwrap.release()
		wg.Wait()
		for i, s := range signers {
			if s == nil || s != signers[0] {
				t.Errorf("caller %d got signer %v, want caller 0's %v (one shared unwrap)", i, s, signers[0])
			}
		}
	})
}

// TestWaiterLeavesWhenItsContextEnds: a caller waiting for another's load
// returns its own context's error when its deadline passes; the load goes
// on and serves its leader.
func TestWaiterLeavesWhenItsContextEnds(t *testing.T) {
	for _, phase := range []string{"store read", "unwrap"} {
		t.Run(phase, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFlightRig(t, time.Minute)
				g := f.read
				if phase == "unwrap" {
					f.read.release()
					g = f.unwrap
				}
				var leaderErr error
				var wg sync.WaitGroup
				wg.Go(func() { _, leaderErr = f.m.SignerFor(context.Background(), 1) })
				synctest.Wait()
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				if _, err := f.m.SignerFor(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("waiter: SignerFor = %v, want context.DeadlineExceeded", err)
				}
				if got := g.entered.Load(); got != 1 {
					t.Errorf("%s calls = %d, want 1 (the leader's)", phase, got)
				}
				f.read.release()
				f.unwrap.release()
				wg.Wait()
				if leaderErr != nil {
					t.Errorf("leader: SignerFor = %v", leaderErr)
				}
			})
		})
	}
}

// TestLeaderCancelDoesNotFailWaiters: when the caller whose load others
// wait for is cancelled, a waiter whose context is still live loads again
// itself instead of returning the leader's cancellation.
func TestLeaderCancelDoesNotFailWaiters(t *testing.T) {
	for _, phase := range []string{"store read", "unwrap"} {
		t.Run(phase, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFlightRig(t, time.Minute)
				g := f.read
				if phase == "unwrap" {
					f.read.release()
					g = f.unwrap
				}
				leaderCtx, cancelLeader := context.WithCancel(context.Background())
				var leaderErr, waiterErr error
				var wg sync.WaitGroup
				wg.Go(func() { _, leaderErr = f.m.SignerFor(leaderCtx, 1) })
				synctest.Wait()
				wg.Go(func() { _, waiterErr = f.m.SignerFor(context.Background(), 1) })
				synctest.Wait()
				cancelLeader()
				synctest.Wait()
				if got := g.entered.Load(); got != 2 {
					t.Errorf("%s calls = %d, want 2 (the leader's, then the waiter's own)", phase, got)
				}
				f.read.release()
				f.unwrap.release()
				wg.Wait()
				if !errors.Is(leaderErr, context.Canceled) {
					t.Errorf("leader: SignerFor = %v, want context.Canceled", leaderErr)
				}
				if waiterErr != nil {
					t.Errorf("waiter: SignerFor = %v, want a signer", waiterErr)
				}
			})
		})
	}
}

// TestPanicInALoadIsAnError: a load that panics fails its callers with an
// error (it runs outside their goroutines, where a panic would end the
// process) and is not remembered.
func TestPanicInALoadIsAnError(t *testing.T) {
	r := newRig(t, config.SigningLocal)
	if _, err := r.manager(t).Create(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	var panicked atomic.Bool
	r.store.onRead = func(context.Context, int64) error {
		if panicked.CompareAndSwap(false, true) {
			panic("store bug")
		}
		return nil
	}
	m := r.manager(t)
	if _, err := m.SignerFor(context.Background(), 1); err == nil || !strings.Contains(err.Error(), "store bug") {
		t.Errorf("SignerFor with a panicking store = %v, want an error naming the panic", err)
	}
	if _, err := m.SignerFor(context.Background(), 1); err != nil {
		t.Errorf("SignerFor after the panic: %v", err)
	}
}
