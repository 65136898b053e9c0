package s3up

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/s3up/s3up/internal/heapwatch"
)

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

// BenchmarkPutTreeMemory (issue 26): the library's peak heap during a dry
// run of a tree over an empty bucket, which must not grow with the tree.
// (An unchanged rerun is measured against a real server by
// bench/tree-scale.sh: against the in-memory fake, the fake's own objects
// set the garbage collector's target, and the heap's peak says more of the
// fake than of the run.) Reported: files/s and peak-heap-MiB.
func BenchmarkPutTreeMemory(b *testing.B) {
	for _, n := range []int{25_000, 200_000} {
		b.Run(fmt.Sprintf("dry-run/files=%d", n), func(b *testing.B) {
			if testing.Short() && n > 25_000 {
				b.Skip("creates many files")
			}
			dir := writeBenchTree(b, n)
			u := testUploader(b, newFake(), Options{Concurrency: 8})
			t := Tree{Roots: []string{dir}, Bucket: testBucket, Prefix: "p/", DryRun: true}
			var peak uint64
			for b.Loop() {
				stop := heapwatch.Peak()
				res, err := u.PutTree(b.Context(), t)
				p := stop()
				if err != nil {
					b.Fatal(err)
				}
				if res.Files != n {
					b.Fatalf("result %+v", res)
				}
				peak = max(peak, p)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "files/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}
