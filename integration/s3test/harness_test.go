package s3test_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/s3up/s3up/integration/s3test"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

// TestHarnessRoundTrip proves that each selected server runs and that the
// verification helpers agree with an object put through minio-go.
func TestHarnessRoundTrip(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		// 6 MiB + 1: minio-go puts it in one request (below its 16 MiB part size).
		src := s3test.MakeFile(t, t.TempDir(), 6<<20+1, seed)
		if _, err := srv.Minio.FPutObject(ctx, bucket, "dir/obj.bin", src, minio.PutObjectOptions{}); err != nil {
			t.Fatalf("FPutObject: %v", err)
		}
		sum, size, err := srv.ObjectSHA256(ctx, bucket, "dir/obj.bin")
		if err != nil {
			t.Fatalf("ObjectSHA256: %v", err)
		}
		if want := s3test.FileSHA256(t, src); sum != want || size != 6<<20+1 {
			t.Fatalf("object: %d bytes sha256 %s; file: %d bytes sha256 %s", size, sum, 6<<20+1, want)
		}
		srv.AssertObjectMatchesFile(t, bucket, "dir/obj.bin", src)
		if !srv.ObjectExists(t, bucket, "dir/obj.bin") || srv.ObjectExists(t, bucket, "missing") {
			t.Fatal("ObjectExists is wrong")
		}
	})
}

// TestHarnessMultipart checks IncompleteUploads and Parts against a
// multipart upload driven by hand with minio-go Core, and leaves it
// incomplete so that NewBucket's cleanup has to abort it.
func TestHarnessMultipart(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		bucket := srv.NewBucket(t)
		core := srv.Core()
		if got := srv.IncompleteUploads(t, bucket, ""); len(got) != 0 {
			t.Fatalf("new bucket has uploads: %v", got)
		}
		var ids []string
		for _, key := range []string{"a/one", "a/two", "b/three"} {
			id, err := core.NewMultipartUpload(ctx, bucket, key, minio.PutObjectOptions{})
			if err != nil {
				t.Fatalf("NewMultipartUpload %s: %v", key, err)
			}
			ids = append(ids, id)
		}
		data := bytes.Repeat([]byte("x"), 5<<20)
		part, err := core.PutObjectPart(ctx, bucket, "a/one", ids[0], 1, bytes.NewReader(data), int64(len(data)), minio.PutObjectPartOptions{})
		if err != nil {
			t.Fatalf("PutObjectPart: %v", err)
		}
		all := srv.IncompleteUploads(t, bucket, "")
		if len(all) != 3 {
			t.Fatalf("IncompleteUploads: got %d uploads, want 3: %+v", len(all), all)
		}
		a := srv.IncompleteUploads(t, bucket, "a/")
		var keys []string
		for _, u := range a {
			keys = append(keys, u.Key)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"a/one", "a/two"}) {
			t.Fatalf("IncompleteUploads(prefix a/): %v", keys)
		}
		parts := srv.Parts(t, bucket, "a/one", ids[0])
		if len(parts) != 1 || parts[0].PartNumber != 1 || parts[0].Size != int64(len(data)) ||
			strings.Trim(parts[0].ETag, `"`) != strings.Trim(part.ETag, `"`) {
			t.Fatalf("Parts: %+v, want part 1 of %d bytes, ETag %s", parts, len(data), part.ETag)
		}
	})
}

func TestMakeFileDeterministic(t *testing.T) {
	dir := t.TempDir()
	a := s3test.MakeFile(t, dir, 3<<20+17, 42)
	b := s3test.MakeFile(t, dir, 3<<20+17, 42)
	c := s3test.MakeFile(t, dir, 3<<20+17, 43)
	if a == b {
		t.Fatal("MakeFile reused a path")
	}
	if s3test.FileSHA256(t, a) != s3test.FileSHA256(t, b) {
		t.Fatal("same seed, different content")
	}
	if s3test.FileSHA256(t, a) == s3test.FileSHA256(t, c) {
		t.Fatal("different seeds, same content")
	}
	short := s3test.MakeFile(t, dir, 1000, 42)
	ab, _ := os.ReadFile(a)
	sb, _ := os.ReadFile(short)
	if !bytes.Equal(ab[:1000], sb) {
		t.Fatal("a shorter file is not a prefix of a longer one")
	}
	empty := s3test.MakeFile(t, dir, 0, 1)
	sum := sha256.Sum256(nil)
	if got := s3test.FileSHA256(t, empty); got != hex.EncodeToString(sum[:]) {
		t.Fatalf("empty file sha256 %s", got)
	}
	if fi, _ := os.Stat(a); fi.Size() != 3<<20+17 {
		t.Fatalf("size %d", fi.Size())
	}
}

func TestEnv(t *testing.T) {
	t.Setenv("AWS_PROFILE", "should-be-removed")
	t.Setenv("S3UP_SOMETHING", "should-be-removed")
	t.Setenv("AWS_CA_BUNDLE", "/orig/ca.pem")
	srv := &s3test.Server{Name: "x", Endpoint: "http://127.0.0.1:1", AccessKey: "ak", SecretKey: "sk", Region: "us-east-1"}
	env := envMap(srv.Env())
	for k, want := range map[string]string{
		"AWS_ACCESS_KEY_ID":         "ak",
		"AWS_SECRET_ACCESS_KEY":     "sk",
		"AWS_REGION":                "us-east-1",
		"AWS_ENDPOINT_URL_S3":       "http://127.0.0.1:1",
		"AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CA_BUNDLE":             "/orig/ca.pem",
	} {
		if env[k] != want {
			t.Errorf("%s=%q, want %q", k, env[k], want)
		}
	}
	for _, k := range []string{"AWS_PROFILE", "S3UP_SOMETHING"} {
		if _, ok := env[k]; ok {
			t.Errorf("%s not removed", k)
		}
	}
	for _, k := range []string{"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
		if env[k] == "" {
			t.Errorf("%s not set", k)
		} else if _, err := os.Stat(env[k]); !os.IsNotExist(err) {
			t.Errorf("%s=%s exists (err %v)", k, env[k], err)
		}
	}
	srv.CACertFile = filepath.Join(t.TempDir(), "ca.pem")
	if got := envMap(srv.Env())["AWS_CA_BUNDLE"]; got != srv.CACertFile {
		t.Errorf("TLS server: AWS_CA_BUNDLE=%q, want %q", got, srv.CACertFile)
	}
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v // later entries win, as with os/exec
	}
	return m
}

// TestStartTLS starts a TLS server of each kind selected and checks that the
// verification client (which trusts the generated CA) works, and that a
// client without the CA is refused.
func TestStartTLS(t *testing.T) {
	if os.Getenv("S3UP_TEST_ENDPOINT") != "" {
		t.Skip("external server selected")
	}
	for _, kind := range s3test.Kinds() {
		if !slices.ContainsFunc(s3test.Servers(), func(s *s3test.Server) bool { return s.Name == kind }) {
			continue
		}
		t.Run(kind, func(t *testing.T) {
			srv := s3test.StartTLS(t, kind)
			if !strings.HasPrefix(srv.Endpoint, "https://127.0.0.1:") || srv.CACertFile == "" {
				t.Fatalf("endpoint %s, CA %q", srv.Endpoint, srv.CACertFile)
			}
			bucket := srv.NewBucket(t)
			ctx := t.Context()
			body := []byte("hello over TLS")
			if _, err := srv.Minio.PutObject(ctx, bucket, "k", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			sum, size, err := srv.ObjectSHA256(ctx, bucket, "k")
			want := sha256.Sum256(body)
			if err != nil || sum != hex.EncodeToString(want[:]) || size != int64(len(body)) {
				t.Fatalf("ObjectSHA256: %s %d %v", sum, size, err)
			}
			// The system roots alone must not trust the server.
			resp, err := (&s3test.Server{}).HTTPClient().Get(srv.Endpoint)
			if err == nil {
				resp.Body.Close()
				t.Fatal("a client without the test CA was not refused")
			}
			resp, err = srv.HTTPClient().Get(srv.Endpoint + "/")
			if err != nil {
				t.Fatalf("HTTPS with the test CA: %v", err)
			}
			resp.Body.Close()
		})
	}
}

// TestRunCLIFake exercises RunCLI and StartCLI with a stand-in for the s3up
// binary (S3UP_TEST_CLI_BINARY, which CLI reads on every call).
func TestRunCLIFake(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "fake-s3up")
	script := "#!/bin/sh\ncase \"$1\" in\nenv) env ;;\nexit) echo oops >&2; exit \"$2\" ;;\nsleep) echo started; exec sleep 300 ;;\nesac\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("S3UP_TEST_CLI_BINARY", fake)
	srv := &s3test.Server{Name: "x", Endpoint: "http://127.0.0.1:1", AccessKey: "ak", SecretKey: "sk", Region: "us-east-1"}

	res := s3test.RunCLI(t, t.Context(), srv.Env(), "env")
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "AWS_ENDPOINT_URL_S3=http://127.0.0.1:1\n") {
		t.Fatalf("env: %v", res)
	}
	res = s3test.RunCLI(t, t.Context(), nil, "exit", "3")
	if res.ExitCode != 3 || res.Stderr != "oops\n" || res.Signal != 0 {
		t.Fatalf("exit 3: %v", res)
	}

	p := s3test.StartCLI(t, nil, "sleep")
	s3test.Eventually(t, 10*time.Second, 10*time.Millisecond, func() (bool, string) {
		return strings.Contains(p.Stdout(), "started"), "stdout: " + p.Stdout()
	})
	res = p.Kill()
	if res.ExitCode != -1 || res.Signal.String() != "killed" {
		t.Fatalf("kill: %v", res)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	res = s3test.RunCLI(t, ctx, nil, "sleep")
	if res.Signal == 0 || res.Duration > 30*time.Second {
		t.Fatalf("cancelled context: %v", res)
	}
}
