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
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// SidecarPath returns where the sidecar for uploading absSource to dest lives in stateDir: named
// after the source's base name and a hash of its absolute path and the destination, so one
// source uploaded to two destinations gets two sidecars, and two sources with one name do not
// collide. dest.Endpoint must be normalised by the caller, so that the same store always gives
// the same name.
func SidecarPath(stateDir, absSource string, dest Destination) string {
	sum := sha256.Sum256([]byte(absSource + "\x00" + dest.Endpoint + "\x00" + dest.Bucket + "\x00" + dest.Key))
	return filepath.Join(stateDir, filepath.Base(absSource)+"-"+hex.EncodeToString(sum[:])[:16]+".s3up")
}

// LegacySidecarPath is where versions before the state directory kept the sidecar: a hidden
// file next to the source, named after the destination. The engine still finds one there and
// moves it into the state directory.
func LegacySidecarPath(absSource string, dest Destination) string {
	sum := sha256.Sum256([]byte(dest.Endpoint + "\x00" + dest.Bucket + "\x00" + dest.Key))
	return filepath.Join(filepath.Dir(absSource),
		"."+filepath.Base(absSource)+".s3up-"+hex.EncodeToString(sum[:])[:12])
}

// DefaultStateDir is the user's state directory for s3up: $XDG_STATE_HOME/s3up when
// XDG_STATE_HOME is an absolute path, else ~/.local/state/s3up (the XDG base directory
// convention, as restic and rclone keep their caches). Resume state there survives a reboot,
// does not litter the folders being backed up, and works for read-only sources.
func DefaultStateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "s3up"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", fmt.Errorf("no state directory: set XDG_STATE_HOME or HOME, or choose one (%w)", err)
	}
	return filepath.Join(home, ".local", "state", "s3up"), nil
}

// PrepareStateDir creates dir with mode 0700 if it is missing. A directory that exists keeps
// its mode, except that the default state directory (strict) is tightened to 0700: it holds
// upload ids and source paths that other users have no business reading.
func PrepareStateDir(dir string, strict bool) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("state directory %s is not a directory", dir)
	}
	if strict && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("state directory %s is readable by others and cannot be made private: %w", dir, err)
		}
	}
	return nil
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

// lockWait is how long Lock keeps trying while the lock is held: `s3up status` probes the lock
// with a shared lock for a few microseconds (InUse), and a put that starts at that instant must
// not fail for it. A put holding the lock holds it for far longer.
const lockWait = time.Second

// lockRetried, when set (tests), is called each time Lock finds the lock held and tries again.
var lockRetried func()

// Lock takes an exclusive, non-blocking lock on path+".lock" (flock(2) via gofrs/flock; the lock
// file has mode 0600 and is created, with its directory, if missing). It returns an error
// wrapping ErrLocked when another process, or another Sidecar in this process, still holds it
// after a short wait (see lockWait). It neither creates nor reads the sidecar itself. A lock
// file or sidecar that is a symbolic link or not a regular file is refused: a link planted in
// a shared directory must not make s3up write somewhere else.
func Lock(path string) (*Sidecar, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock sidecar: %w", err)
	}
	if err := refuseIrregular(path); err != nil {
		return nil, err
	}
	lockPath := path + ".lock"
	deadline := time.Now().Add(lockWait)
	for attempt := 1; ; {
		fl := flock.New(lockPath, flock.SetFlag(os.O_CREATE|os.O_RDONLY|oNoFollow), flock.SetPermissions(0o600))
		ok, err := fl.TryLock()
		if err != nil {
			return nil, fmt.Errorf("lock sidecar %s: %w (is it a symbolic link?)", lockPath, err)
		}
		if !ok {
			if time.Now().Before(deadline) {
				if lockRetried != nil {
					lockRetried()
				}
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return nil, fmt.Errorf("lock %s: %w", lockPath, ErrLocked)
		}
		// Remove unlinks the lock file while holding it. A process that opened the file just
		// before then locks an orphaned inode that excludes nobody, so check that the file we
		// locked is still the one at lockPath, and start over if not.
		held, herr := fl.Stat()
		cur, cerr := os.Lstat(lockPath)
		if herr == nil && cerr == nil && os.SameFile(held, cur) {
			if !held.Mode().IsRegular() {
				_ = fl.Unlock()
				return nil, fmt.Errorf("lock sidecar %s: not a regular file", lockPath)
			}
			return &Sidecar{path: path, lock: fl}, nil
		}
		_ = fl.Unlock()
		if herr != nil || (cerr != nil && !errors.Is(cerr, fs.ErrNotExist)) || attempt == lockAttempts {
			return nil, fmt.Errorf("lock sidecar %s: lock file keeps being replaced: %w", lockPath, errors.Join(herr, cerr))
		}
		attempt++
	}
}

// refuseIrregular returns an error if path exists and is not a regular file.
func refuseIrregular(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("sidecar %s: %w", path, err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("sidecar %s: %w: not a regular file (%s); remove it", path, ErrCorrupt, fi.Mode().Type())
	}
	return nil
}

// Path returns the sidecar's path (without ".lock"); "" for a nil Sidecar
// (an upload that keeps no state).
func (s *Sidecar) Path() string {
	if s == nil {
		return ""
	}
	return s.path
}

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

	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_APPEND|oNoFollow, 0)
	if err != nil {
		if irr := refuseIrregular(s.path); irr != nil {
			return nil, irr
		}
		return nil, fmt.Errorf("load sidecar: %w", err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("load sidecar %s: %w: not a regular file", s.path, ErrCorrupt)
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
	s.partCount = p.state.maxPart()
	s.intact = p.intact
	s.torn = p.torn(int64(len(data)))

	if p.records > 2*(len(p.state.Parts)+len(p.state.Pending))+64 {
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
	if err := s.replace(data, h.maxPart()); err != nil {
		return fmt.Errorf("create sidecar: %w", err)
	}
	return nil
}

// Append records one finished part, or one about to be sent (Part.Pending): one journal line, written with a single write and made
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
		// A journal from replace is not opened with O_APPEND: write where the whole lines end.
		if _, err := s.journal.Seek(s.intact, io.SeekStart); err != nil {
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
	if err := s.replace(data, c.maxPart()); err != nil {
		return fmt.Errorf("compact sidecar: %w", err)
	}
	return nil
}

// replace atomically makes data the sidecar's content and keeps the new file open as the
// journal. The temporary file has a random name and is created exclusively (O_EXCL), so no
// file planted at a predictable name can be written through; a crash leaves at most a stray
// temporary file, which Remove deletes.
func (s *Sidecar) replace(data []byte, partCount int32) error {
	if s.closed {
		return fmt.Errorf("%s: %w", s.path, os.ErrClosed)
	}
	f, err := createRenamed(s.path, data)
	if err != nil {
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
	for _, p := range append([]string{s.path, s.path + ".tmp", s.path + ".lock"}, strayTemps(s.path)...) {
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

// strayTemps lists the temporary files replace may have left next to path after a crash.
func strayTemps(path string) []string {
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, filepath.Base(path)+".") && strings.HasSuffix(n, ".tmp") && e.Type().IsRegular() {
			out = append(out, filepath.Join(filepath.Dir(path), n))
		}
	}
	return out
}
