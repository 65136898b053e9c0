package s3up

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/s3up/s3up/s3up/schedule"
	"github.com/s3up/s3up/s3up/store"
)

// Windows: a run given an Options.Window starts no part (a file's, a
// stream's) and no file (a tree's) once the window has ended. Parts in
// flight finish (schedule.Soft) or are cancelled (schedule.Hard); either
// way every acknowledged part is in the journal, and the call returns a
// *WindowError. A window that ends while the parts are reconciled or the
// upload is completed lets that step finish: nothing is left half-done.

// WindowError is the error of a run stopped at the end of its window. It
// wraps ErrWindowEnded (and only that kind): the state is kept, and the
// same call continues the upload. It says how far the upload got.
type WindowError struct {
	// Source names what was uploaded (a file, a stream, a tree's first root).
	Source    string
	Bucket    string
	Key       string // a tree's prefix
	UploadID  string // "" for a tree, or before an upload was created
	StatePath string // the journal that a rerun continues from
	// BytesDone are the bytes on the server, of this run and earlier ones;
	// BytesTotal the whole upload's (0: unknown, a stream of unknown size).
	BytesDone, BytesTotal int64
	// PartsDone of PartsTotal parts are on the server (a file, a stream;
	// PartsTotal 0: unknown).
	PartsDone, PartsTotal int
	// FilesDone of FilesTotal files are stored or unchanged (a tree).
	FilesDone, FilesTotal int
	// BytesSent were sent by this run.
	BytesSent int64
	// Elapsed is this run's time; Window the window's length.
	Elapsed, Window time.Duration
	// WindowsNeeded is about how many more windows like this one the rest
	// needs at this run's rate (schedule.WindowsNeeded); EstimateOK is false
	// when there is nothing to go on.
	WindowsNeeded int64
	EstimateOK    bool
	// Stream: the source is a stream, which a rerun reads again from its
	// start; only parts that match by content are not sent again.
	Stream bool
}

func (e *WindowError) Error() string {
	var b strings.Builder
	b.WriteString(ErrWindowEnded.Error())
	if p := e.Progress(); p != "" {
		b.WriteString(": " + p)
	}
	return b.String()
}

// Unwrap gives the kind: ErrWindowEnded.
func (e *WindowError) Unwrap() error { return ErrWindowEnded }

// Ratio is BytesDone/BytesTotal, and false when the total is unknown.
func (e *WindowError) Ratio() (float64, bool) {
	if e.BytesTotal <= 0 {
		return 0, false
	}
	return float64(e.BytesDone) / float64(e.BytesTotal), true
}

// Progress says how far the upload got, for people ("" when nothing is
// known): bytes and percent, parts or files.
func (e *WindowError) Progress() string {
	var what []string
	if r, ok := e.Ratio(); ok {
		what = append(what, fmt.Sprintf("%s of %s (%.1f%%) on the server", humanize.IBytes(uint64(e.BytesDone)), humanize.IBytes(uint64(e.BytesTotal)), 100*r))
	} else if e.BytesDone > 0 {
		what = append(what, fmt.Sprintf("%s on the server", humanize.IBytes(uint64(e.BytesDone))))
	}
	switch {
	case e.FilesTotal > 0:
		what = append(what, fmt.Sprintf("%d of %d files", e.FilesDone, e.FilesTotal))
	case e.PartsTotal > 0:
		what = append(what, fmt.Sprintf("%d of %d parts", e.PartsDone, e.PartsTotal))
	case e.PartsDone == 1:
		what = append(what, "1 part")
	case e.PartsDone > 1:
		what = append(what, fmt.Sprintf("%d parts", e.PartsDone))
	}
	return strings.Join(what, ", ")
}

// windowStopped builds the error of a session stopped at its window.
func (s *session) windowStopped() error {
	s.mu.Lock()
	var done int64
	for _, p := range s.parts {
		done += p.Size
	}
	parts, sent := len(s.parts), s.res.BytesSent
	s.mu.Unlock()
	total, count := s.id.Size, int(s.plan.Count)
	if s.data.inMemory() {
		total, count = s.src.(*streamOrigin).st.expected(), 0
		if f, ok := s.feed.(*streamFeed); ok && f.plan != nil {
			count = int(f.plan.Count)
		}
	}
	w := s.opts.Window
	e := &WindowError{Source: s.res.Source, Bucket: s.dest.Bucket, Key: s.dest.Key, UploadID: s.uploadID, StatePath: s.sc.Path(),
		BytesDone: done, BytesTotal: max(total, 0), PartsDone: parts, PartsTotal: count,
		BytesSent: sent, Elapsed: w.Elapsed(), Window: w.Length(), Stream: s.data.inMemory()}
	e.estimate()
	return e
}

// estimate fills WindowsNeeded from this run's rate.
func (e *WindowError) estimate() {
	if e.BytesTotal <= 0 {
		return
	}
	e.WindowsNeeded, e.EstimateOK = schedule.WindowsNeeded(e.BytesSent, e.BytesTotal-e.BytesDone, e.Elapsed, e.Window)
}

// windowDone is the channel closed at the end of the call's window (nil,
// never closed, without one).
func (o Options) windowDone() <-chan struct{} { return o.Window.Done() }

// windowEnded reports whether the call's window has ended.
func (o Options) windowEnded() bool { return o.Window.Ended() }

// withWindow returns the context of a part's requests: none is retried
// once the window has ended, so a retry never runs past it. Other requests
// (reconciliation, completion) are retried as always: they finish what
// they started.
func (o Options) withWindow(ctx context.Context) context.Context {
	if o.Window == nil {
		return ctx
	}
	if _, ok := o.Window.Deadline(); !ok {
		return ctx
	}
	return store.WithRetryStop(ctx, o.Window.Done(), ErrWindowEnded)
}
