//go:build unix

package main

import (
	"os"
	"syscall"
	"time"
)

// pollablePipe returns f, or a file of the same descriptor, that takes a
// read deadline, when f is a pipe; nil otherwise. A pipe os.Pipe made (a
// producer's output) takes one already. A pipe inherited blocking
// (standard input of `producer | s3up put -`) is switched to non-blocking
// mode, which only the processes holding its read end see: in a pipeline,
// s3up alone. Terminals, files and sockets are left as they are.
func pollablePipe(f *os.File) *os.File {
	if f.SetReadDeadline(time.Time{}) == nil {
		return f
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	// A duplicate of the descriptor, so that the new file closes its own
	// when it is collected, never f's.
	fd := -1
	var serr error
	if err := rc.Control(func(d uintptr) {
		if fd, serr = syscall.Dup(int(d)); serr == nil {
			syscall.CloseOnExec(fd)
			serr = syscall.SetNonblock(fd, true)
		}
	}); err != nil || serr != nil {
		if fd >= 0 {
			syscall.Close(fd)
		}
		return nil
	}
	pf := os.NewFile(uintptr(fd), f.Name())
	if pf == nil {
		return nil
	}
	if pf.SetReadDeadline(time.Time{}) != nil {
		pf.Close()
		return nil
	}
	return pf
}
