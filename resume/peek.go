package resume

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/gofrs/flock"
)

// Peek reads the sidecar at path without locking it, for a look at an upload that another
// process may be driving right now (s3up status). It never writes: a torn last line is ignored,
// not cut off, and superseded records are not compacted. It sees a consistent state because the
// writer only ever appends whole lines or renames a complete file into place; at worst it misses
// the record being appended at that instant. Errors are those of Sidecar.Load (fs.ErrNotExist,
// ErrFutureVersion, ErrCorrupt).
func Peek(path string) (*State, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read sidecar: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSidecarSize+1))
	if err != nil {
		return nil, fmt.Errorf("read sidecar: %w", err)
	}
	if len(data) > maxSidecarSize {
		return nil, fmt.Errorf("read sidecar %s: %w: larger than %d bytes", path, ErrCorrupt, maxSidecarSize)
	}
	p, err := parseJournal(data)
	if err != nil {
		return nil, fmt.Errorf("read sidecar %s: %w", path, err)
	}
	return p.state, nil
}

// InUse reports whether a process holds the lock of the sidecar at path, i.e. an upload is
// running. It probes with a shared, non-blocking lock that it releases at once, and never
// creates the lock file, so it does not disturb a running upload. A process that calls Lock
// during the few microseconds of the probe gets ErrLocked, as it would against any other
// holder.
func InUse(path string) (bool, error) {
	fl := flock.New(path+".lock", flock.SetFlag(os.O_RDONLY))
	ok, err := fl.TryRLock()
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("probe sidecar lock %s.lock: %w", path, err)
	}
	if !ok {
		return true, nil
	}
	if err := fl.Unlock(); err != nil {
		return false, fmt.Errorf("probe sidecar lock %s.lock: %w", path, err)
	}
	return false, nil
}
