package benchdata

import (
	"bytes"
	"compress/flate"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestReaderIsDeterministicAndSized(t *testing.T) {
	for _, size := range []int64{0, 1, 4095, 1 << 20, 3<<20 + 17} {
		a, err := io.ReadAll(NewReader("x", size))
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(a)) != size {
			t.Fatalf("size %d: read %d bytes", size, len(a))
		}
		var b bytes.Buffer
		n, err := WriteTo(&b, "x", size)
		if err != nil || n != size {
			t.Fatalf("WriteTo: %d, %v", n, err)
		}
		if !bytes.Equal(a, b.Bytes()) {
			t.Fatalf("size %d: ReadAll and WriteTo differ", size)
		}
	}
	a, _ := io.ReadAll(NewReader("x", 1<<16))
	b, _ := io.ReadAll(NewReader("y", 1<<16))
	if bytes.Equal(a, b) {
		t.Fatal("two seeds give the same bytes")
	}
}

func TestBytesAreIncompressible(t *testing.T) {
	data, _ := io.ReadAll(NewReader("z", 1<<20))
	var out bytes.Buffer
	w, _ := flate.NewWriter(&out, flate.BestCompression)
	w.Write(data)
	w.Close()
	if out.Len() < len(data) {
		t.Fatalf("1 MiB compressed to %d bytes", out.Len())
	}
}

func TestTree(t *testing.T) {
	tr := Tree{Files: 120, FileSize: 100, Big: 5000, Seed: "t"}
	es := tr.Entries()
	if len(es) != 121 || tr.Objects() != 121 || tr.Bytes() != 120*100+5000 {
		t.Fatalf("entries %d, objects %d, bytes %d", len(es), tr.Objects(), tr.Bytes())
	}
	seen := map[string]bool{}
	for _, e := range es {
		if seen[e.Path] {
			t.Fatalf("duplicate path %s", e.Path)
		}
		seen[e.Path] = true
	}
	if es[0].Path != "g00/d00/f00000.bin" || es[119].Path != "g00/d02/f00119.bin" {
		t.Fatalf("layout changed: %s, %s", es[0].Path, es[119].Path)
	}
	dir := t.TempDir()
	if err := tr.Write(dir); err != nil {
		t.Fatal(err)
	}
	var total int64
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			total += fi.Size()
		}
		return err
	})
	if total != tr.Bytes() {
		t.Fatalf("wrote %d bytes, want %d", total, tr.Bytes())
	}
	// Writing again keeps the files.
	st, _ := os.Stat(filepath.Join(dir, "big", "big.bin"))
	if err := tr.Write(dir); err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(filepath.Join(dir, "big", "big.bin"))
	if !st.ModTime().Equal(st2.ModTime()) {
		t.Fatal("a second Write rewrote an unchanged file")
	}
}
