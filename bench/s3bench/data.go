package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/dustin/go-humanize"

	"github.com/s3up/s3up/bench/internal/benchdata"
)

// Seeds of the test data: fixed, so a rerun uploads the same bytes.
const (
	fileSeed   = "file"
	streamSeed = "stream"
	treeSeed   = "tree"
)

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

// tree is the tree of --tree-files, --tree-file-size and --tree-big.
func (h *harness) tree() benchdata.Tree {
	return benchdata.Tree{Files: h.opts.treeFiles, FileSize: h.opts.treeFile, Big: h.opts.treeBig, Seed: treeSeed}
}

// treeDir returns the tree's directory in the workdir, writing it the first
// time. A marker next to it (not inside: it would be uploaded) says the
// tree is complete.
func (h *harness) treeDir() (string, error) {
	t := h.tree()
	name := fmt.Sprintf("tree-%d-%d-%d", t.Files, t.FileSize, t.Big)
	dir := filepath.Join(h.paths.work, name)
	done := dir + ".done"
	if _, err := os.Stat(done); err == nil {
		return dir, nil
	}
	note("generating a tree of %d files of %s (%s in all): %s", t.Objects(), human(t.FileSize), humanize.IBytes(uint64(t.Bytes())), dir)
	if err := t.Write(dir); err != nil {
		return "", fatalf("could not generate the tree: %v", err)
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		return "", err
	}
	return dir, nil
}

// streamDigest is the SHA-256 of the stream datagen makes for size, cached
// in the workdir.
func (h *harness) streamDigest(size int64) (string, error) {
	p := filepath.Join(h.paths.work, fmt.Sprintf("stream-%d.sha256", size))
	if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) == 64 {
		return strings.TrimSpace(string(b)), nil
	}
	note("computing the SHA-256 of the %s stream", human(size))
	sum, err := benchdata.SHA256(streamSeed, size)
	if err != nil {
		return "", err
	}
	d := hex.EncodeToString(sum[:])
	return d, os.WriteFile(p, []byte(d+"\n"), 0o644)
}
