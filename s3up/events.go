package s3up

import "sync"

// Event is something the engine reports while it works. The concrete types
// below are the whole set; a renderer switches on them.
type Event interface{ eventName() string }

// EventName returns the stable name of an event ("part_done", …), used as
// the "event" field of JSON output.
func EventName(e Event) string { return e.eventName() }

// Listener receives events. Calls are serialised by the engine (never two at
// once) and happen on the engine's goroutines, so a listener must be quick
// and must not block: render, count, or hand off to a channel.
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

// Warning: something the user should know that did not stop the upload.
type Warning struct {
	Message string `json:"message"`
}

// Progress: bytes of part Number were handed to the network. Delta may be
// negative when a retry rewinds the part.
type Progress struct {
	Number int32 `json:"part"`
	Delta  int64 `json:"delta"`
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
	Method string `json:"method"` // what was compared, e.g. "CRC32C composite checksum and size"
	Value  string `json:"value"`
}

func (Planned) eventName() string   { return "planned" }
func (Started) eventName() string   { return "started" }
func (Resumed) eventName() string   { return "resumed" }
func (Warning) eventName() string   { return "warning" }
func (Progress) eventName() string  { return "progress" }
func (PartDone) eventName() string  { return "part_done" }
func (Completed) eventName() string { return "completed" }
func (Verified) eventName() string  { return "verified" }

// emitter serialises calls to a Listener; a nil Listener drops events.
type emitter struct {
	mu sync.Mutex
	l  Listener
}

func (e *emitter) emit(ev Event) {
	if e == nil || e.l == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.l.Event(ev)
}
