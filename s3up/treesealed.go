package s3up

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/s3up/s3up/s3up/seal"
	"github.com/s3up/s3up/s3up/tree"
)

// A sealed tree puts each file at its key + SealedSuffix, with the size of
// its age file: the listing, the tree journal and the merge then see the
// objects as they are in the bucket. The size of a file's age file is known
// before it is sealed (the header's size depends only on the recipients),
// so an unchanged file is still told by the listing, its size and the
// mtime stored with it.

// sealedFiles maps the walk's files to their sealed objects, in the byte
// order of the new keys. Appending the suffix keeps the order of two names
// unless one is a prefix of the other ("a" and "a-b": "a-b.age" sorts
// before "a.age"; so may "a.aaa.age"). Such names follow the shorter one
// in the walk, so they are held from a file until a name that cannot sort
// before its, sorted, and given on: memory holds the files whose names
// start with another's and a byte up to '.', not the tree.
func sealedFiles(walk iter.Seq2[tree.File, error], headerSize int64) iter.Seq2[tree.File, error] {
	return func(yield func(tree.File, error) bool) {
		var held []tree.File // held[0].Rel is a prefix of every other's (before the suffix)
		flush := func() bool {
			slices.SortFunc(held, func(a, b tree.File) int { return strings.Compare(a.Rel, b.Rel) })
			for _, f := range held {
				if !yield(f, nil) {
					return false
				}
			}
			held = held[:0]
			return true
		}
		for f, err := range walk {
			if err != nil {
				if flush() {
					yield(f, err)
				}
				return
			}
			base := f.Rel
			f.Rel += SealedSuffix
			f.Size = headerSize + seal.PayloadSize(f.Size)
			if len(held) > 0 && !mayPrecede(base, strings.TrimSuffix(held[0].Rel, SealedSuffix)) {
				if !flush() {
					return
				}
			}
			held = append(held, f)
		}
		flush()
	}
}

// mayPrecede reports whether name+SealedSuffix may sort before
// first+SealedSuffix although name comes after first: first is a prefix of
// name followed by a byte that does not sort after '.'.
func mayPrecede(name, first string) bool {
	rest, ok := strings.CutPrefix(name, first)
	return ok && rest != "" && rest[0] <= '.'
}

// sealTree prepares a sealed tree: the header size of its recipients, and
// no content comparison, which sealed objects cannot give.
func (r *treeRun) sealTree() error {
	if r.opts.Seal == nil {
		return nil
	}
	k, err := seal.NewKey(r.opts.Seal.recipients...)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	r.sealHeader = k.HeaderSize()
	if r.t.ChecksumCompare {
		r.t.ChecksumCompare = false
		r.ev.emit(Warning{Message: "a content comparison (ChecksumCompare) cannot compare sealed content (each object is encrypted under a key of its own): comparing the plaintext's size and modification time"})
	}
	return nil
}

// files walks the tree: the files, or for a sealed tree their age files.
func (r *treeRun) files(ctx context.Context, v tree.Visitor) iter.Seq2[tree.File, error] {
	walk := tree.Files(ctx, r.t.Roots, r.walkOptions(), v)
	if r.opts.Seal == nil {
		return walk
	}
	return sealedFiles(walk, r.sealHeader)
}
