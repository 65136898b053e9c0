package schedule

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseStopAtClock(t *testing.T) {
	now := time.Date(2026, 12, 9, 10, 0, 0, 500_000_000, time.UTC)
	today := func(h, m, s int) time.Time { return time.Date(2026, 12, 9, h, m, s, 0, time.UTC) }
	tomorrow := func(h, m, s int) time.Time { return time.Date(2026, 12, 10, h, m, s, 0, time.UTC) }
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"06:00", tomorrow(6, 0, 0)},
		{"6:00", tomorrow(6, 0, 0)},
		{"10:00", tomorrow(10, 0, 0)}, // now is 10:00:00.5: passed
		{"10:00:01", today(10, 0, 1)},
		{"23:59:59", today(23, 59, 59)},
		{"00:00", tomorrow(0, 0, 0)},
		{" 12:30 ", today(12, 30, 0)},
	} {
		got, err := ParseStopAt(tc.in, now)
		if err != nil {
			t.Errorf("ParseStopAt(%q): %v", tc.in, err)
			continue
		}
		if !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("ParseStopAt(%q) at %s = %s, want %s", tc.in, now, got, tc.want)
		}
	}
	// A time equal to now is tomorrow's.
	exact := today(10, 0, 0)
	if got, _ := ParseStopAt("10:00", exact); !got.Equal(tomorrow(10, 0, 0)) {
		t.Errorf("ParseStopAt(10:00) at 10:00:00 = %s, want tomorrow", got)
	}
}

// TestParseStopAtDST: a stop time on the nights the clock changes, in
// Berlin (by an hour) and Lord Howe (by half an hour).
func TestParseStopAtDST(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	lordHowe := mustLoad(t, "Australia/Lord_Howe")
	utc := func(y int, mo time.Month, d, h, m int) time.Time { return time.Date(y, mo, d, h, m, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name string
		now  time.Time
		in   string
		want time.Time
	}{
		// Spring, Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST at 01:00 UTC.
		{"skipped time is the jump", utc(2026, 3, 29, 0, 30).In(berlin), "02:30", utc(2026, 3, 29, 1, 0)},
		{"skipped hour's start", utc(2026, 3, 29, 0, 30).In(berlin), "02:00", utc(2026, 3, 29, 1, 0)},
		{"after the jump", utc(2026, 3, 29, 0, 30).In(berlin), "03:30", utc(2026, 3, 29, 1, 30)},
		{"overnight into summer time", time.Date(2026, 3, 28, 23, 0, 0, 0, berlin), "06:00", utc(2026, 3, 29, 4, 0)},
		// Autumn, Berlin 2026-10-25: 03:00 CEST goes back to 02:00 CET at 01:00 UTC.
		{"first pass", utc(2026, 10, 24, 23, 30).In(berlin), "02:30", utc(2026, 10, 25, 0, 30)},
		{"between the passes", utc(2026, 10, 25, 0, 45).In(berlin), "02:30", utc(2026, 10, 25, 1, 30)},
		{"after the second pass", utc(2026, 10, 25, 1, 45).In(berlin), "02:30", utc(2026, 10, 26, 1, 30)},
		{"overnight into winter time", time.Date(2026, 10, 24, 23, 0, 0, 0, berlin), "06:00", utc(2026, 10, 25, 5, 0)},
		// Lord Howe 2026-10-04: 02:00 (+10:30) jumps to 02:30 (+11) at 15:30 UTC the day before.
		{"half-hour jump", time.Date(2026, 10, 4, 1, 50, 0, 0, lordHowe), "02:15", utc(2026, 10, 3, 15, 30)},
		{"half-hour jump, after", time.Date(2026, 10, 4, 1, 50, 0, 0, lordHowe), "02:45", utc(2026, 10, 3, 15, 45)},
	} {
		got, err := ParseStopAt(tc.in, tc.now)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !got.Equal(tc.want) {
			t.Errorf("%s: ParseStopAt(%q) at %s = %s, want %s", tc.name, tc.in, tc.now, got, tc.want.In(tc.now.Location()))
		}
	}
}

func TestParseStopAtRFC3339(t *testing.T) {
	now := time.Date(2026, 12, 9, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2026-12-24T06:00:00+01:00", time.Date(2026, 12, 24, 5, 0, 0, 0, time.UTC)},
		{"2026-12-24T06:00:00Z", time.Date(2026, 12, 24, 6, 0, 0, 0, time.UTC)},
		{"2026-12-09T10:00:00.5Z", now.Add(500 * time.Millisecond)},
	} {
		got, err := ParseStopAt(tc.in, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseStopAt(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestParseStopAtErrors(t *testing.T) {
	now := time.Date(2026, 12, 9, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ in, want string }{
		{"", "empty stop time"},
		{"25:00", "hour 25 is not between 00 and 23"},
		{"06:60", "minute 60"},
		{"06:00:60", "second 60"},
		{"6", "not a time of day"},
		{"06:00pm", "not a time of day"},
		{"0600", "not a time of day"},
		{"2026-12-09T09:59:59Z", "not in the future"},
		{"2026-12-09T10:00:00Z", "not in the future"},
		{"2026-12-24T06:00:00", "RFC 3339"},
		{"2026-12-24 06:00", "RFC 3339"},
		{"2026-13-24T06:00:00Z", "RFC 3339"},
		{"tomorrow", "not a time of day"},
	} {
		_, err := ParseStopAt(tc.in, now)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseStopAt(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestDeadline(t *testing.T) {
	now := time.Now() // with a monotonic reading, which the result must not keep
	stop := now.Add(2 * time.Hour).Round(0)
	for _, tc := range []struct {
		name   string
		max    time.Duration
		stopAt time.Time
		want   time.Time
	}{
		{"neither", 0, time.Time{}, time.Time{}},
		{"max only", time.Hour, time.Time{}, now.Add(time.Hour)},
		{"stop only", 0, stop, stop},
		{"max earlier", time.Hour, stop, now.Add(time.Hour)},
		{"stop earlier", 3 * time.Hour, stop, stop},
	} {
		got, err := Deadline(tc.max, tc.stopAt, now)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !got.Equal(tc.want) {
			t.Errorf("%s: Deadline = %s, want %s", tc.name, got, tc.want)
		}
		if strings.Contains(got.String(), "m=") {
			t.Errorf("%s: the deadline %s keeps a monotonic reading", tc.name, got)
		}
	}
	if _, err := Deadline(-time.Second, time.Time{}, now); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("a negative duration: %v", err)
	}
	if _, err := Deadline(time.Hour, now.Add(-time.Second), now); err == nil || !strings.Contains(err.Error(), "not in the future") {
		t.Errorf("a past stop time: %v", err)
	}
}

func TestParseCutoffMode(t *testing.T) {
	for in, want := range map[string]CutoffMode{"": Soft, "soft": Soft, " Soft ": Soft, "hard": Hard, "HARD": Hard} {
		if got, err := ParseCutoffMode(in); err != nil || got != want {
			t.Errorf("ParseCutoffMode(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	if _, err := ParseCutoffMode("medium"); err == nil || !strings.Contains(err.Error(), `"medium" is not soft or hard`) {
		t.Errorf("ParseCutoffMode(medium) = %v", err)
	}
	if Soft.String() != "soft" || Hard.String() != "hard" {
		t.Error("String")
	}
	var zero CutoffMode
	if zero != Soft {
		t.Error("the zero CutoffMode is not Soft")
	}
}

// TestWindowEndsAtDeadline: three hours ahead, the window looks at the
// clock at least every minute and closes Done exactly at the deadline.
func TestWindowEndsAtDeadline(t *testing.T) {
	start := time.Date(2026, 12, 9, 1, 0, 0, 0, time.UTC)
	clk := NewFakeClock(start)
	deadline := start.Add(3*time.Hour + 30*time.Second)
	w := NewWindow(clk, deadline, Soft)
	defer w.Stop()
	if w.Length() != 3*time.Hour+30*time.Second {
		t.Fatalf("Length %s", w.Length())
	}
	prev := start
	for !w.Ended() {
		if w.Remaining() != deadline.Sub(clk.Now()) {
			t.Fatalf("Remaining %s at %s", w.Remaining(), clk.Now())
		}
		select {
		case <-w.Done():
			t.Fatal("Done closed before Ended")
		default:
		}
		now, ok := clk.AdvanceToNext()
		if !ok {
			t.Fatalf("no timer pending at %s, before the deadline", clk.Now())
		}
		if now.Sub(prev) > resync {
			t.Fatalf("the window slept %s without reading the clock", now.Sub(prev))
		}
		prev = now
	}
	if !clk.Now().Equal(deadline) {
		t.Fatalf("ended at %s, want %s", clk.Now(), deadline)
	}
	<-w.Done()
	if w.Remaining() != 0 || w.Elapsed() != deadline.Sub(start) || clk.Pending() != 0 {
		t.Fatalf("after the end: remaining %s, elapsed %s, %d timers", w.Remaining(), w.Elapsed(), clk.Pending())
	}
}

func TestWindowNeverEnds(t *testing.T) {
	clk := NewFakeClock(time.Unix(0, 0))
	for name, w := range map[string]*Window{"zero deadline": NewWindow(clk, time.Time{}, Hard), "nil": nil} {
		clk.Advance(1000 * time.Hour)
		if w.Ended() || w.Remaining() != math.MaxInt64 || w.Length() != 0 {
			t.Errorf("%s: ended %v, remaining %s, length %s", name, w.Ended(), w.Remaining(), w.Length())
		}
		if _, ok := w.Deadline(); ok {
			t.Errorf("%s: has a deadline", name)
		}
		select {
		case <-w.Done():
			t.Errorf("%s: Done closed", name)
		default:
		}
		ctx, cancel := w.CutoffContext(t.Context())
		if ctx.Err() != nil {
			t.Errorf("%s: CutoffContext cancelled", name)
		}
		cancel()
		w.Stop()
	}
	if clk.Pending() != 0 {
		t.Errorf("%d timers for windows that never end", clk.Pending())
	}
	var nilw *Window
	if nilw.Mode() != Soft || nilw.Elapsed() != 0 {
		t.Error("a nil Window is not soft")
	}
}

func TestWindowPastDeadline(t *testing.T) {
	clk := NewFakeClock(time.Unix(1000, 0))
	w := NewWindow(clk, time.Unix(999, 0), Hard)
	if !w.Ended() || w.Remaining() != 0 || clk.Pending() != 0 {
		t.Fatalf("a window whose deadline has passed: ended %v, remaining %s", w.Ended(), w.Remaining())
	}
	ctx, cancel := w.CutoffContext(t.Context())
	defer cancel()
	if !errors.Is(context.Cause(ctx), ErrWindowEnded) {
		t.Fatalf("hard CutoffContext of an ended window: cause %v", context.Cause(ctx))
	}
}

func TestWindowStop(t *testing.T) {
	clk := NewFakeClock(time.Unix(0, 0))
	w := NewWindow(clk, time.Unix(10, 0), Soft)
	w.Stop()
	if clk.Pending() != 0 {
		t.Fatalf("%d timers after Stop", clk.Pending())
	}
	clk.Advance(time.Hour)
	if w.Ended() {
		t.Fatal("a stopped window ended")
	}
}

// TestCutoffContext: in hard mode the parts' context is cancelled at the
// deadline with ErrWindowEnded as its cause; in soft mode it is not, and
// the parent's cancellation reaches both.
func TestCutoffContext(t *testing.T) {
	start := time.Unix(0, 0)
	for _, mode := range []CutoffMode{Soft, Hard} {
		clk := NewFakeClock(start)
		w := NewWindow(clk, start.Add(90*time.Second), mode)
		parent, cancelParent := context.WithCancel(t.Context())
		ctx, cancel := w.CutoffContext(parent)
		clk.Advance(89 * time.Second)
		if ctx.Err() != nil {
			t.Fatalf("%s: cancelled before the deadline", mode)
		}
		clk.Advance(time.Second)
		if mode == Hard {
			<-ctx.Done() // closed from the watcher goroutine
			if !errors.Is(context.Cause(ctx), ErrWindowEnded) {
				t.Fatalf("hard: cause %v, want ErrWindowEnded", context.Cause(ctx))
			}
		} else if ctx.Err() != nil {
			t.Fatalf("soft: the parts' context was cancelled at the deadline: %v", context.Cause(ctx))
		}
		cancel()
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Fatalf("%s: after cancel, %v", mode, ctx.Err())
		}

		ctx, cancel = NewWindow(clk, clk.Now().Add(time.Hour), mode).CutoffContext(parent)
		cancelParent()
		<-ctx.Done()
		if !errors.Is(context.Cause(ctx), context.Canceled) {
			t.Fatalf("%s: the parent's cancellation: cause %v", mode, context.Cause(ctx))
		}
		cancel()
	}
}
