package schedule

import (
	"context"
	"sync"
	"time"
)

// FakeClock is a Clock for tests: time stands still until Advance moves
// it. Timers fire from Advance, in the calling goroutine, in the order of
// their deadlines (then of their creation), each with Now reading its
// deadline; a timer set by a callback fires in the same Advance if it
// falls due before its end. Tests synchronise with the code under test by
// waiting for it to set its timers (BlockUntil), never by sleeping.
type FakeClock struct {
	mu      sync.Mutex
	now     time.Time
	seq     int
	pending []*fakeTimer
	changed chan struct{} // closed and replaced whenever pending changes
}

type fakeTimer struct {
	c    *FakeClock
	at   time.Time
	seq  int
	f    func()
	done bool
}

// NewFakeClock returns a FakeClock reading now.
func NewFakeClock(now time.Time) *FakeClock {
	return &FakeClock{now: now, changed: make(chan struct{})}
}

// Now is the fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc sets a timer for d from the fake now. A timer for d <= 0
// fires at the next Advance, even Advance(0).
func (c *FakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, at: c.now.Add(max(d, 0)), seq: c.seq, f: f}
	c.pending = append(c.pending, t)
	c.notifyLocked()
	return t
}

func (t *fakeTimer) Stop() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.done {
		return false
	}
	t.done = true
	for i, p := range c.pending {
		if p == t {
			c.pending = append(c.pending[:i], c.pending[i+1:]...)
			break
		}
	}
	c.notifyLocked()
	return true
}

func (c *FakeClock) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Advance moves the clock d forward, firing the timers that fall due.
func (c *FakeClock) Advance(d time.Duration) {
	c.AdvanceTo(c.Now().Add(d))
}

// AdvanceTo moves the clock to t (never backwards), firing the timers
// that fall due on the way.
func (c *FakeClock) AdvanceTo(t time.Time) {
	for c.fireNext(t) {
	}
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	c.mu.Unlock()
}

// AdvanceToNext moves the clock to the earliest pending timer and fires
// every timer due then. It returns the new time, and false (moving
// nothing) when no timer is pending.
func (c *FakeClock) AdvanceToNext() (time.Time, bool) {
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		return time.Time{}, false
	}
	at := c.earliestLocked().at
	if at.Before(c.now) {
		at = c.now
	}
	c.mu.Unlock()
	c.AdvanceTo(at)
	return at, true
}

func (c *FakeClock) earliestLocked() *fakeTimer {
	var e *fakeTimer
	for _, p := range c.pending {
		if e == nil || p.at.Before(e.at) || p.at.Equal(e.at) && p.seq < e.seq {
			e = p
		}
	}
	return e
}

// fireNext fires the earliest timer due by limit, reporting whether there
// was one.
func (c *FakeClock) fireNext(limit time.Time) bool {
	c.mu.Lock()
	e := c.earliestLocked()
	if e == nil || e.at.After(limit) {
		c.mu.Unlock()
		return false
	}
	if e.at.After(c.now) {
		c.now = e.at
	}
	e.done = true
	for i, p := range c.pending {
		if p == e {
			c.pending = append(c.pending[:i], c.pending[i+1:]...)
			break
		}
	}
	c.notifyLocked()
	c.mu.Unlock()
	e.f()
	return true
}

// Pending is the number of timers set and neither fired nor stopped.
func (c *FakeClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// BlockUntil waits until at least n timers are pending, or ctx ends.
func (c *FakeClock) BlockUntil(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		if len(c.pending) >= n {
			c.mu.Unlock()
			return nil
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}
