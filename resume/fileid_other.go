//go:build !linux && !darwin && !freebsd && !netbsd

package resume

import (
	"os"
	"time"
)

// fileIDs: this platform's FileInfo carries no device, inode or ctime (Windows, ...); the
// identity then rests on path, size, mtime and fingerprint, and the re-check of kept parts.
func fileIDs(os.FileInfo) (dev, ino uint64, ctime time.Time) { return 0, 0, time.Time{} }
