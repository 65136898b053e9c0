package tree

import (
	"encoding/binary"
	"fmt"
	"io/fs"

	"github.com/s3up/s3up/resume"
)

// defaultMaxDirEntries is how many entries of one directory a walk sorts
// in memory (Options.MaxDirEntries): about 7 MiB of entries.
const defaultMaxDirEntries = 100_000

// bigDirBudget is the memory a big directory's sort holds while the
// directory is read: an entry is its name and 5 bytes, so 8 MiB sorts
// about 250,000 of them a run.
const bigDirBudget = 8 << 20

// bigDir is a directory with more entries than a walk sorts in memory:
// its entries go through an external sort keyed by their sort names
// (name, or name + "/" for a directory, whose byte order is
// compareEntries'), and come back one at a time.
type bigDir struct {
	s  *resume.Sorter
	it *resume.SortIter
	e  entry
}

func newBigDir(dir string) *bigDir {
	return &bigDir{s: resume.NewSorter(dir, bigDirBudget)}
}

// add adds an entry: its sort name, and its type and whether it is a
// followed link. A link's FileInfo is not kept: visit stats it again and
// refuses it if it is no longer what it was sorted as.
func (b *bigDir) add(e entry) error {
	key := e.name
	if e.dir() {
		key += "/"
	}
	var v [5]byte
	if e.link {
		v[0] = 1
	}
	binary.LittleEndian.PutUint32(v[1:], uint32(e.typ))
	return b.s.Add(key, v[:])
}

func (b *bigDir) sort() error {
	it, err := b.s.Sort()
	b.it = it
	return err
}

// next returns the next entry, false at the end or on an error (err).
func (b *bigDir) next() (*entry, bool, error) {
	if b.it == nil || !b.it.Next() {
		if b.it != nil {
			if err := b.it.Err(); err != nil {
				return nil, false, fmt.Errorf("sort the directory's entries: %w", err)
			}
		}
		return nil, false, nil
	}
	k, v := b.it.Key(), b.it.Value()
	if len(v) != 5 || len(k) == 0 {
		return nil, false, fmt.Errorf("sort the directory's entries: a damaged entry")
	}
	b.e = entry{typ: fs.FileMode(binary.LittleEndian.Uint32(v[1:])), link: v[0] == 1}
	if b.e.dir() {
		k = k[:len(k)-1]
	}
	b.e.name = string(k)
	return &b.e, true, nil
}

func (b *bigDir) close() {
	if b != nil {
		b.s.Close()
	}
}
