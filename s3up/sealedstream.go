package s3up

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/seal"
	"github.com/s3up/s3up/s3up/store"
)

// A sealed stream is resumed by content under the key its journal keeps,
// as long as that can never put other bytes under that key before the
// store. Its rule: the store may have seen any part the interrupted runs
// began to send, acknowledged or not, so every part is journalled (size
// and content digest, resume.Part.Pending) before its first byte goes
// (resume.Header.WriteAhead). A rerun then sends a part under the kept key
// only if it is the same ciphertext as the part the journal records at
// that number (the same plaintext under the same key, nonce and chunk
// counters gives the same bytes), or if the journal records none at that
// number: then no run sent a byte of it. A part the server lists that the
// journal does not record proves nothing and binds like one that differs.
// At the first part that differs:
//
//   - part 1: the plaintext read so far is still at hand (streamSeal.rec),
//     so the stream is sealed again under a new key from its start, in the
//     same run, and the interrupted upload is aborted;
//   - a later part: the parts before it were kept, their plaintext is gone,
//     and the stream cannot be read again: the run fails (ErrTransient),
//     the interrupted upload is aborted and its journal, with the key,
//     removed, so the next run seals the stream under a new key.

// streamSeal is what a sealed stream's session knows beyond sealedObject.
type streamSeal struct {
	plain io.Reader // the plaintext, as the caller gave it
	// kept: the key is the journal's, and seen is binding.
	kept bool
	// seen holds, by number, the parts the store may have seen under the
	// key: the journal's records, pending and acknowledged, the parts this
	// run sent, and the parts the server lists (with no digest when the
	// journal has none: they prove nothing).
	mu   sync.Mutex // parts are sent from several goroutines
	seen map[int32]resume.Part
	rec  *recorder // the plaintext read while part 1 of a kept-key resume is undecided
}

// recorder keeps what is read through it while on.
type recorder struct {
	r   io.Reader
	buf []byte
	on  bool
}

func (t *recorder) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if t.on {
		t.buf = append(t.buf, p[:n]...)
	}
	return n, err
}

// stop drops what was recorded: part 1 is decided.
func (t *recorder) stop() { t.on, t.buf = false, nil }

// keepStreamKey reports whether a sealed stream resumes under the key of
// its journal st: one that recorded every part before sending it, of this
// stream sealed to these recipients.
func keepStreamKey(st *resume.State, id resume.Source, fresh bool) bool {
	return st != nil && st.Sealed != "" && st.Stream && st.WriteAhead && !fresh &&
		st.Source.Path == id.Path && st.Source.Fingerprint == id.Fingerprint
}

// sealStream makes the stream's reader seal its plaintext under k. With
// the journal's key (kept), the journal's records bind what may be sent,
// and the plaintext of part 1 is recorded until that part is decided.
func (s *session) sealStream(k *seal.Key, kept bool, st *resume.State) {
	z, o := s.sealed, s.src.(*streamOrigin)
	z.key = k
	ss := &streamSeal{plain: z.stream.plainOr(o.st.R), kept: kept, seen: map[int32]resume.Part{}}
	if kept {
		for n, p := range st.Pending {
			ss.seen[n] = p
		}
		for n, p := range st.Parts {
			ss.seen[n] = p
		}
	}
	z.stream = ss
	var r io.Reader = ss.plain
	if kept {
		ss.rec = &recorder{r: r, on: true}
		r = ss.rec
	}
	o.sealed = k.NewReader(r)
	o.st.R = o.sealed
	if z.plain >= 0 {
		o.st.Size, o.st.SizeKnown = k.CiphertextSize(z.plain), true
	}
}

// plainOr is the plaintext reader, or r before the first sealStream.
func (ss *streamSeal) plainOr(r io.Reader) io.Reader {
	if ss == nil {
		return r
	}
	return ss.plain
}

// freshStreamKey gives a sealed stream that was to resume under its
// journal's key a new key, when its upload starts over anyway: a new
// upload under the old key could put other bytes under it before the
// store. Nothing of the stream has been read.
func (s *session) freshStreamKey() error {
	k, err := seal.NewKey(s.opts.Seal.recipients...)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	s.sealStream(k, false, nil)
	return nil
}

// noteRemote adds to what the store may have seen the parts it lists that
// the journal does not record.
func (s *session) noteRemote(remote []resume.Part) {
	if s.sealed == nil || s.sealed.stream == nil {
		return
	}
	ss := s.sealed.stream
	ss.mu.Lock()
	for _, r := range remote {
		if _, ok := ss.seen[r.Number]; !ok {
			ss.seen[r.Number] = resume.Part{Number: r.Number, Size: r.Size}
		}
	}
	ss.mu.Unlock()
}

// writeAhead journals stream part n of a sealed stream before its first
// byte is sent (resume.Header.WriteAhead), unless the journal records it
// already.
func (s *session) writeAhead(n int32) error {
	if s.sealed == nil || s.sealed.stream == nil {
		return nil
	}
	ss := s.sealed.stream
	p := resume.Part{Number: n, Size: s.data.size(n), Digest: s.data.contentDigest(n), Pending: true}
	ss.mu.Lock()
	q, known := ss.seen[n]
	ss.mu.Unlock()
	if known && q.Size == p.Size && q.Digest == p.Digest {
		// The journal records this very part already (a part sent again
		// as it was, a retry, a record carried over).
		return nil
	}
	if err := s.sc.Append(p); err != nil {
		return store.WithKind(ErrState, fmt.Errorf("record part %d in %s before sending it: %w", n, s.sc.Path(), err))
	}
	ss.mu.Lock()
	ss.seen[n] = p
	ss.mu.Unlock()
	return nil
}

// carryWriteAhead writes into a new journal under the same key the parts
// the store may have seen under it (an upload started again with the
// same key: the old one's parts were seen too).
func (s *session) carryWriteAhead() error {
	if s.sealed == nil || s.sealed.stream == nil {
		return nil
	}
	ss := s.sealed.stream
	ss.mu.Lock()
	seen := maps.Clone(ss.seen)
	ss.mu.Unlock()
	for _, n := range slices.Sorted(maps.Keys(seen)) {
		p := seen[n]
		q := resume.Part{Number: n, Size: p.Size, Digest: p.Digest, Pending: true}
		if q.Digest == "" {
			q.Digest = "unknown:" // proves nothing: the part is never sent again under this key
		}
		if err := s.sc.Append(q); err != nil {
			return fmt.Errorf("%w: record part %d in %s: %w", ErrState, n, s.sc.Path(), err)
		}
	}
	return nil
}

// errResealed: part 1 differed from the journal's, and the stream is
// sealed again under a new key from its start: read part 1 again.
var errResealed = errors.New("the stream is sealed again under a new key")

// sealGuard lets stream part n (buf, its digests sums) be kept or sent
// under the stream's key only when that cannot show the store other bytes
// under it; otherwise it seals the stream again (errResealed) or fails the
// run (see the rule above).
func (f *streamFeed) sealGuard(ctx context.Context, n int32, buf []byte, sums checksum.Sums) error {
	s := f.s
	if s.sealed == nil || s.sealed.stream == nil {
		return nil
	}
	ss := s.sealed.stream
	ss.mu.Lock()
	p, ok := ss.seen[n]
	ss.mu.Unlock()
	if !ok || p.Size == int64(len(buf)) && sameContent(p.Digest, sums) {
		if n == 1 && ss.rec != nil {
			ss.rec.stop()
		}
		return nil
	}
	f.data.recycle(buf)
	if n == 1 && !f.restarts && ss.rec != nil && ss.rec.on {
		return f.reseal(ctx)
	}
	old := s.uploadID
	s.abortOld(ctx, old, fmt.Sprintf("part %d of the stream differs from the part sealed under its key", n))
	if err := s.sc.Remove(); err != nil {
		// The key stays: the next run would meet the same part again.
		return store.WithHint(fmt.Errorf("%w: %s differs at part %d from the interrupted sealed upload, and its resume state %s (with the key) could not be removed: %w",
			ErrState, f.st.Name, n, s.sc.Path(), err), store.HintFresh)
	}
	before := "part 1"
	if n > 2 {
		before = fmt.Sprintf("parts 1-%d", n-1)
	}
	return store.WithKind(ErrTransient, &UploadError{Op: "upload", UploadID: old,
		Err: fmt.Errorf("%s differs at part %d from the interrupted sealed upload: that part cannot be sent under the upload's key (the store would see other bytes under it), "+
			"and %s, kept from that upload, cannot be read again to seal them under a new one; the upload was aborted and its key forgotten: "+
			"the next run of the stream seals it under a new key from its start", f.st.Name, n, before)})
}

// reseal seals the stream again under a new key from its start, with the
// plaintext read so far: the interrupted upload is aborted, its journal and
// key go, and the stream goes to a new upload.
func (f *streamFeed) reseal(ctx context.Context) error {
	s, z := f.s, f.s.sealed
	ss := z.stream
	k, err := seal.NewKey(s.opts.Seal.recipients...)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	if f.plan != nil && k.HeaderSize() != z.key.HeaderSize() {
		return store.WithHint(fmt.Errorf("%w: %s differs from the stream sealed under the interrupted upload's key, and sealing it under a new key changes its size: start over", ErrState, f.st.Name), store.HintFresh)
	}
	if err := s.forgetKey(ctx, s.sc.Path(), "the stream differs from the one sealed under its key: sealed again under a new key"); err != nil {
		return err
	}
	replay := io.MultiReader(bytes.NewReader(ss.rec.buf), ss.rec.r)
	ss.plain = replay
	s.sealStream(k, false, nil)
	o := s.src.(*streamOrigin)
	f.st = o.st
	f.n, f.read, f.skipped, f.ended = 0, 0, 0, false
	f.matching, f.prior, f.remote = false, nil, nil
	s.newUpload(s.w.alg)
	s.reason = "the stream differs from the one sealed under the interrupted upload's key: sealed again under a new key from its start, never the same key on other bytes"
	return errResealed
}

// sentSize is the size stream part n was sent at under the key, 0 if it
// was not.
func (z *sealedObject) sentSize(n int32) int64 {
	if z == nil || z.stream == nil {
		return 0
	}
	z.stream.mu.Lock()
	defer z.stream.mu.Unlock()
	return z.stream.seen[n].Size
}
