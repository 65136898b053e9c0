package s3up

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/s3up/s3up/s3up/s3fake"
	"github.com/s3up/s3up/s3up/store"
)

// Issue 22: every store limitation ends in a completed upload or a clear,
// final message, never in a rerun that fails the same way forever.

// noListParts makes the fake answer ListParts as a store that does not
// implement it.
func noListParts(f *s3fake.Fake) {
	f.SetOnCall(func(_ context.Context, op string, _ any) error {
		if op == "ListParts" {
			return s3fake.APIError(op, 405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
		}
		return nil
	})
}

// TestNoListPartsStartsAgain: an interrupted upload on a store without
// ListParts cannot be reconciled: the rerun aborts it and uploads the file
// again, and learns it, so the next interrupted upload does not even ask.
func TestNoListPartsStartsAgain(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 5*testPart)
	f := newFake()
	u := testUploader(t, f, Options{Concurrency: 1})
	failPart(f, 3, s3fake.APIError("UploadPart", 500, "InternalError", "boom"))
	if _, err := u.putSrc(context.Background(), newMemSource(data), testBucket, "k"); !errors.Is(err, ErrTransient) {
		t.Fatalf("first run: %v", err)
	}
	noListParts(f)
	ev := &events{}
	u.opts.Listener = ev
	res := mustPut(t, u, newMemSource(data), "k")
	assertObject(t, f, u, "k", data)
	if res.Resumed || res.PartsSent != 5 {
		t.Fatalf("result %+v, want a new upload of all 5 parts", res)
	}
	if st, ok := find[Started](ev); !ok || !strings.Contains(st.Reason, "ListParts") {
		t.Fatalf("started %+v, want the reason naming ListParts", st)
	}
	if p := store.OpenProfiles(u.opts.StateDir).Get("http://fake.test"); !p.NoListParts {
		t.Fatalf("profile %+v", p)
	}
	// Learned: the next resume does not call ListParts at all.
	failPart(f, 2, s3fake.APIError("UploadPart", 500, "InternalError", "boom"))
	if _, err := u.putSrc(context.Background(), newMemSource(data), testBucket, "k2"); !errors.Is(err, ErrTransient) {
		t.Fatalf("interrupted run: %v", err)
	}
	noListParts(f)
	f.ResetCounters()
	mustPut(t, u, newMemSource(data), "k2")
	assertObject(t, f, u, "k2", data)
	if n := f.Calls("ListParts"); n != 0 {
		t.Fatalf("ListParts called %d times on a store known not to have it", n)
	}
}

// TestNoListPartsStream: the same for a stream.
func TestNoListPartsStream(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 5*testPart+3)
	f := newFake()
	u := testUploader(t, f, Options{Concurrency: 1})
	failPart(f, 3, s3fake.APIError("UploadPart", 500, "InternalError", "boom"))
	if _, err := u.PutStream(context.Background(), testStream(data), testBucket, "s"); !errors.Is(err, ErrTransient) {
		t.Fatalf("first run: %v", err)
	}
	noListParts(f)
	if _, err := u.PutStream(context.Background(), testStream(data), testBucket, "s"); err != nil {
		t.Fatal(err)
	}
	assertObject(t, f, u, "s", data)
}

// TestPartReplaceRefusedFile: a file edited in place after an interrupted
// upload has a kept part to send again; a store that cannot replace a part
// refuses it, and the run starts a new upload and completes.
func TestPartReplaceRefusedFile(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 4*testPart)
	f := newFake(s3fake.NoPartReplace())
	u := testUploader(t, f, Options{Concurrency: 1})
	failPart(f, 3, s3fake.APIError("UploadPart", 500, "InternalError", "boom"))
	src := newMemSource(data)
	if _, err := u.putSrc(context.Background(), src, testBucket, "k"); !errors.Is(err, ErrTransient) {
		t.Fatalf("first run: %v", err)
	}
	f.SetOnCall(nil)
	src.edit(10, []byte("edited in place"))
	res := mustPut(t, u, src, "k")
	assertObject(t, f, u, "k", src.bytes())
	if res.Resumed {
		t.Fatalf("result %+v, want a new upload", res)
	}
	if p := store.OpenProfiles(u.opts.StateDir).Get("http://fake.test"); !p.RefusesPartReplace {
		t.Fatalf("profile %+v", p)
	}
}

// TestPartReplaceRefusedStream: an interrupted stream read again may differ
// from a part on, and the parts before it are not kept. Before a stream is
// resumed, whether the store can replace a part is tried once (a throwaway
// upload); a store that cannot gets a new upload for the stream, which
// completes in that same run, whichever part differs. Had nobody asked, a
// stream differing from its first part is still sent again from memory.
func TestPartReplaceRefusedStream(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	data := randomBytes(r, 5*testPart+9)
	interrupted := func(t *testing.T, f *s3fake.Fake, u *Uploader) {
		t.Helper()
		failPart(f, 4, s3fake.APIError("UploadPart", 500, "InternalError", "boom"))
		if _, err := u.PutStream(context.Background(), testStream(data), testBucket, "s"); !errors.Is(err, ErrTransient) {
			t.Fatalf("interrupted run: %v", err)
		}
		f.SetOnCall(nil)
	}
	changedAt := func(part int) []byte {
		b := bytes.Clone(data)
		b[(part-1)*testPart+5] ^= 0xff
		return b
	}
	for _, part := range []int{1, 2, 3} {
		f := newFake(s3fake.NoPartReplace())
		u := testUploader(t, f, Options{Concurrency: 1})
		interrupted(t, f, u)
		changed := changedAt(part)
		if _, err := u.PutStream(context.Background(), testStream(changed), testBucket, "s"); err != nil {
			t.Fatalf("changed at part %d: %v", part, err)
		}
		assertObject(t, f, u, "s", changed)
		if p := store.OpenProfiles(u.opts.StateDir).Get("http://fake.test"); !p.RefusesPartReplace {
			t.Fatalf("profile %+v", p)
		}
	}
	t.Run("the refusal met without the probe", func(t *testing.T) {
		// Known to replace parts (wrongly): the stream is resumed into the
		// old upload and the refusal comes at the first part that differs.
		knownToReplace := func(t *testing.T) (*s3fake.Fake, *Uploader) {
			dir := t.TempDir()
			store.OpenProfiles(dir).Learn("http://fake.test", "test", func(p *store.Profile) { p.PartReplaceKnown = true })
			f := newFake(s3fake.NoPartReplace())
			u := testUploader(t, f, Options{Concurrency: 1, StateDir: dir})
			interrupted(t, f, u)
			return f, u
		}
		f, u := knownToReplace(t)
		changed := changedAt(1)
		if _, err := u.PutStream(context.Background(), testStream(changed), testBucket, "s"); err != nil {
			t.Fatal(err)
		}
		assertObject(t, f, u, "s", changed)
		f, u = knownToReplace(t)
		changed = changedAt(2)
		_, err := u.PutStream(context.Background(), testStream(changed), testBucket, "s")
		if !errors.Is(err, ErrTransient) || !strings.Contains(err.Error(), "part 2") || !strings.Contains(err.Error(), "new upload") {
			t.Fatalf("err %v", err)
		}
		assertClean(t, f, u)
		if _, err := u.PutStream(context.Background(), testStream(changed), testBucket, "s"); err != nil {
			t.Fatal(err)
		}
		assertObject(t, f, u, "s", changed)
	})
}
