package s3up

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/s3fake"
	"github.com/s3up/s3up/s3up/seal"
)

// sealWatch sees every part body the fake is sent, before anything the
// fake does with it (a part that then fails was seen all the same), and
// checks the rule a sealed stream lives by: under one key (the age header
// its upload's part 1 starts with), a part number never carries two
// different bodies. fail, if set, fails part n after its body was seen.
type sealWatch struct {
	t      *testing.T
	mu     sync.Mutex
	header map[string]string             // upload id → the age header of its part 1
	bodies map[string]map[int32][32]byte // header → part number → body's digest
	fail   func(n int32) error
	sent   map[int32]int // UploadPart calls by part number
}

func watchSealed(t *testing.T, f *s3fake.Fake) *sealWatch {
	w := &sealWatch{t: t, header: map[string]string{}, bodies: map[string]map[int32][32]byte{}, sent: map[int32]int{}}
	f.SetOnCall(func(_ context.Context, op string, in any) error {
		p, ok := in.(*s3.UploadPartInput)
		if !ok {
			return nil
		}
		// The part's body is rewindable (a retry sends it again): read it,
		// then rewind it for the fake.
		body, err := io.ReadAll(p.Body)
		if err != nil {
			return err
		}
		sk, ok := p.Body.(io.Seeker)
		if !ok {
			w.t.Fatalf("the body of part %d (%T) cannot be rewound", aws.ToInt32(p.PartNumber), p.Body)
		}
		if _, err := sk.Seek(0, io.SeekStart); err != nil {
			return err
		}
		n, id := aws.ToInt32(p.PartNumber), aws.ToString(p.UploadId)
		w.mu.Lock()
		defer w.mu.Unlock()
		if n == 1 {
			w.header[id] = ageHeader(body)
		}
		h, known := w.header[id]
		if h == "" && known {
			return nil // not a sealed upload: the probe whether the store replaces parts
		}
		w.sent[n]++
		if !known {
			w.t.Errorf("part %d of upload %s sent before its part 1 was ever seen", n, id)
		}
		if w.bodies[h] == nil {
			w.bodies[h] = map[int32][32]byte{}
		}
		sum := sha256.Sum256(body)
		if old, ok := w.bodies[h][n]; ok && old != sum {
			w.t.Errorf("part %d sent twice under one key with different bytes (upload %s)", n, id)
		}
		w.bodies[h][n] = sum
		if w.fail != nil {
			return w.fail(n)
		}
		return nil
	})
	return w
}

func (w *sealWatch) failing(n int32) {
	w.mu.Lock()
	w.fail = func(m int32) error {
		if m == n {
			return s3fake.APIError("UploadPart", 500, "InternalError", "boom")
		}
		return nil
	}
	w.mu.Unlock()
}

func (w *sealWatch) reset() {
	w.mu.Lock()
	w.fail, w.sent = nil, map[int32]int{}
	w.mu.Unlock()
}

func (w *sealWatch) calls(n int32) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sent[n]
}

// ageHeader is the age header a sealed object starts with.
func ageHeader(b []byte) string {
	i := bytes.Index(b, []byte("\n--- "))
	if i < 0 {
		return ""
	}
	j := bytes.IndexByte(b[i+1:], '\n')
	if j < 0 {
		return ""
	}
	return string(b[:i+1+j+1])
}

// sealedStreamRun is a sealed stream's first run, failed at part fail
// (parts before it acknowledged, fail seen by the store and not).
func sealedStreamRun(t *testing.T, data []byte, fail int32) (*s3fake.Fake, *Uploader, *sealWatch, *age.X25519Identity, string) {
	t.Helper()
	id, z := newIdentity(t)
	f := newFake()
	u := testUploader(t, f, Options{Concurrency: 1, Seal: z})
	w := watchSealed(t, f)
	w.failing(fail)
	if _, err := u.PutStream(context.Background(), testStream(data), testBucket, "s"); err == nil {
		t.Fatal("first run succeeded")
	}
	w.reset()
	return f, u, w, id, journalSecret(t, u, "s")
}

func objectHeader(t *testing.T, f *s3fake.Fake, key string) string {
	t.Helper()
	o, ok := f.Object(testBucket, key)
	if !ok {
		t.Fatalf("no object at %s", key)
	}
	return ageHeader(o.Data)
}

func keyHeader(t *testing.T, secret string) string {
	t.Helper()
	k, err := seal.ImportSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return string(k.Header())
}

// startedOver checks a rerun (res, err) of a sealed stream that had to
// start over: nothing kept, the object not under the old key (secret), it
// decrypts with id to data, and nothing is left behind.
func startedOver(t *testing.T, f *s3fake.Fake, u *Uploader, res *Result, err error, id *age.X25519Identity, secret string, data []byte) {
	t.Helper()
	if err != nil || res.PartsKept != 0 {
		t.Fatalf("rerun: %+v %v", res, err)
	}
	if objectHeader(t, f, "s") == keyHeader(t, secret) {
		t.Fatal("sealed under the old journal's key")
	}
	if !bytes.Equal(openSealed(t, f, "s", id), data) {
		t.Fatal("the object does not decrypt to the stream")
	}
	assertClean(t, f, u)
}

// TestSealedStreamResumesByContent: a sealed stream read again identical
// keeps the parts the server holds, under the journal's key, and sends the
// rest: the part in flight (the same bytes) and the parts after it.
func TestSealedStreamResumesByContent(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 6*testPart+100)
	f, u, w, id, secret := sealedStreamRun(t, data, 4)
	if secret == "" {
		t.Fatal("no key in the journal")
	}
	res, err := u.PutStream(context.Background(), testStream(data), testBucket, "s")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.PartsKept != 3 || res.BytesSkipped != 3*testPart {
		t.Fatalf("rerun kept %d parts, %d bytes (resumed %t)", res.PartsKept, res.BytesSkipped, res.Resumed)
	}
	for n := int32(1); n <= 3; n++ {
		if c := w.calls(n); c != 0 {
			t.Fatalf("part %d sent again %d times", n, c)
		}
	}
	if got := objectHeader(t, f, "s"); got != keyHeader(t, secret) {
		t.Fatal("the object is not sealed under the journal's key")
	}
	if !bytes.Equal(openSealed(t, f, "s", id), data) {
		t.Fatal("the resumed stream does not decrypt to the stream")
	}
	assertClean(t, f, u)
}

// TestSealedStreamResumeDecrypts: what the resume stores decrypts to the stream.
func TestSealedStreamResumeDecrypts(t *testing.T) {
	t.Parallel()
	id, z := newIdentity(t)
	data := randomBytes(seeded(t), 5*testPart+7)
	f := newFake()
	u := testUploader(t, f, Options{Concurrency: 2, Seal: z})
	w := watchSealed(t, f)
	w.failing(3)
	if _, err := u.PutStream(context.Background(), testStream(data), testBucket, "s"); err == nil {
		t.Fatal("first run succeeded")
	}
	w.reset()
	res, err := u.PutStream(context.Background(), testStream(data), testBucket, "s")
	if err != nil || res.PartsKept < 1 {
		t.Fatalf("rerun: %+v %v", res, err)
	}
	if !bytes.Equal(openSealed(t, f, "s", id), data) {
		t.Fatal("the resumed stream does not decrypt to the stream")
	}
	assertClean(t, f, u)
}

// TestSealedStreamDiffersFromFirstPart: a producer that writes other bytes
// from the start (most do: a dump with a timestamp) is sealed again under
// a new key in the same run, its plaintext of part 1 replayed; the
// interrupted upload is aborted.
func TestSealedStreamDiffersFromFirstPart(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	data := randomBytes(r, 5*testPart)
	f, u, _, id, secret := sealedStreamRun(t, data, 3)
	other := randomBytes(r, 4*testPart+9)
	ev := &events{}
	u.opts.Listener = ev
	res, err := u.PutStream(context.Background(), testStream(other), testBucket, "s")
	if err != nil {
		t.Fatal(err)
	}
	if res.PartsKept != 0 || res.Resumed {
		t.Fatalf("kept parts of another stream: %+v", res)
	}
	if st, ok := find[Started](ev); !ok || !strings.Contains(st.Reason, "new key") {
		t.Fatalf("started %+v", st)
	}
	if objectHeader(t, f, "s") == keyHeader(t, secret) {
		t.Fatal("another stream was sealed under the old key")
	}
	if !bytes.Equal(openSealed(t, f, "s", id), other) {
		t.Fatal("the object does not decrypt to the new stream")
	}
	assertClean(t, f, u)
}

// TestSealedStreamDiffersLater: a stream that differs after parts were
// kept cannot be sealed again (their plaintext is gone) nor continue under
// the key, whether the part that differs was acknowledged (3) or only seen
// by the store, in flight when the first run failed (4: its record was
// journalled before it was sent). The run fails, nothing more is sent
// under the key, the upload is aborted and the journal with its key
// removed; the next run seals the stream under a new key.
func TestSealedStreamDiffersLater(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 6*testPart)
	for _, n := range []int32{3, 4} {
		t.Run(fmt.Sprint("part ", n), func(t *testing.T) {
			t.Parallel()
			f, u, w, id, secret := sealedStreamRun(t, data, 4)
			other := bytes.Clone(data)
			copy(other[int(n-1)*testPart+testPart/2:], "this plaintext lies in the part that differs")
			_, err := u.PutStream(context.Background(), testStream(other), testBucket, "s")
			if !errors.Is(err, ErrTransient) || !strings.Contains(err.Error(), fmt.Sprintf("differs at part %d", n)) {
				t.Fatalf("rerun: %v", err)
			}
			for m := int32(1); m <= 6; m++ {
				if c := w.calls(m); c != 0 {
					t.Fatalf("part %d was sent (%d times)", m, c)
				}
			}
			assertClean(t, f, u)
			res, err := u.PutStream(context.Background(), testStream(other), testBucket, "s")
			startedOver(t, f, u, res, err, id, secret, other)
		})
	}
}

// TestSealedStreamDiffersAfterPartInFlight: a stream that differs only
// after the part in flight when the first run failed resumes, sending that
// part again as it was and new bytes after it under the kept key (no run
// sent a byte of those parts).
func TestSealedStreamDiffersAfterPartInFlight(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 6*testPart)
	f, u, w, id, secret := sealedStreamRun(t, data, 4)
	other := bytes.Clone(data)
	copy(other[4*testPart+testPart/2:], "this plaintext lies in part 5")
	res, err := u.PutStream(context.Background(), testStream(other), testBucket, "s")
	if err != nil || res.PartsKept != 3 {
		t.Fatalf("rerun: %+v %v", res, err)
	}
	if w.calls(4) != 1 {
		t.Fatalf("part 4 sent %d times", w.calls(4))
	}
	if objectHeader(t, f, "s") != keyHeader(t, secret) {
		t.Fatal("not resumed under the journal's key")
	}
	if !bytes.Equal(openSealed(t, f, "s", id), other) {
		t.Fatal("the object does not decrypt to the stream")
	}
	assertClean(t, f, u)
}

// TestSealedStreamJournalWithoutWriteAhead: a sealed stream's journal
// that does not record the parts before they were sent (written before
// write-ahead records) cannot bind the key: the stream starts over under
// a new key.
func TestSealedStreamJournalWithoutWriteAhead(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 4*testPart)
	f, u, _, id, secret := sealedStreamRun(t, data, 3)
	for _, p := range stateFiles(t, u) {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte(`"write_ahead":true`)) {
			continue
		}
		var out []byte
		for _, l := range bytes.SplitAfter(b, []byte("\n")) {
			if !bytes.Contains(l, []byte(`"pending":true`)) {
				out = append(out, bytes.Replace(l, []byte(`,"write_ahead":true`), nil, 1)...)
			}
		}
		if err := os.WriteFile(p, out, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ev := &events{}
	u.opts.Listener = ev
	res, err := u.PutStream(context.Background(), testStream(data), testBucket, "s")
	startedOver(t, f, u, res, err, id, secret, data)
	if st, ok := find[Started](ev); !ok || !strings.Contains(st.Reason, "does not record the parts") {
		t.Fatalf("started %+v", st)
	}
}

// TestSealedStreamUploadGone: when the interrupted upload is gone from
// the server, the stream starts a new upload, and a new key with it.
func TestSealedStreamUploadGone(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 4*testPart)
	f, u, _, id, secret := sealedStreamRun(t, data, 3)
	for _, up := range f.Uploads(testBucket) {
		if _, err := f.AbortMultipartUpload(context.Background(), &s3.AbortMultipartUploadInput{Bucket: aws.String(testBucket), Key: aws.String("s"), UploadId: aws.String(up.ID)}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := u.PutStream(context.Background(), testStream(data), testBucket, "s")
	startedOver(t, f, u, res, err, id, secret, data)
}

// TestCarryWriteAhead: a new journal under the same key (an upload started
// again, as with Content-MD5) records as pending every part the store may
// have seen under the key, a part with no digest as one that proves
// nothing.
func TestCarryWriteAhead(t *testing.T) {
	sc, err := resume.Lock(filepath.Join(t.TempDir(), "j"))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	h := resume.Header{UploadID: "u2", Destination: resume.Destination{Bucket: "b", Key: "k"}, Source: resume.Source{Path: StreamID("x")},
		PartSize: testPart, Stream: true, WriteAhead: true}
	if err := sc.Create(h); err != nil {
		t.Fatal(err)
	}
	ss := &streamSeal{seen: map[int32]resume.Part{
		1: {Number: 1, Size: 10, ETag: `"e"`, Digest: "xxh3-128:aa"},
		2: {Number: 2, Size: 10, Digest: "xxh3-128:bb", Pending: true},
		3: {Number: 3, Size: 10}, // listed by the server, not journalled
	}}
	s := &session{sc: sc, sealed: &sealedObject{stream: ss}}
	if err := s.carryWriteAhead(); err != nil {
		t.Fatal(err)
	}
	st, err := sc.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Parts) != 0 || len(st.Pending) != 3 {
		t.Fatalf("parts %v pending %v", st.Parts, st.Pending)
	}
	for n, d := range map[int32]string{1: "xxh3-128:aa", 2: "xxh3-128:bb", 3: "unknown:"} {
		if p := st.Pending[n]; p.Digest != d || p.Size != 10 || p.ETag != "" {
			t.Errorf("pending %d: %+v", n, p)
		}
	}
	if sameContent(st.Pending[3].Digest, checksum.Sums{XXH3: ""}) {
		t.Error("a part with no digest proves a content")
	}
}
