package s3up

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/store"
)

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
	switch {
	case err != nil:
	case !errors.Is(refused, errTrailerUnproven):
		s.learn(fmt.Sprintf("it refuses aws-chunked bodies with a trailing checksum (%s); parts carry the checksum in a header, computed in a read before the send", store.Describe(refused)),
			func(pr *store.Profile) { pr.RefusesTrailers = true })
	case !s.storeProfile().HidesChecksums:
		// It showed the checksum of the part sent with the header, and not
		// of the one sent with the trailer: what it did with the trailer is
		// unknown, so parts carry the header from now on.
		s.learn("it does not show the checksum of a part sent with an aws-chunked trailer (it does with a header); parts carry the checksum in a header, computed in a read before the send",
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
	if s.data.inMemory() {
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
	req := s.partRequest()
	var sums checksum.Sums
	if !req.Empty() {
		var err error
		if sums, err = s.data.sums(ctx, n, req); err != nil {
			return resume.Part{}, &UploadError{Op: fmt.Sprintf("read part %d", n), Err: store.WithKind(ErrTransient, fmt.Errorf("%s: %w", s.res.Source, err))}
		}
	}
	// Without a checksum the local digests are computed from the bytes as
	// they are sent: a part sent without any check is still compared with
	// what the store reports of it (its ETag), and a resume can prove it.
	body := s.body(ctx, n, size)
	if s.w.alg == checksum.None {
		body.tee = newSendHash(sums.MD5 == nil)
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
	if v := s.contentMD5(sums); v != "" {
		in.ContentMD5 = aws.String(v)
	}
	payloadHash := "UNSIGNED-PAYLOAD"
	if s.w.signPayload() {
		payloadHash = sums.SHA256
	}
	callOpts := []func(*s3.Options){store.WithPayloadHash(payloadHash), store.WithErrorBodyCheck()}
	if md5 := md5Of(sums, s.w.alg); md5 != nil && s.etagCheck() {
		callOpts = append(callOpts, store.WithETagCheck(n, md5))
	}
	if req.CRC64ECMA {
		callOpts = append(callOpts, store.WithNativeCRC64Check(n, sums.CRC64ECMA))
	}
	if want := s.answerChecks(req, sums); len(want) > 0 {
		callOpts = append(callOpts, store.WithAnswerChecksumCheck(n, want))
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
		body.tee.record(&p)
	case s.w.alg == checksum.MD5:
		p.Digest = digestOf(digestAlg, sums.CRC32C)
	}
	s.recordSums(&p, req, sums)
	s.addStreamDigest(&p)
	if err := s.acknowledged(ctx, &p, checksum.OfUploadPartOutput(out), out.ResultMetadata); err != nil {
		body.withdraw()
		return resume.Part{}, &UploadError{Op: op, Err: err}
	}
	return p, nil
}

// md5Of returns the MD5 in sums: the checksum itself for Content-MD5 parts.
func md5Of(sums checksum.Sums, alg checksum.Algorithm) []byte {
	if alg == checksum.MD5 {
		b, _ := base64.StdEncoding.DecodeString(sums.Checksum)
		return b
	}
	return sums.MD5
}

// sendHash computes a part's local digests from its bytes as they are
// sent: its CRC32C and, unless it was computed before the send, its MD5.
type sendHash struct{ crc, md5 hash.Hash }

func newSendHash(md5 bool) *sendHash {
	h := &sendHash{crc: digestAlg.New()}
	if md5 {
		h.md5 = checksum.MD5.New()
	}
	return h
}

func (h *sendHash) Write(p []byte) (int, error) {
	h.crc.Write(p)
	if h.md5 != nil {
		h.md5.Write(p)
	}
	return len(p), nil
}

func (h *sendHash) Reset() {
	h.crc.Reset()
	if h.md5 != nil {
		h.md5.Reset()
	}
}

// record puts the digests into p's journal entry.
func (h *sendHash) record(p *resume.Part) {
	p.Digest = addDigest(p.Digest, digestAlg, base64.StdEncoding.EncodeToString(h.crc.Sum(nil)))
	if h.md5 != nil {
		p.Digest = addDigest(p.Digest, checksum.MD5, base64.StdEncoding.EncodeToString(h.md5.Sum(nil)))
	}
}

// addStreamDigest journals the digest by which a resume recognises a part
// of a source that cannot be read again (a stream's XXH3-128).
func (s *session) addStreamDigest(p *resume.Part) {
	if alg, v, ok := strings.Cut(s.data.contentDigest(p.Number), ":"); ok {
		p.Digest = addDigest(p.Digest, checksum.Algorithm(alg), v)
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
	if err := s.acknowledged(ctx, &p, checksum.OfUploadPartOutput(out), out.ResultMetadata); err != nil {
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
	lim      bandwidth
	ctx      context.Context
	tee      *sendHash
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
