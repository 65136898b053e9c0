package s3up

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/s3fake"
	"github.com/s3up/s3up/s3up/tree"
)

// treeEvents collects the events of tree runs.
type treeEvents struct {
	mu     sync.Mutex
	files  map[string]FileDone // by key
	skips  []Skipped
	unread []Unreadable
	dels   []Deleted
	warns  []string
}

func (e *treeEvents) Event(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch v := ev.(type) {
	case FileDone:
		e.files[v.Key] = v
	case Skipped:
		e.skips = append(e.skips, v)
	case Unreadable:
		e.unread = append(e.unread, v)
	case Deleted:
		e.dels = append(e.dels, v)
	case Warning:
		e.warns = append(e.warns, v.Message)
	case InFile:
		if w, ok := v.Event.(Warning); ok {
			e.warns = append(e.warns, v.Key+": "+w.Message)
		}
	}
}

func (e *treeEvents) reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.files, e.skips, e.unread, e.dels, e.warns = map[string]FileDone{}, nil, nil, nil, nil
}

func (e *treeEvents) decisions() map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := map[string]string{}
	for k, f := range e.files {
		m[k] = f.Outcome + " / " + f.Decision
	}
	return m
}

// treeFixture is a tree on disk and the files it holds, by relative path.
type treeFixture struct {
	root  string
	files map[string][]byte
}

func makeTree(t *testing.T, files map[string][]byte) *treeFixture {
	t.Helper()
	root := t.TempDir()
	for rel, data := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &treeFixture{root: root, files: maps.Clone(files)}
}

func (tf *treeFixture) path(rel string) string {
	return filepath.Join(tf.root, filepath.FromSlash(rel))
}

func (tf *treeFixture) write(t *testing.T, rel string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(tf.path(rel)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tf.path(rel), data, 0o644); err != nil {
		t.Fatal(err)
	}
	tf.files[rel] = data
}

// assertStored checks that the bucket holds exactly the tree under prefix.
func assertStored(t *testing.T, f *s3fake.Fake, prefix string, files map[string][]byte) {
	t.Helper()
	var want []string
	for rel := range files {
		want = append(want, prefix+rel)
	}
	slices.Sort(want)
	if got := f.ObjectKeys(testBucket); !slices.Equal(got, want) {
		t.Fatalf("keys %q, want %q", got, want)
	}
	for rel, data := range files {
		o, _ := f.Object(testBucket, prefix+rel)
		if !bytes.Equal(o.Data, data) {
			t.Fatalf("%s: %d bytes stored, want %d (content differs)", rel, len(o.Data), len(data))
		}
		if o.Metadata[MTimeKey] == "" {
			t.Errorf("%s: no mtime metadata", rel)
		}
	}
}

func uploadCalls(f *s3fake.Fake) int {
	return f.Calls("PutObject") + f.Calls("UploadPart") + f.Calls("CreateMultipartUpload")
}

func TestPutTreeSendsOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	tf := makeTree(t, map[string][]byte{
		"a.txt":                randomBytes(r, 100),
		"empty":                {},
		"sub/with space.bin":   randomBytes(r, 3000),
		"sub/Été/ünïcode.txt":  randomBytes(r, 10),
		"deep/1/2/3/big.bin":   randomBytes(r, 5*testPart+17), // multipart
		"sub/Été/second.txt":   randomBytes(r, 7),
		"x/y/z/last-one.dat":   randomBytes(r, 1),
		"sub/.hidden":          randomBytes(r, 5),
		"sub/UPPER and lower":  randomBytes(r, 64),
		"sub/quote'\"and#hash": randomBytes(r, 8),
	})
	f := newFake()
	ev := &treeEvents{}
	ev.reset()
	state := t.TempDir()
	u := testUploader(t, f, Options{StateDir: state, Listener: ev, Concurrency: 4})
	spec := Tree{Roots: []string{tf.root}, Bucket: testBucket, Prefix: "nightly/"}

	res, err := u.PutTree(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	assertStored(t, f, "nightly/", tf.files)
	if res.Files != len(tf.files) || res.Uploaded != len(tf.files) || res.Unchanged != 0 || res.Failed != 0 {
		t.Fatalf("first run: %+v", res)
	}
	for k, d := range ev.decisions() {
		if d != "uploaded / new" {
			t.Errorf("%s: %s, want uploaded / new", k, d)
		}
	}
	// Small files are verified from PutObject's answer: no HeadObject each.
	if n, big := f.Calls("HeadObject"), 1; n != big {
		t.Errorf("%d HeadObject calls, want %d (the multipart file's verification)", n, big)
	}
	if v := ev.files["nightly/a.txt"].Upload.Verified; !strings.Contains(v, "PutObject's answer") || !strings.Contains(v, "CRC32C checksum") {
		t.Errorf("a.txt verified %q", v)
	}

	t.Run("an unchanged rerun sends nothing and asks nothing per file", func(t *testing.T) {
		f.ResetCounters()
		ev.reset()
		res, err := u.PutTree(t.Context(), spec)
		if err != nil {
			t.Fatal(err)
		}
		if n := uploadCalls(f); n != 0 || f.BytesReceived() != 0 {
			t.Errorf("unchanged rerun: %d upload calls, %d bytes", n, f.BytesReceived())
		}
		if n := f.Calls("HeadObject"); n != 0 {
			t.Errorf("unchanged rerun made %d HeadObject calls; the journal and the listing should answer", n)
		}
		if res.Unchanged != len(tf.files) || res.Uploaded != 0 {
			t.Errorf("result %+v", res)
		}
		for k, d := range ev.decisions() {
			if d != "skipped / "+DecisionUnchanged {
				t.Errorf("%s: %s", k, d)
			}
		}
	})

	t.Run("without the journal, the stored mtime answers", func(t *testing.T) {
		u2 := testUploader(t, f, Options{StateDir: t.TempDir(), Listener: ev, Concurrency: 4})
		f.ResetCounters()
		ev.reset()
		res, err := u2.PutTree(t.Context(), spec)
		if err != nil {
			t.Fatal(err)
		}
		if n := uploadCalls(f); n != 0 {
			t.Errorf("%d upload calls", n)
		}
		if n := f.Calls("HeadObject"); n != len(tf.files) {
			t.Errorf("%d HeadObject calls, want one per file (%d)", n, len(tf.files))
		}
		if res.Unchanged != len(tf.files) {
			t.Errorf("result %+v", res)
		}
		// That run wrote its journal: the next needs no HeadObject.
		f.ResetCounters()
		if _, err := u2.PutTree(t.Context(), spec); err != nil {
			t.Fatal(err)
		}
		if n := f.Calls("HeadObject"); n != 0 {
			t.Errorf("third run: %d HeadObject calls", n)
		}
	})

	t.Run("a changed and an added file are the only ones sent", func(t *testing.T) {
		tf.write(t, "sub/with space.bin", randomBytes(r, 3001)) // size changes
		tf.write(t, "added/new file.txt", randomBytes(r, 12))   // new
		touched := tf.path("sub/Été/second.txt")                // same bytes, new mtime
		later := time.Now().Add(time.Hour)
		if err := os.Chtimes(touched, later, later); err != nil {
			t.Fatal(err)
		}
		f.ResetCounters()
		ev.reset()
		res, err := u.PutTree(t.Context(), spec)
		if err != nil {
			t.Fatal(err)
		}
		assertStored(t, f, "nightly/", tf.files)
		want := map[string]string{
			"nightly/sub/with space.bin": "uploaded / " + DecisionChangedSize,
			"nightly/added/new file.txt": "uploaded / " + DecisionNew,
			"nightly/sub/Été/second.txt": "uploaded / " + DecisionChangedMTime,
		}
		for k, d := range ev.decisions() {
			if w, ok := want[k]; ok && d != w || !ok && d != "skipped / "+DecisionUnchanged {
				t.Errorf("%s: %s (want %q)", k, d, w)
			}
		}
		if f.Calls("PutObject") != 3 || res.Uploaded != 3 {
			t.Errorf("%d PutObject calls, result %+v", f.Calls("PutObject"), res)
		}
		if want := int64(3001 + 12 + 7); f.BytesReceived() != want {
			t.Errorf("sent %d bytes, want %d", f.BytesReceived(), want)
		}
	})
}

func TestPutTreeLooksWhereTheAnswerProvesNothing(t *testing.T) {
	t.Parallel()
	tf := makeTree(t, map[string][]byte{"a": []byte("aaa"), "b": []byte("bb")})
	f := newFake(s3fake.HideChecksums(), s3fake.OpaqueETags())
	ev := &treeEvents{}
	ev.reset()
	u := testUploader(t, f, Options{Listener: ev})
	if _, err := u.PutTree(t.Context(), Tree{Roots: []string{tf.root}, Bucket: testBucket}); err != nil {
		t.Fatal(err)
	}
	if n := f.Calls("HeadObject"); n != 2 {
		t.Errorf("%d HeadObject calls, want one per file", n)
	}
	if v := ev.files["a"].Upload.Verified; strings.Contains(v, "answer") || !strings.Contains(v, "size") {
		t.Errorf("verified %q", v)
	}
}

func TestPutTreeChecksumCompare(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	tf := makeTree(t, map[string][]byte{
		"small.txt": randomBytes(r, 500),
		"big.bin":   randomBytes(r, 3*testPart+5),
		"other.txt": randomBytes(r, 40),
		"empty":     {},
	})
	f := newFake()
	ev := &treeEvents{}
	ev.reset()
	u := testUploader(t, f, Options{Listener: ev})
	spec := Tree{Roots: []string{tf.root}, Bucket: testBucket, Prefix: ""}
	if _, err := u.PutTree(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	// Edit two files in place, keeping their size and mtime, as a tool that
	// restores timestamps would: size and mtime cannot see it.
	for _, rel := range []string{"small.txt", "big.bin"} {
		fi, _ := os.Stat(tf.path(rel))
		data := slices.Clone(tf.files[rel])
		data[len(data)/2] ^= 0xff
		tf.write(t, rel, data)
		if err := os.Chtimes(tf.path(rel), fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	ev.reset()
	if _, err := u.PutTree(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	if d := ev.decisions()["small.txt"]; d != "skipped / "+DecisionUnchanged {
		t.Fatalf("size+mtime comparison: small.txt %s", d)
	}
	spec.ChecksumCompare = true
	ev.reset()
	res, err := u.PutTree(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"small.txt": "uploaded / " + DecisionChangedContent,
		"big.bin":   "uploaded / " + DecisionChangedContent,
		"other.txt": "skipped / " + DecisionSameContent,
		"empty":     "skipped / " + DecisionSameContent,
	}
	if got := ev.decisions(); !maps.Equal(got, want) {
		t.Fatalf("decisions %v\nwant %v", got, want)
	}
	assertStored(t, f, "", tf.files)
	if res.Uploaded != 2 || res.Unchanged != 2 {
		t.Errorf("result %+v", res)
	}
	// And now every object is the file, multipart one included.
	ev.reset()
	if _, err := u.PutTree(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	for k, d := range ev.decisions() {
		if d != "skipped / "+DecisionSameContent {
			t.Errorf("%s: %s", k, d)
		}
	}
	if detail := ev.files["big.bin"].Detail; !strings.Contains(detail, "checksum") {
		t.Errorf("big.bin compared by %q, want its checksum", detail)
	}
}

func TestPutTreePartialFailure(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	tf := makeTree(t, map[string][]byte{
		"a.txt":      randomBytes(r, 10),
		"b.txt":      randomBytes(r, 20),
		"vanish.txt": randomBytes(r, 30),
		"z.txt":      randomBytes(r, 40),
	})
	bad := tf.path("bad-\xff-name.txt") // not UTF-8: no S3 key can name it
	if err := os.WriteFile(bad, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(tf.path("fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFake()
	// vanish.txt is in the bucket with its size but another mtime, so the
	// run asks the server about it; it is removed then, and is gone when
	// its upload opens it.
	f.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String("p/vanish.txt"), Body: bytes.NewReader(make([]byte, 30)),
		Metadata: map[string]string{MTimeKey: "1"}})
	f.SetOnCall(func(ctx context.Context, op string, in any) error {
		if h, ok := in.(*s3.HeadObjectInput); ok && aws.ToString(h.Key) == "p/vanish.txt" {
			os.Remove(tf.path("vanish.txt"))
		}
		return nil
	})
	ev := &treeEvents{}
	ev.reset()
	u := testUploader(t, f, Options{Listener: ev, Concurrency: 1})
	res, err := u.PutTree(t.Context(), Tree{Roots: []string{tf.root}, Bucket: testBucket, Prefix: "p/"})
	if !errors.Is(err, ErrPartial) {
		t.Fatalf("err %v, want ErrPartial", err)
	}
	if res.Uploaded != 3 || res.Failed != 2 || res.Skipped != 1 || res.Files != 5 {
		t.Fatalf("result %+v", res)
	}
	delete(tf.files, "vanish.txt")
	tf.files["vanish.txt"] = make([]byte, 30) // the object as it was
	assertStored(t, f, "p/", tf.files)
	d := ev.decisions()
	if !strings.HasPrefix(d["p/vanish.txt"], "failed / ") || d["p/bad-\xff-name.txt"] != "failed / " {
		t.Errorf("decisions %v", d)
	}
	if e := ev.files["p/bad-\xff-name.txt"].Err; !errors.Is(e, ErrBadInput) || !strings.Contains(e.Error(), "UTF-8") {
		t.Errorf("bad name: %v", e)
	}
	if e := ev.files["p/vanish.txt"].Err; !errors.Is(e, os.ErrNotExist) || !strings.Contains(e.Error(), "there when the tree was walked") {
		t.Errorf("vanished: %v", e)
	}
	if len(ev.skips) != 1 || !strings.Contains(ev.skips[0].Reason, "FIFO") {
		t.Errorf("skipped %v", ev.skips)
	}
}

// TestPutTreeFileGoneBeforeItsTurn: the files are walked twice, to count
// them and to upload them in key order; a file removed in between is not
// part of the run (no failure, not counted), and --delete removes its
// object as it would on the next run.
func TestPutTreeFileGoneBeforeItsTurn(t *testing.T) {
	t.Parallel()
	tf := makeTree(t, map[string][]byte{"a": []byte("a"), "b": []byte("bb"), "c": []byte("ccc")})
	f := newFake()
	u := testUploader(t, f, Options{Concurrency: 1})
	if _, err := u.PutTree(t.Context(), Tree{Roots: []string{tf.root}, Bucket: testBucket, Prefix: "p/"}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var scanned TreeScanned
	l := ListenerFunc(func(e Event) {
		if s, ok := e.(TreeScanned); ok {
			mu.Lock()
			scanned = s
			mu.Unlock()
		}
	})
	u.betweenWalks = func() { os.Remove(tf.path("b")) }
	res, err := u.PutTree(t.Context(), Tree{Roots: []string{tf.root}, Bucket: testBucket, Prefix: "p/", Delete: true}, func(o *Options) { o.Listener = l })
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if scanned.Files != 3 || res.Files != 2 || res.Bytes != 4 || res.Unchanged != 2 || res.Failed != 0 || res.Deleted != 1 {
		t.Fatalf("scanned %+v, result %+v", scanned, res)
	}
	delete(tf.files, "b")
	assertStored(t, f, "p/", tf.files)
}

func TestPutTreeAllFailedIsNotPartial(t *testing.T) {
	t.Parallel()
	tf := makeTree(t, map[string][]byte{"a": []byte("a"), "b": []byte("b")})
	f := newFake()
	f.SetOnCall(func(ctx context.Context, op string, in any) error {
		if op == "PutObject" {
			return s3fake.APIError(op, http.StatusForbidden, "AccessDenied", "Access Denied")
		}
		return nil
	})
	u := testUploader(t, f, Options{Concurrency: 1})
	res, err := u.PutTree(t.Context(), Tree{Roots: []string{tf.root}, Bucket: testBucket})
	if !errors.Is(err, ErrAccess) || errors.Is(err, ErrPartial) {
		t.Fatalf("err %v, want ErrAccess and not ErrPartial", err)
	}
	if f.Calls("PutObject") != 1 || res.Failed != 1 {
		t.Errorf("access denied did not stop the run: %d PutObject calls, %+v", f.Calls("PutObject"), res)
	}
}

func TestPutTreeResumesABigFile(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	tf := makeTree(t, map[string][]byte{"big.bin": randomBytes(r, 10*testPart), "small": randomBytes(r, 9)})
	f := newFake()
	ctx, cancel := context.WithCancel(t.Context())
	var parts atomic.Int32
	f.SetOnCall(func(_ context.Context, op string, in any) error {
		if op == "UploadPart" && parts.Add(1) == 5 {
			cancel() // an interrupt after 4 parts
		}
		return nil
	})
	state := t.TempDir()
	u := testUploader(t, f, Options{StateDir: state, Concurrency: 2})
	spec := Tree{Roots: []string{tf.root}, Bucket: testBucket}
	if _, err := u.PutTree(ctx, spec); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	f.SetOnCall(nil)
	f.ResetCounters()
	ev := &treeEvents{}
	ev.reset()
	u = testUploader(t, f, Options{StateDir: state, Listener: ev, Concurrency: 2})
	if _, err := u.PutTree(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	assertStored(t, f, "", tf.files)
	up := ev.files["big.bin"].Upload
	if up == nil || !up.Resumed || up.PartsKept < 3 {
		t.Fatalf("big.bin was not resumed: %+v", up)
	}
	if n := f.Calls("UploadPart"); n > 10-up.PartsKept {
		t.Errorf("rerun sent %d parts, %d were kept", n, up.PartsKept)
	}
}

func TestPutTreeSharesOneConcurrencyBudget(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	files := map[string][]byte{"big1": randomBytes(r, 8*testPart), "big2": randomBytes(r, 8*testPart)}
	for i := range 40 {
		files["small/"+string(rune('a'+i%26))+string(rune('a'+i/26))] = randomBytes(r, 100)
	}
	tf := makeTree(t, files)
	f := newFake()
	var inFlight, peak atomic.Int32
	f.SetOnCall(func(ctx context.Context, op string, in any) error {
		if op == "PutObject" || op == "UploadPart" {
			n := inFlight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			// Hold the request until others had the chance to start.
			select {
			case <-time.After(2 * time.Millisecond):
			case <-ctx.Done():
			}
			inFlight.Add(-1)
		}
		return nil
	})
	const conc = 3
	u := testUploader(t, f, Options{Concurrency: conc})
	if _, err := u.PutTree(t.Context(), Tree{Roots: []string{tf.root}, Bucket: testBucket}); err != nil {
		t.Fatal(err)
	}
	assertStored(t, f, "", tf.files)
	if p := peak.Load(); p > conc {
		t.Fatalf("%d data requests at once, the budget is %d", p, conc)
	}
}

func TestPutTreeDelete(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	setup := func(t *testing.T) (*treeFixture, *s3fake.Fake, *Uploader, *treeEvents) {
		tf := makeTree(t, map[string][]byte{"keep.txt": randomBytes(r, 10), "d/keep2": randomBytes(r, 10)})
		f := newFake()
		for _, k := range []string{"p/old.txt", "p/d/old2", "p/cache/kept-excluded", "p/dir-marker/", "other/outside"} {
			f.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(k), Body: strings.NewReader("x")})
		}
		f.ResetCounters()
		ev := &treeEvents{}
		ev.reset()
		return tf, f, testUploader(t, f, Options{Listener: ev}), ev
	}
	filter, err := tree.NewFilter([]tree.Rule{{Pattern: "cache/"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("deletes what no file names, keeps excluded keys and markers", func(t *testing.T) {
		tf, f, u, _ := setup(t)
		res, err := u.PutTree(t.Context(), Tree{Roots: []string{tf.root}, Bucket: testBucket, Prefix: "p/", Delete: true, Filter: filter})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"other/outside", "p/cache/kept-excluded", "p/d/keep2", "p/dir-marker/", "p/keep.txt"}
		if got := f.ObjectKeys(testBucket); !slices.Equal(got, want) {
			t.Fatalf("keys %q, want %q", got, want)
		}
		if res.Deleted != 2 {
			t.Errorf("result %+v", res)
		}
	})
	t.Run("dry run deletes and sends nothing", func(t *testing.T) {
		tf, f, u, ev := setup(t)
		before := f.ObjectKeys(testBucket)
		res, err := u.PutTree(t.Context(), Tree{Roots: []string{tf.root}, Bucket: testBucket, Prefix: "p/", Delete: true, DryRun: true, Filter: filter})
		if err != nil {
			t.Fatal(err)
		}
		if got := f.ObjectKeys(testBucket); !slices.Equal(got, before) || uploadCalls(f) != 0 {
			t.Fatalf("dry run changed the bucket: %q (%d upload calls)", got, uploadCalls(f))
		}
		if res.Deleted != 2 || len(ev.dels) != 2 || !ev.dels[0].DryRun {
			t.Errorf("result %+v, deleted events %+v", res, ev.dels)
		}
		for k, d := range ev.decisions() {
			if d != "dry-run / new" {
				t.Errorf("%s: %s", k, d)
			}
		}
	})
	t.Run("refused after a failure", func(t *testing.T) {
		tf, f, u, _ := setup(t)
		os.WriteFile(tf.path("bad-\xff"), []byte("x"), 0o644)
		before := f.ObjectKeys(testBucket)
		res, err := u.PutTree(t.Context(), Tree{Roots: []string{tf.root}, Bucket: testBucket, Prefix: "p/", Delete: true})
		if !errors.Is(err, ErrPartial) || !strings.Contains(err.Error(), "nothing deleted") {
			t.Fatalf("err %v", err)
		}
		for _, k := range before {
			if _, ok := f.Object(testBucket, k); !ok {
				t.Errorf("%s deleted after a failure", k)
			}
		}
		if res.Deleted != 0 || res.DeleteRefused == "" {
			t.Errorf("result %+v", res)
		}
	})
	t.Run("refused beyond --max-delete", func(t *testing.T) {
		tf, f, u, _ := setup(t)
		res, err := u.PutTree(t.Context(), Tree{Roots: []string{tf.root}, Bucket: testBucket, Prefix: "p/", Delete: true, MaxDelete: 1})
		if !errors.Is(err, ErrPartial) || res.Deleted != 0 {
			t.Fatalf("err %v, result %+v", err, res)
		}
		if _, ok := f.Object(testBucket, "p/old.txt"); !ok {
			t.Error("deleted beyond --max-delete")
		}
	})
	t.Run("refused for an empty tree", func(t *testing.T) {
		_, f, u, _ := setup(t)
		empty := t.TempDir()
		before := f.ObjectKeys(testBucket)
		_, err := u.PutTree(t.Context(), Tree{Roots: []string{empty}, Bucket: testBucket, Prefix: "p/", Delete: true})
		if !errors.Is(err, ErrBadInput) {
			t.Fatalf("err %v, want ErrBadInput", err)
		}
		if got := f.ObjectKeys(testBucket); !slices.Equal(got, before) {
			t.Fatalf("an empty tree deleted %q", got)
		}
	})
	t.Run("one by one where the store has no DeleteObjects", func(t *testing.T) {
		tf, f, u, _ := setup(t)
		f.FailNext("DeleteObjects", s3fake.RefuseAPI(http.StatusNotImplemented, "NotImplemented", "not implemented"))
		res, err := u.PutTree(t.Context(), Tree{Roots: []string{tf.root}, Bucket: testBucket, Prefix: "p/", Delete: true, Filter: filter})
		if err != nil || res.Deleted != 2 || f.Calls("DeleteObject") != 2 {
			t.Fatalf("err %v, result %+v, %d DeleteObject calls", err, res, f.Calls("DeleteObject"))
		}
	})
}

func TestPutTreeRefusesWhatCannotBeUploaded(t *testing.T) {
	t.Parallel()
	f := newFake()
	u := testUploader(t, f, Options{})
	a := makeTree(t, map[string][]byte{"same/name": []byte("1")})
	b := makeTree(t, map[string][]byte{"same/name": []byte("2")})
	cases := map[string]Tree{
		"two roots, one key":  {Roots: []string{a.root, b.root}, Bucket: testBucket},
		"missing root":        {Roots: []string{filepath.Join(a.root, "missing")}, Bucket: testBucket},
		"no roots":            {Bucket: testBucket},
		"invalid bucket name": {Roots: []string{a.root}, Bucket: "Not_A_Bucket!"},
	}
	for name, spec := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := u.PutTree(t.Context(), spec); !errors.Is(err, ErrBadInput) {
				t.Fatalf("err %v, want ErrBadInput", err)
			}
			if uploadCalls(f) != 0 {
				t.Fatal("something was sent")
			}
		})
	}
}

func TestPutTreeBusy(t *testing.T) {
	t.Parallel()
	tf := makeTree(t, map[string][]byte{"a": []byte("a")})
	f := newFake()
	state := t.TempDir()
	u := testUploader(t, f, Options{StateDir: state})
	spec := Tree{Roots: []string{tf.root}, Bucket: testBucket, Prefix: "p/"}
	j, err := resume.OpenTree(resume.TreeJournalPath(state, resume.Destination{Endpoint: "http://fake.test", Bucket: testBucket, Key: "p/"}),
		resume.Destination{Endpoint: "http://fake.test", Bucket: testBucket, Key: "p/"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Release()
	if _, err := u.PutTree(t.Context(), spec); !errors.Is(err, ErrBusy) {
		t.Fatalf("err %v, want ErrBusy", err)
	}
}

func TestDecideFile(t *testing.T) {
	t.Parallel()
	mt := time.Unix(1700000000, 123456789)
	obj := &listedObject{size: 10, etag: `"e"`}
	rec := &resume.TreeRecord{Size: 10, MTime: mt.UnixNano(), ETag: `"e"`}
	cases := []struct {
		name string
		f    fileFacts
		next fileStep
		why  string
	}{
		{"not listed", fileFacts{size: 10, mtime: mt}, fileUpload, DecisionNew},
		{"other size", fileFacts{size: 11, mtime: mt, object: obj, record: rec}, fileUpload, DecisionChangedSize},
		{"journal agrees", fileFacts{size: 10, mtime: mt, object: obj, record: rec}, fileSkip, DecisionUnchanged},
		{"journal has another ETag: ask", fileFacts{size: 10, mtime: mt, object: &listedObject{size: 10, etag: `"f"`}, record: rec}, fileAskHead, ""},
		{"journal has another mtime: ask", fileFacts{size: 10, mtime: mt.Add(time.Second), object: obj, record: rec}, fileAskHead, ""},
		{"no journal: ask", fileFacts{size: 10, mtime: mt, object: obj}, fileAskHead, ""},
		{"stored mtime agrees", fileFacts{size: 10, mtime: mt, object: obj, head: &mtimeHead{found: true, size: 10, mtime: "1700000000.123456789"}}, fileSkip, DecisionUnchanged},
		{"stored mtime differs", fileFacts{size: 10, mtime: mt, object: obj, head: &mtimeHead{found: true, size: 10, mtime: "1700000001.123456789"}}, fileUpload, DecisionChangedMTime},
		{"no stored mtime", fileFacts{size: 10, mtime: mt, object: obj, head: &mtimeHead{found: true, size: 10}}, fileUpload, DecisionNoMTime},
		{"gone since the listing", fileFacts{size: 10, mtime: mt, object: obj, head: &mtimeHead{}}, fileUpload, DecisionNew},
		{"checksum compare asks", fileFacts{size: 10, mtime: mt, object: obj, record: rec, checksumCompare: true}, fileAskContent, ""},
		{"checksum compare same", fileFacts{size: 10, mtime: mt, object: obj, checksumCompare: true, content: &contentFacts{verdict: contentSame}}, fileSkip, DecisionSameContent},
		{"checksum compare differs", fileFacts{size: 10, mtime: mt, object: obj, checksumCompare: true, content: &contentFacts{verdict: contentDifferent, why: "x"}}, fileUpload, DecisionChangedContent},
		{"checksum compare cannot", fileFacts{size: 10, mtime: mt, object: obj, checksumCompare: true, content: &contentFacts{why: "not comparable: x"}}, fileUpload, DecisionNotComparable},
		{"checksum compare, other size, no read", fileFacts{size: 9, mtime: mt, object: obj, checksumCompare: true}, fileUpload, DecisionChangedSize},
	}
	for _, c := range cases {
		d := decideFile(c.f)
		if d.next != c.next || d.reason != c.why {
			t.Errorf("%s: %v %q, want %v %q", c.name, d.next, d.reason, c.next, c.why)
		}
	}
}

func TestMTimeFormat(t *testing.T) {
	t.Parallel()
	mt := time.Unix(1700000000, 120000000)
	if got := FormatMTime(mt); got != "1700000000.120000000" {
		t.Errorf("FormatMTime = %s", got)
	}
	for v, same := range map[string]bool{
		"1700000000.120000000":  true,
		"1700000000.12":         true, // another tool's precision
		"1700000000":            true, // whole seconds
		"1700000000.13":         false,
		"1700000001":            false,
		"1700000000.1200000001": false, // more than nanoseconds
		"":                      false,
		"abc":                   false,
		"1700000000.-1":         false,
	} {
		if got := SameMTime(v, mt); got != same {
			t.Errorf("SameMTime(%q) = %v, want %v", v, got, same)
		}
	}
	before := time.Unix(-2, 500) // before 1970
	if !SameMTime(FormatMTime(before), before) {
		t.Errorf("%s does not round-trip", FormatMTime(before))
	}
}

// TestTreeRerunAfterFailedVerification (issue 22): a file of a tree whose
// object failed verification is uploaded again by the next run, never
// skipped as unchanged: whether its object was deleted, or could not be and
// is on the distrust list.
func TestTreeRerunAfterFailedVerification(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	for _, deletable := range []bool{true, false} {
		tf := makeTree(t, map[string][]byte{"a.txt": randomBytes(r, 100), "big.bin": randomBytes(r, 2*testPart+3)})
		f := newFake(s3fake.IgnoreChecksums(), s3fake.IgnoreContentMD5(), s3fake.OpaqueETags())
		f.FailNext("UploadPart", s3fake.Corrupt)
		if !deletable {
			f.FailNext("DeleteObject", s3fake.RefuseAPI(403, "AccessDenied", "Access Denied"))
		}
		ev := &treeEvents{}
		ev.reset()
		u := testUploader(t, f, Options{Listener: ev, Concurrency: 1})
		spec := Tree{Roots: []string{tf.root}, Bucket: testBucket, Prefix: "p/"}
		if _, err := u.PutTree(t.Context(), spec); !errors.Is(err, ErrPartial) {
			t.Fatalf("deletable %v: first run %v", deletable, err)
		}
		if d := ev.files["p/big.bin"]; d.Outcome != OutcomeFailed || !errors.Is(d.Err, ErrVerify) {
			t.Fatalf("deletable %v: big.bin %+v", deletable, d)
		}
		ev.reset()
		res, err := u.PutTree(t.Context(), spec)
		if err != nil {
			t.Fatalf("deletable %v: rerun %v", deletable, err)
		}
		assertStored(t, f, "p/", tf.files)
		want := DecisionNew
		if !deletable {
			want = DecisionUntrusted
		}
		if d := ev.files["p/big.bin"]; d.Outcome != OutcomeUploaded || d.Decision != want || res.Uploaded != 1 {
			t.Fatalf("deletable %v: rerun big.bin %s / %s, %+v", deletable, d.Outcome, d.Decision, res)
		}
	}
}

// TestPutTreeAwkwardNamesDeleteAndRerun (issue 26): a tree whose names sort
// differently as paths and as keys ("a/b" against "a.b" and "a-b", Unicode,
// bytes above 0x7f) is merged with the bucket's listing in the bucket's
// order: an unchanged rerun with --delete sends nothing, asks nothing per
// file, and deletes exactly the objects no file names, never a key whose
// file exists, nor a "directory" marker.
func TestPutTreeAwkwardNamesDeleteAndRerun(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	names := []string{"a/b", "a.b", "a-b", "a0", "a/b/c", "ab", "é.txt", "e.txt", "€", "z/é/x", "z/e/x", "z-", "z0"}
	files := map[string][]byte{}
	for _, n := range names {
		files[n] = randomBytes(r, 1+r.IntN(40))
	}
	// "a/b" cannot be a file and a directory: keep the directory.
	delete(files, "a/b")
	tf := makeTree(t, files)
	f := newFake()
	u := testUploader(t, f, Options{Concurrency: 4})
	if _, err := u.PutTree(t.Context(), Tree{Roots: []string{tf.root}, Bucket: testBucket, Prefix: "p/"}); err != nil {
		t.Fatal(err)
	}
	stray := []string{"p/a/c", "p/a.c", "p/ü", "p/a/b/d", "p/z/é/y", "p/a"}
	for _, k := range append(slices.Clone(stray), "p/dir/") {
		f.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(k), Body: strings.NewReader("x")})
	}
	f.ResetCounters()
	ev := &treeEvents{}
	ev.reset()
	res, err := u.PutTree(t.Context(), Tree{Roots: []string{tf.root}, Bucket: testBucket, Prefix: "p/", Delete: true}, func(o *Options) { o.Listener = ev })
	if err != nil {
		t.Fatal(err)
	}
	if res.Unchanged != len(files) || res.Uploaded != 0 || res.Deleted != len(stray) {
		t.Fatalf("result %+v", res)
	}
	if n := uploadCalls(f) + f.Calls("HeadObject"); n != 0 {
		t.Errorf("%d requests for files of an unchanged tree", n)
	}
	if n := f.Calls("ListObjectsV2"); n != 1 {
		t.Errorf("%d listings, want 1", n)
	}
	var deleted []string
	for _, d := range ev.dels {
		deleted = append(deleted, d.Key)
	}
	slices.Sort(stray)
	if !slices.Equal(deleted, stray) {
		t.Errorf("deleted %q, want %q in key order", deleted, stray)
	}
	files["dir/"] = []byte("x")
	got := f.ObjectKeys(testBucket)
	for rel := range files {
		if !slices.Contains(got, "p/"+rel) {
			t.Errorf("p/%s is gone", rel)
		}
	}
}

// TestTreeHeadsGoManyAtOnce (issue 26): with a new state directory (no
// journal), each file of the same size as its object needs a HeadObject
// for its stored mtime; they go Concurrency at a time, not one after
// another. The first Concurrency HEADs wait for each other: one at a time,
// they would never all arrive.
func TestTreeHeadsGoManyAtOnce(t *testing.T) {
	t.Parallel()
	const conc = 4
	r := seeded(t)
	files := map[string][]byte{}
	for i := range 4 * conc {
		files[fmt.Sprintf("d/f%02d", i)] = randomBytes(r, 10)
	}
	tf := makeTree(t, files)
	f := newFake()
	if _, err := testUploader(t, f, Options{Concurrency: conc}).PutTree(t.Context(), Tree{Roots: []string{tf.root}, Bucket: testBucket, Prefix: "p/"}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	f.SetOnCall(func(ctx context.Context, op string, in any) error {
		if op != "HeadObject" {
			return nil
		}
		mu.Lock()
		arrived++
		if arrived == conc {
			close(all)
		}
		first := arrived <= conc
		mu.Unlock()
		if first {
			select {
			case <-all:
			case <-time.After(30 * time.Second):
				return fmt.Errorf("fewer than %d HeadObjects at once", conc)
			}
		}
		return nil
	})
	res, err := testUploader(t, f, Options{Concurrency: conc}).PutTree(t.Context(), Tree{Roots: []string{tf.root}, Bucket: testBucket, Prefix: "p/"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Unchanged != len(files) || f.Calls("HeadObject") != len(files) {
		t.Fatalf("result %+v, %d HeadObjects", res, f.Calls("HeadObject"))
	}
}
