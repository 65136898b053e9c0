package resume

import (
	"errors"
	"fmt"
	"time"
)

// FormatVersion is the sidecar format this package writes. It reads sidecars of this version
// and older, and refuses newer ones with ErrFutureVersion.
const FormatVersion = 1

// Errors the engine and the CLI tell apart. Returned errors wrap them; test with errors.Is.
var (
	ErrLocked         = errors.New("sidecar is locked by another s3up process")
	ErrCorrupt        = errors.New("sidecar is corrupt")
	ErrFutureVersion  = errors.New("sidecar was written by a newer version of s3up")
	ErrSourceChanged  = errors.New("source file changed since the upload started")
	ErrOptionsChanged = errors.New("upload options differ from the ones the upload was started with")
)

// Part is one finished part as the sidecar records it, and as the engine reports what the server
// holds (ListParts), so that both views can be compared by Reconcile.
type Part struct {
	Number   int32  `json:"n"`
	Size     int64  `json:"size"`
	ETag     string `json:"etag"`          // verbatim as the server returned it, quotes included
	Checksum string `json:"sum,omitempty"` // checksum in the wire encoding of Header.ChecksumAlgorithm (e.g. base64 CRC32C); "" if none
	// Digest is a local digest ("crc32c:BASE64") journalled when Checksum is not a CRC32C (no
	// checksum, or Content-MD5 on the wire): a resume checks the source against it, and a store
	// that reports a whole-object CRC32C of its own (GCS) is checked with it.
	Digest string `json:"digest,omitempty"`
	// CRC64ECMA is the part's CRC-64/ECMA in decimal, journalled for stores that report one of
	// their own (Tencent COS, Alibaba OSS), "" otherwise.
	CRC64ECMA string `json:"crc64ecma,omitempty"`
	// Pending marks a write-ahead record (Header.WriteAhead): the part, of this size and
	// Digest, is about to be sent, and the server may hold its bytes or have seen them even if
	// no acknowledgement was ever journalled. It has no ETag. Load keeps it in State.Pending,
	// never in State.Parts.
	Pending bool `json:"pending,omitempty"`
	// LastModified is when the server stored the part (from ListParts; never journalled).
	LastModified time.Time `json:"-"`
}

// Destination names the object an upload produces.
type Destination struct {
	Endpoint string `json:"endpoint"` // "" for the SDK default (AWS)
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
}

// Header is everything about an upload that is fixed when it starts. It is line 1 of the sidecar.
type Header struct {
	Version     int         `json:"version"`
	UploadID    string      `json:"upload_id"`
	Destination Destination `json:"destination"`
	Source      Source      `json:"source"`
	PartSize    int64       `json:"part_size"`  // a stream's first part size: later parts may be bigger
	PartCount   int32       `json:"part_count"` // 0 for a stream: its length is known only at its end
	// Stream marks an upload of a stream (standard input, a producer's output), read once
	// from front to back: Source.Path names it, parts record their own sizes, and a resume
	// compares each part's digest with the stream read again.
	Stream            bool              `json:"stream,omitempty"`
	ChecksumAlgorithm string            `json:"checksum,omitempty"`
	ObjectOptions     map[string]string `json:"object_options,omitempty"` // content-type, metadata, storage class... fixed at CreateMultipartUpload
	CreatedAt         time.Time         `json:"created_at"`
	// Sealed is the key material of a sealed (age-encrypted) upload, as
	// seal.Key.ExportSecret writes it: the file key and payload nonce, with
	// which a rerun re-encrypts exactly the bytes the server holds. It is a
	// secret: the journal is mode 0600 and goes when the upload completes or
	// is aborted; nothing prints it.
	Sealed string `json:"sealed,omitempty"`
	// WriteAhead says that every part was recorded (Part.Pending, with its size and Digest)
	// before its first byte was sent: State.Pending and State.Parts together name every part
	// the server may have seen. A sealed stream needs it to keep its key on a resume.
	WriteAhead bool `json:"write_ahead,omitempty"`
}

// State is a loaded sidecar: the header and the parts recorded as finished.
type State struct {
	Header
	Parts map[int32]Part // finished parts by number (the last record for a number wins)
	// Pending holds the write-ahead records (Part.Pending) by number, the last one for a
	// number winning: parts about to be sent, acknowledged or not.
	Pending map[int32]Part
}

// headerLine is the on-disk form of line 1. The "s3up_sidecar" key marks the file as ours and
// carries the format version, so a reader can refuse a newer format before it parses anything
// else.
type headerLine struct {
	Magic int `json:"s3up_sidecar"`
	Header
}

// validate reports the first inconsistency in h, or nil. Create and Compact call it too, so the
// package never writes a header that Load would refuse.
func (h *Header) validate() error {
	switch {
	case h.UploadID == "":
		return errors.New("header has no upload_id")
	case h.Destination.Bucket == "":
		return errors.New("header has no destination bucket")
	case h.Destination.Key == "":
		return errors.New("header has no destination key")
	case h.Source.Path == "":
		return errors.New("header has no source path")
	case h.Source.Size < 0:
		return fmt.Errorf("header has negative source size %d", h.Source.Size)
	case h.PartSize <= 0:
		return fmt.Errorf("header has part_size %d, want > 0", h.PartSize)
	case h.Stream && h.PartCount != 0:
		return fmt.Errorf("stream header has part_count %d, want 0", h.PartCount)
	case !h.Stream && h.PartCount < 1:
		return fmt.Errorf("header has part_count %d, want >= 1", h.PartCount)
	}
	return nil
}

// MaxStreamParts is the highest part number of a stream's upload (S3's limit).
const MaxStreamParts = 10000

// maxPart is the highest part number the upload may record.
func (h *Header) maxPart() int32 {
	if h.Stream {
		return MaxStreamParts
	}
	return h.PartCount
}

// LastPart is the highest part number the journal records as sent, 0 if
// none: the parts a listing of the upload is expected to hold (the server
// may hold a few more, sent but not yet journalled).
func (s *State) LastPart() int32 {
	var last int32
	for n := range s.Parts {
		last = max(last, n)
	}
	return last
}

// validate reports the first inconsistency of a part record against an upload of partCount
// parts, or nil. Append calls it too, so the journal never holds a record Load would refuse.
func (p *Part) validate(partCount int32) error {
	switch {
	case p.Number < 1 || p.Number > partCount:
		return fmt.Errorf("part number %d outside 1..%d", p.Number, partCount)
	case p.Size < 0:
		return fmt.Errorf("part %d has negative size %d", p.Number, p.Size)
	case p.Pending && p.ETag != "":
		return fmt.Errorf("pending part %d has an etag", p.Number)
	case p.Pending && p.Digest == "":
		return fmt.Errorf("pending part %d has no digest", p.Number)
	case !p.Pending && p.ETag == "":
		return fmt.Errorf("part %d has no etag", p.Number)
	}
	return nil
}
