package s3fake

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// MaxParts is the largest part number of a multipart upload, and
// maxPartsPage the most parts one ListParts page lists.
const (
	MaxParts     = 10000
	maxPartsPage = 1000
)

type upload struct {
	id, key   string
	initiated time.Time
	seq       uint64
	alg       types.ChecksumAlgorithm // "" if created without one
	typ       types.ChecksumType      // "" if alg is ""
	hdr       headers
	// parts holds, per part number, its upload (or with PartVersions every
	// upload of it, ordered by ETag).
	parts map[int32][]*part
}

type part struct {
	number   int32
	data     []byte
	etag     string // quoted
	sum      sum    // sum.value "" if none stored
	modified time.Time
}

// entries returns the upload's parts in listing order: by part number, then
// by ETag string.
func (u *upload) entries() []*part {
	var ps []*part
	for _, vs := range u.parts {
		ps = append(ps, vs...)
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].number != ps[j].number {
			return ps[i].number < ps[j].number
		}
		return ps[i].etag < ps[j].etag
	})
	return ps
}

// lookupUpload finds upload id of key in the request's bucket, or returns
// the NoSuchBucket or NoSuchUpload error of op. The caller holds f.mu.
func (f *Fake) lookupUpload(op string, bucketName, key, id *string) (*bucket, *upload, error) {
	b, err := f.bucket(op, bucketName)
	if err != nil {
		return nil, nil, err
	}
	u, ok := b.uploads[aws.ToString(id)]
	if !ok || u.key != aws.ToString(key) {
		return b, nil, APIError(op, http.StatusNotFound, "NoSuchUpload", msgNoSuchUpload)
	}
	return b, u, nil
}

// CreateMultipartUpload starts a multipart upload with a random id,
// recording the key, the checksum algorithm and type (CRC64NVME is
// FULL_OBJECT only; SHA1 and SHA256 COMPOSITE only; CRC32 and CRC32C either,
// COMPOSITE by default), the metadata and the content headers of the object
// to be.
func (f *Fake) CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, _ ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	const op = "CreateMultipartUpload"
	return run(f, ctx, request{op: op, in: in}, func([]byte) (*s3.CreateMultipartUploadOutput, error) {
		b, err := f.bucket(op, in.Bucket)
		if err != nil {
			return nil, err
		}
		key, err := requireKey(op, in.Key)
		if err != nil {
			return nil, err
		}
		typ, refusal := uploadChecksumType(in.ChecksumAlgorithm, in.ChecksumType)
		if refusal != "" {
			return nil, APIError(op, http.StatusBadRequest, "InvalidRequest", refusal)
		}
		if in.ChecksumAlgorithm != "" && !supported(in.ChecksumAlgorithm) {
			return nil, APIError(op, http.StatusNotImplemented, "NotImplemented", msgUnsupportedAlgo)
		}
		alg := in.ChecksumAlgorithm
		if f.cfg.ownSum != "" {
			alg, typ = f.cfg.ownSum, types.ChecksumTypeComposite
		}
		f.seq++
		u := &upload{
			id: f.newUploadID(), key: key, initiated: f.now(), seq: f.seq,
			alg: alg, typ: typ,
			hdr: newHeaders(in.ContentType, in.CacheControl, in.ContentDisposition, in.ContentEncoding,
				in.ContentLanguage, in.Expires, in.Metadata, in.StorageClass),
			parts: map[int32][]*part{},
		}
		b.uploads[u.id] = u
		out := &s3.CreateMultipartUploadOutput{Bucket: aws.String(b.name), Key: aws.String(u.key), UploadId: aws.String(u.id),
			ResultMetadata: resultMetadata()}
		if !f.cfg.hideChecksums {
			out.ChecksumAlgorithm, out.ChecksumType = u.alg, u.typ
		}
		return out, nil
	})
}

// uploadChecksumType returns the checksum type of an upload created with
// alg and typ, or the message S3 refuses the combination with.
func uploadChecksumType(alg types.ChecksumAlgorithm, typ types.ChecksumType) (types.ChecksumType, string) {
	switch {
	case alg == "" && typ != "":
		return "", "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header."
	case alg == "":
		return "", ""
	case typ != "" && typ != types.ChecksumTypeComposite && typ != types.ChecksumTypeFullObject:
		return "", "Value for x-amz-checksum-type header is invalid."
	case alg == types.ChecksumAlgorithmCrc64nvme && typ == types.ChecksumTypeComposite:
		return "", "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm."
	case (alg == types.ChecksumAlgorithmSha1 || alg == types.ChecksumAlgorithmSha256) && typ == types.ChecksumTypeFullObject:
		return "", fmt.Sprintf("The FULL_OBJECT checksum type cannot be used with the %s checksum algorithm.", lower(alg))
	case typ != "":
		return typ, ""
	case alg == types.ChecksumAlgorithmCrc64nvme:
		return types.ChecksumTypeFullObject, ""
	}
	return types.ChecksumTypeComposite, ""
}

// UploadPart stores part PartNumber (1..10000, else InvalidArgument) of an
// upload, replacing an earlier upload of that number (kept as another
// version with [PartVersions]). A request that fails on its headers (no
// bucket, no such upload, bad part number, a checksum algorithm other than
// the upload's) is answered without reading the body. The body is then read
// fully and checked against ContentLength, ContentMD5 and the checksum sent
// (see the package documentation). The part's checksum is the one sent, or
// the one of ChecksumAlgorithm or of the upload's algorithm computed from
// the bytes when none was sent.
func (f *Fake) UploadPart(ctx context.Context, in *s3.UploadPartInput, _ ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	const op = "UploadPart"
	check := func() (*upload, error) {
		_, u, err := f.lookupUpload(op, in.Bucket, in.Key, in.UploadId)
		if err != nil {
			return nil, err
		}
		if n := aws.ToInt32(in.PartNumber); n < 1 || n > MaxParts {
			return nil, APIError(op, http.StatusBadRequest, "InvalidArgument", msgPartNumber)
		}
		if f.cfg.hideChecksums || f.cfg.ownSum != "" {
			return u, nil
		}
		sent := in.ChecksumAlgorithm
		if given, _ := sumsOf(in).given(); len(given) > 0 {
			sent = given[0].alg
		}
		if sent != "" && sent != u.alg {
			want := "null"
			if u.alg != "" {
				want = lower(u.alg)
			}
			return nil, APIError(op, http.StatusBadRequest, "InvalidRequest",
				fmt.Sprintf("Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s", want, lower(sent)))
		}
		return u, nil
	}
	r := request{op: op, in: in, hasBody: true, body: in.Body, length: in.ContentLength,
		precheck: func() error { _, err := check(); return err }}
	return run(f, ctx, r, func(data []byte) (*s3.UploadPartOutput, error) {
		u, err := check()
		if err != nil {
			return nil, err
		}
		alg := in.ChecksumAlgorithm
		if alg == "" && !f.cfg.hideChecksums {
			alg = u.alg
		}
		s, err := f.checkBody(op, data, in.ContentMD5, sumsOf(in), alg)
		if err != nil {
			return nil, err
		}
		if f.cfg.hideChecksums {
			s = sum{}
		}
		n := *in.PartNumber
		if old := u.parts[n]; f.cfg.noPartReplace && len(old) > 0 && !bytes.Equal(old[len(old)-1].data, data) {
			return nil, APIError(op, http.StatusNotImplemented, "NotImplemented",
				fmt.Sprintf("part %d has already been streamed to the backend and cannot be replaced with different contents", n))
		}
		p := &part{number: n, data: data, etag: f.etag(data), sum: s, modified: f.now()}
		if f.cfg.partVersions {
			vs := append(u.parts[n], p)
			sort.SliceStable(vs, func(i, j int) bool { return vs[i].etag < vs[j].etag })
			u.parts[n] = vs
		} else {
			u.parts[n] = []*part{p}
		}
		out := &s3.UploadPartOutput{ETag: aws.String(p.etag), ResultMetadata: resultMetadata()}
		sumsOf(out).set(s)
		return out, nil
	})
}

// ListParts lists an upload's parts in ascending part number order (with
// [PartVersions], every version, ordered by ETag within a part number),
// MaxParts a page (default and at most 1,000), after PartNumberMarker. Each
// part has its number, size, ETag, LastModified and stored checksum.
// NextPartNumberMarker is the last part number listed (unset with
// [OmitNextPartNumberMarker]).
func (f *Fake) ListParts(ctx context.Context, in *s3.ListPartsInput, _ ...func(*s3.Options)) (*s3.ListPartsOutput, error) {
	const op = "ListParts"
	return run(f, ctx, request{op: op, in: in}, func([]byte) (*s3.ListPartsOutput, error) {
		b, u, err := f.lookupUpload(op, in.Bucket, in.Key, in.UploadId)
		if err != nil {
			return nil, err
		}
		max := int32(maxPartsPage)
		if in.MaxParts != nil {
			if *in.MaxParts < 0 {
				return nil, APIError(op, http.StatusBadRequest, "InvalidArgument", "Argument max-parts must be an integer between 0 and 2147483647")
			}
			max = min(*in.MaxParts, maxPartsPage)
		}
		marker := 0
		if m := aws.ToString(in.PartNumberMarker); m != "" {
			if marker, err = strconv.Atoi(m); err != nil || marker < 0 {
				return nil, APIError(op, http.StatusBadRequest, "InvalidArgument", "Provided part-number-marker not an integer or within integer range")
			}
		}
		out := &s3.ListPartsOutput{
			Bucket: aws.String(b.name), Key: aws.String(u.key), UploadId: aws.String(u.id),
			MaxParts: aws.Int32(max), PartNumberMarker: aws.String(strconv.Itoa(marker)),
			StorageClass: types.StorageClassStandard, IsTruncated: aws.Bool(false),
			Initiator:      &types.Initiator{ID: aws.String(ownerID), DisplayName: aws.String(ownerName)},
			Owner:          &types.Owner{ID: aws.String(ownerID), DisplayName: aws.String(ownerName)},
			ResultMetadata: resultMetadata(),
		}
		if !f.cfg.hideChecksums {
			out.ChecksumAlgorithm, out.ChecksumType = u.alg, u.typ
		}
		next := marker
		for _, p := range u.entries() {
			if int(p.number) <= marker {
				continue
			}
			if len(out.Parts) == int(max) {
				out.IsTruncated = aws.Bool(true)
				break
			}
			tp := types.Part{PartNumber: aws.Int32(p.number), Size: aws.Int64(int64(len(p.data))),
				ETag: aws.String(p.etag), LastModified: xmlTime(p.modified)}
			sumsOf(&tp).set(p.sum)
			out.Parts = append(out.Parts, tp)
			next = int(p.number)
		}
		if !f.cfg.omitNextMarker {
			out.NextPartNumberMarker = aws.String(strconv.Itoa(next))
		}
		return out, nil
	})
}

// AbortMultipartUpload removes an upload and its parts. An unknown upload
// fails with NoSuchUpload (*types.NoSuchUpload, as the SDK models it for
// this operation), or succeeds with [AbortUnknownSucceeds].
func (f *Fake) AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, _ ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	const op = "AbortMultipartUpload"
	return run(f, ctx, request{op: op, in: in}, func([]byte) (*s3.AbortMultipartUploadOutput, error) {
		b, u, err := f.lookupUpload(op, in.Bucket, in.Key, in.UploadId)
		if b == nil || (u == nil && !f.cfg.lenientAbort) {
			return nil, err
		}
		if u != nil {
			delete(b.uploads, u.id)
		}
		return &s3.AbortMultipartUploadOutput{ResultMetadata: resultMetadata()}, nil
	})
}

// Owner of everything in the fake.
const (
	ownerID   = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"
	ownerName = "s3fake"
)
