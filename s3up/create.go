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

// ensureUpload creates the multipart upload and its journal, unless the run
// has one: called before the first part is sent, so a stream that fits in
// one part, or a resume that sends nothing, creates none.
func (s *session) ensureUpload(ctx context.Context) error {
	if s.uploadID != "" {
		return nil
	}
	return s.create(ctx)
}

// create starts a new multipart upload and its journal. A store that
// refuses a flexible checksum refuses an upload that declares one (B2:
// "Unsupported header 'x-amz-checksum-algorithm'"; R2 before 2025: 501
// NotImplemented): whatever the wording, if the same upload without the
// checksum is accepted, the checksum was the reason, and parts carry
// Content-MD5 instead.
func (s *session) create(ctx context.Context) error {
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(s.dest.Bucket), Key: aws.String(s.dest.Key)}
	s.opts.Object.applyCreate(in, s.typeName, s.meta)
	if s.w.alg.Flexible() {
		in.ChecksumAlgorithm = s.w.alg.SDK()
		in.ChecksumType = s.w.alg.Type()
	}
	id, err := s.createUpload(ctx, in)
	if err != nil && s.w.alg.Flexible() && errors.Is(err, ErrBadInput) {
		in.ChecksumAlgorithm, in.ChecksumType = "", ""
		if id2, err2 := s.createUpload(ctx, in); err2 == nil {
			s.learn(refusedChecksumWhy(err), func(p *store.Profile) { p.RefusesChecksums = true })
			s.w = newWire(s.opts, checksum.MD5, s.u.client.Info.TLS)
			id, err = id2, nil
		}
	}
	if err != nil {
		return err
	}
	h := resume.Header{
		Version: resume.FormatVersion, UploadID: id, Destination: s.dest, Source: s.id,
		PartSize: s.plan.PartSize, PartCount: s.plan.Count, Stream: s.data.inMemory(), ChecksumAlgorithm: string(s.w.alg),
		ObjectOptions: s.opts.Object.Record(), CreatedAt: time.Now().UTC(),
	}
	if s.sealed != nil {
		h.Sealed = s.sealed.key.ExportSecret()
		h.WriteAhead = s.sealed.stream != nil
	}
	err = s.sc.Create(h)
	if err == nil {
		err = s.carryWriteAhead()
	}
	if err != nil {
		// Without state the upload could never be resumed; abort it.
		s.abortOld(ctx, id, "resume state could not be written")
		return fmt.Errorf("%w: write resume state %s: %w", ErrState, s.sc.Path(), err)
	}
	if dir, _, err := s.u.state(); err == nil {
		s.u.noteJournal(dir, s.dest, s.sc.Path())
	}
	s.uploadID, s.res.UploadID = id, id
	s.ev.emit(Started{UploadID: id, Reason: s.reason})
	s.reason = ""
	return nil
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
			s.ev.emit(Warning{Message: fmt.Sprintf("could not abort upload %s, created by an attempt whose answer was lost (%s); a gc of forgotten uploads can remove it", u.UploadID, store.Describe(err))})
			continue
		}
		s.ev.emit(Warning{Message: fmt.Sprintf("aborted upload %s, created by an attempt whose answer was lost", u.UploadID)})
	}
}
