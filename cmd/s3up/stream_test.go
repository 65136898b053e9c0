package main

import (
	"context"
	"errors"
	"io"
	"testing"
)

// TestCancelableStdin: a read of a stream whose writer is idle returns when
// the context ends, with its cause, and the bytes written before are read.
func TestCancelableStdin(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancelCause(context.Background())
	r := cancelable(ctx, pr)
	go pw.Write([]byte("abc"))
	buf := make([]byte, 3)
	if _, err := io.ReadFull(r, buf); err != nil || string(buf) != "abc" {
		t.Fatalf("read %q, %v", buf, err)
	}
	cause := errors.New("interrupted by SIGINT")
	done := make(chan error)
	go func() {
		_, err := r.Read(buf)
		done <- err
	}()
	cancel(cause)
	if err := <-done; !errors.Is(err, cause) {
		t.Fatalf("read after cancel: %v, want %v", err, cause)
	}
}
