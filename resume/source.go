package resume

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Source identifies the local file an upload reads. A resume is allowed only while all of it
// still matches (see CheckResumable).
type Source struct {
	Path        string    `json:"path"` // absolute
	Size        int64     `json:"size"`
	ModTime     time.Time `json:"mtime"`
	Fingerprint string    `json:"fingerprint"`
}

// fingerprintSample is the size of each sample Fingerprint hashes.
const fingerprintSample = 64 << 10

// StatSource opens path, stats it and computes Fingerprint. It refuses a missing file (the error
// wraps fs.ErrNotExist), a directory, and anything that is not a regular file.
func StatSource(path string) (Source, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Source{}, fmt.Errorf("source %s: %w", path, err)
	}
	// Stat before opening: opening a FIFO would block until something writes to it.
	fi, err := os.Stat(abs)
	if err != nil {
		return Source{}, fmt.Errorf("source: %w", err)
	}
	if err := checkRegular(abs, fi); err != nil {
		return Source{}, err
	}
	f, err := os.Open(abs)
	if err != nil {
		return Source{}, fmt.Errorf("source: %w", err)
	}
	defer f.Close()
	ofi, err := f.Stat()
	if err != nil {
		return Source{}, fmt.Errorf("source: %w", err)
	}
	if err := checkRegular(abs, ofi); err != nil {
		return Source{}, err
	}
	if !os.SameFile(fi, ofi) {
		return Source{}, fmt.Errorf("source %s: replaced while being opened", abs)
	}
	fp, err := Fingerprint(f, ofi.Size())
	if err != nil {
		return Source{}, fmt.Errorf("source %s: %w", abs, err)
	}
	return Source{Path: abs, Size: ofi.Size(), ModTime: ofi.ModTime(), Fingerprint: fp}, nil
}

func checkRegular(path string, fi os.FileInfo) error {
	switch {
	case fi.IsDir():
		return fmt.Errorf("source %s: is a directory, not a file", path)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("source %s: not a regular file (%s)", path, fi.Mode().Type())
	}
	return nil
}

// Fingerprint is a cheap content identity for a file of the given size: hex SHA-256 over the
// size and up to three 64 KiB samples (start, middle, end); a file of at most three samples is
// hashed whole. It catches a file rewritten in place with the same size and mtime (a restored
// backup, a clock step) without reading gigabytes. It does not prove two files are equal; the
// part checksums and the final object check do that.
func Fingerprint(r io.ReaderAt, size int64) (string, error) {
	if size < 0 {
		return "", fmt.Errorf("fingerprint: negative size %d", size)
	}
	h := sha256.New()
	h.Write([]byte("s3up-fingerprint-v1\x00"))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(size)))

	var spans [][2]int64 // offset, length
	if size <= 3*fingerprintSample {
		spans = [][2]int64{{0, size}}
	} else {
		spans = [][2]int64{
			{0, fingerprintSample},
			{(size - fingerprintSample) / 2, fingerprintSample},
			{size - fingerprintSample, fingerprintSample},
		}
	}
	buf := make([]byte, min(size, 3*fingerprintSample))
	for _, s := range spans {
		b := buf[:s[1]]
		n, err := r.ReadAt(b, s[0])
		if n < len(b) {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return "", fmt.Errorf("fingerprint: read %d bytes at offset %d: %w (file shrank?)", len(b), s[0], err)
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
