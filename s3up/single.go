package s3up

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/store"
)

// threshold is the size from which a source goes as a multipart upload.
func (o Options) threshold() int64 {
	switch {
	case o.MultipartThreshold > 0:
		return o.MultipartThreshold
	case o.PartSize > 0:
		return o.PartSize
	}
	return DefaultPartSize
}

// putSingle stores a source smaller than one part with one PutObject that
// carries its checksum (or Content-MD5 where the store refuses checksums),
// then verifies the object. There is nothing to resume: an interrupted
// PutObject leaves nothing behind. A journal left by an interrupted
// multipart upload of the source when it was bigger is handled like any
// changed source: its upload is aborted and the journal removed. Without
// such a journal (the usual case) nothing is locked or written in the state
// directory: a tree of many small files costs no file system work per file.
func (s *session) putSingle(ctx context.Context) error {
	dir, err := s.useState()
	if err != nil {
		return err
	}
	if !exists(resume.SidecarPath(dir, s.id.Path, s.dest)) && !exists(resume.LegacySidecarPath(s.id.Path, s.dest)) {
		if same, err := s.skipUnchanged(ctx); same || err != nil {
			return err
		}
		return s.sendPlanned(ctx)
	}
	if _, err := s.lockState(ctx); err != nil {
		return err
	}
	d, err := s.decide(ctx)
	if err != nil {
		s.release()
		return err
	}
	if d.next == stepRefuse {
		s.release()
		return d.err
	}
	if d.warn != "" {
		s.ev.emit(Warning{Message: d.warn, Hint: d.hint})
	}
	if d.abort != "" {
		s.abortOld(ctx, d.abort, d.reason)
	}
	if err := s.sc.Remove(); err != nil {
		s.ev.emit(Warning{Message: fmt.Sprintf("the old resume state %s could not be removed: %v", s.sc.Path(), err)})
	}
	return s.sendPlanned(ctx)
}

// sendPlanned plans the source as one part and sends it.
func (s *session) sendPlanned(ctx context.Context) error {
	size := s.id.Size
	s.plan = Plan{Size: size, PartSize: size, Count: 1, LastPartSize: size}
	s.data = fileParts{src: s.ra, plan: s.plan}
	s.ev.emit(Planned{Source: s.res.Source, Bucket: s.dest.Bucket, Key: s.dest.Key, Size: size, PartSize: size, Parts: 1})
	return s.sendSingle(ctx, size)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// sendSingle sends the source's size bytes (s.data's part 1) in one
// PutObject and verifies the object.
func (s *session) sendSingle(ctx context.Context, size int64) error {
	s.ev.plan(size, 1, 0, 0)
	s.res.Parts, s.res.PartSize, s.res.Size = 1, size, size
	s.w = newWire(s.opts, s.method(), s.u.client.Info.TLS)
	if s.opts.windowEnded() {
		return s.windowStopped()
	}
	// Like a part: cut at the window in its hard mode, never retried after it.
	pctx, cancel := s.opts.Window.CutoffContext(s.opts.withWindow(ctx))
	defer cancel()
	p, md5, out, err := s.putObject(pctx)
	if err != nil && s.opts.windowEnded() && (errors.Is(err, context.Canceled) || errors.Is(err, ErrWindowEnded)) {
		return s.windowStopped()
	}
	if err != nil && s.w.alg.Flexible() && refusesChecksums(err) {
		// Learned only if Content-MD5 goes through: a wrong secret answers
		// SignatureDoesNotMatch too, and then fails again.
		s.w = newWire(s.opts, checksum.MD5, s.u.client.Info.TLS)
		first := err
		if p, md5, out, err = s.putObject(pctx); err == nil {
			s.learn(refusedChecksumWhy(first), func(pr *store.Profile) { pr.RefusesChecksums = true })
		}
	}
	if err != nil {
		return store.Classify(&UploadError{Op: "put object", Err: err})
	}
	s.res.ETag, s.res.VersionID, s.res.PartsSent, s.res.BytesSent = p.ETag, aws.ToString(out.VersionId), 1, size
	s.ev.partDone(PartDone{Number: 1, Size: size, ETag: p.ETag})
	s.ev.emit(Completed{ETag: p.ETag})
	if err := s.src.Check(); err != nil {
		// The object holds the bytes read, but the source changed meanwhile:
		// say so; a rerun uploads it as it is now.
		return store.WithKind(ErrTransient, &UploadError{Op: "put object", Err: fmt.Errorf("%w; rerun to upload it as it is now", err)})
	}
	if s.opts.Verify == VerifyOff {
		return nil
	}
	j := s.judging()
	if s.inTree && !s.opts.Object.checkedByHead() {
		if c := checkAnswer(out, p, md5, j); c.verified() {
			s.recordVerified(c)
			s.trusted()
			return nil
		}
	}
	head, err := s.head(ctx, s.w.alg)
	if err != nil {
		return err
	}
	if head == nil {
		return store.WithKind(ErrVerify, &UploadError{Op: "verify object", Err: fmt.Errorf("s3://%s/%s does not exist after PutObject succeeded", s.dest.Bucket, s.dest.Key)})
	}
	head.showChecksums(checksum.OfPutObjectOutput(out), "")
	c, err := s.confirm(ctx, []resume.Part{p}, checkSingle(head, p, md5, j))
	if err != nil {
		return err
	}
	return s.judge(ctx, head, c)
}

// checkAnswer compares PutObject's answer with the part the source is:
// the checksum the store computed of the bytes it stored, its ETag where
// that is their MD5, its own CRC-64. A tree verifies its small files so,
// one request each instead of two; where the answer proves nothing beyond
// the size (a store that shows no checksum and has opaque ETags) the
// object is looked at (HeadObject) as for a single file.
func checkAnswer(out *s3.PutObjectOutput, p resume.Part, md5 []byte, j judging) objectCheck {
	head := &objectHead{size: p.Size, etag: aws.ToString(out.ETag), native: store.NativeOf(out.ResultMetadata)}
	head.showChecksums(checksum.OfPutObjectOutput(out), "")
	c := checkSingle(head, p, md5, j)
	if len(c.matched) > 0 && c.matched[0].Kind == CheckSize {
		// The size is the one sent; the checksums are what prove the bytes.
		c.matched[0].Label = "PutObject's answer"
	}
	return c
}

// putObject sends the whole source in one PutObject and returns it as the
// single part it is, with every local digest the checks after need, and its
// MD5. An answer that shows the stored bytes are not the ones sent leaves a
// damaged object, which is discarded.
func (s *session) putObject(ctx context.Context) (resume.Part, []byte, *s3.PutObjectOutput, error) {
	if err := s.u.acquire(ctx); err != nil {
		return resume.Part{}, nil, nil, err
	}
	defer s.u.release()
	size := s.id.Size
	req := s.partRequest()
	req.MD5, req.CRC32C = true, true
	sums, err := s.data.sums(ctx, 1, req)
	if err != nil {
		return resume.Part{}, nil, nil, store.WithKind(ErrTransient, fmt.Errorf("read %s: %w", s.res.Source, err))
	}
	body := s.body(ctx, 1, size)
	in := &s3.PutObjectInput{Bucket: aws.String(s.dest.Bucket), Key: aws.String(s.dest.Key), Body: body, ContentLength: aws.Int64(size)}
	s.opts.Object.applyPut(in, s.typeName, s.meta)
	if s.w.alg.Flexible() {
		checksum.OfPutObject(in).Set(s.w.alg, sums.Checksum)
		in.ChecksumAlgorithm = s.w.alg.SDK()
	}
	if !s.w.alg.Flexible() || s.md5First() {
		// Content-MD5 on every PutObject without a flexible checksum:
		// buckets with Object Lock require it (or a checksum), and it costs
		// nothing at this size; and where the store does not show the
		// checksum, it is what the store checks.
		in.ContentMD5 = aws.String(base64.StdEncoding.EncodeToString(sums.MD5))
	}
	payloadHash := "UNSIGNED-PAYLOAD"
	if s.w.signPayload() {
		payloadHash = sums.SHA256
	}
	opts := []func(*s3.Options){store.WithPayloadHash(payloadHash)}
	if req.CRC64ECMA {
		opts = append(opts, store.WithNativeCRC64Check(1, sums.CRC64ECMA))
	}
	if s.etagCheck() {
		opts = append(opts, store.WithETagCheck(1, sums.MD5))
	}
	if want := s.answerChecks(req, sums); len(want) > 0 {
		opts = append(opts, store.WithAnswerChecksumCheck(1, want))
	}
	out, err := s.client().PutObject(ctx, in, opts...)
	if err != nil {
		body.withdraw()
		return resume.Part{}, nil, nil, err
	}
	p := resume.Part{Number: 1, Size: size, ETag: aws.ToString(out.ETag), Checksum: sums.Checksum,
		Digest: digestOf(digestAlg, sums.CRC32C)}
	s.recordSums(&p, req, sums)
	if err := s.acknowledged(ctx, &p, checksum.OfPutObjectOutput(out), out.ResultMetadata); err != nil {
		body.withdraw()
		return resume.Part{}, nil, nil, fmt.Errorf("%w; %s", err, s.discard(ctx, p.ETag, err.Error()))
	}
	return p, sums.MD5, out, nil
}
