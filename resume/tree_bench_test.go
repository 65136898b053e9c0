package resume

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/s3up/s3up/internal/heapwatch"
)

// benchKey is the key of file i of a tree laid out as the tree benchmark
// lays it out (50 files a directory, 5 directories a group): increasing
// with i.
func benchKey(b []byte, i int) []byte {
	b = append(b[:0], "nightly/g"...)
	b = appendPadded(b, i/250, 5)
	b = append(b, "/d"...)
	b = appendPadded(b, i/50%5, 2)
	b = append(b, "/f"...)
	b = appendPadded(b, i, 8)
	return append(b, ".bin"...)
}

func appendPadded(b []byte, v, width int) []byte {
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], int64(v), 10)
	for range width - len(d) {
		b = append(b, '0')
	}
	return append(b, d...)
}

// shuffled visits 0..n-1 in a scrambled order without holding it: i × a
// prime larger than n, modulo n, is a permutation.
func shuffled(i, n int) int { return int(uint64(i) * 1_000_000_007 % uint64(n)) }

func benchRecord(i int) TreeRecord {
	return TreeRecord{Key: string(benchKey(nil, i)), Size: int64(i % 100_000), MTime: 1_700_000_000_000_000_000 + int64(i), ETag: fmt.Sprintf(`"%032x"`, i)}
}

// BenchmarkSorter sorts records shaped as the tree journal's (a 35-byte
// key, a 30-byte value) arriving in scrambled order, with the default
// 16 MiB budget. Reported: records/s, the peak heap (which must stay near
// the budget whatever the count), the bytes spilled and the runs.
func BenchmarkSorter(b *testing.B) {
	for _, n := range []int{1_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			if n > 1_000_000 && testing.Short() {
				b.Skip("10 M records write 650 MB: not in -short")
			}
			dir := b.TempDir()
			val := appendBody(nil, benchRecord(1))
			b.ReportAllocs()
			var peak uint64
			var st SortStats
			for b.Loop() {
				stop := heapwatch.Peak()
				s := NewSorter(dir, 0)
				var key []byte
				for i := range n {
					key = benchKey(key, shuffled(i, n))
					if err := s.Add(string(key), val); err != nil {
						b.Fatal(err)
					}
				}
				it, err := s.Sort()
				if err != nil {
					b.Fatal(err)
				}
				count := 0
				for it.Next() {
					if count%100_003 == 0 && string(it.Key()) != string(benchKey(key, count)) {
						b.Fatalf("record %d is %q", count, it.Key())
					}
					count++
				}
				if it.Err() != nil || count != n {
					b.Fatalf("%d records, %v", count, it.Err())
				}
				st = s.Stats()
				s.Close()
				peak = max(peak, stop())
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(st.SpilledBytes)/(1<<20), "spilled-MiB")
			b.ReportMetric(float64(st.Runs), "runs")
		})
	}
}

// BenchmarkTreeJournal1M measures the tree journal at 1 M records:
// reading it in order (an unchanged rerun), the end of a run that stored
// 10 % of the files again (CloseSeen merges the log into the journal), the
// first run of a 1 M-file tree (1 M records in scrambled order sorted into
// the journal), reading a version-1 journal of 1 M records in order (the
// first run after an upgrade), and, for contrast, loading it into a map
// as version 1 did.
func BenchmarkTreeJournal1M(b *testing.B) {
	const n = 1_000_000
	dest := treeDest()
	report := func(b *testing.B, peak uint64) {
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	}
	// put fills a journal with every record in scrambled order and closes it.
	put := func(b *testing.B, path string) {
		j, err := OpenTree(path, dest)
		if err != nil {
			b.Fatal(err)
		}
		for i := range n {
			j.Put(benchRecord(shuffled(i, n)))
		}
		if err := j.Close(nil); err != nil {
			b.Fatal(err)
		}
	}
	count := func(b *testing.B, rd *TreeReader) {
		c := 0
		for range rd.All() {
			c++
		}
		if err := rd.Err(); err != nil || c != n {
			b.Fatalf("%d records, %v", c, err)
		}
		rd.Close()
	}
	path := TreeJournalPath(b.TempDir(), dest)

	b.Run("first-run-put-and-close", func(b *testing.B) {
		b.ReportAllocs()
		var peak uint64
		for b.Loop() {
			os.Remove(pathsOf(path).sorted())
			stop := heapwatch.Peak()
			put(b, path)
			peak = max(peak, stop())
		}
		report(b, peak)
	})
	b.Run("read-in-order", func(b *testing.B) {
		b.ReportAllocs()
		var peak uint64
		for b.Loop() {
			stop := heapwatch.Peak()
			count(b, OpenTreeReader(path, dest, TreeOptions{}))
			peak = max(peak, stop())
		}
		if fi, err := os.Stat(pathsOf(path).sorted()); err == nil {
			b.ReportMetric(float64(fi.Size())/n, "bytes/record")
		}
		report(b, peak)
	})
	b.Run("close-seen-10pc-stored", func(b *testing.B) {
		b.ReportAllocs()
		var peak uint64
		var key []byte
		for b.Loop() {
			stop := heapwatch.Peak()
			j, err := OpenTree(path, dest)
			if err != nil {
				b.Fatal(err)
			}
			for i := range n / 10 {
				r := benchRecord(shuffled(i, n))
				r.MTime++
				j.Put(r)
			}
			for i := range n {
				key = benchKey(key, i)
				if err := j.Seen(string(key)); err != nil {
					b.Fatal(err)
				}
			}
			if err := j.CloseSeen(); err != nil {
				b.Fatal(err)
			}
			peak = max(peak, stop())
		}
		report(b, peak)
	})
	v1 := TreeJournalPath(b.TempDir(), dest)
	os.MkdirAll(filepath.Dir(v1), 0o700)
	if err := writeV1(v1, dest, n); err != nil {
		b.Fatal(err)
	}
	b.Run("read-version-1-in-order", func(b *testing.B) {
		b.ReportAllocs()
		var peak uint64
		for b.Loop() {
			stop := heapwatch.Peak()
			count(b, OpenTreeReader(v1, dest, TreeOptions{}))
			peak = max(peak, stop())
		}
		report(b, peak)
	})
	b.Run("version-1-map", func(b *testing.B) {
		b.ReportAllocs()
		var peak uint64
		for b.Loop() {
			stop := heapwatch.Peak()
			m, err := ReadTree(v1, dest)
			if err != nil || len(m) != n {
				b.Fatalf("%d records, %v", len(m), err)
			}
			peak = max(peak, stop())
			runtime.KeepAlive(m)
		}
		report(b, peak)
	})
}

// writeV1 writes a version-1 journal of n records in scrambled order, as a
// tree run of version 1 left it.
func writeV1(path string, dest Destination, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	h, _ := json.Marshal(treeHeader{Version: 1, Endpoint: dest.Endpoint, Bucket: dest.Bucket, Prefix: dest.Key})
	w.Write(append(h, '\n'))
	for i := range n {
		l, _ := json.Marshal(benchRecord(shuffled(i, n)))
		w.Write(append(l, '\n'))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
