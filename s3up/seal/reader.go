package seal

import (
	"fmt"
	"io"
)

// A Reader is the sealed object of a plaintext read from a stream of unknown
// size: the same bytes as a ReaderAt over the same plaintext with the same
// Key. It reads one byte past each chunk before sealing it, to know whether
// it is the last, and seals the final chunk only when the source ends with
// io.EOF: a source that fails gives its error (wrapped), never a sealed
// object that looks complete. Memory: one chunk buffer. Not for concurrent
// use.
type Reader struct {
	k     *Key
	src   io.Reader
	buf   []byte // plaintext being filled, then the chunk sealed in place
	out   []byte // bytes not yet returned: the header, the nonce, or a sealed chunk in buf
	carry bool   // buf[0] of the next chunk is a byte already read ahead
	ahead byte
	index int64
	plain int64
	nonce bool // the nonce is out
	eof   bool // the source said io.EOF
	done  bool // the final chunk is sealed
	err   error
}

// NewReader returns the sealed object of the plaintext read from src.
func (k *Key) NewReader(src io.Reader) *Reader {
	return &Reader{k: k, src: src, out: k.header}
}

// PlaintextSize is the number of plaintext bytes read from the source so
// far; after Read has returned io.EOF, the plaintext's size.
func (r *Reader) PlaintextSize() int64 { return r.plain }

// Read reads the next bytes of the sealed object.
func (r *Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(r.out) == 0 {
			if r.err != nil || r.done {
				break
			}
			r.next()
			continue
		}
		m := copy(p[n:], r.out)
		r.out = r.out[m:]
		n += m
	}
	if n > 0 {
		return n, nil
	}
	if r.err != nil {
		return 0, r.err
	}
	return 0, io.EOF
}

// next puts the nonce in r.out, or else reads the next chunk and one byte
// past it and seals it into r.out.
func (r *Reader) next() {
	if r.buf == nil {
		r.buf = make([]byte, SealedChunkSize) // ≥ ChunkSize+1
	}
	if !r.nonce {
		r.out, r.nonce = r.buf[:copy(r.buf, r.k.secret.nonce[:])], true
		return
	}
	have := 0
	if r.carry {
		r.buf[0] = r.ahead
		have = 1
	}
	var err error
	if !r.eof {
		have, err = readUpTo(r.src, r.buf[:ChunkSize+1], have)
		if err == io.EOF {
			r.eof, err = true, nil
		}
	}
	switch {
	case err != nil:
		r.err = fmt.Errorf("seal: read plaintext after %d bytes: %w", r.plain+int64(have), err)
	case have == ChunkSize+1: // a byte past the chunk: it is not the last
		r.ahead, r.carry = r.buf[ChunkSize], true
		r.out = r.k.sealChunk(r.buf[:0], r.buf[:ChunkSize], r.index, false)
		r.plain += ChunkSize
	default: // the source ended within ChunkSize bytes
		// The final chunk: empty only when it is the first one, since a chunk
		// after a full one starts with the byte read ahead.
		r.out = r.k.sealChunk(r.buf[:0], r.buf[:have], r.index, true)
		r.plain += int64(have)
		r.done = true
	}
	r.index++
}

// readUpTo fills b from b[have:] and returns how much it holds, and src's
// error if it gave one (io.EOF when it ended), maybe with b full. Unlike
// io.ReadFull it tells src's own io.ErrUnexpectedEOF (a damaged stream) from
// a clean end.
func readUpTo(src io.Reader, b []byte, have int) (int, error) {
	empty := 0
	for have < len(b) {
		n, err := src.Read(b[have:])
		have += n
		if err != nil {
			return have, err
		}
		if n == 0 {
			if empty++; empty >= 100 {
				return have, io.ErrNoProgress
			}
		} else {
			empty = 0
		}
	}
	return have, nil
}
