package s3up

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/store"
)

// sendParts uploads the given parts, at most Concurrency at a time, and
// journals each as soon as the server acknowledges it.
func (s *session) sendParts(ctx context.Context, parts []int32) error {
	if len(parts) == 0 {
		return nil
	}
	x := s.newSender(ctx)
	for _, n := range parts {
		if !x.send(n, nil) {
			break
		}
	}
	return x.wait()
}

// sender sends parts, within the Uploader's concurrency budget (at most
// Concurrency at a time across its sessions), and journals each as
// soon as the server acknowledges it.
//
// When ctx is cancelled (an interrupt), no new part starts; parts in flight
// get Options.Grace to finish so their bytes are not wasted, then are cut.
// A part that fails for good (after the SDK's retries) stops new parts; a
// failure no rerun can fix (access denied, a refused option) also cuts the
// parts in flight at once, since their outcome no longer matters.
type sender struct {
	s           *session
	ctx         context.Context // the run's: its end stops new parts
	partCtx     context.Context // the parts': cut Grace after ctx ends, or at a permanent failure
	cancelParts context.CancelCauseFunc
	stop        func() bool
	g           errgroup.Group

	mu     sync.Mutex
	failed error
}

func (s *session) newSender(ctx context.Context) *sender {
	x := &sender{s: s, ctx: ctx}
	x.partCtx, x.cancelParts = context.WithCancelCause(context.WithoutCancel(ctx))
	x.stop = context.AfterFunc(ctx, func() {
		if s.opts.Grace < 0 {
			x.cancelParts(context.Canceled)
			return
		}
		t := time.AfterFunc(s.opts.Grace, func() { x.cancelParts(context.Canceled) })
		context.AfterFunc(x.partCtx, func() { t.Stop() })
	})
	return x
}

func (x *sender) setFailed(err error) {
	x.mu.Lock()
	if x.failed == nil {
		x.failed = err
	}
	x.mu.Unlock()
	if !errors.Is(store.Classify(err), ErrTransient) {
		x.cancelParts(err)
	}
}

// stopped reports whether no new part may start.
func (x *sender) stopped() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.failed != nil || x.ctx.Err() != nil
}

// send sends part n in the background, once a place in the Uploader's
// concurrency budget is free (send blocks until then: the place is taken
// before the part is read or a goroutine started). done, if not nil, runs when the part is finished, whatever the
// outcome. send reports false when no part may start any more.
func (x *sender) send(n int32, done func()) bool {
	if x.stopped() {
		if done != nil {
			done()
		}
		return false
	}
	x.s.u.acquire()
	x.g.Go(func() error {
		defer x.s.u.release()
		if done != nil {
			defer done()
		}
		if x.stopped() {
			return nil
		}
		s := x.s
		p, err := s.uploadPart(x.partCtx, n)
		if err == nil {
			if err = s.sc.Append(p); err != nil {
				err = store.WithKind(ErrState, fmt.Errorf("record part %d in %s: %w", n, s.sc.Path(), err))
			}
		}
		if err != nil {
			x.setFailed(err)
			return nil
		}
		s.partDone(p)
		s.ev.partDone(PartDone{Number: n, Size: p.Size, ETag: p.ETag})
		return nil
	})
	return true
}

// wait waits for the parts sent and returns the first failure, or the
// interruption.
func (x *sender) wait() error {
	x.g.Wait()
	x.stop()
	x.cancelParts(nil)
	if x.failed != nil && x.ctx.Err() == nil {
		return x.s.failure(x.failed)
	}
	if x.ctx.Err() != nil {
		return x.s.interrupted(x.ctx.Err())
	}
	return nil
}

// interrupted is the error of a run stopped by ctx: the state is kept.
func (s *session) interrupted(cause error) error {
	return &UploadError{Op: "upload interrupted", UploadID: s.uploadID, StatePath: s.sc.Path(), Err: cause}
}

// failure gives a part's error the upload's recovery data and its kind.
func (s *session) failure(err error) error {
	if errors.Is(err, context.Canceled) {
		return s.interrupted(err)
	}
	var ue *UploadError
	if !errors.As(err, &ue) {
		ue = &UploadError{Op: "upload", Err: err}
		err = ue
	}
	ue.UploadID, ue.StatePath = s.uploadID, s.sc.Path()
	return store.Classify(err)
}

// uploadPart sends part n, never holding it in memory. Over HTTPS it is
// read once, its checksum computed on the way and sent as a trailer
// (uploadPartTrailer); otherwise, or where the store refuses that, it is
// read twice (uploadPartHeader). A retry by the SDK rewinds the section
// reader and reads the source again.
func (s *session) uploadPart(ctx context.Context, n int32) (resume.Part, error) {
	size := s.data.size(n)
	if !s.useTrailer() {
		return s.uploadPartHeader(ctx, n, size)
	}
	p, err, refused := s.uploadPartTrailer(ctx, n, size)
	if refused == nil {
		return s.refusal(p, err)
	}
	// The same part again, its checksum in a header. Only once the store
	// took it that way is the refusal learned: an answer that was about
	// something else fails again.
	s.w.noTrailer.Store(true)
	p, err = s.uploadPartHeader(ctx, n, size)
	if err == nil && !errors.Is(refused, errTrailerUnproven) {
		s.learn(fmt.Sprintf("it refuses aws-chunked bodies with a trailing checksum (%s); parts carry the checksum in a header, computed in a read before the send", store.Describe(refused)),
			func(pr *store.Profile) { pr.RefusesTrailers = true })
	}
	return p, err
}

// useTrailer reports whether the next part goes with its checksum in a
// trailer: over HTTPS through the SDK, for a file (a stream's parts are in
// memory and hashed already), to a store not known to refuse trailers or to
// hide the checksums it receives (a store that shows none could have taken
// the framing for data unnoticed), nor to report a native CRC-64 (which is
// checked against a local one computed before the send).
func (s *session) useTrailer() bool {
	if !s.w.trailer || s.w.noTrailer.Load() || s.nativeCRC64.Load() || !s.u.client.SDK() {
		return false
	}
	if _, file := s.data.(fileParts); !file {
		return false
	}
	p := s.storeProfile()
	return !p.RefusesTrailers && !p.HidesChecksums
}

// uploadPartHeader sends part n read twice: once to compute every digest in
// a single pass (checksum, payload SHA-256 when signing, MD5 for Content-MD5
// or the ETag check, the store's native CRC-64 once it is known), once as
// the request body.
func (s *session) uploadPartHeader(ctx context.Context, n int32, size int64) (resume.Part, error) {
	req := s.w.request()
	req.CRC64ECMA = s.nativeCRC64.Load()
	var sums checksum.Sums
	if !req.Empty() {
		var err error
		if sums, err = s.data.sums(ctx, n, req); err != nil {
			return resume.Part{}, &UploadError{Op: fmt.Sprintf("read part %d", n), Err: store.WithKind(ErrTransient, fmt.Errorf("%s: %v", s.res.Source, err))}
		}
	}
	// With nothing to hash before sending, the body is read once, by the
	// send, and the local digest is computed on the way.
	body := s.body(ctx, n, size)
	if s.w.alg == checksum.None {
		body.tee = digestAlg.New()
	}
	in := &s3.UploadPartInput{
		Bucket: aws.String(s.dest.Bucket), Key: aws.String(s.dest.Key), UploadId: aws.String(s.uploadID),
		PartNumber: aws.Int32(n), Body: body, ContentLength: aws.Int64(size),
	}
	if s.w.alg == checksum.MD5 {
		in.ContentMD5 = aws.String(sums.Checksum)
	} else if s.w.alg.Flexible() {
		checksum.OfUploadPart(in).Set(s.w.alg, sums.Checksum)
		in.ChecksumAlgorithm = s.w.alg.SDK()
	}
	payloadHash := "UNSIGNED-PAYLOAD"
	if s.w.signPayload() {
		payloadHash = sums.SHA256
	}
	callOpts := []func(*s3.Options){store.WithPayloadHash(payloadHash), store.WithErrorBodyCheck()}
	if s.w.checkETags() {
		callOpts = append(callOpts, store.WithETagCheck(n, sums.MD5))
	}
	if req.CRC64ECMA {
		callOpts = append(callOpts, store.WithNativeCRC64Check(n, sums.CRC64ECMA))
	}
	op := fmt.Sprintf("upload part %d", n)
	out, err := s.client().UploadPart(ctx, in, callOpts...)
	if err != nil {
		body.withdraw()
		return s.refusal(resume.Part{}, &UploadError{Op: op, Err: err})
	}
	p := resume.Part{Number: n, Size: size, ETag: aws.ToString(out.ETag), Checksum: sums.Checksum}
	switch {
	case body.tee != nil:
		if !body.whole() {
			body.withdraw()
			return resume.Part{}, &UploadError{Op: op, Err: store.WithKind(ErrTransient, errors.New("the part's bytes were not all read"))}
		}
		p.Digest = digestOf(digestAlg, base64.StdEncoding.EncodeToString(body.tee.Sum(nil)))
	case s.w.alg == checksum.MD5:
		p.Digest = digestOf(digestAlg, sums.CRC32C)
	}
	s.addStreamDigest(&p)
	if req.CRC64ECMA {
		p.CRC64ECMA = strconv.FormatUint(sums.CRC64ECMA, 10)
	}
	if err := s.acknowledged(ctx, &p, checksum.OfUploadPartOutput(out).Get(s.w.alg), out.ResultMetadata); err != nil {
		body.withdraw()
		return resume.Part{}, &UploadError{Op: op, Err: err}
	}
	return p, nil
}

// addStreamDigest journals a stream part's SHA-256, by which a resume
// recognises it.
func (s *session) addStreamDigest(p *resume.Part) {
	if d, ok := s.data.(interface{ digest(int32) string }); ok {
		p.Digest = addDigest(p.Digest, checksum.SHA256, digestValue(d.digest(p.Number), checksum.SHA256))
	}
}

// refusal turns the error of a part that carried a flexible checksum into
// errChecksumsRefused when the store refused the checksum itself, and no
// part of the upload has been stored yet: the upload then starts over with
// Content-MD5.
func (s *session) refusal(p resume.Part, err error) (resume.Part, error) {
	if err == nil || !s.w.alg.Flexible() || !refusesChecksums(err) {
		return p, err
	}
	s.mu.Lock()
	none := len(s.parts) == 0
	s.mu.Unlock()
	if !none {
		return p, err
	}
	return p, &refusedError{err}
}

// acknowledged checks a part's answer: an ETag; the server's checksum (where
// it shows one) equal to the local one; the store's native CRC-64 (where it
// reports one) equal to the local bytes'. It learns what the answer tells
// about the store.
func (s *session) acknowledged(ctx context.Context, p *resume.Part, serverSum string, md middleware.Metadata) error {
	if p.ETag == "" {
		return store.WithKind(ErrTransient, errors.New("server answered without an ETag"))
	}
	if serverSum != "" && p.Checksum != "" && serverSum != p.Checksum {
		return store.WithKind(ErrTransient, fmt.Errorf("server stored checksum %s, local bytes have %s", serverSum, p.Checksum))
	}
	if serverSum == "" && s.w.alg.Flexible() && !s.storeProfile().HidesChecksums {
		s.learn("it accepts S3 flexible checksums but does not show them in its answers", func(pr *store.Profile) { pr.HidesChecksums = true })
	}
	nat := store.NativeOf(md)
	if nat.CRC64Header == "" {
		return nil
	}
	if !s.nativeCRC64.Swap(true) {
		s.learn(fmt.Sprintf("it reports a CRC-64/ECMA of every part and object (%s), which s3up compares with its own", nat.CRC64Header),
			func(pr *store.Profile) { pr.NativeCRC64 = nat.CRC64Header })
	}
	if p.CRC64ECMA == "" {
		// Sent before the store's CRC-64 was known: read the part again.
		sums, err := s.data.sums(ctx, p.Number, checksum.Request{CRC64ECMA: true})
		if err != nil {
			return store.WithKind(ErrTransient, fmt.Errorf("read part %d again: %v", p.Number, err))
		}
		p.CRC64ECMA = strconv.FormatUint(sums.CRC64ECMA, 10)
	}
	if want := strconv.FormatUint(nat.CRC64, 10); want != p.CRC64ECMA {
		local, _ := strconv.ParseUint(p.CRC64ECMA, 10, 64)
		return store.CRC64Mismatch(p.Number, nat.CRC64Header, nat.CRC64, local)
	}
	return nil
}

// errTrailerUnproven: the store took a part sent with a trailer but did not
// show the checksum it received, so nothing proves it decoded the body
// rather than storing the framing with the bytes.
var errTrailerUnproven = errors.New("the store did not show the checksum of a part sent with a trailer")

// uploadPartTrailer sends part n over HTTPS in one read of the source: the
// body goes in aws-chunked encoding, its checksum computed from the bytes as
// they are sent and appended as a trailer; that same value goes into the
// journal. refused is not nil when the part must go again with its checksum
// in a header: the store's answer refused the trailer (trailerRefusal), or
// did not show the checksum it received (errTrailerUnproven).
func (s *session) uploadPartTrailer(ctx context.Context, n int32, size int64) (p resume.Part, err, refused error) {
	body := s.body(ctx, n, size)
	in := &s3.UploadPartInput{
		Bucket: aws.String(s.dest.Bucket), Key: aws.String(s.dest.Key), UploadId: aws.String(s.uploadID),
		PartNumber: aws.Int32(n), Body: body, ContentLength: aws.Int64(size),
	}
	op := fmt.Sprintf("upload part %d", n)
	var tr store.Trailer
	out, err := s.client().UploadPart(ctx, in, store.WithTrailer(s.w.alg, store.DefaultTrailerChunk, &tr), store.WithErrorBodyCheck())
	if err != nil {
		body.withdraw()
		if trailerRefusal(ctx, err) {
			return resume.Part{}, nil, err
		}
		return resume.Part{}, &UploadError{Op: op, Err: err}, nil
	}
	local, whole := tr.Checksum()
	if !whole {
		body.withdraw()
		return resume.Part{}, &UploadError{Op: op, Err: store.WithKind(ErrTransient, errors.New("the part's bytes were not all sent"))}, nil
	}
	serverSum := checksum.OfUploadPartOutput(out).Get(s.w.alg)
	if serverSum == "" {
		body.withdraw()
		return resume.Part{}, nil, errTrailerUnproven
	}
	p = resume.Part{Number: n, Size: size, ETag: aws.ToString(out.ETag), Checksum: local}
	if err := s.acknowledged(ctx, &p, serverSum, out.ResultMetadata); err != nil {
		body.withdraw()
		return resume.Part{}, &UploadError{Op: op, Err: err}, nil
	}
	return p, nil, nil
}

// trailerRefusal reports whether err, the failure of a part sent with a
// trailer, may be the store's refusal of the encoding: any answer of the
// store's except throttling, a gone upload or bucket, and bytes that
// arrived damaged. Stores that do not know STREAMING-UNSIGNED-PAYLOAD-TRAILER
// answer in many ways (InvalidArgument, InvalidRequest, NotImplemented,
// XAmzContentSHA256Mismatch, AuthorizationHeaderMalformed,
// SignatureDoesNotMatch, MissingContentLength, ...), so the part is sent
// again with its checksum in a header, and only that attempt's success
// makes the refusal a fact about the store.
func trailerRefusal(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return false
	}
	status := store.HTTPStatus(err)
	switch {
	case status < 400, status == http.StatusTooManyRequests, status == http.StatusServiceUnavailable:
		return false
	}
	switch store.Code(err) {
	case "NoSuchUpload", "NoSuchBucket", "SlowDown", "BadDigest", "XAmzContentChecksumMismatch", "InvalidChecksum", "InvalidDigest":
		return false
	}
	return true
}

func (s *session) body(ctx context.Context, n int32, size int64) *partReader {
	return &partReader{sec: s.data.section(n), size: size, ev: s.ev, lim: s.u.limiter, ctx: ctx}
}

func errOrShort(err error) error {
	if err != nil {
		return err
	}
	return errors.New("file is shorter than when the upload started")
}

// partReader is a part's request body: a section of the source that counts
// progress and honours the bandwidth limit. Seeking back (an SDK retry)
// takes back the rewound bytes. With tee set, it hashes the bytes as they
// are sent, so a part needs no read before the send.
type partReader struct {
	sec      *io.SectionReader
	size     int64
	ev       *emitter
	lim      *rate.Limiter
	ctx      context.Context
	tee      hash.Hash
	pos      int64 // current offset within the part
	reported int64 // bytes counted as progress so far
	hashed   int64 // bytes fed to tee
}

func (r *partReader) Read(p []byte) (int, error) {
	if r.lim != nil && len(p) > r.lim.Burst() {
		// WaitN refuses more than the burst: a limit below the HTTP
		// client's 32 KiB reads would fail every part.
		p = p[:r.lim.Burst()]
	}
	n, err := r.sec.Read(p)
	if n > 0 && r.lim != nil {
		if werr := r.lim.WaitN(r.ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	if r.tee != nil && n > 0 && r.pos == r.hashed {
		r.tee.Write(p[:n])
		r.hashed += int64(n)
	}
	r.pos += int64(n)
	if r.pos > r.reported {
		r.ev.addBytes(r.pos - r.reported)
		r.reported = r.pos
	}
	return n, err
}

func (r *partReader) Seek(off int64, whence int) (int64, error) {
	pos, err := r.sec.Seek(off, whence)
	if err != nil {
		return pos, err
	}
	r.pos = pos
	if pos < r.reported {
		r.ev.addBytes(pos - r.reported)
		r.reported = pos
	}
	if r.tee != nil && pos < r.hashed {
		// A retry rewinds the body; hash it again from the start.
		r.tee.Reset()
		r.hashed = 0
		if pos != 0 {
			// Only a rewind to 0 is ever needed; anything else must not
			// leave a digest of the wrong bytes.
			r.hashed = -1
		}
	}
	return pos, nil
}

// WriteTo sends the rest of the part to w. Over plain HTTP w is the
// connection's store.FileSender, and a part of a file goes with sendfile(2),
// never copied through user space; the bandwidth limit and a tee need the
// bytes in hand, so they take the copy (Read), as does every other writer.
func (r *partReader) WriteTo(w io.Writer) (int64, error) {
	fs, ok := w.(store.FileSender)
	f, base, isFile := r.file()
	if !ok || !isFile || r.lim != nil || r.tee != nil {
		return r.copyTo(w)
	}
	var total int64
	for r.pos < r.size {
		// A piece at a time: progress moves, and the connection's stall
		// deadline measures each piece.
		n, err := fs.SendFile(f, base+r.pos, min(r.size-r.pos, sendPiece))
		total += n
		r.advance(n)
		if errors.Is(err, errors.ErrUnsupported) && n == 0 {
			m, err := r.copyTo(w)
			return total + m, err
		}
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, errOrShort(nil)
		}
	}
	return total, nil
}

// sendPiece is how much of a part one sendfile call sends at most.
const sendPiece = 1 << 20

// file returns the file under the part and the part's offset in it, when
// the part is a section of a file that can hand its descriptor out.
func (r *partReader) file() (syscall.Conn, int64, bool) {
	ra, off, _ := r.sec.Outer()
	f, ok := ra.(syscall.Conn)
	return f, off, ok
}

// advance moves the part's position by n bytes sent without Read.
func (r *partReader) advance(n int64) {
	r.pos += n
	if _, err := r.sec.Seek(r.pos, io.SeekStart); err != nil {
		return
	}
	if r.pos > r.reported {
		r.ev.addBytes(r.pos - r.reported)
		r.reported = r.pos
	}
}

// copyTo writes the rest of the part to w through a buffer.
func (r *partReader) copyTo(w io.Writer) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	return io.CopyBuffer(onlyWriter{w}, onlyReader{r}, *bp)
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// onlyReader and onlyWriter hide WriterTo and ReaderFrom from io.CopyBuffer.
type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }

// whole reports whether tee saw the part's bytes exactly once, in order.
func (r *partReader) whole() bool { return r.hashed == r.size }

// withdraw takes back the progress of a part that failed, so totals count
// only acknowledged bytes plus bytes in flight.
func (r *partReader) withdraw() {
	if r.reported != 0 {
		r.ev.addBytes(-r.reported)
		r.reported = 0
	}
}
