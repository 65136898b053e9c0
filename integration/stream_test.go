package integration

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/s3up/s3up/integration/faultproxy"
	"github.com/s3up/s3up/integration/s3test"
)

// TestStreamPipes (issue 12): standard input of 0 B, 1 B, an uneven
// multi-part size and a large stream are stored byte-identical.
func TestStreamPipes(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		dir := t.TempDir()
		for _, size := range []int64{0, 1, 3*5*MiB + 12345, 200 * MiB} {
			t.Run(fmt.Sprint(size), func(t *testing.T) {
				src := s3test.MakeFile(t, dir, size, seed+uint64(size))
				f, err := os.Open(src)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				key := fmt.Sprintf("pipe/%d", size)
				// A pipe, not the file: os/exec copies a non-*os.File reader
				// through a pipe.
				res := s3test.RunCLIStdin(t, t.Context(), srv.Env(), struct{ *os.File }{f}, "put", "--json", "--part-size", "5MiB", "-", "s3://"+bucket+"/"+key)
				if res.ExitCode != 0 {
					t.Fatalf("put -: %s", res)
				}
				srv.AssertObjectMatchesFile(t, bucket, key, src)
				r := findEvent(jsonEvents(t, res.Stdout), "result")
				if r == nil || r["size"] != float64(size) || !strings.Contains(fmt.Sprint(r["verified"]), "size") {
					t.Fatalf("result %v", r)
				}
				if ups := srv.IncompleteUploads(t, bucket, key); len(ups) != 0 {
					t.Fatalf("uploads left: %+v", ups)
				}
			})
		}
	})
}

// TestStreamNeverTruncated (issue 12): a producer that exits non-zero, or a
// stream that ends at another size than --expected-size, leaves no object
// and no upload, and says why with exit 6.
func TestStreamNeverTruncated(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		src := s3test.MakeFile(t, t.TempDir(), 12*MiB+5, s3test.Seed(t))
		for _, tc := range []struct {
			name string
			args []string
			want string
		}{
			{"producer-fails", []string{"--stdin-from-command", "s3://" + bucket + "/failed", "--", "sh", "-c", "cat " + src + "; exit 3"}, "status 3"},
			{"producer-killed", []string{"--stdin-from-command", "s3://" + bucket + "/killed", "--", "sh", "-c", "cat " + src + "; kill -9 $$"}, "killed"},
			{"shorter-than-expected", []string{"--expected-size", fmt.Sprint(12*MiB + 6), "--stdin-from-command", "s3://" + bucket + "/short", "--", "cat", src}, "expected-size"},
			{"longer-than-expected", []string{"--expected-size", fmt.Sprint(12 * MiB), "--stdin-from-command", "s3://" + bucket + "/long", "--", "cat", src}, "expected-size"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := s3upRun(t, srv, append([]string{"put", "--part-size", "5MiB"}, tc.args...)...)
				if res.ExitCode != 6 {
					t.Fatalf("want exit 6 (a stream that ended badly): %s", res)
				}
				oneErrorLine(t, res, tc.want)
				key := strings.TrimPrefix(tc.args[slicesIndex(tc.args, "--")-1], "s3://"+bucket+"/")
				if srv.ObjectExists(t, bucket, key) {
					t.Fatal("an object was stored from a stream that ended badly")
				}
				if ups := srv.IncompleteUploads(t, bucket, key); len(ups) != 0 {
					t.Fatalf("uploads left: %+v", ups)
				}
			})
		}
	})
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// TestStreamResumeByContent (issue 12): a deterministic producer (cat of a
// file) killed with SIGKILL and run again re-sends only what the server
// does not hold (bytes counted at the proxy); run again with another stream
// the object is exactly the new stream.
func TestStreamResumeByContent(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		dir := t.TempDir()
		const size = 40*MiB + 321
		t.Run("same-stream", func(t *testing.T) {
			src := s3test.MakeFile(t, dir, size, seed)
			proxy := newProxy(t, srv, faultproxy.Config{})
			env := proxyEnv(srv, proxy)
			dst := "s3://" + bucket + "/same"
			interruptAfter(t, env, 3, "--part-size", "5MiB", "--stdin-from-command", dst, "--", "cat", src)
			// The killed run's last request is counted when the proxy sees
			// its end: wait for that before counting the rerun's bytes.
			if err := proxy.WaitIdle(30 * time.Second); err != nil {
				t.Fatal(err)
			}
			before := proxy.Stats().UploadPartBytes
			res := s3test.RunCLI(t, t.Context(), env, "put", "--json", "--part-size", "5MiB", "--stdin-from-command", dst, "--", "cat", src)
			if res.ExitCode != 0 {
				t.Fatalf("rerun: %s", res)
			}
			srv.AssertObjectMatchesFile(t, bucket, "same", src)
			r := findEvent(jsonEvents(t, res.Stdout), "result")
			skipped, _ := r["bytes_skipped"].(float64)
			sent := proxy.Stats().UploadPartBytes - before
			t.Logf("rerun skipped %.0f bytes, sent %d", skipped, sent)
			// Met for the first time, the store is asked whether it can
			// replace a part (two parts of one byte, on an upload of their
			// own, aborted): those bytes are the rerun's too.
			const probe = 2
			if skipped < 3*5*MiB || sent > size-int64(skipped)+probe {
				t.Fatalf("skipped %.0f, sent %d of %d: want at least the 3 parts acknowledged before the kill skipped, and only the rest sent", skipped, sent, size)
			}
			if ups := srv.IncompleteUploads(t, bucket, "same"); len(ups) != 0 {
				t.Fatalf("uploads left: %+v", ups)
			}
		})
		t.Run("other-stream", func(t *testing.T) {
			src := s3test.MakeFile(t, dir, size, seed+1)
			dst := "s3://" + bucket + "/other"
			interruptAfter(t, srv.Env(), 3, "--part-size", "5MiB", "--stdin-from-command", dst, "--", "cat", src)
			f, err := os.OpenFile(src, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte("the stream changed here"), 7*MiB); err != nil { // inside part 2
				t.Fatal(err)
			}
			f.Close()
			res := s3upRun(t, srv, "put", "--json", "--part-size", "5MiB", "--stdin-from-command", dst, "--", "cat", src)
			if res.ExitCode != 0 {
				t.Fatalf("rerun: %s", res)
			}
			srv.AssertObjectMatchesFile(t, bucket, "other", src)
			if r := findEvent(jsonEvents(t, res.Stdout), "result"); r["bytes_skipped"] != float64(5*MiB) {
				t.Fatalf("skipped %v, want exactly part 1", r["bytes_skipped"])
			}
		})
	})
}

// TestStreamThroughFaults (issue 12): a stream survives a proxy that faults
// 30% of part uploads: each part stays in memory until acknowledged, so the
// SDK's retries resend it.
func TestStreamThroughFaults(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		src := s3test.MakeFile(t, t.TempDir(), 60*MiB+9, seed)
		proxy := newProxy(t, srv, faultproxy.Config{Seed: seed, Rate: 0.3, StallFor: time.Minute,
			Faults: []faultproxy.Fault{faultproxy.SlowDown, faultproxy.InternalError, faultproxy.ResetMidBody, faultproxy.DropResponse, faultproxy.Stall}})
		proxy.FailNext(faultproxy.ResetMidBody, faultproxy.DropResponse)
		res := s3test.RunCLI(t, t.Context(), proxyEnv(srv, proxy), "put", "--part-size", "5MiB", "--stall-timeout", "2s",
			"--stdin-from-command", "s3://"+bucket+"/faulty", "--", "cat", src)
		if res.ExitCode != 0 {
			t.Fatalf("stream under faults: %s", res)
		}
		srv.AssertObjectMatchesFile(t, bucket, "faulty", src)
		t.Logf("faults %v", proxy.Stats().Faults)
	})
}

// TestStreamStatusAbort: status and abort know a stream's upload (- for
// standard input) as they know a file's.
func TestStreamStatusAbort(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		src := s3test.MakeFile(t, t.TempDir(), 30*MiB, s3test.Seed(t))
		dst := "s3://" + bucket + "/status"
		interruptAfter(t, srv.Env(), 2, "--part-size", "5MiB", "--stdin-from-command", dst, "--", "cat", src)
		res := s3upRun(t, srv, "status", "--stdin-from-command", dst, "--", "cat", src)
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, "upload ") || !strings.Contains(res.Stdout, "##") {
			t.Fatalf("status of the stream's upload: %s", res)
		}
		res = s3upRun(t, srv, "abort", "--stdin-from-command", dst, "--", "cat", src)
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, "aborted upload") {
			t.Fatalf("abort: %s", res)
		}
		if ups := srv.IncompleteUploads(t, bucket, "status"); len(ups) != 0 {
			t.Fatalf("uploads left: %+v", ups)
		}
		// Standard input is named "-": nothing in progress for it here.
		if res := s3upRun(t, srv, "status", "-", dst); res.ExitCode != 0 || !strings.Contains(res.Stdout, "nothing in progress") {
			t.Fatalf("status -: %s", res)
		}
	})
}
