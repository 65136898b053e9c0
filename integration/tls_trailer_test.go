package integration

import (
	"slices"
	"strings"
	"testing"

	"github.com/s3up/s3up/integration/s3test"
)

// TestTLSTrailerAndResume: over HTTPS, each part's checksum is computed
// while it is sent and follows it as an aws-chunked trailer, in chunks small
// enough for every store whatever the part size; with
// --trailer-checksum=false it is computed first and sent as a header. Both
// must verify, and an upload killed over HTTPS in one mode must resume in
// the other (adopting or re-sending parts by the recorded checksums).
func TestTLSTrailerAndResume(t *testing.T) {
	for _, kind := range tlsKinds(t) {
		t.Run(kind, func(t *testing.T) {
			srv := s3test.StartTLS(t, kind)
			bucket := srv.NewBucket(t)
			seed := s3test.Seed(t)
			src := s3test.MakeFile(t, t.TempDir(), 23*MiB+5, seed)
			for _, tc := range []struct {
				name string
				args []string
			}{
				{"header", []string{"--part-size", "5MiB", "--trailer-checksum=false"}},
				{"trailer", []string{"--part-size", "5MiB"}},
				{"crc64nvme-trailer", []string{"--part-size", "5MiB", "--checksum", "crc64nvme"}},
				{"sha256-trailer", []string{"--part-size", "5MiB", "--checksum", "sha256"}},
				// The SDK sends a trailer body as a single aws-chunked chunk,
				// and MinIO refuses chunks over 16 MiB; s3up's chunks are
				// small, so bigger parts go with a trailer too.
				{"trailer-parts-over-16MiB", []string{"--part-size", "20MiB"}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					args := append(append([]string{"put", "--json"}, tc.args...), src, "s3://"+bucket+"/"+tc.name)
					res := s3test.RunCLI(t, t.Context(), srv.Env(), args...)
					if res.ExitCode != 0 {
						t.Fatalf("%s", res)
					}
					// Every server here takes trailers and shows the checksum it
					// received: nothing is learned, nothing sent twice.
					if strings.Contains(res.Stdout+res.Stderr, "learned about") {
						t.Fatalf("fell back: %s", res)
					}
					r := findEvent(jsonEvents(t, res.Stdout), "result")
					if v, _ := r["verified"].(string); !strings.Contains(v, "checksum") {
						t.Fatalf("checksum not verified: %v", r)
					}
					srv.AssertObjectMatchesFile(t, bucket, tc.name, src)
				})
			}
			t.Run("kill-and-resume", func(t *testing.T) {
				dst := "s3://" + bucket + "/resumed"
				interruptAfter(t, srv.Env(), 2, "--part-size", "5MiB", src, dst)
				res := s3test.RunCLI(t, t.Context(), srv.Env(), "put", "--json", "--part-size", "5MiB", "--trailer-checksum=false", src, dst)
				if res.ExitCode != 0 {
					t.Fatalf("%s", res)
				}
				if rs := findEvent(jsonEvents(t, res.Stdout), "resumed"); rs == nil || rs["on_server"].(float64) < 2 {
					t.Fatalf("did not resume: %s", res.Stdout)
				}
				srv.AssertObjectMatchesFile(t, bucket, "resumed", src)
			})
		})
	}
}

// serverSelected reports whether kind runs in this test process.
// tlsKinds are the selected servers that the harness can start with TLS
// (every kind it builds; not an external endpoint).
func tlsKinds(t *testing.T) []string {
	var out []string
	for _, s := range s3test.Servers() {
		if slices.Contains(s3test.Kinds(), s.Name) {
			out = append(out, s.Name)
		}
	}
	if len(out) == 0 {
		t.Log("no selected server is one the harness starts with TLS (an external endpoint runs the TLS cases over its own scheme)")
	}
	return out
}
