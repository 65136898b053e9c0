package s3up

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/source"
	"github.com/s3up/s3up/s3up/store"
)

// Uploader uploads sources with multipart upload and resumes interrupted
// uploads from their journal. It is safe for concurrent use: each Put runs
// its own session, and they share the client and the bandwidth limit.
type Uploader struct {
	client  *store.Client
	opts    Options
	limiter *rate.Limiter
	// slots is the concurrency budget every request that carries data
	// takes a place in (a part, a small file's PutObject): Concurrency
	// at a time across all the Uploader's sessions, so a tree of many
	// files and a big file in it share one budget.
	slots chan struct{}

	stateOnce sync.Once
	stateDir  string
	stateErr  error
	profiles  *store.Profiles
}

// NewUploader returns an Uploader talking through c. Options are resolved
// here; their facts about the store come from c.Info.
func NewUploader(c *store.Client, opts Options) *Uploader {
	opts = opts.withDefaults()
	u := &Uploader{client: c, opts: opts, slots: make(chan struct{}, opts.Concurrency)}
	if opts.BandwidthLimit > 0 {
		u.limiter = rate.NewLimiter(rate.Limit(opts.BandwidthLimit), int(min(opts.BandwidthLimit, bwBurst)))
	}
	return u
}

// bwBurst is the largest single grant of the bandwidth limiter: small enough
// to keep the rate smooth, large enough not to cost CPU. Below it, the burst
// is one second's worth of the limit.
const bwBurst = 256 << 10

// Result describes a finished upload.
type Result struct {
	Source          string  `json:"source"`
	Bucket          string  `json:"bucket"`
	Key             string  `json:"key"`
	UploadID        string  `json:"upload_id,omitempty"`
	ETag            string  `json:"etag"`
	Size            int64   `json:"size"`
	PartSize        int64   `json:"part_size"`
	Parts           int32   `json:"parts"`
	PartsSent       int     `json:"parts_sent"`
	PartsKept       int     `json:"parts_kept"`
	BytesSent       int64   `json:"bytes_sent"`
	BytesRechecked  int64   `json:"bytes_rechecked,omitempty"` // kept bytes read again before Complete
	BytesSkipped    int64   `json:"bytes_skipped,omitempty"`   // a stream's bytes not sent again: the server held them from an identical earlier run
	Resumed         bool    `json:"resumed"`
	AlreadyComplete bool    `json:"already_complete,omitempty"`
	Checksum        string  `json:"checksum,omitempty"` // the object's checksum as verified
	Verified        string  `json:"verified,omitempty"` // what was compared; "" if verification was off
	Duration        float64 `json:"duration_seconds"`
}

// origin is what a session uploads: its identity in the journal, its name
// for people, and the check, before the object is completed, that it is
// still what it was (a file unchanged; a stream's producer exited 0).
type origin interface {
	Identity() resume.Source
	Name() string
	Check() error
}

// seekable is an origin any part of which can be read again: a file
// (source.File), or in tests a stand-in whose identity and bytes are
// controlled.
type seekable interface {
	io.ReaderAt
	origin
}

// Put uploads the file at path to bucket/key. If an earlier Put of the same
// file to the same destination was interrupted, it resumes: the journal is
// reconciled with the server's part list, the parts it keeps are checked
// against the file as it is now, and only missing or mismatched parts are
// sent.
//
// On failure the error wraps one of the Err* kinds; an *UploadError in the
// chain carries the upload id and state path. The journal is kept whenever
// the upload can be resumed, and removed once the object is verified.
func (u *Uploader) Put(ctx context.Context, path, bucket, key string) (*Result, error) {
	if err := u.opts.Validate(); err != nil {
		return nil, err
	}
	if err := ValidateDestination(bucket, key); err != nil {
		return nil, err
	}
	src, err := source.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	defer src.Close()
	return u.put(ctx, src, bucket, key)
}

func (u *Uploader) put(ctx context.Context, src seekable, bucket, key string) (*Result, error) {
	ev := newEmitter(u.opts.Listener)
	res, err := u.putWith(ctx, src, bucket, key, ev, false)
	ev.close()
	return res, err
}

// putWith runs the session of one seekable source, reporting through ev;
// answerVerifies as in session.
func (u *Uploader) putWith(ctx context.Context, src seekable, bucket, key string, ev *emitter, answerVerifies bool) (*Result, error) {
	start := time.Now()
	s := &session{
		u: u, opts: u.opts, src: src, ra: src, id: src.Identity(), ev: ev,
		dest:           resume.Destination{Endpoint: u.client.Info.Endpoint, Bucket: bucket, Key: key},
		res:            &Result{Source: src.Name(), Bucket: bucket, Key: key, Size: src.Identity().Size},
		meta:           map[string]string{MTimeKey: FormatMTime(src.Identity().ModTime)},
		answerVerifies: answerVerifies,
	}
	err := s.run(ctx)
	s.res.Duration = time.Since(start).Seconds()
	if err != nil {
		return nil, err
	}
	return s.res, nil
}

// state returns the state directory and the store profiles remembered
// there, resolved once.
func (u *Uploader) state() (string, *store.Profiles, error) {
	u.stateOnce.Do(func() {
		u.stateDir, u.stateErr = u.opts.stateDir()
		if u.stateErr == nil {
			u.profiles = store.OpenProfiles(u.stateDir)
		}
	})
	return u.stateDir, u.profiles, u.stateErr
}

// acquire takes a place in the concurrency budget; release gives it back.
func (u *Uploader) acquire() { u.slots <- struct{}{} }
func (u *Uploader) release() { <-u.slots }

// stateDir resolves Options.StateDir, creating the directory.
func (o Options) stateDir() (string, error) {
	dir, strict := o.StateDir, false
	if dir == "" {
		d, err := resume.DefaultStateDir()
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrBadInput, err)
		}
		dir, strict = d, true
	}
	dir, err := filepath.Abs(dir)
	if err == nil {
		err = resume.PrepareStateDir(dir, strict)
	}
	if err != nil {
		return "", fmt.Errorf("%w: %w; pass --state-dir DIR", ErrBadInput, err)
	}
	return dir, nil
}
