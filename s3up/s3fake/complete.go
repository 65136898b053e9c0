package s3fake

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// CompleteMultipartUpload assembles the parts the request names into the
// object and removes the upload, with AWS's rules:
//
//   - at least one part (else MalformedXML), in strictly ascending part
//     number order (else InvalidPartOrder);
//   - each named part uploaded, with the ETag named (quotes optional; with
//     [PartVersions] the version with that ETag), else InvalidPart;
//   - if the upload has a checksum algorithm (and not [HideChecksums]),
//     each part names its checksum of that algorithm (else InvalidRequest,
//     "... It was missing for part N in the request."), equal to the stored
//     one (else InvalidPart);
//   - every part but the last at least [MinPartSize] (else EntityTooSmall);
//   - ChecksumType, if set, the upload's (else InvalidRequest); an object
//     checksum, if sent, equal to the resulting one (else BadDigest);
//     MpuObjectSize, if set, the object's size (else InvalidRequest);
//   - IfNoneMatch "*": the key must not exist; IfMatch: its ETag must be
//     the current object's (412 PreconditionFailed, or 404 NoSuchKey for
//     IfMatch on a missing key). A failed precondition leaves the upload.
//
// The object's ETag is "hex(md5(md5(p1)‖…‖md5(pN)))-N" (over the part
// ETags). Its checksum is the COMPOSITE base64(H(raw1‖…‖rawN))-N, or for a
// FULL_OBJECT upload (CRC64NVME, or CRC32/CRC32C created with
// ChecksumType FULL_OBJECT) the CRC of the whole object.
func (f *Fake) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, _ ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	const op = "CompleteMultipartUpload"
	return run(f, ctx, request{op: op, in: in}, func([]byte) (*s3.CompleteMultipartUploadOutput, error) {
		b, u, err := f.lookupUpload(op, in.Bucket, in.Key, in.UploadId)
		if err != nil {
			return nil, err
		}
		parts, err := f.completedParts(u, in)
		if err != nil {
			return nil, err
		}
		obj := f.assemble(u, parts)
		if err := f.checkObjectSum(u, in, obj); err != nil {
			return nil, err
		}
		if in.MpuObjectSize != nil && *in.MpuObjectSize != int64(len(obj.data)) {
			return nil, APIError(op, http.StatusBadRequest, "InvalidRequest",
				fmt.Sprintf("The provided 'x-amz-mp-object-size' header value %d does not match what was computed: %d", *in.MpuObjectSize, len(obj.data)))
		}
		if err := preconditions(op, b.objects[u.key], in.IfMatch, in.IfNoneMatch); err != nil {
			return nil, err
		}
		b.objects[u.key] = obj
		delete(b.uploads, u.id)
		out := &s3.CompleteMultipartUploadOutput{
			Bucket: aws.String(b.name), Key: aws.String(u.key), ETag: aws.String(obj.etag),
			Location:       aws.String(fmt.Sprintf("https://%s.s3fake.invalid/%s", b.name, u.key)),
			ResultMetadata: resultMetadata(),
		}
		if obj.sum.value != "" {
			sumsOf(out).set(obj.sum)
			out.ChecksumType = obj.sum.typ
		}
		return out, nil
	})
}

// completedParts checks the request's part list against the upload and
// returns the parts it names. The caller holds f.mu.
func (f *Fake) completedParts(u *upload, in *s3.CompleteMultipartUploadInput) ([]*part, error) {
	const op = "CompleteMultipartUpload"
	if in.MultipartUpload == nil || len(in.MultipartUpload.Parts) == 0 {
		return nil, APIError(op, http.StatusBadRequest, "MalformedXML", msgMalformedXML)
	}
	named := in.MultipartUpload.Parts
	last := int32(0)
	for _, cp := range named {
		if cp.PartNumber == nil {
			return nil, APIError(op, http.StatusBadRequest, "MalformedXML", msgMalformedXML)
		}
		if *cp.PartNumber <= last {
			return nil, APIError(op, http.StatusBadRequest, "InvalidPartOrder", msgInvalidOrder)
		}
		last = *cp.PartNumber
	}
	checksums := u.alg != "" && !f.cfg.hideChecksums && f.cfg.ownSum == ""
	parts := make([]*part, len(named))
	for i, cp := range named {
		n := *cp.PartNumber
		etag := trimETag(aws.ToString(cp.ETag))
		for _, p := range u.parts[n] {
			if trimETag(p.etag) == etag {
				parts[i] = p
				break
			}
		}
		if parts[i] == nil {
			return nil, APIError(op, http.StatusBadRequest, "InvalidPart", msgInvalidPart)
		}
		if !checksums {
			continue
		}
		var got *string
		if fp := sumsOf(&cp).field(u.alg); fp != nil {
			got = *fp
		}
		if got == nil {
			return nil, APIError(op, http.StatusBadRequest, "InvalidRequest",
				fmt.Sprintf("The upload was created using a %s checksum. The complete request must include the checksum for each part. It was missing for part %d in the request.", lower(u.alg), n))
		}
		if *got != parts[i].sum.value {
			return nil, APIError(op, http.StatusBadRequest, "InvalidPart", msgInvalidPart)
		}
	}
	for i, p := range parts[:len(parts)-1] {
		if int64(len(p.data)) < f.cfg.minPartSize {
			return nil, APIError(op, http.StatusBadRequest, "EntityTooSmall",
				fmt.Sprintf("%s (part %d is %d bytes)", msgEntityTooSmall, *named[i].PartNumber, len(p.data)))
		}
	}
	if in.ChecksumType != "" && in.ChecksumType != u.typ {
		mode := "no"
		if u.typ != "" {
			mode = "the " + string(u.typ)
		}
		return nil, APIError(op, http.StatusBadRequest, "InvalidRequest",
			fmt.Sprintf("The upload was created using %s checksum mode. The complete request must use the same checksum mode.", mode))
	}
	return parts, nil
}

// assemble builds the object of a completed upload from parts. The caller
// holds f.mu.
func (f *Fake) assemble(u *upload, parts []*part) *object {
	size := 0
	for _, p := range parts {
		size += len(p.data)
	}
	data := make([]byte, 0, size)
	h := md5.New()
	sizes := make([]int64, len(parts))
	sums := make([]string, len(parts))
	for i, p := range parts {
		data = append(data, p.data...)
		raw, _ := hex.DecodeString(trimETag(p.etag)) // the fake's ETags are hex
		h.Write(raw)
		sizes[i] = int64(len(p.data))
		sums[i] = p.sum.value
	}
	obj := &object{
		data: data, hdr: u.hdr, modified: f.now(), partSizes: sizes,
		etag: fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(h.Sum(nil)), len(parts)),
	}
	if u.alg != "" && !f.cfg.hideChecksums {
		if u.typ == types.ChecksumTypeFullObject {
			obj.sum = sum{alg: u.alg, value: checksumOf(u.alg, data), typ: types.ChecksumTypeFullObject}
		} else {
			obj.sum = sum{alg: u.alg, value: compositeOf(u.alg, sums), typ: types.ChecksumTypeComposite}
		}
	}
	return obj
}

// checkObjectSum compares an object checksum sent with the complete
// request with the object's.
func (f *Fake) checkObjectSum(u *upload, in *s3.CompleteMultipartUploadInput, obj *object) error {
	const op = "CompleteMultipartUpload"
	given, unsupported := sumsOf(in).given()
	if unsupported {
		return APIError(op, http.StatusNotImplemented, "NotImplemented", msgUnsupportedAlgo)
	}
	if len(given) == 0 || f.cfg.hideChecksums || f.cfg.ownSum != "" {
		return nil
	}
	if len(given) > 1 {
		return APIError(op, http.StatusBadRequest, "InvalidRequest", msgMultipleSums)
	}
	g := given[0]
	if g.alg != u.alg {
		want := "null"
		if u.alg != "" {
			want = lower(u.alg)
		}
		return APIError(op, http.StatusBadRequest, "InvalidRequest",
			fmt.Sprintf("Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s", want, lower(g.alg)))
	}
	want := obj.sum.value
	if g.value != want && g.value != strings.Split(want, "-")[0] {
		return APIError(op, http.StatusBadRequest, "BadDigest",
			fmt.Sprintf("The %s you specified for the object did not match the calculated checksum.", g.alg))
	}
	return nil
}
