package s3up

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// heapPeak samples the heap (live and not yet collected objects: what the
// process's RSS follows) until stop, and returns its highest value.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	quit, done := make(chan struct{}), make(chan uint64)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		var peak uint64
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-quit:
				done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(quit); return <-done }
}

// heapNow is the heap after a collection.
func heapNow() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// writeBenchTree creates n one-byte files, 50 to a directory, 5
// directories to a group, as bench/internal/benchdata lays trees out.
func writeBenchTree(b *testing.B, n int) string {
	dir := b.TempDir()
	for i := range n {
		leaf := i / 50
		p := filepath.Join(dir, fmt.Sprintf("g%03d/d%02d/f%07d.bin", leaf/5, leaf%5, i))
		if i%50 == 0 {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				b.Fatal(err)
			}
		}
		if err := os.WriteFile(p, []byte{byte(i)}, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// BenchmarkPutTreeMemory (issue 26): the library's peak heap during a tree
// run, which must not grow with the tree: a dry run over an empty bucket,
// and an unchanged rerun with Delete over a tree already uploaded (the
// in-memory fake holds every object then; its heap, measured before the
// rerun, is subtracted). Reported: files/s and peak-heap-MiB.
func BenchmarkPutTreeMemory(b *testing.B) {
	for _, c := range []struct {
		name  string
		files int
		rerun bool
	}{
		{"dry-run/files=25000", 25_000, false},
		{"dry-run/files=200000", 200_000, false},
		{"rerun-delete/files=10000", 10_000, true},
		{"rerun-delete/files=80000", 80_000, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			if testing.Short() && c.files > 25_000 {
				b.Skip("creates many files")
			}
			dir := writeBenchTree(b, c.files)
			f := newFake()
			u := testUploader(b, f, Options{Concurrency: 8})
			t := Tree{Roots: []string{dir}, Bucket: testBucket, Prefix: "p/", DryRun: !c.rerun, Delete: c.rerun}
			if c.rerun {
				if _, err := u.PutTree(b.Context(), Tree{Roots: []string{dir}, Bucket: testBucket, Prefix: "p/"}); err != nil {
					b.Fatal(err)
				}
			}
			var peak uint64
			for b.Loop() {
				base := heapNow()
				stop := heapPeak()
				res, err := u.PutTree(b.Context(), t)
				p := stop()
				if err != nil {
					b.Fatal(err)
				}
				if res.Files != c.files || (c.rerun && res.Unchanged != c.files) {
					b.Fatalf("result %+v", res)
				}
				peak = max(peak, p-min(p, base))
			}
			b.ReportMetric(float64(c.files)*float64(b.N)/b.Elapsed().Seconds(), "files/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}
