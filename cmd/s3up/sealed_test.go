package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"filippo.io/age"
)

// TestPutBadRecipientIsExit2: a recipient that does not parse, a
// recipients file that cannot be read or names nobody, is exit 2 with a
// line naming the flag, and no request reaches the store.
func TestPutBadRecipientIsExit2(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "top-secret-value-123")
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(500)
	}))
	defer srv.Close()
	dir := t.TempDir()
	src := filepath.Join(dir, "f.bin")
	os.WriteFile(src, []byte("x"), 0o644)
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, []byte("# nobody yet\n"), 0o644)
	id, _ := age.GenerateX25519Identity()
	good := id.Recipient().String()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--encrypt-to", "age1notakey"}, "not a valid age1 X25519 public key"},
		{[]string{"--encrypt-to", good, "--encrypt-to", "ssh-dss AAAA"}, "recipient"},
		{[]string{"--encrypt-to", id.String()}, "a secret key (identity) is not a recipient"},
		{[]string{"--encrypt-to-file", filepath.Join(dir, "missing.txt")}, "cannot read"},
		{[]string{"--encrypt-to-file", empty}, "no recipients"},
		{[]string{"--encrypt-to", ""}, "recipient"},
	} {
		args := append(append([]string{"put", "--endpoint", srv.URL}, tc.args...), src, "s3://bucket/f.bin")
		code, _, stderr := runArgs(t, args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "--encrypt-to") {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, stderr)
		}
		if strings.Contains(stderr, "AGE-SECRET-KEY") {
			t.Errorf("%v: the message repeats a secret key: %q", tc.args, stderr)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("%d requests reached the store", n)
	}
}
