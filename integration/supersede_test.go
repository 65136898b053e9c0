package integration

import (
	"context"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/s3up/s3up/integration/s3test"
)

// TestSupersededUploads (issue 24): an upload interrupted and then replaced
// by another source's upload to the same key (a stream rerun with a changed
// command, a file killed and then another file put to the key) is aborted
// when the new object is stored, and its resume state removed: no
// incomplete upload outlives its successor, and the output names it.
func TestSupersededUploads(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		dir := t.TempDir()
		a := s3test.MakeFile(t, dir, 30*MiB+7, seed)
		b := s3test.MakeFile(t, dir, 12*MiB+3, seed+1)
		for _, tc := range []struct {
			name          string
			first, second []string
			want          string
		}{
			{"stream-with-another-command", []string{"--stdin-from-command", "KEY", "--", "cat", a}, []string{"--stdin-from-command", "KEY", "--", "cat", b}, b},
			{"file-then-another-file", []string{a, "KEY"}, []string{b, "KEY"}, b},
			{"stream-then-a-small-file", []string{"--stdin-from-command", "KEY", "--", "cat", a}, []string{s3test.MakeFile(t, dir, 1000, seed+2), "KEY"}, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				dst := "s3://" + bucket + "/" + tc.name
				with := func(args []string) []string {
					out := append([]string(nil), args...)
					for i, a := range out {
						if a == "KEY" {
							out[i] = dst
						}
					}
					return out
				}
				old := interruptAfter(t, srv.Env(), 2, append([]string{"--part-size", "5MiB"}, with(tc.first)...)...)
				if ups := srv.IncompleteUploads(t, bucket, tc.name); len(ups) != 1 {
					t.Fatalf("after the interrupted run: %d incomplete uploads, want 1", len(ups))
				}
				res := s3test.RunCLI(t, t.Context(), srv.Env(), append([]string{"put", "--json", "--part-size", "5MiB"}, with(tc.second)...)...)
				if res.ExitCode != 0 {
					t.Fatalf("second run: %s", res)
				}
				want := tc.want
				if want == "" {
					want = with(tc.second)[0]
				}
				srv.AssertObjectMatchesFile(t, bucket, tc.name, want)
				if ups := srv.IncompleteUploads(t, bucket, tc.name); len(ups) != 0 {
					t.Fatalf("incomplete uploads left: %+v", ups)
				}
				ev := findEvent(jsonEvents(t, res.Stdout), "superseded")
				if ev == nil || ev["upload_id"] != old {
					t.Fatalf("superseded event %v, want upload %s named: %s", ev, old, res.Stdout)
				}
			})
		}
	})
}

// TestVersionIDReported: in a bucket with versioning, the result names the
// version the put stored, as the store (read with minio-go) has it, for a
// multipart upload and for one PutObject.
func TestVersionIDReported(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if err := srv.Minio.EnableVersioning(ctx, bucket); err != nil {
			s3test.SkipUnsupported(t, srv, "versioning", "enabling versioning: %v", err)
		}
		if cfg, err := srv.Minio.GetBucketVersioning(ctx, bucket); err != nil || !cfg.Enabled() {
			s3test.SkipUnsupported(t, srv, "versioning", "versioning was accepted but the bucket reports %+v (%v)", cfg, err)
		}
		t.Cleanup(func() { // before the bucket is removed: every version goes
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for obj := range srv.Minio.ListObjectsIter(ctx, bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
				if obj.Err == nil {
					srv.Minio.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{VersionID: obj.VersionID})
				}
			}
		})
		dir := t.TempDir()
		seed := s3test.Seed(t)
		for _, size := range []int64{20*MiB + 1, 1000} {
			src := s3test.MakeFile(t, dir, size, seed+uint64(size))
			res := s3test.RunCLI(t, t.Context(), srv.Env(), "put", "--json", "--part-size", "5MiB", src, "s3://"+bucket+"/v")
			if res.ExitCode != 0 {
				t.Fatalf("put: %s", res)
			}
			r := findEvent(jsonEvents(t, res.Stdout), "result")
			info, err := srv.Minio.StatObject(ctx, bucket, "v", minio.StatObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if r["version_id"] == nil || r["version_id"] != info.VersionID {
				t.Fatalf("%d bytes: result version_id %v, the store's latest version %q", size, r["version_id"], info.VersionID)
			}
		}
	})
}
