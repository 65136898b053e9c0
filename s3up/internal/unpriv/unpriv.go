// Package unpriv runs a test as an unprivileged user when the test binary
// runs as root, so that tests of permission errors test something on
// machines (CI, containers) where everything runs as root: root reads
// mode-0000 files and directories.
package unpriv

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// Nobody is the uid and gid the test runs as.
const Nobody = 65534

// envChild marks the re-executed test.
const envChild = "S3UP_UNPRIV_CHILD"

// Run makes the calling test run without root's privileges. Called as
// root, it re-executes the test binary with only this test, as uid/gid
// Nobody, reports its output, fails if it fails, and returns false: the
// caller returns at once. Called otherwise (not root, or in the child), it
// returns true and the caller goes on with the test.
func Run(t *testing.T) bool {
	t.Helper()
	if os.Geteuid() != 0 {
		return true
	}
	if os.Getenv(envChild) != "" {
		t.Fatal("still root in the unprivileged child")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary's directory is root's; copy it where nobody can run it.
	dir, err := os.MkdirTemp("", "s3up-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, filepath.Base(exe))
	if err := copyFile(exe, bin); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "tmp")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(work, Nobody, Nobody); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), envChild+"=1", "TMPDIR="+work, "HOME="+work, "GOCOVERDIR=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: Nobody, Gid: Nobody}}
	out, err := cmd.CombinedOutput()
	t.Logf("as uid %d:\n%s", Nobody, out)
	if err != nil {
		t.Fatalf("the test failed as an unprivileged user: %v", err)
	}
	return false
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
