package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/s3up/s3up/s3up/ops"
)

func TestParseAge(t *testing.T) {
	good := map[string]time.Duration{
		"7d":     7 * 24 * time.Hour,
		"36h":    36 * time.Hour,
		"90m":    90 * time.Minute,
		"1d12h":  36 * time.Hour,
		" 2d ":   48 * time.Hour,
		"0d":     0,
		"1500ms": 1500 * time.Millisecond,
		"2.5h":   150 * time.Minute,
	}
	for in, want := range good {
		got, err := parseAge(in)
		if err != nil || got != want {
			t.Errorf("parseAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "7", "-1d", "2.5d", "7days", "1d-3h", "-5m", "x", "1d2d", "7D"} {
		if got, err := parseAge(in); err == nil && in != "" {
			t.Errorf("parseAge(%q) = %v, want an error", in, got)
		} else if err != nil && exitCode(err) != exitUsage {
			t.Errorf("parseAge(%q): exit code %d, want %d", in, exitCode(err), exitUsage)
		}
	}
}

func TestFmtAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                 "0s",
		0:                            "0s",
		59 * time.Second:             "59s",
		61 * time.Second:             "1m",
		5*time.Hour + 12*time.Minute: "5h12m",
		3*24*time.Hour + 4*time.Hour: "3d4h",
	} {
		if got := fmtAge(d); got != want {
			t.Errorf("fmtAge(%v) = %q, want %q", d, got, want)
		}
	}
}

func parts(states string) []ops.PartStatus {
	sym := map[rune]ops.PartState{'#': ops.PartSent, '+': ops.PartServerOnly, 'x': ops.PartMismatch, '!': ops.PartMissing, '.': ops.PartPending}
	var ps []ops.PartStatus
	for i, r := range states {
		ps = append(ps, ops.PartStatus{Number: int32(i + 1), State: sym[r]})
	}
	return ps
}

func TestPartMapOneCellPerPart(t *testing.T) {
	got := partMap(parts("##+x!..."))
	want := []string{"     1 ##+x!..."}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("partMap = %q, want %q", got, want)
	}
}

func TestPartMapWraps(t *testing.T) {
	states := strings.Repeat("#", 64) + strings.Repeat(".", 64) + "+x"
	got := partMap(parts(states))
	want := []string{
		"     1 " + strings.Repeat("#", 64),
		"    65 " + strings.Repeat(".", 64),
		"   129 +x",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("partMap =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPartMapAggregates(t *testing.T) {
	// 2,000 parts still get one cell each.
	if rows := partMap(parts(strings.Repeat("#", 2000))); len(rows) != 32 {
		t.Fatalf("2000 parts: %d rows, want 32", len(rows))
	}
	// 10,000 parts: 10 a cell, 1,000 cells, 16 rows; a cell shows its most
	// notable part.
	b := []byte(strings.Repeat("#", 10000))
	b[0] = '.'    // cell 1: pending beats sent
	b[15] = '+'   // cell 2: server-only beats sent
	b[25] = '.'   // cell 3: missing beats pending
	b[26] = '!'   //
	b[35] = '+'   // cell 4: mismatch beats everything
	b[36] = 'x'   //
	b[9999] = '.' // last cell
	rows := partMap(parts(string(b)))
	if len(rows) != 16 {
		t.Fatalf("10000 parts: %d rows, want 16", len(rows))
	}
	if want := "     1 .+!x" + strings.Repeat("#", 60); rows[0] != want {
		t.Errorf("row 1 = %q\nwant    %q", rows[0], want)
	}
	if want := "   641 " + strings.Repeat("#", 64); rows[1] != want {
		t.Errorf("row 2 = %q\nwant    %q", rows[1], want)
	}
	last := rows[15]
	if !strings.HasPrefix(last, "  9601 ") || !strings.HasSuffix(last, "#.") || len(last) != 7+40 {
		t.Errorf("last row = %q", last)
	}
}

func TestStatusLinesGoneUpload(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rep := &ops.StatusReport{
		Source: "big.iso", Bucket: "b", Key: "k", StatePath: "/tmp/.big.iso.s3up-x", HasState: true, ObjectSize: -1,
		Upload: &ops.UploadStatus{UploadID: "U1", Initiated: now.Add(-90 * time.Minute), InSidecar: true, Size: 30,
			Parts: parts("##.")},
	}
	text := strings.Join(statusLines(rep, now, "big.iso", "s3://b/k"), "\n")
	for _, want := range []string{"upload U1: gone from the server", "rerun put to start a new upload", "     1 ##."} {
		if !strings.Contains(text, want) {
			t.Errorf("status text lacks %q:\n%s", want, text)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"s3up", "gc", "s3://bucket"},
		{"s3up", "gc", "s3://bucket", "--older-than", "soon"},
		{"s3up", "status", "onlyone"},
		{"s3up", "abort", "s3://b/k", "s3://b/k"},
		{"s3up", "uploads"},
		{"s3up", "completion", "powershell"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, errb.String())
		}
	}
}

func TestFlagsFirst(t *testing.T) {
	app := newApp(nil, nil)
	for _, c := range []struct{ in, want string }{
		{"s3up gc s3://b --older-than 7d --dry-run", "s3up gc --older-than 7d --dry-run s3://b"},
		{"s3up gc --older-than=7d s3://b/p/ -n", "s3up gc --older-than=7d -n s3://b/p/"},
		{"s3up put a b s3://b/ --json -c 4", "s3up put --json -c 4 a b s3://b/"},
		{"s3up put a -- -odd s3://b/k", "s3up put a -- -odd s3://b/k"},
		{"s3up status a s3://b/k --generate-bash-completion", "s3up status a s3://b/k --generate-bash-completion"},
		{"s3up nosuch a --x", "s3up nosuch a --x"},
		{"s3up put - s3://b/k", "s3up put - s3://b/k"},
	} {
		got := strings.Join(flagsFirst(app, strings.Fields(c.in)), " ")
		if got != c.want {
			t.Errorf("flagsFirst(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
