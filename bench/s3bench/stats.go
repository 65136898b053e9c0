package main

import (
	"math"
	"slices"
)

// median of xs; NaN for none. An even count averages the middle two.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// summary is one tool's runs in one table: counts, and the medians of the
// successful runs.
type summary struct {
	tool        string
	runs, ok    int
	wall, cpu   float64
	rssKiB      float64
	serverCPU   float64
	rchar       float64
	prodCPU     float64
	objectParts string // of the last successful run
	objects     int    // of the last successful run
	onServer    float64
	failures    []string // why the failed runs failed
}

// summarize groups runs by tool, in the order the tools first appear.
func summarize(runs []result) []*summary {
	type samples struct{ wall, cpu, rss, srv, rd, prod, on []float64 }
	var out []*summary
	by := map[string]*summary{}
	of := map[string]*samples{}
	for _, r := range runs {
		s, x := by[r.tool], of[r.tool]
		if s == nil {
			s, x = &summary{tool: r.tool}, &samples{}
			by[r.tool], of[r.tool] = s, x
			out = append(out, s)
		}
		s.runs++
		if r.onServer >= 0 {
			x.on = append(x.on, float64(r.onServer))
		}
		if !r.ok {
			s.failures = append(s.failures, r.failure)
			continue
		}
		s.ok++
		x.wall = append(x.wall, r.wall)
		x.cpu = append(x.cpu, r.cpu())
		x.rss = append(x.rss, float64(r.maxRSSKiB))
		x.srv = append(x.srv, r.serverCPU)
		x.rd = append(x.rd, float64(r.rchar))
		x.prod = append(x.prod, r.prodCPU)
		s.objectParts, s.objects = r.objectParts, r.objects
	}
	for _, s := range out {
		x := of[s.tool]
		s.wall, s.cpu, s.rssKiB = median(x.wall), median(x.cpu), median(x.rss)
		s.serverCPU, s.rchar, s.prodCPU, s.onServer = median(x.srv), median(x.rd), median(x.prod), median(x.on)
	}
	return out
}

// find returns the summary of tool, or nil.
func find(ss []*summary, tool string) *summary {
	for _, s := range ss {
		if s.tool == tool {
			return s
		}
	}
	return nil
}

// ordered returns the summaries in the order of tools, skipping tools with
// no runs.
func ordered(ss []*summary, tools []string) []*summary {
	var out []*summary
	for _, t := range tools {
		if s := find(ss, t); s != nil {
			out = append(out, s)
		}
	}
	return out
}

// bestPeers returns the peer (any tool but s3up) with the lowest median
// wall time and the one with the lowest median CPU, among those with a
// successful run; nil when there is none.
func bestPeers(ss []*summary) (wall, cpu *summary) {
	for _, s := range ss {
		if s.tool == "s3up" || s.ok == 0 {
			continue
		}
		if wall == nil || s.wall < wall.wall {
			wall = s
		}
		if cpu == nil || s.cpu < cpu.cpu {
			cpu = s
		}
	}
	return wall, cpu
}

// roundOrder is the order of the tools in round (1-based): round-robin,
// each round starting one tool later, so that no tool always runs first or
// always right after the same other one.
func roundOrder[T any](tools []T, round int) []T {
	n := len(tools)
	out := make([]T, 0, n)
	for i := range n {
		out = append(out, tools[(i+round-1)%n])
	}
	return out
}
