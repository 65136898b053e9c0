// Package treemerge merges the three inputs of a tree run, each in the
// byte order of its keys, into one stream of keys: the local files (a
// walk, tree.Files), the bucket's objects under the prefix (a listing,
// which ListObjectsV2 returns in that order) and the tree journal's
// records (resume.TreeReader). Each key comes once, with what each input
// has for it, so a run decides file by file and finds the objects to
// delete without holding any input: memory is the inputs' own (a walk's
// directories, a listing's page, a journal block) plus one entry.
//
// Merge trusts no input's order: it checks each as it reads it and stops
// with an *OrderError (ErrOrder) at the first key that does not come
// after the one before. A store that lists in another order is then read
// again through SortObjects, an external sort that spills to disk.
//
// It is pure: no I/O but its inputs', no clock, no goroutine of its own.
package treemerge

import (
	"errors"
	"fmt"
	"iter"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/tree"
)

// Object is one object of the bucket's listing.
type Object struct {
	Key  string
	Size int64
	ETag string // as listed, quotes included
}

// Entry is one key and what each input has for it; at least one of File,
// Object and Record is set.
type Entry struct {
	Key    string
	File   *tree.File         // the local file at Key, nil if none
	Object *Object            // the listed object, nil if not in the bucket
	Record *resume.TreeRecord // what the journal says was stored, nil if nothing
}

// DeleteCandidate reports whether the entry is an object no local file
// names: what --delete removes, once the caller has applied its own rules
// (the filters, "directory" markers ending in "/", the prefix, and no
// deletion at all after a failure or an unreadable directory).
func (e Entry) DeleteCandidate() bool { return e.Object != nil && e.File == nil }

// Names of the inputs, as an OrderError gives them.
const (
	InputFiles   = "local files"
	InputObjects = "bucket listing"
	InputRecords = "tree journal"
)

// ErrOrder marks an input that is not in strictly increasing byte order
// of keys.
var ErrOrder = errors.New("not in key order")

// OrderError is an input whose key Key came after Prev but does not sort
// after it (Key == Prev: a key given twice).
type OrderError struct {
	Input string // InputFiles, InputObjects or InputRecords
	Prev  string
	Key   string
}

func (e *OrderError) Error() string {
	if e.Key == e.Prev {
		return fmt.Sprintf("the %s gave the key %q twice", e.Input, e.Key)
	}
	return fmt.Sprintf("the %s is %v: %q came after %q", e.Input, ErrOrder, e.Key, e.Prev)
}

func (e *OrderError) Unwrap() error { return ErrOrder }

// Merge yields, for every key in any input, in strictly increasing byte
// order, one Entry. The keys of files are prefix + File.Rel; those of
// objects and records are theirs (a listing under prefix and a journal of
// that prefix hold prefix + path keys already). A nil input is empty.
//
// An input's error ends the sequence with that error, unchanged (a
// walk's tree.ErrRoot or *tree.DuplicateError, a listing's request
// error). A key out of order ends it with an *OrderError naming the
// input; every entry yielded before it is right, and in particular no
// entry yielded is a delete candidate for a key a file has, whatever the
// listing does: each input is checked before its key is used, so an
// object that would come after its file is refused as out of order.
//
// The inputs are read one item ahead of the entry yielded (files lazily,
// as the consumer asks), on the consumer's goroutine (iter.Pull); breaking
// out of the loop stops them.
func Merge(prefix string, files iter.Seq2[tree.File, error], objects iter.Seq2[Object, error], records iter.Seq[resume.TreeRecord]) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		fs := open(InputFiles, files, func(f tree.File) string { return prefix + f.Rel })
		defer fs.close()
		ls := open(InputObjects, objects, func(o Object) string { return o.Key })
		defer ls.close()
		var recs iter.Seq2[resume.TreeRecord, error]
		if records != nil {
			recs = func(yield func(resume.TreeRecord, error) bool) {
				for r := range records {
					if !yield(r, nil) {
						return
					}
				}
			}
		}
		rs := open(InputRecords, recs, func(r resume.TreeRecord) string { return r.Key })
		defer rs.close()

		fail := func(err error) { yield(Entry{}, err) }
		for _, err := range []error{fs.advance(), ls.advance(), rs.advance()} {
			if err != nil {
				fail(err)
				return
			}
		}
		for fs.ok || ls.ok || rs.ok {
			key, have := "", false
			for _, h := range [...]struct {
				ok  bool
				key string
			}{{fs.ok, fs.key}, {ls.ok, ls.key}, {rs.ok, rs.key}} {
				if h.ok && (!have || h.key < key) {
					key, have = h.key, true
				}
			}
			e := Entry{Key: key}
			inF, inO, inR := fs.ok && fs.key == key, ls.ok && ls.key == key, rs.ok && rs.key == key
			if inF {
				f := fs.head
				e.File = &f
			}
			if inO {
				o := ls.head
				e.Object = &o
			}
			if inR {
				r := rs.head
				e.Record = &r
			}
			if !yield(e, nil) {
				return
			}
			// The inputs move on only now, so an input's error never costs
			// an entry already complete.
			if inF {
				if err := fs.advance(); err != nil {
					fail(err)
					return
				}
			}
			if inO {
				if err := ls.advance(); err != nil {
					fail(err)
					return
				}
			}
			if inR {
				if err := rs.advance(); err != nil {
					fail(err)
					return
				}
			}
		}
	}
}

// stream is one input being merged: its next item, checked for order.
type stream[T any] struct {
	name  string
	next  func() (T, error, bool)
	stop  func()
	keyOf func(T) string

	head T
	key  string
	ok   bool
	read bool // a key has been read: key is the previous one
}

func open[T any](name string, seq iter.Seq2[T, error], keyOf func(T) string) *stream[T] {
	s := &stream[T]{name: name, keyOf: keyOf}
	if seq != nil {
		s.next, s.stop = iter.Pull2(seq)
	}
	return s
}

// advance reads the next item, checking that its key comes after the last.
func (s *stream[T]) advance() error {
	s.ok = false
	if s.next == nil {
		return nil
	}
	v, err, ok := s.next()
	if !ok {
		return nil
	}
	if err != nil {
		return err
	}
	k := s.keyOf(v)
	if s.read && k <= s.key {
		return &OrderError{Input: s.name, Prev: s.key, Key: k}
	}
	s.head, s.key, s.ok, s.read = v, k, true, true
	return nil
}

func (s *stream[T]) close() {
	if s.stop != nil {
		s.stop()
	}
}
