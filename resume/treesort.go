package resume

import "github.com/s3up/s3up/resume/internal/extsort"

// Sorter sorts records (a key and a small value) by the byte order of
// their keys, equal keys in the order added, holding at most a memory
// budget of them and spilling sorted runs to temporary files that are
// removed from their directory as soon as they are created (nothing is
// left behind, even after a kill -9). It is the tree journal's sort; the
// engine uses it for inputs it cannot read in key order (a listing from a
// store that does not list in byte order). See package extsort for the
// memory bound: the budget while adding, plus about 2 MiB of read buffers
// while reading back.
type Sorter = extsort.Sorter

// SortIter reads a Sorter's records in order (Sorter.Sort). Key and Value
// are valid until the next call of Next.
type SortIter = extsort.Iter

// SortStats says what a Sorter did: records, runs, bytes spilled, memory.
type SortStats = extsort.Stats

// DefaultSortBudget is the memory budget of a Sorter made with budget 0.
const DefaultSortBudget = extsort.DefaultBudget

// NewSorter returns a Sorter holding at most budget bytes of records in
// memory (0: DefaultSortBudget), spilling to dir (created when first
// needed). Close it to release its memory and files.
func NewSorter(dir string, budget int) *Sorter { return extsort.New(dir, budget) }
