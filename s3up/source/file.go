// Package source is what an upload reads: a file, whose identity and bytes
// come from one open descriptor.
package source

import (
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/s3up/s3up/resume"
)

// File is a regular file opened for an upload. Its identity (resume.Source)
// is taken from the open descriptor, and every part is read through that
// descriptor, so a rename() replacing the path meanwhile cannot mix two
// files into one object: Check notices it.
type File struct {
	f   *os.File
	id  resume.Source
	arg string // the path as the user gave it, for messages
}

// Open opens path. Errors name the path and wrap fs.ErrNotExist,
// fs.ErrPermission and the like; a directory or special file is refused.
func Open(path string) (*File, error) {
	f, id, err := resume.OpenSource(path)
	if err != nil {
		return nil, err
	}
	return &File{f: f, id: id, arg: path}, nil
}

// Identity is the file's identity when it was opened.
func (s *File) Identity() resume.Source { return s.id }

// Name is the path as the user gave it.
func (s *File) Name() string { return s.arg }

// Size is the file's size when it was opened.
func (s *File) Size() int64 { return s.id.Size }

// ReadAt reads through the open descriptor.
func (s *File) ReadAt(p []byte, off int64) (int, error) { return s.f.ReadAt(p, off) }

// Section returns a reader of size bytes at off.
func (s *File) Section(off, size int64) *io.SectionReader { return io.NewSectionReader(s.f, off, size) }

// SyscallConn gives the descriptor to sendfile(2): over plain HTTP a part
// goes from the page cache to the socket without a copy in user space.
func (s *File) SyscallConn() (syscall.RawConn, error) { return s.f.SyscallConn() }

// Check reports whether the file is still what Identity says: the open
// descriptor's size, mtime, device, inode and ctime are unchanged (no write
// since it was opened), and the path still names the same file (it was not
// replaced). It is called before an object is completed.
func (s *File) Check() error {
	now, err := resume.Identify(s.f, s.id.Path)
	if err != nil {
		return fmt.Errorf("%s: %w", s.arg, err)
	}
	if d := s.id.Diff(now); len(d) > 0 {
		return fmt.Errorf("%s changed while it was being uploaded (%s)", s.arg, strings.Join(d, ", "))
	}
	fi, err := os.Stat(s.id.Path)
	if err != nil {
		return fmt.Errorf("%s is gone from its path (%w)", s.arg, err)
	}
	ofi, err := s.f.Stat()
	if err != nil || !os.SameFile(fi, ofi) {
		return fmt.Errorf("%s was replaced by another file while it was being uploaded", s.arg)
	}
	return nil
}

// Close closes the descriptor.
func (s *File) Close() error { return s.f.Close() }
