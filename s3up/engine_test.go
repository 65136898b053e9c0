package s3up

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/s3fake"
	"github.com/s3up/s3up/s3up/store"
)

// TestPutSizes: uploads of edge sizes are byte-identical and leave nothing
// behind, with every checksum.
func TestPutSizes(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	for _, alg := range checksum.All {
		for _, size := range []int{0, 1, testPart - 1, testPart, testPart + 1, 3 * testPart, 5*testPart + 17} {
			f := newFake()
			u := testUploader(t, f, Options{Checksum: alg})
			data := randomBytes(r, size)
			res := mustPut(t, u, newMemSource(data), "k")
			assertObject(t, f, u, "k", data)
			if size > 0 && (res.Parts != int32((size+testPart-1)/testPart) || res.BytesSent != int64(size)) {
				t.Fatalf("%s %d: result %+v", alg, size, res)
			}
			if !strings.Contains(res.Verified, "size") || alg.Flexible() && size > 0 && !strings.Contains(res.Verified, alg.Label()) {
				t.Fatalf("%s %d: verified %q", alg, size, res.Verified)
			}
		}
	}
}

// TestResumeSendsOnlyMissingParts: an upload that failed at part 3 resumes
// with the parts the server holds kept (re-read locally, never re-sent).
func TestResumeSendsOnlyMissingParts(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 6*testPart)
	f := newFake()
	u := testUploader(t, f, Options{Concurrency: 1})
	failPart(f, 3, s3fake.APIError("UploadPart", 500, "InternalError", "boom"))
	if _, err := u.putSrc(context.Background(), newMemSource(data), testBucket, "k"); !errors.Is(err, ErrTransient) {
		t.Fatalf("first run: %v, want a transient failure", err)
	}
	f.SetOnCall(nil)
	f.ResetCounters()
	ev := &events{}
	u.opts.Listener = ev
	res := mustPut(t, u, newMemSource(data), "k")
	assertObject(t, f, u, "k", data)
	if !res.Resumed || res.PartsKept != 2 || res.PartsSent != 4 || f.BytesReceivedBy("UploadPart") != 4*testPart {
		t.Fatalf("result %+v, %d bytes sent", res, f.BytesReceivedBy("UploadPart"))
	}
	if rc, ok := find[Rechecked](ev); !ok || rc.Parts != 2 || rc.Bytes != 2*testPart || len(rc.Changed) != 0 || res.BytesRechecked != 2*testPart {
		t.Fatalf("kept parts not re-read: %+v %v", rc, ok)
	}
}

// TestEditedInPlaceIsNeverMixed (review 1.1): a source edited in place
// between runs, in a way its identity does not show (same size, mtime,
// fingerprint, ctime), must not be completed as a mix of old parts and new
// ones: the kept parts are re-read, the changed one is sent again, not the
// whole file, and the object is the source as it is now.
func TestEditedInPlaceIsNeverMixed(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 5*testPart)
	f := newFake()
	u := testUploader(t, f, Options{Concurrency: 1})
	src := newMemSource(data)
	failPart(f, 3, s3fake.APIError("UploadPart", 503, "ServiceUnavailable", "later"))
	if _, err := u.putSrc(context.Background(), src, testBucket, "k"); err == nil {
		t.Fatal("first run succeeded")
	}
	f.SetOnCall(nil)
	src.edit(testPart/2, []byte("4 KiB rewritten inside part 1, identity unchanged"))
	f.ResetCounters()
	ev := &events{}
	u.opts.Listener = ev
	res := mustPut(t, u, src, "k")
	assertObject(t, f, u, "k", src.bytes())
	rc, _ := find[Rechecked](ev)
	if !slices.Equal(rc.Changed, []int{1}) || res.PartsSent != 4 || res.PartsKept != 1 {
		t.Fatalf("rechecked %+v, result %+v: want part 1 found changed and only it re-sent with the missing ones", rc, res)
	}
	// The opt-out skips the re-read (and so cannot see such an edit).
	f2 := newFake()
	u2 := testUploader(t, f2, Options{Concurrency: 1, TrustJournal: true})
	failPart(f2, 2, s3fake.APIError("UploadPart", 503, "ServiceUnavailable", "later"))
	u2.putSrc(context.Background(), newMemSource(data), testBucket, "k")
	f2.SetOnCall(nil)
	if res := mustPut(t, u2, newMemSource(data), "k"); res.BytesRechecked != 0 || res.PartsKept != 1 {
		t.Fatalf("--trust-journal re-read the kept parts: %+v", res)
	}
}

// TestFileReplacedDuringUpload (review 1.5): identity and data come from one
// descriptor; a file renamed over the path while the upload runs is
// noticed before Complete, nothing is completed, and the state is kept.
func TestFileReplacedDuringUpload(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	dir := t.TempDir()
	path := writeFile(t, dir, "db.tar", randomBytes(r, 3*testPart))
	f := newFake()
	u := testUploader(t, f, Options{Concurrency: 1})
	var replaced atomic.Bool
	f.SetOnCall(func(_ context.Context, op string, _ any) error {
		if op == "UploadPart" && !replaced.Swap(true) {
			next := writeFile(t, dir, "db.tar.new", randomBytes(r, 3*testPart))
			return os.Rename(next, path)
		}
		return nil
	})
	_, err := u.Put(context.Background(), path, testBucket, "k")
	// The old inode's ctime moves when the rename unlinks it, so either
	// check may be the one that notices.
	if !errors.Is(err, ErrTransient) || !strings.Contains(err.Error(), "replaced") && !strings.Contains(err.Error(), "changed while") {
		t.Fatalf("err %v, want a transient error saying the file was replaced", err)
	}
	if _, ok := f.Object(testBucket, "k"); ok {
		t.Fatal("an object was completed from a replaced file")
	}
	var ue *UploadError
	if !errors.As(err, &ue) || ue.StatePath == "" {
		t.Fatalf("no state kept: %v", err)
	}
	f.SetOnCall(nil)
	// The rerun sees another file (new inode): it starts over with it.
	want, _ := os.ReadFile(path)
	if _, err := u.Put(context.Background(), path, testBucket, "k"); err != nil {
		t.Fatal(err)
	}
	assertObject(t, f, u, "k", want)
}

// TestLostCompleteAnswer (review 1.2): the connection drops after the store
// completed the object; the SDK retries and gets NoSuchUpload (or gives up
// with a network error). The same run checks the object, finds it is these
// parts, and succeeds, leaving no state.
func TestLostCompleteAnswer(t *testing.T) {
	t.Parallel()
	for _, fault := range []s3fake.Fault{s3fake.LoseAnswerRetried, s3fake.LoseAnswer} {
		t.Run(fault.String(), func(t *testing.T) {
			data := randomBytes(seeded(t), 3*testPart+5)
			f := newFake()
			u := testUploader(t, f, Options{})
			f.FailNext("CompleteMultipartUpload", fault)
			res := mustPut(t, u, newMemSource(data), "k")
			assertObject(t, f, u, "k", data)
			if !strings.Contains(res.Verified, "CRC32C checksum") {
				t.Fatalf("not verified: %+v", res)
			}
		})
	}
	// A Complete that really failed, with no object: the error stands and
	// the state is kept for the rerun.
	f := newFake()
	u := testUploader(t, f, Options{})
	f.FailNext("CompleteMultipartUpload", s3fake.LoseRequest)
	_, err := u.putSrc(context.Background(), newMemSource(make([]byte, 2*testPart)), testBucket, "k")
	var ue *UploadError
	if !errors.Is(err, ErrTransient) || !errors.As(err, &ue) || ue.StatePath == "" {
		t.Fatalf("err %v, want transient with state", err)
	}
	if _, err := u.putSrc(context.Background(), newMemSource(make([]byte, 2*testPart)), testBucket, "k"); err != nil {
		t.Fatalf("rerun: %v", err)
	}
	assertObject(t, f, u, "k", make([]byte, 2*testPart))
}

// TestLostUploadPartAnswer: a part stored but whose answer was lost is found
// on the rerun, checked against the local bytes and adopted, not re-sent.
func TestLostUploadPartAnswer(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 4*testPart)
	f := newFake()
	u := testUploader(t, f, Options{Concurrency: 1})
	f.FailNext("UploadPart", s3fake.LoseAnswer)
	if _, err := u.putSrc(context.Background(), newMemSource(data), testBucket, "k"); !errors.Is(err, ErrTransient) {
		t.Fatalf("first run: %v", err)
	}
	f.ResetCounters()
	ev := &events{}
	u.opts.Listener = ev
	res := mustPut(t, u, newMemSource(data), "k")
	assertObject(t, f, u, "k", data)
	rs, _ := find[Resumed](ev)
	if rs.Adopted != 1 || f.BytesReceivedBy("UploadPart") != 3*testPart {
		t.Fatalf("resumed %+v, %d bytes sent: want part 1 adopted, 3 parts sent", rs, f.BytesReceivedBy("UploadPart"))
	}
	_ = res
	// A part on the server with other bytes than the source's (a crash,
	// then the file rewritten) is not adopted.
	f2 := newFake()
	u2 := testUploader(t, f2, Options{Concurrency: 1})
	f2.FailNext("UploadPart", s3fake.LoseAnswer)
	u2.putSrc(context.Background(), newMemSource(data), testBucket, "k")
	other := bytes.Clone(data)
	other[10] ^= 1
	res2 := mustPut(t, u2, newMemSource(other), "k")
	assertObject(t, f2, u2, "k", other)
	if res2.PartsSent != 4 {
		t.Fatalf("a part of other bytes was adopted: %+v", res2)
	}
}

// TestCreateAnswerLost (review 1.5): a CreateMultipartUpload whose answer
// was lost and that the SDK retried leaves a first upload nobody knows;
// the run aborts it, so it leaves no upload of its own behind.
func TestCreateAnswerLost(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 2*testPart)
	for _, fault := range []s3fake.Fault{s3fake.LoseAnswerRetried, s3fake.LoseAnswer} {
		t.Run(fault.String(), func(t *testing.T) {
			f := newFake()
			u := testUploader(t, f, Options{})
			f.FailNext("CreateMultipartUpload", fault)
			ev := &events{}
			u.opts.Listener = ev
			_, err := u.putSrc(context.Background(), newMemSource(data), testBucket, "k")
			if fault.String() == s3fake.LoseAnswer.String() {
				if !errors.Is(err, ErrTransient) {
					t.Fatalf("err %v", err)
				}
				assertClean(t, f, u)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			assertObject(t, f, u, "k", data)
			if w := strings.Join(warnings(ev), "\n"); !strings.Contains(w, "answer was lost") {
				t.Fatalf("no word of the stray upload: %q", w)
			}
		})
	}
	// Another host's upload of the same key, there before the run, is left
	// alone.
	f := newFake()
	u := testUploader(t, f, Options{})
	other, err := f.CreateMultipartUpload(context.Background(), &s3.CreateMultipartUploadInput{Bucket: aws.String(testBucket), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	f.FailNext("CreateMultipartUpload", s3fake.LoseAnswerRetried)
	mustPut(t, u, newMemSource(data), "k")
	ups := f.Uploads(testBucket)
	if len(ups) != 1 || ups[0].ID != aws.ToString(other.UploadId) {
		t.Fatalf("uploads left %+v, want only the other host's", ups)
	}
}

// TestAmbiguous404OnListParts (review 1.4): a bare 404 answer to ListParts
// for an upload that still exists does not make s3up abandon it: the run
// fails (transient), the upload and its parts stay, and the next run
// resumes it. When the upload really is gone, a new one starts and the old
// id is aborted anyway.
func TestAmbiguous404OnListParts(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 4*testPart)
	f := newFake()
	u := testUploader(t, f, Options{Concurrency: 1})
	failPart(f, 3, s3fake.APIError("UploadPart", 500, "InternalError", "x"))
	u.putSrc(context.Background(), newMemSource(data), testBucket, "k")
	f.SetOnCall(nil)
	f.FailNext("ListParts", s3fake.RefuseAPI(404, "NotFound", ""))
	_, err := u.putSrc(context.Background(), newMemSource(data), testBucket, "k")
	if !errors.Is(err, ErrTransient) || !strings.Contains(err.Error(), "still exists") {
		t.Fatalf("err %v, want a transient error saying the upload still exists", err)
	}
	if ups := f.Uploads(testBucket); len(ups) != 1 || len(ups[0].Parts) != 2 {
		t.Fatalf("uploads %+v: want the one upload with its 2 parts", ups)
	}
	f.ResetCounters()
	res := mustPut(t, u, newMemSource(data), "k")
	if !res.Resumed || res.PartsKept != 2 {
		t.Fatalf("not resumed: %+v", res)
	}
	assertObject(t, f, u, "k", data)
}

// TestSupersededUploadAborted: an upload that will not be resumed (source
// changed, --fresh) is always aborted, never orphaned.
func TestSupersededUploadAborted(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	data := randomBytes(r, 3*testPart)
	for _, tc := range []struct {
		name string
		next func(*memSource, *Uploader) *memSource
	}{
		{"source-changed", func(m *memSource, _ *Uploader) *memSource {
			n := newMemSource(randomBytes(r, 3*testPart))
			n.id.ModTime = m.id.ModTime.Add(time.Second)
			return n
		}},
		{"fresh", func(m *memSource, u *Uploader) *memSource { u.opts.Fresh = true; return m }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			u := testUploader(t, f, Options{Concurrency: 1})
			src := newMemSource(data)
			failPart(f, 2, s3fake.APIError("UploadPart", 500, "InternalError", "x"))
			u.putSrc(context.Background(), src, testBucket, "k")
			f.SetOnCall(nil)
			old := f.Uploads(testBucket)[0].ID
			next := tc.next(src, u)
			mustPut(t, u, next, "k")
			assertObject(t, f, u, "k", next.bytes())
			if f.Calls("AbortMultipartUpload") != 1 {
				t.Fatalf("old upload %s not aborted (%d aborts)", old, f.Calls("AbortMultipartUpload"))
			}
		})
	}
}

// TestUploadGoneBehindBack: the upload id is gone (gc, a lifecycle rule);
// with no object at the key a fresh upload starts and says why.
func TestUploadGoneBehindBack(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 3*testPart)
	f := newFake()
	u := testUploader(t, f, Options{Concurrency: 1})
	failPart(f, 2, s3fake.APIError("UploadPart", 500, "InternalError", "x"))
	u.putSrc(context.Background(), newMemSource(data), testBucket, "k")
	f.SetOnCall(nil)
	id := f.Uploads(testBucket)[0].ID
	if _, err := f.AbortMultipartUpload(context.Background(), &s3.AbortMultipartUploadInput{Bucket: aws.String(testBucket), Key: aws.String("k"), UploadId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	u.opts.Listener = ev
	mustPut(t, u, newMemSource(data), "k")
	assertObject(t, f, u, "k", data)
	if st, _ := find[Started](ev); !strings.Contains(st.Reason, "no longer exists") || !strings.Contains(st.Reason, "lifecycle") {
		t.Fatalf("started %+v", st)
	}
}

// TestPartVersions (SeaweedFS): a store that keeps every upload of a part
// number lists them all, ordered by ETag. Whichever order the re-sent and
// the stale entry come in, the resume keeps the journalled one and Complete
// names exactly it: the object is the source.
func TestPartVersions(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	for _, staleFirst := range []bool{true, false} {
		t.Run(map[bool]string{true: "stale-entry-listed-first", false: "stale-entry-listed-last"}[staleFirst], func(t *testing.T) {
			var data, stale []byte
			for { // draw until the ETags sort as the case wants
				data = randomBytes(r, 3*testPart)
				stale = bytes.Clone(data[:testPart])
				stale[0] ^= 0xff
				if (etagOf(stale) < etagOf(data[:testPart])) == staleFirst {
					break
				}
			}
			f := newFake(s3fake.PartVersions())
			u := testUploader(t, f, Options{Concurrency: 1})
			failPart(f, 2, s3fake.APIError("UploadPart", 500, "InternalError", "x"))
			u.putSrc(context.Background(), newMemSource(data), testBucket, "k")
			f.SetOnCall(nil)
			up := f.Uploads(testBucket)[0]
			// Another upload of part 1 with other bytes, behind the tool's back.
			if _, err := f.UploadPart(context.Background(), &s3.UploadPartInput{Bucket: aws.String(testBucket), Key: aws.String("k"),
				UploadId: aws.String(up.ID), PartNumber: aws.Int32(1), Body: bytes.NewReader(stale), ContentLength: aws.Int64(int64(len(stale))),
				ChecksumAlgorithm: checksum.CRC32C.SDK()}); err != nil {
				t.Fatal(err)
			}
			f.ResetCounters()
			res := mustPut(t, u, newMemSource(data), "k")
			assertObject(t, f, u, "k", data)
			if res.PartsKept != 1 || res.PartsSent != 2 {
				t.Fatalf("%+v: want part 1 kept (its journalled version), 2 and 3 sent", res)
			}
		})
	}
}

func etagOf(b []byte) string {
	s := checksum.HashBytes(b, checksum.Request{MD5: true})
	return string(checksum.CompositeETag([][]byte{s.MD5}))
}

// TestListPartsPastOnePage: a resume of an upload of 1,200 parts reads
// every page of ListParts (1,000 parts a page) and keeps all of them.
func TestListPartsPastOnePage(t *testing.T) {
	t.Parallel()
	const part = 1 << 10
	data := randomBytes(seeded(t), 1200*part+7)
	f := newFake(s3fake.OmitNextPartNumberMarker())
	// One part at a time: the failure of the last part then leaves exactly
	// the 1,200 before it on the server.
	u := testUploader(t, f, Options{PartSize: part, PartSizeExplicit: true, Concurrency: 1})
	failPart(f, 1201, s3fake.APIError("UploadPart", 500, "InternalError", "x"))
	u.putSrc(context.Background(), newMemSource(data), testBucket, "k")
	f.SetOnCall(nil)
	f.ResetCounters()
	res := mustPut(t, u, newMemSource(data), "k")
	assertObject(t, f, u, "k", data)
	if res.PartsKept != 1200 || res.PartsSent != 1 || f.Calls("ListParts") < 2 {
		t.Fatalf("%+v after %d ListParts calls", res, f.Calls("ListParts"))
	}
}

// TestPermanentErrorStopsSiblings (review 1.9): a part refused for good
// (access denied) cuts the parts in flight at once instead of letting them
// retry for minutes.
func TestPermanentErrorStopsSiblings(t *testing.T) {
	t.Parallel()
	f := newFake()
	u := testUploader(t, f, Options{Concurrency: 4})
	f.SetOnCall(func(ctx context.Context, op string, in any) error {
		if p, ok := in.(*s3.UploadPartInput); ok {
			if aws.ToInt32(p.PartNumber) == 1 {
				return s3fake.APIError("UploadPart", 403, "AccessDenied", "no")
			}
			<-ctx.Done() // a sibling stuck in a slow send
			return ctx.Err()
		}
		return nil
	})
	done := make(chan error, 1)
	go func() {
		_, err := u.putSrc(context.Background(), newMemSource(make([]byte, 8*testPart)), testBucket, "k")
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrAccess) {
			t.Fatalf("err %v, want ErrAccess", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("siblings kept running after a permanent failure")
	}
}

// TestCancelKeepsState: an interrupt stops the run with context.Canceled,
// keeps the state, aborts nothing, and the rerun resumes.
func TestCancelKeepsState(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 6*testPart)
	f := newFake()
	u := testUploader(t, f, Options{Concurrency: 1})
	ctx, cancel := context.WithCancel(context.Background())
	var sent atomic.Int32
	f.SetOnCall(func(c context.Context, op string, _ any) error {
		if op == "UploadPart" && sent.Add(1) == 3 {
			cancel()
			<-c.Done()
			return c.Err()
		}
		return nil
	})
	_, err := u.putSrc(ctx, newMemSource(data), testBucket, "k")
	var ue *UploadError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &ue) || ue.StatePath == "" {
		t.Fatalf("err %v", err)
	}
	if f.Calls("AbortMultipartUpload") != 0 || len(f.Uploads(testBucket)) != 1 {
		t.Fatal("an interrupt aborted the upload")
	}
	f.SetOnCall(nil)
	res := mustPut(t, u, newMemSource(data), "k")
	if res.PartsKept != 2 {
		t.Fatalf("%+v", res)
	}
	assertObject(t, f, u, "k", data)
}

// TestListenerNeverBlocksTheDataPath (review 1.9): a listener stuck on its
// first event (a paused terminal, a slow pipe) does not hold up the parts.
func TestListenerNeverBlocksTheDataPath(t *testing.T) {
	t.Parallel()
	const parts = 6
	f := newFake()
	allSent := make(chan struct{})
	var n atomic.Int32
	f.SetOnCall(func(_ context.Context, op string, _ any) error {
		if op == "CompleteMultipartUpload" {
			close(allSent)
		}
		_ = n.Add(1)
		return nil
	})
	u := testUploader(t, f, Options{Listener: ListenerFunc(func(Event) {
		select {
		case <-allSent:
		case <-time.After(30 * time.Second):
			panic("the upload waited for the listener")
		}
	})})
	data := randomBytes(seeded(t), parts*testPart)
	mustPut(t, u, newMemSource(data), "k")
	assertObject(t, f, u, "k", data)
}

// TestStateDirDefaultAndLegacy: without a state directory the journal goes
// to $XDG_STATE_HOME/s3up; a journal left next to the source by an older
// version is moved there and resumed.
func TestStateDirDefaultAndLegacy(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_STATE_HOME", xdg)
	r := seeded(t)
	dir := t.TempDir()
	data := randomBytes(r, 3*testPart)
	path := writeFile(t, dir, "f.bin", data)
	f := newFake()
	c := &store.Client{API: f, Info: store.ClientInfo{Endpoint: "http://fake.test"}}
	u := mustUploader(t, c, Options{PartSize: testPart, PartSizeExplicit: true, MinPartSize: testMinPart, Concurrency: 1, Grace: -1})
	failPart(f, 2, s3fake.APIError("UploadPart", 500, "InternalError", "x"))
	_, err := u.Put(context.Background(), path, testBucket, "k")
	var ue *UploadError
	if !errors.As(err, &ue) || filepath.Dir(ue.StatePath) != filepath.Join(xdg, "s3up") {
		t.Fatalf("state at %v (%v), want in %s", ue, err, filepath.Join(xdg, "s3up"))
	}
	if fi, err := os.Stat(filepath.Join(xdg, "s3up")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("state dir: %v %v", fi, err)
	}
	// Pretend an older s3up kept it next to the source.
	abs, _ := filepath.Abs(path)
	legacy := resume.LegacySidecarPath(abs, resume.Destination{Endpoint: "http://fake.test", Bucket: testBucket, Key: "k"})
	if err := os.Rename(ue.StatePath, legacy); err != nil {
		t.Fatal(err)
	}
	os.Remove(ue.StatePath + ".lock")
	f.SetOnCall(nil)
	ev := &events{}
	u.opts.Listener = ev
	res, err := u.Put(context.Background(), path, testBucket, "k")
	if err != nil || !res.Resumed || res.PartsKept != 1 {
		t.Fatalf("legacy state not resumed: %+v %v", res, err)
	}
	if _, err := os.Stat(legacy); !os.IsNotExist(err) {
		t.Fatalf("legacy state left: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(xdg, "s3up", "*")); len(left) != 0 {
		t.Fatalf("state left: %v", left)
	}
}

// TestEndpointSpellingKeepsState (review 1.7): state written with an
// endpoint spelled differently (trailing slash, case, default port) is the
// same store, and resumes.
func TestEndpointSpellingKeepsState(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 3*testPart)
	f := newFake()
	u := testUploader(t, f, Options{Concurrency: 1})
	failPart(f, 2, s3fake.APIError("UploadPart", 500, "InternalError", "x"))
	_, err := u.putSrc(context.Background(), newMemSource(data), testBucket, "k")
	var ue *UploadError
	errors.As(err, &ue)
	// Rewrite the journal's endpoint as an older version recorded it.
	b, _ := os.ReadFile(ue.StatePath)
	if err := os.WriteFile(ue.StatePath, bytes.Replace(b, []byte(`"http://fake.test"`), []byte(`"HTTP://Fake.Test:80/"`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	f.SetOnCall(nil)
	if res := mustPut(t, u, newMemSource(data), "k"); !res.Resumed || res.PartsKept != 1 {
		t.Fatalf("%+v", res)
	}
}

// TestOptionsRecordOnlyExplicit (review 1.6): the detected Content-Type is
// sent but not recorded, so another guess later cannot block a resume.
func TestOptionsRecordOnlyExplicit(t *testing.T) {
	t.Parallel()
	if r := (ObjectOptions{}).Record(); r != nil {
		t.Fatalf("empty options recorded %v", r)
	}
	dir := t.TempDir()
	path := writeFile(t, dir, "page.html", make([]byte, 2*testPart))
	f := newFake()
	u := testUploader(t, f, Options{})
	if _, err := u.Put(context.Background(), path, testBucket, "k"); err != nil {
		t.Fatal(err)
	}
	if o, _ := f.Object(testBucket, "k"); !strings.HasPrefix(o.ContentType, "text/html") {
		t.Fatalf("content type %q", o.ContentType)
	}
}
