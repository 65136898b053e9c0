package resume

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestDistrustList(t *testing.T) {
	dir := t.TempDir()
	dest := Destination{Endpoint: "http://h", Bucket: "b", Key: "k"}
	l := OpenDistrust(dir)
	if _, bad := l.Distrusted(dest, `"e1"`); bad {
		t.Fatal("an empty list distrusts")
	}
	if err := l.Add(DistrustRecord{Endpoint: dest.Endpoint, Bucket: dest.Bucket, Key: dest.Key, ETag: `"e1"`, Why: "part 2 differs", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// Read by another process: the file, not the cache, answers.
	other := OpenDistrust(dir)
	if why, bad := other.Distrusted(dest, "e1"); !bad || why != "part 2 differs" {
		t.Fatalf("distrusted %q %v, want the record (quotes do not matter)", why, bad)
	}
	if _, bad := other.Distrusted(dest, `"e2"`); bad {
		t.Fatal("an object stored since (another ETag) is distrusted")
	}
	if _, bad := other.Distrusted(Destination{Endpoint: "http://h", Bucket: "b", Key: "k2"}, `"e1"`); bad {
		t.Fatal("another key is distrusted")
	}
	fi, err := os.Stat(filepath.Join(dir, distrustFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("list file: %v %v", fi, err)
	}
	// A torn last line is skipped, the records before it kept.
	f, _ := os.OpenFile(filepath.Join(dir, distrustFile), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"endpoint":"http://h","bucket":"b","key":"torn`)
	f.Close()
	if _, bad := OpenDistrust(dir).Distrusted(dest, "e1"); !bad {
		t.Fatal("a torn line lost the records before it")
	}
	d2 := Destination{Endpoint: "http://h", Bucket: "b", Key: "after-torn"}
	if err := OpenDistrust(dir).Add(DistrustRecord{Endpoint: d2.Endpoint, Bucket: d2.Bucket, Key: d2.Key, ETag: "e3"}); err != nil {
		t.Fatal(err)
	}
	if _, bad := OpenDistrust(dir).Distrusted(d2, "e3"); !bad {
		t.Fatal("a record appended after a torn line was lost")
	}
	if err := other.Clear(dest); err != nil {
		t.Fatal(err)
	}
	if _, bad := OpenDistrust(dir).Distrusted(dest, "e1"); bad {
		t.Fatal("cleared, still distrusted")
	}
	if _, err := os.Stat(filepath.Join(dir, distrustFile)); !os.IsNotExist(err) {
		t.Fatalf("an empty list leaves its file: %v", err)
	}
	if err := OpenDistrust("").Add(DistrustRecord{Key: "k"}); err == nil {
		t.Fatal("without a state directory, Add must fail")
	}
}
