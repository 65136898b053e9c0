package integration

import (
	"fmt"
	"strings"
	"testing"

	"github.com/s3up/s3up/integration/faultproxy"
	"github.com/s3up/s3up/integration/s3test"
)

// Tests of issue 23, "What a person sees first".

// TestUnchangedPutSendsNothing: a rerun of a finished put of an unchanged
// file sends 0 bytes (counted at the proxy) and says so; --force sends it
// again; a file touched since is sent again.
func TestUnchangedPutSendsNothing(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		proxy := newProxy(t, srv, faultproxy.Config{})
		env := proxyEnv(srv, proxy)
		for _, size := range []int64{100 * 1024, 16*MiB + 3} {
			src := s3test.MakeFile(t, t.TempDir(), size, s3test.Seed(t))
			dst := fmt.Sprintf("s3://%s/unchanged-%d", bucket, size)
			put := func(args ...string) (s3test.Result, int64) {
				before := proxy.Stats().PutBytes
				res := s3test.RunCLI(t, t.Context(), env, append(append([]string{"put", "--part-size", "5MiB"}, args...), src, dst)...)
				if res.ExitCode != 0 {
					t.Fatalf("put %v: %s", args, res)
				}
				return res, proxy.Stats().PutBytes - before
			}
			if _, sent := put(); sent != size {
				t.Fatalf("%d bytes: first put sent %d", size, sent)
			}
			res, sent := put()
			if sent != 0 || !strings.Contains(res.Stdout, "unchanged: s3://") {
				t.Fatalf("%d bytes: rerun sent %d bytes: %s", size, sent, res)
			}
			if res, _ := put("--json"); !strings.Contains(res.Stdout, `"unchanged":true`) || countEvents(jsonEvents(t, res.Stdout), "unchanged") != 1 {
				t.Fatalf("%d bytes: --json does not say unchanged: %s", size, res.Stdout)
			}
			if _, sent := put("--force"); sent != size {
				t.Fatalf("%d bytes: --force sent %d", size, sent)
			}
			if _, sent := put("--checksum-compare"); sent != 0 {
				t.Fatalf("%d bytes: --checksum-compare of the same content sent %d", size, sent)
			}
			srv.AssertObjectMatchesFile(t, bucket, strings.TrimPrefix(dst, "s3://"+bucket+"/"), src)
		}
	})
}

// TestPlannedHasThePlan: the planned event of a new upload has its parts
// and part size before the first byte, for a file, a stream of known and
// of unknown size, and a big file in a tree.
func TestPlannedHasThePlan(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		dir := t.TempDir()
		src := s3test.MakeFile(t, dir, 12*MiB+1, s3test.Seed(t))
		planned := func(t *testing.T, args ...string) map[string]any {
			t.Helper()
			res := s3test.RunCLI(t, t.Context(), srv.Env(), append([]string{"put", "--json", "--part-size", "5MiB"}, args...)...)
			if res.ExitCode != 0 {
				t.Fatalf("put %v: %s", args, res)
			}
			evs := jsonEvents(t, res.Stdout)
			p := findEvent(evs, "planned")
			if p == nil || evs[0]["event"] != "planned" && !(len(evs) > 1 && evs[0]["event"] == "scanned") {
				t.Fatalf("no planned event first: %s", res.Stdout)
			}
			return p
		}
		want := func(p map[string]any, parts, partSize float64) {
			t.Helper()
			if p["parts"] != parts || p["part_size"] != partSize {
				t.Fatalf("planned %v, want %v parts of %v", p, parts, partSize)
			}
		}
		want(planned(t, src, "s3://"+bucket+"/file"), 3, 5*MiB)
		want(planned(t, "--expected-size", fmt.Sprint(12*MiB+1), "--stdin-from-command", "s3://"+bucket+"/sized", "--", "cat", src), 3, 5*MiB)
		want(planned(t, "--stdin-from-command", "s3://"+bucket+"/unsized", "--", "cat", src), 0, 5*MiB)
		want(planned(t, "-r", dir, "s3://"+bucket+"/tree/"), 3, 5*MiB)
	})
}
