package tree

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func seeded(t testing.TB) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("S3UP_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d (S3UP_SEED=%d replays it)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x7ee))
}

// sortedRels is the model: every file's relative path, in byte order, as a
// listing of their keys would give them.
func sortedRels(rels []string) []string {
	s := slices.Clone(rels)
	slices.Sort(s)
	return s
}

func TestWalkOrderIsKeyOrderForAwkwardNames(t *testing.T) {
	root := t.TempDir()
	rels := []string{
		"a/b", "a.b", "a-b", "a0", "a b", "a!", "a~", // around '/' (0x2f)
		"ab/c", "ab.c", "a/b.c", "a/b-c", "a/b0", "a/c/d", "a/c.d",
		"\u00e9", "e\u0301", "e", "f", // NFC and NFD é: different bytes, both kept
		"\xff", "\x80x", "z\xc3\xa9/1", "z\xc3/2", "z/3", // bytes above 0x7f, not always UTF-8
		"p", "pq/r", "p-q", // a name that is a prefix of others
		"日本/語", "日本.txt",
	}
	write(t, root, rels...)
	f := walk(t, root, Options{})
	if want := sortedRels(rels); !slices.Equal(f.files, want) {
		t.Errorf("walk order\n got %q\nwant %q", f.files, want)
	}
}

func TestWalkOrderFollowedLinkSortsAsWhatItPointsTo(t *testing.T) {
	root, other := t.TempDir(), t.TempDir()
	write(t, root, "a.b", "a0", "linkdir.b")
	write(t, other, "x")
	if err := os.Symlink(other, filepath.Join(root, "a")); err != nil { // a link to a directory named "a"
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "a0"), filepath.Join(root, "linkdir")); err != nil { // a link to a file
		t.Fatal(err)
	}
	f := walk(t, root, Options{FollowSymlinks: true})
	want := []string{"a.b", "a/x", "a0", "linkdir", "linkdir.b"}
	if !slices.Equal(f.files, want) {
		t.Errorf("files %q, want %q", f.files, want)
	}
}

// randomTree writes files with random awkward names and returns their
// relative paths.
func randomTree(t *testing.T, r *rand.Rand, root string, n int) []string {
	t.Helper()
	parts := []string{"a", "b", "a.b", "a-b", "a0", "a b", "é", "e\u0301", "\xc3", "\xff", "x~", "ab"}
	seen := map[string]bool{}
	dirs := map[string]bool{}
	var rels []string
	for len(rels) < n {
		depth := 1 + r.IntN(4)
		var els []string
		for range depth {
			els = append(els, parts[r.IntN(len(parts))])
		}
		rel := strings.Join(els, "/")
		// A path cannot be both a file and a directory.
		clash := seen[rel] || dirs[rel]
		for i := 1; i < len(els); i++ {
			clash = clash || seen[strings.Join(els[:i], "/")]
		}
		if clash {
			continue
		}
		seen[rel] = true
		for i := 1; i < len(els); i++ {
			dirs[strings.Join(els[:i], "/")] = true
		}
		rels = append(rels, rel)
	}
	write(t, root, rels...)
	return rels
}

func TestWalkOrderRandomTrees(t *testing.T) {
	r := seeded(t)
	for i := range 20 {
		root := t.TempDir()
		rels := randomTree(t, r, root, 1+r.IntN(150))
		f := walk(t, root, Options{})
		if want := sortedRels(rels); !slices.Equal(f.files, want) {
			t.Fatalf("tree %d: walk order\n got %q\nwant %q", i, f.files, want)
		}
	}
}

func collect(t *testing.T, roots []string, o Options, v Visitor) ([]File, error) {
	t.Helper()
	var fs []File
	for f, err := range Files(context.Background(), roots, o, v) {
		if err != nil {
			return fs, err
		}
		fs = append(fs, f)
	}
	return fs, nil
}

func rels(fs []File) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rel)
	}
	return out
}

func TestFilesMergesRootsInKeyOrder(t *testing.T) {
	r := seeded(t)
	for i := range 10 {
		base := t.TempDir()
		var roots, all []string
		for k := range 1 + r.IntN(4) {
			root := filepath.Join(base, fmt.Sprint(k))
			// Distinct top-level names per root: a shared one could collide.
			for _, rel := range randomTree(t, r, filepath.Join(root, fmt.Sprintf("r%d", k)), 1+r.IntN(40)) {
				all = append(all, fmt.Sprintf("r%d/", k)+rel)
			}
			roots = append(roots, root)
		}
		// File roots, named by their base names.
		for k := range r.IntN(3) {
			p := filepath.Join(base, "files", fmt.Sprintf("f%d", k), fmt.Sprintf("r%d.b", k))
			write(t, filepath.Dir(p), filepath.Base(p))
			roots = append(roots, p)
			all = append(all, filepath.Base(p))
		}
		r.Shuffle(len(roots), func(a, b int) { roots[a], roots[b] = roots[b], roots[a] })
		got, err := collect(t, roots, Options{}, Visitor{})
		if err != nil {
			t.Fatal(err)
		}
		if want := sortedRels(all); !slices.Equal(rels(got), want) {
			t.Fatalf("set %d: order\n got %q\nwant %q", i, rels(got), want)
		}
		for _, f := range got {
			if fi, err := os.Stat(f.Path); err != nil || fi.Size() != f.Size {
				t.Errorf("%s: path %s does not describe the file (%v)", f.Rel, f.Path, err)
			}
		}
	}
}

func TestFilesRefusesTwoFilesOfOneKey(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	write(t, a, "x/1", "x/same", "z")
	write(t, b, "x/2", "x/same")
	got, err := collect(t, []string{a, b}, Options{}, Visitor{})
	var dup *DuplicateError
	if !errors.As(err, &dup) {
		t.Fatalf("err %v, want a DuplicateError", err)
	}
	if dup.Rel != "x/same" || dup.First != filepath.Join(a, "x", "same") || dup.Second != filepath.Join(b, "x", "same") {
		t.Errorf("duplicate %+v", dup)
	}
	if !slices.Equal(rels(got), []string{"x/1", "x/2"}) {
		t.Errorf("yielded before the duplicate: %q", rels(got))
	}
	// Filtered out on one side, it is no duplicate.
	flt, _ := NewFilter([]Rule{{Pattern: "same"}})
	if _, err := collect(t, []string{a, b}, Options{Filter: flt}, Visitor{}); err != nil {
		t.Errorf("with the duplicate excluded: %v", err)
	}
}

func TestFilesReportsABadRootBeforeAnyFile(t *testing.T) {
	a := t.TempDir()
	write(t, a, "1")
	n := 0
	var err error
	for _, e := range Files(context.Background(), []string{a, filepath.Join(a, "missing")}, Options{}, Visitor{}) {
		if e != nil {
			err = e
			break
		}
		n++
	}
	if n != 0 || !errors.Is(err, ErrRoot) {
		t.Errorf("%d files before %v, want none before an ErrRoot", n, err)
	}
}

func TestFilesStopsWhenTheConsumerStops(t *testing.T) {
	a := t.TempDir()
	write(t, a, "1", "2", "3")
	n := 0
	for range Files(context.Background(), []string{a}, Options{}, Visitor{}) {
		n++
		break
	}
	if n != 1 {
		t.Errorf("%d iterations", n)
	}
}

func TestFilesStopsOnCancel(t *testing.T) {
	a := t.TempDir()
	write(t, a, "d1/1", "d2/2", "d3/3")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []string
	var err error
	for f, e := range Files(ctx, []string{a}, Options{}, Visitor{}) {
		if e != nil {
			err = e
			break
		}
		got = append(got, f.Rel)
		cancel()
	}
	if !errors.Is(err, context.Canceled) || len(got) != 1 {
		t.Errorf("got %q then %v, want one file then context.Canceled", got, err)
	}
}

func TestVisitRefusesAnEntryThatChangedKind(t *testing.T) {
	// Read as a directory (so placed as "x/"), visited as a file: yielding
	// it there would break the order, so it is a Problem.
	root := t.TempDir()
	write(t, root, "x")
	var probs []Problem
	w := &walker{ctx: context.Background(), v: Visitor{Problem: func(p Problem) { probs = append(probs, p) }}}
	fr := &frame{path: root, entries: []entry{{name: "x", typ: fs.ModeDir}}}
	w.stack = []*frame{fr}
	f, ok, err := w.next()
	if ok || err != nil {
		t.Fatalf("next = %+v %v %v", f, ok, err)
	}
	if len(probs) != 1 || !errors.Is(probs[0].Err, ErrChanged) {
		t.Errorf("problems %v, want one ErrChanged", probs)
	}
}

func TestCompareEntries(t *testing.T) {
	d := func(n string) entry { return entry{name: n, typ: fs.ModeDir} }
	f := func(n string) entry { return entry{name: n} }
	// Sorted as their keys: "a b" < "a-b" < "a.b" < "a/" < "a0" < "ab" < "ab/".
	want := []entry{f("a b"), f("a-b"), f("a.b"), d("a"), f("a0"), f("ab"), d("ab"), f("b")}
	for i := range want {
		for j := range want {
			got := compareEntries(&want[i], &want[j])
			if (got < 0) != (i < j) || (got == 0) != (i == j) {
				t.Errorf("compare(%q dir=%v, %q dir=%v) = %d", want[i].name, want[i].dir(), want[j].name, want[j].dir(), got)
			}
		}
	}
}

func TestWalkBigDirectorySortedOnDiskKeepsTheOrder(t *testing.T) {
	r := seeded(t)
	root, other := t.TempDir(), t.TempDir()
	names := []string{"a", "a.b", "a-b", "a0", "é", "e\u0301", "\xff", "z"}
	var rels []string
	for i := range 400 {
		n := names[r.IntN(len(names))] + fmt.Sprint(i%7)
		switch r.IntN(3) {
		case 0:
			rels = append(rels, fmt.Sprintf("%s-%d", n, i))
		case 1:
			rels = append(rels, fmt.Sprintf("%s/%d", n, i)) // a directory of that name
		case 2:
			rels = append(rels, fmt.Sprintf("big/%s.%d", n, i)) // a second big directory, nested
		}
	}
	// Names used both as a file and a directory would clash: keep the first.
	var kept []string
	used := map[string]bool{}
	for _, rel := range rels {
		top := strings.SplitN(rel, "/", 2)[0]
		if strings.Contains(rel, "/") && used[top+"#file"] || !strings.Contains(rel, "/") && used[top+"#dir"] {
			continue
		}
		if strings.Contains(rel, "/") {
			used[top+"#dir"] = true
		} else {
			used[top+"#file"] = true
		}
		kept = append(kept, rel)
	}
	write(t, root, kept...)
	write(t, other, "x", "y/z")
	for i, target := range []string{other, filepath.Join(other, "x")} { // links to a directory and to a file
		if err := os.Symlink(target, filepath.Join(root, fmt.Sprintf("a.link%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(t.TempDir(), "tmp")
	inMemory := walk(t, root, Options{FollowSymlinks: true})
	onDisk := walk(t, root, Options{FollowSymlinks: true, TempDir: tmp, MaxDirEntries: 20})
	if !slices.Equal(onDisk.files, inMemory.files) {
		t.Fatalf("sorted on disk\n got %q\nwant %q", onDisk.files, inMemory.files)
	}
	want := sortedRels(append(kept, "a.link0/x", "a.link0/y/z", "a.link1"))
	if !slices.Equal(onDisk.files, want) {
		t.Fatalf("order\n got %q\nwant %q", onDisk.files, want)
	}
	if len(onDisk.problems) > 0 || len(onDisk.skipped) > 0 {
		t.Errorf("problems %v, skipped %v", onDisk.problems, onDisk.skipped)
	}
	if des, _ := os.ReadDir(tmp); len(des) > 0 {
		t.Errorf("left in the temporary directory: %v", des)
	}
}

func TestWalkBigDirectoryLinkThatChangedKind(t *testing.T) {
	// A link sorted on disk is stat'ed again when visited; if it now
	// points to a directory where it pointed to a file, its place in the
	// order is wrong: a Problem, not a file out of order.
	root, other := t.TempDir(), t.TempDir()
	write(t, root, "a", "b", "c")
	write(t, other, "f", "d/x")
	link := filepath.Join(root, "l")
	if err := os.Symlink(filepath.Join(other, "f"), link); err != nil {
		t.Fatal(err)
	}
	w := &walker{ctx: context.Background(), o: Options{FollowSymlinks: true, TempDir: t.TempDir(), MaxDirEntries: 1}}
	var probs []Problem
	w.v.Problem = func(p Problem) { probs = append(probs, p) }
	if err := w.push(root, "", nil); err != nil {
		t.Fatal(err)
	}
	defer w.close()
	if w.stack[0].big == nil {
		t.Fatal("the directory was not sorted on disk")
	}
	os.Remove(link)
	if err := os.Symlink(filepath.Join(other, "d"), link); err != nil {
		t.Fatal(err)
	}
	var files []string
	for {
		f, ok, err := w.next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		files = append(files, f.Rel)
	}
	if !slices.Equal(files, []string{"a", "b", "c"}) || len(probs) != 1 || !errors.Is(probs[0].Err, ErrChanged) {
		t.Errorf("files %q, problems %v", files, probs)
	}
}
