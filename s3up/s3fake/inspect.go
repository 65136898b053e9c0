package s3fake

import (
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// ObjectInfo is a stored object, for assertions. Its slices and map are
// copies.
type ObjectInfo struct {
	Key               string
	Data              []byte
	ETag              string // quoted, as S3 answers it
	Metadata          map[string]string
	ContentType       string // as sent; "" if none was (S3 then answers binary/octet-stream)
	LastModified      time.Time
	ChecksumAlgorithm types.ChecksumAlgorithm // "" if the object has no checksum
	Checksum          string                  // base64, "-N" suffixed for COMPOSITE
	ChecksumType      types.ChecksumType
	PartSizes         []int64 // sizes of the parts of a multipart object; nil for a PUT
}

// UploadInfo is an incomplete multipart upload, for assertions.
type UploadInfo struct {
	ID                string
	Key               string
	Initiated         time.Time
	ChecksumAlgorithm types.ChecksumAlgorithm
	ChecksumType      types.ChecksumType
	Metadata          map[string]string
	ContentType       string
	Parts             []PartInfo // in ListParts order (every version with PartVersions)
}

// PartInfo is an uploaded part, for assertions.
type PartInfo struct {
	Number       int32
	Size         int64
	ETag         string // quoted
	Checksum     string // base64 of the upload's (or the part's) algorithm, "" if none
	LastModified time.Time
	Data         []byte
}

// Object returns the object at key in bucket, and whether there is one.
func (f *Fake) Object(bucket, key string) (ObjectInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.buckets[bucket]
	if !ok {
		return ObjectInfo{}, false
	}
	o, ok := b.objects[key]
	if !ok {
		return ObjectInfo{}, false
	}
	return ObjectInfo{
		Key: key, Data: slices.Clone(o.data), ETag: o.etag, Metadata: copyMeta(o.hdr.metadata),
		ContentType: aws.ToString(o.hdr.contentType), LastModified: o.modified,
		ChecksumAlgorithm: o.sum.alg, Checksum: o.sum.value, ChecksumType: o.sum.typ,
		PartSizes: slices.Clone(o.partSizes),
	}, true
}

// ObjectKeys returns the keys of bucket's objects, sorted.
func (f *Fake) ObjectKeys(bucket string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.buckets[bucket]
	if !ok {
		return nil
	}
	return slices.Sorted(maps.Keys(b.objects))
}

// Uploads returns bucket's incomplete uploads with their parts, ordered as
// ListMultipartUploads lists them.
func (f *Fake) Uploads(bucket string) []UploadInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.buckets[bucket]
	if !ok {
		return nil
	}
	var out []UploadInfo
	for _, u := range sortedUploads(b) {
		out = append(out, u.info())
	}
	return out
}

// Upload returns the incomplete upload id of bucket, and whether there is
// one.
func (f *Fake) Upload(bucket, id string) (UploadInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.buckets[bucket]
	if !ok {
		return UploadInfo{}, false
	}
	u, ok := b.uploads[id]
	if !ok {
		return UploadInfo{}, false
	}
	return u.info(), true
}

func (u *upload) info() UploadInfo {
	ui := UploadInfo{ID: u.id, Key: u.key, Initiated: u.initiated, ChecksumAlgorithm: u.alg, ChecksumType: u.typ,
		Metadata: copyMeta(u.hdr.metadata), ContentType: aws.ToString(u.hdr.contentType)}
	for _, p := range u.entries() {
		ui.Parts = append(ui.Parts, PartInfo{Number: p.number, Size: int64(len(p.data)), ETag: p.etag,
			Checksum: p.sum.value, LastModified: p.modified, Data: slices.Clone(p.data)})
	}
	return ui
}

// Calls returns how many times op was called since the fake was made or
// its counters reset, refused calls included.
func (f *Fake) Calls(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// CallCounts returns the call count of every operation called at least
// once.
func (f *Fake) CallCounts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.calls)
}

// BytesReceived returns how many body bytes UploadPart and PutObject read:
// every byte read from a body, whether the call then succeeded or failed
// (twice for a [LoseAnswerRetried] call). Bodies of calls refused before
// their body is read count nothing.
func (f *Fake) BytesReceived() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bytes["UploadPart"] + f.bytes["PutObject"]
}

// BytesReceivedBy returns the body bytes read by calls of op
// ("UploadPart" or "PutObject"), as [Fake.BytesReceived] counts them.
func (f *Fake) BytesReceivedBy(op string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bytes[op]
}

// ResetCounters zeroes the call counts, received bytes and injected-fault
// counts. Stored data, queued faults and chaos are kept.
func (f *Fake) ResetCounters() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = map[string]int{}
	f.bytes = map[string]int64{}
	f.injected = map[string]int{}
}
