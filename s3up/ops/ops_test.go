package ops

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up"
	"github.com/s3up/s3up/s3up/s3fake"
	"github.com/s3up/s3up/s3up/store"
)

// clock is a settable time for the fake.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) get() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

func create(t *testing.T, f *s3fake.Fake, key string) string {
	t.Helper()
	out, err := f.CreateMultipartUpload(context.Background(), &s3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.UploadId)
}

func putPart(t *testing.T, f *s3fake.Fake, key, id string, n int32, data []byte) {
	t.Helper()
	if _, err := f.UploadPart(context.Background(), &s3.UploadPartInput{Bucket: aws.String("bkt"), Key: aws.String(key), UploadId: aws.String(id),
		PartNumber: aws.Int32(n), Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data)))}); err != nil {
		t.Fatal(err)
	}
}

// TestGCJudgesIdleness (review 2.3): gc aborts uploads idle since before the
// cutoff, judged by their newest part, never one that keeps receiving parts
// although it started long ago, and never one this host's journal records.
func TestGCJudgesIdleness(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &clock{now: t0}
	f := s3fake.New(s3fake.Clock(c.get))
	f.CreateBucket("bkt")
	stale := create(t, f, "p/stale")
	putPart(t, f, "p/stale", stale, 1, []byte("old part"))
	longRunning := create(t, f, "p/long")
	putPart(t, f, "p/long", longRunning, 1, []byte("first night"))
	empty := create(t, f, "p/empty")
	local := create(t, f, "p/local")
	c.set(t0.Add(10 * 24 * time.Hour))
	putPart(t, f, "p/long", longRunning, 2, []byte("tenth night")) // still being driven
	young := create(t, f, "p/young")

	stateDir := t.TempDir()
	sc, err := resume.Lock(filepath.Join(stateDir, "x.s3up"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Create(resume.Header{UploadID: local, Destination: resume.Destination{Bucket: "bkt", Key: "p/local"},
		Source: resume.Source{Path: "/x", Size: 10}, PartSize: 5 << 20, PartCount: 1}); err != nil {
		t.Fatal(err)
	}
	sc.Close()

	cutoff := t0.Add(7 * 24 * time.Hour)
	for _, dry := range []bool{true, false} {
		res, err := GC(context.Background(), f, "bkt", "p/", cutoff, stateDir, dry)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range res.Aborted {
			got = append(got, u.UploadID)
		}
		if len(got) != 2 || !contains(got, stale) || !contains(got, empty) {
			t.Fatalf("dry %v: aborted %v; want only the stale and the empty upload", dry, got)
		}
		if res.Kept != 2 || len(res.Local) != 1 || res.Local[0].UploadID != local {
			t.Fatalf("dry %v: kept %d, local %+v", dry, res.Kept, res.Local)
		}
	}
	left := map[string]bool{}
	for _, u := range f.Uploads("bkt") {
		left[u.ID] = true
	}
	if len(left) != 3 || !left[longRunning] || !left[young] || !left[local] {
		t.Fatalf("left %v", left)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func testClient(f *s3fake.Fake) *store.Client {
	return &store.Client{API: f, Info: store.ClientInfo{Endpoint: "http://fake.test"}}
}

// TestAbortWithoutStateNeedsAll (review 2.4): without a journal, abort does
// not know which of the key's uploads is this source's: it refuses and names
// them, and --all aborts them all.
func TestAbortWithoutStateNeedsAll(t *testing.T) {
	f := s3fake.New()
	f.CreateBucket("bkt")
	a, b := create(t, f, "k"), create(t, f, "k")
	create(t, f, "k2")
	src := filepath.Join(t.TempDir(), "f")
	os.WriteFile(src, []byte("x"), 0o644)
	_, err := Abort(context.Background(), testClient(f), src, "bkt", "k", t.TempDir(), false)
	if !errors.Is(err, s3up.ErrBadInput) || !strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), b) {
		t.Fatalf("err %v", err)
	}
	if n := len(f.Uploads("bkt")); n != 3 {
		t.Fatalf("%d uploads left after a refused abort", n)
	}
	res, err := Abort(context.Background(), testClient(f), src, "bkt", "k", t.TempDir(), true)
	if err != nil || len(res.Aborted) != 2 {
		t.Fatalf("--all: %+v %v", res, err)
	}
	if ups := f.Uploads("bkt"); len(ups) != 1 || ups[0].Key != "k2" {
		t.Fatalf("left %+v", ups)
	}
}

// TestStatusShowsPartVersions: on a store that keeps several uploads of a
// part number, status says so, and maps the part by the journalled version.
func TestStatusShowsPartVersions(t *testing.T) {
	f := s3fake.New(s3fake.PartVersions(), s3fake.MinPartSize(0))
	f.CreateBucket("bkt")
	dir := t.TempDir()
	src := filepath.Join(dir, "f.bin")
	data := bytes.Repeat([]byte("d"), 2*(5<<20))
	os.WriteFile(src, data, 0o644)
	id := create(t, f, "k")
	putPart(t, f, "k", id, 1, data[:5<<20])
	putPart(t, f, "k", id, 1, bytes.Repeat([]byte("e"), 5<<20)) // a stale second version
	ident, err := resume.StatSource(src)
	if err != nil {
		t.Fatal(err)
	}
	dest := resume.Destination{Endpoint: "http://fake.test", Bucket: "bkt", Key: "k"}
	var etag string
	for _, p := range f.Uploads("bkt")[0].Parts {
		if bytes.Equal(p.Data, data[:5<<20]) {
			etag = p.ETag
		}
	}
	stateDir := t.TempDir()
	sc, err := resume.Lock(resume.SidecarPath(stateDir, ident.Path, dest))
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Create(resume.Header{UploadID: id, Destination: dest, Source: ident, PartSize: 5 << 20, PartCount: 2}); err != nil {
		t.Fatal(err)
	}
	if err := sc.Append(resume.Part{Number: 1, Size: 5 << 20, ETag: etag}); err != nil {
		t.Fatal(err)
	}
	sc.Close()
	rep, err := Status(context.Background(), testClient(f), src, "bkt", "k", stateDir)
	if err != nil {
		t.Fatal(err)
	}
	u := rep.Upload
	if u == nil || u.Parts[0].State != PartSent || u.Parts[0].Versions != 2 || u.MultiVersion() != 1 || u.Parts[1].State != PartPending {
		t.Fatalf("status %+v", u)
	}
}

// TestUploadsOnLimitedStores (issue 22): a store that answers NoSuchUpload
// for a bucket with no upload has an empty list; one without
// ListMultipartUploads says so in one line; one without ListParts lists its
// uploads with their parts unknown.
func TestUploadsOnLimitedStores(t *testing.T) {
	answer := func(op string, status int, code, msg string) s3fake.Hook {
		return func(_ context.Context, o string, _ any) error {
			if o == op {
				return s3fake.APIError(o, status, code, msg)
			}
			return nil
		}
	}
	f := s3fake.New(s3fake.OnCall(answer("ListMultipartUploads", 404, "NoSuchUpload", "The specified multipart upload does not exist.")))
	f.CreateBucket("bkt")
	if ups, err := ListUploads(context.Background(), f, "bkt", ""); err != nil || len(ups) != 0 {
		t.Fatalf("NoSuchUpload for an empty bucket: %v, %v", ups, err)
	}
	f.SetOnCall(answer("ListMultipartUploads", 501, "NotImplemented", "A header you provided implies functionality that is not implemented"))
	_, err := ListUploads(context.Background(), f, "bkt", "")
	var un *store.UnsupportedError
	if !errors.As(err, &un) || !errors.Is(err, s3up.ErrBadInput) || !strings.Contains(store.Describe(err), "does not implement ListMultipartUploads") {
		t.Fatalf("no ListMultipartUploads: %v (%s)", err, store.Describe(err))
	}
	f.SetOnCall(nil)
	id := create(t, f, "k")
	putPart(t, f, "k", id, 1, []byte("a part"))
	f.SetOnCall(answer("ListParts", 405, "MethodNotAllowed", "The specified method is not allowed against this resource."))
	ups, err := ListUploads(context.Background(), f, "bkt", "")
	if err != nil || len(ups) != 1 || !ups[0].PartsUnknown || ups[0].UploadID != id {
		t.Fatalf("no ListParts: %+v, %v", ups, err)
	}
}
