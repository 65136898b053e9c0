package s3up

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/s3fake"
)

func testStream(data []byte) Stream {
	return Stream{R: bytes.NewReader(data), ID: "test", Name: "the test stream"}
}

// TestStreamSizes: streams of 0 B, 1 B, one part, an uneven multi-part
// size are stored byte-identical, verified, and leave nothing behind.
func TestStreamSizes(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	for _, size := range []int{0, 1, testPart - 1, testPart, 3*testPart + 77} {
		f := newFake()
		u := testUploader(t, f, Options{})
		data := randomBytes(r, size)
		res, err := u.PutStream(context.Background(), testStream(data), testBucket, "s")
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		assertObject(t, f, u, "s", data)
		if res.Size != int64(size) || res.Verified == "" {
			t.Fatalf("%d bytes: %+v", size, res)
		}
	}
}

// TestStreamProducerFails: a producer that fails means no object: the upload
// is aborted, nothing is left, and the error says why.
func TestStreamProducerFails(t *testing.T) {
	t.Parallel()
	for _, size := range []int{100, 4 * testPart} {
		f := newFake()
		u := testUploader(t, f, Options{})
		st := testStream(randomBytes(seeded(t), size))
		st.Wait = func() error { return errors.New("pg_dump exited with status 1") }
		_, err := u.PutStream(context.Background(), st, testBucket, "s")
		if !errors.Is(err, ErrStreamFailed) || !bytes.Contains([]byte(err.Error()), []byte("status 1")) {
			t.Fatalf("%d bytes: err %v", size, err)
		}
		if _, ok := f.Object(testBucket, "s"); ok {
			t.Fatalf("%d bytes: an object was stored from a failed producer", size)
		}
		assertClean(t, f, u)
	}
}

// TestStreamExpectedSize: --expected-size plans equal parts, and a stream of
// another size, shorter or longer, is never completed.
func TestStreamExpectedSize(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	data := randomBytes(r, 3*testPart+5)
	for _, tc := range []struct {
		expected int64
		ok       bool
	}{{int64(len(data)), true}, {int64(len(data)) + 1, false}, {int64(len(data)) - 1, false}, {10, false}} {
		f := newFake()
		u := testUploader(t, f, Options{})
		st := testStream(data)
		st.Size, st.SizeKnown = tc.expected, true
		_, err := u.PutStream(context.Background(), st, testBucket, "s")
		if tc.ok {
			if err != nil {
				t.Fatal(err)
			}
			assertObject(t, f, u, "s", data)
			if o, _ := f.Object(testBucket, "s"); len(o.PartSizes) != 4 || o.PartSizes[0] != o.PartSizes[2] {
				t.Fatalf("parts %v", o.PartSizes)
			}
			continue
		}
		if !errors.Is(err, ErrStreamFailed) {
			t.Fatalf("expected %d for %d bytes: err %v", tc.expected, len(data), err)
		}
		if _, ok := f.Object(testBucket, "s"); ok {
			t.Fatalf("expected %d: an object was stored", tc.expected)
		}
		assertClean(t, f, u)
	}
}

// TestStreamResumeByContent (issue 12): an interrupted stream, read again
// identical, sends only the parts the server does not hold; a stream that
// differs from a part on is sent from there, and the object is exactly the
// new stream, never a mix (parts beyond a shorter new end are left out).
func TestStreamResumeByContent(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	data := randomBytes(r, 6*testPart+10)
	interrupted := func(t *testing.T) (*s3fake.Fake, *Uploader) {
		f := newFake()
		u := testUploader(t, f, Options{Concurrency: 1})
		failPart(f, 4, s3fake.APIError("UploadPart", 500, "InternalError", "x"))
		if _, err := u.PutStream(context.Background(), testStream(data), testBucket, "s"); !errors.Is(err, ErrTransient) {
			t.Fatalf("first run: %v", err)
		}
		f.SetOnCall(nil)
		f.ResetCounters()
		return f, u
	}
	t.Run("same-stream", func(t *testing.T) {
		f, u := interrupted(t)
		res, err := u.PutStream(context.Background(), testStream(data), testBucket, "s")
		if err != nil {
			t.Fatal(err)
		}
		assertObject(t, f, u, "s", data)
		// 2 bytes more: before the first resume of a stream to a store,
		// whether it can replace a part is tried with one byte twice.
		if res.BytesSkipped != 3*testPart || f.BytesReceivedBy("UploadPart") != int64(len(data))-3*testPart+2 {
			t.Fatalf("skipped %d, sent %d", res.BytesSkipped, f.BytesReceivedBy("UploadPart"))
		}
	})
	t.Run("differs-at-part-2", func(t *testing.T) {
		f, u := interrupted(t)
		other := bytes.Clone(data)
		other[testPart+7] ^= 1
		res, err := u.PutStream(context.Background(), testStream(other), testBucket, "s")
		if err != nil {
			t.Fatal(err)
		}
		assertObject(t, f, u, "s", other)
		if res.BytesSkipped != testPart {
			t.Fatalf("skipped %d, want only part 1", res.BytesSkipped)
		}
	})
	// Parts are recognised by XXH3-128 (issue 26); a journal written before
	// it names SHA-256 and still resumes, part by part.
	t.Run("journal-names-xxh3", func(t *testing.T) {
		_, u := interruptedAt(t, data)
		parts := journalParts(t, u)
		if len(parts) != 3 {
			t.Fatalf("journal holds %d parts, want 3", len(parts))
		}
		for _, p := range parts {
			lo := int64(p.Number-1) * testPart
			want := checksum.HashBytes(data[lo:lo+p.Size], checksum.Request{XXH3: true}).XXH3
			if got := digestValue(p.Digest, streamDigestAlg); got != want || len(got) != 32 || digestValue(p.Digest, checksum.SHA256) != "" {
				t.Fatalf("part %d digest %q, want xxh3-128:%s and no SHA-256", p.Number, p.Digest, want)
			}
		}
	})
	t.Run("sha256-journal-resumes", func(t *testing.T) {
		f, u := interruptedAt(t, data)
		rewriteJournal(t, u, func(p resume.Part) resume.Part {
			lo := int64(p.Number-1) * testPart
			sum := sha256.Sum256(data[lo : lo+p.Size])
			p.Digest = strings.Replace(p.Digest, "xxh3-128:"+digestValue(p.Digest, streamDigestAlg), "sha256:"+hex.EncodeToString(sum[:]), 1)
			return p
		})
		res, err := u.PutStream(context.Background(), testStream(data), testBucket, "s")
		if err != nil {
			t.Fatal(err)
		}
		assertObject(t, f, u, "s", data)
		if res.BytesSkipped != 3*testPart {
			t.Fatalf("skipped %d, want the 3 parts the SHA-256 journal recorded", res.BytesSkipped)
		}
	})
	t.Run("sha256-journal-differs", func(t *testing.T) {
		f, u := interruptedAt(t, data)
		rewriteJournal(t, u, func(p resume.Part) resume.Part {
			p.Digest = strings.Replace(p.Digest, "xxh3-128:"+digestValue(p.Digest, streamDigestAlg), "sha256:"+strings.Repeat("0", 64), 1)
			return p
		})
		res, err := u.PutStream(context.Background(), testStream(data), testBucket, "s")
		if err != nil {
			t.Fatal(err)
		}
		assertObject(t, f, u, "s", data)
		if res.BytesSkipped != 0 {
			t.Fatalf("skipped %d with SHA-256 digests that match nothing", res.BytesSkipped)
		}
	})
	t.Run("new-stream-shorter", func(t *testing.T) {
		f, u := interrupted(t)
		short := data[:2*testPart+3]
		if _, err := u.PutStream(context.Background(), testStream(short), testBucket, "s"); err != nil {
			t.Fatal(err)
		}
		assertObject(t, f, u, "s", short)
	})
}

// TestStreamMemoryBound (issue 12): the stream is read ahead of the server
// by at most Concurrency+1 parts, whatever its length: each part stays in
// memory until acknowledged, and no more are read meanwhile.
func TestStreamMemoryBound(t *testing.T) {
	t.Parallel()
	const conc = 2
	f := newFake()
	u := testUploader(t, f, Options{Concurrency: conc})
	var worst atomic.Int64
	src := &watchReader{r: bytes.NewReader(randomBytes(seeded(t), 40*testPart)), ahead: func(read int64) {
		d := read - f.BytesReceivedBy("UploadPart")
		if d > worst.Load() {
			worst.Store(d)
		}
	}}
	st := Stream{R: src, ID: "m", Name: "m"}
	if _, err := u.PutStream(context.Background(), st, testBucket, "s"); err != nil {
		t.Fatal(err)
	}
	if limit := int64(conc+1) * testPart; worst.Load() > limit {
		t.Fatalf("read %d bytes ahead of the server, more than %d parts (%d)", worst.Load(), conc+1, limit)
	}
	t.Logf("read at most %d bytes ahead (%.1f parts)", worst.Load(), float64(worst.Load())/testPart)
}

type watchReader struct {
	r     io.Reader
	read  int64
	ahead func(int64)
}

func (w *watchReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	w.read += int64(n)
	w.ahead(w.read)
	return n, err
}

// TestStreamRefusedChecksum: a store that refuses the checksum of the first
// part (GCS) gets the stream with Content-MD5, read once.
func TestStreamRefusedChecksum(t *testing.T) {
	t.Parallel()
	f := newFake()
	var refused atomic.Int32
	f.SetOnCall(refuser(&refused, gcs, "UploadPart", "PutObject"))
	u := testUploader(t, f, Options{})
	data := randomBytes(seeded(t), 3*testPart+1)
	if _, err := u.PutStream(context.Background(), testStream(data), testBucket, "s"); err != nil {
		t.Fatal(err)
	}
	assertObject(t, f, u, "s", data)
	if refused.Load() == 0 {
		t.Fatal("nothing refused: the test tested nothing")
	}
	_ = fmt.Sprint
}

func TestStreamPartsReuseBuffers(t *testing.T) {
	t.Parallel()
	p := &streamParts{bufs: map[int32][]byte{}, digests: map[int32]checksum.Sums{}, sizes: map[int32]int64{}}
	a := p.buffer(100)
	p.put(1, a, checksum.Sums{}, checksum.Request{})
	p.drop(1)
	if b := p.buffer(80); &b[0] != &a[0] || len(b) != 80 {
		t.Fatal("the buffer of an acknowledged part was not reused")
	}
	p.recycle(make([]byte, 10))
	if c := p.buffer(50); cap(c) < 50 || len(p.free) != 0 {
		t.Fatalf("a buffer too small for a grown part was handed out or kept (cap %d, %d free)", cap(c), len(p.free))
	}
}

// TestPlannedBeforeTheFirstByte (issue 23): the planned event of a new
// upload has its parts and part size, for a file, a stream of known size
// and one of unknown size (its first part size; parts unknown).
func TestPlannedBeforeTheFirstByte(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 3*testPart+1)
	planned := func(t *testing.T, put func(u *Uploader) error) Planned {
		t.Helper()
		ev := &events{}
		u := testUploader(t, newFake(), Options{Listener: ev})
		if err := put(u); err != nil {
			t.Fatal(err)
		}
		p, ok := find[Planned](ev)
		if !ok {
			t.Fatal("no planned event")
		}
		return p
	}
	if p := planned(t, func(u *Uploader) error {
		_, err := u.putSrc(context.Background(), newMemSource(data), testBucket, "f")
		return err
	}); p.Parts != 4 || p.PartSize != testPart || p.Size != int64(len(data)) {
		t.Fatalf("file: %+v", p)
	}
	sized := testStream(data)
	sized.Size = int64(len(data))
	if p := planned(t, func(u *Uploader) error {
		_, err := u.PutStream(context.Background(), sized, testBucket, "s")
		return err
	}); p.Parts != 4 || p.PartSize != testPart {
		t.Fatalf("stream of known size: %+v", p)
	}
	if p := planned(t, func(u *Uploader) error {
		_, err := u.PutStream(context.Background(), testStream(data), testBucket, "s")
		return err
	}); p.Parts != 0 || p.PartSize != testPart || p.Size != -1 {
		t.Fatalf("stream of unknown size: %+v", p)
	}
}

// interruptedAt runs a stream of data that fails at part 4, leaving parts
// 1-3 on the fake and in the journal.
func interruptedAt(t *testing.T, data []byte) (*s3fake.Fake, *Uploader) {
	t.Helper()
	f := newFake()
	u := testUploader(t, f, Options{Concurrency: 1})
	failPart(f, 4, s3fake.APIError("UploadPart", 500, "InternalError", "x"))
	if _, err := u.PutStream(context.Background(), testStream(data), testBucket, "s"); !errors.Is(err, ErrTransient) {
		t.Fatalf("first run: %v", err)
	}
	f.SetOnCall(nil)
	f.ResetCounters()
	return f, u
}

// journalFile is the one journal in u's state directory.
func journalFile(t *testing.T, u *Uploader) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(u.opts.StateDir, "*.s3up"))
	if err != nil || len(m) != 1 {
		t.Fatalf("journals in %s: %v %v", u.opts.StateDir, m, err)
	}
	return m[0]
}

// journalParts are the part lines of u's one journal.
func journalParts(t *testing.T, u *Uploader) []resume.Part {
	t.Helper()
	var parts []resume.Part
	rewriteJournal(t, u, func(p resume.Part) resume.Part { parts = append(parts, p); return p })
	return parts
}

// rewriteJournal passes every part line of u's one journal through fn; the
// header line is kept as it is.
func rewriteJournal(t *testing.T, u *Uploader, fn func(resume.Part) resume.Part) {
	t.Helper()
	path := journalFile(t, u)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	for i, l := range lines[1:] {
		var p resume.Part
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatalf("journal line %d: %v", i+2, err)
		}
		out, err := json.Marshal(fn(p))
		if err != nil {
			t.Fatal(err)
		}
		lines[i+1] = string(out)
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}
