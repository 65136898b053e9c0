package resume

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/gofrs/flock"
)

// The tree journal remembers, for the files a tree upload stored, what each
// was when it was stored, so that the next run of the same tree skips the
// files that did not change with nothing but the bucket's listing: no
// request per file, no read of any file.
//
// It is a file of JSON lines in the state directory: line 1 a header naming
// the destination, then one TreeRecord per stored file; a later line for a
// key replaces an earlier one. Records are appended as files are stored,
// without fsync (a crash loses at most the last records, which costs the
// next run a HeadObject for each of those files, never a wrong skip), and
// the journal is rewritten compactly at the end of a run.

// TreeFormatVersion is the tree journal format this package writes; a
// journal of another version is ignored (the next run rebuilds it).
const TreeFormatVersion = 1

// TreeRecord is what a tree run stored for one file: the local file's size
// and modification time when it was read, and the object's ETag as the
// server gave it.
type TreeRecord struct {
	Key   string `json:"k"`
	Size  int64  `json:"s"`
	MTime int64  `json:"m"` // Unix nanoseconds
	ETag  string `json:"e"`
}

type treeHeader struct {
	Version  int    `json:"tree_version"`
	Endpoint string `json:"endpoint"`
	Bucket   string `json:"bucket"`
	Prefix   string `json:"prefix"`
}

// TreeJournalPath returns where the journal of tree uploads to dest lives in
// stateDir; dest.Key is the prefix. dest.Endpoint must be normalised.
func TreeJournalPath(stateDir string, dest Destination) string {
	sum := sha256.Sum256([]byte(dest.Endpoint + "\x00" + dest.Bucket + "\x00" + dest.Key))
	return filepath.Join(stateDir, "trees", hex.EncodeToString(sum[:])[:20]+".jsonl")
}

// TreeJournal is an open, locked tree journal. Safe for concurrent use.
type TreeJournal struct {
	path string
	dest Destination
	lock *flock.Flock

	mu    sync.Mutex
	recs  map[string]TreeRecord
	f     *os.File
	w     *bufio.Writer
	err   error // the first failed write; the journal then keeps records in memory only
	valid bool  // the file on disk has this destination's header: records can be appended
}

// OpenTree locks the tree journal at path (creating its directory) and
// loads it. Another holder of the lock is ErrLocked. A missing, unreadable
// or foreign journal starts empty: the journal only saves work.
func OpenTree(path string, dest Destination) (*TreeJournal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("tree journal: %w", err)
	}
	if err := refuseIrregular(path); err != nil {
		return nil, err
	}
	fl := flock.New(path+".lock", flock.SetFlag(os.O_CREATE|os.O_RDONLY|oNoFollow), flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock tree journal %s.lock: %w", path, err)
	}
	if !ok {
		return nil, fmt.Errorf("lock %s.lock: %w", path, ErrLocked)
	}
	recs, valid, _ := readTree(path, dest)
	return &TreeJournal{path: path, dest: dest, lock: fl, recs: recs, valid: valid}, nil
}

// ReadTree reads the records of the tree journal at path without locking
// it (for a dry run). Torn or unparsable lines are skipped; a journal for
// another destination or format gives no records.
func ReadTree(path string, dest Destination) (map[string]TreeRecord, error) {
	recs, _, err := readTree(path, dest)
	return recs, err
}

func readTree(path string, dest Destination) (map[string]TreeRecord, bool, error) {
	recs := map[string]TreeRecord{}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		return recs, false, err
	}
	first, rest, _ := bytes.Cut(data, []byte("\n"))
	var h treeHeader
	if json.Unmarshal(first, &h) != nil || h.Version != TreeFormatVersion ||
		h.Endpoint != dest.Endpoint || h.Bucket != dest.Bucket || h.Prefix != dest.Key {
		return recs, false, nil
	}
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		var r TreeRecord
		if json.Unmarshal(line, &r) == nil && r.Key != "" {
			recs[r.Key] = r
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		// A torn last line: appending after it would glue two records.
		return recs, false, nil
	}
	return recs, true, nil
}

// Path is the journal's path.
func (j *TreeJournal) Path() string { return j.path }

// Get returns the record of key.
func (j *TreeJournal) Get(key string) (TreeRecord, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	r, ok := j.recs[key]
	return r, ok
}

// Put records r, replacing any record of its key. The line is buffered;
// Flush writes it out.
func (j *TreeJournal) Put(r TreeRecord) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if old, ok := j.recs[r.Key]; ok && old == r {
		return
	}
	j.recs[r.Key] = r
	if j.err != nil {
		return
	}
	if j.w == nil {
		if j.err = j.startAppend(); j.err != nil {
			return
		}
	}
	b, _ := json.Marshal(r)
	_, j.err = j.w.Write(append(b, '\n'))
}

// startAppend opens the journal for appending, writing its header if it is
// new or not this destination's. Called with mu held.
func (j *TreeJournal) startAppend() error {
	if !j.valid {
		// Start the file afresh with the records known so far.
		if err := j.rewrite(j.sorted(nil)); err != nil {
			return err
		}
		j.valid = true
	}
	f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND|oNoFollow, 0o600)
	if err != nil {
		return err
	}
	j.f, j.w = f, bufio.NewWriterSize(f, 64<<10)
	return nil
}

// Flush writes the buffered records to the file (without fsync).
func (j *TreeJournal) Flush() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil && j.w != nil {
		j.err = j.w.Flush()
	}
	return j.err
}

// Close writes the journal anew holding only the records of keys for which
// keep reports true (nil keeps every record), atomically and durably, and
// releases the lock.
func (j *TreeJournal) Close(keep func(key string) bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f != nil {
		j.f.Close()
		j.f, j.w = nil, nil
	}
	err := j.rewrite(j.sorted(keep))
	return errors.Join(err, j.lock.Unlock())
}

// sorted returns the records for which keep reports true (nil: all), by key.
func (j *TreeJournal) sorted(keep func(key string) bool) []TreeRecord {
	var recs []TreeRecord
	for k, r := range j.recs {
		if keep == nil || keep(k) {
			recs = append(recs, r)
		}
	}
	slices.SortFunc(recs, func(a, b TreeRecord) int { return strings.Compare(a.Key, b.Key) })
	return recs
}

// Release releases the lock, leaving the journal as last flushed.
func (j *TreeJournal) Release() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	var err error
	if j.f != nil {
		if j.err == nil {
			err = j.w.Flush()
		}
		err = errors.Join(err, j.f.Close())
		j.f, j.w = nil, nil
	}
	return errors.Join(err, j.lock.Unlock())
}

// rewrite atomically replaces the journal with the header and recs.
func (j *TreeJournal) rewrite(recs []TreeRecord) error {
	var buf bytes.Buffer
	h, _ := json.Marshal(treeHeader{Version: TreeFormatVersion, Endpoint: j.dest.Endpoint, Bucket: j.dest.Bucket, Prefix: j.dest.Key})
	buf.Write(append(h, '\n'))
	for _, r := range recs {
		b, _ := json.Marshal(r)
		buf.Write(append(b, '\n'))
	}
	return WriteFileAtomic(j.path, buf.Bytes())
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
