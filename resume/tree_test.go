package resume

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func treeDest() Destination {
	return Destination{Endpoint: "http://127.0.0.1:9000", Bucket: "b", Key: "nightly/"}
}

func TestTreeJournalRoundTrip(t *testing.T) {
	path := TreeJournalPath(t.TempDir(), treeDest())
	j, err := OpenTree(path, treeDest())
	if err != nil {
		t.Fatal(err)
	}
	a := TreeRecord{Key: "nightly/a", Size: 3, MTime: 1700000000123456789, ETag: `"e1"`}
	b := TreeRecord{Key: "nightly/dir/é b", Size: 0, MTime: 1, ETag: `"e2"`}
	j.Put(a)
	j.Put(b)
	j.Put(TreeRecord{Key: "nightly/gone", Size: 1, MTime: 1, ETag: `"e3"`})
	a2 := a
	a2.ETag = `"e1b"`
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
	data, _ := os.ReadFile(path)
	if n := strings.Count(string(data), "\n"); n != 3 {
		t.Errorf("compacted journal has %d lines, want header + 2:\n%s", n, data)
	}
	j, err = OpenTree(path, treeDest())
	if err != nil {
		t.Fatal(err)
	}
	defer j.Release()
	if r, ok := j.Get("nightly/a"); !ok || r != a2 {
		t.Errorf("Get a = %v %v", r, ok)
	}
	if _, ok := j.Get("nightly/gone"); ok {
		t.Error("a record Close did not keep is still there")
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v (%v), want 0600", fi.Mode(), err)
	}
}

func TestTreeJournalLocked(t *testing.T) {
	path := TreeJournalPath(t.TempDir(), treeDest())
	j, err := OpenTree(path, treeDest())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenTree(path, treeDest()); !errors.Is(err, ErrLocked) {
		t.Fatalf("second OpenTree: %v, want ErrLocked", err)
	}
	j.Release()
	j, err = OpenTree(path, treeDest())
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	j.Release()
}

func TestTreeJournalIgnoresWhatItCannotTrust(t *testing.T) {
	dir := t.TempDir()
	path := TreeJournalPath(dir, treeDest())
	j, _ := OpenTree(path, treeDest())
	j.Put(TreeRecord{Key: "nightly/a", Size: 1, MTime: 1, ETag: `"e"`})
	j.Close(nil)

	// Another destination's journal at this path gives nothing.
	other := treeDest()
	other.Key = "elsewhere/"
	if got, _ := ReadTree(path, other); len(got) != 0 {
		t.Errorf("read for another prefix: %v", got)
	}
	// A torn last line is skipped, and the next append starts a clean file.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"k":"nightly/torn","s":`)
	f.Close()
	j, err := OpenTree(path, treeDest())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := j.Get("nightly/torn"); ok {
		t.Error("torn record loaded")
	}
	j.Put(TreeRecord{Key: "nightly/b", Size: 2, MTime: 2, ETag: `"f"`})
	j.Flush()
	got, _ := ReadTree(path, treeDest())
	if len(got) != 2 || got["nightly/b"].Size != 2 || got["nightly/a"].Size != 1 {
		t.Errorf("after append past a torn line: %v", got)
	}
	j.Release()
	// A journal of a future format is ignored.
	os.WriteFile(path, []byte(`{"tree_version":99}`+"\n"+`{"k":"nightly/a","s":1,"m":1,"e":"x"}`+"\n"), 0o600)
	if got, _ := ReadTree(path, treeDest()); len(got) != 0 {
		t.Errorf("future format read: %v", got)
	}
	if filepath.Dir(path) != filepath.Join(dir, "trees") {
		t.Errorf("journal at %s, want under %s/trees", path, dir)
	}
}
