package resume

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/gofrs/flock"
)

// The tree journal remembers, for the files a tree upload stored, what each
// was when it was stored, so that the next run of the same tree skips the
// files that did not change with nothing but the bucket's listing: no
// request per file, no read of any file. Its files, their format, how a
// run writes it and how version-1 journals are read are in the package
// comment ("The tree journal").

// TreeFormatVersion is the tree journal format this package writes. It
// reads version 1 too; a journal of a later version is ignored (and
// replaced at the end of the run).
const TreeFormatVersion = 2

// TreeRecord is what a tree run stored for one file: the local file's size
// and modification time when it was read, and the object's ETag as the
// server gave it. (The JSON names are version 1's.)
type TreeRecord struct {
	Key   string `json:"k"`
	Size  int64  `json:"s"`
	MTime int64  `json:"m"` // Unix nanoseconds
	ETag  string `json:"e"`
}

// TreeJournalPath returns where the journal of tree uploads to dest lives in
// stateDir; dest.Key is the prefix. dest.Endpoint must be normalised. The
// path names the journal (its lock is path + ".lock", as in version 1);
// the version-2 files are next to it (see the package comment).
func TreeJournalPath(stateDir string, dest Destination) string {
	sum := sha256.Sum256([]byte(dest.Endpoint + "\x00" + dest.Bucket + "\x00" + dest.Key))
	return filepath.Join(stateDir, "trees", hex.EncodeToString(sum[:])[:20]+".jsonl")
}

// TreeOptions tune how a tree journal sorts. Zero values mean the
// defaults.
type TreeOptions struct {
	// TempDir is where sorts spill (its files are removed from it as they
	// are created). Default: the journal's directory.
	TempDir string
	// SortBudget is the memory a sort may hold (DefaultSortBudget).
	SortBudget int
}

func (o TreeOptions) withDefaults(path string) TreeOptions {
	if o.TempDir == "" {
		o.TempDir = filepath.Dir(path)
	}
	if o.SortBudget <= 0 {
		o.SortBudget = DefaultSortBudget
	}
	return o
}

// TreeJournal is an open, locked tree journal. Put, Flush, Seen and Get
// are safe for concurrent use; readers from Records are not shared.
//
// Memory: a 64 KiB block being filled for the run's log and 64 KiB of the
// keys passed to Seen, whatever the size of the tree; Records' readers and
// the replacement at Close hold what TreeReader says (a block, and a
// Sorter's budget only when there is something to sort). Get is the
// exception: see there.
type TreeJournal struct {
	st   treeState // as found at Open
	opts TreeOptions
	lock *flock.Flock
	seq  uint64 // this run's log number

	mu     sync.Mutex
	log    *os.File
	bw     *blockWriter
	err    error // the first failed write to the log; later records are dropped
	seen   *keyLog
	legacy map[string]TreeRecord // Get's map, loaded on the first Get
	closed bool
}

// beforeTreeRename, when set (by tests), runs before a replacement of the
// sorted journal is renamed into place; an error stops the replacement as
// a crash or a full disk would.
var beforeTreeRename func(tmp string) error

// OpenTree locks the tree journal at path (TreeJournalPath's, creating its
// directory) with the default TreeOptions. Another holder of the lock is
// ErrLocked. A missing, unreadable or foreign journal gives no records:
// the journal only saves work.
func OpenTree(path string, dest Destination) (*TreeJournal, error) {
	return OpenTreeWith(path, dest, TreeOptions{})
}

// OpenTreeWith is OpenTree with options. It reads nothing but the
// directory and the sorted journal's header line; it removes what a crash
// left behind (a replacement never renamed, logs already merged).
func OpenTreeWith(path string, dest Destination, o TreeOptions) (*TreeJournal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("tree journal: %w", err)
	}
	p := pathsOf(path)
	for _, f := range []string{p.v1(), p.sorted()} {
		if err := refuseIrregular(f); err != nil {
			return nil, err
		}
	}
	fl := flock.New(p.lock(), flock.SetFlag(os.O_CREATE|os.O_RDONLY|oNoFollow), flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock tree journal %s: %w", p.lock(), err)
	}
	if !ok {
		return nil, fmt.Errorf("lock %s: %w", p.lock(), ErrLocked)
	}
	st, err := scanTree(p, dest)
	if err != nil {
		fl.Unlock()
		return nil, err
	}
	for _, l := range st.stale {
		os.Remove(l.path)
	}
	for _, t := range st.temps {
		os.Remove(t)
	}
	st.stale, st.temps = nil, nil
	return &TreeJournal{st: st, opts: o.withDefaults(path), lock: fl, seq: st.maxSeq + 1}, nil
}

// Path is the journal's sorted file, for messages.
func (j *TreeJournal) Path() string { return j.st.paths.sorted() }

// Records returns a reader of the journal as it was when it was opened
// (the records this run Puts are not in it), in key order. Each call
// returns a new reader; close it.
func (j *TreeJournal) Records() *TreeReader { return j.st.reader(j.opts) }

// Get returns the record of key. The first Get loads every record into
// memory, which a run that must stay flat does not afford: it reads
// Records in order instead. After a Get, Put skips a record equal to the
// one already held.
func (j *TreeJournal) Get(key string) (TreeRecord, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.legacy == nil {
		j.legacy = map[string]TreeRecord{}
		rd := j.Records()
		for r := range rd.All() {
			j.legacy[r.Key] = r
		}
		rd.Close()
		if j.bw != nil && j.bw.flush() == nil {
			readPending(j.st.paths.pending(j.seq), j.st.dest, func(key string, body []byte) error {
				r := TreeRecord{Key: key}
				if _, err := decodeBody(body, &r); err == nil {
					j.legacy[key] = r
				}
				return nil
			})
		}
	}
	r, ok := j.legacy[key]
	return r, ok
}

// Put records r, replacing at Close any record of its key. Records are
// appended to the run's log (a 64 KiB block at a time, without fsync: a
// crash loses at most the last block, which costs the next run a
// HeadObject for each of those files, never a wrong skip). Put does not
// compare r with the journal's record of its key: a caller that has the
// old record (from Records) Puts only a record that differs, or an
// unchanged rerun would rewrite the whole tree into the log.
func (j *TreeJournal) Put(r TreeRecord) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.legacy != nil {
		if old, ok := j.legacy[r.Key]; ok && old == r {
			return
		}
		j.legacy[r.Key] = r
	}
	if j.err != nil || j.closed || r.Key == "" {
		return
	}
	if j.bw == nil {
		if j.err = j.startLog(); j.err != nil {
			return
		}
	}
	j.bw.add(r)
	j.err = j.bw.err
}

// startLog creates the run's log. Called with mu held.
func (j *TreeJournal) startLog() error {
	path := j.st.paths.pending(j.seq)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
	if err != nil {
		return fmt.Errorf("tree journal: %w", err)
	}
	if _, err := f.Write(newHeader(kindPending, j.st.dest, 0)); err != nil {
		f.Close()
		return fmt.Errorf("tree journal %s: %w", path, err)
	}
	j.log, j.bw = f, newBlockWriter(f)
	return nil
}

// Flush writes the records Put so far to the log (without fsync).
func (j *TreeJournal) Flush() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil && j.bw != nil {
		j.err = j.bw.flush()
	}
	return j.err
}

// Seen tells the journal that the run found a file at key, so that
// CloseSeen keeps its record (the one this run Put, else the old one).
// Keys must come in strictly increasing byte order, as the merge of a
// tree run yields them: they are kept in a temporary file, not in memory.
// A key out of order is an error, and CloseSeen then refuses to drop
// anything.
func (j *TreeJournal) Seen(key string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.seen == nil {
		j.seen = &keyLog{dir: j.opts.TempDir}
	}
	return j.seen.add(key)
}

// Close replaces the journal with its records (old ones, those of runs
// that stopped before their Close, and this run's) for which keep reports
// true (nil keeps every record), and releases the lock. keep is called
// once per key, in increasing key order, so it may be a forward cursor
// over another ordered stream. The replacement is written to a temporary
// file, synced and renamed over the journal, then the directory is
// synced: a crash or a failure at any point leaves the old journal and
// the logs, which the next run merges. A version-1 journal is removed once
// its records are in the new one.
func (j *TreeJournal) Close(keep func(key string) bool) error {
	return j.finish(keep, nil)
}

// CloseSeen is Close keeping the records of the keys passed to Seen (none
// if Seen was never called: a run that found no file). If Seen failed, it
// keeps the journal and the logs as they are (the next run merges them),
// releases the lock and returns that error.
func (j *TreeJournal) CloseSeen() error {
	j.mu.Lock()
	if j.seen == nil {
		j.seen = &keyLog{}
	}
	keep, err := j.seen.contains()
	j.mu.Unlock()
	if err != nil {
		return errors.Join(err, j.Release())
	}
	return j.finish(keep, func() error { return j.seen.err })
}

// finish is Close; check reports a failure of keep found only once it
// has run (the keys seen could not be read back).
func (j *TreeJournal) finish(keep func(string) bool, check func() error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return errors.New("tree journal: closed twice")
	}
	j.closed = true
	logErr := j.closeLog()
	err := j.replace(keep, check)
	if err == nil {
		err = j.removeMerged()
	}
	return errors.Join(logErr, err, j.seen.close(), j.lock.Unlock())
}

// closeLog writes out and closes the run's log. Called with mu held.
func (j *TreeJournal) closeLog() error {
	if j.log == nil {
		return j.err
	}
	if j.err == nil {
		j.err = j.bw.flush()
	}
	err := errors.Join(j.err, j.log.Close())
	j.log = nil
	if err != nil {
		return fmt.Errorf("tree journal %s: %w", j.st.paths.pending(j.seq), err)
	}
	return nil
}

// sources is the journal's state with the run's own log as the newest.
func (j *TreeJournal) sources() treeState {
	st := j.st
	if j.bw != nil {
		st.pendings = append(st.pendings[:len(st.pendings):len(st.pendings)], pendingLog{seq: j.seq, path: j.st.paths.pending(j.seq)})
	}
	return st
}

// replace writes the new sorted journal. Called with mu held.
func (j *TreeJournal) replace(keep func(string) bool, check func() error) error {
	rd := j.sources().reader(j.opts)
	defer rd.Close()
	dst := j.st.paths.sorted()
	f, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".*.tmp")
	if err != nil {
		return fmt.Errorf("tree journal: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("tree journal %s: %w", dst, err)
	}
	if _, err := f.Write(newHeader(kindSorted, j.st.dest, j.seq)); err != nil {
		return fail(err)
	}
	bw := newBlockWriter(f)
	for r := range rd.All() {
		if keep == nil || keep(r.Key) {
			bw.add(r)
		}
	}
	if err := bw.end(); err != nil {
		return fail(err)
	}
	// Damage was skipped while reading (the records past it are lost,
	// which costs requests, not correctness); anything else means records
	// that should be kept could not be read: keep the old files instead.
	if err := rd.Err(); err != nil && !onlyDamage(err) {
		return fail(err)
	}
	if check != nil {
		if err := check(); err != nil {
			return fail(err)
		}
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if beforeTreeRename != nil {
		if err := beforeTreeRename(tmp); err != nil {
			return fail(err)
		}
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("tree journal %s: %w", dst, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("tree journal %s: %w", dst, err)
	}
	return syncDir(filepath.Dir(dst))
}

// onlyDamage reports whether every error joined in err is damage.
func onlyDamage(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !onlyDamage(e) {
				return false
			}
		}
		return true
	}
	return errors.Is(err, ErrTreeCorrupt)
}

// removeMerged removes what the new sorted journal holds: the logs (their
// numbers are at most its Merged, so one that a crash brings back is
// recognised) and a version-1 journal (then the directory is synced, as a
// version-1 journal brought back would be read again).
func (j *TreeJournal) removeMerged() error {
	for _, l := range j.sources().pendings {
		os.Remove(l.path)
	}
	err := os.Remove(j.st.paths.v1())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("tree journal: remove the version-1 journal: %w", err)
	}
	return syncDir(filepath.Dir(j.st.paths.v1()))
}

// Release releases the lock, leaving the journal as it was and the run's
// log written out: the next run merges it.
func (j *TreeJournal) Release() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil
	}
	j.closed = true
	return errors.Join(j.closeLog(), j.seen.close(), j.lock.Unlock())
}

// WriteFileAtomic replaces path with data (mode 0600): a temporary file
// created exclusively next to it, fsync, rename, fsync of the directory. A
// crash leaves the old file or the new one, never half of one.
func WriteFileAtomic(path string, data []byte) error {
	f, err := createRenamed(path, data)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// createRenamed writes data to a temporary file created exclusively (a
// random name, O_EXCL: nothing planted at a predictable name is written
// through) next to path, syncs it and renames it over path, and returns it
// still open. On an error nothing is left behind and path is unchanged.
// The caller makes the rename durable (syncDir).
func createRenamed(path string, data []byte) (*os.File, error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	return f, nil
}
