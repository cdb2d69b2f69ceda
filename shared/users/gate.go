package users

import (
	"context"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
)

// DefaultHashWait is how long a password hash waits for a free slot of
// the process's HashGate before the request is refused with
// apierr.PasswordBusy: a few verifications' time (one takes about 60 ms on
// a Lambda vCPU), so a burst is queued briefly and the excess is refused
// quickly instead of every request slowing down together.
const DefaultHashWait = time.Second

// hashHeadroomMiB is the memory a hash needs besides its argon2 blocks
// (buffers, goroutine, allocator slack), per hash.
const hashHeadroomMiB = 1

// HashSlots returns how many password hashes with p may run at once in a
// process with memoryMB megabytes of memory (0 when unknown) and cpus
// CPUs. Hashing is CPU-bound and uses p.Threads lanes, so more hashes than
// cpus/p.Threads would only make each one slower; and all of them together
// may use at most half of the memory (the rest is the runtime's and the
// requests'). 100 parallel logins with 19 MiB hashes and no bound used
// 1.9 GB. The result is at least 1.
func HashSlots(p Params, memoryMB, cpus int) int {
	threads := max(int(p.Threads), 1)
	n := max(cpus/threads, 1)
	if memoryMB > 0 {
		perHash := int(p.MemoryKiB+1023)/1024 + hashHeadroomMiB
		n = min(n, memoryMB/2/perHash)
	}
	return max(n, 1)
}

// HashGate bounds the password hashes (argon2id derivations) running at
// once in a process. A hash that finds every slot taken waits up to the
// gate's wait for one and is then refused with apierr.PasswordBusy, so
// that excess logins are answered quickly and cannot exhaust the
// process's memory or starve its other requests of CPU. Safe for
// concurrent use; share one gate per process.
type HashGate struct {
	slots chan struct{}
	wait  time.Duration
}

// NewHashGate returns a gate of slots concurrent hashes (at least 1) and
// the given wait for a slot (0: refuse at once when all are taken).
func NewHashGate(slots int, wait time.Duration) *HashGate {
	return &HashGate{slots: make(chan struct{}, max(slots, 1)), wait: wait}
}

// do runs f in a slot. Errors: apierr.PasswordBusy when no slot freed up
// within the wait (f did not run), ctx.Err() when ctx ended first.
func (g *HashGate) do(ctx context.Context, f func()) error {
	select {
	case g.slots <- struct{}{}:
	default:
		if g.wait <= 0 {
			return apierr.PasswordBusy
		}
		t := time.NewTimer(g.wait)
		defer t.Stop()
		select {
		case g.slots <- struct{}{}:
		case <-t.C:
			return apierr.PasswordBusy
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer func() { <-g.slots }()
	f()
	return nil
}

// try runs f in a slot if one is free right now and reports whether it
// did (for work that may be skipped, like re-hashing after a login).
func (g *HashGate) try(f func()) bool {
	select {
	case g.slots <- struct{}{}:
	default:
		return false
	}
	defer func() { <-g.slots }()
	f()
	return true
}
