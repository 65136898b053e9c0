package s3up

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/seal"
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
	// Size, when positive or with SizeKnown, is the stream's exact size:
	// the parts are planned for it (equal parts, as R2 requires), and a
	// stream that ends at another size is never completed. The zero value
	// is a stream of unknown size.
	Size int64
	// SizeKnown says that Size is the stream's size even when it is 0 (a
	// stream that must be empty).
	SizeKnown bool
	// Wait, if not nil, is called once the stream ended, and says whether
	// it ended well: a producer that exited non-zero. An error means the
	// object is never completed (the upload is aborted).
	Wait func() error
}

// expected is the stream's size, -1 when it is not known.
func (st Stream) expected() int64 {
	if st.Size > 0 || st.SizeKnown {
		return st.Size
	}
	return -1
}

// StreamID is the resume-state identity of a stream ID.
func StreamID(id string) string { return "stream:" + id }

// PutStream uploads a stream to bucket/key. Memory holds the parts in
// flight: at most Concurrency+1 parts, each kept until the server
// acknowledged it, so retries work as for files. Of unknown size, the
// parts grow with the stream (StreamPartSize), so it never needs part
// 10,001 below StreamCapacity.
//
// A stream that fits in one part goes in one PutObject. A longer one is a
// multipart upload completed only if the stream ended well (Stream.Wait,
// Size); otherwise the upload is aborted and nothing is stored.
//
// Resume by content: each part's XXH3-128 is journalled. When an upload of
// the same stream ID to the same destination was interrupted, the stream is
// read again and each part whose digest matches the journal, and that the
// server holds, is not sent again. From the first part that differs,
// everything is sent, and parts beyond the new end are left out of
// Complete: the object is exactly the new stream. A deterministic producer
// (zfs send of a snapshot, cat, tar --sort=name of a frozen tree) saves the
// link; any other stream is simply sent again. A sealed stream
// (Options.Seal) is resumed by content under its journal's key with the
// rule of sealedstream.go: never other bytes under the key before the
// store.
//
// The stream is read from the calling goroutine: a cancelled ctx takes
// effect when a read returns, and nothing reads st.R after PutStream
// returns.
func (u *Uploader) PutStream(ctx context.Context, st Stream, bucket, key string, opts ...func(*Options)) (*Result, error) {
	o, err := u.callOptions(opts)
	if err != nil {
		return nil, err
	}
	if err := ValidateDestination(bucket, key); err != nil {
		return nil, err
	}
	switch {
	case st.R == nil:
		return nil, fmt.Errorf("%w: a stream needs a reader", ErrBadInput)
	case st.Size < 0:
		return nil, fmt.Errorf("%w: negative stream size %d", ErrBadInput, st.Size)
	case st.ID == "":
		return nil, fmt.Errorf("%w: a stream needs an ID, which names it in the resume state", ErrBadInput)
	}
	if st.Name == "" {
		st.Name = st.ID
	}
	start := time.Now()
	ev := newEmitter(o.Listener, Ref{Source: st.Name, Bucket: bucket, Key: key})
	src := &streamOrigin{st: st}
	s := u.newSession(src, &streamParts{bufs: map[int32][]byte{}, digests: map[int32]checksum.Sums{}, reqs: map[int32]checksum.Request{}, sizes: map[int32]int64{}},
		bucket, key, ev, o)
	src.s = s
	err = s.runAndSupersede(ev.withRetries(ctx))
	ev.close()
	s.res.Duration = time.Since(start).Seconds()
	if err != nil {
		return nil, kinded(err)
	}
	return s.res, nil
}

// streamOrigin is a stream as a session's origin.
type streamOrigin struct {
	st      Stream
	s       *session
	sealed  *seal.Reader // st.R seals the stream given (Options.Seal)
	checked bool
	bad     error
}

func (o *streamOrigin) Identity() resume.Source { return resume.Source{Path: StreamID(o.st.ID)} }
func (o *streamOrigin) Name() string            { return o.st.Name }

// Check, once the stream was read to its end, says whether it ended well:
// its producer exited 0 and it has the expected size. An error wraps
// ErrStreamFailed: nothing of the stream may be stored.
func (o *streamOrigin) Check() error {
	if o.checked {
		return o.bad
	}
	o.checked = true
	if o.st.Wait != nil {
		o.bad = o.st.Wait()
	}
	if size, want := o.s.id.Size, o.st.expected(); o.bad == nil && want >= 0 && size != want {
		if o.sealed != nil {
			// The sizes the user knows are the plaintext's.
			size, want = o.sealed.PlaintextSize(), o.s.sealed.plain
		}
		o.bad = store.WithHint(fmt.Errorf("%s ended after %d bytes, not the expected %d", o.st.Name, size, want), store.HintExpectedSize)
	}
	if o.bad != nil {
		o.bad = store.WithKind(ErrStreamFailed, o.bad)
	}
	return o.bad
}

// errOnePart: a new stream ended within its first part, which is at hand:
// it goes in one PutObject, with no multipart upload.
var errOnePart = errors.New("the stream fits in one part")

// beginStream prepares a stream's run: the plan as far as it is known (a
// size given, or the part size the stream starts with), and the feed that
// reads the stream, skipping the parts an identical earlier run left on the
// server (decision.remote).
func (s *session) beginStream(d decision, path string) error {
	st := s.src.(*streamOrigin).st
	f := &streamFeed{s: s, st: st, data: s.data.(*streamParts)}
	planned := Planned{Source: st.Name, Bucket: s.dest.Bucket, Key: s.dest.Key, Size: st.expected(), State: path,
		PartSize: StreamPartSize(s.opts.PartSize, 0)}
	if st.expected() >= 0 {
		p, err := planParts(st.expected(), s.opts.PartSize, s.opts.PartSizeExplicit, s.opts.MinPartSize)
		if err != nil {
			return err
		}
		f.plan = &p
		planned.PartSize, planned.Parts, planned.Raised = p.PartSize, p.Count, p.Raised
	}
	alg := s.method()
	if d.next == stepResume {
		s.uploadID, s.res.UploadID = s.state.UploadID, s.state.UploadID
		alg, f.prior, f.remote, f.matching = d.alg, s.state, d.remote, true
		s.noteRemote(d.remote)
		planned.PartSize = s.state.PartSize
	}
	s.plan = Plan{PartSize: planned.PartSize}
	s.w = newWire(s.opts, alg, s.u.client.Info.TLS)
	s.mu.Lock()
	s.parts = map[int32]resume.Part{}
	s.mu.Unlock()
	s.feed = f
	s.ev.emit(planned)
	s.ev.plan(st.expected(), planned.Parts, 0, 0)
	return nil
}

// streamFeed reads a stream part by part. A part the journal of an
// identical earlier run recorded and the server still holds is kept, not
// sent (resume by content); from the first part that differs, every part
// is sent.
type streamFeed struct {
	s    *session
	st   Stream
	data *streamParts
	plan *Plan // for a stream of known size

	prior    *resume.State
	remote   []resume.Part
	matching bool // the parts so far are the earlier run's

	n        int32 // the last part read
	read     int64 // bytes read
	skipped  int64 // bytes of parts kept from the earlier run
	ended    bool
	restarts bool // parts were kept, not held: the stream cannot be replayed
	replay   bool // next yields part 1 again, still held, for a new upload
}

// partSize is the size of part n after sent bytes.
func (f *streamFeed) partSize(n int32) int64 {
	switch {
	case f.matching && f.prior.Parts[n].Size > 0:
		return f.prior.Parts[n].Size
	case f.plan == nil && f.s.sealed.sentSize(n) > 0:
		// A sealed stream's part is read at the size it was sent at.
		return f.s.sealed.sentSize(n)
	case f.plan != nil && n > f.plan.Count:
		return 1 // only to find out whether the stream goes on past its size
	case f.plan != nil:
		return f.plan.PartSizeOf(n)
	}
	return StreamPartSize(f.s.opts.PartSize, f.read)
}

func (f *streamFeed) next(ctx context.Context) (int32, bool, error) {
	s, st := f.s, f.st
	if f.replay {
		f.replay = false
		return 1, true, nil
	}
	for !f.ended {
		if err := ctx.Err(); err != nil {
			return 0, false, s.interrupted(err)
		}
		n := f.n + 1
		size := f.partSize(n)
		buf := f.data.buffer(size)
		req := f.reqFor(n)
		h := checksum.NewHasher(req)
		got, err := checksum.ReadFull(st.R, buf, h)
		buf = buf[:got]
		switch {
		case err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF):
			if ctx.Err() != nil {
				return 0, false, s.interrupted(ctx.Err())
			}
			return 0, false, store.WithKind(ErrTransient, &UploadError{Op: "read " + st.Name, UploadID: s.uploadID, StatePath: s.sc.Path(), Err: err})
		case got == 0:
			f.data.recycle(buf)
			f.end()
			if n == 1 && s.uploadID == "" {
				f.data.put(1, nil, h.Sums(), req)
				return 0, false, errOnePart
			}
			return 0, false, nil
		}
		last := got < int(size)
		if f.plan != nil && (n > f.plan.Count || f.read+int64(got) > f.plan.Size) {
			return 0, false, store.WithKind(ErrStreamFailed, store.WithHint(fmt.Errorf("%s is longer than its expected size %d", st.Name, f.plan.Size), store.HintExpectedSize))
		}
		if n > MaxParts {
			return 0, false, store.WithKind(ErrStreamFailed, store.WithHint(fmt.Errorf("%s does not fit in %d parts (more than %d bytes): its size must be given", st.Name, MaxParts, f.read), store.HintExpectedSize))
		}
		sums := h.Sums()
		if err := f.sealGuard(ctx, n, buf, sums); errors.Is(err, errResealed) {
			st = f.st // the stream sealed again
			continue
		} else if err != nil {
			return 0, false, err
		}
		f.n = n
		f.read += int64(got)
		if last {
			f.end()
		}
		if n == 1 && last && s.uploadID == "" {
			f.data.put(1, buf, sums, req)
			return 0, false, errOnePart
		}
		if f.matching {
			if p, ok := s.sameAsBefore(f.prior, f.remote, n, buf, sums); ok {
				f.data.recycle(buf)
				f.restarts = true
				s.mu.Lock()
				s.parts[n] = p
				s.mu.Unlock()
				f.skipped += p.Size
				s.res.BytesSkipped, s.res.PartsKept = f.skipped, int(n)
				s.ev.addBytes(p.Size)
				s.ev.partDone(PartDone{Number: n, Size: p.Size, ETag: p.ETag})
				continue
			}
			// From the first part that differs, everything is sent.
			f.matching = false
			s.ev.emit(Resumed{UploadID: s.uploadID, OnServer: s.partsOnServer(), BytesOnServer: f.skipped})
		}
		f.data.put(n, buf, sums, req)
		s.res.Parts = n
		return n, true, nil
	}
	return 0, false, nil
}

// reqFor is the hashing stream part n gets as it is read: what it is sent
// with, and the XXH3-128 a resume recognises it by. While the parts still
// match a journal written before XXH3 (SHA-256 digests), the SHA-256 too.
func (f *streamFeed) reqFor(n int32) checksum.Request {
	r := f.s.partRequest()
	r.XXH3 = true
	if f.matching && f.prior != nil {
		if p, ok := f.prior.Parts[n]; ok && digestValue(p.Digest, streamDigestAlg) == "" && digestValue(p.Digest, checksum.SHA256) != "" {
			r.SHA256 = true
		}
	}
	return r
}

// end records the stream's size and parts once it ended.
func (f *streamFeed) end() {
	f.ended = true
	s := f.s
	s.id.Size = f.read
	s.res.Size, s.res.Resumed = f.read, f.prior != nil
}

func (f *streamFeed) done(n int32) { f.data.drop(n) }

// restart replays the stream from its first part for a new upload: only
// possible while that part is the one at hand (the first part goes alone)
// and no part before it was kept instead of held.
func (f *streamFeed) restart() bool {
	if f.restarts || f.n != 1 {
		return false
	}
	f.matching, f.prior, f.remote, f.replay = false, nil, nil, true
	return true
}

// streamParts are a stream's parts in memory, each held until acknowledged.
type streamParts struct {
	mu      sync.Mutex
	bufs    map[int32][]byte
	digests map[int32]checksum.Sums
	reqs    map[int32]checksum.Request // what digests holds
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
	if p.reqs == nil {
		p.reqs = map[int32]checksum.Request{}
	}
	p.bufs[n], p.digests[n], p.sizes[n], p.reqs[n] = b, s, int64(len(b)), req
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
	delete(p.reqs, n)
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
	had := p.reqs[n]
	covered := had.Alg == req.Alg && (had.SHA256 || !req.SHA256) && (had.XXH3 || !req.XXH3) && (had.MD5 || !req.MD5) &&
		(had.CRC32C || !req.CRC32C) && (had.CRC64ECMA || !req.CRC64ECMA) && (had.Extra == req.Extra || req.Extra == "")
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

// streamDigestAlg names the journalled digest of a stream part: XXH3-128,
// so that equal digests mean equal bytes, short of a deliberate collision,
// when a resume skips a part by content (a stream is the user's own bytes,
// read again from their own producer: the threat is an accident, which 128
// bits rule out). Journals written before it hold SHA-256 and still resume.
const streamDigestAlg = checksum.Algorithm("xxh3-128")

// streamDigest is the journal entry of a stream part's content digest.
func streamDigest(s checksum.Sums) string { return digestOf(streamDigestAlg, s.XXH3) }

func (p *streamParts) inMemory() bool { return true }

// contentDigest is the content digest entry journalled with stream part n.
func (p *streamParts) contentDigest(n int32) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.digests[n]; ok && s.XXH3 != "" {
		return streamDigest(s)
	}
	return ""
}

// probePartReplace finds out, before a stream is resumed, whether the store
// can replace a part of an upload with other bytes: a stream read again may
// differ from a part on, and the parts before it are not kept. A throwaway
// upload to the key gets part 1 twice, one byte each time, and is aborted.
// An answer that proves nothing either way leaves it unknown.
func (s *session) probePartReplace(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := s.client().CreateMultipartUpload(pctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(s.dest.Bucket), Key: aws.String(s.dest.Key)})
	if err != nil {
		return
	}
	id := aws.ToString(out.UploadId)
	defer s.abortOld(ctx, id, "it only tried whether the store can replace a part")
	for i, b := range []string{"a", "b"} {
		sum := md5.Sum([]byte(b))
		_, err := s.client().UploadPart(pctx, &s3.UploadPartInput{Bucket: aws.String(s.dest.Bucket), Key: aws.String(s.dest.Key),
			UploadId: aws.String(id), PartNumber: aws.Int32(1), Body: strings.NewReader(b), ContentLength: aws.Int64(1),
			ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum[:]))}, store.WithPayloadHash("UNSIGNED-PAYLOAD"))
		switch {
		case err == nil && i == 1:
			s.learnQuiet(func(p *store.Profile) { p.PartReplaceKnown = true })
		case err != nil && i == 1 && store.RefusesPartReplace(err):
			s.learn("it refuses to replace a part of an upload it holds ("+store.Describe(err)+"); a stream read again starts a new upload",
				func(p *store.Profile) { p.RefusesPartReplace, p.PartReplaceKnown = true, true })
		case err != nil:
			return
		}
	}
}

// sameAsBefore reports whether part n of the stream as read now is the part
// the journal recorded (same size and content digest: XXH3-128, or SHA-256
// in a journal written before it) and the server still holds (an entry with
// the recorded ETag and size), and returns it for Complete.
func (s *session) sameAsBefore(prior *resume.State, remote []resume.Part, n int32, buf []byte, sums checksum.Sums) (resume.Part, bool) {
	jp, ok := prior.Parts[n]
	if !ok || jp.Size != int64(len(buf)) || !sameContent(jp.Digest, sums) {
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

// sameContent reports whether a journal Digest names the content sums
// hold: its XXH3-128, or for an older journal its SHA-256. A digest that is
// absent or was not computed proves nothing.
func sameContent(d string, sums checksum.Sums) bool {
	if v := digestValue(d, streamDigestAlg); v != "" {
		return v == sums.XXH3
	}
	v := digestValue(d, checksum.SHA256)
	return v != "" && v == sums.SHA256
}

// putWhole stores a stream that fits in one part (or is empty) with one
// PutObject, once it is known to have ended well; its journal goes.
func (s *session) putWhole(ctx context.Context) error {
	if err := s.src.Check(); err != nil {
		return s.streamFailed(ctx, err)
	}
	s.sc.Remove()
	size := s.data.size(1)
	s.id.Size = size
	return s.sendSingle(ctx, size)
}

// streamFailed aborts the stream's upload and removes its journal: nothing
// of a stream that ended badly is ever completed.
func (s *session) streamFailed(ctx context.Context, why error) error {
	if s.uploadID != "" {
		// Not abortOld's "aborted old upload": it is most often the upload
		// this run started; the error says why the stream failed.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := store.Abort(actx, s.client(), s.dest.Bucket, s.dest.Key, s.uploadID); err != nil {
			s.ev.emit(Warning{Message: fmt.Sprintf("could not abort upload %s of the failed stream (%s); a gc of forgotten uploads can remove it later", s.uploadID, store.Describe(err))})
		} else {
			s.ev.emit(Warning{Message: fmt.Sprintf("aborted upload %s: the stream ended badly, so nothing of it is stored", s.uploadID)})
		}
	}
	s.sc.Remove()
	return store.WithKind(ErrStreamFailed, fmt.Errorf("%w; nothing was stored", why))
}
