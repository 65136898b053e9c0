package seal

import (
	"bytes"
	"io"
	"testing"
)

// The encryption cost an upload pays, in plaintext bytes a second (MB/s
// in the output). Run: go test -run XXX -bench . -benchtime 2s ./s3up/seal/
//
// The source is in memory, so these are the CPU cost of sealing alone.

const benchSize = 64 << 20 // 64 MiB: a part of a large upload

func benchKey(b *testing.B) (*Key, []byte) {
	rng := testRand(b)
	k := fixedKey(b, rng, testIdentities(b)[0].recipient)
	return k, randBytes(rng, benchSize)
}

// BenchmarkReaderAtParts reads the object in 16 MiB parts with one ReadAt
// each (parts start and end mid-chunk): the engine's best case.
func BenchmarkReaderAtParts(b *testing.B) {
	k, plain := benchKey(b)
	ra := k.NewReaderAt(bytes.NewReader(plain), int64(len(plain)))
	buf := make([]byte, 16<<20)
	b.SetBytes(int64(len(plain)))
	b.ResetTimer()
	for range b.N {
		for off := int64(0); off < ra.Size(); off += int64(len(buf)) {
			if _, err := ra.ReadAt(buf, off); err != nil && err != io.EOF {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkSectionRead32K reads each 16 MiB part through a Section with
// 32 KiB reads, as an HTTP client sends a body.
func BenchmarkSectionRead32K(b *testing.B) {
	k, plain := benchKey(b)
	ra := k.NewReaderAt(bytes.NewReader(plain), int64(len(plain)))
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(plain)))
	b.ResetTimer()
	for range b.N {
		for off := int64(0); off < ra.Size(); off += 16 << 20 {
			s := ra.Section(off, 16<<20)
			for {
				if _, err := s.Read(buf); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

// BenchmarkReadAt32KNoSection is what a Section saves: 32 KiB ReadAt calls
// straight on the ReaderAt seal a chunk for every read that touches it.
func BenchmarkReadAt32KNoSection(b *testing.B) {
	k, plain := benchKey(b)
	ra := k.NewReaderAt(bytes.NewReader(plain), int64(len(plain)))
	b.SetBytes(int64(len(plain)))
	b.ResetTimer()
	for range b.N {
		if _, err := io.CopyBuffer(io.Discard, io.NewSectionReader(ra, 0, ra.Size()), make([]byte, 32<<10)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReader seals a stream (io.Copy's 32 KiB reads).
func BenchmarkReader(b *testing.B) {
	k, plain := benchKey(b)
	b.SetBytes(int64(len(plain)))
	b.ResetTimer()
	for range b.N {
		if _, err := io.Copy(io.Discard, struct{ io.Reader }{k.NewReader(bytes.NewReader(plain))}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealChunk is the floor: ChaCha20-Poly1305 on one 64 KiB chunk
// in place, with no reading or copying.
func BenchmarkSealChunk(b *testing.B) {
	k, plain := benchKey(b)
	buf := make([]byte, SealedChunkSize)
	b.SetBytes(ChunkSize)
	b.ResetTimer()
	for i := range b.N {
		copy(buf, plain[:ChunkSize])
		k.sealChunk(buf[:0], buf[:ChunkSize], int64(i), false)
	}
}
