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
	var out []*summary
	by := map[string]*summary{}
	var wall, cpu, rss, srv, rd, prod, on = map[string][]float64{}, map[string][]float64{}, map[string][]float64{},
		map[string][]float64{}, map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
	for _, r := range runs {
		s := by[r.tool]
		if s == nil {
			s = &summary{tool: r.tool}
			by[r.tool] = s
			out = append(out, s)
		}
		s.runs++
		if r.onServer >= 0 {
			on[r.tool] = append(on[r.tool], float64(r.onServer))
		}
		if !r.ok {
			s.failures = append(s.failures, r.failure)
			continue
		}
		s.ok++
		wall[r.tool] = append(wall[r.tool], r.wall)
		cpu[r.tool] = append(cpu[r.tool], r.cpu())
		rss[r.tool] = append(rss[r.tool], float64(r.maxRSSKiB))
		srv[r.tool] = append(srv[r.tool], r.serverCPU)
		rd[r.tool] = append(rd[r.tool], float64(r.rchar))
		prod[r.tool] = append(prod[r.tool], r.prodCPU)
		s.objectParts, s.objects = r.objectParts, r.objects
	}
	for _, s := range out {
		t := s.tool
		s.wall, s.cpu, s.rssKiB = median(wall[t]), median(cpu[t]), median(rss[t])
		s.serverCPU, s.rchar, s.prodCPU, s.onServer = median(srv[t]), median(rd[t]), median(prod[t]), median(on[t])
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
