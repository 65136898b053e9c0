package schedule

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
)

// ErrWindowEnded is the cause of a CutoffContext cancelled by the end of
// its window: the run stopped at the end of its window, its progress is
// saved, and a rerun continues. It is not an error to retry.
var ErrWindowEnded = errors.New("stopped at the end of its window; progress is saved; rerun to continue")

// CutoffMode says what happens to the work in flight when a window ends.
// No new part or file starts in either mode.
type CutoffMode int

const (
	// Soft lets parts in flight finish (the default).
	Soft CutoffMode = iota
	// Hard cancels them at once; they are sent again by the next run.
	Hard
)

func (m CutoffMode) String() string {
	if m == Hard {
		return "hard"
	}
	return "soft"
}

// ParseCutoffMode reads --cutoff-mode: "soft" or "hard" (any case); empty
// is Soft.
func ParseCutoffMode(s string) (CutoffMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "soft":
		return Soft, nil
	case "hard":
		return Hard, nil
	}
	return Soft, fmt.Errorf("cutoff mode %q is not soft or hard", s)
}

// ParseStopAt reads --stop-at relative to now, in now's location (the
// local zone, for time.Now()):
//
//   - "HH:MM" or "HH:MM:SS" on a 24-hour clock is the next time the wall
//     clock reads it: today if that is still ahead, else tomorrow (a time
//     equal to now is tomorrow). On the night a daylight-saving change
//     skips it ("02:30" when 02:00 jumps to 03:00) it is the instant of
//     the jump; on the night it happens twice, the first of the two still
//     ahead;
//   - otherwise an RFC 3339 time ("2026-12-24T06:00:00+01:00", "...Z"),
//     which must be after now.
func ParseStopAt(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("empty stop time (examples: 06:00, 06:00:30, 2026-12-24T06:00:00+01:00)")
	}
	if !strings.ContainsAny(s, "-T") {
		secs, err := parseClock(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("stop time: %w", err)
		}
		return nextWallClock(now, secs), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stop time %q is not HH:MM, HH:MM:SS or an RFC 3339 time such as 2026-12-24T06:00:00+01:00", s)
	}
	if !t.After(now) {
		return time.Time{}, fmt.Errorf("stop time %s is not in the future (it is %s now)", t.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	return t, nil
}

// nextWallClock is the first instant after now at which now's wall clock
// reaches secs past midnight.
func nextWallClock(now time.Time, secs int64) time.Time {
	from := now.Unix()
	for _, c := range crossings(now.Location(), from, from+3*day, day, []int64{secs}, false) {
		if at := time.Unix(c, 0); at.After(now) {
			return at.In(now.Location())
		}
	}
	panic("schedule: no wall-clock crossing within three days") // every zone shows every time at least every other day
}

// Deadline combines --max-duration and --stop-at into the end of the
// window: the earlier of now+maxDuration and stopAt, where a zero value
// means "not given"; the zero Time when neither is. A negative duration or
// a stop time not after now is an error. The result carries no monotonic
// reading: windows are measured on the wall clock, so a suspended machine
// still stops at the time it was told.
func Deadline(maxDuration time.Duration, stopAt, now time.Time) (time.Time, error) {
	if maxDuration < 0 {
		return time.Time{}, fmt.Errorf("max duration %s is negative", maxDuration)
	}
	var d time.Time
	if maxDuration > 0 {
		d = now.Add(maxDuration).Round(0)
	}
	if !stopAt.IsZero() {
		if !stopAt.After(now) {
			return time.Time{}, fmt.Errorf("stop time %s is not in the future", stopAt.Format(time.RFC3339))
		}
		if d.IsZero() || stopAt.Before(d) {
			d = stopAt.Round(0)
		}
	}
	return d, nil
}

// Window is the time a run may work: it ends at its deadline, read from a
// Clock. A nil *Window, like one with a zero deadline, never ends.
type Window struct {
	clock    Clock
	start    time.Time
	deadline time.Time
	mode     CutoffMode

	// ended is cancelled, with cause ErrWindowEnded, when the window
	// ends; its Done is the window's.
	ended context.Context
	end   context.CancelCauseFunc
	mu    sync.Mutex
	timer Timer
	over  bool // ended or stopped: check sets no more timers
}

// NewWindow starts a window now (c.Now(); RealClock when c is nil) that
// ends at deadline (the zero Time: never). Stop releases its timer.
func NewWindow(c Clock, deadline time.Time, mode CutoffMode) *Window {
	if c == nil {
		c = RealClock
	}
	w := &Window{clock: c, start: c.Now(), deadline: deadline, mode: mode}
	w.ended, w.end = context.WithCancelCause(context.Background())
	if !deadline.IsZero() {
		w.check()
	}
	return w
}

// check ends the window if its deadline has come, else sets a timer for
// it (at most resync ahead, then it looks again).
func (w *Window) check() {
	now := w.clock.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.over {
		return
	}
	left := w.deadline.Sub(now)
	if left <= 0 {
		w.over = true
		w.end(ErrWindowEnded)
		return
	}
	w.timer = w.clock.AfterFunc(min(left, resync), w.check)
}

// Done is closed when the window ends; nil (never ready) for a nil
// Window.
func (w *Window) Done() <-chan struct{} {
	if w == nil {
		return nil
	}
	return w.ended.Done()
}

// Ended reports whether the window has ended: the check before starting
// a part or a file, or retrying one.
func (w *Window) Ended() bool {
	if w == nil {
		return false
	}
	return w.ended.Err() != nil
}

// Remaining is the time left: 0 once ended, the largest Duration when the
// window never ends.
func (w *Window) Remaining() time.Duration {
	if w == nil || w.deadline.IsZero() {
		return math.MaxInt64
	}
	if w.Ended() {
		return 0
	}
	return max(w.deadline.Sub(w.clock.Now()), 0)
}

// Deadline is the end of the window, and false when it never ends.
func (w *Window) Deadline() (time.Time, bool) {
	if w == nil || w.deadline.IsZero() {
		return time.Time{}, false
	}
	return w.deadline, true
}

// Length is the window's whole length, from its start to its deadline (0
// when it never ends): what a next run of the same command gets, for
// WindowsNeeded.
func (w *Window) Length() time.Duration {
	if w == nil || w.deadline.IsZero() {
		return 0
	}
	return w.deadline.Sub(w.start)
}

// Elapsed is the time since the window started.
func (w *Window) Elapsed() time.Duration {
	if w == nil {
		return 0
	}
	return w.clock.Now().Sub(w.start)
}

// Mode is the window's cutoff mode (Soft for a nil Window).
func (w *Window) Mode() CutoffMode {
	if w == nil {
		return Soft
	}
	return w.mode
}

// CutoffContext returns the context for the work the cutoff may
// interrupt (a part's upload, a small file's PutObject): in Hard mode it
// is cancelled when the window ends, with context.Cause ErrWindowEnded;
// in Soft mode, and for a nil Window, it ends only with parent. Call
// cancel when the work is done.
func (w *Window) CutoffContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	if w == nil || w.mode != Hard || w.deadline.IsZero() {
		return ctx, func() { cancel(context.Canceled) }
	}
	if w.Ended() { // AfterFunc would cancel too, but later, from a goroutine
		cancel(ErrWindowEnded)
	}
	stop := context.AfterFunc(w.ended, func() { cancel(ErrWindowEnded) })
	return ctx, func() {
		stop()
		cancel(context.Canceled)
	}
}

// Stop releases the window's timer; a stopped window that has not ended
// never will.
func (w *Window) Stop() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.over = true
	if w.timer != nil {
		w.timer.Stop()
	}
}
