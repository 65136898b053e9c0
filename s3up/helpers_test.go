package s3up

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/s3fake"
	"github.com/s3up/s3up/s3up/store"
)

const (
	testBucket  = "bkt"
	testPart    = 64 << 10 // parts of the engine tests (testUploader)
	testMinPart = 1 << 10  // the smallest part the engine tests' fake takes
)

func seeded(t *testing.T) *rand.Rand {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, seed>>1))
}

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// newFake returns a fake store with the test bucket, whose parts may be as
// small as testMinPart.
func newFake(opts ...s3fake.Option) *s3fake.Fake {
	f := s3fake.New(append([]s3fake.Option{s3fake.MinPartSize(testMinPart)}, opts...)...)
	f.CreateBucket(testBucket)
	return f
}

// testUploader returns an Uploader on f with its state in a temporary
// directory, parts of testPart bytes and no grace period.
func testUploader(t testing.TB, f *s3fake.Fake, opts Options) *Uploader {
	t.Helper()
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	if opts.PartSize == 0 {
		opts.PartSize, opts.PartSizeExplicit = testPart, true
	}
	if opts.Grace == 0 {
		opts.Grace = -1
	}
	if opts.MinPartSize == 0 {
		opts.MinPartSize = testMinPart
	}
	c := &store.Client{API: f, Info: store.ClientInfo{Endpoint: "http://fake.test", Region: "us-east-1", PathStyle: true}}
	return mustUploader(t, c, opts)
}

// mustUploader is NewUploader, failing the test on an error.
func mustUploader(t testing.TB, c *store.Client, opts Options) *Uploader {
	t.Helper()
	u, err := NewUploader(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// putSrc puts a test's source with the Uploader's options.
func (u *Uploader) putSrc(ctx context.Context, src seekable, bucket, key string) (*Result, error) {
	return u.put(ctx, src, bucket, key, u.opts)
}

// memSource is a source whose identity and bytes the test controls: it can
// change the bytes without the identity noticing, as a file edited in place
// on a filesystem without usable ctimes would.
type memSource struct {
	mu       sync.Mutex
	data     []byte
	id       resume.Source
	checkErr error
}

func newMemSource(data []byte) *memSource {
	return &memSource{data: data, id: resume.Source{Path: "/mem/source.bin", Size: int64(len(data)),
		ModTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Fingerprint: "mem"}}
}

func (m *memSource) ReadAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.NewReader(m.data).ReadAt(p, off)
}
func (m *memSource) Identity() resume.Source { return m.id }
func (m *memSource) Name() string            { return m.id.Path }
func (m *memSource) Check() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.checkErr
}

// edit overwrites bytes at off (the identity is left alone).
func (m *memSource) edit(off int, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	copy(m.data[off:], b)
}

func (m *memSource) bytes() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.data)
}

// writeFile writes data to a new file in dir.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// assertObject checks that the object at key holds want and that nothing
// of the upload is left: no incomplete upload, no state file.
func assertObject(t *testing.T, f *s3fake.Fake, u *Uploader, key string, want []byte) {
	t.Helper()
	o, ok := f.Object(testBucket, key)
	if !ok {
		t.Fatalf("no object at %s", key)
	}
	if !bytes.Equal(o.Data, want) {
		t.Fatalf("object %s differs from the source (%d vs %d bytes)", key, len(o.Data), len(want))
	}
	assertClean(t, f, u)
}

// assertClean checks that no upload and no state is left behind.
func assertClean(t *testing.T, f *s3fake.Fake, u *Uploader) {
	t.Helper()
	if ups := f.Uploads(testBucket); len(ups) != 0 {
		t.Fatalf("%d incomplete uploads left: %+v", len(ups), ups[0].ID)
	}
	if left := stateFiles(t, u); len(left) != 0 {
		t.Fatalf("state left behind: %v", left)
	}
}

func stateFiles(t *testing.T, u *Uploader) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(u.opts.StateDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	// What is remembered about the store is not an upload's state.
	return slices.DeleteFunc(m, func(p string) bool { return filepath.Base(p) == "stores.json" })
}

// events collects what a Put reports.
type events struct {
	mu  sync.Mutex
	all []Event
}

func (e *events) Event(ev Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

func find[T Event](e *events) (T, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.all {
		if v, ok := ev.(T); ok {
			return v, true
		}
	}
	var zero T
	return zero, false
}

func warnings(e *events) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.all {
		if w, ok := ev.(Warning); ok {
			out = append(out, w.Message)
		}
	}
	return out
}

// failPart makes UploadPart of part n fail (not applied) with err; other
// calls pass.
func failPart(f *s3fake.Fake, n int32, err error) {
	f.SetOnCall(func(_ context.Context, op string, in any) error {
		if p, ok := in.(*s3.UploadPartInput); ok && aws.ToInt32(p.PartNumber) == n {
			return err
		}
		return nil
	})
}

func mustPut(t *testing.T, u *Uploader, src seekable, key string) *Result {
	t.Helper()
	res, err := u.putSrc(context.Background(), src, testBucket, key)
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	return res
}

func errKind(err error) string {
	if k := store.KindOf(err); k != nil {
		return k.Error()
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	return fmt.Sprintf("no kind (%v)", err)
}

var _ io.ReaderAt = (*memSource)(nil)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
