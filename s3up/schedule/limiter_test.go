package schedule

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// mon is a Monday, 00:00 UTC; sun is the Sunday before.
var (
	mon = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	sun = mon.Add(-24 * time.Hour)
)

// deadline bounds a test's wait for the code under test, so that a bug
// fails the test instead of hanging it.
func deadline(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newTestLimiter(t *testing.T, table string, start time.Time) (*Limiter, *FakeClock) {
	t.Helper()
	clk := NewFakeClock(start)
	l := NewLimiter(mustParse(t, table, time.UTC), clk)
	t.Cleanup(l.Close)
	return l, clk
}

// TestLimiterFollowsTimetable: crossing boundaries, midnight and the
// change of day, the limiter's limit and burst are the timetable's at
// each moment, changed exactly at the boundaries.
func TestLimiterFollowsTimetable(t *testing.T) {
	l, clk := newTestLimiter(t, "Sun-23:58,1M Sun-23:59:30,off Mon-00:00,64k Mon-00:00:01,300k Mon-06:00,2k", sun.Add(23*time.Hour+57*time.Minute))
	if l.Rate() != rt("2k") { // the week's last entry, wrapped
		t.Fatalf("start rate %s, want 2KiB/s", l.Rate())
	}
	var changes []string
	l.OnChange(func(r Rate, at time.Time) { changes = append(changes, at.Format("Mon 15:04:05")+" "+r.String()) })
	want := []struct {
		at    time.Time
		rate  Rate
		burst int
	}{
		{sun.Add(23*time.Hour + 58*time.Minute), 1 << 20, MaxBurst},
		{sun.Add(23*time.Hour + 59*time.Minute + 30*time.Second), Unlimited, MaxBurst},
		{mon, 64 << 10, 64 << 10},
		{mon.Add(time.Second), 300 << 10, MaxBurst},
		{mon.Add(6 * time.Hour), 2 << 10, 2 << 10},
	}
	prev := clk.Now()
	for _, w := range want {
		for clk.Now().Before(w.at) {
			before := l.Rate()
			now, ok := clk.AdvanceToNext()
			if !ok {
				t.Fatalf("no timer pending at %s", clk.Now())
			}
			if now.Before(w.at) && l.Rate() != before {
				t.Fatalf("rate changed at %s, before the boundary at %s", now, w.at)
			}
			if step := now.Sub(prev); step > resync {
				t.Fatalf("the limiter's timer ran %s, more than %s, without reading the clock", step, resync)
			}
			prev = now
		}
		if !clk.Now().Equal(w.at) {
			t.Fatalf("stepped to %s, past the boundary at %s", clk.Now(), w.at)
		}
		if l.Rate() != w.rate || l.Burst() != w.burst || l.Limit() != w.rate.Limit() {
			t.Errorf("at %s: rate %s burst %d limit %v, want %s, %d", w.at.Format("Mon 15:04:05"), l.Rate(), l.Burst(), l.Limit(), w.rate, w.burst)
		}
	}
	if got, want := fmt.Sprint(changes), "[Sun 23:58:00 1MiB/s Sun 23:59:30 off Mon 00:00:00 64KiB/s Mon 00:00:01 300KiB/s Mon 06:00:00 2KiB/s]"; got != want {
		t.Errorf("OnChange saw %s\nwant %s", got, want)
	}
}

// grant is bytes WaitN granted at a fake instant.
type grant struct {
	at time.Time
	n  int
}

// runReaders runs readers goroutines that call WaitN(chunk) in a loop,
// recording each grant, and moves the fake clock from timer to timer,
// only when every reader waits, until end. The only other timer is the
// limiter's own.
func runReaders(t *testing.T, l *Limiter, clk *FakeClock, readers, chunk int, end time.Time) []grant {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var mu sync.Mutex
	var grants []grant
	var wg sync.WaitGroup
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l.WaitN(ctx, chunk) == nil {
				mu.Lock()
				grants = append(grants, grant{clk.Now(), chunk})
				mu.Unlock()
			}
		}()
	}
	for clk.Now().Before(end) {
		if err := clk.BlockUntil(deadline(t), readers+1); err != nil {
			t.Fatalf("readers did not all wait (at %s): %v", clk.Now(), err)
		}
		clk.AdvanceToNext()
	}
	cancel()
	wg.Wait()
	return grants
}

// TestLimiterThroughput measures, on the fake clock, what three readers
// are granted in each stretch of a timetable that crosses midnight and
// the change of day, against the stretch's rate.
func TestLimiterThroughput(t *testing.T) {
	const readers, chunk = 3, 8 << 10
	table := "Sun-23:59:40,1M Sun-23:59:55,64k Mon-00:00:05,512k Mon-00:00:25,256k"
	start := sun.Add(23*time.Hour + 59*time.Minute + 30*time.Second)
	l, clk := newTestLimiter(t, table, start)
	end := mon.Add(45 * time.Second)
	grants := runReaders(t, l, clk, readers, chunk, end)

	tt := l.Timetable()
	for a := start; a.Before(end); {
		b := tt.NextChange(a)
		if b.After(end) {
			b = end
		}
		r := tt.RateAt(a)
		var got int
		for _, g := range grants {
			if !g.at.Before(a) && g.at.Before(b) {
				got += g.n
			}
		}
		want := float64(r) * b.Sub(a).Seconds()
		// A stretch may start with a full bucket and end with readers'
		// chunks reserved but not yet granted.
		slack := float64(burstFor(r) + readers*chunk)
		t.Logf("%s to %s at %s: %d bytes, want %.0f ± %.0f", a.Format("Mon 15:04:05"), b.Format("Mon 15:04:05"), r, got, want, slack)
		if d := float64(got) - want; d > slack || d < -slack {
			t.Errorf("%s to %s at %s: granted %d bytes (%.0f B/s), want %.0f (± %.0f)", a.Format("15:04:05"), b.Format("15:04:05"), r, got, float64(got)/b.Sub(a).Seconds(), want, slack)
		}
		a = b
	}
}

// crew runs goroutines that wait on a Limiter under a FakeClock, and
// moves the clock from timer to timer only when every live one waits on a
// timer (each has exactly one then), besides the limiter's own extra
// timers. A goroutine's results are taken before it stops being live, so
// the clock cannot move under them.
type crew struct {
	t       *testing.T
	clk     *FakeClock
	mu      sync.Mutex
	live    int
	changed chan struct{}
}

func newCrew(t *testing.T, clk *FakeClock) *crew {
	return &crew{t: t, clk: clk, changed: make(chan struct{})}
}

func (c *crew) goWait(f func()) {
	c.mu.Lock()
	c.live++
	c.mu.Unlock()
	go func() {
		defer func() {
			c.mu.Lock()
			c.live--
			close(c.changed)
			c.changed = make(chan struct{})
			c.mu.Unlock()
		}()
		f()
	}()
}

// run drives the clock until no goroutine is live.
func (c *crew) run(extra int) {
	base := deadline(c.t)
	for {
		c.mu.Lock()
		live, ch := c.live, c.changed
		c.mu.Unlock()
		if live == 0 {
			return
		}
		ctx, stop := context.WithCancel(base)
		go func() {
			select {
			case <-ch:
				stop()
			case <-ctx.Done():
			}
		}()
		err := c.clk.BlockUntil(ctx, live+extra)
		stop()
		switch {
		case err == nil:
			c.clk.AdvanceToNext()
		case base.Err() != nil:
			c.t.Fatalf("%d goroutines did not all wait (at %s)", live, c.clk.Now())
		}
	}
}

// TestLimiterWaitersAdoptNewRate: requests queued at 1 KiB/s (each due a
// second after the other) go at the boundary to "off" at once, and just
// after it when the rate rises: they do not keep the old schedule.
func TestLimiterWaitersAdoptNewRate(t *testing.T) {
	for _, tc := range []struct {
		to     string
		within time.Duration
	}{
		{"off", 0},
		{"1M", 10 * time.Millisecond},
	} {
		t.Run(tc.to, func(t *testing.T) {
			boundary := mon.Add(6 * time.Second)
			l, clk := newTestLimiter(t, "Mon-00:00,1k Mon-00:00:06,"+tc.to, mon.Add(5500*time.Millisecond))
			if err := l.WaitN(t.Context(), 1024); err != nil { // empties the bucket
				t.Fatal(err)
			}
			const waiters = 5 // due 1..5 s after the start at 1 KiB/s
			var mu sync.Mutex
			var went []time.Time
			c := newCrew(t, clk)
			for range waiters {
				c.goWait(func() {
					if err := l.WaitN(t.Context(), 1024); err != nil {
						t.Error(err)
					}
					mu.Lock()
					went = append(went, clk.Now())
					mu.Unlock()
				})
			}
			c.run(1)
			for _, at := range went {
				if at.Before(boundary) || at.After(boundary.Add(tc.within)) {
					t.Errorf("a request queued at 1 KiB/s went at %s, want within %s of the boundary %s", at.Format("15:04:05.000"), tc.within, boundary.Format("15:04:05"))
				}
			}
		})
	}
}

// TestLimiterDropKeepsNoDebt: requests queued at 1 MiB/s when the rate
// drops to 64 KiB/s are sent at 64 KiB/s from the boundary. Their old
// reservations go back to the bucket; left there as debt they would stall
// everything for about another 12 s.
func TestLimiterDropKeepsNoDebt(t *testing.T) {
	boundary := mon.Add(10 * time.Second)
	l, clk := newTestLimiter(t, "Mon-00:00,1M Mon-00:00:10,64k", boundary.Add(-100*time.Millisecond))
	const waiters, each = 4, 256 << 10 // the first takes the full bucket, three queue
	var mu sync.Mutex
	var last time.Time
	c := newCrew(t, clk)
	for range waiters {
		c.goWait(func() {
			if err := l.WaitN(t.Context(), each); err != nil {
				t.Error(err)
			}
			mu.Lock()
			last = clk.Now()
			mu.Unlock()
		})
	}
	c.run(1)
	// 768 KiB at 64 KiB/s is 12 s, less what the bucket held at the
	// boundary (at most its 64 KiB burst, 1 s).
	took := last.Sub(boundary)
	if took < 11*time.Second || took > 12*time.Second+100*time.Millisecond {
		t.Errorf("768 KiB queued at the drop to 64 KiB/s took %s after it, want 11 to 12.1 s", took)
	}
}

// TestLimiterUnlimitedWaitsNever: while "off", WaitN returns at once,
// sets no timer, and the burst stays usable for capped reads.
func TestLimiterUnlimitedWaitsNever(t *testing.T) {
	l, clk := newTestLimiter(t, "Mon-00:00,off Mon-12:00,1k", mon.Add(time.Hour))
	if l.Limit() != rate.Inf || l.Rate().Limited() || l.Burst() != MaxBurst {
		t.Fatalf("off: limit %v, rate %s, burst %d", l.Limit(), l.Rate(), l.Burst())
	}
	done := make(chan error, 1)
	go func() {
		for range 1000 {
			if err := l.WaitN(t.Context(), 10<<20); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select { // the fake clock never moves: any wait is for ever
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-deadline(t).Done():
		t.Fatal("WaitN waited while the rate is off")
	}
	if n := clk.Pending(); n != 1 { // the limiter's own timer only
		t.Fatalf("%d timers pending, want 1", n)
	}
	var nl *Limiter
	if err := nl.WaitN(t.Context(), 1<<30); err != nil || nl.Burst() != MaxBurst || nl.Rate() != Unlimited {
		t.Fatal("a nil Limiter is not unlimited")
	}
	nl.Close()
}

// TestLimiterBurst: one second of the rate, at most MaxBurst, never 0.
func TestLimiterBurst(t *testing.T) {
	for _, tc := range []struct {
		table string
		burst int
	}{{"1B", 1}, {"1000B", 1000}, {"256k", MaxBurst}, {"10G", MaxBurst}, {"off", MaxBurst}} {
		l, _ := newTestLimiter(t, tc.table, mon)
		if l.Burst() != tc.burst {
			t.Errorf("%s: burst %d, want %d", tc.table, l.Burst(), tc.burst)
		}
	}
}

// TestLimiterWaitNAboveBurst: a read cut to the burst before a boundary
// that lowers it still goes through (rate.Limiter.WaitN would refuse it
// as "exceeds limiter's burst" and fail the part), at the new rate.
func TestLimiterWaitNAboveBurst(t *testing.T) {
	l, clk := newTestLimiter(t, "Mon-00:00,1M Mon-00:00:10,1k", mon.Add(9*time.Second))
	n := l.Burst() // 256 KiB, cut before the boundary
	clk.AdvanceTo(mon.Add(10 * time.Second))
	if l.Burst() != 1024 {
		t.Fatalf("burst after the boundary %d", l.Burst())
	}
	var went time.Time
	c := newCrew(t, clk)
	c.goWait(func() {
		if err := l.WaitN(t.Context(), n); err != nil {
			t.Error(err)
		}
		went = clk.Now()
	})
	c.run(1)
	// The bucket held 1 KiB; the other 255 KiB at 1 KiB/s.
	if took := went.Sub(mon.Add(10 * time.Second)); took != 255*time.Second {
		t.Errorf("256 KiB at 1 KiB/s took %s, want 255s", took)
	}
}

// TestLimiterLeavesUnlimitedAtOnce: going from off to a limit at the very
// instant it went off (no time for tokens to accrue at rate.Inf) still
// limits: the bucket holds its burst, then the rate applies.
func TestLimiterLeavesUnlimitedAtOnce(t *testing.T) {
	l, clk := newTestLimiter(t, "1k", mon)
	now := clk.Now()
	l.mu.Lock()
	l.setLocked(now, Unlimited)
	l.setLocked(now, 1024)
	l.mu.Unlock()
	if err := l.WaitN(t.Context(), 1024); err != nil { // the bucket's 1 KiB
		t.Fatal(err)
	}
	var went time.Time
	c := newCrew(t, clk)
	c.goWait(func() {
		if err := l.WaitN(t.Context(), 1024); err != nil {
			t.Error(err)
		}
		went = clk.Now()
	})
	c.run(0)
	if took := went.Sub(now); took != time.Second {
		t.Fatalf("1 KiB at 1 KiB/s, after the limit came back, took %s, want 1s", took)
	}
}

// TestLimiterCancel: a waiting WaitN returns its context's error, and its
// timer goes.
func TestLimiterCancel(t *testing.T) {
	l, clk := newTestLimiter(t, "1k", mon)
	if err := l.WaitN(t.Context(), 1024); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- l.WaitN(ctx, 4096) }()
	if err := clk.BlockUntil(deadline(t), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("WaitN = %v, want context.Canceled", err)
	}
	if clk.Pending() != 0 {
		t.Fatalf("%d timers left", clk.Pending())
	}
	if err := l.WaitN(ctx, 1); err != context.Canceled {
		t.Fatalf("WaitN on a cancelled context = %v", err)
	}
}

// TestLimiterClose: Close releases the timer; the rate stays.
func TestLimiterClose(t *testing.T) {
	l, clk := newTestLimiter(t, "Mon-00:00,1M Mon-01:00,off", mon)
	if clk.Pending() != 1 {
		t.Fatalf("%d timers, want 1", clk.Pending())
	}
	l.Close()
	if clk.Pending() != 0 {
		t.Fatalf("%d timers after Close", clk.Pending())
	}
	clk.Advance(2 * time.Hour)
	if l.Rate() != 1<<20 {
		t.Fatalf("rate after Close and a boundary: %s", l.Rate())
	}
}

// TestLimiterRealClock: on the real clock, a request that would take
// minutes at 4 KiB/s goes within a second of the boundary to "off", and
// before it the rate holds.
func TestLimiterRealClock(t *testing.T) {
	now := time.Now()
	boundary := now.Truncate(time.Second).Add(2 * time.Second)
	clock := func(t time.Time) string { return t.In(time.Local).Format("15:04:05") }
	table := fmt.Sprintf("%s,4k %s,off", clock(boundary.Add(-6*time.Hour)), clock(boundary))
	tt, err := ParseTimetable(table)
	if err != nil {
		t.Fatal(err)
	}
	l := NewLimiter(tt, nil)
	defer l.Close()
	if l.Rate() != 4<<10 {
		t.Fatalf("rate before the boundary %s (table %q)", l.Rate(), table)
	}
	// Before the boundary: 1 KiB at a time, no faster than 4 KiB/s.
	var sent int
	for time.Until(boundary) > 500*time.Millisecond {
		if err := l.WaitN(t.Context(), 1024); err != nil {
			t.Fatal(err)
		}
		sent += 1024
	}
	if limit := 4096 + 4096*time.Since(now).Seconds() + 1024; float64(sent) > limit {
		t.Errorf("sent %d bytes in %s at 4 KiB/s", sent, time.Since(now))
	}
	// 1 MiB at 4 KiB/s is over four minutes: it must go at the boundary.
	if err := l.WaitN(t.Context(), 1<<20); err != nil {
		t.Fatal(err)
	}
	if late := time.Since(boundary); late > time.Second {
		t.Errorf("the request went %s after the boundary to off", late)
	}
	if l.Rate() != Unlimited {
		t.Errorf("rate after the boundary %s", l.Rate())
	}
}

// bodyLimiter is what the engine's part reader needs of a limiter: it
// cuts reads to Burst and waits for each with WaitN. *rate.Limiter, used
// today, and *Limiter both have it, so the field's type can become this
// interface with no other change.
type bodyLimiter interface {
	Burst() int
	WaitN(ctx context.Context, n int) error
}

var (
	_ bodyLimiter = (*rate.Limiter)(nil)
	_ bodyLimiter = (*Limiter)(nil)
)

// limitedReader reads as the part reader does: each read is cut to the
// burst, then waited for.
type limitedReader struct {
	ctx  context.Context
	lim  bodyLimiter
	left int
}

func (r *limitedReader) Read(p []byte) (int, error) {
	if len(p) > r.lim.Burst() {
		p = p[:r.lim.Burst()]
	}
	n := min(len(p), r.left)
	if n == 0 {
		return 0, io.EOF
	}
	r.left -= n
	return n, r.lim.WaitN(r.ctx, n)
}

// TestLimiterAsPartBody: request bodies read through the Limiter as the
// part reader reads them, with 32 KiB reads (the HTTP client's), across
// boundaries that lower the burst from 256 KiB to 1 KiB and lift the limit:
// no read fails, and the bytes take the timetable's time.
func TestLimiterAsPartBody(t *testing.T) {
	l, clk := newTestLimiter(t, "Mon-00:00,1M Mon-00:00:01,1k Mon-00:00:11,off", mon)
	const bodies, size = 2, 800 << 10
	c := newCrew(t, clk)
	var mu sync.Mutex
	var ends []time.Time
	for range bodies {
		c.goWait(func() {
			r := &limitedReader{ctx: t.Context(), lim: l, left: size}
			if _, err := io.CopyBuffer(io.Discard, r, make([]byte, 32<<10)); err != nil {
				t.Errorf("reading a body: %v", err)
			}
			mu.Lock()
			ends = append(ends, clk.Now())
			mu.Unlock()
		})
	}
	c.run(1)
	// 1600 KiB: 1280 KiB in the first second (the 256 KiB bucket and 1 MiB/s),
	// then 320 KiB at 1 KiB/s, which would take 320 s: the lifting at
	// 00:00:11 lets it go.
	for _, e := range ends {
		if e.Before(mon.Add(time.Second)) || e.After(mon.Add(11*time.Second)) {
			t.Errorf("a body ended at %s, want between the drop at 00:00:01 and the lifting at 00:00:11", e.Format("15:04:05.000"))
		}
	}
	if last := ends[len(ends)-1]; !last.Equal(mon.Add(11 * time.Second)) {
		t.Errorf("the last body ended at %s, want 00:00:11, when the limit was lifted", last.Format("15:04:05.000"))
	}
}
