package s3up

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/store"
)

// Stream is a source read once, from front to back: standard input, or the
// output of a producer s3up runs (pg_dump, tar, zfs send).
type Stream struct {
	// R is the stream.
	R io.Reader
	// ID names the stream in the resume state: a rerun with the same ID and
	// destination resumes the upload by content (see PutStream). "stdin"
	// for standard input, the command line for a producer.
	ID string
	// Name is how messages name it ("standard input", "pg_dump db").
	Name string
	// ExpectedSize, when not negative, is the stream's exact size: the
	// parts are planned for it (equal parts, as R2 requires), and a stream
	// that ends at another size is never completed.
	ExpectedSize int64
	// Wait, if not nil, is called once the stream ended, and says whether
	// it ended well: a producer that exited non-zero. An error means the
	// object is never completed (the upload is aborted).
	Wait func() error
}

// StreamID is the resume-state identity of a stream ID.
func StreamID(id string) string { return "stream:" + id }

// ErrStreamFailed: the stream ended badly (its producer failed, or it ended
// at another size than expected). Its upload was aborted: there is nothing
// to resume.
var ErrStreamFailed = errors.New("stream failed")

// PutStream uploads a stream to bucket/key. Memory holds the parts in
// flight: at most Concurrency+1 parts, each kept until the server
// acknowledged it, so retries work as for files. Without ExpectedSize the
// parts grow with the stream (StreamPartSize), so it never needs part
// 10,001 below StreamCapacity.
//
// A stream that fits in one part goes in one PutObject. A longer one is a
// multipart upload completed only if the stream ended well (Stream.Wait,
// ExpectedSize); otherwise the upload is aborted and nothing is stored.
//
// Resume by content: each part's SHA-256 is journalled. When an upload of
// the same stream ID to the same destination was interrupted, the stream is
// read again and each part whose digest matches the journal, and that the
// server holds, is not sent again. From the first part that differs,
// everything is sent, and parts beyond the new end are left out of
// Complete: the object is exactly the new stream. A deterministic producer
// (zfs send of a snapshot, cat, tar --sort=name of a frozen tree) saves the
// link; any other stream is simply sent again.
func (u *Uploader) PutStream(ctx context.Context, st Stream, bucket, key string) (*Result, error) {
	if err := u.opts.Validate(); err != nil {
		return nil, err
	}
	if err := ValidateDestination(bucket, key); err != nil {
		return nil, err
	}
	start := time.Now()
	ev := newEmitter(u.opts.Listener)
	src := &streamOrigin{st: st}
	s := &session{
		u: u, opts: u.opts, src: src, id: src.Identity(), ev: ev,
		dest: resume.Destination{Endpoint: u.client.Info.Endpoint, Bucket: bucket, Key: key},
		res:  &Result{Source: st.Name, Bucket: bucket, Key: key},
	}
	err := s.runStream(ctx, st)
	ev.close()
	s.res.Duration = time.Since(start).Seconds()
	if err != nil {
		return nil, err
	}
	return s.res, nil
}

// streamOrigin is a stream as a session's origin.
type streamOrigin struct{ st Stream }

func (o *streamOrigin) Identity() resume.Source { return resume.Source{Path: StreamID(o.st.ID)} }
func (o *streamOrigin) Name() string            { return o.st.Name }

// Check is done by runStream at the end of the stream, before Complete.
func (o *streamOrigin) Check() error { return nil }

// streamParts are a stream's parts in memory, each held until acknowledged.
type streamParts struct {
	mu      sync.Mutex
	bufs    map[int32][]byte
	digests map[int32]checksum.Sums
	req     checksum.Request // what digests holds
	sizes   map[int32]int64
	free    [][]byte // buffers of acknowledged parts, to read the next parts into
}

// buffer returns a buffer of size bytes for the next part: one an
// acknowledged part no longer needs, so that a stream holds no more than
// the parts in flight (a new one each time would leave the garbage
// collector up to twice that).
func (p *streamParts) buffer(size int64) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.free) > 0 {
		b := p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
		if int64(cap(b)) >= size {
			return b[:size]
		}
		// Parts grew past this one: let it go.
	}
	return make([]byte, size)
}

func (p *streamParts) put(n int32, b []byte, s checksum.Sums, req checksum.Request) {
	p.mu.Lock()
	p.bufs[n], p.digests[n], p.sizes[n], p.req = b, s, int64(len(b)), req
	p.mu.Unlock()
}

// recycle gives back a buffer that no part holds.
func (p *streamParts) recycle(b []byte) {
	p.mu.Lock()
	p.free = append(p.free, b)
	p.mu.Unlock()
}

func (p *streamParts) drop(n int32) {
	p.mu.Lock()
	if b, ok := p.bufs[n]; ok && cap(b) > 0 {
		p.free = append(p.free, b)
	}
	delete(p.bufs, n)
	delete(p.digests, n)
	p.mu.Unlock()
}

func (p *streamParts) size(n int32) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sizes[n]
}

func (p *streamParts) section(n int32) *io.SectionReader {
	p.mu.Lock()
	b := p.bufs[n]
	p.mu.Unlock()
	return io.NewSectionReader(bytesReaderAt(b), 0, int64(len(b)))
}

func (p *streamParts) sums(_ context.Context, n int32, req checksum.Request) (checksum.Sums, error) {
	p.mu.Lock()
	b, ok := p.bufs[n]
	s, have := p.digests[n]
	covered := p.req.Alg == req.Alg && (p.req.SHA256 || !req.SHA256) && (p.req.MD5 || !req.MD5) &&
		(p.req.CRC32C || !req.CRC32C) && (p.req.CRC64ECMA || !req.CRC64ECMA)
	p.mu.Unlock()
	if !ok {
		return checksum.Sums{}, fmt.Errorf("part %d of the stream is no longer in memory", n)
	}
	if have && covered {
		return s, nil
	}
	return checksum.HashBytes(b, req), nil
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// streamDigest is the journalled digest of a stream part: SHA-256, so that
// equal digests mean equal bytes when a resume skips a part by content.
func streamDigest(s checksum.Sums) string { return digestOf(checksum.SHA256, s.SHA256) }

// digest is the SHA-256 entry journalled with stream part n.
func (p *streamParts) digest(n int32) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.digests[n]; ok && s.SHA256 != "" {
		return streamDigest(s)
	}
	return ""
}

// runStream is the session of a stream: lock, look at the journal and the
// server, read the stream part by part, skip what the server holds of an
// identical earlier stream, send the rest, and complete only if the stream
// ended well.
func (s *session) runStream(ctx context.Context, st Stream) error {
	dir, err := s.useState()
	if err != nil {
		return err
	}
	path := resume.SidecarPath(dir, s.id.Path, s.dest)
	if s.sc, err = lockJournal(path, st.Name, s.dest); err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			s.release()
		}
	}()
	prior, remote, err := s.priorStream(ctx)
	if err != nil {
		return err
	}
	s.ev.emit(Planned{Source: st.Name, Bucket: s.dest.Bucket, Key: s.dest.Key, Size: st.ExpectedSize, State: path})
	data := &streamParts{bufs: map[int32][]byte{}, digests: map[int32]checksum.Sums{}, sizes: map[int32]int64{}}
	s.data = data
	s.parts = map[int32]resume.Part{}
	var plan *Plan
	if st.ExpectedSize >= 0 {
		p, err := PlanParts(st.ExpectedSize, s.opts.PartSize, s.opts.PartSizeExplicit)
		if err != nil {
			return err
		}
		plan = &p
	}
	alg := s.method()
	if prior != nil {
		alg = checksum.Algorithm(strings.ToLower(prior.ChecksumAlgorithm))
		s.uploadID = prior.UploadID
	}
	partSize := func(n int32, sent int64) int64 {
		switch {
		case prior != nil && prior.Parts[n].Size > 0:
			return prior.Parts[n].Size
		case plan != nil:
			return plan.PartSizeOf(n)
		}
		return StreamPartSize(s.opts.PartSize, sent)
	}
	s.w = newWire(s.opts, alg, s.u.client.Info.TLS, partSize(1, 0))
	req := s.w.request()
	req.SHA256, req.CRC64ECMA = true, s.nativeCRC64.Load()

	s.ev.plan(st.ExpectedSize, 0, 0, 0)
	var x *sender
	matching := prior != nil
	var sent, skipped int64
	var bad, readErr error // the stream ended badly; reading it failed
	for n := int32(1); ; n++ {
		size := partSize(n, sent)
		if plan != nil && n > plan.Count {
			size = 1 // only to find out whether the stream goes on past its size
		}
		if !matching && prior != nil && plan == nil {
			size = StreamPartSize(s.opts.PartSize, sent)
		}
		buf := data.buffer(size)
		got, err := readFull(ctx, st.R, buf)
		buf = buf[:got]
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			readErr = err
			break
		}
		if got == 0 {
			break
		}
		last := got < int(size)
		if plan != nil && (n > plan.Count || sent+int64(got) > plan.Size) {
			bad = fmt.Errorf("%s is longer than --expected-size %d", st.Name, plan.Size)
			break
		}
		if n > MaxParts {
			bad = fmt.Errorf("%s does not fit in %d parts (more than %d bytes): give --expected-size", st.Name, MaxParts, sent)
			break
		}
		sums := checksum.HashBytes(buf, req)
		if n == 1 && last && prior == nil {
			// The whole stream fits in one part: one PutObject.
			if err := s.streamEnded(ctx, st, int64(got)); err != nil {
				done = true
				return err
			}
			data.put(1, buf, sums, req)
			s.id.Size = int64(got)
			done = true
			s.sc.Remove()
			return s.sendSingle(ctx, int64(got))
		}
		if matching {
			if p, ok := s.sameAsBefore(prior, remote, n, buf, sums); ok {
				data.recycle(buf)
				s.parts[n] = p
				skipped += p.Size
				sent += p.Size
				s.ev.addBytes(p.Size)
				s.ev.partDone(PartDone{Number: n, Size: p.Size, ETag: p.ETag})
				if last {
					break
				}
				continue
			}
			// From the first part that differs, everything is sent.
			matching = false
			s.ev.emit(Resumed{UploadID: s.uploadID, OnServer: len(s.parts), BytesOnServer: skipped})
		}
		data.put(n, buf, sums, req)
		s.res.Parts = n
		if x == nil {
			// The first part sent goes alone, so that a store refusing its
			// checksum can be met with Content-MD5 while the part is still
			// in memory; the others go Concurrency at a time.
			if err := s.sendFirstStreamPart(ctx, n, partSize(1, 0)); err != nil {
				return err
			}
			data.drop(n)
			x = s.newSender(ctx)
			sent += int64(got)
			if last {
				break
			}
			continue
		}
		if !x.send(n, func() { data.drop(n) }) {
			break
		}
		sent += int64(got)
		if last {
			break
		}
	}
	if x != nil {
		if err := x.wait(); err != nil {
			return err
		}
	}
	switch {
	case bad != nil:
		done = true
		return s.streamFailed(ctx, bad)
	case readErr != nil && ctx.Err() != nil:
		return s.interrupted(ctx.Err())
	case readErr != nil:
		return store.WithKind(ErrTransient, &UploadError{Op: "read " + st.Name, UploadID: s.uploadID, StatePath: s.sc.Path(), Err: readErr})
	}
	if err := s.streamEnded(ctx, st, sent); err != nil {
		done = true
		return err
	}
	count := int32(len(s.parts))
	if count == 0 {
		// An empty stream: one empty PutObject; an upload of an earlier,
		// longer stream is aborted.
		done = true
		if s.uploadID != "" {
			s.abortOld(ctx, s.uploadID, "the stream is now empty")
		}
		s.sc.Remove()
		data.put(1, nil, checksum.HashBytes(nil, req), req)
		return s.sendSingle(ctx, 0)
	}
	s.id.Size = sent
	s.plan = Plan{Size: sent, Count: count}
	s.res.Size, s.res.Parts, s.res.BytesSkipped = sent, count, skipped
	s.res.Resumed = prior != nil
	s.res.PartsKept = int(count) - s.res.PartsSent
	if err := s.complete(ctx); err != nil {
		return err
	}
	done = true
	s.dropState()
	return nil
}

// priorStream loads the journal of an earlier, interrupted upload of the
// same stream and what the server holds of it; nil when there is none to
// resume (no journal, --fresh, or the upload gone: it is aborted, to leave
// nothing behind).
func (s *session) priorStream(ctx context.Context) (*resume.State, []resume.Part, error) {
	st, err := s.sc.Load()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, nil
	case err != nil && s.opts.Fresh:
		s.ev.emit(Warning{Message: fmt.Sprintf("discarding unreadable resume state (%v); its upload, if any, is left for `s3up gc`", err)})
		return nil, nil, nil
	case err != nil:
		return nil, nil, fmt.Errorf("%w: resume state cannot be used: %w; rerun with --fresh to discard it and start over", ErrState, err)
	case !st.Stream:
		return nil, nil, fmt.Errorf("%w: resume state %s is not a stream's; rerun with --fresh", ErrState, s.sc.Path())
	}
	s.state = st
	if s.opts.Fresh {
		s.abortOld(ctx, st.UploadID, "--fresh")
		s.state = nil
		return nil, nil, nil
	}
	remote, gone, err := s.listParts(ctx, st)
	if err != nil {
		return nil, nil, err
	}
	if gone {
		s.abortOld(ctx, st.UploadID, "it no longer exists on the server")
		s.state = nil
		return nil, nil, nil
	}
	return st, remote, nil
}

// sameAsBefore reports whether part n of the stream as read now is the part
// the journal recorded (same size and SHA-256) and the server still holds
// (an entry with the recorded ETag and size), and returns it for Complete.
func (s *session) sameAsBefore(prior *resume.State, remote []resume.Part, n int32, buf []byte, sums checksum.Sums) (resume.Part, bool) {
	jp, ok := prior.Parts[n]
	if !ok || jp.Size != int64(len(buf)) || digestValue(jp.Digest, checksum.SHA256) != sums.SHA256 {
		return resume.Part{}, false
	}
	for _, r := range remote {
		if r.Number == n && r.Size == jp.Size && strings.Trim(r.ETag, `"`) == strings.Trim(jp.ETag, `"`) {
			jp.ETag = r.ETag
			s.completeDigests(&jp, sums)
			return jp, true
		}
	}
	return resume.Part{}, false
}

// sendFirstStreamPart sends part n, the first a stream's run sends,
// creating the upload if there is none yet. A store that refuses its
// checksum (and accepts it with Content-MD5) gets a new upload with
// Content-MD5, remembered for the store.
func (s *session) sendFirstStreamPart(ctx context.Context, n int32, firstPart int64) error {
	if s.uploadID == "" {
		if err := s.createStream(ctx, firstPart); err != nil {
			return err
		}
	}
	p, err := s.uploadPart(ctx, n)
	var re *refusedError
	if errors.As(err, &re) {
		s.abortOld(ctx, s.uploadID, "started again with Content-MD5")
		s.uploadID, s.md5Fallback = "", true
		s.w = newWire(s.opts, checksum.MD5, s.u.client.Info.TLS, firstPart)
		if err := s.createStream(ctx, firstPart); err != nil {
			return err
		}
		if p, err = s.uploadPart(ctx, n); err == nil {
			s.learn(refusedChecksumWhy(re.err), func(pr *store.Profile) { pr.RefusesChecksums = true })
		}
	}
	if err == nil {
		if err = s.sc.Append(p); err != nil {
			err = store.WithKind(ErrState, fmt.Errorf("record part %d in %s: %w", n, s.sc.Path(), err))
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return s.interrupted(ctx.Err())
		}
		return s.failure(err)
	}
	s.partDone(p)
	s.ev.partDone(PartDone{Number: n, Size: p.Size, ETag: p.ETag})
	return nil
}

// createStream starts the stream's multipart upload and journal.
func (s *session) createStream(ctx context.Context, firstPart int64) error {
	if s.state != nil {
		// An earlier upload of this stream whose parts no longer match from
		// the first one: a new upload, the old one aborted.
		s.abortOld(ctx, s.state.UploadID, "the stream differs from the one interrupted")
		s.state = nil
	}
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(s.dest.Bucket), Key: aws.String(s.dest.Key)}
	s.opts.Object.applyCreate(in, s.dest.Key, nil)
	if s.w.alg.Flexible() {
		in.ChecksumAlgorithm, in.ChecksumType = s.w.alg.SDK(), s.w.alg.Type()
	}
	id, err := s.createUpload(ctx, in)
	if err != nil && s.w.alg.Flexible() && errors.Is(err, ErrBadInput) {
		in.ChecksumAlgorithm, in.ChecksumType = "", ""
		if id2, err2 := s.createUpload(ctx, in); err2 == nil {
			s.learn(refusedChecksumWhy(err), func(p *store.Profile) { p.RefusesChecksums = true })
			s.w = newWire(s.opts, checksum.MD5, s.u.client.Info.TLS, firstPart)
			id, err = id2, nil
		}
	}
	if err != nil {
		return err
	}
	h := resume.Header{Version: resume.FormatVersion, UploadID: id, Destination: s.dest, Source: s.id, Stream: true,
		PartSize: firstPart, ChecksumAlgorithm: string(s.w.alg), ObjectOptions: s.opts.Object.Record(), CreatedAt: time.Now().UTC()}
	if err := s.sc.Create(h); err != nil {
		s.abortOld(ctx, id, "resume state could not be written")
		return fmt.Errorf("%w: write resume state %s: %w", ErrState, s.sc.Path(), err)
	}
	s.uploadID, s.res.UploadID = id, id
	s.ev.emit(Started{UploadID: id})
	return nil
}

// streamEnded checks, at the end of the stream, that it ended well: its
// producer exited 0 and it has the expected size. If not, its upload is
// aborted and its journal removed: a truncated backup is never stored.
func (s *session) streamEnded(ctx context.Context, st Stream, size int64) error {
	var bad error
	if st.Wait != nil {
		bad = st.Wait()
	}
	if bad == nil && st.ExpectedSize >= 0 && size != st.ExpectedSize {
		bad = fmt.Errorf("%s ended after %d bytes, not the --expected-size %d", st.Name, size, st.ExpectedSize)
	}
	if bad == nil {
		return nil
	}
	return s.streamFailed(ctx, bad)
}

// streamFailed aborts the stream's upload and removes its journal: nothing
// of a stream that ended badly is ever completed.
func (s *session) streamFailed(ctx context.Context, why error) error {
	if s.uploadID != "" {
		s.abortOld(ctx, s.uploadID, "the stream ended badly: "+why.Error())
	}
	s.sc.Remove()
	return store.WithKind(ErrStreamFailed, fmt.Errorf("%w; nothing was stored", why))
}

// readFull reads len(buf) bytes, or up to the end of the stream, and stops
// waiting when ctx is done (a read from a pipe cannot be interrupted; it is
// left to finish in the background, and the process is about to end).
func readFull(ctx context.Context, r io.Reader, buf []byte) (int, error) {
	type result struct {
		n   int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		n, err := io.ReadFull(r, buf)
		ch <- result{n, err}
	}()
	select {
	case res := <-ch:
		return res.n, res.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
