// Package extsort sorts more records than fit in memory: each record is a
// key and a small value, records come in any order, and they come back in
// the byte order of their keys (bytes.Compare), records with equal keys in
// the order they were added. Memory is bounded by a budget given up front;
// past it, the records held are sorted and written to a temporary file (a
// run), and the runs are merged k ways when the records are read back.
//
// It lives under resume because the tree journal needs it and package
// resume may import the standard library only; package resume re-exports it
// (resume.Sorter) for the engine, so there is one implementation.
//
// # Memory
//
// While adding, a Sorter holds at most budget bytes of records and index
// (len(key)+len(value)+16 bytes per record, in chunks allocated once and
// reused after each spill), plus one 64 KiB write buffer. Reading back
// holds one 32 KiB read buffer per run, at most maxFanIn (64) runs at a
// time, so about 2 MiB, once the in-memory records are written out. With
// 16 MiB and records of 65 bytes a run holds ~200,000 records; 64 runs
// hold ~13 M records, and beyond that runs are merged in levels (each
// level reads and writes every record once more). The Go heap holding a
// budget's live bytes grows to about 1.2 times it between collections
// (18-20 MiB for 16 MiB in the benchmarks).
//
// # Temporary files
//
// Runs are created in the directory given (created if missing, mode 0700)
// with a random name, exclusively, mode 0600, and on Unix removed from the
// directory at once: the open file keeps its data, so nothing is left
// behind whatever happens to the process, even a kill -9. Where an open
// file cannot be removed (Windows), Close removes it. A Sorter uses at most
// 64 open files per merge level, plus one.
package extsort

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// DefaultBudget is the memory budget of a Sorter made with budget 0.
const DefaultBudget = 16 << 20

const (
	// entrySize is what one record costs in the index, over its bytes.
	entrySize = 16
	// maxFanIn is how many runs one merge reads at once: it bounds the
	// read buffers (maxFanIn × readBufSize) and the open files.
	maxFanIn    = 64
	readBufSize = 32 << 10
	writeBuf    = 64 << 10
	// minBudget keeps a tiny budget from writing one run per record.
	minBudget = 64 << 10
)

// ErrClosed is returned by a Sorter used after Close.
var ErrClosed = errors.New("extsort: sorter closed")

// Stats says what a Sorter did, for benchmarks and diagnostics.
type Stats struct {
	Records      int64 // records added
	Runs         int   // runs written, including those of merge levels
	SpilledBytes int64 // bytes written to temporary files
	MaxMemory    int   // most bytes of records and index held at once (≤ the budget)
}

// ent locates one record in the chunks. uint32 fields keep the index at 16
// bytes a record; a chunk is never larger than the budget, and a record
// larger than 4 GiB is refused.
type ent struct {
	chunk, off, klen, vlen uint32
}

// run is one sorted temporary file.
type run struct {
	f     *os.File
	name  string // to remove at Close; "" once removed
	size  int64
	count int64 // records: a run that ends early is damaged, not short
	level int
}

type state int

const (
	adding state = iota
	reading
	closed
)

// Sorter sorts records by key; see the package comment. Not safe for
// concurrent use.
type Sorter struct {
	dir       string
	budget    int
	chunkSize int
	fanIn     int // maxFanIn; smaller in tests, to reach several levels

	chunks [][]byte // chunks[:nchunks] in use; the rest allocated for reuse
	inUse  int      // chunks in use
	ents   []ent
	mem    int // bytes allocated to chunks and the index

	runs  []*run
	wbuf  *bufio.Writer
	state state
	err   error // the first failure: the Sorter is then unusable
	it    *Iter
	stats Stats
}

// New returns a Sorter that holds at most budget bytes of records in memory
// (0: DefaultBudget) and spills sorted runs to temporary files in dir.
// Nothing is created in dir until the budget is exceeded.
func New(dir string, budget int) *Sorter {
	if budget <= 0 {
		budget = DefaultBudget
	}
	budget = max(budget, minBudget)
	// Chunks small enough that the last one wastes little, large enough
	// to be few.
	return &Sorter{dir: dir, budget: budget, chunkSize: min(max(budget/16, 16<<10), 1<<20), fanIn: maxFanIn}
}

// Stats returns what the Sorter has done so far.
func (s *Sorter) Stats() Stats { return s.stats }

// Add adds a record; key and value are copied. Add may write a run to disk.
func (s *Sorter) Add(key string, value []byte) error {
	switch {
	case s.err != nil:
		return s.err
	case s.state == closed:
		return ErrClosed
	case s.state != adding:
		return errors.New("extsort: Add after Sort")
	case uint64(len(key)) > 1<<31 || uint64(len(value)) > 1<<31:
		return fmt.Errorf("extsort: a record of %d bytes is too large", len(key)+len(value))
	}
	n := len(key) + len(value)
	if !s.reserve(n) {
		if err := s.spill(); err != nil {
			return s.fail(err)
		}
		if !s.reserve(n) {
			// Alone in memory, the record is over the budget: hold it
			// anyway, in a chunk of its own (the budget is a bound for
			// records smaller than it, which is what callers sort).
			s.addChunk(n)
			s.growIndex(true)
		}
	}
	c := s.chunks[s.inUse-1]
	off := len(c)
	c = append(c, key...)
	c = append(c, value...)
	s.chunks[s.inUse-1] = c
	s.ents = append(s.ents, ent{chunk: uint32(s.inUse - 1), off: uint32(off), klen: uint32(len(key)), vlen: uint32(len(value))})
	s.stats.Records++
	s.stats.MaxMemory = max(s.stats.MaxMemory, s.mem)
	return nil
}

// reserve makes room for a record of n bytes and an index entry within the
// budget, reporting false if there is none.
func (s *Sorter) reserve(n int) bool {
	if s.inUse == 0 || cap(s.chunks[s.inUse-1])-len(s.chunks[s.inUse-1]) < n {
		switch {
		case s.inUse < len(s.chunks) && cap(s.chunks[s.inUse]) >= n:
			s.inUse++ // reuse a chunk allocated before a spill
		case s.mem+max(n, s.chunkSize) > s.budget:
			return false
		default:
			// A record larger than a chunk gets one of its own.
			s.addChunk(max(n, s.chunkSize))
		}
	}
	return s.growIndex(false)
}

// addChunk allocates a chunk of n bytes and puts it in use, before the
// chunks kept for reuse, so that chunk numbers follow the order of Add.
func (s *Sorter) addChunk(n int) {
	s.chunks = slices.Insert(s.chunks, s.inUse, make([]byte, 0, n))
	s.inUse++
	s.mem += n
}

// growIndex makes room for one more entry, within the budget unless force:
// while the index grows, the old and the new array are both alive.
func (s *Sorter) growIndex(force bool) bool {
	if len(s.ents) < cap(s.ents) {
		return true
	}
	newCap := max(256, cap(s.ents)*2)
	if !force && s.mem+newCap*entrySize > s.budget {
		return false
	}
	ents := make([]ent, len(s.ents), newCap)
	copy(ents, s.ents)
	s.mem += (newCap - cap(s.ents)) * entrySize
	s.ents = ents
	return true
}

func (s *Sorter) key(e ent) []byte {
	return s.chunks[e.chunk][e.off : e.off+e.klen]
}

func (s *Sorter) value(e ent) []byte {
	return s.chunks[e.chunk][e.off+e.klen : e.off+e.klen+e.vlen]
}

// sortMemory sorts the records held, equal keys in the order added: the
// chunks fill in order, so (chunk, off) is the order of Add.
func (s *Sorter) sortMemory() {
	slices.SortFunc(s.ents, func(a, b ent) int {
		if c := bytes.Compare(s.key(a), s.key(b)); c != 0 {
			return c
		}
		if a.chunk != b.chunk {
			return int(a.chunk) - int(b.chunk)
		}
		return int(a.off) - int(b.off)
	})
}

// spill writes the records held as a run and empties memory, keeping its
// allocations for the next records. Too many runs of one level are merged
// into one of the next level, which bounds the open files.
func (s *Sorter) spill() error {
	if len(s.ents) == 0 {
		return nil
	}
	s.sortMemory()
	r, w, err := s.newRun()
	if err != nil {
		return err
	}
	var hdr [2 * binary.MaxVarintLen64]byte
	for _, e := range s.ents {
		h := binary.AppendUvarint(hdr[:0], uint64(e.klen))
		h = binary.AppendUvarint(h, uint64(e.vlen))
		w.Write(h)
		w.Write(s.key(e))
		w.Write(s.value(e))
	}
	r.count = int64(len(s.ents))
	if err := s.endRun(r, w); err != nil {
		return err
	}
	s.runs = append(s.runs, r)
	s.ents = s.ents[:0]
	for i := range s.inUse {
		if cap(s.chunks[i]) > s.chunkSize {
			// A record's own chunk: not worth keeping.
			s.mem -= cap(s.chunks[i])
			s.chunks[i] = nil
			continue
		}
		s.chunks[i] = s.chunks[i][:0]
	}
	s.chunks = slices.DeleteFunc(s.chunks, func(c []byte) bool { return c == nil })
	s.inUse = 0
	return s.carry()
}

// carry merges the last maxFanIn runs into one of the next level whenever
// they are all of one level, as a counter carries: each record is then
// rewritten once per level, and the runs (open files) stay under
// maxFanIn per level. Only runs adjacent at the end are merged, in order,
// so equal keys keep the order they were added in.
func (s *Sorter) carry() error {
	for len(s.runs) >= s.fanIn {
		tail := s.runs[len(s.runs)-s.fanIn:]
		for _, r := range tail {
			if r.level != tail[0].level {
				return nil
			}
		}
		if err := s.mergeTail(s.fanIn); err != nil {
			return err
		}
	}
	return nil
}

// mergeTail replaces the last k runs by their merge.
func (s *Sorter) mergeTail(k int) error {
	merged, err := s.mergeRuns(s.runs[len(s.runs)-k:])
	if err != nil {
		return err
	}
	s.runs = append(s.runs[:len(s.runs)-k], merged)
	return nil
}

// mergeRuns merges runs into a new run one level above the highest, and
// closes them.
func (s *Sorter) mergeRuns(runs []*run) (*run, error) {
	m, err := newMerger(runs)
	if err != nil {
		return nil, err
	}
	out, w, err := s.newRun()
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		out.level = max(out.level, r.level+1)
	}
	var hdr [2 * binary.MaxVarintLen64]byte
	for m.next() {
		k, v := m.key(), m.value()
		h := binary.AppendUvarint(hdr[:0], uint64(len(k)))
		h = binary.AppendUvarint(h, uint64(len(v)))
		w.Write(h)
		w.Write(k)
		w.Write(v)
		out.count++
	}
	if m.err != nil {
		closeRun(out)
		return nil, m.err
	}
	if err := s.endRun(out, w); err != nil {
		return nil, err
	}
	for _, r := range runs {
		closeRun(r)
	}
	return out, nil
}

// newRun creates a temporary file for a run and removes its name (see the
// package comment).
func (s *Sorter) newRun() (*run, *bufio.Writer, error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("extsort: temporary directory: %w", err)
	}
	f, err := os.CreateTemp(s.dir, "s3up-sort-*.run")
	if err != nil {
		return nil, nil, fmt.Errorf("extsort: %w", err)
	}
	r := &run{f: f, name: f.Name()}
	if os.Remove(r.name) == nil {
		r.name = ""
	}
	if s.wbuf == nil {
		s.wbuf = bufio.NewWriterSize(f, writeBuf)
	} else {
		s.wbuf.Reset(f)
	}
	return r, s.wbuf, nil
}

// endRun flushes a run's writer and notes its size.
func (s *Sorter) endRun(r *run, w *bufio.Writer) error {
	if err := w.Flush(); err != nil {
		closeRun(r)
		return fmt.Errorf("extsort: write %s: %w", s.dir, err)
	}
	fi, err := r.f.Stat()
	if err != nil {
		closeRun(r)
		return fmt.Errorf("extsort: %w", err)
	}
	r.size = fi.Size()
	s.stats.Runs++
	s.stats.SpilledBytes += r.size
	return nil
}

func closeRun(r *run) error {
	err := r.f.Close()
	if r.name != "" {
		if rerr := os.Remove(r.name); rerr == nil {
			r.name = ""
		} else if err == nil {
			err = rerr
		}
	}
	return err
}

// Sort ends adding and returns the records in order. Records that never
// left memory are read from memory; otherwise what is held is written as a
// last run and memory is released before the runs are merged. The Iter is
// valid until Close.
func (s *Sorter) Sort() (*Iter, error) {
	switch {
	case s.err != nil:
		return nil, s.err
	case s.state == closed:
		return nil, ErrClosed
	case s.state != adding:
		return nil, errors.New("extsort: Sort called twice")
	}
	s.state = reading
	if len(s.runs) == 0 {
		s.sortMemory()
		s.it = &Iter{s: s, i: -1}
		return s.it, nil
	}
	if err := s.spill(); err != nil {
		return nil, s.fail(err)
	}
	s.chunks, s.ents, s.inUse, s.mem = nil, nil, 0, 0
	// Merge the last (smallest) runs until one merge can read them all.
	for len(s.runs) > s.fanIn {
		if err := s.mergeTail(min(s.fanIn, len(s.runs)-s.fanIn+1)); err != nil {
			return nil, s.fail(err)
		}
	}
	s.wbuf = nil
	m, err := newMerger(s.runs)
	if err != nil {
		return nil, s.fail(err)
	}
	s.it = &Iter{s: s, m: m}
	return s.it, nil
}

// fail records the first error and releases the temporary files.
func (s *Sorter) fail(err error) error {
	if s.err == nil {
		s.err = err
	}
	s.release()
	return s.err
}

func (s *Sorter) release() error {
	var errs []error
	for _, r := range s.runs {
		errs = append(errs, closeRun(r))
	}
	s.runs = nil
	s.chunks, s.ents, s.inUse, s.mem = nil, nil, 0, 0
	s.wbuf = nil
	return errors.Join(errs...)
}

// Close releases memory and removes the temporary files. It may be called
// at any time, more than once.
func (s *Sorter) Close() error {
	if s.state == closed {
		return nil
	}
	s.state = closed
	if s.it != nil {
		s.it.done = true
	}
	return s.release()
}

// Iter reads sorted records; see Sorter.Sort.
type Iter struct {
	s    *Sorter
	i    int     // memory: the current entry
	m    *merger // disk: the runs' merge
	done bool
	err  error
}

// Next moves to the next record, reporting false at the end or on an
// error (Err).
func (it *Iter) Next() bool {
	if it.done {
		return false
	}
	if it.m == nil {
		it.i++
		if it.i >= len(it.s.ents) {
			it.done = true
			return false
		}
		return true
	}
	if it.m.next() {
		return true
	}
	it.done, it.err = true, it.m.err
	return false
}

// Key is the current record's key. It is valid until the next call of Next.
func (it *Iter) Key() []byte {
	if it.m == nil {
		return it.s.key(it.s.ents[it.i])
	}
	return it.m.key()
}

// Value is the current record's value, valid until the next call of Next.
func (it *Iter) Value() []byte {
	if it.m == nil {
		return it.s.value(it.s.ents[it.i])
	}
	return it.m.value()
}

// Err is the error that ended the iteration, if any.
func (it *Iter) Err() error { return it.err }

// cursor reads one run.
type cursor struct {
	r     *bufio.Reader
	order int   // the run's position: ties go to the earlier run
	left  int64 // records not read yet
	key   []byte
	val   []byte
}

// advance reads the next record, reporting false at the run's end.
func (c *cursor) advance() (bool, error) {
	if c.left == 0 {
		return false, nil
	}
	kl, err := binary.ReadUvarint(c.r)
	if err != nil {
		return false, unexpected(err)
	}
	vl, err := binary.ReadUvarint(c.r)
	if err != nil {
		return false, unexpected(err)
	}
	if kl > 1<<31 || vl > 1<<31 {
		return false, errors.New("extsort: a run is damaged (record length out of range)")
	}
	c.key = grow(c.key, int(kl))
	c.val = grow(c.val, int(vl))
	if _, err := io.ReadFull(c.r, c.key); err != nil {
		return false, unexpected(err)
	}
	if _, err := io.ReadFull(c.r, c.val); err != nil {
		return false, unexpected(err)
	}
	c.left--
	return true, nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("extsort: read a run: %w", err)
}

// merger is a k-way merge of runs: a binary heap of cursors by (key,
// order). The current record is the top's; it advances on the next call.
type merger struct {
	h       []*cursor
	started bool
	err     error
}

func newMerger(runs []*run) (*merger, error) {
	m := &merger{}
	for i, r := range runs {
		c := &cursor{r: bufio.NewReaderSize(io.NewSectionReader(r.f, 0, r.size), readBufSize), order: i, left: r.count}
		ok, err := c.advance()
		if err != nil {
			return nil, err
		}
		if ok {
			m.h = append(m.h, c)
		}
	}
	for i := len(m.h)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	return m, nil
}

func (m *merger) next() bool {
	if m.err != nil {
		return false
	}
	if m.started && len(m.h) > 0 {
		ok, err := m.h[0].advance()
		if err != nil {
			m.err = err
			return false
		}
		if ok {
			m.down(0)
		} else {
			last := len(m.h) - 1
			m.h[0] = m.h[last]
			m.h = m.h[:last]
			if last > 0 {
				m.down(0)
			}
		}
	}
	m.started = true
	return len(m.h) > 0
}

func (m *merger) key() []byte   { return m.h[0].key }
func (m *merger) value() []byte { return m.h[0].val }

func (m *merger) less(i, j int) bool {
	if c := bytes.Compare(m.h[i].key, m.h[j].key); c != 0 {
		return c < 0
	}
	return m.h[i].order < m.h[j].order
}

func (m *merger) down(i int) {
	n := len(m.h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		j := l
		if r := l + 1; r < n && m.less(r, l) {
			j = r
		}
		if !m.less(j, i) {
			return
		}
		m.h[i], m.h[j] = m.h[j], m.h[i]
		i = j
	}
}
