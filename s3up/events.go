package s3up

import (
	"sync"
	"sync/atomic"
	"time"
)

// Event is something the engine reports while it works. The concrete types
// below are the whole set; a renderer switches on them.
type Event interface{ eventName() string }

// EventName returns the stable name of an event ("part_done", …), used as
// the "event" field of JSON output.
func EventName(e Event) string { return e.eventName() }

// Listener receives events. Calls are serialised (never two at once) and
// made from a goroutine of the engine's that does nothing else: a slow
// listener (a blocked terminal, a slow pipe) delays only the reporting,
// never the upload.
type Listener interface{ Event(Event) }

// ListenerFunc adapts a function to Listener.
type ListenerFunc func(Event)

// Event calls f(e).
func (f ListenerFunc) Event(e Event) { f(e) }

// Planned: the source was examined and the upload planned.
type Planned struct {
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
	UploadID string `json:"upload_id"`
	Reason   string `json:"reason,omitempty"` // why a new upload replaced an old one
}

// Resumed: an existing upload was reconciled with the server.
type Resumed struct {
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
	Parts   int   `json:"parts"`   // parts hashed again
	Bytes   int64 `json:"bytes"`   // bytes read
	Changed []int `json:"changed"` // part numbers whose bytes differ: they are sent again
}

// Notice: how the upload adapts to the store, known from an earlier run
// (the first time, it is a Warning).
type Notice struct {
	Message string `json:"message"`
}

// Warning: something the user should know that did not stop the upload.
type Warning struct {
	Message string `json:"message"`
}

// Progress: a sample of the transfer, at most a few times a second. Bytes
// counts bytes handed to the network for parts still in flight plus bytes
// of acknowledged parts; it can go down when a retry rewinds a part.
type Progress struct {
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
	Number int32  `json:"part"`
	Size   int64  `json:"size"`
	ETag   string `json:"etag"`
}

// Completed: CompleteMultipartUpload (or PutObject) succeeded.
type Completed struct {
	ETag string `json:"etag"`
}

// Verified: the object was checked against the source.
type Verified struct {
	Method string `json:"method"` // what was compared, e.g. "size, CRC32C checksum"
	Value  string `json:"value"`
	// NotChecked names the checks that could not run, and why (a store
	// that does not show checksums, opaque ETags).
	NotChecked []string `json:"not_checked,omitempty"`
}

func (Planned) eventName() string   { return "planned" }
func (Started) eventName() string   { return "started" }
func (Resumed) eventName() string   { return "resumed" }
func (Rechecked) eventName() string { return "rechecked" }
func (Warning) eventName() string   { return "warning" }
func (Notice) eventName() string    { return "notice" }
func (Progress) eventName() string  { return "progress" }
func (PartDone) eventName() string  { return "part_done" }
func (Completed) eventName() string { return "completed" }
func (Verified) eventName() string  { return "verified" }

// progressEvery is how often the emitter samples the byte counters.
const progressEvery = 250 * time.Millisecond

// emitter hands events to a Listener from one goroutine of its own, through
// an unbounded queue: emit never blocks on the listener. Byte counts are
// not events: the data path adds to atomic counters, and the emitter
// samples them into Progress events at most every progressEvery.
type emitter struct {
	l Listener

	mu      sync.Mutex
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
func (e *emitter) child(wrap func(Event) Event) *emitter {
	c := &emitter{parent: e, wrap: wrap, stopped: make(chan struct{})}
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

func newEmitter(l Listener) *emitter {
	e := &emitter{l: l, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	if l == nil {
		close(e.stopped)
		return e
	}
	go e.run()
	return e
}

func (e *emitter) emit(ev Event) {
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
	if !e.closed {
		e.queue = append(e.queue, ev)
	}
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
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
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
	<-e.stopped
}
