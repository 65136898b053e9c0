package schedule

import (
	"strings"
	"testing"

	"golang.org/x/time/rate"
)

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Rate
	}{
		// rclone's spellings: binary units, a bare number is KiB/s.
		{"512k", 512 << 10},
		{"512K", 512 << 10},
		{"10M", 10 << 20},
		{"10m", 10 << 20},
		{"1.5M", 3 << 19},
		{"0.625M", 640 << 10},
		{"1G", 1 << 30},
		{"2T", 2 << 40},
		{"1P", 1 << 50},
		{"666", 666 << 10},
		{".5", 512},
		{"100B", 100},
		{"100b", 100},
		{"10Mi", 10 << 20},
		{"10MiB", 10 << 20},
		{"10mib", 10 << 20},
		{"off", Unlimited},
		{"OFF", Unlimited},
		{"0", Unlimited}, // rclone: 0 is no limit
		// s3up's spellings (go-humanize): IEC binary, SI decimal, "/s".
		{"20MiB/s", 20 << 20},
		{"20MiB", 20 << 20},
		{"500KB/s", 500_000},
		{"500kB/s", 500_000},
		{"1.5MB/s", 1_500_000},
		{"2GB", 2_000_000_000},
		{"1KiB/s", 1024},
		{"20 MiB/s", 20 << 20},
		{"  512k  ", 512 << 10},
		// With "/s", the unit alone decides: "500k/s" is 500 KiB/s.
		{"500k/s", 500 << 10},
		// rclone's UP:DOWN: the upload half.
		{"10M:1M", 10 << 20},
		{"10M:off", 10 << 20},
		{"off:10M", Unlimited},
		// Fractions round down to whole bytes.
		{"1.0001k", 1024},
	} {
		got, err := ParseRate(tc.in)
		if err != nil {
			t.Errorf("ParseRate(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseRate(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestParseRateErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty rate"},
		{"fast", "not a rate"},
		{"-1M", "not a rate"},
		{"1e3", "unknown unit"},
		{"0x10", "unknown unit"},
		{"1.2.3M", "not a rate"},
		{"10X", `unknown unit "x"`},
		{"10Mbit/s", "bytes per second, not bits"},
		{"100Mbps", "bytes per second, not bits"},
		{"0k", "zero would stall"},
		{"0MiB/s", "zero would stall"},
		{"0/s", "zero would stall"},
		{"2E", "unknown unit"},
		{"1025P", "more than the largest limit"},
		{"0.5B", "less than 1 byte"},
		{"10M:bad", "download rate"},
		{"bad:10M", "upload rate"},
		{"1,000KB", "unknown unit"},
	} {
		_, err := ParseRate(tc.in)
		if err == nil {
			t.Errorf("ParseRate(%q) succeeded, want an error containing %q", tc.in, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseRate(%q) = %v, want it to contain %q", tc.in, err, tc.want)
		}
	}
}

// TestRateStringRoundTrip: String reads back to the same rate, for exact
// multiples of a unit and for odd byte counts.
func TestRateStringRoundTrip(t *testing.T) {
	for _, r := range []Rate{Unlimited, 1, 1000, 1023, 1024, 3 << 19, 10 << 20, 500_000, 1 << 30, MaxRate} {
		s := r.String()
		back, err := ParseRate(s)
		if err != nil {
			t.Errorf("ParseRate(%q) (String of %d): %v", s, r, err)
			continue
		}
		if back != r {
			t.Errorf("%d prints as %q, which reads back as %d", r, s, back)
		}
	}
	if got := Rate(3 << 19).String(); got != "1536KiB/s" {
		t.Errorf("1.5 MiB/s prints as %q, want 1536KiB/s", got)
	}
	if got := Unlimited.String(); got != "off" {
		t.Errorf("Unlimited prints as %q", got)
	}
}

func TestRateLimit(t *testing.T) {
	if Unlimited.Limit() != rate.Inf || Unlimited.Limited() {
		t.Error("Unlimited is not rate.Inf")
	}
	if Rate(2048).Limit() != 2048 || !Rate(2048).Limited() {
		t.Error("2048 B/s is not rate.Limit(2048)")
	}
}
