package tree

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/s3up/s3up/s3up/internal/unpriv"
)

type found struct {
	files    []string
	skipped  map[string]string
	problems map[string]error
	excluded []string
}

func walk(t *testing.T, root string, o Options) found {
	t.Helper()
	f := found{skipped: map[string]string{}, problems: map[string]error{}}
	err := Walk(context.Background(), root, o, Visitor{
		File: func(x File) error {
			f.files = append(f.files, x.Rel)
			if fi, err := os.Stat(x.Path); err != nil || fi.Size() != x.Size || !fi.ModTime().Equal(x.ModTime) {
				t.Errorf("%s: File %+v does not describe %v (%v)", x.Rel, x, fi, err)
			}
			return nil
		},
		Skipped:  func(s Skipped) { f.skipped[s.Rel] = s.Reason },
		Problem:  func(p Problem) { f.problems[p.Rel] = p.Err },
		Excluded: func(rel string, dir bool) { f.excluded = append(f.excluded, rel) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func write(t *testing.T, root string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("content of "+f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWalkNamesAndOrder(t *testing.T) {
	root := t.TempDir()
	names := []string{"b.txt", "a/z", "a/é accent/ü.bin", "with space", "a/.hidden", "deep/1/2/3/4/f", "empty"}
	write(t, root, names...)
	if err := os.Truncate(filepath.Join(root, "empty"), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "emptydir", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := walk(t, root, Options{})
	want := []string{"a/.hidden", "a/z", "a/é accent/ü.bin", "b.txt", "deep/1/2/3/4/f", "empty", "with space"}
	if !slices.Equal(f.files, want) {
		t.Errorf("files %q, want %q", f.files, want)
	}
	if len(f.skipped)+len(f.problems) > 0 {
		t.Errorf("skipped %v, problems %v", f.skipped, f.problems)
	}
}

func TestWalkFileRoot(t *testing.T) {
	root := t.TempDir()
	write(t, root, "d/one.txt")
	f := walk(t, filepath.Join(root, "d", "one.txt"), Options{})
	if !slices.Equal(f.files, []string{"one.txt"}) {
		t.Errorf("files %q", f.files)
	}
}

func TestWalkSpecialFilesAreNeverOpened(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a.txt")
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Opening the FIFO for reading would block until a writer comes: the
	// walk returns at all only if it never opens it.
	done := make(chan found, 1)
	go func() { done <- walk(t, root, Options{}) }()
	select {
	case f := <-done:
		if !slices.Equal(f.files, []string{"a.txt"}) {
			t.Errorf("files %q", f.files)
		}
		if r := f.skipped["fifo"]; !strings.Contains(r, "FIFO") {
			t.Errorf("fifo skipped as %q", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the walk hangs on a FIFO")
	}
}

func TestWalkSocketsAndDevicesAreSkipped(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a.txt")
	l, err := net.Listen("unix", filepath.Join(root, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// A device through a followed link: /dev/null is a character device
	// on every Unix.
	if err := os.Symlink("/dev/null", filepath.Join(root, "null")); err != nil {
		t.Fatal(err)
	}
	f := walk(t, root, Options{FollowSymlinks: true})
	if !slices.Equal(f.files, []string{"a.txt"}) {
		t.Errorf("files %q", f.files)
	}
	if r := f.skipped["sock"]; !strings.Contains(r, "socket") || !strings.Contains(r, "never opened") {
		t.Errorf("socket skipped as %q", r)
	}
	if r := f.skipped["null"]; !strings.Contains(r, "character device") {
		t.Errorf("device skipped as %q", r)
	}
}

func TestWalkSymlinks(t *testing.T) {
	root := t.TempDir()
	other := t.TempDir()
	write(t, root, "d/real.txt")
	write(t, other, "x/linked.txt")
	mustLink := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	mustLink(filepath.Join(root, "d", "real.txt"), "file-link")
	mustLink(filepath.Join(other, "x"), "dir-link")
	mustLink("..", "d/loop")        // back to root: a loop
	mustLink("nowhere", "dangling") // points at nothing

	t.Run("not followed by default", func(t *testing.T) {
		f := walk(t, root, Options{})
		if !slices.Equal(f.files, []string{"d/real.txt"}) {
			t.Errorf("files %q", f.files)
		}
		for _, l := range []string{"file-link", "dir-link", "d/loop", "dangling"} {
			if !strings.Contains(f.skipped[l], "not followed") {
				t.Errorf("%s skipped as %q", l, f.skipped[l])
			}
		}
	})
	t.Run("followed with loop detection", func(t *testing.T) {
		f := walk(t, root, Options{FollowSymlinks: true})
		want := []string{"d/real.txt", "dir-link/linked.txt", "file-link"}
		if !slices.Equal(f.files, want) {
			t.Errorf("files %q, want %q", f.files, want)
		}
		if !strings.Contains(f.skipped["d/loop"], "loop") {
			t.Errorf("loop skipped as %q", f.skipped["d/loop"])
		}
		if !strings.Contains(f.skipped["dangling"], "dangling") {
			t.Errorf("dangling skipped as %q", f.skipped["dangling"])
		}
	})
	t.Run("a root that is a link is followed", func(t *testing.T) {
		f := walk(t, filepath.Join(root, "dir-link"), Options{})
		if !slices.Equal(f.files, []string{"linked.txt"}) {
			t.Errorf("files %q", f.files)
		}
	})
}

func TestWalkFilterAndPrune(t *testing.T) {
	root := t.TempDir()
	write(t, root, "keep.txt", "a.tmp", "cache/x", "cache/y/z", "src/cache/w", "src/main.go")
	// An unreadable directory under an excluded one is never entered, so
	// it is no problem.
	if err := os.Chmod(filepath.Join(root, "cache", "y"), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(root, "cache", "y"), 0o755) })
	flt, err := NewFilter(rules("-", "*.tmp", "-", "/cache/"))
	if err != nil {
		t.Fatal(err)
	}
	f := walk(t, root, Options{Filter: flt})
	want := []string{"keep.txt", "src/cache/w", "src/main.go"}
	if !slices.Equal(f.files, want) {
		t.Errorf("files %q, want %q", f.files, want)
	}
	if !slices.Equal(f.excluded, []string{"a.tmp", "cache"}) {
		t.Errorf("excluded %q", f.excluded)
	}
	if len(f.problems) > 0 {
		t.Errorf("problems %v", f.problems)
	}
}

func TestWalkUnreadableDirectoryIsAProblemNotAStop(t *testing.T) {
	if !unpriv.Run(t) {
		return // root reads every directory: it ran as nobody
	}
	root := t.TempDir()
	write(t, root, "a/1", "b/2", "c/3")
	if err := os.Chmod(filepath.Join(root, "b"), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(root, "b"), 0o755) })
	f := walk(t, root, Options{})
	if !slices.Equal(f.files, []string{"a/1", "c/3"}) {
		t.Errorf("files %q", f.files)
	}
	if !errors.Is(f.problems["b"], os.ErrPermission) {
		t.Errorf("problems %v", f.problems)
	}
}

func TestWalkRootErrors(t *testing.T) {
	root := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(root, "missing"), filepath.Join(root, "fifo")} {
		err := Walk(context.Background(), p, Options{}, Visitor{})
		if !errors.Is(err, ErrRoot) {
			t.Errorf("Walk(%s) = %v, want ErrRoot", p, err)
		}
	}
}
