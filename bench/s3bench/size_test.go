package main

import "testing"

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0", 0}, {"1048576", 1 << 20}, {"17B", 17}, {"17b", 17},
		{"16K", 16 << 10}, {"16KiB", 16 << 10}, {"16kib", 16 << 10},
		{"64M", 64 << 20}, {"64MiB", 64 << 20}, {"64mib", 64 << 20},
		{"1G", 1 << 30}, {"1GiB", 1 << 30}, {"4GiB", 4 << 30}, {"2TiB", 2 << 40}, {"1T", 1 << 40},
		{"500KB", 500_000}, {"500MB", 500_000_000}, {"2GB", 2_000_000_000}, {"1TB", 1_000_000_000_000},
		{" 8MiB ", 8 << 20},
	} {
		got, err := parseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "MiB", "1.5GiB", "-1", "12XB", "1 GiB", "9999999999TiB"} {
		if got, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", bad, got)
		}
	}
}

func TestHuman(t *testing.T) {
	for in, want := range map[int64]string{
		0: "0B", 17: "17B", 1024: "1KiB", 16 << 10: "16KiB", 1 << 20: "1MiB", 64 << 20: "64MiB",
		1 << 30: "1GiB", 3 << 30: "3GiB", 1536 << 20: "1536MiB", 1<<20 + 1: "1048577B",
	} {
		if got := human(in); got != want {
			t.Errorf("human(%d) = %q, want %q", in, got, want)
		}
		if n, err := parseSize(human(in)); err != nil || n != in {
			t.Errorf("parseSize(human(%d)) = %d, %v", in, n, err)
		}
	}
}

func TestLists(t *testing.T) {
	s, err := parseSizes("8MiB, 16MiB,,128MiB")
	if err != nil || len(s) != 3 || s[2] != 128<<20 {
		t.Fatalf("parseSizes: %v, %v", s, err)
	}
	if _, err := parseSizes(""); err == nil {
		t.Fatal("parseSizes of an empty list: no error")
	}
	n, err := parseInts("1,4,8,16")
	if err != nil || len(n) != 4 || n[3] != 16 {
		t.Fatalf("parseInts: %v, %v", n, err)
	}
	if _, err := parseInts("1,0"); err == nil {
		t.Fatal("parseInts accepted 0")
	}
}
