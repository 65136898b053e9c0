package s3up

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/time/rate"
)

// recordingSender is a store.FileSender that reads what SendFile is asked
// to send from the file, so the test sees the bytes that would go.
type recordingSender struct {
	bytes.Buffer
	sendfiles int
}

func (s *recordingSender) SendFile(f syscall.Conn, off, n int64) (int64, error) {
	s.sendfiles++
	buf := make([]byte, n)
	m, err := f.(*os.File).ReadAt(buf, off)
	s.Write(buf[:m])
	if err == io.EOF {
		err = nil
	}
	return int64(m), err
}

// TestPartReaderWriteTo: a part of a file written to a FileSender goes by
// SendFile, from the part's current position (after a rewind too), with
// its progress counted once; with a bandwidth limit it is copied through
// Read instead, and the bytes are the same.
func TestPartReaderWriteTo(t *testing.T) {
	t.Parallel()
	data := make([]byte, 5<<20)
	for i := range data {
		data[i] = byte(i ^ i>>9)
	}
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const off, size = 1000, 3<<20 + 7
	want := data[off : off+size]
	for _, limited := range []bool{false, true} {
		ev := newEmitter(nil, Ref{})
		r := &partReader{sec: io.NewSectionReader(f, off, size), size: size, ev: ev, ctx: t.Context()}
		if limited {
			r.lim = rate.NewLimiter(rate.Inf, 256<<10)
		}
		// Half by Read (the transport's buffer), then a rewind (a retry),
		// then all of it by WriteTo.
		io.CopyN(io.Discard, onlyReader{r}, size/2)
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		var s recordingSender
		n, err := r.WriteTo(&s)
		if err != nil || n != size || !bytes.Equal(s.Bytes(), want) {
			t.Fatalf("limited %v: wrote %d (%v), bytes equal %v", limited, n, err, bytes.Equal(s.Bytes(), want))
		}
		if (s.sendfiles > 0) == limited {
			t.Fatalf("limited %v: %d SendFile calls", limited, s.sendfiles)
		}
		if got := ev.bytes.Load(); got != size {
			t.Fatalf("limited %v: progress %d, want %d", limited, got, size)
		}
	}
}
