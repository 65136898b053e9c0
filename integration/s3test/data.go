package s3test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

// Seed returns a seed for random test data: S3UP_TEST_SEED if set, else a
// random one. It is logged so that a failing run can be replayed with
// S3UP_TEST_SEED=<seed>.
func Seed(t testing.TB) uint64 {
	t.Helper()
	if v := os.Getenv("S3UP_TEST_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 0, 64)
		if err != nil {
			t.Fatalf("S3UP_TEST_SEED=%q: %v", v, err)
		}
		t.Logf("seed %d (from S3UP_TEST_SEED)", s)
		return s
	}
	s := binary.LittleEndian.Uint64(randBytes(8))
	t.Logf("seed %d (replay with S3UP_TEST_SEED=%d)", s, s)
	return s
}

// NewRand returns a deterministic math/rand/v2 generator (ChaCha8) for seed.
func NewRand(seed uint64) *rand.Rand {
	return rand.New(newChaCha8(seed))
}

func newChaCha8(seed uint64) *rand.ChaCha8 {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:8], seed)
	return rand.NewChaCha8(key)
}

// MakeFile writes a file of exactly size bytes of deterministic pseudo-random
// data (math/rand/v2 ChaCha8 seeded with seed) in dir, and returns its path.
// The same (size, seed) always gives the same bytes, and a shorter file is a
// prefix of a longer one with the same seed. The seed is logged.
func MakeFile(t testing.TB, dir string, size int64, seed uint64) string {
	t.Helper()
	if size < 0 {
		t.Fatalf("MakeFile: negative size %d", size)
	}
	f, err := os.CreateTemp(dir, fmt.Sprintf("data-%d-seed%d-*.bin", size, seed))
	if err != nil {
		t.Fatalf("MakeFile: %v", err)
	}
	path := f.Name()
	start := time.Now()
	if err := writeRandom(f, size, seed); err != nil {
		f.Close()
		t.Fatalf("MakeFile %s: %v", path, err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("MakeFile %s: %v", path, err)
	}
	t.Logf("MakeFile %s: %d bytes, seed %d (%s)", path, size, seed, time.Since(start).Round(time.Millisecond))
	return path
}

func writeRandom(w io.Writer, size int64, seed uint64) error {
	src := newChaCha8(seed)
	buf := make([]byte, 1<<20)
	for size > 0 {
		n := int64(len(buf))
		if size < n {
			n = size
		}
		chunk := buf[:n]
		_, _ = src.Read(chunk) // never fails
		if _, err := w.Write(chunk); err != nil {
			return err
		}
		size -= n
	}
	return nil
}

// FileSHA256 returns the hex SHA-256 of the file at path.
func FileSHA256(t testing.TB, path string) string {
	t.Helper()
	sum, _ := fileSHA256(t, path)
	return sum
}

func fileSHA256(t testing.TB, path string) (string, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("FileSHA256: %v", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, f, make([]byte, 1<<20))
	if err != nil {
		t.Fatalf("FileSHA256 %s: %v", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

// Eventually polls cond every interval until it returns true or timeout
// passes, then fails the test with the last message cond returned. Use it
// instead of sleeping to wait for a condition.
func Eventually(t testing.TB, timeout, interval time.Duration, cond func() (ok bool, msg string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %s: %s", timeout, msg)
		}
		<-ticker.C
	}
}
