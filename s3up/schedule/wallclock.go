package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Times of day are read from the local wall clock, which is not a line:
// a daylight-saving change skips an hour (spring) or plays one twice
// (autumn). The helpers here find when the wall clock reads a given time
// by splitting the instants into spans of constant UTC offset: inside a
// span wall time is instant + offset, and the span edges are the jumps.

const (
	day  = 24 * 60 * 60
	week = 7 * day
)

// span is a stretch of instants [start, end), in Unix seconds, over which
// the location's UTC offset is off seconds.
type span struct {
	start, end int64
	off        int64
}

// probeStep is how far apart the offset is sampled. Real zones never
// change offset twice within it.
const probeStep = 30 * 60

func offsetAt(loc *time.Location, unix int64) int64 {
	_, off := time.Unix(unix, 0).In(loc).Zone()
	return int64(off)
}

// spans splits [from, to) into spans of constant offset. A change is
// located to the second by bisection (zone transitions fall on whole
// seconds).
func spans(loc *time.Location, from, to int64) []span {
	var out []span
	start, off := from, offsetAt(loc, from)
	for lo := from; lo < to; {
		hi := min(lo+probeStep, to)
		if offsetAt(loc, hi) == off {
			lo = hi
			continue
		}
		for hi-lo > 1 { // off at lo, another offset at hi
			mid := lo + (hi-lo)/2
			if offsetAt(loc, mid) == off {
				lo = mid
			} else {
				hi = mid
			}
		}
		out = append(out, span{start, hi, off})
		start, off, lo = hi, offsetAt(loc, hi), hi
	}
	return append(out, span{start, to, off})
}

// floorDiv and floorMod divide rounding towards minus infinity, so that
// instants before 1970 land in the right day.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// weekKey is the second of the week (Sunday 00:00:00 = 0) of a naive wall
// time given as seconds since 1970-01-01 00:00 wall time, a Thursday.
func weekKey(wall int64) int64 {
	return floorMod(floorDiv(wall, day)+4, 7)*day + floorMod(wall, day)
}

// wallKey is t's second of the week on the wall clock of loc.
func wallKey(t time.Time, loc *time.Location) int64 {
	lt := t.In(loc)
	return int64(lt.Weekday())*day + int64(lt.Hour())*3600 + int64(lt.Minute())*60 + int64(lt.Second())
}

// crossings returns, in order and without repeats, the instants in
// (from, to) at which the wall clock of loc reaches a time whose key
// modulo period is one of keys (period is a day or a week): while the
// clock runs, the instant it reads that time; where a spring change skips
// the time, the instant of the jump. An autumn change that plays the time
// twice yields both instants. The jumps themselves are returned too
// (jumps true), since a wall-clock rule may change there even when no key
// is crossed (autumn's clock going back).
func crossings(loc *time.Location, from, to int64, period int64, keys []int64, jumps bool) []int64 {
	var out []int64
	add := func(c int64) {
		if c > from && c < to {
			out = append(out, c)
		}
	}
	sp := spans(loc, from, to+1)
	for i, s := range sp {
		wallStart, wallEnd := s.start+s.off, s.end+s.off
		for _, k := range keys {
			base := wallStart - floorMod(wallStart, period)
			if period == week {
				base = wallStart - weekKey(wallStart)
			}
			for w := base + k; w < wallEnd; w += period {
				if w >= wallStart {
					add(w - s.off)
				}
			}
		}
		if i == 0 {
			continue
		}
		if jumps {
			add(s.start)
		}
		// Spring: the wall times [s.start+prev.off, s.start+s.off) are
		// never shown; the clock reaches them at the jump.
		prev := sp[i-1]
		skipFrom, skipTo := s.start+prev.off, s.start+s.off
		for _, k := range keys {
			base := skipFrom - floorMod(skipFrom, period)
			if period == week {
				base = skipFrom - weekKey(skipFrom)
			}
			for w := base + k; w < skipTo; w += period {
				if w >= skipFrom {
					add(s.start)
				}
			}
		}
	}
	sortUnique(&out)
	return out
}

func sortUnique(xs *[]int64) {
	s := *xs
	for i := 1; i < len(s); i++ { // insertion sort: a handful of items
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	*xs = out
}

// parseClock reads a time of day, "HH:MM" or "HH:MM:SS" on a 24-hour
// clock (the hour may have one digit), as seconds since midnight.
func parseClock(s string) (int64, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 2 && len(parts) != 3 {
		return 0, fmt.Errorf("%q is not a time of day (HH:MM or HH:MM:SS)", s)
	}
	limits := []struct {
		name string
		max  int
	}{{"hour", 23}, {"minute", 59}, {"second", 59}}
	var secs int64
	for i, p := range parts {
		if len(p) == 0 || len(p) > 2 || (i > 0 && len(p) != 2) || strings.Trim(p, "0123456789") != "" {
			return 0, fmt.Errorf("%q is not a time of day (HH:MM or HH:MM:SS)", s)
		}
		v, _ := strconv.Atoi(p)
		if v > limits[i].max {
			return 0, fmt.Errorf("%q: %s %d is not between 00 and %d", s, limits[i].name, v, limits[i].max)
		}
		secs = secs*60 + int64(v)
	}
	if len(parts) == 2 {
		secs *= 60
	}
	return secs, nil
}

// clockString prints seconds since midnight as HH:MM, or HH:MM:SS when
// the seconds are not zero.
func clockString(secs int64) string {
	h, m, s := secs/3600, secs/60%60, secs%60
	if s != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", h, m)
}
