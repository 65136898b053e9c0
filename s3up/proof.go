package s3up

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/aws/smithy-go/middleware"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/store"
)

// What proves a part as it is acknowledged. A part is proven when a value
// the store reports of the bytes it stored equals the one s3up computed of
// the bytes it sent: the checksum the store shows (of the part's algorithm,
// or of the one the store computes whatever it is asked), the store's own
// CRC-64, or its ETag where the store's ETags are MD5s. Where the store
// shows no checksum, each part's MD5 is computed in the read that hashes it
// anyway and sent as Content-MD5, which stores check; whether the store's
// ETags are MD5s is learned from the first part whose ETag is its MD5. A
// part that nothing proves when it is acknowledged is noted: once the
// store's ETags are known to be MD5s, a file's part whose ETag is not its
// MD5 is sent again before Complete, and an object with a part nothing
// proved is verified by reading it back.

// partRequest is the hashing pass a part needs before it is sent: the
// wire's (checksum, payload hash), the store's CRC-64 once it is known to
// report one, the store's own checksum algorithm, and the MD5 where it is
// needed before the send (md5First).
func (s *session) partRequest() checksum.Request {
	req := s.w.request()
	req.CRC64ECMA = s.nativeCRC64.Load()
	p := s.storeProfile()
	if own := checksum.Algorithm(p.OwnChecksum); own.Flexible() && own != s.w.alg {
		req.Extra = own
	}
	if s.md5First() {
		req.MD5 = true
	}
	return req
}

// md5First reports whether a part's MD5 is computed before it is sent: to
// send it as Content-MD5 where the store shows no checksum, and so that the
// SDK sends a part again when its ETag shows it was damaged (etagCheck).
func (s *session) md5First() bool {
	if s.w.kmsETags || s.w.alg == checksum.MD5 {
		return false
	}
	p := s.storeProfile()
	return p.HidesChecksums || s.w.checkETags() && !p.OpaqueETags
}

// etagCheck reports whether a part whose ETag is not the MD5 of its bytes
// fails at once (and is retried by the SDK): the store's ETags are known to
// be MD5s, or the part carries nothing else that could prove it (no
// checksum, an unsigned payload over plain HTTP).
func (s *session) etagCheck() bool {
	if s.w.kmsETags {
		return false
	}
	p := s.storeProfile()
	return p.ETagsProve() || s.w.checkETags() && !p.OpaqueETags
}

// contentMD5 is the Content-MD5 header of a part whose sums hold its MD5
// ("" when it has none, or the MD5 is its checksum and sent as such).
func (s *session) contentMD5(sums checksum.Sums) string {
	if sums.MD5 == nil || s.w.alg == checksum.MD5 {
		return ""
	}
	return base64.StdEncoding.EncodeToString(sums.MD5)
}

// recordSums puts the digests a send computed that the journal keeps
// besides the checksum into p.
func (s *session) recordSums(p *resume.Part, req checksum.Request, sums checksum.Sums) {
	if sums.MD5 != nil && s.w.alg != checksum.MD5 {
		p.Digest = addDigest(p.Digest, checksum.MD5, base64.StdEncoding.EncodeToString(sums.MD5))
	}
	if req.Extra.Flexible() && sums.Extra != "" {
		p.Digest = addDigest(p.Digest, req.Extra, sums.Extra)
	}
	if req.CRC64ECMA {
		p.CRC64ECMA = strconv.FormatUint(sums.CRC64ECMA, 10)
	}
}

// acknowledged checks a part's answer and learns what it tells about the
// store: an ETag; a checksum shown equal to the local one (of the part's
// algorithm, or of the one the store computes); the store's native CRC-64
// equal to the local one; the ETag against the part's MD5 (checkETag).
// Digests it needs and the part lacks are computed from the part's bytes
// (read again from a file, or from a stream's buffer).
func (s *session) acknowledged(ctx context.Context, p *resume.Part, shown checksum.Fields, md middleware.Metadata) error {
	if p.ETag == "" {
		return store.WithKind(ErrTransient, errors.New("server answered without an ETag"))
	}
	alg := s.w.alg
	proven := false
	if v := shown.Get(alg); v != "" && p.Checksum != "" {
		if v != p.Checksum {
			return store.ChecksumMismatch(p.Number, alg.Header(), v, p.Checksum)
		}
		proven = true
	}
	if other, v := shown.Any(); !proven && other != "" && other != alg {
		// The store computed another algorithm than the one asked for (a
		// CRC32 for a CRC32C): compare ours of that algorithm.
		local := localSum(*p, alg, other)
		if local == "" {
			sums, err := s.data.sums(ctx, p.Number, checksum.Request{Alg: other})
			if err != nil {
				return store.WithKind(ErrTransient, fmt.Errorf("read part %d again: %w", p.Number, err))
			}
			local = sums.Checksum
			p.Digest = addDigest(p.Digest, other, local)
		}
		if local != v {
			return store.ChecksumMismatch(p.Number, other.Header(), v, local)
		}
		proven = true
		if alg.Flexible() && s.storeProfile().OwnChecksum != string(other) {
			s.learn(fmt.Sprintf("it computes %s of every part, whatever checksum it is asked for (%s was); parts carry %s", other.Label(), alg.Label(), other.Label()),
				func(pr *store.Profile) { pr.OwnChecksum = string(other) })
		}
	} else if !proven && alg.Flexible() && !s.storeProfile().HidesChecksums {
		s.learn("it accepts S3 flexible checksums but does not show them in its answers; parts carry Content-MD5 too, and their ETags are compared with it",
			func(pr *store.Profile) { pr.HidesChecksums = true })
	}
	if nat := store.NativeOf(md); nat.CRC64Header != "" {
		if !s.nativeCRC64.Swap(true) {
			s.learn(fmt.Sprintf("it reports a CRC-64/ECMA of every part and object (%s), which s3up compares with its own", nat.CRC64Header),
				func(pr *store.Profile) { pr.NativeCRC64 = nat.CRC64Header })
		}
		if p.CRC64ECMA == "" {
			// Sent before the store's CRC-64 was known: read the part again.
			sums, err := s.data.sums(ctx, p.Number, checksum.Request{CRC64ECMA: true})
			if err != nil {
				return store.WithKind(ErrTransient, fmt.Errorf("read part %d again: %w", p.Number, err))
			}
			p.CRC64ECMA = strconv.FormatUint(sums.CRC64ECMA, 10)
		}
		if want := strconv.FormatUint(nat.CRC64, 10); want != p.CRC64ECMA {
			local, _ := strconv.ParseUint(p.CRC64ECMA, 10, 64)
			return store.CRC64Mismatch(p.Number, nat.CRC64Header, nat.CRC64, local)
		}
		proven = true
	}
	if s.w.kmsETags {
		return nil // SSE-KMS ETags are not MD5s, and prove nothing either way
	}
	return s.checkETag(ctx, p, proven)
}

// checkETag compares a part's ETag with the MD5 of its bytes and learns
// whether the store's ETags are MD5s. proven says whether another check
// proved the part already; then the MD5 is not spent on it, unless it was
// computed anyway.
func (s *session) checkETag(ctx context.Context, p *resume.Part, proven bool) error {
	prof := s.storeProfile()
	m, isMD5 := checksum.ETagMD5(p.ETag)
	if !isMD5 {
		if proven && !prof.OpaqueETags {
			s.learnQuiet(func(pr *store.Profile) { pr.OpaqueETags = true })
		}
		s.setUnproven(p.Number, !proven)
		return nil
	}
	local := localMD5(*p, s.w.alg)
	if local == nil {
		if proven {
			s.setUnproven(p.Number, false)
			return nil
		}
		sums, err := s.data.sums(ctx, p.Number, checksum.Request{MD5: true})
		if err != nil {
			return store.WithKind(ErrTransient, fmt.Errorf("read part %d again: %w", p.Number, err))
		}
		local = sums.MD5
		if s.w.alg != checksum.MD5 {
			p.Digest = addDigest(p.Digest, checksum.MD5, base64.StdEncoding.EncodeToString(local))
		}
	}
	switch {
	case bytes.Equal(m, local):
		if !prof.MD5ETags {
			s.learnQuiet(func(pr *store.Profile) { pr.MD5ETags = true })
		}
		s.setUnproven(p.Number, false)
	case proven:
		if !prof.OpaqueETags {
			s.learnQuiet(func(pr *store.Profile) { pr.OpaqueETags = true })
		}
		s.setUnproven(p.Number, false)
	case prof.ETagsProve() && s.ra == nil:
		// A stream's part leaves memory once acknowledged: it fails, and
		// a rerun reads the stream again.
		return store.ETagMismatch(p.Number, p.ETag, local)
	default:
		// Disproven, or unknown until the store's ETags are known: a
		// file's part is sent again before Complete (resendDisproven).
		s.setUnproven(p.Number, true)
	}
	return nil
}

// answerChecks are the checksum headers whose values in a part's answer
// must be the local ones, so that the SDK sends a part again whose answer
// shows it damaged (WithAnswerChecksumCheck).
func (s *session) answerChecks(req checksum.Request, sums checksum.Sums) map[string]string {
	want := map[string]string{}
	if s.w.alg.Flexible() && sums.Checksum != "" {
		want[s.w.alg.Header()] = sums.Checksum
	}
	if req.Extra.Flexible() && sums.Extra != "" {
		want[req.Extra.Header()] = sums.Extra
	}
	return want
}

// setUnproven notes whether nothing proved part n when it was acknowledged.
func (s *session) setUnproven(n int32, unproven bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unproven == nil {
		s.unproven = map[int32]bool{}
	}
	if unproven {
		s.unproven[n] = true
	} else {
		delete(s.unproven, n)
	}
}

// disproven returns the parts nothing proved when they were acknowledged
// whose ETag, now that the store's ETags are known to be MD5s, is not the
// MD5 of the bytes sent: the store holds damaged bytes.
func (s *session) disproven() []int32 {
	if !s.judging().etagsProve {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int32
	for n := range s.unproven {
		p, ok := s.parts[n]
		m, isMD5 := checksum.ETagMD5(p.ETag)
		if l := localMD5(p, s.w.alg); ok && isMD5 && l != nil && !bytes.Equal(m, l) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// resendDisproven sends again, before Complete, the parts of a seekable
// source that the store is now known to hold damaged.
func (s *session) resendDisproven(ctx context.Context) error {
	for range 3 {
		bad := s.disproven()
		if len(bad) == 0 {
			return nil
		}
		s.ev.emit(Warning{Message: fmt.Sprintf("the store holds part(s) %v with ETags that are not the MD5 of the bytes sent: they were damaged on the way; sending them again", bad)})
		prev := s.feed
		s.feed = newListFeed(bad, s.plan.Count)
		err := s.sendFeed(ctx)
		s.feed = prev
		if err != nil {
			return err
		}
	}
	if bad := s.disproven(); len(bad) > 0 {
		return store.WithKind(ErrTransient, &UploadError{Op: "upload", UploadID: s.uploadID, StatePath: s.sc.Path(),
			Err: fmt.Errorf("part(s) %v keep arriving damaged", bad)})
	}
	return nil
}
