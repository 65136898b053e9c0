package s3up

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/s3fake"
)

// TestSupersededUploadsAreAborted (issue 24): when an upload to a key
// completes, an interrupted upload of another source to the same key that
// the state directory recorded is aborted and its journal removed, whether
// the rerun is the same Uploader or a new one (a new process); one another
// s3up holds, and one to another key, are left alone.
func TestSupersededUploadsAreAborted(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 4*testPart)
	other := randomBytes(seeded(t), 3*testPart+5)
	fileAt := func(path string, b []byte) *memSource {
		m := newMemSource(b)
		m.id.Path = path
		return m
	}
	// interrupt leaves an upload of the source put makes to key.
	interrupt := func(t *testing.T, f *s3fake.Fake, u *Uploader, put func() error) {
		t.Helper()
		failPart(f, 2, s3fake.APIError("UploadPart", 500, "InternalError", "x"))
		if err := put(); !errors.Is(err, ErrTransient) {
			t.Fatalf("interrupted run: %v", err)
		}
		f.SetOnCall(nil)
		if len(f.Uploads(testBucket)) != 1 || len(journals(t, u)) != 1 {
			t.Fatalf("after the interrupted run: %d uploads, journals %v", len(f.Uploads(testBucket)), journals(t, u))
		}
	}
	for _, newRun := range []bool{false, true} {
		name := map[bool]string{false: "same-uploader", true: "new-uploader"}[newRun]
		rerun := func(t *testing.T, f *s3fake.Fake, u *Uploader) (*Uploader, *events) {
			ev := &events{}
			if newRun {
				u = testUploader(t, f, Options{StateDir: u.opts.StateDir, Concurrency: 1})
			}
			u.opts.Listener = ev
			return u, ev
		}
		t.Run(name+"/file-then-other-file", func(t *testing.T) {
			f := newFake()
			u := testUploader(t, f, Options{Concurrency: 1})
			interrupt(t, f, u, func() error {
				_, err := u.putSrc(context.Background(), fileAt("/mem/old.bin", data), testBucket, "k")
				return err
			})
			old := f.Uploads(testBucket)[0].ID
			u, ev := rerun(t, f, u)
			mustPut(t, u, fileAt("/mem/new.bin", other), "k")
			assertObject(t, f, u, "k", other)
			s, ok := find[Superseded](ev)
			if !ok || s.UploadID != old || s.Source != "/mem/old.bin" || s.Ref().Key != "k" {
				t.Fatalf("superseded event %+v (found %v), want upload %s of /mem/old.bin", s, ok, old)
			}
		})
		t.Run(name+"/stream-then-other-command", func(t *testing.T) {
			f := newFake()
			u := testUploader(t, f, Options{Concurrency: 1})
			interrupt(t, f, u, func() error {
				st := testStream(data)
				st.ID = "command pg_dump a"
				_, err := u.PutStream(context.Background(), st, testBucket, "k")
				return err
			})
			u, ev := rerun(t, f, u)
			st := testStream(other)
			st.ID = "command pg_dump b"
			if _, err := u.PutStream(context.Background(), st, testBucket, "k"); err != nil {
				t.Fatal(err)
			}
			assertObject(t, f, u, "k", other)
			if s, ok := find[Superseded](ev); !ok || s.Source != "command pg_dump a" {
				t.Fatalf("superseded event %+v (found %v)", s, ok)
			}
		})
		t.Run(name+"/small-file-after-stream", func(t *testing.T) {
			// The new object is one PutObject: it supersedes all the same.
			f := newFake()
			u := testUploader(t, f, Options{Concurrency: 1})
			interrupt(t, f, u, func() error {
				_, err := u.PutStream(context.Background(), testStream(data), testBucket, "k")
				return err
			})
			u, _ = rerun(t, f, u)
			small := other[:100]
			mustPut(t, u, fileAt("/mem/small.bin", small), "k")
			assertObject(t, f, u, "k", small)
		})
	}
	t.Run("held-and-elsewhere-left-alone", func(t *testing.T) {
		f := newFake()
		u := testUploader(t, f, Options{Concurrency: 1})
		interrupt(t, f, u, func() error {
			_, err := u.putSrc(context.Background(), fileAt("/mem/old.bin", data), testBucket, "k")
			return err
		})
		held, err := resume.Lock(journals(t, u)[0])
		if err != nil {
			t.Fatal(err)
		}
		defer held.Close()
		failPart(f, 2, s3fake.APIError("UploadPart", 500, "InternalError", "x"))
		if _, err := u.putSrc(context.Background(), fileAt("/mem/other-key.bin", data), testBucket, "k2"); !errors.Is(err, ErrTransient) {
			t.Fatalf("interrupted run to k2: %v", err)
		}
		f.SetOnCall(nil)
		u2, ev := testUploader(t, f, Options{StateDir: u.opts.StateDir, Concurrency: 1}), &events{}
		u2.opts.Listener = ev
		mustPut(t, u2, fileAt("/mem/new.bin", other), "k")
		if _, ok := find[Superseded](ev); ok {
			t.Fatal("an upload held by a running s3up was superseded")
		}
		if n := len(f.Uploads(testBucket)); n != 2 || len(journals(t, u)) != 2 {
			t.Fatalf("%d uploads, journals %v: want the held one (k) and the other key's (k2)", n, journals(t, u))
		}
	})
}

// journals lists the upload journals in u's state directory.
func journals(t *testing.T, u *Uploader) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(u.opts.StateDir, "*"+journalSuffix))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m {
		if _, err := os.Stat(p); err != nil {
			t.Fatal(err)
		}
	}
	return m
}
