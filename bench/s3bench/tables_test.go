package main

import (
	"strings"
	"testing"
)

const testSize = 64 << 20

func okRun(tool string, wall, user, sys float64, rssMiB int64, srv, readMiB float64) result {
	return result{mode: "compare", tls: "http", tool: tool, ok: true, wall: wall, user: user, sys: sys,
		maxRSSKiB: rssMiB << 10, serverCPU: srv, rchar: int64(readMiB * mib), objectParts: "4", onServer: -1}
}

func failed(tool, why string) result {
	return result{mode: "compare", tls: "http", tool: tool, failure: why, objectParts: "-", onServer: -1}
}

// The format of bench/README.md's recorded reports: these lines were printed
// by the shell script this program replaces, for the same figures.
func TestCompareTableKeepsTheRecordedFormat(t *testing.T) {
	runs := []result{
		okRun("s3up", 0.73, 0.06, 0.03, 23, 0.43, 129),
		okRun("mc", 0.64, 0.15, 0.04, 35, 0.43, 65),
		okRun("rawparts", 0.32, 0.04, 0.02, 15, 0.32, 64),
		failed("aws", "exit status 1: boom"),
	}
	tools := []string{"s3up", "sdkmanager", "rawparts", "aws", "mc", "rclone", "s3cmd"}
	want := `| tool | ok/runs | parts | wall s | MB/s | CPU s (user+sys) | peak RSS MiB | server CPU s | read MiB | wall ÷ s3up | CPU ÷ s3up |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
| **s3up** | 1/1 | 4 | 0.73 | 92 | 0.09 | 23 | 0.43 | 129 | — | — |
| **aws** | 0/1 | | failed | | | | | | | |
| **mc** | 1/1 | 4 | 0.64 | 105 | 0.19 | 35 | 0.43 | 65 | 0.88× | 2.11× |
| *raw UploadPart loop (ceiling)* | 1/1 | 4 | 0.32 | 210 | 0.06 | 15 | 0.32 | 64 | 0.44× | 0.67× |
`
	if got := compareTable(runs, tools, testSize); got != want {
		t.Errorf("compare table:\n%s\nwant:\n%s", got, want)
	}
	wantLine := "Raw ceiling (http): 0.32 s, 210 MB/s, 0.06 CPU s. s3up: 0.73 s, 92 MB/s — gap +0.41 s (+128% wall), +0.03 CPU s (+50% CPU)."
	if got := ceilingLine(runs, "http", testSize); got != wantLine {
		t.Errorf("ceiling line:\n%s\nwant:\n%s", got, wantLine)
	}
	if got := ceilingLine(runs[1:], "http", testSize); got != "" {
		t.Errorf("ceiling line without s3up: %q", got)
	}
	notes := failureNotes(runs)
	if notes != "- **aws** failed 1 of 1 runs: exit status 1: boom\n" {
		t.Errorf("failure notes: %q", notes)
	}
}

func TestCompareTableMedians(t *testing.T) {
	var runs []result
	for _, w := range []float64{3, 1, 2} {
		runs = append(runs, okRun("s3up", w, w/2, 0, 20, 1, 64))
	}
	for _, w := range []float64{4, 8, 6, 100} {
		runs = append(runs, okRun("sdkmanager", w, w/4, 0, 10, 1, 64))
	}
	got := compareTable(runs, []string{"s3up", "sdkmanager"}, testSize)
	if !strings.Contains(got, "| **s3up** | 3/3 | 4 | 2.00 | 34 | 1.00 |") {
		t.Errorf("s3up's medians:\n%s", got)
	}
	// sdkmanager: median wall (6+8)/2 = 7, CPU 1.75; ratios to s3up's 2 and 1.
	if !strings.Contains(got, "| **sdkmanager** | 4/4 | 4 | 7.00 | 10 | 1.75 | 10 | 1.00 | 64 | 3.50× | 1.75× |") {
		t.Errorf("sdkmanager's medians and ratios:\n%s", got)
	}
	// s3up failed: no base, no ratios.
	runs = []result{failed("s3up", "x"), okRun("mc", 1, 1, 0, 1, 1, 1)}
	got = compareTable(runs, []string{"s3up", "mc"}, testSize)
	if !strings.Contains(got, "| **mc** | 1/1 | 4 | 1.00 | 67 | 1.00 | 1 | 1.00 | 1 | — | — |") {
		t.Errorf("ratios without an s3up run:\n%s", got)
	}
}

func TestResumeTableKeepsTheRecordedFormat(t *testing.T) {
	runs := []result{
		{tool: "s3up", ok: true, wall: 0.28, user: 0.04, sys: 0.01, maxRSSKiB: 22 << 10, rchar: 101_397_709, onServer: 2},
		{tool: "s3cmd", ok: true, wall: 1.19, user: 0.4, sys: 0.08, maxRSSKiB: 53 << 10, rchar: 186_960_691, onServer: 2},
	}
	want := `| tool | ok/runs | parts on server at resume | parts to send | resume wall s | CPU s | peak RSS MiB | read MiB (rchar) | read ÷ bytes to send |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
| **s3up** | 1/1 | 2/4 | 2 | 0.28 | 0.05 | 22 | 97 | 3.02 |
| **s3cmd** | 1/1 | 2/4 | 2 | 1.19 | 0.48 | 53 | 178 | 5.57 |
`
	if got := resumeTable(runs, 4, testSize, 16<<20); got != want {
		t.Errorf("resume table:\n%s\nwant:\n%s", got, want)
	}
	runs = []result{{tool: "s3cmd", onServer: 33}, {tool: "s3cmd", onServer: 34}}
	if got := resumeTable(runs, 64, 1<<30, 16<<20); !strings.Contains(got, "| **s3cmd** | 0/2 | 33.5/64 | 30.5 | failed | | | | |") {
		t.Errorf("failed resume row:\n%s", got)
	}
}

func TestMemoryTableKeepsTheRecordedFormat(t *testing.T) {
	runs := []result{
		{tls: "http", tool: "s3up", ok: true, wall: 0.74, maxRSSKiB: 25 << 10, size: testSize, part: 8 << 20, conc: 8},
		{tls: "https", tool: "s3up", ok: false, wall: 20.73, maxRSSKiB: 28 << 10, size: 8 << 30, part: 128 << 20, conc: 8},
	}
	want := `| transport | file | part size | parts in flight | peak RSS MiB | parts × concurrency MiB | wall s | MB/s | ok |
|---|---:|---:|---:|---:|---:|---:|---:|---|
| http | 64MiB | 8MiB | 8 | 25 | 64 | 0.74 | 91 | yes |
| https | 8GiB | 128MiB | 8 | 28 | 1024 | 20.73 | 414 | FAILED |
`
	if got := memoryTable(runs); got != want {
		t.Errorf("memory table:\n%s\nwant:\n%s", got, want)
	}
}

func TestStreamTableRatiosToTheBestPeer(t *testing.T) {
	size := int64(256 << 20)
	runs := []result{
		{tool: "rclone", ok: true, wall: 4, user: 3, maxRSSKiB: 200 << 10, objectParts: "16", prodCPU: 0.1},
		{tool: "s3up", ok: true, wall: 1, user: 0.5, maxRSSKiB: 150 << 10, objectParts: "16", prodCPU: 0.1},
		{tool: "aws", ok: true, wall: 2, user: 2, maxRSSKiB: 90 << 10, objectParts: "16", prodCPU: 0.1},
		{tool: "mc", ok: true, wall: 2.5, user: 1, maxRSSKiB: 60 << 10, objectParts: "16", prodCPU: 0.1},
	}
	got := streamTable(runs, streamTools, size)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[2], "| **s3up** ") || !strings.HasPrefix(lines[5], "| **rclone** ") {
		t.Fatalf("rows not in the order s3up, aws, mc, rclone:\n%s", got)
	}
	// Best peer by wall: aws (2 s); by CPU: mc (1 CPU s).
	for _, want := range []string{
		"| **s3up** | 1/1 | 16 | 1.00 | 256 | 0.50 | 150 | 0.00 | 0.10 | 0.50× | 0.50× |",
		"| **aws** | 1/1 | 16 | 2.00 | 128 | 2.00 | 90 | 0.00 | 0.10 | 1.00× | 2.00× |",
		"| **mc** | 1/1 | 16 | 2.50 | 102 | 1.00 | 60 | 0.00 | 0.10 | 1.25× | 1.00× |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in\n%s", want, got)
		}
	}
	if l := bestPeerLine(runs); !strings.Contains(l, "aws by wall time (2.00 s), mc by CPU (1.00 CPU s)") {
		t.Errorf("best peer line: %s", l)
	}
	// Only s3up: no ratios, no best peer.
	got = streamTable(runs[1:2], streamTools, size)
	if !strings.Contains(got, "| 0.10 | — | — |") || bestPeerLine(runs[1:2]) != "" {
		t.Errorf("s3up alone:\n%s", got)
	}
}

func TestTreeTables(t *testing.T) {
	runs := []result{
		{tool: "s3up", failure: "exit status 2: s3up: flag provided but not defined: -recursive"},
		{tool: "aws", ok: true, wall: 10, user: 8, maxRSSKiB: 80 << 10, objects: 1500},
		{tool: "rclone", ok: true, wall: 5, user: 4, maxRSSKiB: 100 << 10, objects: 1500},
	}
	got := treeTable(runs, treeTools, 1500, 1500*16<<10, false)
	for _, want := range []string{
		"| **s3up** | 0/1 | | failed | | | | | | | |",
		"| **aws** | 1/1 | 1500/1500 | 10.00 | 150 | 2.3 | 8.00 | 80 | 0.00 | 2.00× | 2.00× |",
		"| **rclone** | 1/1 | 1500/1500 | 5.00 | 300 | 4.7 | 4.00 | 100 | 0.00 | 1.00× | 1.00× |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in\n%s", want, got)
		}
	}
	if n := failureNotes(runs); !strings.Contains(n, "**s3up** failed 1 of 1 runs: exit status 2: s3up: flag provided") {
		t.Errorf("failure notes: %s", n)
	}
	got = treeTable(runs, treeTools, 1500, 0, true)
	for _, want := range []string{
		"| **s3up** | same command | 0/1 | | failed | | | | |",
		"| **aws** | aws s3 sync | 1/1 | 1500/1500 | 10.00 | 8.00 | 80 | 0.00 | 2.00× | 2.00× |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in\n%s", want, got)
		}
	}
	// Every row has as many cells as the header.
	for _, rerun := range []bool{false, true} {
		tab := treeTable(runs, treeTools, 1500, 1, rerun)
		lines := strings.Split(strings.TrimSpace(tab), "\n")
		for _, l := range lines[1:] {
			if strings.Count(l, "|") != strings.Count(lines[0], "|") {
				t.Errorf("rerun=%v: %q has not the header's %d cells", rerun, l, strings.Count(lines[0], "|")-1)
			}
		}
	}
}

func TestScaleTable(t *testing.T) {
	size := int64(1 << 30)
	var runs []result
	for _, c := range []int{1, 8} {
		runs = append(runs,
			result{tool: "s3up", ok: true, conc: c, part: 16 << 20, wall: 8 / float64(c), user: 1},
			result{tool: "rawparts", ok: true, conc: c, part: 16 << 20, wall: 4 / float64(c), user: 0.5})
	}
	runs = append(runs, result{tool: "rawparts", conc: 16, failure: "x"})
	got := scaleTable(runs, "concurrency", []int64{1, 8, 16}, size)
	for _, want := range []string{
		"| concurrency | s3up MiB/s | raw MiB/s | s3up ÷ raw MiB/s | s3up CPU s/GiB | raw CPU s/GiB | ok/runs s3up, raw |",
		"| 1 | 128 | 256 | 0.50× | 1.00 | 0.50 | 1/1, 1/1 |",
		"| 8 | 1024 | 2048 | 0.50× | 1.00 | 0.50 | 1/1, 1/1 |",
		"| 16 | failed | failed | — | failed | failed | —, 0/1 |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in\n%s", want, got)
		}
	}
	got = scaleTable(runs, "part", []int64{16 << 20}, size)
	if !strings.Contains(got, "| part size |") || !strings.Contains(got, "| 16MiB | ") {
		t.Errorf("part sweep:\n%s", got)
	}
}

func TestCommandsTable(t *testing.T) {
	got := commandsTable([][2]string{{"mc", "datagen 1 | mc pipe bench/bench/k"}})
	if got != "| tool | command |\n|---|---|\n| mc | `datagen 1 \\| mc pipe bench/bench/k` |\n" {
		t.Errorf("commands table: %q", got)
	}
}
