package s3fake

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// defaultContentType is what AWS S3 stores for an object sent without a
// Content-Type.
const defaultContentType = "binary/octet-stream"

type object struct {
	data      []byte
	etag      string // quoted
	hdr       headers
	modified  time.Time
	sum       sum     // value "" if none
	partSizes []int64 // of a multipart object; nil for a single PUT
}

// headers are the object properties a PUT or a multipart upload sets.
type headers struct {
	contentType, cacheControl, contentDisposition, contentEncoding, contentLanguage *string
	expires                                                                         *time.Time
	metadata                                                                        map[string]string
	storageClass                                                                    types.StorageClass
}

// newHeaders copies the object properties of a request, so that the
// caller may reuse its input.
func newHeaders(contentType, cacheControl, disposition, encoding, language *string, expires *time.Time,
	metadata map[string]string, class types.StorageClass) headers {
	h := headers{contentType: copyString(contentType), cacheControl: copyString(cacheControl),
		contentDisposition: copyString(disposition), contentEncoding: copyString(encoding),
		contentLanguage: copyString(language), metadata: normMeta(metadata), storageClass: class}
	h.expires = headers{expires: expires}.expiresCopy()
	return h
}

func copyString(p *string) *string {
	if p == nil {
		return nil
	}
	s := *p
	return &s
}

func (h headers) contentTypeOrDefault() *string {
	if h.contentType == nil {
		return aws.String(defaultContentType)
	}
	return copyString(h.contentType)
}

func (h headers) expiresCopy() *time.Time {
	if h.expires == nil {
		return nil
	}
	e := *h.expires
	return &e
}

// normMeta returns user metadata as S3 gives it back: lower-case keys,
// trimmed values.
func normMeta(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[strings.ToLower(k)] = strings.TrimSpace(v)
	}
	return c
}

// preconditions checks the conditional-write headers of a PUT or a
// complete against the current object (nil if none).
func preconditions(op string, cur *object, ifMatch, ifNoneMatch *string) error {
	if ifNoneMatch != nil {
		if *ifNoneMatch != "*" {
			return APIError(op, http.StatusNotImplemented, "NotImplemented", "A header you provided implies functionality that is not implemented")
		}
		if cur != nil {
			return APIError(op, http.StatusPreconditionFailed, "PreconditionFailed", msgPrecondition)
		}
	}
	if ifMatch != nil {
		if cur == nil {
			return APIError(op, http.StatusNotFound, "NoSuchKey", msgNoSuchKey)
		}
		if trimETag(*ifMatch) != trimETag(cur.etag) {
			return APIError(op, http.StatusPreconditionFailed, "PreconditionFailed", msgPrecondition)
		}
	}
	return nil
}

// PutObject stores an object: its bytes, metadata, content headers, ETag
// and checksum (the one sent, or the one of ChecksumAlgorithm computed from
// the bytes when none was sent, as the SDK would send it). The body is read
// fully and checked as UploadPart's is; a request for a missing bucket is
// answered without reading it. IfNoneMatch "*" and IfMatch are honoured.
func (f *Fake) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	const op = "PutObject"
	check := func() (*bucket, string, error) {
		b, err := f.bucket(op, in.Bucket)
		if err != nil {
			return nil, "", err
		}
		key, err := requireKey(op, in.Key)
		return b, key, err
	}
	r := request{op: op, in: in, hasBody: true, body: in.Body, length: in.ContentLength,
		precheck: func() error { _, _, err := check(); return err }}
	return run(f, ctx, r, func(data []byte) (*s3.PutObjectOutput, error) {
		b, key, err := check()
		if err != nil {
			return nil, err
		}
		s, err := f.checkBody(op, data, in.ContentMD5, sumsOf(in), in.ChecksumAlgorithm)
		if err != nil {
			return nil, err
		}
		if err := preconditions(op, b.objects[key], in.IfMatch, in.IfNoneMatch); err != nil {
			return nil, err
		}
		if f.cfg.hideChecksums {
			s = sum{}
		}
		if s.value != "" {
			s.typ = types.ChecksumTypeFullObject
		}
		obj := &object{
			data: data, etag: f.etag(data), modified: f.now(), sum: s,
			hdr: newHeaders(in.ContentType, in.CacheControl, in.ContentDisposition, in.ContentEncoding,
				in.ContentLanguage, in.Expires, in.Metadata, in.StorageClass),
		}
		b.objects[key] = obj
		out := &s3.PutObjectOutput{ETag: aws.String(obj.etag), ResultMetadata: resultMetadata()}
		if s.value != "" {
			sumsOf(out).set(s)
			out.ChecksumType = s.typ
		}
		return out, nil
	})
}

// objectAnswer is what HeadObject and GetObject share.
type objectAnswer struct {
	obj      *object
	start    int64 // of the bytes answered
	length   int64
	rangeHdr *string // Content-Range, if a range or part was asked
	parts    *int32  // PartsCount, for a part of a multipart object
}

// lookupObject resolves a HeadObject or GetObject request. The caller holds
// f.mu.
func (f *Fake) lookupObject(op string, bucketName, key *string, partNumber *int32, rng *string, ifMatch, ifNoneMatch *string) (objectAnswer, error) {
	b, err := f.bucket(op, bucketName)
	if err != nil {
		return objectAnswer{}, err
	}
	obj, ok := b.objects[aws.ToString(key)]
	if !ok {
		return objectAnswer{}, APIError(op, http.StatusNotFound, "NoSuchKey", msgNoSuchKey)
	}
	if ifMatch != nil && trimETag(*ifMatch) != trimETag(obj.etag) {
		return objectAnswer{}, APIError(op, http.StatusPreconditionFailed, "PreconditionFailed", msgPrecondition)
	}
	if ifNoneMatch != nil && (*ifNoneMatch == "*" || trimETag(*ifNoneMatch) == trimETag(obj.etag)) {
		return objectAnswer{}, APIError(op, http.StatusNotModified, "NotModified", "Not Modified")
	}
	size := int64(len(obj.data))
	a := objectAnswer{obj: obj, length: size}
	switch {
	case partNumber != nil && rng != nil:
		return a, APIError(op, http.StatusBadRequest, "InvalidRequest", "Cannot specify both Range header and partNumber query parameter")
	case partNumber != nil:
		n := *partNumber
		sizes := obj.partSizes
		if sizes == nil {
			sizes = []int64{size}
		}
		if n < 1 || int(n) > len(sizes) {
			return a, APIError(op, http.StatusRequestedRangeNotSatisfiable, "InvalidPartNumber", msgInvalidPartNum)
		}
		for _, s := range sizes[:n-1] {
			a.start += s
		}
		a.length = sizes[n-1]
		if obj.partSizes != nil {
			a.parts = aws.Int32(int32(len(obj.partSizes)))
		}
		a.rangeHdr = aws.String(fmt.Sprintf("bytes %d-%d/%d", a.start, a.start+a.length-1, size))
	case rng != nil:
		start, end, ok := parseRange(*rng, size)
		if !ok {
			return a, APIError(op, http.StatusRequestedRangeNotSatisfiable, "InvalidRange", msgInvalidRange)
		}
		a.start, a.length = start, end-start+1
		a.rangeHdr = aws.String(fmt.Sprintf("bytes %d-%d/%d", start, end, size))
	}
	return a, nil
}

// parseRange parses a single-range "bytes=a-b", "bytes=a-" or "bytes=-n"
// against an object of size bytes, returning the inclusive bounds.
func parseRange(s string, size int64) (start, end int64, ok bool) {
	spec, found := strings.CutPrefix(s, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false
	}
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 || size == 0 {
			return 0, 0, false
		}
		return max(size-n, 0), size - 1, true
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 || start >= size {
		return 0, 0, false
	}
	end = size - 1
	if b != "" {
		if end, err = strconv.ParseInt(b, 10, 64); err != nil || end < start {
			return 0, 0, false
		}
		end = min(end, size-1)
	}
	return start, end, true
}

// HeadObject answers an object's size, ETag, metadata, content headers,
// LastModified (to the second, as an HTTP date), and with ChecksumMode
// ENABLED its checksum and checksum type. PartNumber answers the size of
// that part of a multipart object and PartsCount. Errors have no body, as
// HEAD answers: a missing key, and a missing bucket too, is *types.NotFound
// (code "NotFound").
func (f *Fake) HeadObject(ctx context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	const op = "HeadObject"
	return run(f, ctx, request{op: op, in: in}, func([]byte) (*s3.HeadObjectOutput, error) {
		a, err := f.lookupObject(op, in.Bucket, in.Key, in.PartNumber, in.Range, in.IfMatch, in.IfNoneMatch)
		if err != nil {
			return nil, err
		}
		o := a.obj
		out := &s3.HeadObjectOutput{
			AcceptRanges: aws.String("bytes"), ContentLength: aws.Int64(a.length), ContentRange: a.rangeHdr,
			ETag: aws.String(o.etag), LastModified: httpTime(o.modified), PartsCount: a.parts,
			ContentType: o.hdr.contentTypeOrDefault(), CacheControl: copyString(o.hdr.cacheControl),
			ContentDisposition: copyString(o.hdr.contentDisposition), ContentEncoding: copyString(o.hdr.contentEncoding),
			ContentLanguage: copyString(o.hdr.contentLanguage), Expires: o.hdr.expiresCopy(),
			Metadata: copyMeta(o.hdr.metadata), ResultMetadata: resultMetadata(),
		}
		if o.hdr.storageClass != "" && o.hdr.storageClass != types.StorageClassStandard {
			out.StorageClass = o.hdr.storageClass
		}
		if in.ChecksumMode == types.ChecksumModeEnabled && o.sum.value != "" && a.rangeHdr == nil {
			sumsOf(out).set(o.sum)
			out.ChecksumType = o.sum.typ
		}
		return out, nil
	})
}

// GetObject answers an object's bytes (or a Range of them, or one part with
// PartNumber) and the same fields as HeadObject. A missing key is
// *types.NoSuchKey; a missing bucket NoSuchBucket.
func (f *Fake) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	const op = "GetObject"
	return run(f, ctx, request{op: op, in: in}, func([]byte) (*s3.GetObjectOutput, error) {
		a, err := f.lookupObject(op, in.Bucket, in.Key, in.PartNumber, in.Range, in.IfMatch, in.IfNoneMatch)
		if err != nil {
			return nil, err
		}
		o := a.obj
		out := &s3.GetObjectOutput{
			Body:         io.NopCloser(bytes.NewReader(o.data[a.start : a.start+a.length])),
			AcceptRanges: aws.String("bytes"), ContentLength: aws.Int64(a.length), ContentRange: a.rangeHdr,
			ETag: aws.String(o.etag), LastModified: httpTime(o.modified), PartsCount: a.parts,
			ContentType: o.hdr.contentTypeOrDefault(), CacheControl: copyString(o.hdr.cacheControl),
			ContentDisposition: copyString(o.hdr.contentDisposition), ContentEncoding: copyString(o.hdr.contentEncoding),
			ContentLanguage: copyString(o.hdr.contentLanguage), Expires: o.hdr.expiresCopy(),
			Metadata: copyMeta(o.hdr.metadata), ResultMetadata: resultMetadata(),
		}
		if in.ChecksumMode == types.ChecksumModeEnabled && o.sum.value != "" && a.rangeHdr == nil {
			sumsOf(out).set(o.sum)
			out.ChecksumType = o.sum.typ
		}
		return out, nil
	})
}

// DeleteObject removes an object; deleting a missing key succeeds, as on
// S3.
func (f *Fake) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	const op = "DeleteObject"
	return run(f, ctx, request{op: op, in: in}, func([]byte) (*s3.DeleteObjectOutput, error) {
		b, err := f.bucket(op, in.Bucket)
		if err != nil {
			return nil, err
		}
		key, err := requireKey(op, in.Key)
		if err != nil {
			return nil, err
		}
		delete(b.objects, key)
		return &s3.DeleteObjectOutput{ResultMetadata: resultMetadata()}, nil
	})
}

// DeleteObjects removes up to 1,000 objects (missing keys count as
// deleted), listing each in Deleted unless Quiet. An empty or longer list
// is MalformedXML.
func (f *Fake) DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, _ ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	const op = "DeleteObjects"
	return run(f, ctx, request{op: op, in: in}, func([]byte) (*s3.DeleteObjectsOutput, error) {
		b, err := f.bucket(op, in.Bucket)
		if err != nil {
			return nil, err
		}
		if in.Delete == nil || len(in.Delete.Objects) == 0 || len(in.Delete.Objects) > 1000 {
			return nil, APIError(op, http.StatusBadRequest, "MalformedXML", msgMalformedXML)
		}
		out := &s3.DeleteObjectsOutput{ResultMetadata: resultMetadata()}
		for _, id := range in.Delete.Objects {
			key := aws.ToString(id.Key)
			if key == "" {
				out.Errors = append(out.Errors, types.Error{Key: id.Key, Code: aws.String("InvalidArgument"), Message: aws.String("Invalid key")})
				continue
			}
			delete(b.objects, key)
			if !aws.ToBool(in.Delete.Quiet) {
				out.Deleted = append(out.Deleted, types.DeletedObject{Key: aws.String(key)})
			}
		}
		return out, nil
	})
}

// HeadBucket succeeds for a bucket made with [Fake.CreateBucket]; a missing
// one is *types.NotFound (code "NotFound"), as the SDK reports a body-less
// 404.
func (f *Fake) HeadBucket(ctx context.Context, in *s3.HeadBucketInput, _ ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	const op = "HeadBucket"
	return run(f, ctx, request{op: op, in: in}, func([]byte) (*s3.HeadBucketOutput, error) {
		if _, err := f.bucket(op, in.Bucket); err != nil {
			return nil, err
		}
		return &s3.HeadBucketOutput{BucketRegion: aws.String("us-east-1"), ResultMetadata: resultMetadata()}, nil
	})
}
