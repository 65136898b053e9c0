package benchdata

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/s3up/s3up/s3up/tree"

	"github.com/s3up/s3up/internal/heapwatch"
)

// BenchmarkOrderedWalk walks trees of empty files laid out as the tree
// benchmark's (50 files a directory, 5 directories a group) in key order.
// The tree's own size does not matter to the walk; its file count does.
// Reported: files/s and the peak heap, which must not grow with the tree.
func BenchmarkOrderedWalk(b *testing.B) {
	for _, n := range []int{25_000, 200_000} {
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			if err := (Tree{Files: n, Seed: "walk"}).Write(dir); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				stop := heapwatch.Peak()
				count := 0
				for _, err := range tree.Files(context.Background(), []string{dir}, tree.Options{}, tree.Visitor{}) {
					if err != nil {
						b.Fatal(err)
					}
					count++
				}
				peak = max(peak, stop())
				if count != n {
					b.Fatalf("%d files walked, want %d", count, n)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "files/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// BenchmarkWalkFlatDirectory walks one directory of 1 M empty files: its
// entries sorted in memory (what a walk without TempDir holds, growing
// with the directory), then through the external sort past 100,000
// entries (Options.TempDir), which holds at most that many plus the
// sort's budget whatever the directory's size.
func BenchmarkWalkFlatDirectory(b *testing.B) {
	const n = 1_000_000
	if testing.Short() {
		b.Skip("creates 1 M files")
	}
	dir := b.TempDir()
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%07d", n-1-i)), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		o    tree.Options
	}{{"in-memory", tree.Options{}}, {"sorted-on-disk", tree.Options{TempDir: b.TempDir()}}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				stop := heapwatch.Peak()
				count := 0
				for _, err := range tree.Files(context.Background(), []string{dir}, c.o, tree.Visitor{}) {
					if err != nil {
						b.Fatal(err)
					}
					count++
				}
				peak = max(peak, stop())
				if count != n {
					b.Fatalf("%d files walked, want %d", count, n)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "files/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}
