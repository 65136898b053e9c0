package schedule

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"golang.org/x/time/rate"
)

// Rate is a bandwidth limit in bytes per second. The zero Rate is
// Unlimited, as the zero s3up.Options.BandwidthLimit is "no limit", so a
// limited Rate converts to that field as it is.
type Rate int64

// Unlimited is the rate of "off": no waiting at all.
const Unlimited Rate = 0

// MaxRate is the largest rate accepted, 1 PiB/s (as s3up has always
// refused more).
const MaxRate Rate = 1 << 50

// Limited reports whether r limits anything.
func (r Rate) Limited() bool { return r > 0 }

// Limit is r as a rate.Limit: rate.Inf when r is Unlimited.
func (r Rate) Limit() rate.Limit {
	if !r.Limited() {
		return rate.Inf
	}
	return rate.Limit(r)
}

// String prints r so that ParseRate reads it back exactly: "off", or the
// largest binary unit that divides r ("1536KiB/s" for 1.5 MiB/s), else
// bytes ("1000B/s").
func (r Rate) String() string {
	if !r.Limited() {
		return "off"
	}
	for _, u := range []struct {
		name string
		size Rate
	}{{"PiB", 1 << 50}, {"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if r%u.size == 0 {
			return strconv.FormatInt(int64(r/u.size), 10) + u.name + "/s"
		}
	}
	return strconv.FormatInt(int64(r), 10) + "B/s"
}

// unitSize holds every unit ParseRate knows, lower case. rclone's
// spellings (none, b, k, ki, kib, m, ...) are binary, as rclone reads
// them; the SI spellings with a B (kb, mb, ...), which rclone refuses and
// go-humanize (s3up's parser before timetables) reads as powers of 1000,
// keep their SI meaning.
var unitSize = map[string]float64{
	"":  1 << 10, // rclone: a bare number is KiB/s
	"b": 1,
	"k": 1 << 10, "ki": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mi": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gi": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	"t": 1 << 40, "ti": 1 << 40, "tib": 1 << 40, "tb": 1e12,
	"p": 1 << 50, "pi": 1 << 50, "pib": 1 << 50, "pb": 1e15,
}

// ParseRate reads one bandwidth limit:
//
//   - "off" (any case) is Unlimited, and so is a bare "0", as in rclone;
//     any other zero ("0k", "0MiB/s") is refused, since a limit of zero
//     would stall every upload rather than lift the limit;
//   - a number (digits with an optional fraction: "10", "1.5", ".5") and
//     an optional unit, then an optional "/s": "512k", "10M", "1.5M",
//     "20MiB/s", "500KB/s", "100B";
//   - rclone's units are binary: no unit is KiB/s (rclone's default), and
//     k, M, G, T, P, with or without "i" or "iB" ("10M", "10Mi", "10MiB")
//     are powers of 1024, so "10M" is 10 MiB/s; KB, MB, GB, TB, PB are
//     powers of 1000, as go-humanize read them; units ignore case;
//   - rclone's "UP:DOWN" pair ("10M:1M", "10M:off") is accepted and its
//     upload half is the limit: s3up only uploads;
//   - bits are refused with a hint: s3up limits bytes per second.
//
// The result is rounded down to whole bytes per second and must be at
// least 1 B/s and at most MaxRate.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if up, down, ok := strings.Cut(s, ":"); ok {
		r, err := parseOneRate(up)
		if err != nil {
			return 0, fmt.Errorf("upload rate of %q: %w", s, err)
		}
		if _, err := parseOneRate(down); err != nil {
			return 0, fmt.Errorf("download rate of %q: %w", s, err)
		}
		return r, nil
	}
	return parseOneRate(s)
}

func parseOneRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty rate (examples: 512k, 10M, 20MiB/s, off)")
	}
	lower := strings.ToLower(s)
	if lower == "off" {
		return Unlimited, nil
	}
	unit := strings.TrimSuffix(lower, "/s")
	end := 0
	for end < len(unit) && (unit[end] >= '0' && unit[end] <= '9' || unit[end] == '.') {
		end++
	}
	num, unit := unit[:end], strings.TrimSpace(unit[end:])
	if !validNumber(num) {
		return 0, fmt.Errorf("%q is not a rate (examples: 512k, 10M, 1.5M, 20MiB/s, 500KB/s, off)", s)
	}
	size, ok := unitSize[unit]
	if !ok {
		if strings.Contains(unit, "bit") || strings.HasSuffix(unit, "bps") {
			return 0, fmt.Errorf("%q: s3up limits bytes per second, not bits (divide by 8: 100Mbit/s is 12.5MB/s)", s)
		}
		return 0, fmt.Errorf("%q: unknown unit %q (use B, k, M, G, KiB, MiB, GiB, KB, MB, GB, or off)", s, unit)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a rate: %w", s, err)
	}
	if v == 0 {
		if unit == "" && !strings.HasSuffix(lower, "/s") {
			return Unlimited, nil // rclone: 0 means no limit
		}
		return 0, fmt.Errorf("%q: a limit of zero would stall the upload; write off for no limit", s)
	}
	v *= size
	if v > float64(MaxRate) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is more than the largest limit, %s", s, MaxRate)
	}
	if v < 1 {
		return 0, fmt.Errorf("%q is less than 1 byte per second", s)
	}
	return Rate(v), nil
}

// validNumber accepts digits with at most one '.', and at least one digit:
// no signs, exponents or hexadecimal, which strconv would take.
func validNumber(s string) bool {
	digits, dots := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			dots++
		} else {
			digits++
		}
	}
	return digits > 0 && dots <= 1
}
