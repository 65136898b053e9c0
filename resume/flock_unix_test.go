//go:build unix

package resume

import (
	"os"
	"syscall"
)

func flockShared(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
}
