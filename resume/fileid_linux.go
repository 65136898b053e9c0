package resume

import (
	"os"
	"syscall"
	"time"
)

// fileIDs returns the device, inode and ctime fstat reported for fi.
func fileIDs(fi os.FileInfo) (dev, ino uint64, ctime time.Time) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, time.Time{}
	}
	return uint64(st.Dev), uint64(st.Ino), time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec))
}
