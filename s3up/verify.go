package s3up

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3up/s3up/resume"
)

// verify checks the completed object against what was computed locally:
// its size, and its checksum (the composite of the part checksums, or the
// full-object CRC) or, without a flexible checksum, its multipart ETag.
func (j *job) verify(ctx context.Context, out *s3.CompleteMultipartUploadOutput, parts []resume.Part, expected string) error {
	u := j.u
	head, err := u.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(j.dest.Bucket), Key: aws.String(j.dest.Key), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		return classify(&UploadError{Op: "verify object", UploadID: j.st.UploadID, Err: err})
	}
	fail := func(format string, args ...any) error {
		return withKind(ErrVerify, &UploadError{Op: "verify object", UploadID: j.st.UploadID, StatePath: j.sc.Path(),
			Err: fmt.Errorf(format, args...)})
	}
	if n := aws.ToInt64(head.ContentLength); n != j.src.Size {
		return fail("s3://%s/%s has %d bytes, the source has %d", j.dest.Bucket, j.dest.Key, n, j.src.Size)
	}
	j.warnDroppedOptions(head)
	methods := []string{"size"}
	if expected != "" {
		got := firstNonEmpty(completeChecksum(out, j.alg), headChecksum(head, j.alg))
		if got != "" {
			if !sameChecksum(got, expected) {
				return fail("the object's %s checksum is %s, the parts sent give %s", j.alg, got, expected)
			}
			methods = append(methods, strings.ToUpper(string(j.alg))+" checksum")
			j.res.Checksum = got
		} else {
			u.ev.emit(Warning{Message: fmt.Sprintf("the server reports no %s checksum for the object; verified by ETag and size only", j.alg)})
		}
	}
	// The multipart ETag proves the object is exactly the parts we hold
	// (every store we know computes it as md5 of the part MD5s). The part
	// ETags it is built from were vouched for when each part was sent: by
	// the server checking our checksum, Content-MD5 or signed payload hash,
	// or, with --checksum none and an unsigned payload, by s3up comparing
	// the ETag with the MD5 of the bytes it read (Options.checkETags).
	etag := strings.Trim(aws.ToString(out.ETag), `"`)
	if etag == "" {
		etag = strings.Trim(aws.ToString(head.ETag), `"`)
	}
	if md5s, ok := partMD5s(parts); ok && strings.HasSuffix(etag, fmt.Sprintf("-%d", len(parts))) {
		if want := compositeETag(md5s); want != etag {
			return fail("the object's ETag is %s, the parts sent give %s", etag, want)
		}
		methods = append(methods, "multipart ETag")
	}
	if len(methods) == 1 {
		u.ev.emit(Warning{Message: fmt.Sprintf("only the size of s3://%s/%s could be verified: the server reports neither a %s checksum nor a multipart ETag made of part MD5s",
			j.dest.Bucket, j.dest.Key, j.alg)})
	}
	j.res.Verified = strings.Join(methods, ", ")
	u.ev.emit(Verified{Method: j.res.Verified, Value: firstNonEmpty(j.res.Checksum, etag)})
	return nil
}

// warnDroppedOptions warns when the object lacks an attribute the upload
// asked for. Some stores accept x-amz-server-side-encryption or
// x-amz-storage-class and silently ignore them (versitygw's posix backend
// stores SSE unencrypted; MinIO without storage-class configuration keeps
// REDUCED_REDUNDANCY objects as STANDARD): the bytes are right, so this is
// not a verification failure, but the user must know.
func (j *job) warnDroppedOptions(head *s3.HeadObjectOutput) {
	o := j.u.opts.Object
	if o.SSE != "" && !strings.EqualFold(string(head.ServerSideEncryption), o.SSE) {
		j.u.ev.emit(Warning{Message: fmt.Sprintf("--sse %s was accepted, but the server reports the object's encryption as %q: it may be stored unencrypted",
			o.SSE, head.ServerSideEncryption)})
	}
	// S3 omits x-amz-storage-class for STANDARD.
	if sc := o.StorageClass; sc != "" && !strings.EqualFold(sc, "STANDARD") && !strings.EqualFold(string(head.StorageClass), sc) {
		j.u.ev.emit(Warning{Message: fmt.Sprintf("--storage-class %s was accepted, but the server reports the object's storage class as %q",
			sc, firstNonEmpty(string(head.StorageClass), "STANDARD"))})
	}
}

// alreadyComplete decides, when the upload id is gone, whether the object
// at the key is this upload's result (someone, maybe a run whose answer was
// lost, completed it): its size and checksum or ETag must match the state.
// A partial or foreign object is never taken as done.
func (j *job) alreadyComplete(ctx context.Context) (bool, string, error) {
	u := j.u
	head, err := u.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(j.dest.Bucket), Key: aws.String(j.dest.Key), ChecksumMode: types.ChecksumModeEnabled})
	if IsNotFound(err) {
		return false, "no object at the key", nil
	}
	if err != nil {
		return false, "", classify(&UploadError{Op: "check object", UploadID: j.st.UploadID, Err: err})
	}
	if n := aws.ToInt64(head.ContentLength); n != j.src.Size {
		return false, fmt.Sprintf("the object at the key has %d bytes, not %d", n, j.src.Size), nil
	}
	parts := make([]resume.Part, 0, j.plan.Count)
	for n := int32(1); n <= j.plan.Count; n++ {
		p, ok := j.st.Parts[n]
		if !ok || p.Size != j.plan.PartSizeOf(n) {
			return false, "the state does not record every part, so the object cannot be verified", nil
		}
		parts = append(parts, p)
	}
	if j.alg.flexible() {
		if got := headChecksum(head, j.alg); got != "" {
			sums := make([]string, len(parts))
			sizes := make([]int64, len(parts))
			for i, p := range parts {
				sums[i], sizes[i] = p.Checksum, p.Size
			}
			want, err := compositeChecksum(j.alg, sums, sizes)
			if err == nil && sameChecksum(got, want) {
				j.finishedElsewhere(head, "size, "+strings.ToUpper(string(j.alg))+" checksum", got)
				return true, "", nil
			}
			return false, "the object at the key has a different checksum", nil
		}
	}
	etag := strings.Trim(aws.ToString(head.ETag), `"`)
	if md5s, ok := partMD5s(parts); ok && etag == compositeETag(md5s) {
		j.finishedElsewhere(head, "size, multipart ETag", etag)
		return true, "", nil
	}
	return false, "the object at the key is not this upload's result", nil
}

func (j *job) finishedElsewhere(head *s3.HeadObjectOutput, method, value string) {
	j.res.AlreadyComplete = true
	j.res.Resumed = true
	j.res.UploadID = j.st.UploadID
	j.res.ETag = aws.ToString(head.ETag)
	j.res.Parts = j.plan.Count
	j.res.PartSize = j.plan.PartSize
	j.res.PartsKept = int(j.plan.Count)
	j.res.Verified = method
	j.res.Checksum = value
	j.u.ev.emit(Completed{ETag: j.res.ETag})
	j.u.ev.emit(Verified{Method: method, Value: value})
}

// partMD5s returns the MD5 behind every part's ETag, if all are plain MD5s.
func partMD5s(parts []resume.Part) ([][]byte, bool) {
	out := make([][]byte, len(parts))
	for i, p := range parts {
		m, ok := etagMD5(p.ETag)
		if !ok {
			return nil, false
		}
		out[i] = m
	}
	return out, true
}

// sameChecksum compares checksums, tolerating a store that omits the
// "-N" part-count suffix of a composite.
func sameChecksum(got, want string) bool {
	if got == want {
		return true
	}
	g, _, _ := strings.Cut(got, "-")
	w, _, _ := strings.Cut(want, "-")
	return g == w && g != ""
}

func completeChecksum(o *s3.CompleteMultipartUploadOutput, a ChecksumAlgorithm) string {
	return pickChecksum(a, o.ChecksumCRC32C, o.ChecksumCRC32, o.ChecksumCRC64NVME, o.ChecksumSHA256, o.ChecksumSHA1)
}

func headChecksum(o *s3.HeadObjectOutput, a ChecksumAlgorithm) string {
	return pickChecksum(a, o.ChecksumCRC32C, o.ChecksumCRC32, o.ChecksumCRC64NVME, o.ChecksumSHA256, o.ChecksumSHA1)
}

func pickChecksum(a ChecksumAlgorithm, crc32c, crc32, crc64, sha256, sha1 *string) string {
	switch a {
	case ChecksumCRC32C:
		return aws.ToString(crc32c)
	case ChecksumCRC32:
		return aws.ToString(crc32)
	case ChecksumCRC64NVME:
		return aws.ToString(crc64)
	case ChecksumSHA256:
		return aws.ToString(sha256)
	case ChecksumSHA1:
		return aws.ToString(sha1)
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func applyObjectOptionsCreate(in *s3.CreateMultipartUploadInput, o ObjectOptions) {
	in.ContentType = optString(o.ContentType)
	in.CacheControl = optString(o.CacheControl)
	in.StorageClass = types.StorageClass(o.StorageClass)
	in.ACL = types.ObjectCannedACL(o.ACL)
	in.ServerSideEncryption = types.ServerSideEncryption(o.SSE)
	in.SSEKMSKeyId = optString(o.SSEKMSKeyID)
	if len(o.Metadata) > 0 {
		in.Metadata = o.Metadata
	}
}

func applyObjectOptionsPut(in *s3.PutObjectInput, o ObjectOptions) {
	in.ContentType = optString(o.ContentType)
	in.CacheControl = optString(o.CacheControl)
	in.StorageClass = types.StorageClass(o.StorageClass)
	in.ACL = types.ObjectCannedACL(o.ACL)
	in.ServerSideEncryption = types.ServerSideEncryption(o.SSE)
	in.SSEKMSKeyId = optString(o.SSEKMSKeyID)
	if len(o.Metadata) > 0 {
		in.Metadata = o.Metadata
	}
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
