package s3up

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/store"
)

// complete finishes the upload from the reconciled and sent parts, then
// verifies the object.
func (s *session) complete(ctx context.Context) error {
	fail := func(kind error, format string, args ...any) error {
		return store.WithKind(kind, &UploadError{Op: "complete", UploadID: s.uploadID, StatePath: s.sc.Path(), Err: fmt.Errorf(format, args...)})
	}
	parts := s.partsSorted()
	var total int64
	for i, p := range parts {
		if p.Number != int32(i+1) {
			return fail(ErrTransient, "part %d is missing", i+1)
		}
		total += p.Size
	}
	if int32(len(parts)) != s.plan.Count || total != s.id.Size {
		return fail(ErrTransient, "parts cover %d of %d bytes", total, s.id.Size)
	}
	// Never complete an object from a source that changed under us.
	if err := s.src.Check(); err != nil {
		if errors.Is(err, ErrStreamFailed) {
			return s.streamFailed(ctx, err)
		}
		return fail(ErrTransient, "%v; rerun to upload it as it is now", err)
	}
	completed := make([]types.CompletedPart, len(parts))
	for i, p := range parts {
		completed[i] = types.CompletedPart{PartNumber: aws.Int32(p.Number), ETag: aws.String(p.ETag)}
		checksum.OfCompletedPart(&completed[i]).Set(s.w.alg, p.Checksum)
	}
	in := &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(s.dest.Bucket), Key: aws.String(s.dest.Key), UploadId: aws.String(s.uploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed},
	}
	if s.w.alg.Type() == types.ChecksumTypeFullObject {
		sums, sizes, _ := localSums(parts, s.w.alg, s.w.alg)
		want, err := checksum.Object(s.w.alg, types.ChecksumTypeFullObject, sums, sizes)
		if err != nil {
			return store.WithKind(ErrState, &UploadError{Op: "complete", UploadID: s.uploadID, StatePath: s.sc.Path(), Err: err})
		}
		in.ChecksumType = types.ChecksumTypeFullObject
		checksum.OfComplete(in).Set(s.w.alg, want)
	}
	out, err := s.client().CompleteMultipartUpload(ctx, in, s.u.client.LongWait()...)
	if err != nil {
		return s.completeFailed(ctx, err, parts)
	}
	s.res.ETag, s.res.VersionID = aws.ToString(out.ETag), aws.ToString(out.VersionId)
	s.ev.emit(Completed{ETag: s.res.ETag})
	if s.opts.Verify == VerifyOff {
		return nil
	}
	return s.verify(ctx, parts, out)
}

// completeFailed resolves a Complete whose outcome is unknown. The SDK
// retries Complete like any request: when the connection drops after the
// server completed the object, the retry answers NoSuchUpload although the
// object is whole. Whatever the error, if the object at the key is exactly
// these parts (size, and checksum or multipart ETag), the upload is done:
// the object is verified, and an upload id the server may still hold is
// aborted so the run leaves nothing behind. Otherwise the error stands and
// the state is kept.
func (s *session) completeFailed(ctx context.Context, cerr error, parts []resume.Part) error {
	if errors.Is(cerr, context.Canceled) {
		return s.interrupted(cerr)
	}
	head, herr := s.head(ctx, s.w.alg)
	if herr == nil && head != nil {
		c, err := s.confirm(ctx, parts, checkObject(head, parts, s.judging()))
		if err == nil && c.verified() {
			if gone, _ := store.UploadGone(cerr); !gone {
				s.abortOld(ctx, s.uploadID, "the object is complete, but Complete reported "+store.Describe(cerr))
			}
			s.ev.emit(Warning{Message: fmt.Sprintf("CompleteMultipartUpload answered %s, but the object is complete and matches (%s)", store.Describe(cerr), c.method())})
			s.res.ETag = head.etag
			if head.raw != nil {
				s.res.VersionID = aws.ToString(head.raw.VersionId)
			}
			s.ev.emit(Completed{ETag: head.etag})
			s.recordVerified(c)
			return nil
		}
	}
	return store.Classify(&UploadError{Op: "complete", UploadID: s.uploadID, StatePath: s.sc.Path(), Err: cerr})
}

// head asks for the object at the key, with its checksum of alg where the
// store shows one. A missing object is (nil, nil).
func (s *session) head(ctx context.Context, alg checksum.Algorithm) (*objectHead, error) {
	in := &s3.HeadObjectInput{Bucket: aws.String(s.dest.Bucket), Key: aws.String(s.dest.Key), ChecksumMode: types.ChecksumModeEnabled}
	if s.storeProfile().RefusesChecksums {
		in.ChecksumMode = "" // x-amz-checksum-mode is refused as well (B2)
	}
	out, err := s.client().HeadObject(ctx, in)
	if st := store.HTTPStatus(err); in.ChecksumMode != "" && (st == http.StatusBadRequest || st == http.StatusNotImplemented) {
		// A HEAD answer has no body to say why; asked again without
		// x-amz-checksum-mode, a store that refuses the header answers.
		in.ChecksumMode = ""
		if out2, err2 := s.client().HeadObject(ctx, in); err2 == nil || store.IsNotFound(err2) {
			s.learn("it refuses the x-amz-checksum-mode header ("+store.Describe(err)+"), so flexible checksums are not used", func(p *store.Profile) { p.RefusesChecksums = true })
			out, err = out2, err2
		}
	}
	if store.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, store.Classify(&UploadError{Op: "check object", UploadID: s.uploadID, Err: err})
	}
	h := &objectHead{size: aws.ToInt64(out.ContentLength), etag: aws.ToString(out.ETag), native: store.NativeOf(out.ResultMetadata), raw: out}
	h.showChecksums(checksum.OfHead(out), out.ChecksumType)
	return h, nil
}

// verify checks the completed object against what was computed from the
// bytes sent (checkObject, then confirm): every check the store's answers
// allow runs, and the result says which did. The parts were re-checked
// against the source before Complete, so a match proves the object is the
// source. An object that does not match is discarded, and the journal
// goes with it: its upload no longer exists.
func (s *session) verify(ctx context.Context, parts []resume.Part, out *s3.CompleteMultipartUploadOutput) error {
	head, err := s.head(ctx, s.w.alg)
	if err != nil {
		return err
	}
	if head == nil {
		return store.WithKind(ErrVerify, &UploadError{Op: "verify object", UploadID: s.uploadID,
			Err: fmt.Errorf("s3://%s/%s does not exist after CompleteMultipartUpload succeeded", s.dest.Bucket, s.dest.Key)})
	}
	if out != nil {
		head.showChecksums(checksum.OfCompleteOutput(out), out.ChecksumType)
		if head.etag == "" {
			head.etag = aws.ToString(out.ETag)
		}
		if head.native.CRC64Header == "" {
			if n := store.NativeOf(out.ResultMetadata); n.CRC64Header != "" {
				head.native.CRC64Header, head.native.CRC64 = n.CRC64Header, n.CRC64
			}
		}
	}
	c, err := s.confirm(ctx, parts, checkObject(head, parts, s.judging()))
	if err != nil {
		return err
	}
	return s.judge(ctx, head, c)
}

// judge records what a check of the object found: for a mismatch, the
// object is discarded and the journal removed (the next run uploads it
// again) and the error says so; else the checks that ran, with a warning
// when none went beyond the size.
func (s *session) judge(ctx context.Context, head *objectHead, c objectCheck) error {
	if c.mismatch != "" {
		fate := s.discard(ctx, head.etag, c.mismatch)
		if s.sc != nil {
			s.sc.Remove()
		}
		return store.WithKind(ErrVerify, &UploadError{Op: "verify object", UploadID: s.uploadID,
			Err: fmt.Errorf("s3://%s/%s does not match the source: %s; %s", s.dest.Bucket, s.dest.Key, c.mismatch, fate)})
	}
	s.warnDroppedOptions(head.raw)
	if !c.verified() {
		s.ev.emit(Warning{Message: fmt.Sprintf("only the size of s3://%s/%s was verified (%s)", s.dest.Bucket, s.dest.Key, strings.Join(c.notes, "; "))})
	}
	s.recordVerified(c)
	s.trusted()
	return nil
}

// recordVerified puts what the check found in the result and reports it.
func (s *session) recordVerified(c objectCheck) {
	v := &Verification{Checks: c.matched, NotChecked: c.notes, Content: c.verified(), ReadBack: c.readBack}
	s.res.Verified, s.res.Checksum, s.res.Checksums, s.res.Verification = c.method(), c.value, c.checksums(), v
	s.ev.emit(Verified{Method: c.method(), Value: c.value, NotChecked: c.notes, Content: v.Content, ReadBack: v.ReadBack})
}

// warnDroppedOptions warns when the object lacks an attribute the upload
// asked for. Some stores accept x-amz-server-side-encryption or
// x-amz-storage-class and silently ignore them (versitygw's posix backend
// stores SSE unencrypted; MinIO without storage-class configuration keeps
// REDUCED_REDUNDANCY objects as STANDARD): the bytes are right, so this is
// not a verification failure, but the user must know.
func (s *session) warnDroppedOptions(head *s3.HeadObjectOutput) {
	if head == nil {
		return
	}
	o := s.opts.Object
	if o.SSE != "" && !strings.EqualFold(string(head.ServerSideEncryption), o.SSE) {
		s.ev.emit(Warning{Message: fmt.Sprintf("server-side encryption %s was accepted, but the server reports the object's encryption as %q: it may be stored unencrypted",
			o.SSE, head.ServerSideEncryption)})
	}
	if o.RetentionMode != "" && !strings.EqualFold(string(head.ObjectLockMode), o.RetentionMode) {
		s.ev.emit(Warning{Message: fmt.Sprintf("Object Lock retention %s was accepted, but the server reports the object's retention as %q: it may not be protected by Object Lock",
			o.RetentionMode, head.ObjectLockMode)})
	}
	if o.LegalHold && head.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOn {
		s.ev.emit(Warning{Message: fmt.Sprintf("the Object Lock legal hold was accepted, but the server reports the object's legal hold as %q", head.ObjectLockLegalHoldStatus)})
	}
	// S3 omits x-amz-storage-class for STANDARD.
	if sc := o.StorageClass; sc != "" && !strings.EqualFold(sc, "STANDARD") && !strings.EqualFold(string(head.StorageClass), sc) {
		s.ev.emit(Warning{Message: fmt.Sprintf("storage class %s was accepted, but the server reports the object's storage class as %q",
			sc, firstNonEmpty(string(head.StorageClass), "STANDARD"))})
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
