package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/s3up/s3up/bench/internal/benchdata"
)

// fileSeed seeds the test files: fixed, so a rerun uploads the same bytes.
const fileSeed = "file"

// dataFile returns the path of a file of size random bytes in the workdir,
// generating it the first time.
func (h *harness) dataFile(size int64) (string, error) {
	p := filepath.Join(h.paths.work, fmt.Sprintf("data-%d.bin", size))
	if fi, err := os.Stat(p); err == nil && fi.Size() == size {
		return p, nil
	}
	note("generating %s of random data: %s", human(size), p)
	if err := benchdata.WriteFile(p, fmt.Sprintf("%s-%d", fileSeed, size), size); err != nil {
		return "", fatalf("could not generate %s: %v", p, err)
	}
	return p, nil
}

// warm reads a file once, so that every tool reads it from the page cache.
func warm(path string) {
	if f, err := os.Open(path); err == nil {
		io.CopyBuffer(io.Discard, f, make([]byte, 1<<20))
		f.Close()
	}
}

// needDisk stops the benchmark before it fills the disk.
func (h *harness) needDisk(bytes int64, what string) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(h.paths.work, &st); err != nil {
		return nil
	}
	if avail := int64(st.Bavail) * int64(st.Bsize); avail < bytes {
		return fatalf("%s needs %d MiB free in %s, only %d MiB available (use --workdir on a bigger disk)",
			what, bytes>>20, h.paths.work, avail>>20)
	}
	return nil
}
