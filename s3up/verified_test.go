package s3up

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/s3fake"
	"github.com/s3up/s3up/s3up/store"
)

// Issue 22: no damaged object is ever reported done. Each test puts a part
// damaged on the way (s3fake.Corrupt) into a store that does not notice,
// and requires the object to be the source, or the run to fail with no
// object left that a later run could trust.

// TestLaxStoreDamagedFirstPartIsSentAgain: a gateway that accepts any
// checksum without checking it, shows none, and has MD5 ETags. The first
// part goes before anything is known of the store and arrives damaged; its
// ETag is not its MD5, which proves nothing until a later part's ETag is
// seen to be its MD5: then, before Complete, the first part is sent again.
func TestLaxStoreDamagedFirstPartIsSentAgain(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 4*testPart+100)
	f := newFake(s3fake.IgnoreChecksums())
	f.FailNext("UploadPart", s3fake.Corrupt)
	ev := &events{}
	u := testUploader(t, f, Options{Concurrency: 1, Listener: ev})
	res := mustPut(t, u, newMemSource(data), "k")
	assertObject(t, f, u, "k", data)
	if res.PartsSent != 6 || f.Calls("UploadPart") != 6 {
		t.Fatalf("sent %d parts in %d calls, want the damaged one sent again (6)", res.PartsSent, f.Calls("UploadPart"))
	}
	if !strings.Contains(res.Verified, "multipart ETag") || res.Verification == nil || !res.Verification.Content {
		t.Fatalf("verified %q %+v, want the multipart ETag built from the MD5s sent", res.Verified, res.Verification)
	}
	if !strings.Contains(strings.Join(warnings(ev), "\n"), "damaged on the way") {
		t.Fatalf("the re-sent part was not explained: %v", warnings(ev))
	}
	// The next upload to the store knows: every part carries Content-MD5,
	// which this store checks, so a damaged part is refused at once.
	in := &captured{}
	f.SetOnCall(in.hook)
	mustPut(t, u, newMemSource(data), "k2")
	if in.missingMD5 != 0 {
		t.Fatalf("%d parts went without Content-MD5 to a store known to show no checksum", in.missingMD5)
	}
}

type captured struct{ missingMD5 int }

func (c *captured) hook(_ context.Context, op string, in any) error {
	if p, ok := in.(*s3.UploadPartInput); ok && p.ContentMD5 == nil {
		c.missingMD5++
	}
	return nil
}

// TestMD5ChecksumOnStoreIgnoringContentMD5: with --checksum md5 on a store
// that ignores Content-MD5, the multipart ETag built from the server's part
// ETags would "verify" a damaged object; built from the MD5s sent it does
// not, and the damaged part is sent again.
func TestMD5ChecksumOnStoreIgnoringContentMD5(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 3*testPart)
	f := newFake(s3fake.IgnoreContentMD5())
	f.FailNext("UploadPart", s3fake.Corrupt)
	u := testUploader(t, f, Options{Concurrency: 1, Checksum: checksum.MD5})
	res := mustPut(t, u, newMemSource(data), "k")
	assertObject(t, f, u, "k", data)
	if res.PartsSent != 4 || !strings.Contains(res.Verified, "multipart ETag") {
		t.Fatalf("sent %d parts, verified %q", res.PartsSent, res.Verified)
	}
}

// TestBlindStoreDamageIsFoundByReadingBack: a store that checks nothing and
// whose ETags are not MD5s proves nothing about an object: the object is
// read back. A damaged part then fails verification, the object is
// deleted, and the rerun uploads it again.
func TestBlindStoreDamageIsFoundByReadingBack(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 3*testPart+7)
	f := newFake(s3fake.IgnoreChecksums(), s3fake.IgnoreContentMD5(), s3fake.OpaqueETags())
	f.FailNext("UploadPart", s3fake.Fault{}, s3fake.Corrupt)
	ev := &events{}
	u := testUploader(t, f, Options{Concurrency: 1, Listener: ev})
	_, err := u.putSrc(context.Background(), newMemSource(data), testBucket, "k")
	if !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), "part 2") || !strings.Contains(err.Error(), "deleted") {
		t.Fatalf("err %v, want a verification failure naming part 2 and the deletion", err)
	}
	if _, ok := f.Object(testBucket, "k"); ok {
		t.Fatal("the damaged object was left at the key")
	}
	assertClean(t, f, u)
	res := mustPut(t, u, newMemSource(data), "k")
	assertObject(t, f, u, "k", data)
	if v := res.Verification; v == nil || !v.ReadBack || !v.Content || res.BytesReadBack != int64(len(data)) {
		t.Fatalf("verification %+v, %d bytes read back", res.Verification, res.BytesReadBack)
	}
	if p := store.OpenProfiles(u.opts.StateDir).Get("http://fake.test"); !p.ReadsBack {
		t.Fatalf("that the store must be read back was not learned: %+v", p)
	}
}

// TestSizeOnlyIsAChoice: VerifySize never reads back, and says that only
// the size was compared.
func TestSizeOnlyIsAChoice(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 2*testPart+7)
	f := newFake(s3fake.IgnoreChecksums(), s3fake.OpaqueETags())
	ev := &events{}
	u := testUploader(t, f, Options{Listener: ev, Verify: VerifySize})
	res := mustPut(t, u, newMemSource(data), "k")
	if f.Calls("GetObject") != 0 || res.Verification == nil || res.Verification.Content || res.Verified != "size" {
		t.Fatalf("GetObject %d, verification %+v", f.Calls("GetObject"), res.Verification)
	}
	if v, ok := find[Verified](ev); !ok || v.Content {
		t.Fatalf("verified event %+v", v)
	}
}

// TestStoreComputingAnotherAlgorithm: a store that computes a CRC32 of
// every part whatever it is asked for: the parts are proven by a local
// CRC32, the object by its CRC32 composite, and the next upload sends CRC32.
func TestStoreComputingAnotherAlgorithm(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 3*testPart+5)
	f := newFake(s3fake.OwnChecksum(types.ChecksumAlgorithmCrc32))
	ev := &events{}
	u := testUploader(t, f, Options{Listener: ev})
	res := mustPut(t, u, newMemSource(data), "k")
	assertObject(t, f, u, "k", data)
	if !strings.Contains(res.Verified, "CRC32 checksum") {
		t.Fatalf("verified %q, want the store's CRC32 composite compared", res.Verified)
	}
	if p := store.OpenProfiles(u.opts.StateDir).Get("http://fake.test"); p.OwnChecksum != "crc32" {
		t.Fatalf("profile %+v", p)
	}
	var sent types.ChecksumAlgorithm
	f.SetOnCall(func(_ context.Context, op string, in any) error {
		if p, ok := in.(*s3.UploadPartInput); ok {
			sent = p.ChecksumAlgorithm
		}
		return nil
	})
	res = mustPut(t, u, newMemSource(data), "k2")
	if sent != types.ChecksumAlgorithmCrc32 || !strings.Contains(res.Verified, "CRC32 checksum") {
		t.Fatalf("second upload sent %q, verified %q", sent, res.Verified)
	}
}

// TestUntrustedObjectIsMarked: an object that fails verification and
// cannot be deleted is put on the distrust list; the message says so.
func TestUntrustedObjectIsMarked(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 2*testPart+1)
	f := newFake(s3fake.IgnoreChecksums(), s3fake.IgnoreContentMD5(), s3fake.OpaqueETags())
	f.FailNext("UploadPart", s3fake.Corrupt)
	f.FailNext("DeleteObject", s3fake.RefuseAPI(403, "AccessDenied", "Access Denied"))
	u := testUploader(t, f, Options{Concurrency: 1})
	_, err := u.putSrc(context.Background(), newMemSource(data), testBucket, "k")
	if !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), "marked as untrusted") {
		t.Fatalf("err %v", err)
	}
	o, ok := f.Object(testBucket, "k")
	if !ok || bytes.Equal(o.Data, data) {
		t.Fatal("setup: the damaged object should be at the key")
	}
	if _, bad := u.distrust().Distrusted(u.dest("k"), o.ETag); !bad {
		t.Fatal("the object is not on the distrust list")
	}
}

// dest is the destination of key in the test bucket.
func (u *Uploader) dest(key string) resume.Destination {
	return resume.Destination{Endpoint: u.client.Info.Endpoint, Bucket: testBucket, Key: key}
}

// TestUnchangedFileIsNotSentAgain (issue 23): a rerun of a finished put
// sends nothing when the object has the file's size and stored mtime; Force
// sends it again, and so does a changed mtime; ChecksumCompare looks at the
// content instead. For small files (one PutObject) and multipart ones.
func TestUnchangedFileIsNotSentAgain(t *testing.T) {
	t.Parallel()
	for _, size := range []int{100, 3*testPart + 1} {
		data := randomBytes(seeded(t), size)
		f := newFake()
		ev := &events{}
		u := testUploader(t, f, Options{Listener: ev})
		mustPut(t, u, newMemSource(data), "k")
		sent := func() int64 { return f.BytesReceivedBy("UploadPart") + f.BytesReceivedBy("PutObject") }
		f.ResetCounters()
		res := mustPut(t, u, newMemSource(data), "k")
		if !res.Unchanged || sent() != 0 || res.BytesSent != 0 {
			t.Fatalf("%d bytes: rerun %+v, %d bytes sent", size, res, sent())
		}
		if _, ok := find[Unchanged](ev); !ok {
			t.Fatalf("%d bytes: no unchanged event", size)
		}
		u.opts.Force = true
		if res := mustPut(t, u, newMemSource(data), "k"); res.Unchanged || sent() != int64(size) {
			t.Fatalf("%d bytes: Force sent %d bytes: %+v", size, sent(), res)
		}
		u.opts.Force = false
		f.ResetCounters()
		touched := newMemSource(data)
		touched.id.ModTime = touched.id.ModTime.Add(time.Second)
		if res := mustPut(t, u, touched, "k"); res.Unchanged || sent() != int64(size) {
			t.Fatalf("%d bytes: a new mtime sent %d bytes: %+v", size, sent(), res)
		}
		f.ResetCounters()
		u.opts.ChecksumCompare = true
		touched.id.ModTime = touched.id.ModTime.Add(time.Second)
		if res := mustPut(t, u, touched, "k"); !res.Unchanged || sent() != 0 {
			t.Fatalf("%d bytes: the same content with ChecksumCompare sent %d bytes: %+v", size, sent(), res)
		}
	}
}

// TestUntrustedObjectIsUploadedAgain (issue 22): an object that failed
// verification and could not be deleted has the file's size and mtime; the
// rerun must not take it for unchanged, and once the file is stored and
// verified the object is trusted again.
func TestUntrustedObjectIsUploadedAgain(t *testing.T) {
	t.Parallel()
	for _, size := range []int{100, 2*testPart + 1} {
		data := randomBytes(seeded(t), size)
		f := newFake(s3fake.IgnoreChecksums(), s3fake.IgnoreContentMD5(), s3fake.OpaqueETags())
		op := "UploadPart"
		if size < testPart {
			op = "PutObject"
		}
		f.FailNext(op, s3fake.Corrupt)
		f.FailNext("DeleteObject", s3fake.RefuseAPI(403, "AccessDenied", "Access Denied"))
		u := testUploader(t, f, Options{Concurrency: 1})
		if _, err := u.putSrc(context.Background(), newMemSource(data), testBucket, "k"); !errors.Is(err, ErrVerify) {
			t.Fatalf("%d bytes: first run %v", size, err)
		}
		res := mustPut(t, u, newMemSource(data), "k")
		assertObject(t, f, u, "k", data)
		if res.Unchanged || res.BytesSent != int64(size) {
			t.Fatalf("%d bytes: rerun %+v", size, res)
		}
		o, _ := f.Object(testBucket, "k")
		if _, bad := u.distrust().Distrusted(u.dest("k"), o.ETag); bad {
			t.Fatalf("%d bytes: still distrusted", size)
		}
		if res := mustPut(t, u, newMemSource(data), "k"); !res.Unchanged {
			t.Fatalf("%d bytes: the verified object is not taken as unchanged: %+v", size, res)
		}
	}
}

// TestResumeResendsKeptPartStoredDamaged: a part stored damaged (on a store
// that checks nothing, with MD5 ETags) and journalled, then the run is
// interrupted: the resume re-reads the kept parts and, the store's ETags
// being MD5s, finds that part's ETag is not the MD5 of the file's bytes:
// it is sent again, and the object is the file.
func TestResumeResendsKeptPartStoredDamaged(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 5*testPart)
	f := newFake(s3fake.IgnoreChecksums(), s3fake.IgnoreContentMD5())
	u := testUploader(t, f, Options{Concurrency: 1})
	f.FailNext("UploadPart", s3fake.Fault{}, s3fake.Corrupt)
	var calls int
	f.SetOnCall(func(_ context.Context, op string, _ any) error {
		if op == "UploadPart" {
			if calls++; calls == 3 {
				return s3fake.APIError(op, 500, "InternalError", "boom")
			}
		}
		return nil
	})
	if _, err := u.putSrc(context.Background(), newMemSource(data), testBucket, "k"); !errors.Is(err, ErrTransient) {
		t.Fatalf("first run: %v", err)
	}
	f.SetOnCall(nil)
	res := mustPut(t, u, newMemSource(data), "k")
	assertObject(t, f, u, "k", data)
	if res.PartsKept != 1 || res.PartsSent != 4 {
		t.Fatalf("kept %d, sent %d: want part 1 kept and the damaged part 2 sent again", res.PartsKept, res.PartsSent)
	}
}
