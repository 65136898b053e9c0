package resume

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// treePaths names the files of one tree journal (see the package comment).
type treePaths struct {
	given string // TreeJournalPath's: the version-1 journal, and the lock's name + ".lock"
	base  string // given without ".jsonl"
}

func pathsOf(path string) treePaths {
	return treePaths{given: path, base: strings.TrimSuffix(path, ".jsonl")}
}

func (p treePaths) lock() string   { return p.given + ".lock" }
func (p treePaths) v1() string     { return p.given }
func (p treePaths) sorted() string { return p.base + ".tree" }
func (p treePaths) pending(seq uint64) string {
	return p.base + "." + strconv.FormatUint(seq, 10) + ".pending"
}

// pendingLog is a run's log found on disk.
type pendingLog struct {
	seq  uint64
	path string
}

// treeState is what is on disk for a journal: the sorted journal's
// header, the pending logs and whether a version-1 journal is there.
type treeState struct {
	paths    treePaths
	dest     Destination
	merged   uint64       // the sorted journal's Merged
	pendings []pendingLog // numbered above merged, in order
	stale    []pendingLog // numbered up to merged: already in the sorted journal
	maxSeq   uint64
	temps    []string // temporary files of a replacement a crash interrupted
}

func scanTree(p treePaths, dest Destination) (treeState, error) {
	st := treeState{paths: p, dest: dest}
	if f, err := os.OpenFile(p.sorted(), os.O_RDONLY|oNoFollow, 0); err == nil {
		if h, err := readHeader(bufio.NewReaderSize(f, 4<<10)); err == nil && h.is(TreeFormatVersion, kindSorted, dest) {
			st.merged = h.Merged
		}
		f.Close()
	}
	st.maxSeq = st.merged
	des, err := os.ReadDir(filepath.Dir(p.base))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return st, fmt.Errorf("tree journal: %w", err)
	}
	name := filepath.Base(p.base) + "."
	for _, de := range des {
		n, ok := strings.CutPrefix(de.Name(), name)
		if !ok {
			continue
		}
		if strings.HasPrefix(n, "tree.") && strings.HasSuffix(n, ".tmp") {
			st.temps = append(st.temps, filepath.Join(filepath.Dir(p.base), de.Name()))
			continue
		}
		num, ok := strings.CutSuffix(n, ".pending")
		seq, err := strconv.ParseUint(num, 10, 64)
		if !ok || err != nil || !de.Type().IsRegular() {
			continue
		}
		l := pendingLog{seq: seq, path: p.pending(seq)}
		if seq <= st.merged {
			st.stale = append(st.stale, l)
		} else {
			st.pendings = append(st.pendings, l)
		}
		st.maxSeq = max(st.maxSeq, seq)
	}
	slices.SortFunc(st.pendings, func(a, b pendingLog) int { return cmp.Compare(a.seq, b.seq) })
	return st, nil
}

// TreeReader reads a tree journal's records in the byte order of their
// keys, one record per key, with bounded memory: the sorted journal is
// read a block (64 KiB) at a time; what is not sorted yet (a version-1
// journal, the logs of runs that stopped before their Close) goes through
// a Sorter first (its budget, spilling to TreeOptions.TempDir). A record
// from a log replaces the sorted journal's record of its key, a later log
// an earlier one.
//
// The journal only saves work, so a damaged or unreadable part is not a
// failure: reading ends where the damage is (or skips a damaged log), and
// Err says what happened, for a warning. Not safe for concurrent use.
type TreeReader struct {
	main  *blockReader
	mainF *os.File
	mHead TreeRecord
	mOK   bool

	sorter *Sorter
	it     *SortIter
	sHead  TreeRecord // the last record of the current key in the sort
	sOK    bool
	sNext  TreeRecord // read ahead to see whether the key repeats
	sNOK   bool

	head    TreeRecord
	headOK  bool
	started bool
	asked   *string
	errs    []error
}

// OpenTreeReader reads the tree journal at path (TreeJournalPath's) for
// dest without locking it, as a dry run does: a journal being written by
// a run at the same time is read as far as it was written. A missing or
// foreign journal gives no records.
func OpenTreeReader(path string, dest Destination, o TreeOptions) *TreeReader {
	st, err := scanTree(pathsOf(path), dest)
	if err != nil {
		return &TreeReader{errs: []error{err}, started: true}
	}
	return st.reader(o.withDefaults(path))
}

// ReadTree reads every record of the tree journal at path into a map,
// without locking it. It holds the whole journal in memory: a run that
// must stay flat reads OpenTreeReader's records in order instead. Damaged
// parts are skipped; the error says what could not be read.
func ReadTree(path string, dest Destination) (map[string]TreeRecord, error) {
	rd := OpenTreeReader(path, dest, TreeOptions{})
	defer rd.Close()
	recs := map[string]TreeRecord{}
	for r := range rd.All() {
		recs[r.Key] = r
	}
	return recs, rd.Err()
}

// reader opens st's sources.
func (st treeState) reader(o TreeOptions) *TreeReader {
	rd := &TreeReader{}
	if f, err := os.OpenFile(st.paths.sorted(), os.O_RDONLY|oNoFollow, 0); err == nil {
		br := bufio.NewReaderSize(f, treeBlockSize)
		h, err := readHeader(br)
		switch {
		case err != nil:
			rd.errs = append(rd.errs, fmt.Errorf("%s: %w", st.paths.sorted(), err))
			f.Close()
		case h.is(TreeFormatVersion, kindSorted, st.dest):
			rd.main, rd.mainF = &blockReader{br: br, sorted: true}, f
		default:
			f.Close() // another destination's, or a future version's: not ours to read
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		rd.errs = append(rd.errs, fmt.Errorf("tree journal: %w", err))
	}
	add := func(key string, body []byte) error {
		if rd.sorter == nil {
			rd.sorter = NewSorter(o.TempDir, o.SortBudget)
		}
		return rd.sorter.Add(key, body)
	}
	// Oldest first: equal keys come out of the sort in the order added,
	// and the last one wins.
	if err := readV1(st.paths.v1(), st.dest, add); err != nil {
		rd.errs = append(rd.errs, err)
	}
	for _, l := range st.pendings {
		if err := readPending(l.path, st.dest, add); err != nil {
			rd.errs = append(rd.errs, err)
		}
	}
	if rd.sorter != nil {
		it, err := rd.sorter.Sort()
		if err != nil {
			rd.errs = append(rd.errs, fmt.Errorf("tree journal: sort the records not yet merged: %w", err))
		}
		rd.it = it
	}
	return rd
}

// readV1 adds the records of a version-1 journal (JSON lines, in the order
// they were stored). Unparsable lines are skipped and a torn last line is
// ignored, as version 1 did.
func readV1(path string, dest Destination, add func(string, []byte) error) error {
	f, err := os.OpenFile(path, os.O_RDONLY|oNoFollow, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tree journal: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	if h, err := readHeader(br); err != nil || !h.is(1, "", dest) {
		return nil // not a version-1 journal of this destination
	}
	var body []byte
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			for err == bufio.ErrBufferFull { // no record is this long: skip it
				_, err = br.ReadSlice('\n')
			}
			continue
		}
		if err != nil {
			return nil // the end; a last line without its newline is torn
		}
		var r TreeRecord
		if json.Unmarshal(line, &r) != nil || r.Key == "" {
			continue
		}
		body = appendBody(body[:0], r)
		if err := add(r.Key, body); err != nil {
			return fmt.Errorf("tree journal %s: %w", path, err)
		}
	}
}

// readPending adds the records of a run's log, up to its torn tail.
func readPending(path string, dest Destination, add func(string, []byte) error) error {
	f, err := os.OpenFile(path, os.O_RDONLY|oNoFollow, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // merged and removed since it was listed
	}
	if err != nil {
		return fmt.Errorf("tree journal: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, treeBlockSize)
	h, err := readHeader(br)
	if err != nil || !h.is(TreeFormatVersion, kindPending, dest) {
		return nil // a crash before its header was written, or not ours
	}
	rd := &blockReader{br: br}
	var r TreeRecord
	var body []byte
	for rd.next(&r) {
		body = appendBody(body[:0], r)
		if err := add(r.Key, body); err != nil {
			return fmt.Errorf("tree journal %s: %w", path, err)
		}
	}
	if rd.err != nil {
		return fmt.Errorf("%s: %w", path, rd.err)
	}
	return nil
}

// fillMain reads the sorted journal's next record.
func (r *TreeReader) fillMain() {
	r.mOK = r.main != nil && r.main.next(&r.mHead)
	if !r.mOK && r.main != nil && r.main.err != nil {
		r.errs = append(r.errs, r.main.err)
		r.main.err = nil
	}
}

// fillSort reads the sort's next key, keeping the last record of it.
func (r *TreeReader) fillSort() {
	if r.it == nil {
		r.sOK = false
		return
	}
	if !r.sNOK && !r.sortOne(&r.sNext, &r.sNOK) {
		r.sOK = false
		return
	}
	r.sHead, r.sOK = r.sNext, true
	for r.sortOne(&r.sNext, &r.sNOK) && r.sNext.Key == r.sHead.Key {
		r.sHead = r.sNext
	}
}

// sortOne reads one record of the sort into rec.
func (r *TreeReader) sortOne(rec *TreeRecord, ok *bool) bool {
	*ok = false
	if !r.it.Next() {
		if err := r.it.Err(); err != nil {
			r.errs = append(r.errs, fmt.Errorf("tree journal: %w", err))
		}
		r.it = nil
		return false
	}
	var t TreeRecord
	if _, err := decodeBody(r.it.Value(), &t); err != nil {
		r.errs = append(r.errs, fmt.Errorf("tree journal: a sorted record: %w", err))
		r.it = nil
		return false
	}
	t.Key = string(r.it.Key())
	*rec, *ok = t, true
	return true
}

// peek makes head the next record, reporting false at the end.
func (r *TreeReader) peek() bool {
	if r.headOK {
		return true
	}
	if !r.started {
		r.started = true
		r.fillMain()
		r.fillSort()
	}
	switch {
	case !r.mOK && !r.sOK:
		return false
	case r.mOK && (!r.sOK || r.mHead.Key < r.sHead.Key):
		r.head = r.mHead
		r.fillMain()
	default:
		if r.mOK && r.mHead.Key == r.sHead.Key {
			r.fillMain() // the newer record, from a log, wins
		}
		r.head = r.sHead
		r.fillSort()
	}
	r.headOK = true
	return true
}

// Next returns the next record in key order, false at the end.
func (r *TreeReader) Next() (TreeRecord, bool) {
	if !r.peek() {
		return TreeRecord{}, false
	}
	r.headOK = false
	return r.head, true
}

// All yields the records not read yet, in key order.
func (r *TreeReader) All() iter.Seq[TreeRecord] {
	return func(yield func(TreeRecord) bool) {
		for {
			rec, ok := r.Next()
			if !ok || !yield(rec) {
				return
			}
		}
	}
}

// Seek returns the record of key, moving past the records before it: a
// forward cursor, for a caller that asks for keys in increasing order
// (each at least the previous one; asking for the same key again returns
// its record again). A key before one already asked for is an error,
// since the records before it are gone.
func (r *TreeReader) Seek(key string) (TreeRecord, bool, error) {
	if r.asked != nil && key < *r.asked {
		return TreeRecord{}, false, fmt.Errorf("tree journal: Seek(%q) after Seek(%q): keys must be asked for in increasing order", key, *r.asked)
	}
	r.asked = &key
	for r.peek() {
		switch {
		case r.head.Key == key:
			return r.head, true, nil
		case r.head.Key > key:
			return TreeRecord{}, false, nil
		}
		r.headOK = false
	}
	return TreeRecord{}, false, nil
}

// Err says what could not be read (damage wraps ErrTreeCorrupt), nil if
// everything was.
func (r *TreeReader) Err() error { return errors.Join(r.errs...) }

// Close releases the reader's files and its sort.
func (r *TreeReader) Close() error {
	var errs []error
	if r.mainF != nil {
		errs = append(errs, r.mainF.Close())
		r.mainF, r.main, r.mOK = nil, nil, false
	}
	if r.sorter != nil {
		errs = append(errs, r.sorter.Close())
		r.sorter, r.it, r.sOK, r.sNOK = nil, nil, false, false
	}
	r.headOK = false
	r.started = true
	return errors.Join(errs...)
}
