package s3up

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/store"
)

// When nothing the store reports proves an object (no checksum shown, ETags
// that are not MD5s, no CRC-64 of its own), the object is read back and
// each part's range hashed and compared with what was computed from the
// source: one GET of the whole object, learned per store and said once.
// An object that fails verification is deleted, or, where that is refused,
// put on the state directory's distrust list, so that no later run takes
// it for the source and skips it.

// judging returns what the checks need to know of this upload.
func (s *session) judging() judging {
	return judging{wire: s.w.alg, etagsProve: s.storeProfile().ETagsProve() && !s.w.kmsETags}
}

// confirm completes a check of the object that proved nothing beyond its
// size by reading the object back, unless the options say not to.
func (s *session) confirm(ctx context.Context, parts []resume.Part, c objectCheck) (objectCheck, error) {
	if c.mismatch != "" || c.verified() || s.opts.Verify == VerifySize {
		return c, nil
	}
	if p := s.storeProfile(); p.ReadsBack {
		s.ev.emit(Notice{Message: fmt.Sprintf("verifying s3://%s/%s by reading it back: this store reports nothing that proves an object's bytes (learned %s)",
			s.dest.Bucket, s.dest.Key, p.Learned.Format("2006-01-02"))})
	} else {
		s.learn("nothing it reports proves an object's bytes (no checksum shown, ETags not MD5s); every object is verified by reading it back, one GET of the whole object",
			func(p *store.Profile) { p.ReadsBack = true })
	}
	rb, err := s.readBack(ctx, parts)
	if err != nil {
		return c, err
	}
	c.readBack = true
	if rb.mismatch != "" {
		c.mismatch = rb.mismatch
		return c, nil
	}
	c.match(rb.matched[0])
	if !s.w.kmsETags && !s.storeProfile().OpaqueETags {
		if md5s, plain := serverMD5s(parts); plain {
			for i, p := range parts {
				if l := localMD5(p, s.w.alg); l != nil && string(l) != string(md5s[i]) {
					s.learnQuiet(func(p *store.Profile) { p.OpaqueETags = true })
					break
				}
			}
		}
	}
	return c, nil
}

// readBack reads the object and compares every part's range with the
// part's local digest.
func (s *session) readBack(ctx context.Context, parts []resume.Part) (objectCheck, error) {
	var c objectCheck
	out, err := s.client().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.dest.Bucket), Key: aws.String(s.dest.Key)})
	if err != nil {
		return c, store.Classify(&UploadError{Op: "read the object back", UploadID: s.uploadID, StatePath: s.sc.Path(), Err: err})
	}
	defer out.Body.Close()
	var read int64
	algs := map[checksum.Algorithm]bool{}
	for _, p := range parts {
		alg, want := s.partDigest(ctx, p)
		if want == "" {
			return c, store.WithKind(ErrTransient, &UploadError{Op: "read the object back", UploadID: s.uploadID, StatePath: s.sc.Path(),
				Err: fmt.Errorf("no local digest of part %d to compare with", p.Number)})
		}
		sums, n, err := checksum.Hash(io.LimitReader(out.Body, p.Size), checksum.Request{Alg: alg})
		read += n
		s.res.BytesReadBack = read
		if err != nil {
			return c, store.Classify(&UploadError{Op: "read the object back", UploadID: s.uploadID, StatePath: s.sc.Path(), Err: err})
		}
		if n != p.Size || sums.Checksum != want {
			c.mismatch = fmt.Sprintf("read back, part %d of the object (bytes %d-%d) is not the bytes sent (its %s is %s, theirs %s)",
				p.Number, read-n, read-n+p.Size-1, alg.Label(), sums.Checksum, want)
			return c, nil
		}
		algs[alg] = true
	}
	if n, _ := io.Copy(io.Discard, io.LimitReader(out.Body, 1)); n != 0 {
		c.mismatch = "read back, the object is longer than the bytes sent"
		return c, nil
	}
	names, first := "", checksum.Algorithm("")
	for _, a := range checksum.All {
		if algs[a] {
			if names != "" {
				names += "/"
			} else {
				first = a
			}
			names += a.Label()
		}
	}
	c.match(Check{Kind: CheckReadBack, Algorithm: first, Label: "read back (" + names + " of every part)"})
	return c, nil
}

// partDigest returns a digest of part p as sent, to compare with its bytes
// read back: a cheap one where the journal has several; computed from the
// source when it has none (a part kept with TrustJournal).
func (s *session) partDigest(ctx context.Context, p resume.Part) (checksum.Algorithm, string) {
	for _, a := range []checksum.Algorithm{checksum.CRC32C, checksum.CRC32, checksum.CRC64NVME, checksum.SHA1, checksum.SHA256, checksum.MD5} {
		if v := localSum(p, s.w.alg, a); v != "" {
			return a, v
		}
	}
	if s.ra == nil {
		return "", ""
	}
	sums, err := s.data.sums(ctx, p.Number, checksum.Request{Alg: checksum.CRC32C})
	if err != nil {
		return "", ""
	}
	return checksum.CRC32C, sums.Checksum
}

// discard removes an object that failed verification, so that no later run
// trusts it: it is deleted, or, when that is refused, put on the distrust
// list. It returns what became of it, for the error message.
func (s *session) discard(ctx context.Context, etag, why string) string {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, err := s.client().DeleteObject(dctx, &s3.DeleteObjectInput{Bucket: aws.String(s.dest.Bucket), Key: aws.String(s.dest.Key)})
	if err == nil {
		return "it was deleted"
	}
	rec := resume.DistrustRecord{Endpoint: s.dest.Endpoint, Bucket: s.dest.Bucket, Key: s.dest.Key, ETag: etag, Why: why, At: time.Now().UTC()}
	if derr := s.u.distrust().Add(rec); derr != nil {
		return fmt.Sprintf("it could not be deleted (%s) nor marked as untrusted (%v): delete it before the next run", store.Describe(err), derr)
	}
	return fmt.Sprintf("it could not be deleted (%s) and is marked as untrusted: the next run uploads it again", store.Describe(err))
}

// untrusted reports why the object at the destination with that ETag must
// not be trusted ("" if it may be).
func (s *session) untrusted(etag string) string {
	if why, ok := s.u.distrust().Distrusted(s.dest, etag); ok {
		return why
	}
	return ""
}

// trusted forgets an earlier distrust of the destination: it now holds a
// verified object.
func (s *session) trusted() {
	if err := s.u.distrust().Clear(s.dest); err != nil && !errors.Is(err, context.Canceled) {
		s.ev.emit(Warning{Message: fmt.Sprintf("could not update the distrust list: %v", err)})
	}
}
