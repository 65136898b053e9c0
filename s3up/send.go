package s3up

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/store"
)

// Sending: the parts a source's feed yields go to the store, Concurrency at
// a time within the Uploader's budget, each journalled as soon as it is
// acknowledged; and what the store's answers show can be mended in the same
// run is mended here, in one place, for every source.

// sendAll sends the parts the feed yields, and mends what the answers show
// can be mended: a store that refuses the parts' checksum gets a new upload
// with Content-MD5; one that refuses to replace a part it holds gets a new
// upload; parts of a seekable source that the store turns out to hold
// damaged are sent again.
func (s *session) sendAll(ctx context.Context) error {
	md5Tried, replaceTried := false, false
	for {
		err := s.sendFeed(ctx)
		if err == nil && !s.data.inMemory() {
			err = s.resendDisproven(ctx)
		}
		var re *refusedError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &re) && !md5Tried && s.feed.restart():
			// The store refused the first part for its checksum: start
			// again with Content-MD5. It is remembered for this store only
			// once a part went through that way (sendFeed): a refusal that
			// was about something else (a wrong secret answers
			// SignatureDoesNotMatch too) fails again.
			md5Tried = true
			s.abortOld(ctx, s.uploadID, "started again with Content-MD5")
			s.newUpload(checksum.MD5)
			s.md5Fallback, s.refused = true, re
		case store.RefusesPartReplace(err) && !replaceTried:
			replaceTried = true
			s.learn("it refuses to replace a part of an upload it holds ("+store.Describe(err)+"); an upload whose parts must change starts again",
				func(p *store.Profile) { p.RefusesPartReplace, p.PartReplaceKnown = true, true })
			s.abortOld(ctx, s.uploadID, "the store cannot replace its parts with the bytes the source holds now")
			if !s.feed.restart() {
				// A stream whose parts before the one that differs matched
				// and were not kept: it must be read again from its start.
				s.sc.Remove()
				return store.WithKind(ErrTransient, &UploadError{Op: "upload",
					Err: fmt.Errorf("the stream differs from the interrupted one, and the store cannot replace a part of the old upload (%s), which was aborted; read again from its start, the stream goes to a new upload", store.Describe(err))})
			}
			s.newUpload(s.w.alg)
		default:
			return err
		}
	}
}

// newUpload forgets the current upload: the parts go again, from the
// first, to a new one with the checksum alg (created by ensureUpload).
func (s *session) newUpload(alg checksum.Algorithm) {
	s.uploadID, s.state = "", nil
	s.w = newWire(s.opts, alg, s.u.client.Info.TLS)
	s.res.Resumed, s.res.PartsKept, s.res.BytesSkipped = false, 0, 0
	s.mu.Lock()
	s.parts, s.unproven = map[int32]resume.Part{}, nil
	s.mu.Unlock()
}

// sendFeed sends the parts the feed yields. The first part of an upload
// nothing of which is on the server yet goes alone: a store that refuses its
// checksum can then be met with Content-MD5 while the part is still at
// hand, and what its answer tells of the store (it hides checksums, its
// ETags are MD5s) serves the parts after it.
func (s *session) sendFeed(ctx context.Context) error {
	x := s.newSender(ctx)
	alone := s.partsOnServer() == 0
	var ferr error
	for {
		if s.data.inMemory() && x.windowEnded() {
			break // not one more part of the stream is read
		}
		n, ok, err := s.feed.next(ctx)
		if err != nil {
			ferr = err
			break
		}
		if !ok {
			break
		}
		if x.windowEnded() {
			s.feed.done(n)
			break
		}
		if err := s.ensureUpload(ctx); err != nil {
			s.feed.done(n)
			ferr = err
			break
		}
		if alone {
			alone = false
			if err := x.sendAlone(n); err != nil {
				// The part stays at hand: a new upload may take it.
				x.wait()
				return err
			}
			s.feed.done(n)
			if s.refused != nil {
				s.learn(refusedChecksumWhy(s.refused.err), func(p *store.Profile) { p.RefusesChecksums = true })
				s.refused = nil
			}
			continue
		}
		if !x.send(n, func() { s.feed.done(n) }) {
			break
		}
	}
	werr := x.wait()
	switch {
	case werr != nil && ctx.Err() != nil:
		return werr
	case ferr != nil:
		return ferr
	}
	return werr
}

// partsOnServer is how many parts of the upload the server holds that
// Complete will name.
func (s *session) partsOnServer() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.parts)
}

// sender sends parts, within the Uploader's concurrency budget (at most
// Concurrency at a time across its sessions), and journals each as
// soon as the server acknowledges it.
//
// When ctx is cancelled (an interrupt), no new part starts; parts in flight
// get Options.Grace to finish so their bytes are not wasted, then are cut.
// A part that fails for good (after the SDK's retries) stops new parts; a
// failure no rerun can fix (access denied, a refused option) also cuts the
// parts in flight at once, since their outcome no longer matters.
type sender struct {
	s           *session
	ctx         context.Context // the run's: its end stops new parts
	partCtx     context.Context // the parts': cut Grace after ctx ends, or at a permanent failure
	cancelParts context.CancelCauseFunc
	stop        func() bool
	wg          sync.WaitGroup

	mu     sync.Mutex
	failed error
	// window: the window ended before every part was sent (one was not
	// started, or was cut in flight): the run stops there.
	window bool
}

func (s *session) newSender(ctx context.Context) *sender {
	x := &sender{s: s, ctx: ctx}
	x.partCtx, x.cancelParts = context.WithCancelCause(context.WithoutCancel(ctx))
	x.stop = context.AfterFunc(ctx, func() {
		if s.opts.Grace < 0 {
			x.cancelParts(context.Canceled)
			return
		}
		t := time.AfterFunc(s.opts.Grace, func() { x.cancelParts(context.Canceled) })
		context.AfterFunc(x.partCtx, func() { t.Stop() })
	})
	return x
}

func (x *sender) setFailed(err error) {
	x.mu.Lock()
	if x.failed == nil {
		x.failed = err
	}
	x.mu.Unlock()
	if !errors.Is(store.Classify(err), ErrTransient) {
		x.cancelParts(err)
	}
}

// stopped reports whether no new part may start.
func (x *sender) stopped() bool {
	if x.windowEnded() {
		return true
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.failed != nil || x.ctx.Err() != nil
}

// windowEnded reports whether the window has ended, and then records that
// the run stops at it.
func (x *sender) windowEnded() bool {
	if !x.s.opts.windowEnded() {
		return false
	}
	x.mu.Lock()
	x.window = true
	x.mu.Unlock()
	return true
}

// acquire takes a place in the concurrency budget, giving up when the run
// stops or its window ends.
func (x *sender) acquire() error {
	select {
	case x.s.u.slots <- struct{}{}:
		return nil
	case <-x.ctx.Done():
		return x.ctx.Err()
	case <-x.s.opts.windowDone():
		x.windowEnded()
		return ErrWindowEnded
	}
}

// sendPartIn sends part n on the parts' context, which in a window's hard
// mode is cut when the window ends.
func (x *sender) sendPartIn(n int32) error {
	ctx, cancel := x.s.opts.Window.CutoffContext(x.s.opts.withWindow(x.partCtx))
	defer cancel()
	err := x.s.sendPart(ctx, n)
	if err != nil && x.windowEnded() {
		// The part was cut at the window (or failed after it, and was not
		// retried): it goes in the next run.
		if errors.Is(err, context.Canceled) || errors.Is(err, ErrWindowEnded) || errors.Is(context.Cause(ctx), ErrWindowEnded) {
			return nil
		}
	}
	return err
}

// send sends part n in the background, once a place in the Uploader's
// concurrency budget is free (send blocks until then: the place is taken
// before the part is read or a goroutine started). done runs when the part
// is finished, whatever the outcome. send reports false when no part may
// start any more.
func (x *sender) send(n int32, done func()) bool {
	if x.stopped() || x.acquire() != nil {
		done()
		return false
	}
	x.wg.Go(func() {
		defer x.s.u.release()
		defer done()
		if x.stopped() {
			return
		}
		if err := x.sendPartIn(n); err != nil {
			x.setFailed(err)
		}
	})
	return true
}

// sendAlone sends part n and waits for it; its error is returned as the
// run's would be.
func (x *sender) sendAlone(n int32) error {
	if x.windowEnded() {
		return x.s.windowStopped()
	}
	if err := x.acquire(); err != nil {
		if errors.Is(err, ErrWindowEnded) {
			return x.s.windowStopped()
		}
		return x.s.interrupted(err)
	}
	err := x.sendPartIn(n)
	x.s.u.release()
	switch {
	case err == nil && x.window:
		return x.s.windowStopped()
	case err == nil:
		return nil
	case x.ctx.Err() != nil:
		return x.s.interrupted(x.ctx.Err())
	}
	return x.s.failure(err)
}

// sendPart uploads part n and journals it.
func (s *session) sendPart(ctx context.Context, n int32) error {
	if err := s.writeAhead(n); err != nil {
		return err
	}
	p, err := s.uploadPart(ctx, n)
	if err != nil {
		return err
	}
	if err := s.sc.Append(p); err != nil {
		return store.WithKind(ErrState, fmt.Errorf("record part %d in %s: %w", n, s.sc.Path(), err))
	}
	s.partDone(p)
	s.ev.partDone(PartDone{Number: n, Size: p.Size, ETag: p.ETag})
	return nil
}

// wait waits for the parts sent and returns the first failure, or the
// interruption.
func (x *sender) wait() error {
	x.wg.Wait()
	x.stop()
	x.cancelParts(nil)
	if x.window && x.failed == nil && x.ctx.Err() == nil {
		return x.s.windowStopped()
	}
	if x.failed != nil && x.ctx.Err() == nil {
		return x.s.failure(x.failed)
	}
	if x.ctx.Err() != nil {
		return x.s.interrupted(x.ctx.Err())
	}
	return nil
}

// interrupted is the error of a run stopped by ctx: the state is kept.
func (s *session) interrupted(cause error) error {
	return &UploadError{Op: "upload interrupted", UploadID: s.uploadID, StatePath: s.sc.Path(), Err: cause}
}

// failure gives a part's error the upload's recovery data and its kind.
func (s *session) failure(err error) error {
	if errors.Is(err, context.Canceled) {
		return s.interrupted(err)
	}
	var ue *UploadError
	if !errors.As(err, &ue) {
		ue = &UploadError{Op: "upload", Err: err}
		err = ue
	}
	ue.UploadID, ue.StatePath = s.uploadID, s.sc.Path()
	return store.Classify(err)
}
