package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fileBody is a request body over a section of a file that sends itself
// with SendFile when it can, as a part does.
type fileBody struct {
	f        *os.File
	off, n   int64
	pos      int64
	sendfile *atomic.Int64 // bytes sent by SendFile
}

func (b *fileBody) Read(p []byte) (int, error) {
	if b.pos >= b.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), b.n-b.pos)]
	m, err := b.f.ReadAt(p, b.off+b.pos)
	b.pos += int64(m)
	if err == io.EOF && m > 0 {
		err = nil
	}
	return m, err
}

func (b *fileBody) WriteTo(w io.Writer) (int64, error) {
	fs, ok := w.(FileSender)
	if !ok {
		return io.Copy(struct{ io.Writer }{w}, struct{ io.Reader }{b})
	}
	var total int64
	for b.pos < b.n {
		m, err := fs.SendFile(b.f, b.off+b.pos, min(b.n-b.pos, 100_000))
		b.pos += m
		total += m
		b.sendfile.Add(m)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// TestSendFile: over plain HTTP, through the client's transport, a body
// that is a WriterTo over a file reaches the server intact, sent with
// sendfile(2) on Linux; the same body over a transport without the stall
// timer (no stallConn) is copied, and reaches it intact too.
func TestSendFile(t *testing.T) {
	data := make([]byte, 3<<20+12345)
	for i := range data {
		data[i] = byte(i*7 + i>>11)
	}
	path := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const off = 4097
	want := sha256.Sum256(data[off:])
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, _ := io.Copy(h, r.Body)
		if n != int64(len(data)-off) || !bytes.Equal(h.Sum(nil), want[:]) {
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	for _, stall := range []time.Duration{time.Minute, -1} {
		var sent atomic.Int64
		body := &fileBody{f: f, off: off, n: int64(len(data) - off), sendfile: &sent}
		req, _ := http.NewRequest(http.MethodPut, srv.URL, io.NopCloser(body))
		req.ContentLength = body.n
		client := buildHTTP(stall, 1)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("stall %v: the server got other bytes", stall)
		}
		wantSendfile := stall > 0 && runtime.GOOS == "linux"
		if got := sent.Load(); (got > 0) != wantSendfile {
			t.Fatalf("stall %v: %d bytes by sendfile, want sendfile %v", stall, got, wantSendfile)
		}
	}
}

// TestConnSenderLimit: a body can never send more than its Content-Length,
// by write or by sendfile.
func TestConnSenderLimit(t *testing.T) {
	s := &connSender{c: &stallConn{}, left: 10}
	if _, err := s.Write(make([]byte, 11)); !errors.Is(err, errBodyTooLong) {
		t.Fatalf("write: %v", err)
	}
	if _, err := s.SendFile(nopConn{}, 0, 11); !errors.Is(err, errBodyTooLong) {
		t.Fatalf("sendfile: %v", err)
	}
}

type nopConn struct{}

func (nopConn) SyscallConn() (syscall.RawConn, error) { return nil, errors.ErrUnsupported }
