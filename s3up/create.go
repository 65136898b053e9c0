package s3up

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/store"
)

// create starts a new multipart upload and its journal, and returns every
// part number to send.
func (s *session) create(ctx context.Context, d decision) ([]int32, error) {
	plan, err := PlanParts(s.id.Size, s.opts.PartSize, s.opts.PartSizeExplicit)
	if err != nil {
		return nil, err
	}
	s.plan = plan
	s.data = fileParts{src: s.ra, plan: plan}
	s.w = newWire(s.opts, s.method(), s.u.client.Info.TLS, plan.PartSize)
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(s.dest.Bucket), Key: aws.String(s.dest.Key)}
	s.opts.Object.applyCreate(in, s.res.Source, s.meta)
	if s.w.alg.Flexible() {
		in.ChecksumAlgorithm = s.w.alg.SDK()
		in.ChecksumType = s.w.alg.Type()
	}
	id, err := s.createUpload(ctx, in)
	if err != nil && s.w.alg.Flexible() && errors.Is(err, ErrBadInput) {
		// A store that refuses flexible checksums refuses an upload that
		// declares one (B2: "Unsupported header 'x-amz-checksum-algorithm'";
		// R2 before 2025: 501 NotImplemented). Whatever the wording: if the
		// same upload without the checksum is accepted, the checksum was
		// the reason, and parts carry Content-MD5 instead.
		in.ChecksumAlgorithm, in.ChecksumType = "", ""
		if id2, err2 := s.createUpload(ctx, in); err2 == nil {
			s.learn(refusedChecksumWhy(err), func(p *store.Profile) { p.RefusesChecksums = true })
			s.w = newWire(s.opts, checksum.MD5, s.u.client.Info.TLS, plan.PartSize)
			id, err = id2, nil
		}
	}
	if err != nil {
		return nil, err
	}
	h := resume.Header{
		Version: resume.FormatVersion, UploadID: id, Destination: s.dest, Source: s.id,
		PartSize: plan.PartSize, PartCount: plan.Count, ChecksumAlgorithm: string(s.w.alg),
		ObjectOptions: s.opts.Object.Record(), CreatedAt: time.Now().UTC(),
	}
	if err := s.sc.Create(h); err != nil {
		// Without state the upload could never be resumed; abort it.
		s.abortOld(ctx, id, "resume state could not be written")
		return nil, fmt.Errorf("%w: write resume state %s: %w", ErrState, s.sc.Path(), err)
	}
	s.uploadID = id
	s.parts = map[int32]resume.Part{}
	s.ev.plan(s.id.Size, plan.Count, 0, 0)
	s.ev.emit(Started{UploadID: id, Reason: d.reason})
	send := make([]int32, plan.Count)
	for i := range send {
		send[i] = int32(i + 1)
	}
	return send, nil
}

// createUpload calls CreateMultipartUpload and leaves no upload of its own
// behind when an answer was lost. A Create whose answer is lost is retried
// by the SDK and succeeds a second time: the first upload then exists on the
// server, unknown to anyone, and its parts (none yet) and the upload itself
// cost storage until a gc. So the key's uploads are listed first, and when
// the Create took more than one attempt (or the attempts are unknown) or
// failed with an unknown outcome, every upload that appeared meanwhile and
// is not the one returned is aborted.
func (s *session) createUpload(ctx context.Context, in *s3.CreateMultipartUploadInput) (string, error) {
	before, snapErr := store.KeyUploads(ctx, s.client(), s.dest.Bucket, s.dest.Key)
	out, err := s.client().CreateMultipartUpload(ctx, in)
	attempts := 0
	if out != nil {
		if ar, ok := retry.GetAttemptResults(out.ResultMetadata); ok {
			attempts = len(ar.Results)
		}
	}
	id := ""
	if err == nil {
		id = aws.ToString(out.UploadId)
	}
	if snapErr == nil && (err != nil || attempts != 1) {
		s.abortStrays(ctx, before, id)
	}
	if err != nil {
		return "", store.Classify(&UploadError{Op: "create multipart upload", Err: err})
	}
	if id == "" {
		return "", store.WithKind(ErrTransient, &UploadError{Op: "create multipart upload", Err: fmt.Errorf("the server answered without an upload id")})
	}
	return id, nil
}

// abortStrays aborts the uploads of the key that are not in before and are
// not keep: uploads this run's Create made on attempts whose answer was lost.
func (s *session) abortStrays(ctx context.Context, before []store.Upload, keep string) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	after, err := store.KeyUploads(actx, s.client(), s.dest.Bucket, s.dest.Key)
	if err != nil {
		return
	}
	for _, u := range after {
		if u.UploadID == keep || slices.ContainsFunc(before, func(b store.Upload) bool { return b.UploadID == u.UploadID }) {
			continue
		}
		if _, err := store.Abort(actx, s.client(), s.dest.Bucket, s.dest.Key, u.UploadID); err != nil {
			s.ev.emit(Warning{Message: fmt.Sprintf("could not abort upload %s, created by an attempt whose answer was lost (%s); `s3up gc` can remove it", u.UploadID, store.Describe(err))})
			continue
		}
		s.ev.emit(Warning{Message: fmt.Sprintf("aborted upload %s, created by an attempt whose answer was lost", u.UploadID)})
	}
}
