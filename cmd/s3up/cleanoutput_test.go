package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestMain lets a test run this test binary as the s3up command itself, so
// that what the SDK writes straight to os.Stderr is seen too (run() only
// captures the app's own writers).

// runMain runs s3up in a child process with a scrubbed environment: no
// AWS_* variable, HOME an empty directory (no shared config or
// credentials), plus extra.
func runMain(t *testing.T, extra []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append([]string{"S3UP_TEST_RUN_MAIN=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, extra...)
	if v, ok := os.LookupEnv("GOCOVERDIR"); ok {
		cmd.Env = append(cmd.Env, "GOCOVERDIR="+v)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("s3up %v did not finish in time; stderr:\n%s", args, errb.String())
	}
	code = cmd.ProcessState.ExitCode()
	if code < 0 {
		t.Fatalf("s3up %v: %v", args, err)
	}
	return code, out.String(), errb.String()
}

// fakeIMDS answers like an EC2 metadata service of a host without an
// instance role behind a proxy that refuses IMDSv2 tokens: 403 for the token
// (the SDK then logs "falling back to IMDSv1"), 404 for the role. It stands
// on loopback so the test never talks to a real metadata address.
func fakeIMDS(t *testing.T) (url string, tokenRequests *atomic.Int32) {
	tokenRequests = new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/latest/api/token" {
			tokenRequests.Add(1)
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, tokenRequests
}

// closedPort returns a loopback URL that refuses connections.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestNoCredentialsOnlyOwnLines(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "backup.bin")
	if err := os.WriteFile(src, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	imds, tokens := fakeIMDS(t)
	for _, tc := range []struct {
		name string
		imds string
	}{
		{"imds refuses tokens", imds},
		{"imds unreachable", closedPort(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + tc.imds}
			code, stdout, stderr := runMain(t, env, "put", "--retries", "1", "--state-dir", filepath.Join(dir, "state"),
				"--endpoint", "http://127.0.0.1:1", src, "s3://bucket/backup.bin")
			if code == 0 {
				t.Error("exit 0 without credentials")
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			for _, l := range lines {
				if !strings.HasPrefix(l, "s3up: ") {
					t.Errorf("stderr line not from s3up: %q\nstderr:\n%s", l, stderr)
				}
			}
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, "s3up: error: ") {
				t.Errorf("last stderr line %q, want s3up's error line", last)
			}
		})
	}
	if tokens.Load() == 0 {
		t.Fatal("the SDK never asked the fake IMDS for a token: the IMDS path was not exercised")
	}

	// --debug routes the SDK's log to stderr, credentials redacted.
	t.Run("debug", func(t *testing.T) {
		env := []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + imds}
		_, _, stderr := runMain(t, env, "put", "--debug", "--retries", "1", "--state-dir", filepath.Join(dir, "state"),
			"--endpoint", "http://127.0.0.1:1", src, "s3://bucket/backup.bin")
		if !strings.Contains(stderr, "WARN falling back to IMDSv1") {
			t.Errorf("--debug: the SDK warning is missing from stderr:\n%s", stderr)
		}
	})
}

func TestRedactSecrets(t *testing.T) {
	dump := "PUT /bucket/key?partNumber=1 HTTP/1.1\r\nHost: s3.example\r\n" +
		"Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, Signature=abcdef\r\n" +
		"X-Amz-Security-Token: session-token-secret\r\nX-Amz-Date: 20260101T000000Z\r\n\r\n"
	var b bytes.Buffer
	newSDKLogger(&b).Logf("DEBUG", "Request\n%s", dump)
	got := b.String()
	for _, secret := range []string{"Signature=abcdef", "session-token-secret", "AKID"} {
		if strings.Contains(got, secret) {
			t.Errorf("%q not redacted:\n%s", secret, got)
		}
	}
	for _, keep := range []string{"Authorization: REDACTED", "X-Amz-Security-Token: REDACTED", "X-Amz-Date: 20260101T000000Z", "Host: s3.example"} {
		if !strings.Contains(got, keep) {
			t.Errorf("%q missing:\n%s", keep, got)
		}
	}
	if !strings.HasPrefix(got, "SDK ") || strings.Contains(got, "\r") || !strings.HasSuffix(got, "\n") || strings.HasSuffix(got, "\n\n") {
		t.Errorf("format: %q", got)
	}
}
