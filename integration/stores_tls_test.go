package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3up/s3up/integration/faultproxy"
	"github.com/s3up/s3up/integration/s3test"
)

// TestStoreEmulationsTLS (issue 16): over HTTPS the default put sends each
// part aws-chunked with its checksum in a trailer. Through every emulated
// store (an HTTPS front, then the fault proxy's emulation, then the server)
// it must still upload and verify: COS and OSS refuse aws-chunked bodies,
// so the part goes again with its checksum in a header and the refusal is
// learned; B2, R2 (2025) and GCS refuse the checksum itself (B2 and R2 at
// CreateMultipartUpload, GCS at the first part), so the upload falls back to
// Content-MD5 as over HTTP. The next run starts with what was
// learned: nothing is refused and no trailer is sent. An upload killed in
// the middle resumes the same way.
func TestStoreEmulationsTLS(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		for _, store := range faultproxy.Stores {
			t.Run(store.String(), func(t *testing.T) {
				proxy := newProxy(t, srv, faultproxy.Config{Store: store})
				front := newPayloadRecorder(t, proxy.URL(), true)
				stateHome := t.TempDir()
				env := append(srv.Env(), "AWS_ENDPOINT_URL_S3="+front.srv.URL, "AWS_CA_BUNDLE="+front.caFile, "XDG_STATE_HOME="+stateHome)
				dir := t.TempDir()
				put := func(t *testing.T, src, key string) string {
					t.Helper()
					res := s3test.RunCLI(t, t.Context(), env, "put", "--json", "--part-size", "5MiB", src, "s3://"+bucket+"/"+key)
					if res.ExitCode != 0 {
						t.Fatalf("put through %s over HTTPS: %s", store, res)
					}
					srv.AssertObjectMatchesFile(t, bucket, key, src)
					if r := findEvent(jsonEvents(t, res.Stdout), "result"); r == nil || !strings.Contains(r["verified"].(string), "size") {
						t.Fatalf("through %s: not verified: %s", store, res.Stdout)
					}
					return res.Stdout + res.Stderr
				}
				trailers := func() int {
					n := 0
					for _, h := range front.take() {
						if h == "STREAMING-UNSIGNED-PAYLOAD-TRAILER" {
							n++
						}
					}
					return n
				}

				out := put(t, s3test.MakeFile(t, dir, 16*MiB+333, seed), store.String()+"/big")
				if proxy.Refused() == 0 {
					t.Fatalf("%s refused nothing: the emulation tested nothing", store)
				}
				// B2 and R2 refuse the checksum algorithm at
				// CreateMultipartUpload already, before any part.
				if tried := trailers(); (tried == 0) != (store == faultproxy.B2 || store == faultproxy.R2Early) {
					t.Fatalf("%d parts tried with a trailer", tried)
				}
				profile := readProfile(t, stateHome)
				switch store {
				case faultproxy.COS, faultproxy.OSS:
					if !strings.Contains(out, "refuses aws-chunked") || profile["refuses_trailers"] != true || profile["refuses_checksums"] == true {
						t.Fatalf("the trailer refusal was not learned as such: %v\n%s", profile, out)
					}
				default:
					if profile["refuses_checksums"] != true || profile["refuses_trailers"] == true {
						t.Fatalf("the checksum refusal was not learned as such: %v\n%s", profile, out)
					}
				}

				// Known now: no trailer, nothing refused, resume included.
				before := proxy.Refused()
				resumed := s3test.MakeFile(t, dir, 21*MiB+7, seed+2)
				key := store.String() + "/resumed"
				interruptAfter(t, env, 2, "--part-size", "5MiB", resumed, "s3://"+bucket+"/"+key)
				put(t, resumed, key)
				if n := proxy.Refused() - before; n != 0 {
					t.Fatalf("%d requests refused after the store was learned", n)
				}
				if n := trailers(); n != 0 {
					t.Fatalf("%d parts sent with a trailer after the store was learned", n)
				}
				if ups := srv.IncompleteUploads(t, bucket, store.String()+"/"); len(ups) != 0 {
					t.Fatalf("uploads left behind: %+v", ups)
				}
			})
		}
	})
}

// readProfile returns the one store profile remembered in stateHome.
func readProfile(t *testing.T, stateHome string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stateHome, "s3up", "stores.json"))
	if err != nil {
		t.Fatalf("nothing remembered about the store: %v", err)
	}
	var m map[string]map[string]any
	if err := json.Unmarshal(b, &m); err != nil || len(m) != 1 {
		t.Fatalf("stores.json: %v %s", err, b)
	}
	for _, p := range m {
		return p
	}
	return nil
}
