package s3up

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Options configure an Uploader. Zero values mean the documented default;
// NewUploader resolves them in one place.
type Options struct {
	// PartSize is the size of every part but the last (0 → DefaultPartSize).
	PartSize int64
	// PartSizeExplicit marks PartSize as the user's choice: the planner then
	// refuses a size that needs more than MaxParts parts instead of raising it.
	PartSizeExplicit bool
	// Concurrency is the number of parts in flight (0 → DefaultConcurrency).
	Concurrency int
	// Checksum is the per-part integrity check ("" → DefaultChecksum).
	Checksum ChecksumAlgorithm
	// Payload selects SigV4 payload signing (zero → PayloadAuto).
	Payload PayloadSigning
	// TLS tells whether the client talks HTTPS (from ClientInfo); it decides
	// what PayloadAuto does.
	TLS bool
	// TrailerChecksum, over HTTPS, computes each part's checksum while the
	// body streams and sends it as an aws-chunked trailer, for parts up to
	// MaxTrailerPart: one read of the file instead of two, and less client
	// CPU. It is off by default: measured against MinIO, decoding the
	// trailer costs the server far more CPU than the client saves (see
	// bench/README.md), and some S3-compatible stores reject trailers. By
	// default each part's checksum is computed in a read before sending and
	// sent as a header.
	TrailerChecksum bool
	// Endpoint identifies the store in the resume state (from ClientInfo).
	Endpoint string
	// StateDir holds sidecars; "" → next to each source file.
	StateDir string
	// Fresh discards existing resume state (aborting its upload) first.
	Fresh bool
	// NoVerify skips the post-completion check of the object.
	NoVerify bool
	// BandwidthLimit caps upload bytes per second across all parts (0 → none).
	BandwidthLimit int64
	// Grace is how long in-flight parts may finish after ctx is cancelled
	// before they are cut off (0 → DefaultGrace; negative → cut at once).
	Grace time.Duration
	// Object holds object attributes fixed when the upload is created.
	Object ObjectOptions
	// Listener receives progress and events (nil → none).
	Listener Listener
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

// ObjectOptions are the object attributes `aws s3 cp` users expect. They are
// fixed at CreateMultipartUpload, so they are recorded in the resume state
// and a resume with different values is refused.
type ObjectOptions struct {
	ContentType  string
	CacheControl string
	StorageClass string
	ACL          string
	SSE          string // "AES256", "aws:kms", "aws:kms:dsse"
	SSEKMSKeyID  string
	Metadata     map[string]string
}

// Record flattens o into the map kept in the resume state.
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
	keys := make([]string, 0, len(o.Metadata))
	for k := range o.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
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
		o.Checksum = DefaultChecksum
	}
	if o.Payload == "" {
		o.Payload = PayloadAuto
	}
	if o.Grace == 0 {
		o.Grace = DefaultGrace
	}
	return o
}

// MaxTrailerPart is the largest part sent with a trailing checksum. The SDK
// sends such a body as one aws-chunked chunk, and MinIO refuses chunks over
// 16 MiB ("chunk too big"); bigger parts compute their checksum first and
// send it as a header.
const MaxTrailerPart = 16 << 20

// trailer reports whether parts of partSize bytes send their checksum as a
// trailer, computed while the body streams. The SDK streams trailers only
// over HTTPS.
func (o Options) trailer(alg ChecksumAlgorithm, partSize int64) bool {
	return o.TrailerChecksum && o.TLS && alg.flexible() && o.Payload != PayloadSigned && partSize <= MaxTrailerPart
}

// signPayload reports whether part bodies get a signed SHA-256.
func (o Options) signPayload() bool {
	switch o.Payload {
	case PayloadSigned:
		return true
	case PayloadUnsigned:
		return false
	}
	return !o.TLS && (o.Checksum == ChecksumNone || o.Checksum == "")
}

// Validate checks options that do not depend on the file.
func (o Options) Validate() error {
	if o.PartSize != 0 {
		if err := ValidatePartSize(o.PartSize); err != nil {
			return err
		}
	}
	if o.Concurrency < 0 || o.Concurrency > MaxConcurrency {
		return fmt.Errorf("%w: concurrency %d is out of range 1..%d", ErrBadInput, o.Concurrency, MaxConcurrency)
	}
	if o.BandwidthLimit < 0 {
		return fmt.Errorf("%w: negative bandwidth limit", ErrBadInput)
	}
	if o.Checksum != "" {
		if _, err := ParseChecksum(string(o.Checksum)); err != nil {
			return err
		}
	}
	return nil
}
