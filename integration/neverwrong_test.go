package integration

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/s3up/s3up/integration/faultproxy"
	"github.com/s3up/s3up/integration/s3test"
)

// TestEditedInPlaceMtimeRestored (issue 15, item 1): a file edited in place
// after an interrupted upload, 4 KiB inside part 1 and away from the
// fingerprint samples, with its mtime restored (rsync --inplace -t, touch
// -r), must never be completed as a mix: the object is the file as it is now.
func TestEditedInPlaceMtimeRestored(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		src := s3test.MakeFile(t, t.TempDir(), 20*MiB, s3test.Seed(t))
		dst := "s3://" + bucket + "/edited"
		interruptAfter(t, srv.Env(), 2, "--part-size", "5MiB", src, dst)
		fi, err := os.Stat(src)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(src, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte(strings.Repeat("edited in place! ", 241)), 1*MiB); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(src, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
		if now, err := os.Stat(src); err != nil || !now.ModTime().Equal(fi.ModTime()) || now.Size() != fi.Size() {
			t.Fatalf("setup: size or mtime differ: %v", err)
		}
		res := mustPut(t, srv, "--json", "--part-size", "5MiB", src, dst)
		srv.AssertObjectMatchesFile(t, bucket, "edited", src)
		evs := jsonEvents(t, res.Stdout)
		started, rechecked := findEvent(evs, "started"), findEvent(evs, "rechecked")
		switch {
		case started != nil: // the ctime gave the edit away: a fresh upload
			if !strings.Contains(fmt.Sprint(started["reason"]), "changed") {
				t.Fatalf("fresh start without saying the source changed: %v", started)
			}
		case rechecked != nil: // the kept parts were re-read: part 1 changed
			if fmt.Sprint(rechecked["changed"]) != "[1]" {
				t.Fatalf("rechecked %v, want part 1 changed", rechecked)
			}
		default:
			t.Fatalf("neither a fresh start nor a re-check: %s", res.Stdout)
		}
		if sc := sidecars(t, srv, src); len(sc) != 0 {
			t.Fatalf("state left behind: %v", sc)
		}
	})
}

// TestCompleteAnswerLost (issue 15, item 2): the server completes the
// object but its answer is lost; the SDK's retry gets NoSuchUpload. The same
// run checks the object and ends with exit 0, verified, leaving nothing.
func TestCompleteAnswerLost(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		src := s3test.MakeFile(t, t.TempDir(), 12*MiB, s3test.Seed(t))
		isComplete := func(r *http.Request) bool { return r.Method == http.MethodPost && r.URL.Query().Has("uploadId") }
		proxy := newProxy(t, srv, faultproxy.Config{Match: isComplete})
		proxy.FailNext(faultproxy.DropResponse)
		res := s3test.RunCLI(t, t.Context(), proxyEnv(srv, proxy), "put", "--json", "--part-size", "5MiB", src, "s3://"+bucket+"/lost")
		if res.ExitCode != 0 {
			t.Fatalf("a lost Complete answer failed the run: %s", res)
		}
		if st := proxy.Stats(); st.Faults[faultproxy.DropResponse] != 1 {
			t.Fatalf("the answer was not dropped: %+v", st.Faults)
		}
		r := findEvent(jsonEvents(t, res.Stdout), "result")
		if r == nil || !strings.Contains(fmt.Sprint(r["verified"]), "size") {
			t.Fatalf("not verified: %s", res.Stdout)
		}
		srv.AssertObjectMatchesFile(t, bucket, "lost", src)
		if ups := srv.IncompleteUploads(t, bucket, "lost"); len(ups) != 0 {
			t.Fatalf("uploads left: %+v", ups)
		}
		if sc := sidecars(t, srv, src); len(sc) != 0 {
			t.Fatalf("state left behind: %v", sc)
		}
	})
}

// TestVerySlowLink (issue 15, item 3): --bwlimit 1KiB/s works (below
// 32 KiB/s every part used to fail with "exceeds limiter's burst").
func TestVerySlowLink(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		src := s3test.MakeFile(t, t.TempDir(), 3*1024, s3test.Seed(t))
		res := mustPut(t, srv, "--bwlimit", "1KiB/s", src, "s3://"+bucket+"/slow")
		srv.AssertObjectMatchesFile(t, bucket, "slow", src)
		// 3 KiB at 1 KiB/s with a 1 KiB burst cannot take less than 2 s: the
		// limit was applied, not skipped.
		if res.Duration < 2*time.Second {
			t.Fatalf("3 KiB at 1 KiB/s took %s", res.Duration)
		}
	})
}

// TestSameNameTwoSources (issue 15, item 4): two sources with one file name
// to one prefix are refused before anything is sent, naming both.
func TestSameNameTwoSources(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		dir := t.TempDir()
		var srcs []string
		for _, sub := range []string{"a", "b"} {
			if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, sub, "db.tar")
			if err := os.WriteFile(p, []byte(sub), 0o644); err != nil {
				t.Fatal(err)
			}
			srcs = append(srcs, p)
		}
		res := s3upRun(t, srv, "put", srcs[0], srcs[1], "s3://"+bucket+"/p/")
		if res.ExitCode != 2 {
			t.Fatalf("want exit 2: %s", res)
		}
		oneErrorLine(t, res, "would both be uploaded")
		if !strings.Contains(res.Stderr, srcs[0]) || !strings.Contains(res.Stderr, srcs[1]) {
			t.Fatalf("the error does not name both sources: %s", res)
		}
		if srv.ObjectExists(t, bucket, "p/db.tar") || len(srv.IncompleteUploads(t, bucket, "p/")) != 0 {
			t.Fatal("something was sent")
		}
	})
}

// TestLostAnswersEverywhere (issue 15, item 5): 20 uploads through a proxy
// that faults 30% of all requests (Create, UploadPart, ListParts, Complete,
// Head, listings), lost answers included (the server applied the request,
// the client saw a reset). Every object is byte-identical, and no upload of
// the runs is left behind: not even the first upload of a Create whose
// answer was lost and that the SDK retried.
func TestLostAnswersEverywhere(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		proxy := newProxy(t, srv, faultproxy.Config{Seed: seed, Rate: 0.3, Match: func(*http.Request) bool { return true },
			Faults: []faultproxy.Fault{faultproxy.DropResponse, faultproxy.DropResponse, faultproxy.SlowDown,
				faultproxy.InternalError, faultproxy.ResetMidBody}})
		dir := t.TempDir()
		for i := 0; i < 20; i++ {
			src := s3test.MakeFile(t, dir, 6*MiB+int64(i), seed+uint64(i))
			key := fmt.Sprintf("lossy/%02d", i)
			res := s3test.RunCLI(t, t.Context(), proxyEnv(srv, proxy), "put", "--part-size", "5MiB", src, "s3://"+bucket+"/"+key)
			if res.ExitCode != 0 {
				t.Fatalf("upload %d: %s", i, res)
			}
			srv.AssertObjectMatchesFile(t, bucket, key, src)
		}
		st := proxy.Stats()
		t.Logf("faults injected: %v over %d requests %v", st.Faults, st.Requests, st.ByMethod)
		if st.Faults[faultproxy.DropResponse] == 0 {
			t.Fatal("no answer was lost: the test tested nothing")
		}
		if ups := srv.IncompleteUploads(t, bucket, "lossy/"); len(ups) != 0 {
			var ids []string
			for _, u := range ups {
				ids = append(ids, u.Key+" "+u.UploadID)
			}
			t.Fatalf("%d uploads left behind: %v", len(ups), ids)
		}
	})
}
