// Package benchdata makes the benchmark's test bytes: an AES-128-CTR
// keystream keyed by a seed. The bytes are incompressible (no store or
// transport can dedupe or compress them), cost little CPU to make (several
// GB/s with AES-NI), and are the same on every run with the same seed, so the
// stream benchmark can check the uploaded object against a digest computed
// before the run.
package benchdata

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// bufSize is the write size of WriteTo: large enough that a pipe reader
// sees full buffers, small enough to stay in the CPU cache.
const bufSize = 1 << 20

// keystream is an io.Reader of n keystream bytes.
type keystream struct {
	s    cipher.Stream
	left int64
}

// NewReader returns a reader of exactly size bytes derived from seed.
func NewReader(seed string, size int64) io.Reader {
	key := sha256.Sum256([]byte("s3up-bench/" + seed))
	block, err := aes.NewCipher(key[:16])
	if err != nil {
		panic(err) // a 16-byte key is always valid
	}
	return &keystream{s: cipher.NewCTR(block, key[16:32]), left: size}
}

func (k *keystream) Read(p []byte) (int, error) {
	if k.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > k.left {
		p = p[:k.left]
	}
	clear(p)
	k.s.XORKeyStream(p, p)
	k.left -= int64(len(p))
	return len(p), nil
}

// WriteTo writes the size bytes of seed's stream to w.
func WriteTo(w io.Writer, seed string, size int64) (int64, error) {
	return io.CopyBuffer(onlyWriter{w}, NewReader(seed, size), make([]byte, bufSize))
}

// onlyWriter hides a ReadFrom method (os.File has one), so that CopyBuffer
// uses our buffer size instead of the file's splice or 32 KiB path.
type onlyWriter struct{ io.Writer }

// SHA256 returns the SHA-256 of the size bytes of seed's stream.
func SHA256(seed string, size int64) ([32]byte, error) {
	h := sha256.New()
	if _, err := WriteTo(h, seed, size); err != nil {
		return [32]byte{}, err
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum, nil
}

// WriteFile writes seed's stream of size bytes to path, through a
// temporary file renamed into place: a file at path is always complete.
func WriteFile(path, seed string, size int64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := WriteTo(f, seed, size); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
