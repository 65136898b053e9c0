package treemerge

import (
	"fmt"
	"iter"
	"strconv"
	"testing"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/tree"

	"github.com/s3up/s3up/internal/heapwatch"
)

// rel is file i's path in a tree laid out as the tree benchmark's,
// increasing with i, after prefix; one allocation, so that the benchmark
// measures the merge rather than its inputs.
func rel(prefix string, i int) string {
	var buf [64]byte
	b := append(buf[:0], prefix...)
	b = append(b, 'g')
	b = pad(b, i/250, 5)
	b = append(b, "/d"...)
	b = pad(b, i/50%5, 2)
	b = append(b, "/f"...)
	b = pad(b, i, 8)
	return string(append(b, ".bin"...))
}

func pad(b []byte, v, width int) []byte {
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], int64(v), 10)
	for range width - len(d) {
		b = append(b, '0')
	}
	return append(b, d...)
}

// BenchmarkMerge merges an unchanged rerun's inputs (every file listed and
// in the journal) and a first run's (files only): the cost of the merge
// itself, since the inputs are made in memory as it asks for them.
func BenchmarkMerge(b *testing.B) {
	const prefix = "nightly/"
	files := func(n int) iter.Seq2[tree.File, error] {
		return func(yield func(tree.File, error) bool) {
			for i := range n {
				if !yield(tree.File{Rel: rel("", i), Size: 1}, nil) {
					return
				}
			}
		}
	}
	objects := func(n int) iter.Seq2[Object, error] {
		return func(yield func(Object, error) bool) {
			for i := range n {
				if !yield(Object{Key: rel(prefix, i), Size: 1, ETag: `"e"`}, nil) {
					return
				}
			}
		}
	}
	records := func(n int) iter.Seq[resume.TreeRecord] {
		return func(yield func(resume.TreeRecord) bool) {
			for i := range n {
				if !yield(resume.TreeRecord{Key: rel(prefix, i), Size: 1, ETag: `"e"`}) {
					return
				}
			}
		}
	}
	for _, n := range []int{100_000, 1_000_000} {
		for _, c := range []struct {
			name string
			o    func(int) iter.Seq2[Object, error]
			r    func(int) iter.Seq[resume.TreeRecord]
		}{{"unchanged-rerun", objects, records}, {"first-run", nil, nil}} {
			b.Run(fmt.Sprintf("%s/files=%d", c.name, n), func(b *testing.B) {
				b.ReportAllocs()
				var peak uint64
				for b.Loop() {
					stop := heapwatch.Peak()
					var o iter.Seq2[Object, error]
					var r iter.Seq[resume.TreeRecord]
					if c.o != nil {
						o, r = c.o(n), c.r(n)
					}
					count := 0
					for e, err := range Merge(prefix, files(n), o, r) {
						if err != nil || e.File == nil {
							b.Fatal(err)
						}
						count++
					}
					peak = max(peak, stop())
					if count != n {
						b.Fatalf("%d entries", count)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			})
		}
	}
}

// BenchmarkSortObjects is the fallback for a store that does not list in
// byte order: 1 M objects in scrambled order through the external sort
// (16 MiB), then read in order.
func BenchmarkSortObjects(b *testing.B) {
	const n = 1_000_000
	dir := b.TempDir()
	listing := func(yield func(Object, error) bool) {
		for i := range n {
			if !yield(Object{Key: rel("nightly/", int(uint64(i)*1_000_000_007%n)), Size: 1234, ETag: `"d41d8cd98f00b204e9800998ecf8427e"`}, nil) {
				return
			}
		}
	}
	b.ReportAllocs()
	var peak uint64
	for b.Loop() {
		stop := heapwatch.Peak()
		so, err := SortObjects(listing, dir, 0)
		if err != nil {
			b.Fatal(err)
		}
		count := 0
		for _, err := range so.All() {
			if err != nil {
				b.Fatal(err)
			}
			count++
		}
		so.Close()
		peak = max(peak, stop())
		if count != n {
			b.Fatalf("%d objects", count)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}
