package schedule

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
)

// Timetable is a weekly bandwidth schedule read from rclone's --bwlimit
// syntax. At any instant the rate in force is the one of the latest entry
// at or before the local wall clock's reading in the week (Sunday 00:00 to
// Saturday 23:59:59), and before the week's first entry the week's last
// entry is still in force. A Timetable is immutable and safe for
// concurrent use; the zero Timetable is unlimited.
type Timetable struct {
	loc   *time.Location
	slots []slot // by at, one per second of the week at most
}

// slot is one entry: from at (seconds since Sunday 00:00) the rate is r.
type slot struct {
	at int64
	r  Rate
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "sunday": time.Sunday,
	"mon": time.Monday, "monday": time.Monday,
	"tue": time.Tuesday, "tuesday": time.Tuesday,
	"wed": time.Wednesday, "wednesday": time.Wednesday,
	"thu": time.Thursday, "thursday": time.Thursday,
	"fri": time.Friday, "friday": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday,
}

// ParseTimetable reads a --bwlimit value in local time (see In for
// another zone):
//
//   - a plain rate (no comma: "20MiB/s", "10M", "off") is a constant
//     limit, so every --bwlimit that worked before timetables still does;
//   - otherwise entries separated by spaces or semicolons, each
//     "HH:MM,RATE" or "HH:MM:SS,RATE", optionally prefixed by a day,
//     "Mon-08:00,512k" (Sun to Sat or the whole English name, any case);
//     RATE is read by ParseRate, "off" meaning no limit.
//
// As in rclone, an entry without a day stands for the same entry on each
// of the seven days, and entries with and without days mix freely: they
// all go into one weekly list. When two entries name the same moment (the
// same day and time, or a dayless entry meeting a day's one) the one
// written later wins, as in rclone. Entries need not be in order. Seconds
// ("HH:MM:SS") are an s3up extension; rclone takes HH:MM only.
func ParseTimetable(s string) (*Timetable, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return nil, errors.New("empty bandwidth limit (examples: 20MiB/s, \"08:00,2M 19:00,off\")")
	}
	if !strings.Contains(t, ",") {
		r, err := ParseRate(t)
		if err != nil {
			if strings.ContainsAny(t, " ;") {
				return nil, fmt.Errorf("%w; a timetable's entries are HH:MM,RATE", err)
			}
			return nil, err
		}
		return &Timetable{loc: time.Local, slots: []slot{{0, r}}}, nil
	}
	at := map[int64]Rate{}
	for _, tok := range strings.FieldsFunc(t, func(r rune) bool { return r == ';' || unicode.IsSpace(r) }) {
		keys, r, err := parseEntry(tok)
		if err != nil {
			return nil, fmt.Errorf("bandwidth timetable entry %q: %w", tok, err)
		}
		for _, k := range keys {
			at[k] = r // a later entry for the same moment wins
		}
	}
	tt := &Timetable{loc: time.Local}
	for k, r := range at {
		tt.slots = append(tt.slots, slot{k, r})
	}
	sort.Slice(tt.slots, func(i, j int) bool { return tt.slots[i].at < tt.slots[j].at })
	return tt, nil
}

// parseEntry reads [DAY-]HH:MM[:SS],RATE into its seconds of the week:
// seven of them for an entry without a day.
func parseEntry(tok string) ([]int64, Rate, error) {
	when, rateText, ok := strings.Cut(tok, ",")
	if !ok || strings.Contains(rateText, ",") {
		return nil, 0, errors.New("want HH:MM,RATE, HH:MM:SS,RATE or DAY-HH:MM,RATE (e.g. Mon-08:00,512k)")
	}
	dayText, clock, hasDay := strings.Cut(when, "-")
	if !hasDay {
		clock = when
	}
	secs, err := parseClock(clock)
	if err != nil {
		return nil, 0, err
	}
	r, err := ParseRate(rateText)
	if err != nil {
		return nil, 0, err
	}
	if !hasDay {
		keys := make([]int64, 7)
		for d := range keys {
			keys[d] = int64(d)*day + secs
		}
		return keys, r, nil
	}
	d, ok := weekdays[strings.ToLower(dayText)]
	if !ok {
		return nil, 0, fmt.Errorf("%q is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)", dayText)
	}
	return []int64{int64(d)*day + secs}, r, nil
}

// In returns the timetable read on the wall clock of loc instead.
func (tt *Timetable) In(loc *time.Location) *Timetable {
	c := *tt
	c.loc = loc
	return &c
}

// Location is the zone whose wall clock the timetable follows.
func (tt *Timetable) Location() *time.Location {
	if tt.loc == nil {
		return time.Local
	}
	return tt.loc
}

// Constant reports whether the rate never changes, and the rate.
func (tt *Timetable) Constant() (Rate, bool) {
	if len(tt.slots) == 0 {
		return Unlimited, true
	}
	for _, s := range tt.slots[1:] {
		if s.r != tt.slots[0].r {
			return 0, false
		}
	}
	return tt.slots[0].r, true
}

// RateAt is the rate in force at t: a pure function of the local wall
// clock's reading, as in rclone. On the night a daylight-saving change
// skips an hour, an entry inside the skipped hour takes effect at the jump
// (the first instant the clock reads later than it); on the night an hour
// is played twice, entries inside it apply at both passes, and between
// the jump back and the second pass of an entry the rate before it is in
// force again.
func (tt *Timetable) RateAt(t time.Time) Rate {
	if len(tt.slots) == 0 {
		return Unlimited
	}
	k := wallKey(t, tt.Location())
	i := sort.Search(len(tt.slots), func(i int) bool { return tt.slots[i].at > k }) - 1
	if i < 0 {
		i = len(tt.slots) - 1 // the week's last entry runs on into the next week
	}
	return tt.slots[i].r
}

// horizon bounds the search for the next change: a week, and a day of
// slack for an offset change.
const horizon = week + day

// NextChange is the first instant after t at which RateAt differs from
// RateAt(t), in whole seconds, in the timetable's location; the zero Time
// when the rate never changes. Entries at which the rate stays the same
// ("08:00,1M 09:00,1M") are not changes.
func (tt *Timetable) NextChange(t time.Time) time.Time {
	if _, constant := tt.Constant(); constant {
		return time.Time{}
	}
	keys := make([]int64, len(tt.slots))
	for i, s := range tt.slots {
		keys[i] = s.at
	}
	from := t.Unix() // crossings are after from; t's fraction is below a second
	cur := tt.RateAt(t)
	for _, c := range crossings(tt.Location(), from, from+horizon, week, keys, true) {
		if at := time.Unix(c, 0); at.After(t) && tt.RateAt(at) != cur {
			return at.In(tt.Location())
		}
	}
	return time.Time{}
}

// String is the timetable in rclone's syntax with s3up's rate spelling,
// which ParseTimetable reads back to the same schedule: a plain rate when
// it never changes, else entries, dayless where all seven days agree.
func (tt *Timetable) String() string {
	if r, ok := tt.Constant(); ok {
		return r.String()
	}
	byKey := map[int64]Rate{}
	for _, s := range tt.slots {
		byKey[s.at] = s.r
	}
	var daily, days []string
	done := map[int64]bool{}
	for _, s := range tt.slots {
		if done[s.at] {
			continue
		}
		tod := s.at % day
		everyDay := true
		for d := int64(0); d < 7; d++ {
			if r, ok := byKey[d*day+tod]; !ok || r != s.r {
				everyDay = false
				break
			}
		}
		if everyDay {
			for d := int64(0); d < 7; d++ {
				done[d*day+tod] = true
			}
			daily = append(daily, clockString(tod)+","+s.r.String())
			continue
		}
		days = append(days, time.Weekday(s.at / day).String()[:3]+"-"+clockString(tod)+","+s.r.String())
	}
	sort.Strings(daily) // HH:MM sorts as text
	return strings.Join(append(daily, days...), " ")
}
