package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3up/s3up/integration/s3test"
)

const MiB = 1 << 20

// TestPutSizes uploads files of edge sizes and proves each byte-identical
// with minio-go, with no multipart upload or sidecar left behind.
func TestPutSizes(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		dir := t.TempDir()
		for _, tc := range []struct {
			name string
			size int64
			args []string
		}{
			{"empty", 0, nil},
			{"one-byte", 1, nil},
			{"below-min-part", 5*MiB - 1, nil},
			{"exactly-3-parts", 15 * MiB, []string{"--part-size", "5MiB"}},
			{"300MiB-uneven-last", 300*MiB + 12345, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				src := s3test.MakeFile(t, dir, tc.size, seed)
				key := "sizes/" + tc.name
				args := append(append([]string{"--json"}, tc.args...), src, "s3://"+bucket+"/"+key)
				res := mustPut(t, srv, args...)
				evs := jsonEvents(t, res.Stdout)
				result := findEvent(evs, "result")
				if result == nil {
					t.Fatalf("no result event: %s", res)
				}
				if got := int64(result["size"].(float64)); got != tc.size {
					t.Fatalf("result size %d, want %d", got, tc.size)
				}
				if v, _ := result["verified"].(string); !strings.Contains(v, "size") {
					t.Fatalf("result not verified: %v", result)
				}
				srv.AssertObjectMatchesFile(t, bucket, key, src)
				if ups := srv.IncompleteUploads(t, bucket, key); len(ups) != 0 {
					t.Fatalf("incomplete uploads left: %+v", ups)
				}
				if sc := sidecars(t, srv, src); len(sc) != 0 {
					t.Fatalf("state left behind: %v", sc)
				}
				os.Remove(src)
			})
		}
	})
}

// TestPutSeveralSources uploads two files to a prefix in one command.
func TestPutSeveralSources(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		dir := t.TempDir()
		a := s3test.MakeFile(t, filepath.Join(dir), 6*MiB, seed)
		bdir := filepath.Join(dir, "b")
		os.Mkdir(bdir, 0o755)
		b := s3test.MakeFile(t, bdir, 1*MiB, seed+1)
		mustPut(t, srv, "--part-size", "5MiB", a, b, "s3://"+bucket+"/backups/")
		srv.AssertObjectMatchesFile(t, bucket, "backups/"+filepath.Base(a), a)
		srv.AssertObjectMatchesFile(t, bucket, "backups/"+filepath.Base(b), b)
	})
}

// TestPutBadInput: each mistake gives one clear line, the documented exit
// code, and no object.
func TestPutBadInput(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		dir := t.TempDir()
		src := s3test.MakeFile(t, dir, 1*MiB, s3test.Seed(t))
		dst := "s3://" + bucket + "/bad"
		wrongCreds := append(srv.Env(), "AWS_SECRET_ACCESS_KEY=wrong-secret-key-123", "AWS_ACCESS_KEY_ID=wrongkey")
		for _, tc := range []struct {
			name string
			env  []string
			args []string
			code int
			want string
		}{
			{"missing-file", nil, []string{"put", filepath.Join(dir, "nope"), dst}, 2, "does not exist"},
			{"directory", nil, []string{"put", dir, dst}, 2, "is a directory"},
			{"malformed-url", nil, []string{"put", src, "s3:/" + bucket + "/k"}, 2, "s3://BUCKET/KEY"},
			{"no-key", nil, []string{"put", src, "http://" + bucket}, 2, "s3://BUCKET/KEY"},
			{"unknown-bucket", nil, []string{"put", src, "s3://no-such-bucket-s3up/k"}, 2, "bucket"},
			{"wrong-credentials", wrongCreds, []string{"put", src, dst}, 2, "AWS_ACCESS_KEY_ID"},
			{"missing-args", nil, []string{"put", src}, 2, "needs SOURCE"},
			{"bad-part-size", nil, []string{"put", "--part-size", "1MiB", src, dst}, 2, "part size"},
			{"unparsable-part-size", nil, []string{"put", "--part-size", "lots", src, dst}, 2, "not a size"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				env := tc.env
				if env == nil {
					env = srv.Env()
				}
				res := s3test.RunCLI(t, t.Context(), env, tc.args...)
				if res.ExitCode != tc.code {
					t.Fatalf("exit %d, want %d: %s", res.ExitCode, tc.code, res)
				}
				oneErrorLine(t, res, tc.want)
				if srv.ObjectExists(t, bucket, "bad") {
					t.Fatal("an object was created")
				}
				if ups := srv.IncompleteUploads(t, bucket, "bad"); len(ups) != 0 {
					t.Fatalf("an upload was started: %+v", ups)
				}
				if left := sidecars(t, srv, src); len(left) != 0 {
					t.Fatalf("state or lock left behind by a failed start: %v", left)
				}
			})
		}
	})
}
