//go:build unix

package resume

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStateFilesRefuseLinks: a symbolic link planted at the sidecar's or the lock's name (a
// shared, group-writable state folder; a privileged cron job) must never make s3up write,
// truncate or chmod the file it points to.
func TestStateFilesRefuseLinks(t *testing.T) {
	for _, which := range []string{"sidecar", "lock"} {
		t.Run(which, func(t *testing.T) {
			dir := t.TempDir()
			victim := filepath.Join(dir, "victim.conf")
			if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "state.s3up")
			link := path
			if which == "lock" {
				link = path + ".lock"
			}
			if err := os.Symlink(victim, link); err != nil {
				t.Fatal(err)
			}
			s, err := Lock(path)
			if err == nil {
				err = s.Create(testHeader(2))
				s.Close()
			}
			if err == nil {
				t.Fatal("a symbolic link was followed")
			}
			b, rerr := os.ReadFile(victim)
			fi, serr := os.Stat(victim)
			if rerr != nil || serr != nil || string(b) != "precious" || fi.Mode().Perm() != 0o644 {
				t.Fatalf("victim changed: %q %v (%v %v)", b, fi.Mode(), rerr, serr)
			}
			t.Logf("refused: %v", err)
		})
	}
}

// TestReplaceUsesRandomTempNames: the temporary file of Create and Compact is created with a
// random name and O_EXCL, so a link planted at the old fixed name is never written through,
// and Remove deletes temporary files a crash left behind.
func TestReplaceUsesRandomTempNames(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.s3up")
	victim := filepath.Join(dir, "victim.conf")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, path+".tmp"); err != nil { // the name older versions used
		t.Fatal(err)
	}
	stray := path + ".123456.tmp" // as if a crash interrupted a replace
	if err := os.WriteFile(stray, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(testHeader(2)); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(testPart(1)); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Fatalf("victim overwritten: %q", b)
	}
	st, err := s.Load()
	if err != nil || len(st.Parts) != 1 {
		t.Fatalf("load after create+append: %v %+v", err, st)
	}
	if err := s.Remove(); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "state.s3up*"))
	if len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Fatalf("victim removed or changed: %q", b)
	}
}

// TestLockWaitsOutStatusProbe: `s3up status` probes the lock with a shared lock for a moment
// (InUse); a put that calls Lock at that instant must wait for the probe, not fail.
func TestLockWaitsOutStatusProbe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.s3up")
	probe, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	if err := flockShared(probe); err != nil {
		t.Fatal(err)
	}
	retried := make(chan struct{}, 1)
	lockRetried = func() {
		select {
		case retried <- struct{}{}:
		default:
		}
	}
	defer func() { lockRetried = nil }()
	done := make(chan error, 1)
	go func() {
		s, err := Lock(path)
		if err == nil {
			s.Close()
		}
		done <- err
	}()
	<-retried // Lock found the probe's lock and is waiting
	if err := probe.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Lock failed because of a status probe: %v", err)
	}
	// A holder that stays is still reported.
	a, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := Lock(path); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "lock") {
		t.Fatalf("second Lock: %v, want ErrLocked", err)
	}
}
