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
//
// Dev, Inode and Ctime come from the open file's fstat. A user can set a file's mtime back
// (touch -r, rsync -t, tar -x) but not its ctime: any write or metadata change moves it. They
// are zero where the platform does not report them (Windows), and in state written by older
// versions; zero values are not compared.
type Source struct {
	Path        string    `json:"path"` // absolute
	Size        int64     `json:"size"`
	ModTime     time.Time `json:"mtime"`
	Fingerprint string    `json:"fingerprint"`
	Dev         uint64    `json:"dev,omitempty"`
	Inode       uint64    `json:"ino,omitempty"`
	Ctime       time.Time `json:"ctime,omitzero"`
}

// fingerprintSample is the size of each sample Fingerprint hashes.
const fingerprintSample = 64 << 10

// OpenSource opens the file at path for reading and returns it with its identity, taken from
// the open descriptor (fstat), so that the identity and the bytes later read through f are
// those of one file even if the path is replaced meanwhile. It refuses a missing file (the
// error wraps fs.ErrNotExist), a directory, and anything that is not a regular file; a FIFO
// is refused before it is opened (opening one would block until a writer appears).
func OpenSource(path string) (*os.File, Source, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, Source{}, fmt.Errorf("source %s: %w", path, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, Source{}, fmt.Errorf("source: %w", err)
	}
	if err := checkRegular(abs, fi); err != nil {
		return nil, Source{}, err
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, Source{}, fmt.Errorf("source: %w", err)
	}
	src, err := Identify(f, abs)
	if err == nil && !sameFile(fi, f) {
		err = fmt.Errorf("source %s: replaced while being opened", abs)
	}
	if err != nil {
		f.Close()
		return nil, Source{}, err
	}
	return f, src, nil
}

func sameFile(fi os.FileInfo, f *os.File) bool {
	ofi, err := f.Stat()
	return err == nil && os.SameFile(fi, ofi)
}

// Identify returns the identity of the open file f, whose absolute path is abs: fstat's size,
// mtime, device, inode and ctime, and the content fingerprint read through f.
func Identify(f *os.File, abs string) (Source, error) {
	fi, err := f.Stat()
	if err != nil {
		return Source{}, fmt.Errorf("source: %w", err)
	}
	if err := checkRegular(abs, fi); err != nil {
		return Source{}, err
	}
	fp, err := Fingerprint(f, fi.Size())
	if err != nil {
		return Source{}, fmt.Errorf("source %s: %w", abs, err)
	}
	src := Source{Path: abs, Size: fi.Size(), ModTime: fi.ModTime(), Fingerprint: fp}
	src.Dev, src.Inode, src.Ctime = fileIDs(fi)
	return src, nil
}

// StatSource returns the identity of the file at path (opening it, then closing it).
func StatSource(path string) (Source, error) {
	f, src, err := OpenSource(path)
	if err != nil {
		return Source{}, err
	}
	f.Close()
	return src, nil
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

// Diff lists how cur differs from s, one phrase per changed property ("size 5 → 6 bytes"),
// or nothing. Device, inode and ctime are compared only when both sides recorded them.
func (s Source) Diff(cur Source) []string {
	var changed []string
	if s.Path != cur.Path {
		changed = append(changed, fmt.Sprintf("path %q → %q", s.Path, cur.Path))
	}
	if s.Size != cur.Size {
		changed = append(changed, fmt.Sprintf("size %d → %d bytes", s.Size, cur.Size))
	}
	if !s.ModTime.Equal(cur.ModTime) {
		changed = append(changed, fmt.Sprintf("mtime %s → %s",
			s.ModTime.Format(time.RFC3339Nano), cur.ModTime.Format(time.RFC3339Nano)))
	}
	if s.Fingerprint != cur.Fingerprint {
		changed = append(changed, fmt.Sprintf("content fingerprint %s → %s",
			shortHex(s.Fingerprint), shortHex(cur.Fingerprint)))
	}
	if s.Inode != 0 && cur.Inode != 0 && (s.Dev != cur.Dev || s.Inode != cur.Inode) {
		changed = append(changed, fmt.Sprintf("file (device %d inode %d → device %d inode %d: replaced)",
			s.Dev, s.Inode, cur.Dev, cur.Inode))
	}
	if !s.Ctime.IsZero() && !cur.Ctime.IsZero() && !s.Ctime.Equal(cur.Ctime) {
		changed = append(changed, fmt.Sprintf("ctime %s → %s (written or its metadata changed)",
			s.Ctime.Format(time.RFC3339Nano), cur.Ctime.Format(time.RFC3339Nano)))
	}
	return changed
}

// Fingerprint is a cheap content identity for a file of the given size: hex SHA-256 over the
// size and up to three 64 KiB samples (start, middle, end); a file of at most three samples is
// hashed whole. It catches a file rewritten in place with the same size and mtime (a restored
// backup, a clock step) without reading gigabytes. It does not prove two files are equal; the
// part checksums, the re-check of kept parts and the final object check do that.
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
