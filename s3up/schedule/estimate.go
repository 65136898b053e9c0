package schedule

import (
	"math"
	"math/big"
	"time"
)

// WindowsNeeded estimates how many more windows like this one the rest of
// an upload needs, at this run's rate: remaining bytes at done/elapsed
// bytes per second, in windows of the given length, rounded up. ok is
// false when there is nothing to go on: no bytes done this run, no time
// elapsed, or no window length. Nothing remaining needs 0 windows (ok).
// Exact for any sizes (no overflow); a result beyond int64 is capped.
//
// elapsed is the time this run spent, reconciliation included, since a
// next run pays that too; done counts the bytes this run sent, not the
// ones a previous run left on the server.
func WindowsNeeded(done, remaining int64, elapsed, window time.Duration) (n int64, ok bool) {
	if remaining <= 0 {
		return 0, true
	}
	if done <= 0 || elapsed <= 0 || window <= 0 {
		return 0, false
	}
	// ceil(remaining·elapsed / (done·window))
	num := new(big.Int).Mul(big.NewInt(remaining), big.NewInt(int64(elapsed)))
	den := new(big.Int).Mul(big.NewInt(done), big.NewInt(int64(window)))
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if r.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return math.MaxInt64, true
	}
	return q.Int64(), true
}
