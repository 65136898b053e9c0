package seal

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Sizes of the age v1 format (C2SP age, "File key" and "Payload").
const (
	// FileKeySize is the size of a file key.
	FileKeySize = 16
	// NonceSize is the size of the payload nonce that starts the payload.
	NonceSize = 16
	// ChunkSize is the plaintext size of every STREAM chunk but the last.
	ChunkSize = 64 << 10
	// TagSize is the Poly1305 tag that each sealed chunk ends with.
	TagSize = 16
	// SealedChunkSize is the ciphertext size of a full chunk.
	SealedChunkSize = ChunkSize + TagSize
)

// MaxPlaintextSize bounds the plaintext sizes this package computes with, far
// above any object store's limit, so that no size computation overflows.
const MaxPlaintextSize = 1 << 60

// The chunk geometry, the one rule every function here follows:
//
// A plaintext of P bytes is cut into n = max(1, ceil(P / 64 KiB)) chunks.
// Every chunk but the last holds 64 KiB; the last holds P - (n-1)·64 KiB
// bytes, which is between 1 and 64 KiB, or 0 when P is 0. So the final chunk
// is full exactly when P is a non-zero multiple of 64 KiB, and empty only
// when the whole plaintext is empty: the spec's "the final chunk MAY be
// shorter than 64 KiB but MUST NOT be empty unless the whole payload is
// empty". Chunk i is sealed with ChaCha20-Poly1305 under the payload key and
// the nonce i as an 11-byte big-endian counter followed by 0x01 for the last
// chunk and 0x00 for the others.

// chunkCount is n for a plaintext of plainSize bytes.
func chunkCount(plainSize int64) int64 {
	checkPlainSize(plainSize)
	if plainSize == 0 {
		return 1
	}
	return (plainSize + ChunkSize - 1) / ChunkSize
}

// chunkPlainLen is the plaintext size of chunk i of n.
func chunkPlainLen(plainSize, i, n int64) int {
	if i < n-1 {
		return ChunkSize
	}
	return int(plainSize - (n-1)*ChunkSize)
}

// PayloadSize is the size of the payload (nonce and sealed chunks) of a
// plaintext of plainSize bytes. A sealed object is the header followed by
// its payload.
func PayloadSize(plainSize int64) int64 {
	return NonceSize + plainSize + TagSize*chunkCount(plainSize)
}

func checkPlainSize(plainSize int64) {
	if plainSize < 0 || plainSize > MaxPlaintextSize {
		panic(fmt.Sprintf("seal: plaintext size %d out of range [0, 2^60]", plainSize))
	}
}

// ErrCiphertextSize says a ciphertext size is none that the chunk geometry
// produces: the object is truncated or has trailing bytes.
var ErrCiphertextSize = errors.New("no plaintext size gives this ciphertext size")

// plainSizeOfPayload inverts PayloadSize.
func plainSizeOfPayload(payloadSize int64) (int64, error) {
	chunks := payloadSize - NonceSize
	if chunks < TagSize {
		return 0, ErrCiphertextSize
	}
	n := (chunks + SealedChunkSize - 1) / SealedChunkSize
	last := chunks - (n-1)*SealedChunkSize
	if last < TagSize || last == TagSize && n > 1 {
		// A partial chunk too short for its tag, or an empty final chunk
		// after full ones.
		return 0, ErrCiphertextSize
	}
	return chunks - n*TagSize, nil
}

// chunkNonce is the 12-byte ChaCha20-Poly1305 nonce of chunk i.
func chunkNonce(i int64, final bool) [12]byte {
	var nonce [12]byte
	// The counter is 11 bytes; chunk indexes stay below 2^60/2^16, so the
	// first three are always zero.
	binary.BigEndian.PutUint64(nonce[3:11], uint64(i))
	if final {
		nonce[11] = 1
	}
	return nonce
}
