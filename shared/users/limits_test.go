package users

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyturn/keyturn/shared/apierr"
)

// kdfFunc is the signature of Hasher.kdf.
type kdfFunc = func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte

// wrapKDF replaces the rig's key derivation with wrap(previous).
func (r *rig) wrapKDF(wrap func(kdfFunc) kdfFunc) {
	r.svc.hasher.kdf = wrap(r.svc.hasher.kdf)
}

func TestHashSlots(t *testing.T) {
	p19 := DefaultParams // 19 MiB, one lane
	tests := []struct {
		name           string
		p              Params
		memoryMB, cpus int
		want           int
	}{
		{"unknown memory: one per CPU", p19, 0, 4, 4},
		{"1769 MB Lambda, 2 CPUs: CPU-bound", p19, 1769, 2, 2},
		{"128 MB: half the memory holds 3", p19, 128, 8, 3},
		{"tiny memory still allows one", p19, 16, 2, 1},
		{"two lanes per hash", Params{Time: 1, MemoryKiB: 1024, Threads: 2}, 0, 4, 2},
		{"no CPU count", p19, 0, 0, 1},
	}
	for _, tt := range tests {
		if got := HashSlots(tt.p, tt.memoryMB, tt.cpus); got != tt.want {
			t.Errorf("%s: HashSlots = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestHashGateBoundsConcurrency: however many logins arrive at once, no
// more derivations run at the same time than the gate has slots (before,
// nothing bounded them: 100 parallel logins held 1.9 GB).
func TestHashGateBoundsConcurrency(t *testing.T) {
	r := newRig(t)
	const users, slots = 8, 2
	for i := 0; i < users; i++ {
		r.register(t, 1, Registration{Username: "u" + strconv.Itoa(i), Password: "pw"})
	}
	r.svc = r.svc.WithHashGate(NewHashGate(slots, time.Minute))
	var running, peak atomic.Int64
	release := make(chan struct{})
	r.wrapKDF(func(next kdfFunc) kdfFunc {
		return func(password, salt []byte, tm, memory uint32, threads uint8, keyLen uint32) []byte {
			n := running.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			<-release
			defer running.Add(-1)
			return next(password, salt, tm, memory, threads, keyLen)
		}
	})
	errs := make(chan error, users)
	for i := 0; i < users; i++ {
		go func(i int) {
			_, err := r.svc.Login(context.Background(), 1, "u"+strconv.Itoa(i), "pw")
			errs <- err
		}(i)
	}
	for running.Load() < slots {
		time.Sleep(time.Millisecond) // wait for the first derivations to start
	}
	for i := 0; i < users; i++ {
		release <- struct{}{}
	}
	for i := 0; i < users; i++ {
		if err := <-errs; err != nil {
			t.Errorf("login: %v", err)
		}
	}
	if got := peak.Load(); got != slots {
		t.Errorf("at most %d derivations ran at once, want %d (the gate's slots)", got, slots)
	}
}

// TestHashGateRefusesExcess: with every slot taken and no wait, a login or
// a registration is refused at once with the busy message, without any
// derivation, and the login attempt is not counted.
func TestHashGateRefusesExcess(t *testing.T) {
	r := newRig(t)
	r.seed(t)
	r.svc = r.svc.WithHashGate(NewHashGate(1, 0))
	entered, hold := make(chan struct{}), make(chan struct{})
	r.wrapKDF(func(next kdfFunc) kdfFunc {
		return func(password, salt []byte, tm, memory uint32, threads uint8, keyLen uint32) []byte {
			if string(password) == "pw-alice" {
				entered <- struct{}{}
				<-hold
			}
			return next(password, salt, tm, memory, threads, keyLen)
		}
	})
	done := make(chan error)
	go func() {
		_, err := r.svc.Login(context.Background(), 1, "alice", "pw-alice")
		done <- err
	}()
	<-entered
	before := r.kdfs.Load()
	if _, err := r.svc.Login(context.Background(), 1, "bob", "pw-bob"); !errors.Is(err, apierr.PasswordBusy) {
		t.Errorf("Login while the slot is taken = %v, want %v", err, apierr.PasswordBusy)
	}
	if _, err := r.svc.Register(context.Background(), 1, Registration{Username: "dave", Password: "p"}); !errors.Is(err, apierr.PasswordBusy) {
		t.Errorf("Register while the slot is taken = %v, want %v", err, apierr.PasswordBusy)
	}
	if got := r.kdfs.Load() - before; got != 0 {
		t.Errorf("%d derivations while busy, want 0", got)
	}
	if a := r.window("bob"); a == nil || a.attempts != 0 || a.failures != 0 {
		t.Errorf("bob's window after a busy answer = %+v, want nothing counted", a)
	}
	close(hold)
	if err := <-done; err != nil {
		t.Errorf("the login holding the slot: %v", err)
	}
}

// window returns the username's attempt record in the current window.
func (r *rig) window(username string) *memAttempts {
	w, _ := r.svc.windowOf(r.clock.Now())
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	a := r.st.attempts[userKey(1, username)+"#"+strconv.FormatInt(w, 10)]
	if a == nil {
		return nil
	}
	c := *a
	return &c
}

// TestParallelLogins: 50 parallel correct logins of one user all succeed
// (before, attempts in flight counted as failures and 40 of 50 were
// refused); 20 parallel wrong guesses verify at most MaxAttempts passwords
// against the user's hash (the rest do the dummy derivation of a locked
// username) and lock the window.
func TestParallelLogins(t *testing.T) {
	r := newRig(t)
	r.seed(t)
	r.svc = r.svc.WithHashGate(NewHashGate(64, time.Minute)).WithLoginWait(time.Minute)
	var real atomic.Int64
	dummySalt := make([]byte, TestParams.SaltLen)
	r.wrapKDF(func(next kdfFunc) kdfFunc {
		return func(password, salt []byte, tm, memory uint32, threads uint8, keyLen uint32) []byte {
			if !bytes.Equal(salt, dummySalt) {
				real.Add(1)
			}
			return next(password, salt, tm, memory, threads, keyLen)
		}
	})
	parallel := func(n int, username, password string) []error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = r.svc.Login(context.Background(), 1, username, password)
			}()
		}
		wg.Wait()
		return errs
	}
	for i, err := range parallel(50, "alice", "pw-alice") {
		if err != nil {
			t.Errorf("correct login %d: %v", i, err)
		}
	}
	if a := r.window("alice"); a.attempts != 0 || a.failures != 0 {
		t.Errorf("alice's window after 50 correct logins = %+v, want nothing counted", *a)
	}
	real.Store(0)
	for i, err := range parallel(20, "bob", "guess") {
		if !errors.Is(err, apierr.UserAuthFailed) {
			t.Errorf("guess %d: %v, want %v", i, err, apierr.UserAuthFailed)
		}
	}
	if got := real.Load(); got > DefaultMaxAttempts {
		t.Errorf("20 parallel guesses verified %d passwords against bob's hash, want at most %d", got, DefaultMaxAttempts)
	}
	if a := r.window("bob"); a.failures != DefaultMaxAttempts || a.attempts != DefaultMaxAttempts || a.refused != 20-DefaultMaxAttempts {
		t.Errorf("bob's window = %+v, want %d failures and %d refusals", *a, DefaultMaxAttempts, 20-DefaultMaxAttempts)
	}
}

// TestLoginWaitsForAttemptsInFlight: a reservation refused only because
// the window's attempts are in flight waits (with backoff) and succeeds
// once one is given back; if none is given back within the login wait,
// the answer is the busy message and nothing is counted as a failure.
func TestLoginWaitsForAttemptsInFlight(t *testing.T) {
	for _, release := range []bool{true, false} {
		t.Run(fmt.Sprintf("released=%v", release), func(t *testing.T) {
			r := newRig(t)
			r.seed(t)
			w, _ := r.svc.windowOf(r.clock.Now())
			k := userKey(1, "alice") + "#" + strconv.FormatInt(w, 10)
			r.st.attempts[k] = &memAttempts{attempts: DefaultMaxAttempts, failures: 1} // 4 in flight
			var slept time.Duration
			r.svc = r.svc.WithLoginWait(time.Second)
			r.svc.sleep = func(_ context.Context, d time.Duration) error {
				slept += d
				if release && slept > 100*time.Millisecond {
					_ = r.st.EndLoginAttempt(context.Background(), 1, "alice", w, AttemptReleased)
				}
				return nil
			}
			_, err := r.svc.Login(context.Background(), 1, "alice", "pw-alice")
			a := r.window("alice")
			if release {
				if err != nil || a.attempts != DefaultMaxAttempts-1 || a.failures != 1 {
					t.Errorf("Login after an attempt was given back = %v, window %+v", err, *a)
				}
				return
			}
			if !errors.Is(err, apierr.PasswordBusy) {
				t.Errorf("Login while the attempts stay in flight = %v, want %v", err, apierr.PasswordBusy)
			}
			if slept != time.Second {
				t.Errorf("waited %v in total, want the login wait (1s)", slept)
			}
			if a.attempts != DefaultMaxAttempts || a.failures != 1 || r.kdfs.Load() != 3 /* seed's registrations */ {
				t.Errorf("after a busy answer: window %+v, %d derivations; want nothing counted or derived", *a, r.kdfs.Load())
			}
		})
	}
}
