package resume

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func treeDest() Destination {
	return Destination{Endpoint: "http://127.0.0.1:9000", Bucket: "b", Key: "nightly/"}
}

func openTree(t *testing.T, path string) *TreeJournal {
	t.Helper()
	j, err := OpenTree(path, treeDest())
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// records reads every record of a reader, checking they come in strictly
// increasing key order.
func records(t *testing.T, rd *TreeReader) []TreeRecord {
	t.Helper()
	defer rd.Close()
	var out []TreeRecord
	for r := range rd.All() {
		if len(out) > 0 && out[len(out)-1].Key >= r.Key {
			t.Fatalf("%q after %q", r.Key, out[len(out)-1].Key)
		}
		out = append(out, r)
	}
	return out
}

// dirNames lists the journal directory, without the lock file.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range des {
		if !strings.HasSuffix(d.Name(), ".lock") {
			names = append(names, d.Name())
		}
	}
	return names
}

func TestTreeJournalRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := TreeJournalPath(dir, treeDest())
	j := openTree(t, path)
	a := TreeRecord{Key: "nightly/a", Size: 3, MTime: 1700000000123456789, ETag: `"0123456789abcdef0123456789abcdef"`}
	b := TreeRecord{Key: "nightly/dir/é b", Size: 0, MTime: 1, ETag: `"e2"`}
	j.Put(a)
	j.Put(b)
	j.Put(TreeRecord{Key: "nightly/gone", Size: 1, MTime: 1, ETag: `"e3"`})
	a2 := a
	a2.ETag = `"e1b-2"`
	j.Put(a2) // replaces
	if err := j.Flush(); err != nil {
		t.Fatal(err)
	}
	// A crash now (no Close): the flushed records are there for the next run.
	got, err := ReadTree(path, treeDest())
	if err != nil || len(got) != 3 || got["nightly/a"] != a2 || got["nightly/dir/é b"] != b {
		t.Fatalf("after flush: %v %v", got, err)
	}
	if err := j.Close(func(k string) bool { return k != "nightly/gone" }); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, filepath.Dir(path)); !slices.Equal(names, []string{filepath.Base(strings.TrimSuffix(path, ".jsonl") + ".tree")}) {
		t.Errorf("after Close the directory holds %q, want the sorted journal only", names)
	}
	j = openTree(t, path)
	defer j.Release()
	if got := records(t, j.Records()); !slices.Equal(got, []TreeRecord{a2, b}) {
		t.Errorf("records %v", got)
	}
	if r, ok := j.Get("nightly/a"); !ok || r != a2 {
		t.Errorf("Get a = %v %v", r, ok)
	}
	if _, ok := j.Get("nightly/gone"); ok {
		t.Error("a record Close did not keep is still there")
	}
	if fi, err := os.Stat(j.Path()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v (%v), want 0600", fi.Mode(), err)
	}
}

func TestTreeJournalLocked(t *testing.T) {
	path := TreeJournalPath(t.TempDir(), treeDest())
	j := openTree(t, path)
	if _, err := OpenTree(path, treeDest()); !errors.Is(err, ErrLocked) {
		t.Fatalf("second OpenTree: %v, want ErrLocked", err)
	}
	if _, err := os.Stat(path + ".lock"); err != nil {
		t.Errorf("the lock is not where version 1 kept it: %v", err)
	}
	j.Release()
	j, err := OpenTree(path, treeDest())
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	j.Release()
}

func TestTreeJournalIgnoresWhatItCannotTrust(t *testing.T) {
	dir := t.TempDir()
	path := TreeJournalPath(dir, treeDest())
	j := openTree(t, path)
	j.Put(TreeRecord{Key: "nightly/a", Size: 1, MTime: 1, ETag: `"e"`})
	j.Close(nil)

	// Another destination's journal at this path gives nothing.
	other := treeDest()
	other.Key = "elsewhere/"
	if got, _ := ReadTree(path, other); len(got) != 0 {
		t.Errorf("read for another prefix: %v", got)
	}
	// A run's log torn by a crash: its last, partial block is skipped.
	j = openTree(t, path)
	j.Put(TreeRecord{Key: "nightly/b", Size: 2, MTime: 2, ETag: `"f"`})
	j.Flush()
	log := j.st.paths.pending(j.seq)
	j.Release()
	f, _ := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{0x80, 0x01, 1, 2, 3}) // a block of 128 bytes, cut after 3
	f.Close()
	got, err := ReadTree(path, treeDest())
	if err != nil || len(got) != 2 || got["nightly/b"].Size != 2 || got["nightly/a"].Size != 1 {
		t.Errorf("with a torn log: %v %v", got, err)
	}
	// A journal of a future format is ignored, and so is a version-1 one.
	for _, p := range []string{j.Path(), path} {
		os.Remove(j.Path())
		os.WriteFile(p, []byte(`{"tree_version":99,"kind":"sorted","endpoint":"http://127.0.0.1:9000","bucket":"b","prefix":"nightly/"}`+"\n"+`{"k":"nightly/c","s":1,"m":1,"e":"x"}`+"\n"), 0o600)
		if got, _ := ReadTree(path, treeDest()); got["nightly/c"].Size != 0 {
			t.Errorf("future format at %s read: %v", p, got)
		}
		os.Remove(p)
	}
	if filepath.Dir(path) != filepath.Join(dir, "trees") {
		t.Errorf("journal at %s, want under %s/trees", path, dir)
	}
}

// v1Journal is a version-1 journal as s3up wrote it: the header, then
// records in the order files were stored (a crashed run appended after a
// compacted, sorted part), later lines replacing earlier ones.
func v1Journal(dest Destination, recs []TreeRecord, tail string) []byte {
	var b bytes.Buffer
	h, _ := json.Marshal(map[string]any{"tree_version": 1, "endpoint": dest.Endpoint, "bucket": dest.Bucket, "prefix": dest.Key})
	b.Write(append(h, '\n'))
	for _, r := range recs {
		l, _ := json.Marshal(r)
		b.Write(append(l, '\n'))
	}
	b.WriteString(tail)
	return b.Bytes()
}

func randomRecords(r *rand.Rand, n, keys int) []TreeRecord {
	recs := make([]TreeRecord, n)
	for i := range recs {
		k := r.IntN(keys)
		recs[i] = TreeRecord{Key: fmt.Sprintf("nightly/d%03d/f%06d", k%97, k), Size: int64(i), MTime: r.Int64(), ETag: fmt.Sprintf(`"%032x"`, r.Uint64())}
	}
	return recs
}

// lastWins is the model: one record per key, the last written, by key.
func lastWins(recs ...[]TreeRecord) []TreeRecord {
	m := map[string]TreeRecord{}
	for _, rs := range recs {
		for _, r := range rs {
			m[r.Key] = r
		}
	}
	out := make([]TreeRecord, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b TreeRecord) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func TestTreeJournalReadsVersion1(t *testing.T) {
	r := seeded(t)
	dir := t.TempDir()
	path := TreeJournalPath(dir, treeDest())
	os.MkdirAll(filepath.Dir(path), 0o700)
	recs := randomRecords(r, 30_000, 20_000)
	data := v1Journal(treeDest(), recs[:15_000], "not json\n")
	data = append(data, v1Journal(treeDest(), recs[15_000:], `{"k":"nightly/torn","s":`)[bytes.IndexByte(data, '\n')+1:]...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	want := lastWins(recs)
	o := TreeOptions{SortBudget: 64 << 10} // small: the sort must spill

	// A dry run reads it in order, and leaves it as it is.
	rd := OpenTreeReader(path, treeDest(), o)
	if got := records(t, rd); !slices.Equal(got, want) {
		t.Fatalf("dry run: %d records, want %d", len(got), len(want))
	}
	if st := rd.sorter; st != nil {
		t.Error("reader kept its sorter after Close")
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, data) {
		t.Error("a dry run changed the version-1 journal")
	}

	j, err := OpenTreeWith(path, treeDest(), o)
	if err != nil {
		t.Fatal(err)
	}
	rd = j.Records()
	first, _ := rd.Next()
	if stats := rd.sorter.Stats(); stats.Runs < 2 || stats.MaxMemory > 64<<10 {
		t.Errorf("sort stats %+v: want several runs within the 64 KiB budget", stats)
	}
	if first != want[0] {
		t.Errorf("first record %v, want %v", first, want[0])
	}
	rd.Close()
	if err := j.Close(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the version-1 journal is still there after Close: %v", err)
	}
	// The skips keep coming: the same records, now from the sorted journal.
	j = openTree(t, path)
	defer j.Release()
	if got := records(t, j.Records()); !slices.Equal(got, want) {
		t.Fatalf("after conversion: %d records, want %d", len(got), len(want))
	}
	if r, ok := j.Get(want[7].Key); !ok || r != want[7] {
		t.Errorf("Get = %v %v, want %v", r, ok, want[7])
	}
}

func TestTreeJournalVersion1OfAnotherDestinationIsIgnored(t *testing.T) {
	path := TreeJournalPath(t.TempDir(), treeDest())
	os.MkdirAll(filepath.Dir(path), 0o700)
	other := treeDest()
	other.Bucket = "other"
	os.WriteFile(path, v1Journal(other, []TreeRecord{{Key: "nightly/a", Size: 1, ETag: `"e"`}}, ""), 0o600)
	if got, err := ReadTree(path, treeDest()); len(got) != 0 || err != nil {
		t.Errorf("read %v %v", got, err)
	}
}

func TestTreeJournalMergesRunsThatNeverClosed(t *testing.T) {
	path := TreeJournalPath(t.TempDir(), treeDest())
	j := openTree(t, path)
	old := []TreeRecord{{Key: "nightly/a", Size: 1, ETag: `"a1"`}, {Key: "nightly/b", Size: 1, ETag: `"b1"`}, {Key: "nightly/c", Size: 1, ETag: `"c1"`}}
	for _, r := range old {
		j.Put(r)
	}
	j.Close(nil)

	// Two runs killed after a flush: their logs stay, the later one wins.
	run1 := []TreeRecord{{Key: "nightly/b", Size: 2, ETag: `"b2"`}, {Key: "nightly/d", Size: 2, ETag: `"d2"`}}
	run2 := []TreeRecord{{Key: "nightly/d", Size: 3, ETag: `"d3"`}, {Key: "nightly/a", Size: 3, ETag: `"a3"`}}
	for _, run := range [][]TreeRecord{run1, run2} {
		j = openTree(t, path)
		for _, r := range run {
			j.Put(r)
		}
		j.Flush()
		j.lock.Unlock() // the process dies: no Close, no Release
	}
	want := lastWins(old, run1, run2)
	j = openTree(t, path)
	if got := records(t, j.Records()); !slices.Equal(got, want) {
		t.Fatalf("records\n got %v\nwant %v", got, want)
	}
	if got, _ := ReadTree(path, treeDest()); len(got) != len(want) {
		t.Errorf("dry run: %v", got)
	}
	// This run finds a, c and e; it stores e and c again.
	run3 := []TreeRecord{{Key: "nightly/e", Size: 4, ETag: `"e4"`}, {Key: "nightly/c", Size: 4, ETag: `"c4"`}}
	for _, r := range run3 {
		j.Put(r)
	}
	for _, k := range []string{"nightly/a", "nightly/c", "nightly/e"} {
		if err := j.Seen(k); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.CloseSeen(); err != nil {
		t.Fatal(err)
	}
	want = []TreeRecord{run2[1], run3[1], run3[0]}
	j = openTree(t, path)
	defer j.Release()
	if got := records(t, j.Records()); !slices.Equal(got, want) {
		t.Fatalf("after CloseSeen\n got %v\nwant %v", got, want)
	}
	if names := dirNames(t, filepath.Dir(path)); len(names) != 1 {
		t.Errorf("logs left after they were merged: %q", names)
	}
}

func TestTreeJournalFailedReplacementKeepsEverything(t *testing.T) {
	path := TreeJournalPath(t.TempDir(), treeDest())
	j := openTree(t, path)
	j.Put(TreeRecord{Key: "nightly/a", Size: 1, ETag: `"a1"`})
	j.Close(nil)
	before, _ := os.ReadFile(j.Path())

	j = openTree(t, path)
	j.Put(TreeRecord{Key: "nightly/b", Size: 2, ETag: `"b2"`})
	beforeTreeRename = func(string) error { return errors.New("no space left on device") }
	t.Cleanup(func() { beforeTreeRename = nil })
	if err := j.Close(nil); err == nil || !strings.Contains(err.Error(), "no space") {
		t.Fatalf("Close = %v, want the write's error", err)
	}
	beforeTreeRename = nil
	if after, _ := os.ReadFile(j.Path()); !bytes.Equal(before, after) {
		t.Error("a failed replacement changed the journal")
	}
	for _, n := range dirNames(t, filepath.Dir(path)) {
		if strings.HasSuffix(n, ".tmp") {
			t.Errorf("temporary file left: %s", n)
		}
	}
	// The next run has both: the old journal and the log of the run whose
	// Close failed.
	j = openTree(t, path)
	defer j.Release()
	if got := records(t, j.Records()); len(got) != 2 || got[1].ETag != `"b2"` {
		t.Errorf("records after a failed Close: %v", got)
	}
}

func TestTreeJournalLeftoversOfACrashInClose(t *testing.T) {
	path := TreeJournalPath(t.TempDir(), treeDest())
	j := openTree(t, path)
	j.Put(TreeRecord{Key: "nightly/a", Size: 5, ETag: `"new"`})
	j.Close(nil) // merged up to its own log's number
	merged := j.seq
	// A crash after the rename but before the logs were removed (or a log
	// the file system brings back): it holds an older record of a.
	stale := writePending(t, j.st.paths.pending(merged), treeDest(), TreeRecord{Key: "nightly/a", Size: 1, ETag: `"old"`})
	tmp := j.Path() + ".123.tmp"
	os.WriteFile(tmp, []byte("half a replacement"), 0o600)

	j = openTree(t, path)
	defer j.Release()
	if got := records(t, j.Records()); len(got) != 1 || got[0].ETag != `"new"` {
		t.Errorf("records %v: a log already merged was applied again", got)
	}
	for _, p := range []string{stale, tmp} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s not removed at Open: %v", p, err)
		}
	}
	if j.seq <= merged {
		t.Errorf("this run's log number %d does not follow the merged %d", j.seq, merged)
	}
}

// writePending writes a run's log holding recs.
func writePending(t *testing.T, path string, dest Destination, recs ...TreeRecord) string {
	t.Helper()
	var b bytes.Buffer
	b.Write(newHeader(kindPending, dest, 0))
	bw := newBlockWriter(&b)
	for _, r := range recs {
		bw.add(r)
	}
	bw.flush()
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTreeJournalSeenMustBeInOrder(t *testing.T) {
	path := TreeJournalPath(t.TempDir(), treeDest())
	j := openTree(t, path)
	j.Put(TreeRecord{Key: "nightly/a", Size: 1, ETag: `"a"`})
	j.Close(nil)

	j = openTree(t, path)
	j.Put(TreeRecord{Key: "nightly/b", Size: 1, ETag: `"b"`})
	j.Seen("nightly/b")
	if err := j.Seen("nightly/a"); err == nil {
		t.Fatal("Seen out of order accepted")
	}
	if err := j.CloseSeen(); err == nil {
		t.Fatal("CloseSeen after a bad Seen succeeded")
	}
	// Nothing was dropped: a is still there, and b from the log.
	j = openTree(t, path)
	defer j.Release()
	if got := records(t, j.Records()); len(got) != 2 {
		t.Errorf("records %v", got)
	}
}

func TestTreeJournalCloseSeenWithoutSeenKeepsNothing(t *testing.T) {
	path := TreeJournalPath(t.TempDir(), treeDest())
	j := openTree(t, path)
	j.Put(TreeRecord{Key: "nightly/a", Size: 1, ETag: `"a"`})
	if err := j.CloseSeen(); err != nil {
		t.Fatal(err)
	}
	if got, _ := ReadTree(path, treeDest()); len(got) != 0 {
		t.Errorf("records %v, want none: the run found no file", got)
	}
}

func TestTreeJournalSeenManyKeysInBoundedMemory(t *testing.T) {
	// 100,000 keys seen, every other one with a record: the keep set is
	// read back from the key log, not held.
	path := TreeJournalPath(t.TempDir(), treeDest())
	j := openTree(t, path)
	for i := range 100_000 {
		j.Put(TreeRecord{Key: fmt.Sprintf("nightly/%07d", i), Size: int64(i), ETag: `"x"`})
	}
	j.Close(nil)
	j = openTree(t, path)
	for i := 0; i < 100_000; i += 2 {
		if err := j.Seen(fmt.Sprintf("nightly/%07d", i)); err != nil {
			t.Fatal(err)
		}
	}
	j.Seen("nightly/zzz") // seen, but never stored: no record
	if err := j.CloseSeen(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTree(path, treeDest())
	if err != nil || len(got) != 50_000 || got["nightly/0000002"].Size != 2 || got["nightly/0000001"].Size != 0 {
		t.Errorf("%d records (%v)", len(got), err)
	}
}

func TestTreeReaderSeek(t *testing.T) {
	path := TreeJournalPath(t.TempDir(), treeDest())
	j := openTree(t, path)
	for _, k := range []string{"nightly/b", "nightly/d", "nightly/f"} {
		j.Put(TreeRecord{Key: k, Size: 1, ETag: `"x"`})
	}
	j.Close(nil)
	rd := OpenTreeReader(path, treeDest(), TreeOptions{})
	defer rd.Close()
	for _, c := range []struct {
		key   string
		found bool
	}{{"nightly/a", false}, {"nightly/b", true}, {"nightly/b", true}, {"nightly/c", false}, {"nightly/d", true}, {"nightly/zz", false}} {
		r, ok, err := rd.Seek(c.key)
		if err != nil || ok != c.found || (ok && r.Key != c.key) {
			t.Errorf("Seek(%q) = %v %v %v, want found=%v", c.key, r, ok, err, c.found)
		}
	}
	if _, _, err := rd.Seek("nightly/d"); err == nil {
		t.Error("Seek backwards succeeded")
	}
}

func TestTreeJournalDamagedSortedFile(t *testing.T) {
	path := TreeJournalPath(t.TempDir(), treeDest())
	j := openTree(t, path)
	var want []TreeRecord
	for i := range 20_000 { // several blocks
		r := TreeRecord{Key: fmt.Sprintf("nightly/%06d", i), Size: int64(i), MTime: int64(i), ETag: `"x"`}
		j.Put(r)
		want = append(want, r)
	}
	j.Close(nil)
	good, _ := os.ReadFile(j.Path())
	// A flipped ETag byte still decodes (`"x"` becomes `"8"`): only the
	// block's checksum can tell.
	etag := len(good)/2 + bytes.Index(good[len(good)/2:], []byte(`"x"`)) + 1
	// Well formed, checksums right, but not sorted: written by something
	// else, or a bug; a merge must never see it.
	var unsorted bytes.Buffer
	unsorted.Write(newHeader(kindSorted, treeDest(), 0))
	bw := newBlockWriter(&unsorted)
	for _, i := range []int{0, 1, 3, 2, 4} {
		bw.add(want[i])
	}
	bw.end()
	cases := map[string][]byte{
		"a flipped byte":    flip(good, etag),
		"cut short":         good[:len(good)*2/3],
		"no end marker":     good[:len(good)-4],
		"bytes after end":   append(slices.Clone(good), 0),
		"keys out of order": unsorted.Bytes(),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			os.WriteFile(j.Path(), data, 0o600)
			rd := OpenTreeReader(path, treeDest(), TreeOptions{})
			got := records(t, rd)
			if !errors.Is(rd.Err(), ErrTreeCorrupt) {
				t.Errorf("Err = %v, want ErrTreeCorrupt", rd.Err())
			}
			if name == "keys out of order" {
				// Read in order (records checks), up to the disorder.
				if !slices.Equal(got, []TreeRecord{want[0], want[1], want[3]}) {
					t.Errorf("read %v from an unsorted journal", got)
				}
				return
			}
			// What was read is true: a prefix of what was written.
			if len(got) > len(want) || !slices.Equal(got, want[:len(got)]) {
				t.Errorf("%d records read, not a prefix of those written", len(got))
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	b = slices.Clone(b)
	b[i] ^= 0x40
	return b
}

func TestTreeRecordEncoding(t *testing.T) {
	recs := []TreeRecord{
		{Key: "k", Size: 0, MTime: 0, ETag: ""},
		{Key: "k", Size: 1 << 50, MTime: -1, ETag: `"0123456789abcdef0123456789abcdef"`},
		{Key: "k", Size: 5, MTime: time.Now().UnixNano(), ETag: `"0123456789ABCDEF0123456789ABCDEF"`}, // upper case: kept verbatim
		{Key: "k", ETag: `"0123456789abcdef0123456789abcdef-12"`},
		{Key: "k", ETag: `0123456789abcdef0123456789abcdef`}, // unquoted
		{Key: "k", ETag: `"0123456789abcdef0123456789abcdeg"`},
	}
	for _, r := range recs {
		var got TreeRecord
		rest, err := decodeBody(appendBody(nil, r), &got)
		got.Key = r.Key
		if err != nil || len(rest) != 0 || got != r {
			t.Errorf("%+v came back as %+v (%v, %d left)", r, got, err, len(rest))
		}
	}
	if n := len(appendBody(nil, recs[1])); n > 1+10+17 {
		t.Errorf("an MD5 ETag takes %d bytes", n)
	}
}

func seeded(t testing.TB) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("S3UP_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d (S3UP_SEED=%d replays it)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x7ee))
}

func FuzzTreeReader(f *testing.F) {
	var b bytes.Buffer
	bw := newBlockWriter(&b)
	for i := range 50 {
		bw.add(TreeRecord{Key: fmt.Sprintf("nightly/%03d", i), Size: int64(i), ETag: `"x"`})
	}
	bw.end()
	f.Add(b.Bytes())
	f.Add([]byte{})
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		dir := t.TempDir()
		path := TreeJournalPath(dir, treeDest())
		os.MkdirAll(filepath.Dir(path), 0o700)
		os.WriteFile(pathsOf(path).sorted(), append(newHeader(kindSorted, treeDest(), 0), body...), 0o600)
		rd := OpenTreeReader(path, treeDest(), TreeOptions{})
		records(t, rd) // never panics, always in order
	})
}
