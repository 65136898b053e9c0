package s3up

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"

	"github.com/s3up/s3up/resume"
)

func (j *job) section(n int32) *io.SectionReader {
	return io.NewSectionReader(j.f, j.plan.Offset(n), j.plan.PartSizeOf(n))
}

// uploadPart sends part n. The part is read twice from the file and never
// held in memory: once to compute every digest in a single pass (checksum,
// payload SHA-256 when signing, MD5 when asked), once as the request body.
// A retry by the SDK rewinds the section reader and reads the file again.
func (j *job) uploadPart(ctx context.Context, n int32) (resume.Part, error) {
	u := j.u
	size := j.plan.PartSizeOf(n)
	if j.opts.trailer(j.alg, j.plan.PartSize) {
		return j.uploadPartTrailer(ctx, n, size)
	}
	sign := j.opts.signPayload()
	checkETag := j.opts.checkETags(j.alg)
	req := sumRequest{alg: j.alg, sha256: sign, md5: j.alg == ChecksumMD5 || checkETag}
	var sums partSums
	if req.needsRead() {
		var read int64
		var err error
		sums, read, err = hashPart(j.section(n), req)
		if err != nil || read != size {
			return resume.Part{}, &UploadError{Op: fmt.Sprintf("read part %d", n), Err: fmt.Errorf("%w: %s: %v", ErrTransient, j.res.Source, errOrShort(err))}
		}
	}
	// With nothing to hash, the body is read once, by the send; a file
	// that shrank fails it with a short body.
	body := &partReader{sec: j.section(n), n: n, ev: u.ev, lim: u.limiter, ctx: ctx}
	in := &s3.UploadPartInput{
		Bucket: aws.String(j.dest.Bucket), Key: aws.String(j.dest.Key), UploadId: aws.String(j.st.UploadID),
		PartNumber: aws.Int32(n), Body: body, ContentLength: aws.Int64(size),
	}
	setPartChecksum(in, j.alg, sums)
	payloadHash := "UNSIGNED-PAYLOAD"
	if sign {
		payloadHash = sums.SHA256
	}
	callOpts := []func(*s3.Options){withPayloadHash(payloadHash), withErrorBodyCheck()}
	if checkETag {
		callOpts = append(callOpts, withETagCheck(n, sums.MD5))
	}
	out, err := u.client.UploadPart(ctx, in, callOpts...)
	if err != nil {
		body.withdraw()
		return resume.Part{}, &UploadError{Op: fmt.Sprintf("upload part %d", n), Err: err}
	}
	etag := aws.ToString(out.ETag)
	if etag == "" {
		return resume.Part{}, &UploadError{Op: fmt.Sprintf("upload part %d", n),
			Err: fmt.Errorf("%w: server answered without an ETag", ErrTransient)}
	}
	if got := uploadPartChecksum(out, j.alg); got != "" && sums.Checksum != "" && got != sums.Checksum {
		return resume.Part{}, &UploadError{Op: fmt.Sprintf("upload part %d", n),
			Err: fmt.Errorf("%w: server stored checksum %s, local bytes have %s", ErrTransient, got, sums.Checksum)}
	}
	return resume.Part{Number: n, Size: size, ETag: etag, Checksum: sums.Checksum}, nil
}

// uploadPartTrailer sends part n over HTTPS in one read of the file: the
// SDK streams the body with aws-chunked encoding, computes the checksum of
// the bytes it reads from the file and appends it as a trailer; that same
// value goes into the resume state. If the SDK does not report it, the part
// is reread to compute it.
func (j *job) uploadPartTrailer(ctx context.Context, n int32, size int64) (resume.Part, error) {
	u := j.u
	body := &partReader{sec: j.section(n), n: n, ev: u.ev, lim: u.limiter, ctx: ctx}
	in := &s3.UploadPartInput{
		Bucket: aws.String(j.dest.Bucket), Key: aws.String(j.dest.Key), UploadId: aws.String(j.st.UploadID),
		PartNumber: aws.Int32(n), Body: body, ContentLength: aws.Int64(size), ChecksumAlgorithm: j.alg.sdk(),
	}
	out, err := u.client.UploadPart(ctx, in, withErrorBodyCheck())
	if err != nil {
		body.withdraw()
		return resume.Part{}, &UploadError{Op: fmt.Sprintf("upload part %d", n), Err: err}
	}
	etag := aws.ToString(out.ETag)
	if etag == "" {
		return resume.Part{}, &UploadError{Op: fmt.Sprintf("upload part %d", n),
			Err: fmt.Errorf("%w: server answered without an ETag", ErrTransient)}
	}
	var local string
	if m, ok := s3.GetComputedInputChecksumsMetadata(out.ResultMetadata); ok {
		local = m.ComputedChecksums[string(j.alg.sdk())]
	}
	if local == "" {
		sums, read, err := hashPart(j.section(n), sumRequest{alg: j.alg})
		if err != nil || read != size {
			return resume.Part{}, &UploadError{Op: fmt.Sprintf("read part %d", n), Err: fmt.Errorf("%w: %s: %v", ErrTransient, j.res.Source, errOrShort(err))}
		}
		local = sums.Checksum
	}
	if got := uploadPartChecksum(out, j.alg); got != "" && got != local {
		return resume.Part{}, &UploadError{Op: fmt.Sprintf("upload part %d", n),
			Err: fmt.Errorf("%w: server stored checksum %s, local bytes have %s", ErrTransient, got, local)}
	}
	return resume.Part{Number: n, Size: size, ETag: etag, Checksum: local}, nil
}

// withPayloadHash makes the SigV4 signer use a precomputed payload hash
// (or UNSIGNED-PAYLOAD) instead of reading the body once more to hash it.
// The value must be set inside the operation's stack: stack values set on
// the caller's context are cleared when the operation starts.
func withPayloadHash(hash string) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Finalize.Insert(middleware.FinalizeMiddlewareFunc("s3upPayloadHash",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					return next.HandleFinalize(v4.SetPayloadHash(ctx, hash), in)
				}), "ComputePayloadHash", middleware.Before)
		})
	}
}

func setPartChecksum(in *s3.UploadPartInput, a ChecksumAlgorithm, s partSums) {
	switch a {
	case ChecksumCRC32C:
		in.ChecksumCRC32C = aws.String(s.Checksum)
	case ChecksumCRC32:
		in.ChecksumCRC32 = aws.String(s.Checksum)
	case ChecksumCRC64NVME:
		in.ChecksumCRC64NVME = aws.String(s.Checksum)
	case ChecksumSHA256:
		in.ChecksumSHA256 = aws.String(s.Checksum)
	case ChecksumSHA1:
		in.ChecksumSHA1 = aws.String(s.Checksum)
	case ChecksumMD5:
		in.ContentMD5 = aws.String(base64.StdEncoding.EncodeToString(s.MD5))
	}
	if a.flexible() {
		in.ChecksumAlgorithm = a.sdk()
	}
}

func uploadPartChecksum(out *s3.UploadPartOutput, a ChecksumAlgorithm) string {
	switch a {
	case ChecksumCRC32C:
		return aws.ToString(out.ChecksumCRC32C)
	case ChecksumCRC32:
		return aws.ToString(out.ChecksumCRC32)
	case ChecksumCRC64NVME:
		return aws.ToString(out.ChecksumCRC64NVME)
	case ChecksumSHA256:
		return aws.ToString(out.ChecksumSHA256)
	case ChecksumSHA1:
		return aws.ToString(out.ChecksumSHA1)
	}
	return ""
}

func setCompletedChecksum(p *types.CompletedPart, a ChecksumAlgorithm, sum string) {
	if sum == "" {
		return
	}
	switch a {
	case ChecksumCRC32C:
		p.ChecksumCRC32C = aws.String(sum)
	case ChecksumCRC32:
		p.ChecksumCRC32 = aws.String(sum)
	case ChecksumCRC64NVME:
		p.ChecksumCRC64NVME = aws.String(sum)
	case ChecksumSHA256:
		p.ChecksumSHA256 = aws.String(sum)
	case ChecksumSHA1:
		p.ChecksumSHA1 = aws.String(sum)
	}
}

// partReader is a part's request body: a section of the file that reports
// progress and honours the bandwidth limit. Seeking back (an SDK retry)
// reports the rewound bytes as negative progress.
type partReader struct {
	sec      *io.SectionReader
	n        int32
	ev       *emitter
	lim      *rate.Limiter
	ctx      context.Context
	pos      int64 // current offset within the part
	reported int64 // bytes reported as progress so far
}

func (r *partReader) Read(p []byte) (int, error) {
	if r.lim != nil && len(p) > bwBurst {
		p = p[:bwBurst]
	}
	n, err := r.sec.Read(p)
	if n > 0 && r.lim != nil {
		if werr := r.lim.WaitN(r.ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	r.pos += int64(n)
	if r.pos > r.reported {
		r.ev.emit(Progress{Number: r.n, Delta: r.pos - r.reported})
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
		r.ev.emit(Progress{Number: r.n, Delta: pos - r.reported})
		r.reported = pos
	}
	return pos, nil
}

// withdraw takes back the progress of a part that failed, so totals count
// only acknowledged bytes plus bytes in flight.
func (r *partReader) withdraw() {
	if r.reported != 0 {
		r.ev.emit(Progress{Number: r.n, Delta: -r.reported})
		r.reported = 0
	}
}
