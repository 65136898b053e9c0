package s3up

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/s3up/s3up/s3up/checksum"
)

// A session drives every source through the same steps (session.run); what
// a source supplies is said by three small interfaces: origin (what it is:
// its identity in the journal, its name, the check before Complete),
// partData (the bytes of its parts) and feed (which parts this run sends,
// in order, as their bytes become available).

// partData is where the bytes of the parts a session sends come from: a
// seekable source cut by the plan, or the buffers of a stream. A part can
// be read again while it is being sent (an SDK retry rewinds it).
type partData interface {
	// size is the size of part n.
	size(n int32) int64
	// section reads part n from its start.
	section(n int32) *io.SectionReader
	// sums computes req's digests of part n (a stream may have them
	// already, from when it buffered the part).
	sums(ctx context.Context, n int32, req checksum.Request) (checksum.Sums, error)
	// inMemory reports whether the parts are held in memory (a stream's):
	// hashing one again costs no read of the source, and it is gone once
	// acknowledged.
	inMemory() bool
	// contentDigest is the digest a resume recognises part n by when the
	// source cannot be read again ("alg:value"; "" for a seekable source,
	// whose parts are re-read instead).
	contentDigest(n int32) string
}

// feed yields the parts a run sends, in order, each once its bytes are at
// hand (session.sendFeed).
type feed interface {
	// next returns the next part to send; ok is false when there is none
	// left. A stream's feed reads the stream to get it.
	next(ctx context.Context) (n int32, ok bool, err error)
	// done is called once part n is acknowledged or has failed for good:
	// its bytes may go.
	done(n int32)
	// restart starts again from the first part, for a new upload (the
	// store refused the parts' checksum, or to replace a part). It reports
	// false when the parts read so far cannot be read again.
	restart() bool
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

func (fileParts) inMemory() bool             { return false }
func (fileParts) contentDigest(int32) string { return "" }

// listFeed yields the part numbers of a seekable source decided before the
// first byte: all of them for a new upload, those a resume must send.
type listFeed struct {
	parts []int32
	all   int32 // the plan's part count, for a restart
	i     int
}

func newListFeed(parts []int32, all int32) *listFeed {
	return &listFeed{parts: slices.Clone(parts), all: all}
}

func (l *listFeed) next(context.Context) (int32, bool, error) {
	if l.i >= len(l.parts) {
		return 0, false, nil
	}
	l.i++
	return l.parts[l.i-1], true, nil
}

func (l *listFeed) done(int32) {}

func (l *listFeed) restart() bool {
	l.parts, l.i = allParts(l.all), 0
	return true
}

// allParts is 1..count.
func allParts(count int32) []int32 {
	out := make([]int32, count)
	for i := range out {
		out[i] = int32(i + 1)
	}
	return out
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
