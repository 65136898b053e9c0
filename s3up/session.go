package s3up

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/store"
)

// session is one Put: load the journal, decide, transfer, finish.
type session struct {
	u    *Uploader
	opts Options
	src  origin
	ra   io.ReaderAt // a file's bytes (nil for a stream)
	id   resume.Source
	dest resume.Destination
	ev   *emitter
	res  *Result
	sc   *resume.Sidecar
	meta map[string]string // metadata s3up sets on the object (a file's mtime)
	// inTree: a file of a tree. The tree decided it must be sent (no check
	// for an unchanged object here), and a small file is verified from
	// PutObject's answer when that proves its bytes (see checkAnswer).
	inTree bool

	// Fixed once decided.
	state    *resume.State // the journal decided from (nil for a fresh upload)
	plan     Plan
	data     partData // where the parts' bytes come from
	w        wire
	uploadID string

	feed     feed          // the parts this run sends
	typeName string        // the name a Content-Type is guessed from (a file's, else the key)
	refused  *refusedError // the store refused the first part's checksum: learned once Content-MD5 goes through
	reason   string        // why the next upload created replaces an old one (Started)

	mu       sync.Mutex
	parts    map[int32]resume.Part // parts on the server that Complete will name
	unproven map[int32]bool        // parts nothing proved when they were acknowledged (see proof.go)

	profiles    *store.Profiles // what is remembered about stores, in the state directory
	profMu      sync.Mutex
	profile     store.Profile // what is known about this store
	nativeCRC64 atomic.Bool   // the store reports a CRC-64/ECMA of each part: compute ours
	md5Fallback bool          // the store refused this run's checksums: Content-MD5

	sealed      *sealedObject // Options.Seal: the object is the source's age file (sealed.go)
	sealRestart bool          // a sealed stream with a journal: its upload starts over
}

func (s *session) client() store.S3API { return s.u.client.API }

// run is the session's steps, for every source: lock the journal; for a
// file, send nothing if the object is the file already; decide (resume,
// start anew, done already, or refuse); plan and report the plan; send the
// parts the source's feed yields, mending what the store's answers allow;
// complete once the source is confirmed to be what was read; verify; remove
// the journal and the orphans it supersedes. A source smaller than one part
// is one PutObject (single.go).
func (s *session) run(ctx context.Context) error {
	if !s.data.inMemory() && s.id.Size < s.opts.threshold() {
		// Sealed, a small file goes whole with a key of its own: no
		// journal keeps it.
		if err := s.sealWith(nil); err != nil {
			return err
		}
		return s.putSingle(ctx)
	}
	path, err := s.lockState(ctx)
	if err != nil {
		return err
	}
	defer s.release()
	if s.opts.Seal != nil {
		st, _ := s.sc.Load() // decide reports a journal that does not load
		if err := s.sealWith(st); err != nil {
			return err
		}
	}
	if !s.data.inMemory() && !exists(path) {
		if same, err := s.skipUnchanged(ctx); same || err != nil {
			return err
		}
	}
	d, err := s.decide(ctx)
	if err != nil {
		return err
	}
	if d.warn != "" {
		s.ev.emit(Warning{Message: d.warn, Hint: d.hint})
	}
	switch d.next {
	case stepRefuse:
		return d.err
	case stepDone:
		s.finishedElsewhere(d)
		return s.removeState()
	case stepFresh:
		if s.sealRestart && !s.opts.Fresh {
			d.reason = "the interrupted sealed stream's journal does not record the parts it began to send, so its key cannot be kept: the stream is sealed under a new key and uploaded from its start"
		}
		if s.sealed != nil && s.sealed.stream != nil && s.sealed.stream.kept {
			// A new upload under the old key could show the store other
			// bytes under it.
			if err := s.freshStreamKey(); err != nil {
				return err
			}
		}
		if d.abort != "" {
			s.abortOld(ctx, d.abort, d.reason)
		}
		s.state, s.reason = nil, d.reason
	}
	if err := s.begin(ctx, d, path); err != nil {
		return err
	}
	err = s.sendAll(ctx)
	switch {
	case errors.Is(err, errOnePart):
		// A stream that turned out to fit in one part, with no upload of
		// its own yet: one PutObject.
		return s.putWhole(ctx)
	case errors.Is(err, ErrStreamFailed):
		return s.streamFailed(ctx, err)
	case err != nil:
		return err
	}
	if s.data.inMemory() {
		// A stream's shape is known at its end: the parts kept or sent,
		// and none beyond (a shorter stream leaves the old ones out).
		count := int32(s.partsOnServer())
		if count == 0 {
			// An empty stream, where an earlier one left an upload: the
			// upload goes, the object is one empty PutObject.
			if s.uploadID != "" {
				s.abortOld(ctx, s.uploadID, "the stream is now empty")
				s.uploadID = ""
			}
			return s.putWhole(ctx)
		}
		s.plan = Plan{Size: s.id.Size, PartSize: s.plan.PartSize, Count: count}
		s.res.Parts, s.res.PartsKept = count, int(count)-s.res.PartsSent
	}
	if err := s.complete(ctx); err != nil {
		return err
	}
	s.dropState()
	return nil
}

// runAndSupersede runs the session and, once its object is stored, aborts
// the uploads it supersedes (supersede.go).
func (s *session) runAndSupersede(ctx context.Context) error {
	err := s.run(ctx)
	if err == nil && !s.res.Unchanged {
		s.supersede(ctx)
	}
	return err
}

// begin prepares what the decision says: the plan (reported before the
// first byte), where the parts' bytes come from, and which parts to send.
// A new upload is created when its first part is sent (ensureUpload).
func (s *session) begin(ctx context.Context, d decision, path string) error {
	if s.data.inMemory() {
		return s.beginStream(d, path)
	}
	if d.next == stepFresh {
		p, err := planParts(s.id.Size, s.opts.PartSize, s.opts.PartSizeExplicit, s.opts.MinPartSize)
		if err != nil {
			return err
		}
		d.plan = p
	}
	s.plan = d.plan
	s.data = fileParts{src: s.ra, plan: d.plan}
	s.ev.emit(Planned{Source: s.res.Source, Bucket: s.dest.Bucket, Key: s.dest.Key, Size: s.id.Size,
		PartSize: d.plan.PartSize, Parts: d.plan.Count, Raised: d.plan.Raised, State: path})
	s.res.Parts, s.res.PartSize = s.plan.Count, s.plan.PartSize
	if d.next == stepFresh {
		s.w = newWire(s.opts, s.method(), s.u.client.Info.TLS)
		s.newUpload(s.w.alg)
		s.feed = newListFeed(allParts(d.plan.Count), d.plan.Count)
		s.ev.plan(s.id.Size, d.plan.Count, 0, 0)
		return nil
	}
	toSend, err := s.resume(ctx, d)
	if errors.Is(err, errRekey) {
		return s.rekey(ctx, d, path)
	}
	if err != nil {
		return err
	}
	s.res.UploadID = s.uploadID
	s.feed = newListFeed(toSend, d.plan.Count)
	return nil
}

// skipUnchanged reports whether the object at the key is the source already,
// so that nothing need be sent: it has the source's size and the
// modification time s3up stored with it (MTimeKey), or, with
// ChecksumCompare, the source's content; and it never failed verification.
// A file of a tree was decided by the tree, and Force sends anyway. An
// object that cannot be looked at (a policy that allows PutObject but not
// HeadObject) is not taken as unchanged.
func (s *session) skipUnchanged(ctx context.Context) (bool, error) {
	if s.inTree || s.opts.Force || (s.id.ModTime.IsZero() && !s.opts.ChecksumCompare) {
		return false, nil
	}
	head, err := s.head(ctx, "")
	switch {
	case errors.Is(err, ErrAccess):
		return false, nil
	case err != nil || head == nil:
		return false, err
	case s.sealed == nil && head.size != s.id.Size:
		return false, nil
	}
	if why := s.untrusted(head.etag); why != "" {
		s.ev.emit(Warning{Message: fmt.Sprintf("s3://%s/%s failed verification before (%s): uploading it again", s.dest.Bucket, s.dest.Key, why)})
		return false, nil
	}
	by := "size and modification time"
	if s.sealed != nil {
		// The object is ciphertext under a key of its own: only what s3up
		// stored about the plaintext can say it is this file.
		if s.opts.ChecksumCompare {
			s.ev.emit(Warning{Message: "a content comparison (ChecksumCompare) cannot compare sealed content: comparing the plaintext's size and modification time"})
		}
		if !s.sealedUnchanged(func(k string) string { return metadataValue(head.raw, k) }) {
			return false, nil
		}
		by = "plaintext size and modification time"
	} else if s.opts.ChecksumCompare {
		_, c, err := s.sameContent(ctx)
		if err != nil || c.verdict != contentSame {
			return false, err
		}
		by = c.why
	} else if !SameMTime(metadataValue(head.raw, MTimeKey), s.id.ModTime) {
		return false, nil
	}
	r := s.res
	r.Unchanged, r.ETag, r.Size = true, head.etag, head.size
	if s.opts.ChecksumCompare && s.sealed == nil {
		r.Verified = by // what the content comparison compared
	}
	s.ev.emit(Unchanged{Size: head.size, ETag: head.etag, By: by})
	return true, nil
}

// metadataValue returns the user metadata k of an object ("" if none).
func metadataValue(h *s3.HeadObjectOutput, k string) string {
	if h == nil {
		return ""
	}
	for mk, v := range h.Metadata {
		if strings.EqualFold(mk, k) {
			return v
		}
	}
	return ""
}

// lockState takes the lock of the journal in the state directory, moving a
// journal left next to the source by older versions there first.
func (s *session) lockState(ctx context.Context) (string, error) {
	dir, err := s.useState()
	if err != nil {
		return "", err
	}
	path := resume.SidecarPath(dir, s.id.Path, s.dest)
	sc, err := lockJournal(path, s.res.Source, s.dest)
	if err != nil {
		return "", err
	}
	s.sc = sc
	if err := s.adoptLegacy(); err != nil {
		sc.Close()
		return "", err
	}
	return path, nil
}

// useState returns the state directory and loads what is remembered there
// about the store.
func (s *session) useState() (string, error) {
	dir, profiles, err := s.u.state()
	if err != nil {
		return "", err
	}
	s.profiles = profiles
	s.profile = profiles.Get(s.dest.Endpoint)
	s.nativeCRC64.Store(s.profile.NativeCRC64 != "")
	return dir, nil
}

// lockJournal takes a journal's lock; another process holding it is ErrBusy.
func lockJournal(path, source string, dest resume.Destination) (*resume.Sidecar, error) {
	sc, err := resume.Lock(path)
	if errors.Is(err, resume.ErrLocked) {
		return nil, store.WithKind(ErrBusy, fmt.Errorf("%s is being uploaded to s3://%s/%s by another s3up process (lock %s.lock)",
			source, dest.Bucket, dest.Key, path))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: cannot lock resume state: %w", ErrState, err)
	}
	return sc, nil
}

// adoptLegacy moves a journal that an older s3up kept next to the source
// (".NAME.s3up-HASH") into the state directory, once, so that an upload
// interrupted before an upgrade still resumes. The old file is locked while
// it is read, so an older s3up still running on it is never disturbed.
func (s *session) adoptLegacy() error {
	if _, err := os.Lstat(s.sc.Path()); err == nil {
		return nil // a journal in the state directory wins
	}
	legacy := resume.LegacySidecarPath(s.id.Path, s.dest)
	if _, err := os.Lstat(legacy); err != nil {
		return nil
	}
	old, err := lockJournal(legacy, s.res.Source, s.dest)
	if err != nil {
		return err
	}
	defer old.Close()
	st, err := old.Load()
	if err != nil {
		if s.opts.Fresh {
			return old.Remove()
		}
		return store.WithHint(fmt.Errorf("%w: resume state %s (left by an older s3up) cannot be used: %w", ErrState, legacy, err), store.HintFresh)
	}
	if err := s.sc.Compact(st); err != nil {
		return fmt.Errorf("%w: move resume state %s to %s: %w", ErrState, legacy, s.sc.Path(), err)
	}
	if err := old.Remove(); err != nil {
		s.ev.emit(Warning{Message: fmt.Sprintf("moved resume state to %s, but %s could not be removed: %v", s.sc.Path(), legacy, err)})
	}
	s.ev.emit(Warning{Message: fmt.Sprintf("moved resume state from %s to %s", legacy, s.sc.Path())})
	return nil
}

// release unlocks the journal; when none was ever written (Create failed,
// say) the lock file goes too, leaving nothing behind.
func (s *session) release() {
	if _, err := os.Lstat(s.sc.Path()); errors.Is(err, fs.ErrNotExist) {
		s.sc.Remove()
		return
	}
	s.sc.Close()
}

func (s *session) removeState() error { return s.sc.Remove() }

// decide gathers the facts decide asks for, in order, and returns its
// final decision.
func (s *session) decide(ctx context.Context) (decision, error) {
	f := facts{fresh: s.opts.Fresh || s.sealRestart, src: s.id, dest: s.dest, options: s.opts.Object.Record()}
	st, err := s.sc.Load()
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		f.stateErr = err
	default:
		// State written before endpoints were normalised names the same
		// store in another spelling.
		if ep, err := store.NormalizeEndpoint(st.Destination.Endpoint); err == nil {
			st.Destination.Endpoint = ep
		}
		f.state, s.state = st, st
	}
	prof := s.storeProfile()
	f.etagsProve = prof.ETagsProve()
	if f.stream = s.data.inMemory(); f.stream {
		f.noList, f.replaceKnown, f.refusesReplace = prof.NoListParts, prof.PartReplaceKnown, prof.RefusesPartReplace
	}
	for {
		d := decide(f)
		switch d.next {
		case stepAskReplace:
			s.probePartReplace(ctx)
			p := s.storeProfile()
			f.replaceKnown, f.refusesReplace = true, p.RefusesPartReplace
		case stepAskParts:
			f.listed = true
			if s.storeProfile().NoListParts {
				f.noList = true
				continue
			}
			f.remote, f.gone, err = s.listParts(ctx, st)
			if errors.Is(err, errNoListParts) {
				f.noList, err = true, nil
			}
			if err != nil {
				return d, err
			}
		case stepAskObject:
			f.headed = true
			if f.object, err = s.head(ctx, d.alg); err != nil {
				return d, err
			}
			if f.object != nil {
				f.untrusted = s.untrusted(f.object.etag)
			}
		default:
			return d, nil
		}
	}
}

// listParts asks the server what it holds of the upload. An answer that only
// suggests the upload is gone (a bare 404, NoSuchKey) is confirmed with the
// key's list of uploads before it is believed: abandoning a live upload
// would orphan its parts and start over from nothing.
func (s *session) listParts(ctx context.Context, st *resume.State) ([]resume.Part, bool, error) {
	id := st.UploadID
	remote, err := store.ListAllParts(ctx, s.client(), s.dest.Bucket, s.dest.Key, id, st.LastPart())
	if err == nil {
		return remote, false, nil
	}
	gone, certain := store.UploadGone(err)
	if !gone && store.Unsupported(err) {
		s.learn("it does not implement ListParts ("+store.Describe(err)+"): an interrupted upload cannot be checked part by part, so it starts again",
			func(p *store.Profile) { p.NoListParts = true })
		return nil, false, errNoListParts
	}
	if !gone {
		return nil, false, store.Classify(&UploadError{Op: "reconcile", UploadID: id, StatePath: s.sc.Path(), Err: err})
	}
	if !certain {
		ups, lerr := store.KeyUploads(ctx, s.client(), s.dest.Bucket, s.dest.Key)
		if lerr != nil {
			return nil, false, store.WithKind(ErrTransient, &UploadError{Op: "reconcile", UploadID: id, StatePath: s.sc.Path(),
				Err: fmt.Errorf("the server answered ListParts with %s, and whether the upload still exists could not be checked (%w); rerun later", store.Describe(err), lerr)})
		}
		if slices.ContainsFunc(ups, func(u store.Upload) bool { return u.UploadID == id }) {
			return nil, false, store.WithKind(ErrTransient, &UploadError{Op: "reconcile", UploadID: id, StatePath: s.sc.Path(),
				Err: fmt.Errorf("the server answered ListParts with %s, but the upload still exists; rerun later", store.Describe(err))})
		}
	}
	return nil, true, nil
}

// errNoListParts: the store does not implement ListParts.
var errNoListParts = errors.New("the store does not implement ListParts")

// abortOld aborts an upload that will not be resumed. Failure is only a
// warning: the new upload does not depend on it, and gc finds leftovers.
func (s *session) abortOld(ctx context.Context, id, why string) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, err := store.Abort(actx, s.client(), s.dest.Bucket, s.dest.Key, id); err != nil {
		s.ev.emit(Warning{Message: fmt.Sprintf("could not abort old upload %s (%s); a gc of forgotten uploads can remove it later", id, store.Describe(err))})
		return
	}
	s.ev.emit(Warning{Message: fmt.Sprintf("aborted old upload %s: %s", id, why)})
}

// resume continues the journal's upload: it adopts server-only parts whose
// bytes match the source, re-checks the parts it keeps against the source
// as it is now, and returns the parts to send.
func (s *session) resume(ctx context.Context, d decision) ([]int32, error) {
	s.plan, s.uploadID = d.plan, s.state.UploadID
	s.data = fileParts{src: s.ra, plan: d.plan}
	s.w = newWire(s.opts, d.alg, s.u.client.Info.TLS)
	if s.opts.PartSize != 0 && s.opts.PartSize != d.plan.PartSize {
		s.ev.emit(Warning{Message: fmt.Sprintf("resuming with the part size the upload started with (%d bytes), not the one asked for", d.plan.PartSize)})
	}
	if d.alg != s.opts.Checksum {
		s.ev.emit(Warning{Message: fmt.Sprintf("resuming with the checksum the upload started with (%s), not %s", d.alg, s.opts.Checksum)})
	}
	s.parts = map[int32]resume.Part{}
	var keep []resume.Part
	var verify []resume.Decision
	var send []int32
	mismatched := 0
	for _, dec := range d.rec.Decisions {
		switch dec.Action {
		case resume.Skip:
			p := *dec.Local
			p.ETag = dec.Remote.ETag // Complete names exactly the entry the server lists
			keep = append(keep, p)
		case resume.Verify:
			verify = append(verify, dec)
		default:
			if dec.Remote != nil {
				mismatched++
			}
			send = append(send, dec.Number)
		}
	}
	adopted, rejected, err := s.adopt(ctx, verify)
	if err != nil {
		return nil, err
	}
	mismatched += len(rejected)
	send = append(send, rejected...)
	if !s.opts.TrustJournal && len(keep) > 0 {
		changed, err := s.recheck(ctx, keep)
		if err != nil {
			return nil, err
		}
		keep = slices.DeleteFunc(keep, func(p resume.Part) bool { return slices.Contains(changed, p.Number) })
		send = append(send, changed...)
		if s.sealed != nil && len(changed) > 0 {
			return nil, errRekey
		}
	}
	if s.sealed != nil && len(rejected) > 0 {
		return nil, errRekey
	}
	for _, p := range append(keep, adopted...) {
		s.parts[p.Number] = p
	}
	slices.Sort(send)
	var onServer int64
	for _, p := range s.parts {
		onServer += p.Size
	}
	s.res.Resumed, s.res.PartsKept = true, len(s.parts)
	s.ev.plan(s.id.Size, s.plan.Count, onServer, len(s.parts))
	s.ev.emit(Resumed{UploadID: s.uploadID, Parts: int(s.plan.Count), OnServer: len(s.parts), Adopted: len(adopted),
		Mismatched: mismatched, ToSend: len(send), BytesOnServer: onServer})
	return send, nil
}

// finishedElsewhere records that the journal's upload was completed already
// (by a run whose answer was lost, say).
func (s *session) finishedElsewhere(d decision) {
	st := s.state
	r := s.res
	r.AlreadyComplete, r.Resumed = true, true
	r.UploadID, r.Parts, r.PartSize, r.PartsKept = st.UploadID, d.plan.Count, d.plan.PartSize, int(d.plan.Count)
	r.ETag = d.etag
	s.ev.emit(Completed{ETag: r.ETag})
	s.recordVerified(d.check)
}

// partsSorted returns the parts Complete will name, in order.
func (s *session) partsSorted() []resume.Part {
	s.mu.Lock()
	parts := make([]resume.Part, 0, len(s.parts))
	for _, p := range s.parts {
		parts = append(parts, p)
	}
	s.mu.Unlock()
	slices.SortFunc(parts, func(a, b resume.Part) int { return int(a.Number) - int(b.Number) })
	return parts
}

func (s *session) partDone(p resume.Part) {
	s.mu.Lock()
	s.parts[p.Number] = p
	s.res.PartsSent++
	s.res.BytesSent += p.Size
	s.mu.Unlock()
}

// dropState removes the resume state of a completed upload. A failure only
// warns: the object is complete and verified.
func (s *session) dropState() {
	if err := s.removeState(); err != nil {
		s.ev.emit(Warning{Message: fmt.Sprintf("upload complete, but the resume state could not be removed: %v", err)})
	}
}
