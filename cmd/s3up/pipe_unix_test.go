//go:build unix

package main

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestCancelableOSPipe: an OS pipe is read directly (no copy through a
// goroutine), and a read blocked on an idle writer returns when the
// context ends, with its cause: for a pipe os.Pipe made, and for one
// inherited in blocking mode, as standard input of a shell pipeline is.
func TestCancelableOSPipe(t *testing.T) {
	for _, blocking := range []bool{false, true} {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pw.Close()
		defer pr.Close()
		r := io.Reader(pr)
		if blocking {
			fd, err := syscall.Dup(int(pr.Fd())) // Fd leaves pr blocking
			if err != nil {
				t.Fatal(err)
			}
			if err := syscall.SetNonblock(fd, false); err != nil {
				t.Fatal(err)
			}
			f := os.NewFile(uintptr(fd), "stdin")
			defer f.Close()
			if f.SetReadDeadline(time.Time{}) == nil {
				t.Fatal("a blocking pipe took a deadline: the test tests nothing")
			}
			r = f
		}
		ctx, cancel := context.WithCancelCause(context.Background())
		cr := cancelable(ctx, r)
		if _, ok := cr.(*deadlineReader); !ok {
			t.Fatalf("blocking=%v: an OS pipe is read through %T", blocking, cr)
		}
		if _, err := pw.Write([]byte("abc")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 3)
		if _, err := io.ReadFull(cr, buf); err != nil || string(buf) != "abc" {
			t.Fatalf("blocking=%v: read %q, %v", blocking, buf, err)
		}
		cause := errors.New("interrupted by SIGINT")
		done := make(chan error)
		go func() {
			_, err := cr.Read(buf)
			done <- err
		}()
		cancel(cause)
		if err := <-done; !errors.Is(err, cause) {
			t.Fatalf("blocking=%v: read after cancel: %v, want %v", blocking, err, cause)
		}
	}
}
