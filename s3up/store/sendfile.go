package store

import (
	"errors"
	"io"
	"syscall"
)

// Zero-copy request bodies over plain HTTP. The HTTP transport writes a
// body of known length by copying io.LimitReader(body, n) into the
// connection; when the connection is a ReaderFrom, the copy is handed to
// it. stallConn's ReadFrom hands it on to a body that is a WriterTo, and
// gives it a FileSender: a part read from a file is then sent with
// sendfile(2), page cache to socket, without passing through user space.
// Over HTTPS the bytes must be encrypted in user space, and this path is
// never taken.

// FileSender is the writer a body's WriteTo receives over plain HTTP: it
// sends n bytes of a file from off straight to the connection.
type FileSender interface {
	io.Writer
	// SendFile sends up to n bytes of f from off and returns how many were
	// sent. errors.ErrUnsupported means the platform cannot; the caller
	// then writes the bytes itself.
	SendFile(f syscall.Conn, off, n int64) (int64, error)
}

// ReadFrom is the connection's side of io.Copy: a body that is a WriterTo
// (behind the transport's io.LimitReader) writes itself; anything else is
// copied.
func (c *stallConn) ReadFrom(r io.Reader) (int64, error) {
	if lr, ok := r.(*io.LimitedReader); ok {
		if wt, ok := lr.R.(io.WriterTo); ok {
			w := &connSender{c: c, left: lr.N}
			n, err := wt.WriteTo(w)
			lr.N -= n
			return n, err
		}
	}
	return io.Copy(writerOnly{c}, r)
}

// writerOnly hides stallConn's ReadFrom from io.Copy.
type writerOnly struct{ io.Writer }

// errBodyTooLong: a body wrote more than its announced length.
var errBodyTooLong = errors.New("request body longer than its Content-Length")

// connSender is the FileSender of one request body: at most left bytes.
type connSender struct {
	c    *stallConn
	left int64
}

func (s *connSender) Write(p []byte) (int, error) {
	if int64(len(p)) > s.left {
		return 0, errBodyTooLong
	}
	n, err := s.c.Write(p)
	s.left -= int64(n)
	return n, err
}

func (s *connSender) SendFile(f syscall.Conn, off, n int64) (int64, error) {
	if n > s.left {
		return 0, errBodyTooLong
	}
	raw, ok := s.c.Conn.(syscall.Conn)
	if !ok {
		return 0, errors.ErrUnsupported
	}
	// As in Write: the deadline measures progress, so n is a piece of the
	// body, not all of it.
	if now, due := s.c.due(&s.c.bothAt); due {
		if err := s.c.Conn.SetDeadline(now.Add(s.c.timeout)); err != nil {
			return 0, err
		}
		s.c.readAt.Store(s.c.bothAt.Load())
	}
	sent, err := sendFile(raw, f, off, n)
	s.left -= sent
	return sent, err
}
