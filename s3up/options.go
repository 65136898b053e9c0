package s3up

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/schedule"
	"github.com/s3up/s3up/s3up/store"
)

// Options configure an Uploader. Zero values mean the documented default;
// NewUploader resolves them in one place. Facts about the store (its
// endpoint, whether it is reached over TLS) come from the store.Client, not
// from here.
type Options struct {
	// PartSize is the size of every part but the last (0 → DefaultPartSize).
	PartSize int64
	// PartSizeExplicit marks PartSize as the user's choice: the planner then
	// refuses a size that needs more than MaxParts parts instead of raising it.
	PartSizeExplicit bool
	// MinPartSize is the smallest part the store accepts (0 → MinPartSize,
	// S3's 5 MiB): PartSize may not be smaller. A store with a lower limit,
	// or an in-memory fake in tests, may allow less.
	MinPartSize int64
	// MultipartThreshold is the size from which a source is sent as a
	// multipart upload (0 → the part size). A smaller one goes in one
	// PutObject with its checksum: one request instead of four, and a plain
	// MD5 ETag that other tools understand; below one part there is nothing
	// to resume.
	MultipartThreshold int64
	// Concurrency is the number of parts in flight (0 → DefaultConcurrency).
	Concurrency int
	// Checksum is the per-part integrity check ("" → checksum.Default).
	Checksum checksum.Algorithm
	// Payload selects SigV4 payload signing (zero → PayloadAuto).
	Payload PayloadSigning
	// HeaderChecksum computes each part's checksum in a read of the part
	// before it is sent and sends it in a signed header, over HTTPS too.
	// By default, over HTTPS, the checksum is computed from the bytes as
	// they are sent and follows them as an aws-chunked trailer: one read of
	// the file instead of two (see store.WithTrailer). A store that refuses
	// trailers, or does not show the checksum it received that way, gets the
	// header instead, learned once per endpoint. Over plain HTTP the header
	// is always used: it is covered by the signature, a trailer is not.
	HeaderChecksum bool
	// StateDir holds resume state ("" → resume.DefaultStateDir()).
	StateDir string
	// Fresh discards existing resume state (aborting its upload) first.
	Fresh bool
	// Force uploads a file even when the object at the key is the file
	// already. By default Put sends nothing then: the object has the
	// file's size and the modification time s3up stored with it (or, with
	// ChecksumCompare, its content), as a tree run skips unchanged files.
	Force bool
	// ChecksumCompare decides whether a file is unchanged by reading it and
	// comparing its checksums with the object's, instead of by size and
	// modification time.
	ChecksumCompare bool
	// Verify says how the completed object is checked against what was
	// computed from the source (zero → VerifyContent).
	Verify VerifyMode
	// TrustJournal skips re-reading the parts a resume keeps from an earlier
	// run. By default each kept part is hashed again and compared with the
	// journal before Complete, so that a file edited in place is never
	// completed as a mix of old and new bytes; that costs a local read of
	// the kept bytes, never the network.
	TrustJournal bool
	// BandwidthLimit caps upload bytes per second across all parts (0 → none).
	BandwidthLimit int64
	// Bandwidth is a bandwidth timetable (schedule.ParseTimetable) followed
	// live: at each of its changes the new rate applies at once to every
	// request in flight. nil → BandwidthLimit; not both.
	Bandwidth *schedule.Timetable
	// Window is the time the Uploader's puts may work (schedule.NewWindow):
	// once it has ended no part or file starts, parts in flight finish or,
	// in schedule.Hard mode, are cancelled, no request is retried, and a
	// put returns a *WindowError (ErrWindowEnded). nil → no end.
	Window *schedule.Window
	// Clock is what the bandwidth timetable is read on (nil → the wall
	// clock); tests inject a schedule.FakeClock.
	Clock schedule.Clock
	// Grace is how long in-flight parts may finish after ctx is cancelled
	// before they are cut off (0 → DefaultGrace; negative → cut at once).
	Grace time.Duration
	// Object holds object attributes fixed when the upload is created.
	Object ObjectOptions
	// Seal, if not nil, encrypts what is uploaded to age recipients: the
	// object is a standard age file (see Seal).
	Seal *Seal
	// Listener receives progress and events (nil → none).
	Listener Listener
}

// VerifyMode says how a completed object is checked against the source.
type VerifyMode string

const (
	// VerifyContent, the default, compares every value the store reports
	// (checksums, ETags that are MD5s, its own CRC-64) with the ones
	// computed from the bytes sent; where nothing the store reports proves
	// the bytes, the object is read back and hashed.
	VerifyContent VerifyMode = ""
	// VerifySize compares what the store's answers allow but never reads
	// the object back: on a store that reports nothing else, only the size.
	VerifySize VerifyMode = "size"
	// VerifyOff does not look at the completed object.
	VerifyOff VerifyMode = "off"
)

// ParseVerifyMode parses a verification mode: "content" (or "", "true"),
// "size", "off" (or "false").
func ParseVerifyMode(v string) (VerifyMode, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "true", "content", "full":
		return VerifyContent, nil
	case "size":
		return VerifySize, nil
	case "off", "false", "none":
		return VerifyOff, nil
	}
	return "", fmt.Errorf("%w: unknown verification %q (choose content, size or off)", ErrBadInput, v)
}

// DefaultGrace is how long in-flight parts may finish after an interrupt.
const DefaultGrace = 5 * time.Second

// PayloadSigning selects how the SigV4 signature covers part bodies.
type PayloadSigning string

const (
	// PayloadAuto sends UNSIGNED-PAYLOAD whenever the part carries a
	// checksum (the checksum header is covered by the signature and the
	// server verifies the bytes against it; this is also what the AWS SDKs
	// do by default), and over HTTPS. Only a part with no checksum sent over
	// plain HTTP gets a signed SHA-256 payload hash, so that no default
	// leaves bytes on an unencrypted link without an integrity check.
	PayloadAuto PayloadSigning = "auto"
	// PayloadSigned always signs the payload SHA-256 (one more hash pass,
	// about 1.5 CPU-s per GiB): tamper-evidence against an active attacker
	// on a plain-HTTP link, which a CRC cannot give.
	PayloadSigned PayloadSigning = "signed"
	// PayloadUnsigned never signs it. With --checksum none over plain HTTP
	// nothing then protects the bytes, so it must be asked for.
	PayloadUnsigned PayloadSigning = "unsigned"
)

// ParsePayloadSigning parses a --payload value.
func ParsePayloadSigning(s string) (PayloadSigning, error) {
	switch p := PayloadSigning(strings.ToLower(s)); p {
	case "":
		return PayloadAuto, nil
	case PayloadAuto, PayloadSigned, PayloadUnsigned:
		return p, nil
	}
	return "", fmt.Errorf("%w: unknown payload signing %q (choose auto, signed or unsigned)", ErrBadInput, s)
}

// ParseChecksum parses a --checksum value ("" means the default).
func ParseChecksum(s string) (checksum.Algorithm, error) {
	a, err := checksum.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	return a, nil
}

// ObjectOptions are the object attributes `aws s3 cp` users expect. They are
// fixed when the upload is created, so the ones the user set are recorded in
// the resume state and a resume with different values is refused.
type ObjectOptions struct {
	// ContentType is the Content-Type; "" → guessed from the file name when
	// the upload is created (not recorded: a different guess after an OS
	// update must not block a resume).
	ContentType  string
	CacheControl string
	StorageClass string
	ACL          string
	SSE          string // "AES256", "aws:kms", "aws:kms:dsse"
	SSEKMSKeyID  string
	Metadata     map[string]string
	// RetentionMode ("GOVERNANCE" or "COMPLIANCE") and RetainUntil put the
	// object under S3 Object Lock: nobody can delete or overwrite it before
	// then (COMPLIANCE: not even the root user), which is what makes a
	// backup safe from ransomware with the bucket's credentials. RetainUntil
	// is a date (RFC 3339, or YYYY-MM-DD) or a duration from the moment the
	// upload is created ("30d", "36h"). The bucket must have Object Lock.
	RetentionMode string
	RetainUntil   string
	// LegalHold puts a legal hold on the object (no deletion until removed).
	LegalHold bool
}

// Record flattens the options the user set into the map kept in the resume
// state (nil when none is set).
func (o ObjectOptions) Record() map[string]string {
	m := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set("content-type", o.ContentType)
	set("cache-control", o.CacheControl)
	set("storage-class", o.StorageClass)
	set("acl", o.ACL)
	set("sse", o.SSE)
	set("sse-kms-key-id", o.SSEKMSKeyID)
	set("retention-mode", o.RetentionMode)
	set("retain-until", o.RetainUntil)
	if o.LegalHold {
		m["legal-hold"] = "ON"
	}
	for _, k := range slices.Sorted(maps.Keys(o.Metadata)) {
		m["metadata:"+strings.ToLower(k)] = o.Metadata[k]
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Checksum == "" {
		o.Checksum = checksum.Default
	}
	if o.Payload == "" {
		o.Payload = PayloadAuto
	}
	if o.Grace == 0 {
		o.Grace = DefaultGrace
	}
	if o.MinPartSize <= 0 {
		o.MinPartSize = MinPartSize
	}
	return o
}

// Validate checks options that do not depend on the source.
func (o Options) Validate() error {
	if o.MinPartSize < 0 {
		return fmt.Errorf("%w: negative minimum part size", ErrBadInput)
	}
	if o.PartSize != 0 {
		floor := o.MinPartSize
		if floor == 0 {
			floor = MinPartSize
		}
		if err := validatePartSize(o.PartSize, floor); err != nil {
			return err
		}
	}
	if o.Concurrency < 0 || o.Concurrency > MaxConcurrency {
		return fmt.Errorf("%w: concurrency %d is out of range 1..%d", ErrBadInput, o.Concurrency, MaxConcurrency)
	}
	if o.BandwidthLimit < 0 {
		return fmt.Errorf("%w: negative bandwidth limit", ErrBadInput)
	}
	if o.BandwidthLimit > 0 && o.Bandwidth != nil {
		return fmt.Errorf("%w: a bandwidth limit and a bandwidth timetable: give one of them", ErrBadInput)
	}
	if o.Checksum != "" {
		if _, err := ParseChecksum(string(o.Checksum)); err != nil {
			return err
		}
	}
	if _, err := ParsePayloadSigning(string(o.Payload)); err != nil {
		return err
	}
	if _, err := ParseVerifyMode(string(o.Verify)); err != nil {
		return err
	}
	return o.Object.validateLock(time.Now())
}

// validateLock checks the Object Lock options.
func (o ObjectOptions) validateLock(now time.Time) error {
	switch strings.ToUpper(o.RetentionMode) {
	case "", "GOVERNANCE", "COMPLIANCE":
	default:
		return fmt.Errorf("%w: retention mode %q (choose GOVERNANCE or COMPLIANCE)", ErrBadInput, o.RetentionMode)
	}
	if (o.RetentionMode == "") != (o.RetainUntil == "") {
		return store.WithHint(fmt.Errorf("%w: an Object Lock retention needs both a mode and a date", ErrBadInput), store.HintObjectLock)
	}
	if o.RetainUntil == "" {
		return nil
	}
	t, err := RetainUntil(o.RetainUntil, now)
	if err != nil {
		return err
	}
	if !t.After(now) {
		return store.WithHint(fmt.Errorf("%w: the retention date %s is not in the future", ErrBadInput, o.RetainUntil), store.HintRetainUntil)
	}
	return nil
}

// RetainUntil resolves a retention date: RFC 3339, YYYY-MM-DD (midnight
// UTC), or a duration after now in days and Go units ("30d", "36h",
// "1d12h").
func RetainUntil(spec string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, spec); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", spec); err == nil {
		return t.UTC(), nil
	}
	if d, err := ParseAge(spec); err == nil && d > 0 {
		return now.Add(d).UTC().Truncate(time.Second), nil
	}
	return time.Time{}, fmt.Errorf("%w: retention date %q is neither a date (2027-01-31, RFC 3339) nor a duration (30d, 36h)", ErrBadInput, spec)
}

// ParseAge parses a duration in Go units with whole days allowed: 7d, 36h,
// 90m, 1d12h.
func ParseAge(s string) (time.Duration, error) {
	bad := fmt.Errorf("%w: %q is not a duration (examples: 7d, 36h, 90m, 1d12h)", ErrBadInput, s)
	s = strings.TrimSpace(s)
	var days int64
	if before, after, ok := strings.Cut(s, "d"); ok {
		n, err := strconv.ParseInt(before, 10, 64)
		if err != nil || n < 0 || n > 100*365 {
			return 0, bad
		}
		days, s = n, after
	}
	var d time.Duration
	if s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d < 0 {
			return 0, bad
		}
	}
	return time.Duration(days)*24*time.Hour + d, nil
}

// wire is how one upload's parts travel: decided once per upload from the
// options and the client, so every part and the final check agree.
type wire struct {
	alg      checksum.Algorithm
	tls      bool
	payload  PayloadSigning
	trailer  bool // checksum in an aws-chunked trailer, unless the store turns out to refuse it
	kmsETags bool // SSE-KMS: part ETags are not MD5s
	// noTrailer is set when the store refused a trailer in this run: the
	// parts that follow carry the header.
	noTrailer *atomic.Bool
}

// newWire decides how the parts of an upload travel. The part size no
// longer matters: trailer bodies are cut in chunks every store accepts.
func newWire(o Options, alg checksum.Algorithm, tls bool) wire {
	w := wire{alg: alg, tls: tls, payload: o.Payload, kmsETags: strings.HasPrefix(strings.ToLower(o.Object.SSE), "aws:kms"), noTrailer: new(atomic.Bool)}
	w.trailer = !o.HeaderChecksum && tls && alg.Flexible() && o.Payload != PayloadSigned
	return w
}

// signPayload reports whether part bodies get a signed SHA-256.
func (w wire) signPayload() bool {
	switch w.payload {
	case PayloadSigned:
		return true
	case PayloadUnsigned:
		return false
	}
	return !w.tls && (w.alg == checksum.None || w.alg == "")
}

// checkETags reports whether each part's ETag must be compared with the MD5
// of the bytes read from the file. A part with no checksum and an unsigned
// payload is covered by nothing else: a bit flipped between the file and the
// server's disk (a proxy, a NIC, the file changing between the hashing read
// and the sending read) would be stored, and the multipart ETag would
// faithfully describe the damaged object. The MD5 is computed in the read
// that hashes the part anyway, so it costs CPU only and no I/O. Stores whose
// part ETags are not MD5s (SSE-KMS) cannot be checked this way. Over HTTPS,
// TLS protects the bytes in transit and the MD5 is not spent.
func (w wire) checkETags() bool {
	return w.alg == checksum.None && !w.signPayload() && !w.tls && !w.kmsETags
}

// request is the hashing pass a part needs before it is sent.
func (w wire) request() checksum.Request {
	return checksum.Request{Alg: w.alg, SHA256: w.signPayload(), MD5: w.checkETags(), CRC32C: w.alg == checksum.MD5}
}
