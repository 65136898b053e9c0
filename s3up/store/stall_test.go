package store

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan net.Conn)
	go func() {
		c, _ := ln.Accept()
		done <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-done
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestStallConnMovingIsNotAStall: a transfer that takes many times the
// stall timeout but moves all the while is never cut, reads and writes
// alike, although the deadline is pushed lazily.
func TestStallConnMovingIsNotAStall(t *testing.T) {
	const timeout = 200 * time.Millisecond
	a, b := tcpPair(t)
	c := newStallConn(a, timeout)
	go func() {
		buf := make([]byte, 100)
		for i := 0; i < 30; i++ {
			time.Sleep(timeout / 4)
			b.Write(buf)
		}
	}()
	buf := make([]byte, 100)
	for i := 0; i < 30; i++ {
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatalf("read %d, after %v of a moving transfer: %v", i, time.Duration(i)*timeout/4, err)
		}
		if _, err := c.Write(buf); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
}

// TestStallConnDeadPeer: a write that cannot move (the peer reads nothing
// and the socket buffers are full) fails after about the timeout, and so
// does a read that gets nothing.
func TestStallConnDeadPeer(t *testing.T) {
	const timeout = 300 * time.Millisecond
	a, _ := tcpPair(t)
	c := newStallConn(a, timeout)
	start := time.Now()
	buf := make([]byte, 1<<20)
	var err error
	for err == nil && time.Since(start) < 20*timeout {
		_, err = c.Write(buf)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write to a dead peer: %v after %v", err, time.Since(start))
	}
	start = time.Now()
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) > 3*timeout {
		t.Fatalf("read from a silent peer: %v after %v", err, time.Since(start))
	}
}

// BenchmarkStallConnWrite is the cost of the stall timer per TLS record
// (16 KiB writes to a loopback socket), against the bare connection.
func BenchmarkStallConnWrite(b *testing.B) {
	for _, wrap := range []bool{false, true} {
		name := "bare"
		if wrap {
			name = "stallConn"
		}
		b.Run(name, func(b *testing.B) {
			a, peer := tcpPair(b)
			go io.Copy(io.Discard, peer)
			var w io.Writer = a
			if wrap {
				w = newStallConn(a, time.Minute)
			}
			buf := make([]byte, 16<<10)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				if _, err := w.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
