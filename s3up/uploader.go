package s3up

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/time/rate"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/schedule"
	"github.com/s3up/s3up/s3up/source"
	"github.com/s3up/s3up/s3up/store"
)

// Uploader uploads sources with multipart upload and resumes interrupted
// uploads from their journal. It is safe for concurrent use: each Put runs
// its own session, and they share the client and the bandwidth limit.
type Uploader struct {
	client  *store.Client
	opts    Options
	limiter bandwidth // nil: no limit
	tt      *schedule.Limiter
	// slots is the concurrency budget every request that carries data
	// takes a place in (a part, a small file's PutObject): Concurrency
	// at a time across all the Uploader's sessions, so a tree of many
	// files and a big file in it share one budget.
	slots chan struct{}

	stateOnce sync.Once
	stateDir  string
	stateErr  error
	profiles  *store.Profiles
	distrusts *resume.DistrustList
	index     journalIndex // the state directory's journals, by destination (supersede.go)

	// betweenWalks, set by tests, runs in a tree run after the counting
	// walk and the listing, before the walk that uploads.
	betweenWalks func()
}

// New returns an Uploader that talks through an existing S3 client. The
// client keeps its retryer and HTTP client; s3up adds per call what it needs
// (store.FromS3 says what).
func New(client *s3.Client, opts Options) (*Uploader, error) {
	c, err := store.FromS3(client)
	if err != nil {
		return nil, err
	}
	return NewUploader(c, opts)
}

// NewFromConfig returns an Uploader with an S3 client built from cfg: its
// credentials, region and HTTP client, with s3up's retryer and connection
// tuning where cfg leaves them open (store.FromConfig). optFns change the
// S3 client's options (BaseEndpoint, UsePathStyle for a store other than
// AWS).
func NewFromConfig(cfg aws.Config, opts Options, optFns ...func(*s3.Options)) (*Uploader, error) {
	c, err := store.FromConfig(cfg, store.ClientConfig{Concurrency: opts.Concurrency}, optFns...)
	if err != nil {
		return nil, err
	}
	return NewUploader(c, opts)
}

// NewUploader returns an Uploader talking through c, or an error (wrapping
// ErrBadInput) for options that cannot work. Options are resolved here;
// their facts about the store come from c.Info. Every put may change the
// options of its own call (see Put), except those the Uploader's puts
// share: Concurrency, BandwidthLimit, Bandwidth, Window, Clock and StateDir.
func NewUploader(c *store.Client, opts Options) (*Uploader, error) {
	if c == nil || c.API == nil {
		return nil, fmt.Errorf("%w: no S3 client", ErrBadInput)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	u := &Uploader{client: c, opts: opts, slots: make(chan struct{}, opts.Concurrency)}
	switch {
	case opts.Bandwidth != nil:
		u.tt = schedule.NewLimiter(opts.Bandwidth, opts.Clock)
		u.limiter = u.tt
	case opts.BandwidthLimit > 0:
		u.limiter = rate.NewLimiter(rate.Limit(opts.BandwidthLimit), int(min(opts.BandwidthLimit, bwBurst)))
	}
	return u, nil
}

// bandwidth is what a request body waits on: a constant rate.Limiter, or
// a schedule.Limiter following a timetable. A read is cut to Burst.
type bandwidth interface {
	Burst() int
	WaitN(ctx context.Context, n int) error
}

// Close releases the timer of the bandwidth timetable, if any. The
// Uploader must not be used afterwards.
func (u *Uploader) Close() error {
	u.tt.Close()
	return nil
}

// callOptions are the options of one call: the Uploader's, changed by fns.
func (u *Uploader) callOptions(fns []func(*Options)) (Options, error) {
	o := u.opts
	for _, fn := range fns {
		fn(&o)
	}
	if o.Concurrency != u.opts.Concurrency || o.BandwidthLimit != u.opts.BandwidthLimit || o.StateDir != u.opts.StateDir ||
		o.Bandwidth != u.opts.Bandwidth || o.Window != u.opts.Window || o.Clock != u.opts.Clock {
		return o, fmt.Errorf("%w: Concurrency, BandwidthLimit, Bandwidth, Window, Clock and StateDir are shared by all the puts of an Uploader: set them in its Options, not in one call's", ErrBadInput)
	}
	if err := o.Validate(); err != nil {
		return o, err
	}
	return o.withDefaults(), nil
}

// bwBurst is the largest single grant of the bandwidth limiter: small enough
// to keep the rate smooth, large enough not to cost CPU. Below it, the burst
// is one second's worth of the limit.
const bwBurst = 256 << 10

// Result describes a finished upload.
type Result struct {
	Source          string `json:"source"`
	Bucket          string `json:"bucket"`
	Key             string `json:"key"`
	UploadID        string `json:"upload_id,omitempty"`
	ETag            string `json:"etag"`
	Size            int64  `json:"size"`
	PartSize        int64  `json:"part_size"`
	Parts           int32  `json:"parts"`
	PartsSent       int    `json:"parts_sent"`
	PartsKept       int    `json:"parts_kept"`
	BytesSent       int64  `json:"bytes_sent"`
	BytesRechecked  int64  `json:"bytes_rechecked,omitempty"` // kept bytes read again before Complete
	BytesSkipped    int64  `json:"bytes_skipped,omitempty"`   // a stream's bytes not sent again: the server held them from an identical earlier run
	Resumed         bool   `json:"resumed"`
	AlreadyComplete bool   `json:"already_complete,omitempty"`
	// Unchanged: the object at the key is the source already; nothing was
	// sent (Options.Force sends it anyway).
	Unchanged bool `json:"unchanged,omitempty"`
	// VersionID is the object's version, in a bucket with versioning.
	VersionID string `json:"version_id,omitempty"`
	Checksum  string `json:"checksum,omitempty"` // the strongest value verified, for people
	// Checksums are the object's flexible checksums the store showed and
	// verification matched, by algorithm (composite ones end in -N).
	Checksums map[checksum.Algorithm]string `json:"checksums,omitempty"`
	// Verified says what was compared, for people ("" if verification was
	// off); Verification says it for programs.
	Verified string `json:"verified,omitempty"`
	// Verification says exactly which checks ran; nil when it was off.
	Verification  *Verification `json:"verification,omitempty"`
	BytesReadBack int64         `json:"bytes_read_back,omitempty"` // bytes of the object read back to verify it
	Duration      float64       `json:"duration_seconds"`
}

// Verification is what the check of a completed object compared.
type Verification struct {
	// Checks are the checks that matched, the size first: each compares a
	// value the store reports with one computed from the bytes sent.
	Checks []Check `json:"checks"`
	// NotChecked names the checks that could not run, and why.
	NotChecked []string `json:"not_checked,omitempty"`
	// Content is true when a check beyond the size proved the bytes.
	Content bool `json:"content"`
	// ReadBack is true when the object was read back to prove them.
	ReadBack bool `json:"read_back,omitempty"`
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
// sent. opts change the Uploader's options for this call (a Listener, the
// object's options, the part size).
//
// On failure the error wraps one of the Err* kinds; an *UploadError in the
// chain carries the upload id and state path. The journal is kept whenever
// the upload can be resumed, and removed once the object is verified.
func (u *Uploader) Put(ctx context.Context, path, bucket, key string, opts ...func(*Options)) (*Result, error) {
	o, err := u.callOptions(opts)
	if err != nil {
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
	return u.put(ctx, src, bucket, key, o)
}

// Identity is who a source given as an io.ReaderAt is (PutReaderAt): an
// interrupted upload is resumed only by a put of the same identity, size
// and destination, and the parts it kept are read again and compared with
// the journal before they are trusted (unless Options.TrustJournal).
type Identity struct {
	// Name names the source in the resume state and in messages (a path,
	// a URL, "db snapshot 42"); required.
	Name string
	// Version changes whenever the content does (a hash, a generation
	// number, the source's ETag): a different Version starts the upload
	// over. Empty: only the size and ModTime tell one content from another.
	Version string
	// ModTime, when set, is stored with the object as its modification
	// time (MTimeKey), and a put whose object has this size and time
	// already sends nothing (as Put does for a file; Options.Force sends).
	ModTime time.Time
}

// PutReaderAt uploads size bytes read from r to bucket/key, with the resume
// of Put: r is read at the offsets of the parts, several at once, and again
// to re-check kept parts; it must give the same bytes for the same offsets
// during the call. Nothing reads r after PutReaderAt returns.
func (u *Uploader) PutReaderAt(ctx context.Context, r io.ReaderAt, size int64, id Identity, bucket, key string, opts ...func(*Options)) (*Result, error) {
	o, err := u.callOptions(opts)
	if err != nil {
		return nil, err
	}
	if err := ValidateDestination(bucket, key); err != nil {
		return nil, err
	}
	switch {
	case r == nil:
		return nil, fmt.Errorf("%w: no reader", ErrBadInput)
	case size < 0:
		return nil, fmt.Errorf("%w: negative size %d", ErrBadInput, size)
	case strings.TrimSpace(id.Name) == "":
		return nil, fmt.Errorf("%w: a reader's Identity needs a Name", ErrBadInput)
	}
	src := &readerAtSource{r: r, name: id.Name, id: resume.Source{Path: ReaderID(id.Name), Size: size, ModTime: id.ModTime.UTC(), Fingerprint: id.Version}}
	return u.put(ctx, src, bucket, key, o)
}

// ReaderID is the resume-state identity of a reader named name.
func ReaderID(name string) string { return "reader:" + name }

// readerAtSource is an io.ReaderAt as a seekable source.
type readerAtSource struct {
	r    io.ReaderAt
	name string
	id   resume.Source
}

func (s *readerAtSource) ReadAt(p []byte, off int64) (int, error) { return s.r.ReadAt(p, off) }
func (s *readerAtSource) Identity() resume.Source                 { return s.id }
func (s *readerAtSource) Name() string                            { return s.name }
func (s *readerAtSource) Check() error                            { return nil }

// put runs the session of one seekable source with the call's options.
func (u *Uploader) put(ctx context.Context, src seekable, bucket, key string, o Options) (*Result, error) {
	ev := newEmitter(o.Listener, Ref{Source: src.Name(), Bucket: bucket, Key: key})
	res, err := u.putWith(ev.withRetries(ctx), src, bucket, key, ev, o, false)
	ev.close()
	return res, kinded(err)
}

// putWith runs the session of one seekable source, reporting through ev;
// inTree as in session.
func (u *Uploader) putWith(ctx context.Context, src seekable, bucket, key string, ev *emitter, o Options, inTree bool) (*Result, error) {
	start := time.Now()
	s := u.newSession(src, fileParts{src: src}, bucket, key, ev, o)
	s.ra, s.inTree = src, inTree
	if mt := s.id.ModTime; !mt.IsZero() {
		s.meta = map[string]string{MTimeKey: FormatMTime(mt)}
	}
	err := s.runAndSupersede(ctx)
	s.res.Duration = time.Since(start).Seconds()
	if err != nil {
		return nil, err
	}
	return s.res, nil
}

// newSession is the session of one source to bucket/key.
func (u *Uploader) newSession(src origin, data partData, bucket, key string, ev *emitter, o Options) *session {
	id := src.Identity()
	typeName := key
	if !data.inMemory() {
		typeName = src.Name()
	}
	return &session{
		u: u, opts: o, src: src, id: id, ev: ev, data: data, typeName: typeName,
		dest: resume.Destination{Endpoint: u.client.Info.Endpoint, Bucket: bucket, Key: key},
		res:  &Result{Source: src.Name(), Bucket: bucket, Key: key, Size: max(id.Size, 0)},
	}
}

// state returns the state directory and the store profiles remembered
// there, resolved once.
func (u *Uploader) state() (string, *store.Profiles, error) {
	u.stateOnce.Do(func() {
		u.stateDir, u.stateErr = u.opts.stateDir()
		if u.stateErr == nil {
			u.profiles = store.OpenProfiles(u.stateDir)
			u.distrusts = resume.OpenDistrust(u.stateDir)
		} else {
			u.distrusts = resume.OpenDistrust("")
		}
	})
	return u.stateDir, u.profiles, u.stateErr
}

// distrust returns the distrust list of the state directory (see
// resume.DistrustList).
func (u *Uploader) distrust() *resume.DistrustList {
	u.state()
	return u.distrusts
}

// acquire takes a place in the concurrency budget, or gives up when ctx
// ends; release gives it back.
func (u *Uploader) acquire(ctx context.Context) error {
	select {
	case u.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
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
		return "", store.WithHint(fmt.Errorf("%w: %w", ErrBadInput, err), store.HintStateDir)
	}
	return dir, nil
}
