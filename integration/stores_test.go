package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3up/s3up/integration/faultproxy"
	"github.com/s3up/s3up/integration/s3test"
)

// TestStoreEmulations (issue 11): the default `s3up put` (no checksum flag)
// uploads, resumes after kill -9 and verifies through every store emulated
// in the fault proxy from its documentation, on every server: B2 and R2
// (2025) refuse flexible checksums (Content-MD5 is used, learned once and
// remembered), COS and OSS hide them and report a native CRC-64 (compared),
// GCS refuses them at UploadPart, rewrites Accept-Encoding and reports the
// object's CRC32C in x-goog-hash (compared). Every object is checked with
// minio-go against the file.
func TestStoreEmulations(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		for _, store := range faultproxy.Stores {
			t.Run(store.String(), func(t *testing.T) {
				proxy := newProxy(t, srv, faultproxy.Config{Store: store})
				stateHome := t.TempDir()
				env := append(proxyEnv(srv, proxy), "XDG_STATE_HOME="+stateHome)
				want := map[faultproxy.Store]string{
					faultproxy.B2: "multipart ETag", faultproxy.R2Early: "multipart ETag",
					faultproxy.COS: "CRC-64/ECMA (x-cos-hash-crc64ecma)", faultproxy.OSS: "CRC-64/ECMA (x-oss-hash-crc64ecma)",
					faultproxy.GCS: "CRC32C (x-goog-hash)",
				}[store]
				refuses := store == faultproxy.B2 || store == faultproxy.R2Early || store == faultproxy.GCS
				dir := t.TempDir()
				put := func(t *testing.T, src, key string) map[string]any {
					t.Helper()
					want := want
					if strings.HasSuffix(key, "/small") && (store == faultproxy.B2 || store == faultproxy.R2Early) {
						want = "ETag (MD5)" // one PutObject: its ETag is the MD5
					}
					res := s3test.RunCLI(t, t.Context(), env, "put", "--json", "--part-size", "5MiB", src, "s3://"+bucket+"/"+key)
					if res.ExitCode != 0 {
						t.Fatalf("put through %s: %s", store, res)
					}
					srv.AssertObjectMatchesFile(t, bucket, key, src)
					r := findEvent(jsonEvents(t, res.Stdout), "result")
					if r == nil || !strings.Contains(fmt.Sprint(r["verified"]), want) {
						t.Fatalf("through %s: verified %v, want %q among the checks: %s", store, r["verified"], want, res.Stdout)
					}
					return r
				}

				// A multipart upload: the first meeting with the store.
				big := s3test.MakeFile(t, dir, 16*MiB+333, seed)
				put(t, big, store.String()+"/big")
				if refuses && proxy.Refused() == 0 {
					t.Fatalf("%s refused nothing: the emulation tested nothing", store)
				}
				if m, _ := filepath.Glob(filepath.Join(stateHome, "s3up", "stores.json")); refuses && len(m) != 1 {
					t.Fatal("what was learned about the store was not remembered")
				}
				// From now on the store is known: nothing is refused.
				before := proxy.Refused()
				small := s3test.MakeFile(t, dir, 100*1024, seed+1)
				if r := put(t, small, store.String()+"/small"); r["parts"] != float64(1) {
					t.Fatalf("a small file was not one PutObject: %v", r)
				}
				// Killed in the middle, then resumed.
				resumed := s3test.MakeFile(t, dir, 21*MiB+7, seed+2)
				key := store.String() + "/resumed"
				interruptAfter(t, env, 2, "--part-size", "5MiB", resumed, "s3://"+bucket+"/"+key)
				if r := put(t, resumed, key); r["resumed"] != true || r["parts_kept"].(float64) < 2 {
					t.Fatalf("did not resume: %v", r)
				}
				if n := proxy.Refused() - before; n != 0 {
					t.Fatalf("%d requests refused after the store was learned", n)
				}
				if ups := srv.IncompleteUploads(t, bucket, store.String()+"/"); len(ups) != 0 {
					t.Fatalf("uploads left behind: %+v", ups)
				}
			})
		}
	})
}
