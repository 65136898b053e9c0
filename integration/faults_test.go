package integration

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/s3up/s3up/integration/faultproxy"
	"github.com/s3up/s3up/integration/s3test"
)

// TestFaultRates uploads 128 MiB through a proxy that answers a share of
// part uploads with 503 SlowDown, 500 InternalError, a 200 whose body is an
// error, a connection reset mid-body, or a stall. The SDK's retries (which
// reread each part from the file) must carry the upload to a byte-identical
// object.
func TestFaultRates(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		src := s3test.MakeFile(t, t.TempDir(), 128*MiB, seed)
		for _, rate := range []float64{0.10, 0.30} {
			t.Run(fmt.Sprintf("rate-%.0f%%", rate*100), func(t *testing.T) {
				proxy := newProxy(t, srv, faultproxy.Config{Seed: seed, Rate: rate, StallFor: time.Minute,
					Faults: []faultproxy.Fault{faultproxy.SlowDown, faultproxy.InternalError, faultproxy.Error200,
						faultproxy.ResetMidBody, faultproxy.Stall}})
				// At least one of each, whatever the seed draws after.
				proxy.FailNext(faultproxy.ResetMidBody, faultproxy.Error200, faultproxy.SlowDown)
				key := fmt.Sprintf("faults-%.0f", rate*100)
				start := time.Now()
				res := s3test.RunCLI(t, t.Context(), proxyEnv(srv, proxy), "put", "--json", "--part-size", "5MiB",
					"--stall-timeout", "2s", src, "s3://"+bucket+"/"+key)
				if res.ExitCode != 0 {
					t.Fatalf("upload under %.0f%% faults failed: %s", rate*100, res)
				}
				st := proxy.Stats()
				var injected int64
				for _, n := range st.Faults {
					injected += n
				}
				t.Logf("%.0f%% faults: %d injected %v over %d part requests, %s", rate*100, injected, st.Faults, st.UploadParts, time.Since(start).Round(time.Millisecond))
				if injected == 0 {
					t.Fatal("no fault was injected: the test tested nothing")
				}
				srv.AssertObjectMatchesFile(t, bucket, key, src)
				if sc := sidecars(t, srv, src); len(sc) != 0 {
					t.Fatalf("state left behind: %v", sc)
				}
			})
		}
	})
}

// TestOutage cuts the store off mid-upload: s3up must give up after its
// retries with exit 1, keep its state, say how to resume, and finish once
// the store is back.
func TestOutage(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		src := s3test.MakeFile(t, t.TempDir(), 40*MiB, s3test.Seed(t))
		dst := "s3://" + bucket + "/outage"
		proxy := newProxy(t, srv, faultproxy.Config{})
		p := s3test.StartCLI(t, proxyEnv(srv, proxy), "put", "--json", "--part-size", "5MiB", "--concurrency", "1",
			"--bwlimit", "20MiB/s", "--retries", "3", src, dst)
		s3test.Eventually(t, time.Minute, 5*time.Millisecond, func() (bool, string) {
			return countParts(p.Stdout()) >= 2, "waiting for 2 parts"
		})
		proxy.SetOutage(true)
		cut := time.Now()
		res := p.Wait()
		t.Logf("gave up %s after the outage began", time.Since(cut).Round(time.Millisecond))
		if res.ExitCode != 1 {
			t.Fatalf("want exit 1 under a total outage: %s", res)
		}
		if !strings.Contains(res.Stdout, `"event":"error"`) || !strings.Contains(res.Stdout, "rerun the same command") {
			t.Fatalf("no resumable error reported: %s", res)
		}
		lines := sidecarLines(t, sidecarFile(t, srv, src))
		if len(lines) < 3 {
			t.Fatalf("state lost its parts: %v", lines)
		}
		proxy.SetOutage(false)
		res = s3test.RunCLI(t, t.Context(), proxyEnv(srv, proxy), "put", "--json", "--part-size", "5MiB", src, dst)
		if res.ExitCode != 0 {
			t.Fatalf("after the outage: %s", res)
		}
		rs := findEvent(jsonEvents(t, res.Stdout), "resumed")
		if rs == nil || rs["on_server"].(float64) < 2 {
			t.Fatalf("did not resume: %s", res.Stdout)
		}
		srv.AssertObjectMatchesFile(t, bucket, "outage", src)
	})
}

// TestSignals: SIGINT stops an upload with exit 130 (SIGTERM: 143) and
// consistent state that a rerun completes; a second SIGINT stops at once.
func TestSignals(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		for _, tc := range []struct {
			name    string
			signals int
		}{{"sigint", 1}, {"sigint-twice", 2}, {"sigterm", 1}} {
			t.Run(tc.name, func(t *testing.T) {
				src := s3test.MakeFile(t, t.TempDir(), 40*MiB, s3test.Seed(t))
				dst := "s3://" + bucket + "/" + tc.name
				p := s3test.StartCLI(t, srv.Env(), "put", "--json", "--part-size", "5MiB", "--concurrency", "2",
					"--bwlimit", "10MiB/s", src, dst)
				s3test.Eventually(t, time.Minute, 5*time.Millisecond, func() (bool, string) {
					return countParts(p.Stdout()) >= 1, "waiting for a part"
				})
				sig := os.Signal(syscall.SIGINT)
				if tc.name == "sigterm" {
					sig = syscall.SIGTERM
				}
				for i := 0; i < tc.signals; i++ {
					p.Signal(sig)
					if i == 0 && tc.signals > 1 {
						s3test.Eventually(t, 10*time.Second, time.Millisecond, func() (bool, string) {
							return strings.Contains(p.Stderr(), "interrupted"), "waiting for the first signal to register"
						})
					}
				}
				res := p.Wait()
				want := 130
				if tc.name == "sigterm" {
					want = 143
				}
				if res.ExitCode != want {
					t.Fatalf("want exit %d: %s", want, res)
				}
				if !strings.Contains(res.Stderr+res.Stdout, "rerun the same command") {
					t.Fatalf("no resume hint: %s", res)
				}
				if srv.ObjectExists(t, bucket, tc.name) {
					t.Fatal("object completed after an interrupt")
				}
				if len(srv.IncompleteUploads(t, bucket, tc.name)) != 1 {
					t.Fatal("the upload was aborted on interrupt")
				}
				res = s3test.RunCLI(t, t.Context(), srv.Env(), "put", "--json", "--part-size", "5MiB", src, dst)
				if res.ExitCode != 0 {
					t.Fatalf("rerun: %s", res)
				}
				if findEvent(jsonEvents(t, res.Stdout), "resumed") == nil {
					t.Fatalf("rerun did not resume: %s", res.Stdout)
				}
				srv.AssertObjectMatchesFile(t, bucket, tc.name, src)
			})
		}
	})
}
