package schedule

import (
	"context"
	"sort"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// MaxBurst is the largest single grant of a Limiter, as the Uploader's
// limiter has always used: small enough to keep the rate smooth, large
// enough not to cost CPU. Below it, the burst is one second's worth of
// the limit, so no single grant waits more than a second.
const MaxBurst = 256 << 10

// Limiter is a bandwidth limiter whose rate follows a Timetable: one
// rate.Limiter shared by every request body, whose limit and burst are
// changed (SetLimitAt, SetBurstAt) at each boundary of the timetable, from
// a timer on an injectable Clock. Safe for concurrent use.
//
// At a boundary every WaitN already waiting is woken and queues again at
// the new rate: a rate.Limiter keeps the schedule it gave a reservation,
// so without this a reader that reserved at 1 KiB/s before "off" would
// still sleep, and requests stacked behind it longer. Their reservations
// are cancelled latest first, which gives the bucket back every token they
// held (cancelling in another order would leave some of it as debt paid at
// the new rate). While the rate is Unlimited the rate.Limiter is at
// rate.Inf and WaitN returns at once, taking no reservation; on leaving
// "off" the bucket is full, as at the start.
//
// A nil *Limiter is valid and unlimited, so a run without --bwlimit needs
// no conditions.
type Limiter struct {
	clock Clock
	tt    *Timetable

	mu       sync.Mutex
	lim      *rate.Limiter // limit and burst follow cur while cur is limited
	cur      Rate
	waiting  map[*waiter]struct{}
	timer    Timer
	closed   bool
	onChange func(Rate, time.Time)
}

type waitState int

const (
	waiting waitState = iota
	granted           // its timer fired: the tokens are its to use
	requeue           // a boundary cancelled its reservation
)

type waiter struct {
	res   *rate.Reservation
	timer Timer
	wake  chan struct{}
	state waitState
}

// NewLimiter returns a Limiter following tt on clock c (RealClock when
// nil), starting at tt.RateAt(c.Now()) with a full bucket. Close releases
// its timer.
func NewLimiter(tt *Timetable, c Clock) *Limiter {
	if c == nil {
		c = RealClock
	}
	now := c.Now()
	l := &Limiter{clock: c, tt: tt, cur: tt.RateAt(now), waiting: map[*waiter]struct{}{}}
	l.lim = rate.NewLimiter(l.cur.Limit(), burstFor(l.cur))
	l.mu.Lock()
	l.scheduleLocked(now)
	l.mu.Unlock()
	return l
}

func burstFor(r Rate) int {
	if !r.Limited() {
		return MaxBurst
	}
	return int(min(r, MaxBurst))
}

// Rate is the rate in force now.
func (l *Limiter) Rate() Rate {
	if l == nil {
		return Unlimited
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}

// Limit is Rate as a rate.Limit (rate.Inf while unlimited).
func (l *Limiter) Limit() rate.Limit { return l.Rate().Limit() }

// Burst is the most one WaitN grants at once, never 0: a caller that cuts
// its reads to Burst (as the part reader does) waits at most about a
// second per read. WaitN takes any n, granting more than Burst in turns,
// so a read cut to the burst before a boundary that lowers it still goes
// through.
func (l *Limiter) Burst() int {
	if l == nil {
		return MaxBurst
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return burstFor(l.cur)
}

// Timetable is the schedule the limiter follows.
func (l *Limiter) Timetable() *Timetable {
	if l == nil {
		return nil
	}
	return l.tt
}

// OnChange sets f to be called after each change of rate, with the new
// rate and the clock's time, from the timer's goroutine: it must be quick.
func (l *Limiter) OnChange(f func(r Rate, at time.Time)) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.onChange = f
	l.mu.Unlock()
}

// WaitN blocks until n bytes may be sent, or ctx ends (then it returns
// ctx's error, having granted part of n perhaps). Unlike rate.Limiter's,
// it takes n above the burst, granting it a burst at a time.
func (l *Limiter) WaitN(ctx context.Context, n int) error {
	if l == nil || n <= 0 {
		return nil
	}
	for n > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		l.mu.Lock()
		if !l.cur.Limited() {
			l.mu.Unlock()
			return nil
		}
		chunk := min(n, l.lim.Burst())
		now := l.clock.Now()
		res := l.lim.ReserveN(now, chunk) // chunk <= burst, no bound on the wait: always OK
		delay := res.DelayFrom(now)
		if delay == 0 {
			l.mu.Unlock()
			n -= chunk
			continue
		}
		w := &waiter{res: res, wake: make(chan struct{})}
		w.timer = l.clock.AfterFunc(delay, func() { l.fire(w) })
		l.waiting[w] = struct{}{}
		l.mu.Unlock()

		select {
		case <-w.wake:
		case <-ctx.Done():
		}
		l.mu.Lock()
		switch w.state {
		case granted:
			n -= chunk
		case requeue:
		default: // ctx ended first
			delete(l.waiting, w)
			w.timer.Stop()
			w.res.CancelAt(l.clock.Now())
			l.mu.Unlock()
			return ctx.Err()
		}
		l.mu.Unlock()
	}
	return nil
}

func (l *Limiter) fire(w *waiter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w.state != waiting {
		return
	}
	if _, ok := l.waiting[w]; !ok {
		return // its WaitN gave up
	}
	w.state = granted
	delete(l.waiting, w)
	close(w.wake)
}

// tick applies the rate in force now and sets the next timer.
func (l *Limiter) tick() {
	now := l.clock.Now()
	r := l.tt.RateAt(now)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	changed := r != l.cur
	if changed {
		l.setLocked(now, r)
	}
	l.scheduleLocked(now)
	f := l.onChange
	l.mu.Unlock()
	if changed && f != nil {
		f(r, now)
	}
}

func (l *Limiter) setLocked(now time.Time, r Rate) {
	var queued []*waiter
	for w := range l.waiting {
		if w.res.DelayFrom(now) > 0 { // one already due keeps its grant
			queued = append(queued, w)
		}
	}
	sort.Slice(queued, func(i, j int) bool { return queued[i].res.DelayFrom(now) > queued[j].res.DelayFrom(now) })
	for _, w := range queued {
		w.res.CancelAt(now) // latest first: each is the limiter's last event when cancelled
		w.timer.Stop()
		w.state = requeue
		delete(l.waiting, w)
		close(w.wake)
	}
	l.lim.SetLimitAt(now, r.Limit()) // tokens accrue at the old limit up to now
	l.lim.SetBurstAt(now, burstFor(r))
	l.cur = r
}

func (l *Limiter) scheduleLocked(now time.Time) {
	next := l.tt.NextChange(now)
	if next.IsZero() {
		return
	}
	d := min(next.Sub(now), resync)
	l.timer = l.clock.AfterFunc(max(d, time.Millisecond), l.tick)
}

// Close stops following the timetable and releases the timer; the rate
// in force stays. A nil Limiter's Close does nothing.
func (l *Limiter) Close() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.timer != nil {
		l.timer.Stop()
	}
}
