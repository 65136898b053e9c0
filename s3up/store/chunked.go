package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/s3up/s3up/s3up/checksum"
)

// An UploadPart body in aws-chunked encoding with the part's checksum in a
// trailer (x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER), as
// AWS documents it ("Uploading objects: checking object integrity",
// "Signature Version 4 with trailing checksums"):
//
//	hex(chunk size) CRLF chunk CRLF ... 0 CRLF x-amz-checksum-crc32c:VALUE CRLF CRLF
//
// The checksum is computed from the bytes as they are sent, so a part is
// read once. The SDK has the same encoding but sends a part of known size
// as one chunk, and MinIO refuses chunks over 16 MiB; this one cuts the
// body into chunks of a size chosen here, which every store accepts.

// DefaultTrailerChunk is the size of the chunks of a trailer body: 65,528
// bytes, so that a chunk with its framing ("fff8" CRLF ... CRLF) is 64 KiB
// on the wire, two full buffers of the 32 KiB the HTTP transport copies a
// body through. The source is then read in 32 KiB preads, as a plain body
// is; 64 KiB chunks cost one more, tiny, pread per chunk at every boundary
// (49,168 instead of 32,768 preads per GiB, counted with strace). Small
// chunks keep every store's limit (MinIO refuses chunks over 16 MiB), and
// measured on MinIO they cost it no more CPU than a plain body, where the
// SDK's one chunk per part costs it about 0.6 CPU-s per GiB more
// (bench/README.md, "HTTPS: the checksum in a trailer").
const DefaultTrailerChunk = 64<<10 - 8

// streamingTrailer is the payload hash that announces an unsigned
// aws-chunked body with trailers.
const streamingTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

// Trailer collects the checksum of an UploadPart sent WithTrailer: the one
// of the bytes the last attempt sent (the SDK retries with a new body over
// the rewound source).
type Trailer struct {
	mu   sync.Mutex
	last *chunkedBody
}

// Checksum returns the base64 checksum of the last attempt's body, and
// whether that body was sent to its end (only then is it the part's).
func (t *Trailer) Checksum() (string, bool) {
	t.mu.Lock()
	b := t.last
	t.mu.Unlock()
	if b == nil {
		return "", false
	}
	return b.result()
}

func (t *Trailer) attempt(b *chunkedBody) {
	t.mu.Lock()
	t.last = b
	t.mu.Unlock()
}

// WithTrailer sends an UploadPart's body in aws-chunked encoding, chunk
// bytes a chunk, with alg's checksum of the bytes as a trailer; t receives
// the checksum. The input's ContentLength is the part's size. It replaces
// WithPayloadHash: the payload is unsigned, the checksum is the check.
func WithTrailer(alg checksum.Algorithm, chunk int, t *Trailer) func(*s3.Options) {
	if chunk <= 0 {
		chunk = DefaultTrailerChunk
	}
	return func(o *s3.Options) {
		if r, ok := o.Retryer.(aws.RetryerV2); ok {
			o.Retryer = trailerRetryer{r}
		}
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			// After Retry, so that every attempt encodes the source the
			// retryer rewound, with a fresh hash.
			return st.Finalize.Insert(middleware.FinalizeMiddlewareFunc("s3upTrailer",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					req, ok := in.Request.(*smithyhttp.Request)
					if !ok {
						return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("trailer checksum: unknown request type %T", in.Request)
					}
					size := req.ContentLength
					src := req.GetStream()
					if src == nil || size <= 0 {
						return middleware.FinalizeOutput{}, middleware.Metadata{}, errors.New("trailer checksum: the part has no body")
					}
					b := newChunkedBody(src, size, chunk, alg.Header(), alg.New())
					t.attempt(b)
					req, err := req.SetStream(b)
					if err != nil {
						return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("trailer checksum: %w", err)
					}
					req.ContentLength = b.encodedLen
					req.Header.Set("Content-Encoding", "aws-chunked")
					req.Header.Set("X-Amz-Decoded-Content-Length", strconv.FormatInt(size, 10))
					req.Header.Set("X-Amz-Trailer", alg.Header())
					in.Request = req
					return next.HandleFinalize(v4.SetPayloadHash(ctx, streamingTrailer), in)
				}), "ComputePayloadHash", middleware.Before)
		})
	}
}

// trailerRetryer does not retry an answer that only says the store does
// not know the encoding: with a trailer no SHA-256 of the payload is sent,
// so XAmzContentSHA256Mismatch is a store reading the announcement as a
// hash (s3s-project/s3s#328), and retrying it ten times with backoff would
// only delay the fallback to a header.
type trailerRetryer struct{ aws.RetryerV2 }

func (r trailerRetryer) IsErrorRetryable(err error) bool {
	if Code(err) == "XAmzContentSHA256Mismatch" {
		return false
	}
	return r.RetryerV2.IsErrorRetryable(err)
}

// chunkedBody encodes src (size bytes) in aws-chunked chunks of chunk bytes,
// hashing what it reads, and ends with the trailer.
type chunkedBody struct {
	src        io.Reader
	size       int64
	chunk      int64
	name       string // trailer header
	h          hash.Hash
	encodedLen int64

	read    int64  // bytes of src read
	left    int64  // bytes of src left in the current chunk
	pending []byte // framing not yet returned
	frame   []byte // backing array of pending
	ended   bool   // the trailer is in pending

	mu  sync.Mutex // the sum is read by another goroutine than the transport's
	sum string
}

func newChunkedBody(src io.Reader, size int64, chunk int, name string, h hash.Hash) *chunkedBody {
	b := &chunkedBody{src: src, size: size, chunk: int64(chunk), name: name, h: h}
	b.encodedLen = encodedLength(size, int64(chunk), len(name), base64.StdEncoding.EncodedLen(h.Size()))
	b.frame = make([]byte, 0, 64+len(name)+base64.StdEncoding.EncodedLen(h.Size()))
	b.header()
	return b
}

// encodedLength is the length of an aws-chunked body of size bytes in
// chunks of chunk bytes with one trailer of a value of sumLen bytes.
func encodedLength(size, chunk int64, nameLen, sumLen int) int64 {
	frame := func(n int64) int64 { return int64(len(strconv.FormatInt(n, 16))) + 2 + n + 2 }
	n := size / chunk * frame(chunk)
	if r := size % chunk; r != 0 {
		n += frame(r)
	}
	return n + int64(len("0\r\n")+nameLen+1+sumLen+len("\r\n\r\n"))
}

// header queues the next chunk's header, or the last chunk and the
// trailer when src is consumed.
func (b *chunkedBody) header() {
	f := b.frame[:0]
	if b.read > 0 {
		f = append(f, '\r', '\n') // end of the previous chunk
	}
	if b.read == b.size {
		sum := base64.StdEncoding.EncodeToString(b.h.Sum(nil))
		b.mu.Lock()
		b.sum = sum
		b.mu.Unlock()
		f = append(f, "0\r\n"...)
		f = append(f, b.name...)
		f = append(f, ':')
		f = append(f, sum...)
		f = append(f, "\r\n\r\n"...)
		b.ended = true
	} else {
		b.left = min(b.chunk, b.size-b.read)
		f = strconv.AppendInt(f, b.left, 16)
		f = append(f, '\r', '\n')
	}
	b.frame, b.pending = f, f
}

// Read fills p as far as it goes, framing and data together, so that the
// transport writes full buffers and never a record of a few framing bytes.
func (b *chunkedBody) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(b.pending) > 0 {
			m := copy(p[n:], b.pending)
			b.pending = b.pending[m:]
			n += m
			continue
		}
		if b.ended {
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		}
		want := p[n:]
		if int64(len(want)) > b.left {
			want = want[:b.left]
		}
		m, err := b.src.Read(want)
		b.h.Write(want[:m])
		b.read += int64(m)
		b.left -= int64(m)
		n += m
		if b.left == 0 {
			b.header()
		}
		if err == io.EOF && b.read < b.size {
			return n, io.ErrUnexpectedEOF
		}
		if err != nil && err != io.EOF {
			return n, err
		}
		if m == 0 && err == nil {
			return n, nil
		}
	}
	return n, nil
}

func (b *chunkedBody) result() (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sum, b.sum != ""
}
