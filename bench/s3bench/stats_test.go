package main

import (
	"math"
	"slices"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{5, 5, 1, 9, 7}, 5},
	} {
		in := slices.Clone(tc.in)
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", in, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("median sorted its argument")
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

func TestRoundOrder(t *testing.T) {
	tools := []string{"a", "b", "c"}
	want := [][]string{{"a", "b", "c"}, {"b", "c", "a"}, {"c", "a", "b"}, {"a", "b", "c"}}
	for round := 1; round <= 4; round++ {
		if got := roundOrder(tools, round); !slices.Equal(got, want[round-1]) {
			t.Errorf("round %d: %v, want %v", round, got, want[round-1])
		}
	}
	// Over n rounds every tool runs first once and at every position once.
	tools = []string{"s3up", "sdkmanager", "rawparts", "aws", "mc", "rclone", "s3cmd"}
	for pos := range tools {
		seen := map[string]bool{}
		for round := 1; round <= len(tools); round++ {
			seen[roundOrder(tools, round)[pos]] = true
		}
		if len(seen) != len(tools) {
			t.Errorf("position %d held only %v over %d rounds", pos, seen, len(tools))
		}
	}
	if len(roundOrder([]string{}, 3)) != 0 {
		t.Error("no tools, yet an order")
	}
}

func TestSummarize(t *testing.T) {
	runs := []result{
		{tool: "mc", ok: true, wall: 3, user: 1, sys: 0.5, maxRSSKiB: 30 << 10, objectParts: "4", onServer: -1},
		{tool: "s3up", ok: true, wall: 2, user: 0.5, sys: 0.1, maxRSSKiB: 20 << 10, objectParts: "4", onServer: -1},
		{tool: "mc", ok: false, failure: "exit status 1: boom", onServer: -1},
		{tool: "mc", ok: true, wall: 5, user: 2, sys: 0.5, maxRSSKiB: 40 << 10, objectParts: "4", onServer: -1},
	}
	ss := summarize(runs)
	if len(ss) != 2 || ss[0].tool != "mc" || ss[1].tool != "s3up" {
		t.Fatalf("summaries in the wrong order: %+v", ss)
	}
	mc := ss[0]
	if mc.runs != 3 || mc.ok != 2 || mc.wall != 4 || mc.cpu != 2 || mc.rssKiB != 35<<10 || len(mc.failures) != 1 {
		t.Errorf("mc: %+v", mc)
	}
	if !math.IsNaN(mc.onServer) {
		t.Errorf("onServer of runs that have none: %v", mc.onServer)
	}
	bw, bc := bestPeers(ss)
	if bw != mc || bc != mc {
		t.Errorf("best peers %v %v: s3up is no peer", bw, bc)
	}
	if bw, _ := bestPeers(ss[1:]); bw != nil {
		t.Error("a best peer among s3up alone")
	}
}

func TestStatCPU(t *testing.T) {
	// comm with spaces and a parenthesis, as a process may name itself.
	stat := "1234 (minio (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 12 0 100 1000 50"
	if got := statCPU(stat); got != 3.8 {
		t.Errorf("statCPU = %v, want 3.8", got)
	}
	if got := statCPU("garbage"); got != 0 {
		t.Errorf("statCPU(garbage) = %v", got)
	}
}

func TestETagParts(t *testing.T) {
	for etag, want := range map[string]string{
		`"9b2cf535f27731c974343645a3985328-64"`: "64",
		`9b2cf535f27731c974343645a3985328-2`:    "2",
		`"9b2cf535f27731c974343645a3985328"`:    "1",
		``:                                      "-",
	} {
		if got := etagParts(etag); got != want {
			t.Errorf("etagParts(%s) = %s, want %s", etag, got, want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	got := shellQuote([]string{"s3up", "put", "--s3up-args", "a b", "it's", ""})
	want := `s3up put --s3up-args 'a b' 'it'\''s' ''`
	if got != want {
		t.Errorf("shellQuote = %s, want %s", got, want)
	}
}
