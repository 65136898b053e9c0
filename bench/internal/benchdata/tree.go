package benchdata

import (
	"fmt"
	"os"
	"path/filepath"
)

// filesPerDir is how many files a leaf directory of a Tree holds; leaves are
// grouped dirsPerGroup to a parent directory, so 1,500 files make 30 leaves
// under 6 parents: nested, as a real tree is, with no directory so large
// that listing it is the test.
const (
	filesPerDir  = 50
	dirsPerGroup = 5
)

// A Tree describes a directory of test files: Files files of FileSize bytes
// in nested directories, and optionally one file of Big bytes. Every file's
// bytes come from its own seed, derived from Seed and its path.
type Tree struct {
	Files    int
	FileSize int64
	Big      int64 // 0: no big file
	Seed     string
}

// Entry is one file of a Tree.
type Entry struct {
	Path string // slash-separated, relative to the tree's root
	Size int64
}

// Entries lists the tree's files in a fixed order.
func (t Tree) Entries() []Entry {
	es := make([]Entry, 0, t.Objects())
	for i := range t.Files {
		leaf := i / filesPerDir
		es = append(es, Entry{
			Path: fmt.Sprintf("g%02d/d%02d/f%05d.bin", leaf/dirsPerGroup, leaf%dirsPerGroup, i),
			Size: t.FileSize,
		})
	}
	if t.Big > 0 {
		es = append(es, Entry{Path: "big/big.bin", Size: t.Big})
	}
	return es
}

// Objects is the number of files, hence of objects an upload must store.
func (t Tree) Objects() int {
	if t.Big > 0 {
		return t.Files + 1
	}
	return t.Files
}

// Bytes is the tree's total size.
func (t Tree) Bytes() int64 { return int64(t.Files)*t.FileSize + t.Big }

// Write creates the tree's files under dir (which should be empty or hold
// an earlier Write of the same Tree: files of the right size are kept).
func (t Tree) Write(dir string) error {
	for _, e := range t.Entries() {
		p := filepath.Join(dir, filepath.FromSlash(e.Path))
		if fi, err := os.Stat(p); err == nil && fi.Size() == e.Size {
			continue
		}
		if err := WriteFile(p, t.Seed+"/"+e.Path, e.Size); err != nil {
			return err
		}
	}
	return nil
}
