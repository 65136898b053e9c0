package schedule

import (
	"math"
	"testing"
	"time"
)

func TestWindowsNeeded(t *testing.T) {
	const gib = 1 << 30
	h := time.Hour
	for _, tc := range []struct {
		name            string
		done, remaining int64
		elapsed, window time.Duration
		want            int64
		ok              bool
	}{
		{"three more at this rate", gib, 3 * gib, h, h, 3, true},
		{"a byte more needs a window more", gib, 3*gib + 1, h, h, 4, true},
		{"a run that ended early", gib, 3 * gib, 30 * time.Minute, h, 2, true}, // 2 GiB/h: 1.5 windows
		{"exact, no float error", 3, 7, 3 * time.Second, 7 * time.Second, 1, true},
		{"less than a window", gib, 1, h, h, 1, true},
		{"nothing remaining", gib, 0, h, h, 0, true},
		{"negative remaining", gib, -5, h, h, 0, true},
		{"nothing done", 0, gib, h, h, 0, false},
		{"no time elapsed", gib, gib, 0, h, 0, false},
		{"no window", gib, gib, h, 0, 0, false},
		{"beyond int64", 1, 5 << 40, 10 * h, time.Nanosecond, math.MaxInt64, true},
	} {
		got, ok := WindowsNeeded(tc.done, tc.remaining, tc.elapsed, tc.window)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: WindowsNeeded(%d, %d, %s, %s) = %d, %v; want %d, %v", tc.name, tc.done, tc.remaining, tc.elapsed, tc.window, got, ok, tc.want, tc.ok)
		}
	}
}
