//go:build linux

package store

import (
	"errors"
	"syscall"
)

// sendFile sends up to n bytes of src from off to the socket dst with
// sendfile(2), waiting for the socket as the runtime's poller does for a
// write (and so honouring its deadline). The file's own offset is not
// used, so parts of one file may be sent from several connections at once.
func sendFile(dst, src syscall.Conn, off, n int64) (int64, error) {
	drc, err := dst.SyscallConn()
	if err != nil {
		return 0, err
	}
	src2, err := src.SyscallConn()
	if err != nil {
		return 0, err
	}
	var sent int64
	var serr error
	cerr := src2.Control(func(sfd uintptr) {
		werr := drc.Write(func(dfd uintptr) bool {
			for sent < n {
				m, e := syscall.Sendfile(int(dfd), int(sfd), &off, int(min(n-sent, 1<<30)))
				if m > 0 {
					sent += int64(m)
				}
				switch {
				case e == syscall.EAGAIN:
					return false // wait until the socket takes more
				case e == syscall.EINTR:
					continue
				case (e == syscall.EINVAL || e == syscall.ENOSYS) && sent == 0:
					serr = errors.ErrUnsupported
					return true
				case e != nil:
					serr = e
					return true
				case m == 0:
					return true // the end of the file
				}
			}
			return true
		})
		if serr == nil {
			serr = werr
		}
	})
	if serr == nil {
		serr = cerr
	}
	return sent, serr
}
