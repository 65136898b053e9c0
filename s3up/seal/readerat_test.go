package seal

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"
)

// TestReadAtRanges: random ranges of the seekable view, of random lengths,
// at random offsets (in the header, the nonce, across chunk boundaries, past
// the end), are those bytes of the whole object, with io.ReaderAt's EOF rule.
func TestReadAtRanges(t *testing.T) {
	rng := testRand(t)
	k := fixedKey(t, rng, testIdentities(t)[0].recipient)
	for _, size := range []int{0, 1, ChunkSize, 3*ChunkSize + 5} {
		plain := randBytes(rng, size)
		whole := sealStream(t, k, bytes.NewReader(plain)) // the other code path
		ra := k.NewReaderAt(bytes.NewReader(plain), int64(size))
		total := int64(len(whole))
		if ra.Size() != total {
			t.Fatalf("size %d: Size %d, stream gave %d", size, ra.Size(), total)
		}
		for range 2000 {
			off := rng.Int64N(total + 10)
			n := rng.IntN(3 * SealedChunkSize)
			if rng.IntN(4) == 0 {
				n = rng.IntN(100) // small reads, often inside one chunk
			}
			checkReadAt(t, ra, whole, off, n)
		}
		// Boundaries exactly.
		prefix := k.HeaderSize() + NonceSize
		for _, off := range []int64{0, k.HeaderSize() - 1, k.HeaderSize(), prefix - 1, prefix, prefix + SealedChunkSize - 1, prefix + SealedChunkSize, total - 1, total} {
			for _, n := range []int{0, 1, 2, SealedChunkSize, SealedChunkSize + 1, int(total)} {
				checkReadAt(t, ra, whole, off, n)
			}
		}
	}
}

func checkReadAt(t *testing.T, ra io.ReaderAt, whole []byte, off int64, n int) {
	t.Helper()
	total := int64(len(whole))
	p := make([]byte, n)
	got, err := ra.ReadAt(p, off)
	if off >= total {
		if n, err := ra.ReadAt(make([]byte, n), off); n != 0 || err != io.EOF {
			t.Fatalf("ReadAt(off %d) of %d = %d, %v; want 0, io.EOF", off, total, n, err)
		}
		return
	}
	wantN := min(n, int(total-off))
	if got != wantN {
		t.Fatalf("ReadAt(%d bytes, off %d) of %d = %d, %v; want %d", n, off, total, got, err, wantN)
	}
	if wantN < n && err != io.EOF {
		t.Fatalf("ReadAt(%d bytes, off %d) of %d: short read with %v, want io.EOF", n, off, total, err)
	}
	if wantN == n && err != nil {
		t.Fatalf("ReadAt(%d bytes, off %d) of %d: %v", n, off, total, err)
	}
	if wantN > 0 && !bytes.Equal(p[:got], whole[off:off+int64(got)]) {
		t.Fatalf("ReadAt(%d bytes, off %d): wrong bytes", n, off)
	}
}

// TestReadAtConcurrent: many goroutines reading random ranges of one
// ReaderAt at once (run with -race) each get the right bytes.
func TestReadAtConcurrent(t *testing.T) {
	rng := testRand(t)
	k := fixedKey(t, rng, testIdentities(t)[0].recipient)
	plain := randBytes(rng, 9*ChunkSize+333)
	whole := sealAll(t, k, plain)
	ra := k.NewReaderAt(bytes.NewReader(plain), int64(len(plain)))
	type job struct {
		off int64
		n   int
	}
	var jobs [8][]job
	for g := range jobs {
		for range 200 {
			jobs[g] = append(jobs[g], job{rng.Int64N(int64(len(whole))), rng.IntN(2*SealedChunkSize + 1)})
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(jobs))
	for _, js := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, j := range js {
				p := make([]byte, j.n)
				n, err := ra.ReadAt(p, j.off)
				if err != nil && err != io.EOF {
					errs <- err
					return
				}
				if !bytes.Equal(p[:n], whole[j.off:j.off+int64(n)]) {
					errs <- fmt.Errorf("ReadAt(%d, %d): wrong bytes", j.n, j.off)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestSection: a Section read with any buffer size, sought back and read
// again (an SDK retry), and read at offsets, gives its range of the object;
// sections read concurrently (parts in flight) do too.
func TestSection(t *testing.T) {
	rng := testRand(t)
	k := fixedKey(t, rng, testIdentities(t)[0].recipient)
	plain := randBytes(rng, 6*ChunkSize+4321)
	whole := sealAll(t, k, plain)
	ra := k.NewReaderAt(bytes.NewReader(plain), int64(len(plain)))
	total := int64(len(whole))
	for range 50 {
		off := rng.Int64N(total)
		n := rng.Int64N(total-off) + 1
		s := ra.Section(off, n)
		if s.Size() != n {
			t.Fatalf("Section(%d, %d).Size() = %d", off, n, s.Size())
		}
		for _, bufSize := range []int{1, 7, 4096, 32 << 10, SealedChunkSize, 200 << 10} {
			if _, err := s.Seek(0, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			got, err := readAllWith(s, bufSize)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, whole[off:off+n]) {
				t.Fatalf("Section(%d, %d) read with %d-byte buffers: wrong bytes", off, n, bufSize)
			}
		}
		// Seek into the middle, relative to the current position and to the end.
		mid := rng.Int64N(n)
		if _, err := s.Seek(mid, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if pos, _ := s.Seek(0, io.SeekCurrent); pos != mid {
			t.Fatalf("SeekCurrent: %d, want %d", pos, mid)
		}
		got, _ := io.ReadAll(s)
		if !bytes.Equal(got, whole[off+mid:off+n]) {
			t.Fatal("read after Seek: wrong bytes")
		}
		if pos, _ := s.Seek(-1, io.SeekEnd); pos != n-1 {
			t.Fatalf("SeekEnd: %d", pos)
		}
		checkReadAt(t, s, whole[off:off+n], rng.Int64N(n+2), rng.IntN(SealedChunkSize))
	}
	// Clipped to the object; bad seeks refused.
	if s := ra.Section(total-5, 100); s.Size() != 5 {
		t.Fatalf("Section past the end: size %d", s.Size())
	}
	if _, err := ra.Section(0, 10).Seek(-1, io.SeekStart); err == nil {
		t.Fatal("Seek to -1 accepted")
	}
	if _, err := ra.Section(0, 10).Seek(0, 42); err == nil {
		t.Fatal("Seek with whence 42 accepted")
	}
	if _, err := ra.ReadAt(make([]byte, 1), -1); err == nil {
		t.Fatal("ReadAt at -1 accepted")
	}
}

func readAllWith(r io.Reader, bufSize int) ([]byte, error) {
	var out []byte
	buf := make([]byte, bufSize)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// countingReaderAt counts the plaintext bytes read from it.
type countingReaderAt struct {
	r  io.ReaderAt
	mu sync.Mutex
	n  int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.mu.Lock()
	c.n += int64(n)
	c.mu.Unlock()
	return n, err
}

// TestSectionSealsEachChunkOnce: reading a part with an HTTP client's small
// buffers reads (and seals) each chunk it touches once, not once per read;
// a part touches only the chunks of its range.
func TestSectionSealsEachChunkOnce(t *testing.T) {
	rng := testRand(t)
	k := fixedKey(t, rng, testIdentities(t)[0].recipient)
	plain := randBytes(rng, 20*ChunkSize)
	src := &countingReaderAt{r: bytes.NewReader(plain)}
	ra := k.NewReaderAt(src, int64(len(plain)))
	// A part from the middle of chunk 3 to the middle of chunk 10.
	prefix := k.HeaderSize() + NonceSize
	off := prefix + 3*SealedChunkSize + 1000
	end := prefix + 10*SealedChunkSize + 2000
	if _, err := readAllWith(ra.Section(off, end-off), 4096); err != nil {
		t.Fatal(err)
	}
	if want := int64(8 * ChunkSize); src.n != want {
		t.Fatalf("read %d plaintext bytes for a part over chunks 3..10, want %d (8 chunks, once each)", src.n, want)
	}
	po, pn := k.PlaintextRange(off, end-off, int64(len(plain)))
	if po != 3*ChunkSize || pn != 8*ChunkSize {
		t.Fatalf("PlaintextRange = [%d, +%d), want chunks 3..10", po, pn)
	}
}

// TestPlaintextRange: the ciphertext range is computed from the plaintext
// bytes PlaintextRange names and from no other: changing a byte outside
// leaves the range's ciphertext alone; the byte under any ciphertext byte of
// the range is inside, and changing it changes the range.
func TestPlaintextRange(t *testing.T) {
	rng := testRand(t)
	k := fixedKey(t, rng, testIdentities(t)[0].recipient)
	plain := randBytes(rng, 5*ChunkSize+77)
	size := int64(len(plain))
	whole := sealAll(t, k, plain)
	total := int64(len(whole))
	for range 40 {
		off := rng.Int64N(total)
		n := rng.Int64N(total-off) + 1
		po, pn := k.PlaintextRange(off, n, size)
		if off+n <= k.HeaderSize()+NonceSize {
			if pn != 0 {
				t.Fatalf("range [%d, +%d) in the header maps to %d plaintext bytes", off, n, pn)
			}
			continue
		}
		if po%ChunkSize != 0 || (po+pn != size && pn%ChunkSize != 0) || pn <= 0 && size > 0 {
			t.Fatalf("PlaintextRange(%d, %d) = [%d, +%d): not whole chunks", off, n, po, pn)
		}
		mutate := func(at int64) bool {
			changed := bytes.Clone(plain)
			changed[at] ^= 1
			return !bytes.Equal(sealAll(t, k, changed)[off:off+n], whole[off:off+n])
		}
		if po > 0 && mutate(rng.Int64N(po)) {
			t.Fatalf("[%d, +%d): a plaintext byte before %d changed it", off, n, po)
		}
		if po+pn < size && mutate(po+pn+rng.Int64N(size-po-pn)) {
			t.Fatalf("[%d, +%d): a plaintext byte after %d changed it", off, n, po+pn)
		}
		// A plaintext byte the range shows (encrypted in place), or any byte
		// of a chunk whose tag is in the range, changes it.
		c := max(off, k.HeaderSize()+NonceSize) + rng.Int64N(min(off+n, total)-max(off, k.HeaderSize()+NonceSize))
		i, within := (c-k.HeaderSize()-NonceSize)/SealedChunkSize, (c-k.HeaderSize()-NonceSize)%SealedChunkSize
		plen := int64(chunkPlainLen(size, i, chunkCount(size)))
		at := i*ChunkSize + within
		if within >= plen {
			at = i*ChunkSize + rng.Int64N(plen) // in the tag
		}
		if at < po || at >= po+pn {
			t.Fatalf("[%d, +%d): ciphertext byte %d comes from plaintext byte %d, outside [%d, +%d)", off, n, c, at, po, pn)
		}
		if !mutate(at) {
			t.Fatalf("[%d, +%d): plaintext byte %d did not change ciphertext byte %d", off, n, at, c)
		}
	}
	if po, pn := k.PlaintextRange(0, total+100, size); po != 0 || pn != size {
		t.Fatalf("the whole object maps to [%d, +%d)", po, pn)
	}
	if _, pn := k.PlaintextRange(total, 10, size); pn != 0 {
		t.Fatal("a range past the end maps to plaintext")
	}
}

// TestSizes: CiphertextSize follows the formula, PlaintextSize inverts it,
// and every size in between two valid ones is refused.
func TestSizes(t *testing.T) {
	rng := testRand(t)
	k := fixedKey(t, rng, testIdentities(t)[0].recipient)
	h := k.HeaderSize()
	formula := func(p int64) int64 { return h + 16 + p + 16*max(1, (p+65535)/65536) }
	valid := map[int64]int64{}
	for p := int64(0); p <= 4*ChunkSize+2; p++ {
		c := k.CiphertextSize(p)
		if c != formula(p) {
			t.Fatalf("CiphertextSize(%d) = %d, formula %d", p, c, formula(p))
		}
		valid[c] = p
	}
	for c := h; c <= k.CiphertextSize(4*ChunkSize+2); c++ {
		p, err := k.PlaintextSize(c)
		if want, ok := valid[c]; ok {
			if err != nil || p != want {
				t.Fatalf("PlaintextSize(%d) = %d, %v; want %d", c, p, err, want)
			}
		} else if err == nil {
			t.Fatalf("PlaintextSize(%d) = %d, want an error (no plaintext gives it)", c, p)
		}
	}
	for _, p := range []int64{1 << 40, 5 << 40, MaxPlaintextSize} {
		if got, err := k.PlaintextSize(k.CiphertextSize(p)); err != nil || got != p {
			t.Fatalf("PlaintextSize(CiphertextSize(%d)) = %d, %v", p, got, err)
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("CiphertextSize(-1) did not panic")
		}
	}()
	k.CiphertextSize(-1)
}
