package integration

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/s3up/s3up/integration/s3test"
)

// statObject returns the object's attributes as minio-go sees them.
func statObject(t *testing.T, srv *s3test.Server, bucket, key string) minio.ObjectInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	oi, err := srv.Minio.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("stat s3://%s/%s: %v", bucket, key, err)
	}
	return oi
}

// serverRejects uploads a small object with minio-go with the given options
// and returns the server's error code ("" if it accepted the object).
func serverRejects(t *testing.T, srv *s3test.Server, bucket, key string, opts minio.PutObjectOptions) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := srv.Minio.PutObject(ctx, bucket, key, bytes.NewReader([]byte("probe")), 5, opts)
	if err == nil {
		return ""
	}
	if code := minio.ToErrorResponse(err).Code; code != "" {
		return code + ": " + minio.ToErrorResponse(err).Message
	}
	return err.Error()
}

// TestObjectOptions uploads multi-part files with the object options `aws
// s3 cp` users expect and reads them back with minio-go. An option the
// server does not support is skipped only after minio-go proves the server
// itself refuses it.
func TestObjectOptions(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		dir := t.TempDir()
		data := s3test.MakeFile(t, dir, 5*MiB+100, seed) // two parts
		named := func(t *testing.T, name string) string {
			p := filepath.Join(t.TempDir(), name)
			b, err := os.ReadFile(data)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}
		put := func(t *testing.T, src, key string, args ...string) s3test.Result {
			t.Helper()
			args = append(append([]string{"put", "--part-size", "5MiB"}, args...), src, "s3://"+bucket+"/"+key)
			return s3test.RunCLI(t, t.Context(), srv.Env(), args...)
		}
		mustOK := func(t *testing.T, res s3test.Result, src, key string) minio.ObjectInfo {
			t.Helper()
			if res.ExitCode != 0 {
				t.Fatalf("put: %s", res)
			}
			srv.AssertObjectMatchesFile(t, bucket, key, src)
			return statObject(t, srv, bucket, key)
		}

		t.Run("content-type-explicit", func(t *testing.T) {
			oi := mustOK(t, put(t, data, "ct", "--content-type", "text/x-s3up; charset=utf-8"), data, "ct")
			if oi.ContentType != "text/x-s3up; charset=utf-8" {
				t.Fatalf("Content-Type %q", oi.ContentType)
			}
		})
		t.Run("content-type-detected", func(t *testing.T) {
			for name, want := range map[string]string{
				"report.json":     "application/json",
				"blob.s3upnoext1": "application/octet-stream",
				"noextension":     "application/octet-stream",
			} {
				src := named(t, name)
				oi := mustOK(t, put(t, src, "detect/"+name), src, "detect/"+name)
				if oi.ContentType != want {
					t.Fatalf("%s: Content-Type %q, want %q", name, oi.ContentType, want)
				}
			}
		})
		t.Run("metadata", func(t *testing.T) {
			oi := mustOK(t, put(t, data, "meta", "--metadata", "owner=alice", "--metadata", "Project=s3up", "--metadata", "empty="),
				data, "meta")
			got := map[string]string{}
			for k, v := range oi.UserMetadata {
				got[strings.ToLower(strings.TrimPrefix(strings.ToLower(k), "x-amz-meta-"))] = v
			}
			for k, want := range map[string]string{"owner": "alice", "project": "s3up"} {
				if got[k] != want {
					t.Fatalf("metadata %s = %q, want %q (all: %v)", k, got[k], want, oi.UserMetadata)
				}
			}
		})
		t.Run("cache-control", func(t *testing.T) {
			oi := mustOK(t, put(t, data, "cc", "--cache-control", "max-age=3600, public"), data, "cc")
			if got := oi.Metadata.Get("Cache-Control"); got != "max-age=3600, public" {
				t.Fatalf("Cache-Control %q", got)
			}
		})
		for _, class := range []string{"STANDARD", "REDUCED_REDUNDANCY"} {
			t.Run("storage-class-"+class, func(t *testing.T) {
				key := "sc-" + class
				res := put(t, data, key, "--json", "--storage-class", class)
				if res.ExitCode != 0 {
					code := serverRejects(t, srv, bucket, "probe-"+key, minio.PutObjectOptions{StorageClass: class})
					if code == "" {
						t.Fatalf("s3up failed but the server accepts storage class %s: %s", class, res)
					}
					if res.ExitCode != 2 {
						t.Fatalf("refused storage class: exit %d, want 2: %s", res.ExitCode, res)
					}
					s3test.SkipUnsupported(t, srv, "storage-class-"+class, "refuses it (%s)", code)
				}
				oi := mustOK(t, res, data, key)
				got := oi.Metadata.Get("X-Amz-Storage-Class") // S3 omits it for STANDARD
				if got == class || class == "STANDARD" && got == "" {
					return
				}
				// The server accepted the class but does not keep it: s3up
				// must have said so, and the server must behave the same
				// with minio-go.
				if findEvent(jsonEvents(t, res.Stdout), "warning") == nil {
					t.Fatalf("storage class %q, want %s, and s3up did not warn: %s", got, class, res.Stdout)
				}
				if code := serverRejects(t, srv, bucket, "probe-"+key, minio.PutObjectOptions{StorageClass: class}); code != "" {
					t.Fatalf("minio-go's upload with storage class %s failed: %s", class, code)
				}
				probe := statObject(t, srv, bucket, "probe-"+key).Metadata.Get("X-Amz-Storage-Class")
				if probe == class {
					t.Fatalf("the server keeps storage class %s for minio-go's upload but not for s3up's (%q)", class, got)
				}
				s3test.SkipUnsupported(t, srv, "storage-class-"+class, "reports %q (minio-go's object too: %q); s3up warns", got, probe)
			})
		}
		t.Run("acl-private", func(t *testing.T) {
			res := put(t, data, "acl", "--acl", "private")
			if res.ExitCode != 0 {
				code := serverRejects(t, srv, bucket, "probe-acl", minio.PutObjectOptions{UserMetadata: map[string]string{"x-amz-acl": "private"}})
				if code == "" {
					t.Fatalf("s3up failed but the server accepts x-amz-acl: private: %s", res)
				}
				s3test.SkipUnsupported(t, srv, "acl", "refuses x-amz-acl: private (%s); s3up says: %s", code, strings.TrimSpace(res.Stderr))
			}
			mustOK(t, res, data, "acl")
		})
		t.Run("sse-AES256", func(t *testing.T) {
			res := put(t, data, "sse", "--json", "--sse", "AES256")
			probe := minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE()}
			if res.ExitCode != 0 {
				code := serverRejects(t, srv, bucket, "probe-sse", probe)
				if code == "" {
					t.Fatalf("s3up failed but the server accepts SSE-S3: %s", res)
				}
				if res.ExitCode != 2 {
					t.Fatalf("refused SSE: exit %d, want 2 (rerunning cannot help): %s", res.ExitCode, res)
				}
				if e := findEvent(jsonEvents(t, res.Stdout), "error"); e == nil || !strings.Contains(e["message"].(string), "create multipart upload") {
					t.Fatalf("error event %v", e)
				}
				s3test.SkipUnsupported(t, srv, "sse-s3", "refuses it (%s)", code)
			}
			oi := mustOK(t, res, data, "sse")
			if got := oi.Metadata.Get("X-Amz-Server-Side-Encryption"); got == "AES256" {
				return
			}
			if findEvent(jsonEvents(t, res.Stdout), "warning") == nil {
				t.Fatalf("object not reported encrypted and s3up did not warn: %s", res.Stdout)
			}
			if code := serverRejects(t, srv, bucket, "probe-sse", probe); code != "" {
				t.Fatalf("minio-go's SSE upload failed although s3up's succeeded: %s", code)
			}
			if got := statObject(t, srv, bucket, "probe-sse").Metadata.Get("X-Amz-Server-Side-Encryption"); got != "" {
				t.Fatalf("the server reports SSE %q for minio-go's object but not for s3up's", got)
			}
			s3test.SkipUnsupported(t, srv, "sse-s3", "accepted but not reported on HEAD (for minio-go's object either); s3up warns")
		})
		t.Run("resume-with-changed-option", func(t *testing.T) {
			src := s3test.MakeFile(t, t.TempDir(), 4*5*MiB+1, seed)
			dst := "s3://" + bucket + "/changed"
			interruptAfter(t, srv.Env(), 1, "--part-size", "5MiB", "--content-type", "application/x-first", src, dst)
			res := s3test.RunCLI(t, t.Context(), srv.Env(), "put", "--content-type", "application/x-second", src, dst)
			if res.ExitCode != 2 {
				t.Fatalf("resume with another --content-type: exit %d, want 2: %s", res.ExitCode, res)
			}
			oneErrorLine(t, res, "content-type")
			if srv.ObjectExists(t, bucket, "changed") {
				t.Fatal("an object was completed")
			}
			// The original options still resume it.
			res = s3test.RunCLI(t, t.Context(), srv.Env(), "put", "--content-type", "application/x-first", src, dst)
			if res.ExitCode != 0 {
				t.Fatalf("resume with the original options: %s", res)
			}
			srv.AssertObjectMatchesFile(t, bucket, "changed", src)
			if ct := statObject(t, srv, bucket, "changed").ContentType; ct != "application/x-first" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	})
}
