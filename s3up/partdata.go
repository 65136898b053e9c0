package s3up

import (
	"context"
	"fmt"
	"io"

	"github.com/s3up/s3up/s3up/checksum"
)

// partData is where the bytes of the parts a session sends come from: a
// seekable source cut by the plan, or the buffers of a stream. Any part can
// be read again (an SDK retry rewinds it, a resume re-checks it).
type partData interface {
	// size is the size of part n.
	size(n int32) int64
	// section reads part n from its start.
	section(n int32) *io.SectionReader
	// sums computes req's digests of part n (a stream may have them
	// already, from when it buffered the part).
	sums(ctx context.Context, n int32, req checksum.Request) (checksum.Sums, error)
}

// fileParts are the parts of a seekable source, as the plan cuts it.
type fileParts struct {
	src  io.ReaderAt
	plan Plan
}

func (f fileParts) size(n int32) int64 { return f.plan.PartSizeOf(n) }

func (f fileParts) section(n int32) *io.SectionReader {
	return io.NewSectionReader(f.src, f.plan.Offset(n), f.plan.PartSizeOf(n))
}

func (f fileParts) sums(ctx context.Context, n int32, req checksum.Request) (checksum.Sums, error) {
	size := f.size(n)
	sums, read, err := checksum.Hash(ctxReader{ctx, f.section(n)}, req)
	if err == nil && read != size {
		err = fmt.Errorf("read %d of %d bytes: the file is shorter than when the upload started", read, size)
	}
	return sums, err
}

// ctxReader stops a long read when ctx is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
