package schedule

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the DST tests must not depend on the machine's zoneinfo
)

func mustParse(t *testing.T, s string, loc *time.Location) *Timetable {
	t.Helper()
	tt, err := ParseTimetable(s)
	if err != nil {
		t.Fatalf("ParseTimetable(%q): %v", s, err)
	}
	return tt.In(loc)
}

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func rt(s string) Rate {
	r, err := ParseRate(s)
	if err != nil {
		panic(err)
	}
	return r
}

// at is a wall time in loc; 2026-12-07 is a Monday.
func at(loc *time.Location, y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, loc)
}

// TestTimetableRcloneDailyExample is the first timetable in rclone's
// --bwlimit documentation, read as its text says.
func TestTimetableRcloneDailyExample(t *testing.T) {
	tt := mustParse(t, "08:00,512k 12:00,10M 13:00,512k 18:00,30M 23:00,off", time.UTC)
	for _, tc := range []struct {
		h, m, s int
		want    string
	}{
		{0, 0, 0, "off"}, {7, 59, 59, "off"}, {8, 0, 0, "512k"}, {11, 59, 59, "512k"},
		{12, 0, 0, "10M"}, {13, 0, 0, "512k"}, {18, 0, 0, "30M"}, {22, 59, 59, "30M"}, {23, 0, 0, "off"},
	} {
		when := at(time.UTC, 2026, 12, 9, tc.h, tc.m, tc.s)
		if got := tt.RateAt(when); got != rt(tc.want) {
			t.Errorf("at %s: %s, want %s", when.Format("Mon 15:04:05"), got, tc.want)
		}
	}
	// The semicolon form is the same timetable.
	semi := mustParse(t, "08:00,512k;12:00,10M;13:00,512k;18:00,30M;23:00,off", time.UTC)
	sameWeek(t, tt, semi, time.UTC)
}

// TestTimetableRcloneWeekdayExample is rclone's weekday example. Its text:
// 512 KiB/s on Monday, 10 MiB/s from Friday 23:59, 1 MiB/s from Saturday
// 10:00, unlimited from Sunday 20:00. On Sunday before 20:00 the weekend's
// 1 MiB/s is still in force here; rclone's code says "off" there, because
// it wraps to the entry written last rather than the week's latest.
func TestTimetableRcloneWeekdayExample(t *testing.T) {
	tt := mustParse(t, "Mon-00:00,512 Fri-23:59,10M Sat-10:00,1M Sun-20:00,off", time.UTC)
	for _, tc := range []struct {
		when time.Time
		want string
	}{
		{at(time.UTC, 2026, 12, 7, 0, 0, 0), "512k"},    // Mon
		{at(time.UTC, 2026, 12, 10, 12, 0, 0), "512k"},  // Thu
		{at(time.UTC, 2026, 12, 11, 23, 58, 0), "512k"}, // Fri
		{at(time.UTC, 2026, 12, 11, 23, 59, 0), "10M"},
		{at(time.UTC, 2026, 12, 12, 10, 0, 0), "1M"},    // Sat
		{at(time.UTC, 2026, 12, 13, 10, 0, 0), "1M"},    // Sun, before 20:00: rclone says off
		{at(time.UTC, 2026, 12, 13, 20, 0, 0), "off"},   // Sun 20:00
		{at(time.UTC, 2026, 12, 13, 23, 59, 59), "off"}, // until Monday
	} {
		if got := tt.RateAt(tc.when); got != rt(tc.want) {
			t.Errorf("at %s: %s, want %s", tc.when.Format("Mon 15:04:05"), got, tc.want)
		}
	}
}

// TestTimetableMixedDays: rclone's documentation says a dayless entry is
// extended to the whole week; its example and its expansion agree.
func TestTimetableMixedDays(t *testing.T) {
	mixed := mustParse(t, "Mon-00:00,512 12:00,1M Sun-20:00,off", time.UTC)
	expanded := mustParse(t, "Mon-00:00,512 Mon-12:00,1M Tue-12:00,1M Wed-12:00,1M Thu-12:00,1M Fri-12:00,1M Sat-12:00,1M Sun-12:00,1M Sun-20:00,off", time.UTC)
	sameWeek(t, mixed, expanded, time.UTC)
}

// TestTimetableLaterEntryWins: two entries for one moment, the one
// written later wins (as rclone picks the later on a tie), whether the
// other has a day or not.
func TestTimetableLaterEntryWins(t *testing.T) {
	mon8 := at(time.UTC, 2026, 12, 7, 8, 0, 0)
	tue8 := mon8.AddDate(0, 0, 1)
	for _, tc := range []struct {
		in       string
		mon, tue string
	}{
		{"Mon-08:00,1M 08:00,2M", "2M", "2M"},
		{"08:00,2M Mon-08:00,1M", "1M", "2M"},
		{"08:00,2M 08:00,3M", "3M", "3M"},
		{"Mon-08:00,1M Monday-08:00,4M 20:00,off", "4M", "off"},
	} {
		tt := mustParse(t, tc.in, time.UTC)
		if got := tt.RateAt(mon8); got != rt(tc.mon) {
			t.Errorf("%q on Monday 08:00: %s, want %s", tc.in, got, tc.mon)
		}
		if got := tt.RateAt(tue8); got != rt(tc.tue) {
			t.Errorf("%q on Tuesday 08:00: %s, want %s", tc.in, got, tc.tue)
		}
	}
}

// TestTimetableOrderDoesNotMatter: entries out of order make the same
// timetable, dayless or with days.
func TestTimetableOrderDoesNotMatter(t *testing.T) {
	sameWeek(t, mustParse(t, "18:00,1M 08:00,2M", time.UTC), mustParse(t, "08:00,2M 18:00,1M", time.UTC), time.UTC)
	sameWeek(t, mustParse(t, "Sat-10:00,1M Mon-08:00,2M Wed-12:00,off", time.UTC),
		mustParse(t, "Mon-08:00,2M Wed-12:00,off Sat-10:00,1M", time.UTC), time.UTC)
}

// TestTimetableWeekWrap: before the week's first entry (Sunday 00:00 on)
// the week's latest entry is still in force.
func TestTimetableWeekWrap(t *testing.T) {
	tt := mustParse(t, "Mon-06:00,2M Sat-22:00,1M", time.UTC)
	for _, tc := range []struct {
		when time.Time
		want string
	}{
		{at(time.UTC, 2026, 12, 12, 21, 59, 59), "2M"}, // Sat
		{at(time.UTC, 2026, 12, 12, 22, 0, 0), "1M"},
		{at(time.UTC, 2026, 12, 13, 0, 0, 0), "1M"}, // Sun midnight: a new week, same rate
		{at(time.UTC, 2026, 12, 13, 12, 0, 0), "1M"},
		{at(time.UTC, 2026, 12, 14, 5, 59, 59), "1M"}, // Mon
		{at(time.UTC, 2026, 12, 14, 6, 0, 0), "2M"},
	} {
		if got := tt.RateAt(tc.when); got != rt(tc.want) {
			t.Errorf("at %s: %s, want %s", tc.when.Format("Mon 15:04:05"), got, tc.want)
		}
	}
	// The change on Monday 06:00 is found across midnight and the week's end.
	from := at(time.UTC, 2026, 12, 12, 23, 0, 0)
	if got, want := tt.NextChange(from), at(time.UTC, 2026, 12, 14, 6, 0, 0); !got.Equal(want) {
		t.Errorf("NextChange(%s) = %s, want %s", from, got, want)
	}
}

func TestTimetableSeconds(t *testing.T) {
	tt := mustParse(t, "23:59:30,1M 00:00:15,2M", time.UTC)
	before := at(time.UTC, 2026, 12, 7, 23, 59, 29)
	for _, tc := range []struct {
		when time.Time
		want string
	}{
		{before, "2M"},
		{before.Add(time.Second), "1M"},
		{before.Add(45 * time.Second), "1M"}, // Tue 00:00:14
		{before.Add(46 * time.Second), "2M"}, // Tue 00:00:15
	} {
		if got := tt.RateAt(tc.when); got != rt(tc.want) {
			t.Errorf("at %s: %s, want %s", tc.when.Format("Mon 15:04:05"), got, tc.want)
		}
	}
	if got, want := tt.NextChange(before), before.Add(time.Second); !got.Equal(want) {
		t.Errorf("NextChange = %s, want %s", got, want)
	}
	// From within a second, the change is the next whole second.
	if got, want := tt.NextChange(before.Add(300*time.Millisecond)), before.Add(time.Second); !got.Equal(want) {
		t.Errorf("NextChange from a fraction = %s, want %s", got, want)
	}
	if got, want := tt.NextChange(before.Add(time.Second)), before.Add(46*time.Second); !got.Equal(want) {
		t.Errorf("NextChange across midnight = %s, want %s", got, want)
	}
}

func TestTimetableConstant(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Rate
	}{
		{"20MiB/s", 20 << 20},
		{"10M", 10 << 20},
		{"off", Unlimited},
		{"0", Unlimited},
		{"10M:1M", 10 << 20},
		{"08:00,1M 09:00,1M", 1 << 20}, // entries that change nothing
		{"Wed-08:00,3M", 3 << 20},      // one entry all week
		{"08:00,1M", 1 << 20},
	} {
		tt := mustParse(t, tc.in, time.UTC)
		r, ok := tt.Constant()
		if !ok || r != tc.want {
			t.Errorf("%q: Constant() = %s, %v; want %s, true", tc.in, r, ok, tc.want)
		}
		now := at(time.UTC, 2026, 12, 9, 8, 30, 0)
		if got := tt.RateAt(now); got != tc.want {
			t.Errorf("%q: RateAt = %s, want %s", tc.in, got, tc.want)
		}
		if next := tt.NextChange(now); !next.IsZero() {
			t.Errorf("%q: NextChange = %s, want never", tc.in, next)
		}
	}
}

func TestParseTimetableErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty bandwidth limit"},
		{"   ", "empty bandwidth limit"},
		{"fast", "not a rate"},
		{"512k 1M", "a timetable's entries are HH:MM,RATE"},
		{"Mon-25:00,1M", `entry "Mon-25:00,1M": "25:00": hour 25 is not between 00 and 23`},
		{"08:00,1M 08:60,2M", `entry "08:60,2M": "08:60": minute 60`},
		{"08:00:60,1M", "second 60"},
		{"8:0,1M", `entry "8:0,1M": "8:0" is not a time of day`},
		{"0800,1M", "is not a time of day"},
		{"08:00:00:00,1M", "is not a time of day"},
		{"Mond-08:00,1M", `"Mond" is not a day`},
		{"-08:00,1M", `"" is not a day`},
		{"08:00,1M,2M", `entry "08:00,1M,2M": want HH:MM,RATE`},
		{"08:00, 1M", `entry "08:00,": empty rate`},
		{"08:00,fast", `entry "08:00,fast": "fast" is not a rate`},
		{"08:00,0k", "zero would stall"},
		{"08:00,1M 10Mbit/s,x", "10Mbit/s"},
		{"+8:00,1M", "not a time of day"},
	} {
		_, err := ParseTimetable(tc.in)
		if err == nil {
			t.Errorf("ParseTimetable(%q) succeeded, want an error containing %q", tc.in, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseTimetable(%q):\n got %v\nwant it to contain %q", tc.in, err, tc.want)
		}
	}
}

func TestParseTimetableAccepts(t *testing.T) {
	for _, in := range []string{
		"8:00,1M 19:00,off",              // a one-digit hour
		"mon-08:00,1M SUNDAY-10:00,2M",   // any case, whole names
		"  08:00,1M\t19:00,off  ",        // any spaces
		"08:00,1M;;19:00,off;",           // empty separators
		"08:00:30,20MiB/s 19:00,500KB/s", // s3up's rates, seconds
		"Mon-00:00,10M:1M Fri-18:00,off:off",
	} {
		if _, err := ParseTimetable(in); err != nil {
			t.Errorf("ParseTimetable(%q): %v", in, err)
		}
	}
}

func TestTimetableString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"10M", "10MiB/s"},
		{"off", "off"},
		{"18:00,30M 08:00,512k 23:00,off", "08:00,512KiB/s 18:00,30MiB/s 23:00,off"},
		{"Mon-00:00,512 12:00,1M Sun-20:00,off", "12:00,1MiB/s Sun-20:00,off Mon-00:00,512KiB/s"},
		{"08:00:30,1M Mon-08:00:30,2M", "Sun-08:00:30,1MiB/s Mon-08:00:30,2MiB/s Tue-08:00:30,1MiB/s Wed-08:00:30,1MiB/s Thu-08:00:30,1MiB/s Fri-08:00:30,1MiB/s Sat-08:00:30,1MiB/s"},
	} {
		tt := mustParse(t, tc.in, time.UTC)
		got := tt.String()
		if got != tc.want {
			t.Errorf("%q prints as %q, want %q", tc.in, got, tc.want)
		}
		back := mustParse(t, got, time.UTC)
		sameWeek(t, tt, back, time.UTC)
	}
}

// sameWeek checks that a and b give the same rate at every minute of a
// week, and at the last second of each minute.
func sameWeek(t *testing.T, a, b *Timetable, loc *time.Location) {
	t.Helper()
	start := at(loc, 2026, 12, 6, 0, 0, 0) // a Sunday
	for m := 0; m < 7*24*60; m++ {
		for _, when := range []time.Time{start.Add(time.Duration(m) * time.Minute), start.Add(time.Duration(m)*time.Minute + 59*time.Second)} {
			if ra, rb := a.RateAt(when), b.RateAt(when); ra != rb {
				t.Fatalf("at %s: %s (%s) but %s (%s)", when.Format("Mon 15:04:05"), ra, a, rb, b)
			}
		}
	}
}

// TestTimetableSpringForward (Europe/Berlin, 2026-03-29, 02:00 CET jumps
// to 03:00 CEST): an entry in the skipped hour takes effect at the jump.
func TestTimetableSpringForward(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	jump := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC) // 03:00 CEST
	for _, tc := range []struct {
		table string
		steps []time.Time // successive NextChange from 00:00 UTC
		rates []string    // the rate from each step on
	}{
		{"02:30,1M 04:00,2M", []time.Time{jump, time.Date(2026, 3, 29, 2, 0, 0, 0, time.UTC)}, []string{"1M", "2M"}},
		{"02:00,1M 05:00,2M", []time.Time{jump, time.Date(2026, 3, 29, 3, 0, 0, 0, time.UTC)}, []string{"1M", "2M"}},
		// 03:00 is shown at the jump itself: one change there, not two.
		{"03:00,1M 05:00,2M", []time.Time{jump, time.Date(2026, 3, 29, 3, 0, 0, 0, time.UTC)}, []string{"1M", "2M"}},
		// Two entries in the skipped hour: the later one is in force after the jump.
		{"02:10,1M 02:40,3M 05:00,2M", []time.Time{jump, time.Date(2026, 3, 29, 3, 0, 0, 0, time.UTC)}, []string{"3M", "2M"}},
	} {
		tt := mustParse(t, tc.table, berlin)
		from := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC) // 01:00 CET
		if got := tt.RateAt(from); got != rt("2M") {
			t.Errorf("%q at 01:00 CET: %s, want 2M", tc.table, got)
		}
		for i, want := range tc.steps {
			got := tt.NextChange(from)
			if !got.Equal(want) {
				t.Fatalf("%q: change %d after %s is at %s, want %s", tc.table, i+1, from.In(berlin), got, want.In(berlin))
			}
			if r := tt.RateAt(got); r != rt(tc.rates[i]) {
				t.Errorf("%q at %s: %s, want %s", tc.table, got, r, tc.rates[i])
			}
			if r := tt.RateAt(got.Add(-time.Second)); r == tt.RateAt(got) {
				t.Errorf("%q: no change at %s", tc.table, got)
			}
			from = got
		}
	}
}

// TestTimetableFallBack (Europe/Berlin, 2026-10-25, 03:00 CEST goes back
// to 02:00 CET): an entry in the repeated hour applies at both passes, and
// the rate before it returns in between.
func TestTimetableFallBack(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	tt := mustParse(t, "02:30,1M 04:00,2M", berlin)
	u := func(h, m int) time.Time { return time.Date(2026, 10, 25, h, m, 0, 0, time.UTC) }
	want := []struct {
		at   time.Time
		rate string
	}{
		{u(0, 30), "1M"}, // 02:30 CEST
		{u(1, 0), "2M"},  // 02:00 CET: the clock is before 02:30 again
		{u(1, 30), "1M"}, // 02:30 CET
		{u(3, 0), "2M"},  // 04:00 CET
	}
	from := u(0, 0) // 02:00 CEST
	if r := tt.RateAt(from); r != rt("2M") {
		t.Fatalf("at 02:00 CEST: %s, want 2M", r)
	}
	for _, w := range want {
		got := tt.NextChange(from)
		if !got.Equal(w.at) {
			t.Fatalf("change after %s: %s, want %s", from.In(berlin), got.In(berlin), w.at.In(berlin))
		}
		if r := tt.RateAt(got); r != rt(w.rate) {
			t.Errorf("at %s: %s, want %s", got.In(berlin), r, w.rate)
		}
		from = got
	}
	// A jump back that changes nothing is not a change: with one entry
	// before the repeated hour, the clock going back leaves the rate.
	tt = mustParse(t, "01:00,1M 05:00,2M", berlin)
	if got, want := tt.NextChange(u(0, 0)), u(4, 0); !got.Equal(want) {
		t.Errorf("NextChange across the jump back = %s, want %s (05:00 CET)", got.In(berlin), want.In(berlin))
	}
}

// TestNextChangeBruteForce compares NextChange with a walk minute by
// minute, for random timetables in zones with and without DST (New York
// and Berlin change by an hour, Lord Howe by half an hour), from random
// instants in weeks that hold a change. Entries fall on whole minutes, so
// every change does too.
func TestNextChangeBruteForce(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	zones := []*time.Location{time.UTC, mustLoad(t, "Europe/Berlin"), mustLoad(t, "America/New_York"), mustLoad(t, "Australia/Lord_Howe")}
	around := []time.Time{ // instants near DST changes, and an ordinary week
		time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 28, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 10, 24, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 4, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC),
	}
	rates := []string{"off", "512k", "1M", "2M"}
	for i := 0; i < 60; i++ {
		var entries []string
		for n := 1 + rng.IntN(6); n > 0; n-- {
			e := fmt.Sprintf("%02d:%02d,%s", rng.IntN(24), rng.IntN(60), rates[rng.IntN(len(rates))])
			if rng.IntN(2) == 0 {
				e = time.Weekday(rng.IntN(7)).String()[:3] + "-" + e
			}
			entries = append(entries, e)
		}
		loc := zones[rng.IntN(len(zones))]
		tt := mustParse(t, strings.Join(entries, " "), loc)
		from := around[rng.IntN(len(around))].Add(time.Duration(rng.Int64N(int64(48 * time.Hour))))
		got := tt.NextChange(from)
		want := bruteNextChange(tt, from)
		if !got.Equal(want) {
			t.Fatalf("%s in %s from %s: NextChange = %s, walk says %s", tt, loc, from.In(loc), got.In(loc), want.In(loc))
		}
	}
}

func bruteNextChange(tt *Timetable, from time.Time) time.Time {
	cur := tt.RateAt(from)
	m := from.Truncate(time.Minute)
	for i := 0; i <= 8*24*60; i++ {
		m = m.Add(time.Minute)
		if tt.RateAt(m) != cur {
			return m
		}
	}
	return time.Time{}
}

func TestZeroTimetable(t *testing.T) {
	var tt Timetable
	if r, ok := tt.Constant(); !ok || r != Unlimited || tt.RateAt(time.Now()) != Unlimited || !tt.NextChange(time.Now()).IsZero() || tt.String() != "off" {
		t.Fatal("the zero Timetable is not unlimited")
	}
	l := NewLimiter(&tt, NewFakeClock(time.Now()))
	defer l.Close()
	if err := l.WaitN(t.Context(), 1<<30); err != nil || l.Rate() != Unlimited {
		t.Fatal("a Limiter on the zero Timetable limits")
	}
}
