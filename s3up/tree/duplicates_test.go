package tree

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestDuplicates(t *testing.T) {
	base := t.TempDir()
	mk := func(name string, rels ...string) string {
		root := filepath.Join(base, name)
		write(t, root, rels...)
		return root
	}
	a := mk("a", "shared/x/1", "shared/x/same", "only-a/1")
	b := mk("b", "shared/x/2", "shared/x/same", "only-b/1")
	c := mk("c", "shared/x/3", "other/1")
	file := filepath.Join(mk("f", "only-a"), "only-a") // a file root named like a's directory
	ctx := context.Background()

	var dup *DuplicateError
	if err := Duplicates(ctx, []string{a, b}, Options{}); !errors.As(err, &dup) || dup.Rel != "shared/x/same" {
		t.Errorf("a, b: %v, want a DuplicateError for shared/x/same", err)
	}
	if err := Duplicates(ctx, []string{a, c}, Options{}); err != nil {
		t.Errorf("a, c share a directory but no file: %v", err)
	}
	if err := Duplicates(ctx, []string{a}, Options{}); err != nil {
		t.Errorf("one root: %v", err)
	}
	flt, _ := NewFilter([]Rule{{Pattern: "same"}})
	if err := Duplicates(ctx, []string{a, b}, Options{Filter: flt}); err != nil {
		t.Errorf("the duplicate excluded: %v", err)
	}
	// A file root and a directory of one name give different keys
	// ("only-a" and "only-a/1"): no duplicate, but two files of one name do.
	if err := Duplicates(ctx, []string{a, file}, Options{}); err != nil {
		t.Errorf("a file and a directory of one name: %v", err)
	}
	if err := Duplicates(ctx, []string{file, file}, Options{}); !errors.As(err, &dup) {
		t.Errorf("one file twice: %v", err)
	}
	if err := Duplicates(ctx, []string{a, filepath.Join(base, "missing")}, Options{}); err != nil {
		t.Errorf("a missing root is the run's to report: %v", err)
	}
}

func TestDuplicatesWalksOnlyWhatRootsShare(t *testing.T) {
	base := t.TempDir()
	a, b := filepath.Join(base, "a"), filepath.Join(base, "b")
	write(t, a, "shared/1", "mine/1")
	write(t, b, "shared/2", "yours/1")
	for _, p := range []string{filepath.Join(a, "mine", "link"), filepath.Join(a, "shared", "link")} {
		if err := os.Symlink("/", p); err != nil {
			t.Fatal(err)
		}
	}
	var skipped []string
	v := Visitor{Skipped: func(s Skipped) { skipped = append(skipped, s.Rel) }}
	var got []string
	for f, err := range files(context.Background(), []string{a, b}, Options{}, v, map[string]bool{"shared": true}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f.Rel)
	}
	if len(got) != 2 || got[0] != "shared/1" || got[1] != "shared/2" {
		t.Errorf("walked %q, want the shared directory's files only", got)
	}
	if len(skipped) != 1 || skipped[0] != "shared/link" {
		t.Errorf("visited %q: it entered a directory the roots do not share", skipped)
	}
}
