package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/s3up/s3up/integration/s3test"
	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/store"
)

// TestBadInputMatrix: every mistake gets the documented exit code, one
// error line naming the problem, no panic, and no object or upload.
func TestBadInputMatrix(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		dir := t.TempDir()
		seed := s3test.Seed(t)
		src := s3test.MakeFile(t, dir, 6*MiB, seed)
		dst := "s3://" + bucket + "/matrix"

		fifo := filepath.Join(dir, "fifo")
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		unreadable := filepath.Join(dir, "unreadable")
		os.WriteFile(unreadable, []byte("secret"), 0o000)
		huge := filepath.Join(dir, "huge-sparse")
		if f, err := os.Create(huge); err != nil {
			t.Fatal(err)
		} else {
			f.Truncate(60 << 30) // sparse: 60 GiB needs parts above 5 MiB
			f.Close()
		}
		// A sidecar from a newer s3up, for another file of the same name.
		future := s3test.MakeFile(t, filepath.Join(dir), 6*MiB, seed+7)
		interruptAfter(t, srv.Env(), 1, "--part-size", "5MiB", future, "s3://"+bucket+"/future-key")
		sc := sidecarFile(t, srv, future)
		b, _ := os.ReadFile(sc)
		os.WriteFile(sc, []byte(strings.Replace(string(b), `"version":1`, `"version":7`, 1)), 0o600)
		// An upload started with one content type, resumed with another.
		optsSrc := s3test.MakeFile(t, filepath.Join(dir), 11*MiB, seed+9)
		interruptAfter(t, srv.Env(), 1, "--part-size", "5MiB", "--content-type", "text/plain", optsSrc, "s3://"+bucket+"/opts-key")

		env := srv.Env()
		wrongSecret := append(srv.Env(), "AWS_SECRET_ACCESS_KEY=not-the-secret-0123456789")
		noCreds := []string{}
		for _, kv := range srv.Env() {
			if !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") && !strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") {
				noCreds = append(noCreds, kv)
			}
		}
		cases := []struct {
			name string
			env  []string
			args []string
			code int
			want string
		}{
			{"missing-source", env, []string{"put", filepath.Join(dir, "missing"), dst}, 2, "does not exist"},
			{"unreadable-source", env, []string{"put", unreadable, dst}, 2, "not readable"},
			{"directory-source", env, []string{"put", dir, dst}, 2, "is a directory"},
			{"fifo-source", env, []string{"put", fifo, dst}, 2, "not a regular file"},
			{"device-source", env, []string{"put", "/dev/null", dst}, 2, "not a regular file"},
			{"s3-url-as-source", env, []string{"put", "s3://" + bucket + "/x", dst}, 2, "local files"},
			{"destination-without-scheme", env, []string{"put", src, bucket + "/k"}, 2, "s3://BUCKET/KEY"},
			{"destination-bucket-too-short", env, []string{"put", src, "s3://ab/k"}, 2, "3 to 63"},
			{"destination-bad-bucket-char", env, []string{"put", src, "s3://buck!et/k"}, 2, "invalid character"},
			{"several-sources-to-a-key", env, []string{"put", src, future, dst}, 2, "prefix"},
			{"bucket-missing", env, []string{"put", src, "s3://s3up-no-such-bucket/k"}, 2, "bucket"},
			{"wrong-secret", wrongSecret, []string{"put", src, dst}, 2, "AWS_SECRET_ACCESS_KEY"},
			{"no-credentials", noCreds, []string{"put", src, dst}, 2, "credentials"},
			{"unreachable-endpoint", env, []string{"put", "--retries", "1", "--endpoint", "http://127.0.0.1:9", src, dst}, 1, "refused"},
			{"endpoint-not-a-url", env, []string{"put", "--endpoint", "ftp://example", src, dst}, 2, "not an http"},
			{"part-size-too-small", env, []string{"put", "--part-size", "4MiB", src, dst}, 2, "below the S3 minimum"},
			{"part-size-too-large", env, []string{"put", "--part-size", "6GiB", src, dst}, 2, "above the S3 maximum"},
			{"part-size-not-a-size", env, []string{"put", "--part-size", "big", src, dst}, 2, "not a size"},
			{"too-many-parts-for-part-size", env, []string{"put", "--part-size", "5MiB", huge, dst}, 2, "10000"},
			{"concurrency-zero", env, []string{"put", "--concurrency", "0", src, dst}, 2, "concurrency"},
			{"concurrency-too-high", env, []string{"put", "--concurrency", "1000", src, dst}, 2, "concurrency"},
			{"unknown-checksum", env, []string{"put", "--checksum", "crc16", src, dst}, 2, "unknown checksum"},
			{"bad-bwlimit", env, []string{"put", "--bwlimit", "fast", src, dst}, 2, "not a rate"},
			{"bad-metadata", env, []string{"put", "--metadata", "novalue", src, dst}, 2, "key=value"},
			{"kms-key-without-sse", env, []string{"put", "--sse-kms-key-id", "k1", src, dst}, 2, "--sse aws:kms"},
			{"unknown-flag", env, []string{"put", "--frobnicate", src, dst}, 2, "frobnicate"},
			{"missing-destination", env, []string{"put", src}, 2, "needs SOURCE"},
			{"sidecar-from-future-version", env, []string{"put", future, "s3://" + bucket + "/future-key"}, 2, "newer version"},
			{"options-changed-on-resume", env, []string{"put", "--content-type", "image/png", optsSrc, "s3://" + bucket + "/opts-key"}, 2, "content-type"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if tc.name == "unreadable-source" && os.Geteuid() == 0 {
					// Root reads mode-0000 files; prove it, then say so.
					if _, err := os.ReadFile(unreadable); err != nil {
						t.Fatalf("root could not read a mode-0000 file (%v): run this case", err)
					}
					t.Skip("running as root, which can read mode-0000 files; the unreadable-file case needs an unprivileged user")
				}
				res := s3test.RunCLI(t, t.Context(), tc.env, tc.args...)
				if res.ExitCode != tc.code {
					t.Fatalf("exit %d, want %d: %s", res.ExitCode, tc.code, res)
				}
				oneErrorLine(t, res, tc.want)
				for _, key := range []string{"matrix", "k", "x"} {
					if srv.ObjectExists(t, bucket, key) {
						t.Fatalf("object %s was created", key)
					}
				}
				if ups := srv.IncompleteUploads(t, bucket, "matrix"); len(ups) != 0 {
					t.Fatalf("an upload was started: %+v", ups)
				}
			})
		}
		// The uploads interrupted on purpose were never completed.
		if srv.ObjectExists(t, bucket, "future-key") || srv.ObjectExists(t, bucket, "opts-key") {
			t.Fatal("an object was completed from unusable state")
		}
	})
}

// TestSidecarOfAnotherFile: a sidecar copied from another file is never
// resumed into: the tool warns, starts a fresh upload, and the object is
// the right file.
func TestSidecarOfAnotherFile(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		a := s3test.MakeFile(t, t.TempDir(), 12*MiB, seed)
		b := s3test.MakeFile(t, t.TempDir(), 12*MiB, seed+1)
		dst := "s3://" + bucket + "/other"
		interruptAfter(t, srv.Env(), 1, "--part-size", "5MiB", a, dst)
		// Give b the journal a made, where an older s3up would have kept
		// b's (next to b): the run moves it into the state directory, and
		// must still see that it describes another file.
		scA := sidecarFile(t, srv, a)
		ep, err := store.NormalizeEndpoint(srv.Endpoint)
		if err != nil {
			t.Fatal(err)
		}
		legacy := resume.LegacySidecarPath(b, resume.Destination{Endpoint: ep, Bucket: bucket, Key: "other"})
		if out, err := exec.Command("cp", scA, legacy).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		res := s3test.RunCLI(t, t.Context(), srv.Env(), "put", "--part-size", "5MiB", b, dst)
		if res.ExitCode != 0 {
			t.Fatalf("%s", res)
		}
		if !strings.Contains(res.Stderr, "warning") || !strings.Contains(res.Stderr, "changed") {
			t.Fatalf("no warning that the state belongs to another file: %s", res)
		}
		if !strings.Contains(res.Stderr, "moved resume state") {
			t.Fatalf("the journal next to the source was not taken over: %s", res)
		}
		if _, err := os.Stat(legacy); !os.IsNotExist(err) {
			t.Fatalf("the old journal next to the source is still there: %v", err)
		}
		srv.AssertObjectMatchesFile(t, bucket, "other", b)
	})
}
