package resume

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// SidecarPath returns where the sidecar for uploading absSource to dest lives. With stateDir
// empty it sits next to the source as a hidden file named after the destination; otherwise it
// sits in stateDir, named after the source's base name and a hash of its absolute path and the
// destination. Either way one source uploaded to two destinations gets two sidecars.
func SidecarPath(stateDir, absSource string, dest Destination) string {
	if stateDir == "" {
		sum := sha256.Sum256([]byte(dest.Endpoint + "\x00" + dest.Bucket + "\x00" + dest.Key))
		return filepath.Join(filepath.Dir(absSource),
			"."+filepath.Base(absSource)+".s3up-"+hex.EncodeToString(sum[:])[:12])
	}
	sum := sha256.Sum256([]byte(absSource + "\x00" + dest.Endpoint + "\x00" + dest.Bucket + "\x00" + dest.Key))
	return filepath.Join(stateDir, filepath.Base(absSource)+"-"+hex.EncodeToString(sum[:])[:16]+".s3up")
}

// Sidecar is a locked sidecar file. One process holds it at a time (see Lock); within that
// process Append may be called from many goroutines, everything else from one.
type Sidecar struct {
	path string
	lock *flock.Flock

	mu        sync.Mutex
	journal   *os.File // open for appending once Create, Load or Compact succeeded
	partCount int32    // from the header, to validate appended records
	intact    int64    // length of the journal's prefix of whole lines
	torn      bool     // bytes after intact are garbage; cut them before the next append
	closed    bool
}

var errNotOpen = errors.New("sidecar not loaded or created")

// lockAttempts bounds the retries when the lock file is replaced under us (see Lock).
const lockAttempts = 4

// Lock takes an exclusive, non-blocking lock on path+".lock" (flock(2) via gofrs/flock; the lock
// file has mode 0600 and is created, with its directory, if missing). It returns an error
// wrapping ErrLocked when another process, or another Sidecar in this process, holds it. It
// neither creates nor reads the sidecar itself.
func Lock(path string) (*Sidecar, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock sidecar: %w", err)
	}
	lockPath := path + ".lock"
	for attempt := 1; ; attempt++ {
		fl := flock.New(lockPath, flock.SetPermissions(0o600))
		ok, err := fl.TryLock()
		if err != nil {
			return nil, fmt.Errorf("lock sidecar %s: %w", lockPath, err)
		}
		if !ok {
			return nil, fmt.Errorf("lock %s: %w", lockPath, ErrLocked)
		}
		// Remove unlinks the lock file while holding it. A process that opened the file just
		// before then locks an orphaned inode that excludes nobody, so check that the file we
		// locked is still the one at lockPath, and start over if not.
		held, herr := fl.Stat()
		cur, cerr := os.Stat(lockPath)
		if herr == nil && cerr == nil && os.SameFile(held, cur) {
			return &Sidecar{path: path, lock: fl}, nil
		}
		_ = fl.Unlock()
		if herr != nil || (cerr != nil && !errors.Is(cerr, fs.ErrNotExist)) || attempt == lockAttempts {
			return nil, fmt.Errorf("lock sidecar %s: lock file keeps being replaced: %w", lockPath, errors.Join(herr, cerr))
		}
	}
}

// Path returns the sidecar's path (without ".lock").
func (s *Sidecar) Path() string { return s.path }

// Load reads the sidecar and prepares it for Append. Errors:
//   - wrapping fs.ErrNotExist when there is no sidecar;
//   - wrapping ErrFutureVersion, naming both versions, for a newer format;
//   - wrapping ErrCorrupt, naming the line and the problem, for anything else unreadable,
//     an empty file or a truncated header included.
//
// A torn last journal line (a crash mid-append) is ignored; the next Append cuts it off.
// When superseded records outnumber live ones (more than 2×parts+64 records), Load compacts
// the file.
func (s *Sidecar) Load() (*State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("load sidecar %s: %w", s.path, os.ErrClosed)
	}
	s.closeJournal()

	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("load sidecar: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSidecarSize+1))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("load sidecar: %w", err)
	}
	if len(data) > maxSidecarSize {
		f.Close()
		return nil, fmt.Errorf("load sidecar %s: %w: larger than %d bytes", s.path, ErrCorrupt, maxSidecarSize)
	}
	p, err := parseJournal(data)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("load sidecar %s: %w", s.path, err)
	}
	s.journal = f
	s.partCount = p.state.PartCount
	s.intact = p.intact
	s.torn = p.torn(int64(len(data)))

	if p.records > 2*len(p.state.Parts)+64 {
		if err := s.compact(p.state); err != nil {
			return nil, err
		}
	}
	return p.state, nil
}

// Create starts a fresh sidecar holding header h and no parts, atomically replacing any previous
// one, and opens it for Append. It records FormatVersion as h.Version and the current time as
// h.CreatedAt if that is zero. h must name an upload id, bucket, key, source path, a positive
// part size and at least one part.
func (s *Sidecar) Create(h Header) error {
	h.Version = FormatVersion
	if h.CreatedAt.IsZero() {
		h.CreatedAt = time.Now().UTC()
	}
	if err := h.validate(); err != nil {
		return fmt.Errorf("create sidecar %s: %w", s.path, err)
	}
	data, err := encodeHeader(h)
	if err != nil {
		return fmt.Errorf("create sidecar %s: %w", s.path, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.replace(data, h.PartCount); err != nil {
		return fmt.Errorf("create sidecar: %w", err)
	}
	return nil
}

// Append records one finished part: one journal line, written with a single write and made
// durable with fdatasync before Append returns. Its cost does not depend on how many parts are
// recorded. Safe for concurrent use; calls are serialised. Call it after Create or Load.
func (s *Sidecar) Append(p Part) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.journal == nil {
		return fmt.Errorf("append part %d to sidecar %s: %w", p.Number, s.path, errNotOpen)
	}
	if err := p.validate(s.partCount); err != nil {
		return fmt.Errorf("append to sidecar %s: %w", s.path, err)
	}
	line, err := encodePart(p)
	if err != nil {
		return fmt.Errorf("append to sidecar %s: %w", s.path, err)
	}
	if s.torn {
		// Appending after a torn line would glue the two into one bad line in the middle of
		// the journal, which Load rightly calls corrupt.
		if err := s.journal.Truncate(s.intact); err != nil {
			return fmt.Errorf("append part %d: repair torn sidecar: %w", p.Number, err)
		}
		s.torn = false
	}
	if _, err := s.journal.Write(line); err != nil {
		s.torn = true
		return fmt.Errorf("append part %d: %w", p.Number, err)
	}
	if err := datasync(s.journal); err != nil {
		// The line may or may not be on disk; cut it before the next append so the journal
		// only ever grows by known-good lines. Losing a record is safe: Reconcile verifies.
		s.torn = true
		return fmt.Errorf("append part %d: %w", p.Number, err)
	}
	s.intact += int64(len(line))
	return nil
}

// Compact atomically rewrites the sidecar as st's header followed by one record per part, in
// part order, and reopens it for Append. Load calls it when superseded records pile up.
func (s *Sidecar) Compact(st *State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.compact(st)
}

func (s *Sidecar) compact(st *State) error {
	c := *st
	c.Version = FormatVersion
	data, err := encodeState(&c)
	if err != nil {
		return fmt.Errorf("compact sidecar %s: %w", s.path, err)
	}
	if err := s.replace(data, c.PartCount); err != nil {
		return fmt.Errorf("compact sidecar: %w", err)
	}
	return nil
}

// replace atomically makes data the sidecar's content and keeps the new file open as the
// journal. The temporary name is fixed because the lock makes us its only writer, and a fixed
// name means a crash leaves at most one stray file, which the next replace overwrites.
func (s *Sidecar) replace(data []byte, partCount int32) error {
	if s.closed {
		return fmt.Errorf("%s: %w", s.path, os.ErrClosed)
	}
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	// A stray temp file from a crash keeps its old mode through O_CREATE.
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	// From here the new file is the sidecar, even if making the rename durable fails.
	s.closeJournal()
	s.journal = f
	s.partCount = partCount
	s.intact = int64(len(data))
	s.torn = false
	return syncDir(filepath.Dir(s.path))
}

func (s *Sidecar) closeJournal() error {
	if s.journal == nil {
		return nil
	}
	err := s.journal.Close()
	s.journal = nil
	return err
}

// Close closes the journal and releases the lock; the sidecar stays on disk for the next run.
// Every Append was already synced, so there is nothing left to flush. Close is idempotent.
func (s *Sidecar) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := errors.Join(s.closeJournal(), s.lock.Unlock())
	if err != nil {
		return fmt.Errorf("close sidecar %s: %w", s.path, err)
	}
	return nil
}

// Remove deletes the sidecar, any stray temporary file and the lock file while still holding
// the lock, then releases it. Call it once the upload is complete or aborted.
func (s *Sidecar) Remove() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("remove sidecar %s: %w", s.path, os.ErrClosed)
	}
	s.closed = true
	errs := []error{s.closeJournal()}
	for _, p := range []string{s.path, s.path + ".tmp", s.path + ".lock"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, syncDir(filepath.Dir(s.path)), s.lock.Unlock())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove sidecar: %w", err)
	}
	return nil
}
