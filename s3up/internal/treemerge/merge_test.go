package treemerge

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/tree"
)

func seeded(t testing.TB) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("S3UP_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d (S3UP_SEED=%d replays it)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x3e7))
}

func filesOf(rels ...string) iter.Seq2[tree.File, error] {
	return func(yield func(tree.File, error) bool) {
		for _, r := range rels {
			if !yield(tree.File{Path: "/local/" + r, Rel: r, Size: int64(len(r))}, nil) {
				return
			}
		}
	}
}

func objectsOf(keys ...string) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		for _, k := range keys {
			if !yield(Object{Key: k, Size: int64(len(k)), ETag: `"` + k + `"`}, nil) {
				return
			}
		}
	}
}

func recordsOf(keys ...string) iter.Seq[resume.TreeRecord] {
	return func(yield func(resume.TreeRecord) bool) {
		for _, k := range keys {
			if !yield(resume.TreeRecord{Key: k, Size: int64(len(k))}) {
				return
			}
		}
	}
}

// row is an Entry as the model sees it.
type row struct {
	Key     string
	F, O, R bool
}

func (r row) String() string {
	return fmt.Sprintf("%q[%s%s%s]", r.Key, mark(r.F, "F"), mark(r.O, "O"), mark(r.R, "R"))
}

func mark(b bool, s string) string {
	if b {
		return s
	}
	return "-"
}

// model merges by sorting everything: the union of the keys, in byte
// order, as S3 lists them.
func model(prefix string, files, objects, records []string) []row {
	m := map[string]*row{}
	get := func(k string) *row {
		if m[k] == nil {
			m[k] = &row{Key: k}
		}
		return m[k]
	}
	for _, f := range files {
		get(prefix + f).F = true
	}
	for _, o := range objects {
		get(o).O = true
	}
	for _, r := range records {
		get(r).R = true
	}
	var rows []row
	for _, r := range m {
		rows = append(rows, *r)
	}
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.Key, b.Key) })
	return rows
}

// run merges and checks what every entry says against its inputs; it
// returns the rows and the error that ended the merge.
func run(t *testing.T, prefix string, files iter.Seq2[tree.File, error], objects iter.Seq2[Object, error], records iter.Seq[resume.TreeRecord]) ([]row, error) {
	t.Helper()
	var rows []row
	for e, err := range Merge(prefix, files, objects, records) {
		if err != nil {
			return rows, err
		}
		switch {
		case e.File != nil && prefix+e.File.Rel != e.Key,
			e.Object != nil && e.Object.Key != e.Key,
			e.Record != nil && e.Record.Key != e.Key:
			t.Fatalf("entry %q holds another key's item: %+v", e.Key, e)
		case e.File == nil && e.Object == nil && e.Record == nil:
			t.Fatalf("entry %q holds nothing", e.Key)
		case len(rows) > 0 && rows[len(rows)-1].Key >= e.Key:
			t.Fatalf("entry %q after %q", e.Key, rows[len(rows)-1].Key)
		}
		rows = append(rows, row{e.Key, e.File != nil, e.Object != nil, e.Record != nil})
	}
	return rows, nil
}

func sorted(keys []string) []string {
	s := slices.Clone(keys)
	slices.Sort(s)
	return slices.Compact(s)
}

func withPrefix(prefix string, rels []string) []string {
	out := make([]string, len(rels))
	for i, r := range rels {
		out[i] = prefix + r
	}
	return out
}

func write(t *testing.T, root string, rels ...string) {
	t.Helper()
	for _, r := range rels {
		p := filepath.Join(root, filepath.FromSlash(r))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(r), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMergeOfAWalkIsInTheBucketsOrderForAwkwardNames(t *testing.T) {
	root := t.TempDir()
	rels := []string{
		"a/b", "a.b", "a-b", "a0", "a b", "a~", "ab", "abc/d",
		"\u00e9", "e\u0301", "e", // NFC and NFD: two keys, byte order
		"\xff", "\x80x", "\xc3\xa9x/1", "\xc3/2", // bytes above 0x7f, not all UTF-8
		"p", "pq", "p-/q", "pp/p", // names that are prefixes of others
		"日本/語",
	}
	write(t, root, rels...)
	const prefix = "nightly/"
	// The bucket: what a listing returns, in byte order: some files
	// stored, a "directory" marker, objects whose files are gone.
	objects := append(withPrefix(prefix, []string{"a/b", "a0", "\xff", "e\u0301", "p"}),
		prefix+"a/", prefix+"a/c", prefix+"a.c", prefix+"\u00e9x", prefix+"zz", prefix+"p/")
	objects = sorted(objects)
	records := sorted(withPrefix(prefix, []string{"a/b", "a0", "gone", "p"}))
	files := tree.Files(context.Background(), []string{root}, tree.Options{}, tree.Visitor{})
	got, err := run(t, prefix, files, objectsOf(objects...), recordsOf(records...))
	if err != nil {
		t.Fatal(err)
	}
	if want := model(prefix, rels, objects, records); !slices.Equal(got, want) {
		t.Errorf("merge\n got %v\nwant %v", got, want)
	}
}

func TestMergeRandomInputsAgainstSortingEverything(t *testing.T) {
	r := seeded(t)
	alphabet := []string{"a", "b", "/", ".", "-", "0", " ", "~", "é", "e\u0301", "\x80", "\xff", "日"}
	randKeys := func(n int) []string {
		var ks []string
		for range n {
			var b strings.Builder
			for range 1 + r.IntN(6) {
				b.WriteString(alphabet[r.IntN(len(alphabet))])
			}
			ks = append(ks, b.String())
		}
		return sorted(ks)
	}
	for round := range 300 {
		prefix := []string{"", "p/", "p"}[round%3]
		rels := randKeys(r.IntN(60))
		// The bucket and the journal share keys with the files, and have
		// their own.
		var objects, records []string
		for _, k := range rels {
			if r.IntN(2) == 0 {
				objects = append(objects, prefix+k)
			}
			if r.IntN(3) == 0 {
				records = append(records, prefix+k)
			}
		}
		objects = sorted(append(objects, withPrefix(prefix, randKeys(r.IntN(30)))...))
		records = sorted(append(records, withPrefix(prefix, randKeys(r.IntN(10)))...))
		got, err := run(t, prefix, filesOf(rels...), objectsOf(objects...), recordsOf(records...))
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if want := model(prefix, rels, objects, records); !slices.Equal(got, want) {
			t.Fatalf("round %d (prefix %q)\n got %v\nwant %v", round, prefix, got, want)
		}
	}
}

func TestMergeRefusesAnInputOutOfOrder(t *testing.T) {
	ok := []string{"p/a", "p/b"}
	cases := []struct {
		name                    string
		files, objects, records []string
		input, prev, key        string
	}{
		{"files", []string{"b", "a"}, ok, ok, InputFiles, "p/b", "p/a"},
		{"files twice", []string{"a", "a"}, ok, ok, InputFiles, "p/a", "p/a"},
		{"listing", nil, []string{"p/a", "p/c", "p/b"}, nil, InputObjects, "p/c", "p/b"},
		{"listing directory first", nil, []string{"p/a/x", "p/a.b"}, nil, InputObjects, "p/a/x", "p/a.b"},
		{"listing twice", nil, []string{"p/a", "p/a"}, nil, InputObjects, "p/a", "p/a"},
		{"journal", nil, nil, []string{"p/b", "p/a"}, InputRecords, "p/b", "p/a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := run(t, "p/", filesOf(c.files...), objectsOf(c.objects...), recordsOf(c.records...))
			var oe *OrderError
			if !errors.As(err, &oe) || !errors.Is(err, ErrOrder) {
				t.Fatalf("err %v, want an OrderError", err)
			}
			if oe.Input != c.input || oe.Prev != c.prev || oe.Key != c.key {
				t.Errorf("OrderError %+v, want %s %q after %q", oe, c.input, c.key, c.prev)
			}
			if !strings.Contains(err.Error(), c.input) {
				t.Errorf("message %q does not name the input", err)
			}
		})
	}
}

// directoryFirst is the order of a store that lists a directory's
// contents where the directory's name falls ("a/x" before "a.b"), as
// stores over a file system tree may: not byte order.
func directoryFirst(keys []string) []string {
	s := slices.Clone(keys)
	slices.SortFunc(s, func(a, b string) int {
		return strings.Compare(strings.ReplaceAll(a, "/", "\x00"), strings.ReplaceAll(b, "/", "\x00"))
	})
	return s
}

func TestMergeNeverOffersToDeleteAKeyWhoseFileExists(t *testing.T) {
	r := seeded(t)
	parts := []string{"a", "a.b", "a-b", "a0", "b", "\u00e9", "e\u0301", "\xff"}
	for round := range 200 {
		// A tree on disk, walked: the walk's order against the listing's.
		root := t.TempDir()
		local := map[string]bool{}
		var rels []string
		for range r.IntN(30) {
			var els []string
			for range 1 + r.IntN(3) {
				els = append(els, parts[r.IntN(len(parts))])
			}
			rel := strings.Join(els, "/")
			clash := local["p/"+rel]
			for k := range local {
				clash = clash || strings.HasPrefix(k, "p/"+rel+"/") || strings.HasPrefix("p/"+rel, k+"/")
			}
			if !clash {
				local["p/"+rel] = true
				rels = append(rels, rel)
			}
		}
		write(t, root, rels...)
		var objects []string
		for k := range local {
			if r.IntN(3) > 0 {
				objects = append(objects, k)
			}
		}
		for range r.IntN(10) {
			objects = append(objects, "p/"+parts[r.IntN(len(parts))]+"/"+parts[r.IntN(len(parts))]+"x")
		}
		objects = sorted(objects)
		// A listing in another order: directory first, or a pair swapped,
		// or a key listed again later.
		switch round % 3 {
		case 0:
			objects = directoryFirst(objects)
		case 1:
			if len(objects) > 1 {
				i := r.IntN(len(objects) - 1)
				objects[i], objects[i+1] = objects[i+1], objects[i]
			}
		case 2:
			if len(objects) > 0 {
				objects = slices.Insert(objects, r.IntN(len(objects)+1), objects[r.IntN(len(objects))])
			}
		}
		walk := func() iter.Seq2[tree.File, error] {
			return tree.Files(context.Background(), []string{root}, tree.Options{}, tree.Visitor{})
		}
		rows, err := run(t, "p/", walk(), objectsOf(objects...), nil)
		for _, row := range rows {
			if row.O && !row.F && local[row.Key] {
				t.Fatalf("round %d: %q offered for deletion, but its file exists (listing %q, then %v)", round, row.Key, objects, err)
			}
			if local[row.Key] != row.F {
				t.Fatalf("round %d: %v, but the file exists: %v", round, row, local[row.Key])
			}
		}
		var oe *OrderError
		if err != nil && (!errors.As(err, &oe) || oe.Input != InputObjects) {
			t.Fatalf("round %d: %v", round, err)
		}
		if err == nil && !slices.IsSorted(objects) {
			t.Fatalf("round %d: a listing out of order (%q) went through", round, objects)
		}
		if err == nil {
			continue
		}
		// The fallback: sort the listing, merge again: the model's answer.
		so, err := SortObjects(objectsOf(objects...), t.TempDir(), 0)
		if err != nil {
			t.Fatal(err)
		}
		rows, err = run(t, "p/", walk(), so.All(), nil)
		so.Close()
		if err != nil {
			t.Fatalf("round %d: after sorting the listing: %v", round, err)
		}
		if want := model("p/", rels, sorted(objects), nil); !slices.Equal(rows, want) {
			t.Fatalf("round %d: after sorting the listing\n got %v\nwant %v", round, rows, want)
		}
	}
}

func TestMergePassesInputErrorsThrough(t *testing.T) {
	_, err := run(t, "", tree.Files(context.Background(), []string{filepath.Join(t.TempDir(), "missing")}, tree.Options{}, tree.Visitor{}), nil, nil)
	if !errors.Is(err, tree.ErrRoot) {
		t.Errorf("a bad root: %v", err)
	}
	denied := errors.New("AccessDenied")
	listing := func(yield func(Object, error) bool) {
		if yield(Object{Key: "a"}, nil) {
			yield(Object{}, denied)
		}
	}
	rows, err := run(t, "", filesOf("a", "b"), listing, nil)
	if !errors.Is(err, denied) {
		t.Errorf("a failed listing: %v", err)
	}
	if want := []row{{Key: "a", F: true, O: true}}; !slices.Equal(rows, want) {
		t.Errorf("before the error: %v, want %v", rows, want)
	}
}

func TestMergeStopsItsInputs(t *testing.T) {
	var stopped []string
	input := func(name string, keys ...string) iter.Seq2[Object, error] {
		return func(yield func(Object, error) bool) {
			defer func() { stopped = append(stopped, name) }()
			for _, k := range keys {
				if !yield(Object{Key: k}, nil) {
					return
				}
			}
		}
	}
	files := func(yield func(tree.File, error) bool) {
		defer func() { stopped = append(stopped, "files") }()
		for _, k := range []string{"a", "b", "c"} {
			if !yield(tree.File{Rel: k}, nil) {
				return
			}
		}
	}
	for range Merge("", files, input("objects", "a", "b", "c"), nil) {
		break
	}
	slices.Sort(stopped)
	if !slices.Equal(stopped, []string{"files", "objects"}) {
		t.Errorf("stopped %v, want both inputs", stopped)
	}
}

func TestSortObjects(t *testing.T) {
	r := seeded(t)
	var objects []Object
	for i := range 30_000 {
		objects = append(objects, Object{Key: fmt.Sprintf("p/%05d/é", r.IntN(20_000)), Size: int64(i), ETag: fmt.Sprintf(`"%d"`, i)})
	}
	last := map[string]Object{}
	for _, o := range objects {
		last[o.Key] = o
	}
	listing := func(yield func(Object, error) bool) {
		for _, o := range objects {
			if !yield(o, nil) {
				return
			}
		}
	}
	dir := filepath.Join(t.TempDir(), "tmp")
	so, err := SortObjects(listing, dir, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	if so.Len() != int64(len(objects)) {
		t.Errorf("Len %d", so.Len())
	}
	var got []Object
	for o, err := range so.All() {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, o)
	}
	if len(got) != len(last) || !slices.IsSortedFunc(got, func(a, b Object) int { return strings.Compare(a.Key, b.Key) }) {
		t.Fatalf("%d objects, want %d, sorted", len(got), len(last))
	}
	for _, o := range got {
		if last[o.Key] != o {
			t.Fatalf("%q: %+v, want its last listing %+v", o.Key, o, last[o.Key])
		}
	}
	for _, err := range so.All() {
		if err == nil {
			t.Error("a second read succeeded")
		}
	}
	if err := so.Close(); err != nil {
		t.Fatal(err)
	}
	if des, _ := os.ReadDir(dir); len(des) != 0 {
		t.Errorf("left in %s: %v", dir, des)
	}
	// A listing that fails is the error, not a short sorted listing.
	denied := errors.New("AccessDenied")
	failing := func(yield func(Object, error) bool) {
		if yield(Object{Key: "a"}, nil) {
			yield(Object{}, denied)
		}
	}
	if _, err := SortObjects(failing, dir, 0); !errors.Is(err, denied) {
		t.Errorf("failing listing: %v", err)
	}
}
