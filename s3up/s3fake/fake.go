package s3fake

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// Fake is an in-memory S3 store with the method set of the aws-sdk-go-v2 S3
// client's operations that s3up uses. Its zero value is not usable: create
// one with [New]. All methods are safe for concurrent use.
type Fake struct {
	cfg settings // fixed by New

	mu       sync.Mutex
	buckets  map[string]*bucket
	rng      *rand.Rand
	seq      uint64 // orders uploads created in the same instant
	hook     Hook
	faults   map[string][]Fault
	chaos    *chaosState
	calls    map[string]int
	bytes    map[string]int64
	injected map[string]int
}

type bucket struct {
	name    string
	objects map[string]*object
	uploads map[string]*upload // by upload id
}

// New returns an empty fake (no buckets) with AWS S3's behaviour, changed
// by opts.
func New(opts ...Option) *Fake {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	seed := cfg.seed
	if !cfg.seeded {
		seed = rand.Uint64()
	}
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	return &Fake{
		cfg:      cfg,
		buckets:  map[string]*bucket{},
		rng:      rand.New(rand.NewChaCha8(key)),
		hook:     cfg.hook,
		faults:   map[string][]Fault{},
		calls:    map[string]int{},
		bytes:    map[string]int64{},
		injected: map[string]int{},
	}
}

// CreateBucket creates an empty bucket; it does nothing if the bucket
// exists. Operations on a bucket that was not created fail with
// NoSuchBucket (404), or NotFound for HeadObject and HeadBucket.
func (f *Fake) CreateBucket(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.buckets[name]; !ok {
		f.buckets[name] = &bucket{name: name, objects: map[string]*object{}, uploads: map[string]*upload{}}
	}
}

// request describes one call for run.
type request struct {
	op string
	in any
	// For operations with a body: the body and its declared length.
	hasBody bool
	body    io.Reader
	length  *int64
	// precheck, if set, runs with the lock held before the body is read:
	// the checks a server makes on the request line and headers. A failure
	// is answered without reading the body.
	precheck func() error
}

// run carries out one operation: count it, call the hook, check the
// context, take the next fault, read the body and apply the operation
// (apply runs with f.mu held, once, or twice for LoseAnswerRetried).
func run[O any](f *Fake, ctx context.Context, r request, apply func(body []byte) (*O, error)) (*O, error) {
	f.mu.Lock()
	f.calls[r.op]++
	hook := f.hook
	f.mu.Unlock()

	if hook != nil {
		if err := hook(ctx, r.op, r.in); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, canceledError(r.op, err)
	}
	fault := f.nextFault(r.op)
	if fault.refuses() && !fault.afterBody {
		return nil, fault.error(r.op)
	}
	if r.precheck != nil {
		f.mu.Lock()
		err := r.precheck()
		f.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	var body []byte
	if r.hasBody {
		var err error
		if body, err = f.readBody(r.op, r.body, r.length); err != nil {
			return nil, err
		}
		if fault.kind == corrupt && len(body) > 0 {
			f.mu.Lock()
			i, bit := f.rng.IntN(len(body)), f.rng.IntN(8)
			f.mu.Unlock()
			body[i] ^= 1 << bit
		}
	}
	if fault.refuses() {
		return nil, fault.error(r.op)
	}

	f.mu.Lock()
	out, err := apply(body)
	f.mu.Unlock()
	switch fault.kind {
	case loseAnswer:
		return nil, ConnectionReset(r.op)
	case loseAnswerRetried:
		// The SDK resends the same bytes (it rewinds a seekable body).
		f.mu.Lock()
		f.bytes[r.op] += int64(len(body))
		out, err = apply(body)
		f.mu.Unlock()
	}
	return out, err
}

// maxPutSize is the largest single PUT (object or part) AWS accepts: 5 GiB.
const maxPutSize = 5 << 30

// readBody reads a request body. A declared length is enforced: a body
// shorter or longer fails with IncompleteBody (reading stops one byte past
// the declared length). A read error fails the call as a failed send does.
func (f *Fake) readBody(op string, r io.Reader, length *int64) ([]byte, error) {
	if length != nil && *length > maxPutSize {
		return nil, APIError(op, http.StatusBadRequest, "EntityTooLarge", msgEntityTooLarge)
	}
	if length != nil && *length < 0 {
		return nil, APIError(op, http.StatusBadRequest, "InvalidArgument", "Content-Length must not be negative")
	}
	if r == nil {
		r = http.NoBody
	}
	if length != nil {
		r = io.LimitReader(r, *length+1)
	}
	data, err := io.ReadAll(r)
	f.mu.Lock()
	f.bytes[op] += int64(len(data))
	f.mu.Unlock()
	if err != nil {
		return nil, bodyReadError(op, err)
	}
	if length != nil && int64(len(data)) != *length {
		return nil, APIError(op, http.StatusBadRequest, "IncompleteBody", msgIncompleteBody)
	}
	return data, nil
}

// bucket returns the named bucket or the NoSuchBucket error for op. The
// caller holds f.mu.
func (f *Fake) bucket(op string, name *string) (*bucket, error) {
	if name == nil || *name == "" {
		return nil, APIError(op, http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.")
	}
	b, ok := f.buckets[*name]
	if !ok {
		return nil, APIError(op, http.StatusNotFound, "NoSuchBucket", msgNoSuchBucket)
	}
	return b, nil
}

// requireKey returns the object key of a request, or an error if it has
// none.
func requireKey(op string, key *string) (string, error) {
	if key == nil || *key == "" {
		return "", APIError(op, http.StatusBadRequest, "InvalidArgument", "A key must be specified")
	}
	return *key, nil
}

// now is the current time of the fake's clock, in UTC. The caller holds f.mu.
func (f *Fake) now() time.Time { return f.cfg.clock().UTC() }

// etag returns the quoted ETag of a part or single-PUT object. The caller
// holds f.mu.
func (f *Fake) etag(data []byte) string {
	if f.cfg.opaqueETags {
		var b [16]byte
		binary.LittleEndian.PutUint64(b[:8], f.rng.Uint64())
		binary.LittleEndian.PutUint64(b[8:], f.rng.Uint64())
		return `"` + hex.EncodeToString(b[:]) + `"`
	}
	sum := md5.Sum(data)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// newUploadID returns a random upload id shaped like AWS's. The caller
// holds f.mu.
func (f *Fake) newUploadID() string {
	var b [48]byte
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], f.rng.Uint64())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// resultMetadata is the ResultMetadata of a successful answer: the SDK
// records the request id there.
func resultMetadata() middleware.Metadata {
	var m middleware.Metadata
	awsmiddleware.SetRequestIDMetadata(&m, requestID().request)
	return m
}

// httpTime truncates t to what an HTTP date header carries (seconds).
func httpTime(t time.Time) *time.Time {
	t = t.Truncate(time.Second)
	return &t
}

// xmlTime truncates t to what an XML listing carries (milliseconds).
func xmlTime(t time.Time) *time.Time {
	t = t.Truncate(time.Millisecond)
	return &t
}

func trimETag(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

func copyMeta(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
