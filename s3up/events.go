package s3up

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/s3up/s3up/s3up/store"
)

// Event is something the engine reports while it works. The concrete types
// below are the whole set; a renderer switches on them. Ref names the put
// the event belongs to, so that one Listener can serve several puts at
// once.
type Event interface {
	eventName() string
	Ref() Ref
}

// Ref names a put: the source's name (a path, "standard input", a reader's
// Identity.Name; for a tree, its first root), the bucket, and the object's
// key (a tree's prefix). A tree's files report as themselves, wrapped in
// InFile; the tree's own events, its Progress included, name the tree.
type Ref struct {
	Source string
	Bucket string
	Key    string
}

// about is embedded in every event: the put it belongs to.
type about struct{ ref Ref }

// Ref returns the put the event belongs to.
func (a about) Ref() Ref { return a.ref }

// EventName returns the stable name of an event ("part_done", …), used as
// the "event" field of JSON output.
func EventName(e Event) string { return e.eventName() }

// Listener receives events. The calls of one put are serialised (never two
// at once) and made from a goroutine of the engine's that does nothing else:
// a slow listener (a blocked terminal, a slow pipe) delays only the
// reporting, never the upload. A Listener that several puts running at once
// share is called from each put's goroutine: it must be safe for concurrent
// use, and tells the puts apart by Event.Ref.
type Listener interface{ Event(Event) }

// ListenerFunc adapts a function to Listener.
type ListenerFunc func(Event)

// Event calls f(e).
func (f ListenerFunc) Event(e Event) { f(e) }

// Planned: the source was examined and the upload planned.
type Planned struct {
	about
	Source   string `json:"source"`
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	Size     int64  `json:"size"`
	PartSize int64  `json:"part_size"`
	Parts    int32  `json:"parts"`
	Raised   bool   `json:"part_size_raised,omitempty"`
	State    string `json:"state,omitempty"` // sidecar path
}

// Started: a new multipart upload was created.
type Started struct {
	about
	UploadID string `json:"upload_id"`
	Reason   string `json:"reason,omitempty"` // why a new upload replaced an old one
}

// Resumed: an existing upload was reconciled with the server.
type Resumed struct {
	about
	UploadID      string `json:"upload_id"`
	Parts         int    `json:"parts"`           // parts in the plan
	OnServer      int    `json:"on_server"`       // parts kept (server and sidecar agree, or adopted)
	Adopted       int    `json:"adopted"`         // of OnServer: found on the server only, verified against local bytes
	Mismatched    int    `json:"mismatched"`      // server parts that did not match and are re-sent
	ToSend        int    `json:"to_send"`         // parts this run sends
	BytesOnServer int64  `json:"bytes_on_server"` // bytes kept
}

// Rechecked: the parts a resume keeps were read again and compared with
// the journal (see Options.TrustJournal).
type Rechecked struct {
	about
	Parts   int   `json:"parts"`   // parts hashed again
	Bytes   int64 `json:"bytes"`   // bytes read
	Changed []int `json:"changed"` // part numbers whose bytes differ: they are sent again
}

// Notice: how the upload adapts to the store, known from an earlier run
// (the first time, it is a Warning).
type Notice struct {
	about
	Message string `json:"message"`
}

// Warning: something the user should know that did not stop the upload.
type Warning struct {
	about
	Message string `json:"message"`
	// Hint names what a user can do about it (0: nothing to add); a
	// program says it in its own terms.
	Hint store.Hint `json:"-"`
}

// Progress: a sample of the transfer, at most a few times a second. Bytes
// counts bytes handed to the network for parts still in flight plus bytes
// of acknowledged parts; it can go down when a retry rewinds a part.
type Progress struct {
	about
	Bytes     int64 `json:"bytes"`      // on the server or in flight, kept parts included
	Total     int64 `json:"total"`      // the source's size; -1 for a stream of unknown length
	PartsDone int   `json:"parts_done"` // acknowledged parts, kept ones included
	Parts     int32 `json:"parts"`      // 0 for a stream of unknown length
	// A tree's progress counts files: those done (uploaded, unchanged or
	// failed) of those found. Bytes and Total are then the tree's, the
	// unchanged files' bytes counted as done.
	FilesDone int `json:"files_done,omitempty"`
	Files     int `json:"files,omitempty"`
}

// PartDone: the server acknowledged part Number.
type PartDone struct {
	about
	Number int32  `json:"part"`
	Size   int64  `json:"size"`
	ETag   string `json:"etag"`
}

// Unchanged: the object at the key is the source already, so nothing is
// sent.
type Unchanged struct {
	about
	Size int64  `json:"size"`
	ETag string `json:"etag"`
	// How it was decided: "size and modification time", or what a content
	// comparison compared.
	By string `json:"by"`
}

// Completed: CompleteMultipartUpload (or PutObject) succeeded.
type Completed struct {
	about
	ETag string `json:"etag"`
}

// Verified: the object was checked against the source.
type Verified struct {
	about
	Method string `json:"method"` // what was compared, e.g. "size, CRC32C checksum"
	Value  string `json:"value"`
	// NotChecked names the checks that could not run, and why (a store
	// that does not show checksums, opaque ETags).
	NotChecked []string `json:"not_checked,omitempty"`
	// Content is true when a check beyond the size proved the bytes;
	// ReadBack when the object was read back to prove them.
	Content  bool `json:"content"`
	ReadBack bool `json:"read_back,omitempty"`
}

// Retry: a request failed and is sent again after Delay (the SDK's
// retryer, with exponential backoff). It is reported when the attempt
// failed, before the wait.
type Retry struct {
	about
	Operation   string        `json:"operation"`    // "upload part", "create multipart upload"
	Attempt     int           `json:"attempt"`      // the attempt about to be made: 2 for the first retry
	MaxAttempts int           `json:"max_attempts"` // attempts allowed in all
	Delay       time.Duration `json:"-"`            // the wait before the attempt
	Cause       string        `json:"cause"`        // why the last attempt failed: "connection refused", "503 SlowDown"
}

// MarshalJSON adds the delay in seconds.
func (r Retry) MarshalJSON() ([]byte, error) {
	type plain Retry
	return json.Marshal(struct {
		plain
		DelaySeconds float64 `json:"delay_seconds"`
	}{plain(r), r.Delay.Seconds()})
}

// Superseded: an upload this state directory recorded for another source
// to the same destination, interrupted and held by no running s3up, was
// aborted and its resume state removed, since the object at the key is now
// this put's.
type Superseded struct {
	about
	UploadID string `json:"upload_id"`
	Source   string `json:"superseded_source"` // the other source, as its state names it
	State    string `json:"state"`             // its resume state, removed
}

func (Planned) eventName() string    { return "planned" }
func (Retry) eventName() string      { return "retry" }
func (Started) eventName() string    { return "started" }
func (Resumed) eventName() string    { return "resumed" }
func (Rechecked) eventName() string  { return "rechecked" }
func (Warning) eventName() string    { return "warning" }
func (Notice) eventName() string     { return "notice" }
func (Progress) eventName() string   { return "progress" }
func (PartDone) eventName() string   { return "part_done" }
func (Completed) eventName() string  { return "completed" }
func (Unchanged) eventName() string  { return "unchanged" }
func (Verified) eventName() string   { return "verified" }
func (Superseded) eventName() string { return "superseded" }

// stamp returns ev naming the put ref, unless it names one already (a
// file's event forwarded by its tree).
func stamp(ev Event, ref Ref) Event {
	if ev.Ref() != (Ref{}) {
		return ev
	}
	a := about{ref}
	switch e := ev.(type) {
	case Planned:
		e.about = a
		return e
	case Started:
		e.about = a
		return e
	case Resumed:
		e.about = a
		return e
	case Rechecked:
		e.about = a
		return e
	case Notice:
		e.about = a
		return e
	case Warning:
		e.about = a
		return e
	case Progress:
		e.about = a
		return e
	case PartDone:
		e.about = a
		return e
	case Unchanged:
		e.about = a
		return e
	case Completed:
		e.about = a
		return e
	case Verified:
		e.about = a
		return e
	case Retry:
		e.about = a
		return e
	case Superseded:
		e.about = a
		return e
	case TreeScanned:
		e.about = a
		return e
	case FileDone:
		e.about = a
		return e
	case Skipped:
		e.about = a
		return e
	case Unreadable:
		e.about = a
		return e
	case InFile:
		e.about = a
		return e
	case Deleted:
		e.about = a
		return e
	}
	return ev
}

// progressEvery is how often the emitter samples the byte counters.
const progressEvery = 250 * time.Millisecond

// maxQueued is how many events may wait for a slow listener: past it,
// emit waits until the listener has taken the queue, so a tree of millions
// of files reported to a slow pipe slows the run down instead of holding
// every event in memory.
const maxQueued = 4096

// emitter hands events to a Listener from one goroutine of its own, through
// a queue: emit does not wait for the listener unless maxQueued events are
// waiting already. Byte counts are not events: the data path adds to atomic
// counters, and the emitter samples them into Progress events at most every
// progressEvery.
type emitter struct {
	l   Listener
	ref Ref // the put its events belong to

	mu      sync.Mutex
	room    sync.Cond // signalled when the listener takes the queue
	queue   []Event
	wake    chan struct{}
	stopped chan struct{}
	closed  bool

	planned   atomic.Bool
	bytes     atomic.Int64
	partsDone atomic.Int64
	total     atomic.Int64
	parts     atomic.Int32

	// A tree's emitter samples the bytes of the files in flight, whose
	// sessions report through children of it.
	parent    *emitter
	wrap      func(Event) Event // what a child forwards, and how (nil: nothing)
	childMu   sync.Mutex
	children  map[*emitter]struct{}
	files     atomic.Int64
	filesDone atomic.Int64
}

// child returns an emitter for one file of a tree: it has no goroutine;
// the events wrap returns (nil: dropped) go to e, and its bytes count in
// e's progress until done is called.
func (e *emitter) child(ref Ref, wrap func(Event) Event) *emitter {
	c := &emitter{parent: e, ref: ref, wrap: wrap, stopped: make(chan struct{})}
	close(c.stopped)
	e.childMu.Lock()
	if e.children == nil {
		e.children = map[*emitter]struct{}{}
	}
	e.children[c] = struct{}{}
	e.childMu.Unlock()
	return c
}

// fileDone ends child c: its bytes no longer count, and bytes (the file's
// size when it is done, 0 when it failed) count in e's instead.
func (e *emitter) fileDone(c *emitter, bytes int64) {
	e.childMu.Lock()
	delete(e.children, c)
	e.bytes.Add(bytes)
	e.filesDone.Add(1)
	e.childMu.Unlock()
}

func newEmitter(l Listener, ref Ref) *emitter {
	e := &emitter{l: l, ref: ref, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	e.room.L = &e.mu
	if l == nil {
		close(e.stopped)
		return e
	}
	go e.run()
	return e
}

func (e *emitter) emit(ev Event) {
	if e.parent == nil && e.l == nil {
		return
	}
	ev = stamp(ev, e.ref)
	if e.parent != nil {
		if e.wrap != nil {
			if ev = e.wrap(ev); ev != nil {
				e.parent.emit(ev)
			}
		}
		return
	}
	if e.l == nil {
		return
	}
	e.mu.Lock()
	// The emitter's own goroutine emits Progress: it never waits for
	// itself.
	_, own := ev.(Progress)
	for !own && !e.closed && len(e.queue) >= maxQueued {
		e.room.Wait()
	}
	if !e.closed {
		e.queue = append(e.queue, ev)
	}
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// withRetries returns ctx with the SDK's retries of its requests reported
// to e as Retry events.
func (e *emitter) withRetries(ctx context.Context) context.Context {
	return store.WithRetryNotifier(ctx, func(n store.RetryNotice) {
		e.emit(Retry{Operation: n.Op, Attempt: n.Attempt, MaxAttempts: n.MaxAttempts, Delay: n.Delay, Cause: store.RetryCause(n.Err)})
	})
}

// addBytes counts bytes sent (negative: a rewound part).
func (e *emitter) addBytes(n int64) { e.bytes.Add(n) }

// plan sets what Progress reports totals against, and the bytes and parts
// already on the server.
func (e *emitter) plan(total int64, parts int32, doneBytes int64, doneParts int) {
	e.planned.Store(true)
	e.total.Store(total)
	e.parts.Store(parts)
	e.bytes.Store(doneBytes)
	e.partsDone.Store(int64(doneParts))
}

func (e *emitter) partDone(ev PartDone) {
	e.partsDone.Add(1)
	e.emit(ev)
}

func (e *emitter) sample() Progress {
	e.childMu.Lock()
	defer e.childMu.Unlock()
	p := Progress{Bytes: e.bytes.Load(), Total: e.total.Load(), PartsDone: int(e.partsDone.Load()), Parts: e.parts.Load(),
		Files: int(e.files.Load()), FilesDone: int(e.filesDone.Load())}
	for c := range e.children {
		p.Bytes += c.bytes.Load()
	}
	return p
}

func (e *emitter) run() {
	defer close(e.stopped)
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	var last Progress
	for {
		closed := false
		select {
		case <-e.wake:
		case <-tick.C:
			if p := e.sample(); p != last && e.planned.Load() {
				last = p
				e.emit(p)
			}
		}
		e.mu.Lock()
		batch := e.queue
		e.queue = nil
		closed = e.closed
		e.room.Broadcast()
		e.mu.Unlock()
		for _, ev := range batch {
			e.l.Event(ev)
		}
		if closed {
			return
		}
	}
}

// close delivers every queued event and stops the emitter's goroutine; it
// returns once the listener has seen them all. Events emitted later are
// dropped.
func (e *emitter) close() {
	if e.l == nil || e.parent != nil {
		return
	}
	e.mu.Lock()
	e.closed = true
	e.room.Broadcast()
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
	<-e.stopped
}
