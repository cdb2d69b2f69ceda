package dataobj

import (
	"math"

	"github.com/keyturn/keyturn/shared/apierr"
)

// Delta is one change of an int value, applied by the store in a single
// conditional write: a stored value v becomes v+Step when Min <= v <= Max;
// otherwise nothing changes. Min and Max encode the int32 range, an
// EnableBound/Bound limit and, for uploaded logs, every intermediate value,
// so the check and the change are one atomic step (exact under concurrent
// calls). Min > Max means the change can never apply.
type Delta struct {
	Step int64
	Min  int64
	Max  int64
}

// Apply returns v+d.Step and true when d's condition holds for v, and v
// and false otherwise.
func (d Delta) Apply(v int32) (int32, bool) {
	x := int64(v)
	if x < d.Min || x > d.Max {
		return v, false
	}
	return int32(x + d.Step), true
}

// maxMagnitude caps step sizes: any step above 2^32 fails on every int32
// value exactly as a step of 2^33 does, and capping keeps all arithmetic
// far from int64 overflow.
const maxMagnitude = 1 << 33

// maxBound caps bounds for the same reason (a bound beyond the int32 range
// by more than maxMagnitude behaves like no bound at all).
const maxBound = 1 << 40

// Magnitude returns |v| capped at 2^33: the sign of IntValue is ignored by
// Increment/DecrementIntValue ("-5 is treated as 5").
func Magnitude(v int64) int64 {
	if v < 0 {
		if v < -maxMagnitude {
			return maxMagnitude
		}
		return -v
	}
	return min(v, maxMagnitude)
}

func clampBound(b int64) int64 { return max(-maxBound, min(b, maxBound)) }

// IncrementDelta is IncrementIntValue by |value|: refused when the result
// would exceed the int32 range or, with enableBound, bound (inclusive).
func IncrementDelta(value int64, enableBound bool, bound int64) Delta {
	s := Magnitude(value)
	d := Delta{Step: s, Min: math.MinInt32, Max: math.MaxInt32 - s}
	if enableBound {
		d.Max = min(d.Max, clampBound(bound)-s)
	}
	return d
}

// DecrementDelta is DecrementIntValue by |value|: refused when the result
// would go below the int32 range or, with enableBound, below bound
// (inclusive).
func DecrementDelta(value int64, enableBound bool, bound int64) Delta {
	s := Magnitude(value)
	d := Delta{Step: -s, Min: math.MinInt32 + s, Max: math.MaxInt32}
	if enableBound {
		d.Min = max(d.Min, clampBound(bound)+s)
	}
	return d
}

// LogDelta is the net change of an uploaded usage log whose entries are
// applied in order: it is refused when any intermediate value would leave
// the int32 range, so applying the whole log at once is the same as
// applying its entries one by one (and nothing changes when one of them
// would overflow).
func LogDelta(entries []int64) Delta {
	var sum, hi, lo int64
	for _, e := range entries {
		sum += max(-maxMagnitude, min(e, maxMagnitude))
		hi = max(hi, sum)
		lo = min(lo, sum)
	}
	return Delta{Step: sum, Min: math.MinInt32 - lo, Max: math.MaxInt32 - hi}
}

// SetRange is the range the stored value must lie in for SetIntValue to
// assign v under a token's feature lock: any int32 without a feature lock,
// and within featureLock of v with a positive one, so that one call moves
// the value by at most the feature lock, as an increment or decrement
// would. A negative feature lock allows no change (callers refuse it
// before writing; the range returned is then empty).
func SetRange(featureLock int64, v int32) (lo, hi int64) {
	switch {
	case featureLock == 0:
		return math.MinInt32, math.MaxInt32
	case featureLock < 0:
		return 1, 0
	}
	fl := min(featureLock, maxMagnitude)
	return int64(v) - fl, int64(v) + fl
}

// CheckStep applies a token's feature lock to the size of one increment or
// decrement: a non-zero feature lock is the largest allowed step (a
// negative one allows none). Errors: apierr.DataStepNotAllowed.
func CheckStep(featureLock, magnitude int64) error {
	if featureLock != 0 && magnitude > featureLock {
		return apierr.DataStepNotAllowed
	}
	return nil
}
