package treemerge

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"

	"github.com/s3up/s3up/resume"
)

// SortedObjects is a listing sorted by SortObjects: it holds a Sorter's
// memory budget at most, the rest in temporary files until Close.
type SortedObjects struct {
	sorter *resume.Sorter
	it     *resume.SortIter
	n      int64
	used   bool
}

// SortObjects reads every object of a listing that is not in key order
// (Merge said so, with an *OrderError naming InputObjects) and sorts
// them by key, holding at most budget bytes of them in memory (0:
// resume.DefaultSortBudget, about 200,000 objects of 65 bytes in 16 MiB)
// and spilling the rest to temporary files in dir (the state directory's
// tmp/; they are removed as they are created). A key listed more than
// once keeps its last listing, as a map of the listing would. The
// listing's error is returned, and nothing is kept.
func SortObjects(objects iter.Seq2[Object, error], dir string, budget int) (*SortedObjects, error) {
	s := resume.NewSorter(dir, budget)
	var val []byte
	n := int64(0)
	for o, err := range objects {
		if err != nil {
			s.Close()
			return nil, err
		}
		val = binary.AppendVarint(val[:0], o.Size)
		val = append(val, o.ETag...)
		if err := s.Add(o.Key, val); err != nil {
			s.Close()
			return nil, fmt.Errorf("sort the bucket listing: %w", err)
		}
		n++
	}
	it, err := s.Sort()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sort the bucket listing: %w", err)
	}
	return &SortedObjects{sorter: s, it: it, n: n}, nil
}

// Len is the number of objects listed (a key listed twice counts twice).
func (s *SortedObjects) Len() int64 { return s.n }

// All yields the objects in key order, once per key. It can be ranged
// over once.
func (s *SortedObjects) All() iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		if s.used {
			yield(Object{}, errors.New("sorted listing read twice"))
			return
		}
		s.used = true
		var cur Object
		have := false
		for s.it.Next() {
			o, err := decodeObject(s.it.Key(), s.it.Value())
			if err != nil {
				yield(Object{}, err)
				return
			}
			if have && o.Key != cur.Key && !yield(cur, nil) {
				return
			}
			cur, have = o, true
		}
		if err := s.it.Err(); err != nil {
			yield(Object{}, fmt.Errorf("sort the bucket listing: %w", err))
			return
		}
		if have {
			yield(cur, nil)
		}
	}
}

func decodeObject(key, val []byte) (Object, error) {
	size, n := binary.Varint(val)
	if n <= 0 {
		return Object{}, errors.New("sort the bucket listing: a damaged record")
	}
	return Object{Key: string(key), Size: size, ETag: string(val[n:])}, nil
}

// Close removes the temporary files and releases the memory.
func (s *SortedObjects) Close() error { return s.sorter.Close() }
