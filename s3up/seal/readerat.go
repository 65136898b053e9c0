package seal

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// A ReaderAt is the sealed object of a plaintext that can be read at any
// offset (a file): reading any range gives exactly those bytes of the whole
// object, and seals only the chunks the range touches. This is what lets a
// resumed upload re-create only the parts it must send.
//
// ReadAt is safe for concurrent use and keeps no state between calls: each
// call holds at most one chunk buffer (from a pool) beyond p, and none when it
// reads whole aligned chunks, which it seals in place in p. Reading a chunk
// in pieces seals it once per piece: read through a Section, which keeps the
// chunk it sealed last, when the reads are small (an HTTP client's).
type ReaderAt struct {
	k         *Key
	src       io.ReaderAt
	plainSize int64
	chunks    int64
	size      int64
}

// NewReaderAt returns the sealed object of the plainSize bytes of src at
// offsets [0, plainSize). A read that finds src shorter fails with an error
// wrapping io.ErrUnexpectedEOF; bytes of src past plainSize are never read.
// That src has not changed since an earlier run sealed parts of it is the
// caller's to check (the journal's source identity): changed bytes give
// parts that do not fit the ones the store holds. It panics on a plainSize
// outside [0, MaxPlaintextSize].
func (k *Key) NewReaderAt(src io.ReaderAt, plainSize int64) *ReaderAt {
	return &ReaderAt{
		k:         k,
		src:       src,
		plainSize: plainSize,
		chunks:    chunkCount(plainSize),
		size:      k.CiphertextSize(plainSize),
	}
}

// Size is the size of the sealed object.
func (r *ReaderAt) Size() int64 { return r.size }

// PlaintextSize is the size of the plaintext it seals.
func (r *ReaderAt) PlaintextSize() int64 { return r.plainSize }

// ReadAt reads len(p) bytes of the sealed object from off, as io.ReaderAt:
// fewer only at the end, with io.EOF.
func (r *ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("seal: ReadAt at a negative offset")
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := p
	if rest := r.size - off; int64(len(p)) > rest {
		want = p[:rest]
	}
	if err := r.fill(want, off, nil); err != nil {
		return 0, err
	}
	if len(want) < len(p) {
		return len(want), io.EOF
	}
	return len(want), nil
}

// chunkBuf holds one sealed chunk. last, when a Section keeps it, is the
// chunk it holds (-1: none).
type chunkBuf struct {
	b    []byte
	last int64
}

var chunkPool = sync.Pool{New: func() any { return &chunkBuf{b: make([]byte, 0, SealedChunkSize), last: -1} }}

// fill writes the object's bytes [off, off+len(dst)) into dst; the range is
// inside the object. keep, when not nil, is a buffer that outlives the call
// and may already hold the needed chunk.
func (r *ReaderAt) fill(dst []byte, off int64, keep *chunkBuf) error {
	hdr := int64(len(r.k.header))
	if off < hdr {
		n := copy(dst, r.k.header[off:])
		dst, off = dst[n:], off+int64(n)
	}
	prefix := r.k.prefixSize()
	if off < prefix && len(dst) > 0 {
		n := copy(dst, r.k.secret.nonce[off-hdr:])
		dst, off = dst[n:], off+int64(n)
	}
	for len(dst) > 0 {
		pos := off - prefix
		i, within := pos/SealedChunkSize, int(pos%SealedChunkSize)
		plen := chunkPlainLen(r.plainSize, i, r.chunks)
		if within == 0 && len(dst) >= plen+TagSize {
			// A whole chunk: read and seal it where it goes.
			if err := r.readChunk(dst[:plen], i); err != nil {
				return err
			}
			r.k.sealChunk(dst[:0], dst[:plen], i, i == r.chunks-1)
			dst, off = dst[plen+TagSize:], off+int64(plen+TagSize)
			continue
		}
		buf := keep
		if buf == nil {
			buf = chunkPool.Get().(*chunkBuf)
			buf.last = -1
		}
		if buf.last != i {
			buf.last = -1
			plain := buf.b[:plen]
			if err := r.readChunk(plain, i); err != nil {
				if keep == nil {
					chunkPool.Put(buf)
				}
				return err
			}
			buf.b = r.k.sealChunk(plain[:0], plain, i, i == r.chunks-1)
			buf.last = i
		}
		n := copy(dst, buf.b[within:])
		if keep == nil {
			chunkPool.Put(buf)
		}
		dst, off = dst[n:], off+int64(n)
	}
	return nil
}

// readChunk reads the plaintext of chunk i into p, which is its size.
func (r *ReaderAt) readChunk(p []byte, i int64) error {
	off := i * ChunkSize
	n, err := r.src.ReadAt(p, off)
	if n == len(p) {
		return nil // io.ReaderAt may say io.EOF with the last byte
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("seal: read plaintext [%d, %d): got %d bytes: %w", off, off+int64(len(p)), n, err)
}

// Section returns a reader of the object's bytes [off, off+n), such as one
// upload part, clipped to the object.
func (r *ReaderAt) Section(off, n int64) *Section {
	off = min(max(off, 0), r.size)
	n = min(max(n, 0), r.size-off)
	return &Section{r: r, base: off, size: n}
}

// A Section reads one range of a sealed object, as io.SectionReader does
// (Read, Seek, ReadAt, Size), for an upload part's body. Its Read keeps the
// last chunk it sealed, so small sequential reads seal each chunk once, and
// a rewind (an SDK retry) seals them again. Read and Seek are for one
// goroutine, like any io.Reader; ReadAt is safe for concurrent use and uses
// no cache.
type Section struct {
	r    *ReaderAt
	base int64
	size int64
	pos  int64
	buf  *chunkBuf
}

// Size is the section's size.
func (s *Section) Size() int64 { return s.size }

// Read reads the next bytes of the section.
func (s *Section) Read(p []byte) (int, error) {
	if s.pos >= s.size {
		return 0, io.EOF
	}
	if rest := s.size - s.pos; int64(len(p)) > rest {
		p = p[:rest]
	}
	if s.buf == nil {
		s.buf = &chunkBuf{b: make([]byte, 0, SealedChunkSize), last: -1}
	}
	if err := s.r.fill(p, s.base+s.pos, s.buf); err != nil {
		return 0, err
	}
	s.pos += int64(len(p))
	return len(p), nil
}

// Seek sets the offset of the next Read, relative to the section's start.
func (s *Section) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += s.pos
	case io.SeekEnd:
		offset += s.size
	default:
		return 0, errors.New("seal: Seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("seal: Seek: negative position")
	}
	s.pos = offset
	return offset, nil
}

// ReadAt reads the section's bytes from off, as io.ReaderAt.
func (s *Section) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("seal: ReadAt at a negative offset")
	}
	if off >= s.size {
		return 0, io.EOF
	}
	want := p
	if rest := s.size - off; int64(len(p)) > rest {
		want = p[:rest]
	}
	if err := s.r.fill(want, s.base+off, nil); err != nil {
		return 0, err
	}
	if len(want) < len(p) {
		return len(want), io.EOF
	}
	return len(want), nil
}
