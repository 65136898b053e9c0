package s3up

import (
	"errors"
	"fmt"

	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/store"
)

// How a session adapts to the store it talks to. What it learns from the
// store's answers (a refusal of flexible checksums, a native CRC-64 header,
// opaque ETags) is remembered per endpoint in the state directory
// (store.Profiles), so the next run starts with the right method, and the
// user is told once, when it is learned.

// learn changes the store's profile and remembers it; the first time a fact
// is learned, the user is told (why names the answer it came from).
func (s *session) learn(why string, change func(*store.Profile)) {
	s.profMu.Lock()
	defer s.profMu.Unlock()
	p, changed, err := s.profiles.Learn(s.dest.Endpoint, why, change)
	s.profile = p
	if !changed {
		return
	}
	msg := fmt.Sprintf("learned about %s: %s", storeName(s.dest.Endpoint), why)
	if err != nil {
		msg += fmt.Sprintf(" (could not remember it for next time: %v)", err)
	}
	s.ev.emit(Warning{Message: msg})
}

// learnQuiet remembers a fact about the store that changes nothing the
// user needs to hear of (the checks that follow say what they used).
func (s *session) learnQuiet(change func(*store.Profile)) {
	s.profMu.Lock()
	defer s.profMu.Unlock()
	p, _, _ := s.profiles.Learn(s.dest.Endpoint, "", change)
	s.profile = p
}

func (s *session) storeProfile() store.Profile {
	s.profMu.Lock()
	defer s.profMu.Unlock()
	return s.profile
}

func storeName(endpoint string) string {
	if endpoint == "" {
		return "AWS S3"
	}
	return endpoint
}

// method returns the checksum this upload starts with: the one asked for,
// unless the store is known to refuse flexible checksums; then Content-MD5,
// which every store verifies.
func (s *session) method() checksum.Algorithm {
	alg := s.opts.Checksum
	if s.md5Fallback && alg.Flexible() {
		return checksum.MD5
	}
	p := s.storeProfile()
	if p.RefusesChecksums && alg.Flexible() {
		s.ev.emit(Notice{Message: fmt.Sprintf("parts carry Content-MD5, not %s: this store refuses S3 flexible checksums (learned %s)",
			alg.Label(), p.Learned.Format("2006-01-02"))})
		return checksum.MD5
	}
	if own := checksum.Algorithm(p.OwnChecksum); own.Flexible() && alg.Flexible() && own != alg {
		s.ev.emit(Notice{Message: fmt.Sprintf("parts carry %s, not %s: this store computes %s of every part whatever it is asked for (learned %s)",
			own.Label(), alg.Label(), own.Label(), p.Learned.Format("2006-01-02"))})
		return own
	}
	return alg
}

// errChecksumsRefused marks a part that the store refused because it
// carried a flexible checksum: the upload is started again with Content-MD5.
var errChecksumsRefused = errors.New("the store refuses S3 flexible checksums")

// refusedError is a part's error that is a refusal of its checksum.
type refusedError struct{ err error }

func (e *refusedError) Error() string        { return errChecksumsRefused.Error() + ": " + e.err.Error() }
func (e *refusedError) Unwrap() error        { return e.err }
func (e *refusedError) Is(target error) bool { return target == errChecksumsRefused }

// refusesChecksums reports whether err, the answer to a request that
// carried a flexible checksum, is a refusal of the checksum itself: the
// store's words (B2, R2: store.RejectsChecksum), or, from a store that
// accepted the same credentials a moment before (CreateMultipartUpload
// succeeded), a signature mismatch, as Google Cloud Storage answers an
// UploadPart with x-amz-checksum-* headers.
func refusesChecksums(err error) bool {
	return store.RejectsChecksum(err) || store.Code(err) == "SignatureDoesNotMatch"
}

// refusedChecksumWhy words a refusal for the profile.
func refusedChecksumWhy(err error) string {
	return "it refuses S3 flexible checksums (" + store.Describe(err) + "); parts carry Content-MD5 instead"
}
