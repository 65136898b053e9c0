package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The report's tables: pure functions of the runs, so that their format is
// tested and stays what bench/README.md's recorded reports show.

const mib = 1 << 20

// ratio formats a/b as 1.23×, or — when there is nothing to divide by.
func ratio(a, b float64) string {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// num formats a median that is usually a whole number (a count of parts)
// the way awk prints numbers: 33, 33.5.
func num(x float64) string {
	if math.IsNaN(x) {
		return "?"
	}
	return strconv.FormatFloat(x, 'g', 6, 64)
}

func label(tool string) string {
	if tool == "rawparts" {
		return "*raw UploadPart loop (ceiling)*"
	}
	return "**" + tool + "**"
}

// compareTable: the medians per tool in the order of tools, the raw ceiling
// last; ratios are to s3up's medians.
func compareTable(runs []result, tools []string, size int64) string {
	var b strings.Builder
	ss := summarize(runs)
	var baseW, baseC float64 = math.NaN(), math.NaN()
	if s := find(ss, "s3up"); s != nil && s.ok > 0 {
		baseW, baseC = s.wall, s.cpu
	}
	b.WriteString("| tool | ok/runs | parts | wall s | MB/s | CPU s (user+sys) | peak RSS MiB | server CPU s | read MiB | wall ÷ s3up | CPU ÷ s3up |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	line := func(s *summary) {
		if s.ok == 0 {
			fmt.Fprintf(&b, "| %s | 0/%d | | failed | | | | | | | |\n", label(s.tool), s.runs)
			return
		}
		rw, rc := ratio(s.wall, baseW), ratio(s.cpu, baseC)
		if s.tool == "s3up" {
			rw, rc = "—", "—"
		}
		fmt.Fprintf(&b, "| %s | %d/%d | %s | %.2f | %.0f | %.2f | %.0f | %.2f | %.0f | %s | %s |\n",
			label(s.tool), s.ok, s.runs, s.objectParts, s.wall, float64(size)/1e6/s.wall, s.cpu, s.rssKiB/1024,
			s.serverCPU, s.rchar/mib, rw, rc)
	}
	for _, s := range ordered(ss, tools) {
		if s.tool != "rawparts" {
			line(s)
		}
	}
	if s := find(ss, "rawparts"); s != nil {
		line(s)
	}
	return b.String()
}

// ceilingLine compares s3up with the raw UploadPart loop; "" without both.
func ceilingLine(runs []result, tls string, size int64) string {
	ss := summarize(runs)
	raw, up := find(ss, "rawparts"), find(ss, "s3up")
	if raw == nil || up == nil || raw.ok == 0 || up.ok == 0 {
		return ""
	}
	mb := float64(size) / 1e6
	cpuPct := 0.0
	if raw.cpu > 0 {
		cpuPct = 100 * (up.cpu - raw.cpu) / raw.cpu
	}
	return fmt.Sprintf("Raw ceiling (%s): %.2f s, %.0f MB/s, %.2f CPU s. s3up: %.2f s, %.0f MB/s — gap %+.2f s (%+.0f%% wall), %+.2f CPU s (%+.0f%% CPU).",
		tls, raw.wall, mb/raw.wall, raw.cpu, up.wall, mb/up.wall, up.wall-raw.wall, 100*(up.wall-raw.wall)/raw.wall, up.cpu-raw.cpu, cpuPct)
}

// resumeTable: the timed resumes of s3up and s3cmd.
func resumeTable(runs []result, nparts int, size, part int64) string {
	var b strings.Builder
	b.WriteString("| tool | ok/runs | parts on server at resume | parts to send | resume wall s | CPU s | peak RSS MiB | read MiB (rchar) | read ÷ bytes to send |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range ordered(summarize(runs), []string{"s3up", "s3cmd"}) {
		o := s.onServer
		if s.ok == 0 {
			fmt.Fprintf(&b, "| **%s** | 0/%d | %s/%d | %s | failed | | | | |\n", s.tool, s.runs, num(o), nparts, num(float64(nparts)-o))
			continue
		}
		passes := 0.0
		if left := float64(size) - o*float64(part); left > 0 {
			passes = s.rchar / left
		}
		fmt.Fprintf(&b, "| **%s** | %d/%d | %s/%d | %s | %.2f | %.2f | %.0f | %.0f | %.2f |\n", s.tool, s.ok, s.runs,
			num(o), nparts, num(float64(nparts)-o), s.wall, s.cpu, s.rssKiB/1024, s.rchar/mib, passes)
	}
	return b.String()
}

// memoryTable: one row per run of the memory mode, in the order they ran.
func memoryTable(runs []result) string {
	var b strings.Builder
	b.WriteString("| transport | file | part size | parts in flight | peak RSS MiB | parts × concurrency MiB | wall s | MB/s | ok |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range runs {
		mbps, ok := 0.0, "FAILED"
		if r.wall > 0 {
			mbps = float64(r.size) / 1e6 / r.wall
		}
		if r.ok {
			ok = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %.0f | %.0f | %.2f | %.0f | %s |\n", r.tls, human(r.size), human(r.part), r.conc,
			float64(r.maxRSSKiB)/1024, float64(r.part)*float64(r.conc)/mib, r.wall, mbps, ok)
	}
	return b.String()
}

// streamTable: the medians per tool for a stream of size bytes; ratios are
// to the best peer's medians.
func streamTable(runs []result, tools []string, size int64) string {
	var b strings.Builder
	ss := ordered(summarize(runs), tools)
	bw, bc := bestPeers(ss)
	b.WriteString("| tool | ok/runs | parts | wall s | MiB/s | CPU s (user+sys) | peak RSS MiB | server CPU s | producer CPU s | wall ÷ best peer | CPU ÷ best peer |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range ss {
		if s.ok == 0 {
			fmt.Fprintf(&b, "| %s | 0/%d | | failed | | | | | | | |\n", label(s.tool), s.runs)
			continue
		}
		fmt.Fprintf(&b, "| %s | %d/%d | %s | %.2f | %.0f | %.2f | %.0f | %.2f | %.2f | %s | %s |\n", label(s.tool), s.ok, s.runs,
			s.objectParts, s.wall, float64(size)/mib/s.wall, s.cpu, s.rssKiB/1024, s.serverCPU, s.prodCPU,
			peerRatio(s.wall, bw, func(p *summary) float64 { return p.wall }),
			peerRatio(s.cpu, bc, func(p *summary) float64 { return p.cpu }))
	}
	return b.String()
}

func peerRatio(x float64, best *summary, of func(*summary) float64) string {
	if best == nil {
		return "—"
	}
	return ratio(x, of(best))
}

// bestPeerLine names the peers the ratios are to; "" when there is none.
func bestPeerLine(runs []result) string {
	bw, bc := bestPeers(summarize(runs))
	if bw == nil {
		return ""
	}
	return fmt.Sprintf("Best peer: %s by wall time (%.2f s), %s by CPU (%.2f CPU s). Ratios < 1 mean s3up is faster or leaner than every peer.",
		bw.tool, bw.wall, bc.tool, bc.cpu)
}

// treeTable: the medians per tool for uploading a tree of want objects and
// bytes; with rerun, the unchanged second run, whose command is named.
func treeTable(runs []result, tools []string, want int, bytes int64, rerun bool) string {
	var b strings.Builder
	ss := ordered(summarize(runs), tools)
	bw, bc := bestPeers(ss)
	if rerun {
		b.WriteString("| tool | rerun | ok/runs | objects | wall s | CPU s (user+sys) | peak RSS MiB | server CPU s | wall ÷ best peer | CPU ÷ best peer |\n")
		b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	} else {
		b.WriteString("| tool | ok/runs | objects | wall s | files/s | MiB/s | CPU s (user+sys) | peak RSS MiB | server CPU s | wall ÷ best peer | CPU ÷ best peer |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	}
	for _, s := range ss {
		first := label(s.tool)
		if rerun {
			first += " | " + rerunName(s.tool)
		}
		if s.ok == 0 {
			if rerun {
				fmt.Fprintf(&b, "| %s | 0/%d | | failed | | | | | |\n", first, s.runs)
			} else {
				fmt.Fprintf(&b, "| %s | 0/%d | | failed | | | | | | | |\n", first, s.runs)
			}
			continue
		}
		rw := peerRatio(s.wall, bw, func(p *summary) float64 { return p.wall })
		rc := peerRatio(s.cpu, bc, func(p *summary) float64 { return p.cpu })
		if rerun {
			fmt.Fprintf(&b, "| %s | %d/%d | %d/%d | %.2f | %.2f | %.0f | %.2f | %s | %s |\n", first, s.ok, s.runs,
				s.objects, want, s.wall, s.cpu, s.rssKiB/1024, s.serverCPU, rw, rc)
			continue
		}
		fmt.Fprintf(&b, "| %s | %d/%d | %d/%d | %.2f | %.0f | %.1f | %.2f | %.0f | %.2f | %s | %s |\n", first, s.ok, s.runs,
			s.objects, want, s.wall, float64(want)/s.wall, float64(bytes)/mib/s.wall, s.cpu, s.rssKiB/1024, s.serverCPU, rw, rc)
	}
	return b.String()
}

// scaleTable: s3up and the raw loop side by side, one row per value of the
// swept setting (concurrency or part size), medians of the rounds.
func scaleTable(runs []result, sweep string, values []int64, size int64) string {
	var b strings.Builder
	head := "concurrency"
	if sweep == "part" {
		head = "part size"
	}
	fmt.Fprintf(&b, "| %s | s3up MiB/s | raw MiB/s | s3up ÷ raw MiB/s | s3up CPU s/GiB | raw CPU s/GiB | ok/runs s3up, raw |\n", head)
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|\n")
	gib := float64(size) / (1 << 30)
	for _, v := range values {
		var at []result
		for _, r := range runs {
			if (sweep == "part" && r.part == v) || (sweep != "part" && int64(r.conc) == v) {
				at = append(at, r)
			}
		}
		ss := summarize(at)
		cell := func(tool string) (mibs, cpu float64, counts string) {
			s := find(ss, tool)
			if s == nil {
				return math.NaN(), math.NaN(), "—"
			}
			counts = fmt.Sprintf("%d/%d", s.ok, s.runs)
			if s.ok == 0 {
				return math.NaN(), math.NaN(), counts
			}
			return float64(size) / mib / s.wall, s.cpu / gib, counts
		}
		um, uc, un := cell("s3up")
		rm, rc, rn := cell("rawparts")
		name := strconv.FormatInt(v, 10)
		if sweep == "part" {
			name = human(v)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s, %s |\n", name, f0(um), f0(rm), ratio(um, rm), f2(uc), f2(rc), un, rn)
	}
	return b.String()
}

func f0(x float64) string {
	if math.IsNaN(x) {
		return "failed"
	}
	return fmt.Sprintf("%.0f", x)
}

func f2(x float64) string {
	if math.IsNaN(x) {
		return "failed"
	}
	return fmt.Sprintf("%.2f", x)
}

// failureNotes lists why the failed runs failed, one line per tool.
func failureNotes(runs []result) string {
	var b strings.Builder
	for _, s := range summarize(runs) {
		if len(s.failures) == 0 {
			continue
		}
		var uniq []string
		for _, f := range s.failures {
			if f == "" {
				f = "failed"
			}
			if !slices.Contains(uniq, f) {
				uniq = append(uniq, f)
			}
		}
		fmt.Fprintf(&b, "- %s failed %d of %d runs: %s\n", label(s.tool), len(s.failures), s.runs, strings.Join(uniq, "; "))
	}
	return b.String()
}

// commandsTable shows what each tool ran, one row per tool.
func commandsTable(rows [][2]string) string {
	var b strings.Builder
	b.WriteString("| tool | command |\n|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | `%s` |\n", r[0], strings.ReplaceAll(r[1], "|", `\|`))
	}
	return b.String()
}
