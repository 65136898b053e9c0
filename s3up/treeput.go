package s3up

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/internal/treemerge"
	"github.com/s3up/s3up/s3up/source"
	"github.com/s3up/s3up/s3up/store"
	"github.com/s3up/s3up/s3up/tree"
)

// Tree is a directory tree upload (PutTree).
type Tree struct {
	// Roots are directories, whose files go to Prefix + their path relative
	// to the directory, and files, which go to Prefix + their name.
	Roots  []string
	Bucket string
	Prefix string // "" (the bucket's top) or, usually, ending in "/"

	Filter         *tree.Filter // nil: every file
	FollowSymlinks bool
	// ChecksumCompare decides whether a file changed by reading it and
	// comparing its checksums with the object's, instead of by size and
	// modification time.
	ChecksumCompare bool
	// DryRun decides and reports what would be sent and deleted, and sends
	// and deletes nothing.
	DryRun bool
	// Delete removes the objects under Prefix that no file of the tree
	// (as filtered) names, once every file is stored; never when a file
	// failed, a directory could not be read, or the tree has no files.
	Delete bool
	// MaxDelete refuses to delete anything when more than this many objects
	// would go (0: no limit).
	MaxDelete int
}

// TreeResult summarises a tree run.
type TreeResult struct {
	Bucket         string    `json:"bucket"`
	Prefix         string    `json:"prefix"`
	Files          int       `json:"files"`           // regular files found and not excluded
	Bytes          int64     `json:"bytes"`           // their sizes
	Uploaded       int       `json:"uploaded"`        // files stored by this run
	BytesUploaded  int64     `json:"bytes_uploaded"`  // their sizes
	BytesSent      int64     `json:"bytes_sent"`      // bytes sent for them (less, when uploads resumed)
	Unchanged      int       `json:"unchanged"`       // files skipped: the object is the file
	BytesUnchanged int64     `json:"bytes_unchanged"` // their sizes
	Failed         int       `json:"failed"`          // files not stored
	BytesFailed    int64     `json:"bytes_failed"`
	Unreadable     int       `json:"unreadable"` // directories or entries that could not be read
	Skipped        int       `json:"skipped"`    // entries passed over: links not followed, FIFOs, sockets, devices
	Excluded       int       `json:"excluded"`   // files and directories left out by the filter
	Deleted        int       `json:"deleted"`
	DeleteFailed   int       `json:"delete_failed,omitempty"`
	DeleteRefused  string    `json:"delete_refused,omitempty"` // why --delete deleted nothing
	DryRun         bool      `json:"dry_run,omitempty"`
	Start          time.Time `json:"start"`
	End            time.Time `json:"end"`
	Duration       float64   `json:"duration_seconds"`
}

// Outcomes of a file in a tree run (FileDone.Outcome).
const (
	OutcomeUploaded = "uploaded"
	OutcomeSkipped  = "skipped"
	OutcomeFailed   = "failed"
	OutcomeDryRun   = "dry-run" // would be uploaded (Decision says why) or skipped
)

// TreeScanned: the tree was walked and the bucket listed.
type TreeScanned struct {
	about
	Files      int   `json:"files"`
	Bytes      int64 `json:"bytes"`
	Objects    int   `json:"objects"` // objects listed under the prefix
	Excluded   int   `json:"excluded"`
	Skipped    int   `json:"skipped"`
	Unreadable int   `json:"unreadable"`
}

// FileDone: one file of a tree is done: uploaded, skipped as unchanged,
// failed, or (dry run) decided.
type FileDone struct {
	about
	Path     string  `json:"path"`
	Key      string  `json:"key"`
	Size     int64   `json:"size"`
	Decision string  `json:"decision,omitempty"` // why it was sent or skipped (Decision*)
	Detail   string  `json:"detail,omitempty"`   // what a content comparison used
	Outcome  string  `json:"result"`             // Outcome*
	Upload   *Result `json:"upload,omitempty"`   // the upload, when one ran
	Err      error   `json:"-"`                  // why it failed
}

// Skipped: the walk passed over an entry that is not uploaded: a symbolic
// link not followed, a link loop, a dangling link, a FIFO, socket or
// device (never opened).
type Skipped struct {
	about
	Path   string `json:"path"`
	Reason string `json:"reason"`
	// NotFollowed: a symbolic link, which Tree.FollowSymlinks would follow.
	NotFollowed bool `json:"-"`
}

// Unreadable: a directory or entry of the tree could not be read; what it
// holds is not uploaded, and --delete deletes nothing.
type Unreadable struct {
	about
	Path string `json:"path"`
	Err  error  `json:"-"`
}

// InFile: an event of one file's upload within a tree (a warning, a
// resumed upload).
type InFile struct {
	about
	Path  string `json:"path"`
	Key   string `json:"key"`
	Event Event  `json:"-"`
}

// Deleted: an object under the prefix that no file names any more was
// deleted (DryRun: would be).
type Deleted struct {
	about
	Key    string `json:"key"`
	DryRun bool   `json:"dry_run,omitempty"`
	Err    error  `json:"-"`
}

func (TreeScanned) eventName() string { return "scanned" }
func (FileDone) eventName() string    { return "file" }
func (Skipped) eventName() string     { return "skipped" }
func (Unreadable) eventName() string  { return "unreadable" }
func (InFile) eventName() string      { return "in_file" }
func (Deleted) eventName() string     { return "deleted" }

// treeFile is a file of the tree with its key and what the listing and
// the journal say of that key.
type treeFile struct {
	tree.File
	key    string
	object *listedObject      // nil: not in the listing
	record *resume.TreeRecord // nil: the journal has nothing
}

// treeSortBudget is the memory each of a tree run's sorts may hold (the
// bucket listing, the keys --delete removes); what does not fit spills to
// the state directory's tmp/. Small, since a run holds a few at once and
// a tree's memory must not grow with it: the sorts spill past ~30,000
// objects, which costs a sequential write and read of ~70 bytes each.
const treeSortBudget = 2 << 20

// treeRun is one PutTree.
type treeRun struct {
	u    *Uploader
	opts Options // the call's
	t    Tree
	ev   *emitter
	dest resume.Destination // Key: the prefix
	jour *resume.TreeJournal
	tmp  string // where sorts spill
	// sealHeader is, for a sealed tree (Options.Seal), the size of the age
	// header for its recipients; 0 otherwise.
	sealHeader int64

	listing  *treemerge.SortedObjects // the bucket under the prefix, in key order
	problems map[string]bool          // paths the counting walk could not read
	gone     *resume.Sorter           // keys --delete would remove, in key order
	goneN    int
	merged   bool // the merge of walk, listing and journal reached its end

	mu          sync.Mutex
	res         TreeResult
	firstFail   error
	stopErr     error // a failure that stopped the run (no rerun of the other files would do better)
	transientNo int   // transient failures since the last success
	// window: the run's window ended before every file was done; the
	// files it stopped in flight had windowDone bytes on the server and
	// sent windowSent of them.
	window                 bool
	windowDone, windowSent int64
}

// PutTree uploads a directory tree: every regular file under each root that
// the filter keeps, to Prefix + its relative path. Files already stored
// unchanged are skipped (from the listing and the tree journal, or the
// mtime s3up stores with each object; or their checksums with
// ChecksumCompare); a file whose multipart upload was interrupted resumes.
// Small files go as one PutObject each, several at once: parts and files
// share the Uploader's concurrency budget.
//
// A file that fails does not stop the others; the result counts them and
// the error wraps ErrPartial (or, when no file could be stored, the first
// file's error). A failure that would fail every file (access denied, no
// such bucket) stops the run. The state of the run (the tree journal) lives
// in the state directory.
//
// Memory does not grow with the tree: the roots are walked twice, once to
// count them and once, in the byte order of their keys, merged with the
// bucket's listing (sorted on disk in the state directory's tmp/) and the
// tree journal (read in order), so no input is held whole. A file removed
// between the two walks is not part of the run; one added is.
func (u *Uploader) PutTree(ctx context.Context, t Tree, opts ...func(*Options)) (*TreeResult, error) {
	start := time.Now()
	o, err := u.callOptions(opts)
	if err != nil {
		return nil, err
	}
	if err := validateBucket(t.Bucket); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	if len(t.Roots) == 0 {
		return nil, fmt.Errorf("%w: no directory or file to upload", ErrBadInput)
	}
	r := &treeRun{u: u, opts: o, t: t, ev: newEmitter(o.Listener, Ref{Source: t.Roots[0], Bucket: t.Bucket, Key: t.Prefix}),
		dest:     resume.Destination{Endpoint: u.client.Info.Endpoint, Bucket: t.Bucket, Key: t.Prefix},
		problems: map[string]bool{},
		res:      TreeResult{Bucket: t.Bucket, Prefix: t.Prefix, DryRun: t.DryRun, Start: start}}
	defer r.ev.close()
	err = r.run(r.ev.withRetries(ctx))
	r.res.End = time.Now()
	r.res.Duration = r.res.End.Sub(start).Seconds()
	return &r.res, kinded(err)
}

func (r *treeRun) run(ctx context.Context) error {
	dir, _, err := r.u.state()
	if err != nil {
		return err
	}
	if err := r.sealTree(); err != nil {
		return err
	}
	r.tmp = filepath.Join(dir, "tmp")
	if err := os.MkdirAll(r.tmp, 0o700); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	path := resume.TreeJournalPath(dir, r.dest)
	var records *resume.TreeReader
	if r.t.DryRun {
		records = resume.OpenTreeReader(path, r.dest, resume.TreeOptions{TempDir: r.tmp, SortBudget: treeSortBudget})
	} else {
		j, err := resume.OpenTreeWith(path, r.dest, resume.TreeOptions{TempDir: r.tmp, SortBudget: treeSortBudget})
		if errors.Is(err, resume.ErrLocked) {
			return store.WithKind(ErrBusy, fmt.Errorf("another s3up is uploading a tree to s3://%s/%s (lock %s.lock)", r.t.Bucket, r.t.Prefix, path))
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrState, err)
		}
		r.jour = j
		records = j.Records()
	}
	defer records.Close()
	defer r.release()
	if err := r.scan(ctx); err != nil {
		r.closeJournal(false)
		return err
	}
	if r.t.Delete && r.res.Files == 0 {
		r.closeJournal(false)
		return store.WithHint(fmt.Errorf("%w: the tree has no files to upload: refusing to delete everything under s3://%s/%s", ErrBadInput, r.t.Bucket, r.t.Prefix), store.HintDeleteEmpty)
	}
	if r.res.Files == 0 {
		r.ev.emit(Warning{Message: fmt.Sprintf("no files to upload under %s", strings.Join(r.t.Roots, ", "))})
	}
	r.ev.files.Store(int64(r.res.Files))
	r.ev.plan(r.res.Bytes, 0, 0, 0)
	r.ev.emit(TreeScanned{Files: r.res.Files, Bytes: r.res.Bytes, Objects: int(r.listing.Len()), Excluded: r.res.Excluded,
		Skipped: r.res.Skipped, Unreadable: r.res.Unreadable})

	if r.u.betweenWalks != nil {
		r.u.betweenWalks()
	}
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	mergeErr := r.transfer(runCtx, stop, records)
	if err := records.Err(); err != nil && !r.t.DryRun {
		r.ev.emit(Warning{Message: fmt.Sprintf("the tree journal %s could not all be read (%v): the next files are compared with the server instead", path, err)})
	}
	interrupted := ctx.Err() != nil
	if !interrupted && mergeErr != nil && r.stopErr == nil {
		r.stopErr = mergeErr
	}
	windowStop := r.windowStopped()
	if !interrupted && r.stopErr == nil && !windowStop && r.t.Delete {
		r.delete(ctx)
	}
	r.closeJournal(!interrupted && r.merged)
	switch {
	case interrupted:
		// ctx.Err() (context.Canceled) is what callers test for; the cause,
		// when there is one (a signal), says why.
		if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() {
			return fmt.Errorf("tree upload stopped: %w: %w", ctx.Err(), cause)
		}
		return fmt.Errorf("tree upload stopped: %w", ctx.Err())
	case r.stopErr != nil:
		return r.stopErr
	case windowStop:
		return r.windowError()
	}
	return r.outcome()
}

// windowStopped reports whether the window stopped the run before every
// file was done.
func (r *treeRun) windowStopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.window
}

// stopAtWindow records that the window stopped the run, and what a file it
// stopped in flight had done (we nil: a file not started).
func (r *treeRun) stopAtWindow(we *WindowError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.window = true
	if we != nil {
		r.windowDone += we.BytesDone
		r.windowSent += we.BytesSent
	}
}

// windowError is the error of a tree run stopped at its window.
func (r *treeRun) windowError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := &r.res
	w := r.opts.Window
	e := &WindowError{Source: r.t.Roots[0], Bucket: r.t.Bucket, Key: r.t.Prefix,
		StatePath: resume.TreeJournalPath(r.u.stateDir, r.dest),
		BytesDone: res.BytesUploaded + res.BytesUnchanged + r.windowDone, BytesTotal: res.Bytes,
		FilesDone: res.Uploaded + res.Unchanged, FilesTotal: res.Files,
		BytesSent: res.BytesSent + r.windowSent, Elapsed: w.Elapsed(), Window: w.Length()}
	e.estimate()
	return e
}

// release removes what the run's sorts hold on disk.
func (r *treeRun) release() {
	if r.listing != nil {
		r.listing.Close()
	}
	if r.gone != nil {
		r.gone.Close()
	}
}

// outcome is the run's error from its counts.
func (r *treeRun) outcome() error {
	res := &r.res
	bad := res.Failed + res.Unreadable + res.DeleteFailed
	switch {
	case bad == 0 && res.DeleteRefused == "":
		return nil
	case res.Uploaded+res.Unchanged == 0 && res.Failed > 0:
		// Nothing could be stored: the first failure says what is wrong.
		return fmt.Errorf("%d of %d files failed; the first: %w", res.Failed, res.Files, r.firstFail)
	}
	var what []string
	if res.Failed > 0 {
		what = append(what, fmt.Sprintf("%d of %d files failed", res.Failed, res.Files))
	}
	if res.Unreadable > 0 {
		what = append(what, fmt.Sprintf("%d directories or entries could not be read", res.Unreadable))
	}
	if res.DeleteFailed > 0 {
		what = append(what, fmt.Sprintf("%d objects could not be deleted", res.DeleteFailed))
	}
	if res.DeleteRefused != "" {
		what = append(what, "nothing deleted: "+res.DeleteRefused)
	}
	return fmt.Errorf("%w: %s; rerun to retry", ErrPartial, strings.Join(what, "; "))
}

func (r *treeRun) closeJournal(compact bool) {
	if r.jour == nil {
		return
	}
	var err error
	if compact {
		// The records of the files this run found are kept; those of files
		// gone are dropped.
		err = r.jour.CloseSeen()
	} else {
		err = r.jour.Release()
	}
	r.jour = nil
	if err != nil {
		r.ev.emit(Warning{Message: fmt.Sprintf("the tree journal could not be written (%v): the next run asks the server about more files", err)})
	}
}

// walkOptions are the walk's options for this run.
func (r *treeRun) walkOptions() tree.Options {
	return tree.Options{FollowSymlinks: r.t.FollowSymlinks, Filter: r.t.Filter, TempDir: r.tmp}
}

// scan counts the tree (files, bytes, what is skipped or unreadable) and
// lists the bucket under the prefix into an on-disk sort, at once. Neither
// is held in memory: the files are walked again, in key order, as they are
// uploaded (transfer), merged with the listing and the journal.
func (r *treeRun) scan(ctx context.Context) error {
	if err := tree.Duplicates(ctx, r.t.Roots, r.walkOptions()); err != nil {
		return r.walkError(err)
	}
	type listed struct {
		s   *treemerge.SortedObjects
		err error
	}
	done := make(chan listed, 1)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		s, err := treemerge.SortObjects(r.listObjects(lctx), r.tmp, treeSortBudget)
		done <- listed{s, err}
	}()
	err := r.count(ctx)
	if err != nil {
		cancel()
	}
	l := <-done
	switch {
	case err != nil:
		if l.s != nil {
			l.s.Close()
		}
		return err
	case l.err != nil:
		return store.Classify(&UploadError{Op: "list the bucket", Err: l.err})
	}
	r.listing = l.s
	return nil
}

// listObjects is the bucket's listing under the prefix.
func (r *treeRun) listObjects(ctx context.Context) iter.Seq2[treemerge.Object, error] {
	return func(yield func(treemerge.Object, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stopped := false
		err := store.ListObjects(ctx, r.u.client.API, r.t.Bucket, r.t.Prefix, func(o store.Object) {
			if !stopped && !yield(treemerge.Object{Key: o.Key, Size: o.Size, ETag: o.ETag}, nil) {
				stopped = true
				cancel()
			}
		})
		if err != nil && !stopped {
			yield(treemerge.Object{}, err)
		}
	}
}

// count walks the tree once to count it, reporting what it skips or
// cannot read.
func (r *treeRun) count(ctx context.Context) error {
	v := tree.Visitor{
		Skipped: func(s tree.Skipped) {
			r.res.Skipped++
			r.ev.emit(Skipped{Path: s.Path, Reason: s.Reason, NotFollowed: s.NotFollowed})
		},
		Problem: func(p tree.Problem) {
			r.problems[p.Path] = true
			r.res.Unreadable++
			r.ev.emit(Unreadable{Path: p.Path, Err: p.Err})
		},
		Excluded: func(string, bool) { r.res.Excluded++ },
	}
	for f, err := range r.files(ctx, v) {
		if err != nil {
			return r.walkError(err)
		}
		r.res.Files++
		r.res.Bytes += f.Size
	}
	return nil
}

// walkError is a walk's error in the run's terms.
func (r *treeRun) walkError(err error) error {
	var dup *tree.DuplicateError
	switch {
	case errors.As(err, &dup):
		return fmt.Errorf("%w: %s and %s would both be uploaded to s3://%s/%s; upload them to different prefixes",
			ErrBadInput, dup.First, dup.Second, r.t.Bucket, r.t.Prefix+dup.Rel)
	case errors.Is(err, tree.ErrRoot):
		return fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	return err
}

// transfer walks the tree again, merged in key order with the listing and
// the journal, and runs the files, Concurrency at a time; the objects no
// file names are kept (in order, on disk) for delete. It returns what
// ended the merge early (nil: it reached its end, or ctx stopped it).
func (r *treeRun) transfer(ctx context.Context, stop context.CancelCauseFunc, records *resume.TreeReader) error {
	work := make(chan treeFile)
	var wg sync.WaitGroup
	for range r.opts.Concurrency {
		wg.Go(func() {
			for f := range work {
				switch {
				case ctx.Err() != nil: // a file not started when the run stops is not reported
				case r.opts.windowEnded():
					r.stopAtWindow(nil)
				default:
					r.file(ctx, f, stop)
				}
			}
		})
	}
	defer func() {
		close(work)
		wg.Wait()
	}()
	// A directory the counting walk could read but this one cannot is
	// reported now; either way --delete then deletes nothing.
	v := tree.Visitor{Problem: func(p tree.Problem) {
		if !r.problems[p.Path] {
			r.problems[p.Path] = true
			r.mu.Lock()
			r.res.Unreadable++
			r.mu.Unlock()
			r.ev.emit(Unreadable{Path: p.Path, Err: p.Err})
		}
	}}
	files, bytes := 0, int64(0)
	walk := r.files(ctx, v)
	for e, err := range treemerge.Merge(r.t.Prefix, walk, r.listing.All(), records.All()) {
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return r.walkError(err)
		}
		if e.File == nil {
			if e.Object != nil && r.t.Delete {
				if err := r.deleteCandidate(e.Key); err != nil {
					return err
				}
			}
			continue
		}
		if r.jour != nil {
			if err := r.jour.Seen(e.Key); err != nil {
				return fmt.Errorf("%w: %w", ErrState, err)
			}
		}
		files++
		bytes += e.File.Size
		f := treeFile{File: *e.File, key: e.Key, record: e.Record}
		if e.Object != nil {
			f.object = &listedObject{size: e.Object.Size, etag: e.Object.ETag}
		}
		if r.opts.windowEnded() {
			r.stopAtWindow(nil) // no file starts after the window
			return nil
		}
		select {
		case work <- f:
		case <-ctx.Done():
			return nil
		case <-r.opts.windowDone():
			r.stopAtWindow(nil)
			return nil
		}
	}
	if r.merged = ctx.Err() == nil; r.merged {
		// The files this walk found are the run's: one removed since the
		// counting walk is not part of it, one added since is.
		r.mu.Lock()
		r.res.Files, r.res.Bytes = files, bytes
		r.mu.Unlock()
	}
	return nil
}

// file decides about one file and uploads it if it must.
func (r *treeRun) file(ctx context.Context, f treeFile, stop context.CancelCauseFunc) {
	done := FileDone{Path: f.Path, Key: f.key, Size: f.Size}
	child := r.ev.child(Ref{Source: f.Path, Bucket: r.t.Bucket, Key: f.key}, func(e Event) Event {
		switch e.(type) {
		case Warning, Notice, Resumed, Started, Rechecked, Planned, Superseded:
			return InFile{Path: f.Path, Key: f.key, Event: e}
		}
		return nil
	})
	d, err := r.decide(ctx, f, child)
	if err == nil && d.next == fileSkip {
		done.Decision, done.Detail, done.Outcome = d.reason, d.detail, OutcomeSkipped
		if r.t.DryRun {
			done.Outcome = OutcomeDryRun
		} else {
			r.keepRecord(f, d.etag)
		}
		r.finish(child, done, nil)
		return
	}
	if err == nil {
		done.Decision, done.Detail = d.reason, d.detail
		if r.t.DryRun {
			done.Outcome = OutcomeDryRun
			r.finish(child, done, nil)
			return
		}
		done.Upload, err = r.upload(ctx, f, child)
	}
	var we *WindowError
	if errors.As(err, &we) {
		// Stopped at the window in flight: not a failure; its journal
		// lets the next run continue it.
		r.stopAtWindow(we)
		r.ev.fileDone(child, 0)
		r.ev.filesDone.Add(-1)
		return
	}
	if err != nil {
		done.Outcome, done.Err = OutcomeFailed, err
		r.finish(child, done, stop)
		return
	}
	done.Outcome = OutcomeUploaded
	r.finish(child, done, nil)
}

// decide gathers the facts decideFile asks for.
func (r *treeRun) decide(ctx context.Context, f treeFile, ev *emitter) (fileDecision, error) {
	if !utf8.ValidString(f.key) {
		return fileDecision{}, fmt.Errorf("%w: the name %q is not valid UTF-8, and S3 keys must be", ErrBadInput, f.Rel)
	}
	if len(f.key) > 1024 {
		return fileDecision{}, fmt.Errorf("%w: the key would be %d bytes long; S3 allows 1024", ErrBadInput, len(f.key))
	}
	facts := fileFacts{size: f.Size, mtime: f.ModTime, checksumCompare: r.t.ChecksumCompare, object: f.object, record: f.record}
	dest := resume.Destination{Endpoint: r.dest.Endpoint, Bucket: r.t.Bucket, Key: f.key}
	for {
		etag := ""
		switch {
		case facts.head != nil:
			etag = facts.head.etag
		case facts.object != nil:
			etag = facts.object.etag
		}
		_, facts.untrusted = r.u.distrust().Distrusted(dest, etag)
		d := decideFile(facts)
		switch d.next {
		case fileAskHead:
			h, err := r.headMTime(ctx, f.key)
			if err != nil {
				return d, err
			}
			facts.head = h
		case fileAskContent:
			h, c, err := r.compareContent(ctx, f, ev)
			if err != nil {
				return d, err
			}
			facts.head, facts.content = h, c
		default:
			return d, nil
		}
	}
}

// keepRecord records an unchanged file in the journal, unless the journal
// holds that record already: an unchanged rerun writes nothing.
func (r *treeRun) keepRecord(f treeFile, etag string) {
	if rec := f.record; rec != nil && rec.Size == f.Size && rec.MTime == f.ModTime.UnixNano() && rec.ETag == etag {
		return
	}
	r.record(f.key, f.Size, f.ModTime, etag)
}

func (r *treeRun) record(key string, size int64, mtime time.Time, etag string) {
	if r.jour != nil && etag != "" {
		r.jour.Put(resume.TreeRecord{Key: key, Size: size, MTime: mtime.UnixNano(), ETag: etag})
	}
}

// upload stores one file, through the session any Put runs.
func (r *treeRun) upload(ctx context.Context, f treeFile, child *emitter) (*Result, error) {
	src, err := source.Open(f.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%w (it was there when the tree was walked)", err)
		}
		return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	defer src.Close()
	res, err := r.u.putWith(ctx, src, r.t.Bucket, f.key, child, r.opts, true)
	if err != nil {
		return nil, err
	}
	id := src.Identity()
	r.record(f.key, res.Size, id.ModTime, res.ETag)
	return res, nil
}

// finish counts a file's outcome, reports it, and stops the run on a
// failure that every other file would meet too.
func (r *treeRun) finish(child *emitter, d FileDone, stop context.CancelCauseFunc) {
	r.mu.Lock()
	res := &r.res
	done := d.Size
	switch d.Outcome {
	case OutcomeUploaded:
		res.Uploaded++
		res.BytesUploaded += d.Size
		if d.Upload != nil {
			res.BytesSent += d.Upload.BytesSent
			done = d.Upload.Size
		}
		r.transientNo = 0
	case OutcomeSkipped, OutcomeDryRun:
		if d.Decision == DecisionUnchanged || d.Decision == DecisionSameContent {
			res.Unchanged++
			res.BytesUnchanged += d.Size
		}
		r.transientNo = 0
	case OutcomeFailed:
		done = 0
		res.Failed++
		res.BytesFailed += d.Size
		if r.firstFail == nil {
			r.firstFail = fmt.Errorf("%s: %w", d.Path, d.Err)
		}
		if errors.Is(d.Err, ErrTransient) {
			r.transientNo++
		}
		if stop != nil && r.stopErr == nil && !errors.Is(d.Err, context.Canceled) {
			if why := r.stopsAll(d.Err); why != "" {
				r.stopErr = fmt.Errorf("%s: %w; stopped the tree upload: %s", d.Path, d.Err, why)
				stop(r.stopErr)
			}
		}
	}
	r.mu.Unlock()
	r.ev.fileDone(child, done)
	r.ev.emit(d)
}

// stopsAll says why a file's failure stops the whole run ("" if it does
// not): access denied and a missing bucket would fail every file; a store that failed many files in a row
// after the SDK's retries is down. Called with mu held.
func (r *treeRun) stopsAll(err error) string {
	switch {
	case errors.Is(err, ErrAccess) || errors.Is(err, ErrNoBucket):
		return "every other file would fail the same way"
	case r.transientNo >= max(10, 2*r.opts.Concurrency):
		return fmt.Sprintf("%d files in a row failed, the store looks unreachable", r.transientNo)
	}
	return ""
}
