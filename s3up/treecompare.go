package s3up

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/source"
	"github.com/s3up/s3up/s3up/store"
)

// headMTime asks for the object at key: its size, ETag and the mtime s3up
// stored with it.
func (r *treeRun) headMTime(ctx context.Context, key string) (*mtimeHead, error) {
	out, err := r.u.client.API.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(r.t.Bucket), Key: aws.String(key)})
	if store.IsNotFound(err) {
		return &mtimeHead{}, nil
	}
	if err != nil {
		return nil, store.Classify(&UploadError{Op: "look at the object", Err: err})
	}
	h := &mtimeHead{found: true, size: aws.ToInt64(out.ContentLength), etag: aws.ToString(out.ETag)}
	for k, v := range out.Metadata {
		if strings.EqualFold(k, MTimeKey) {
			h.mtime = v
		}
	}
	return h, nil
}

// compareContent reads the file and compares it with the object's
// checksums (--checksum-compare).
func (r *treeRun) compareContent(ctx context.Context, f treeFile, ev *emitter) (*mtimeHead, *contentFacts, error) {
	src, err := source.Open(f.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	defer src.Close()
	s := r.u.newSession(src, fileParts{src: src}, r.t.Bucket, f.key, ev, r.opts)
	s.ra = src
	if _, err := s.useState(); err != nil {
		return nil, nil, err
	}
	head, c, err := s.sameContent(ctx)
	if err != nil || head == nil {
		return &mtimeHead{}, nil, err
	}
	return &mtimeHead{found: true, size: head.size, etag: head.etag}, &c, nil
}

// sameContent compares the source's bytes with the object at the key by
// every check the object's answers allow (checkObject, checkSingle): its
// S3 checksum, the store's own CRC-64 or CRC32C, its ETag where that is
// an MD5 or md5-of-md5s. A multipart object is cut as it was uploaded: the
// part size is its part 1's (HeadObject with PartNumber). The object is
// the same only if something beyond its size matched and nothing
// contradicts the file. A missing object is a nil head.
func (s *session) sameContent(ctx context.Context) (*objectHead, contentFacts, error) {
	head, err := s.head(ctx, "")
	if err != nil || head == nil {
		return head, contentFacts{}, err
	}
	size := s.id.Size
	if head.size != size {
		return head, contentFacts{verdict: contentDifferent, why: fmt.Sprintf("mismatch: the object has %d bytes, the file %d", head.size, size)}, nil
	}
	alg, sum := checksum.OfHead(head.raw).Any()
	count := partsIn(head.etag, sum)
	plan := Plan{Size: size, PartSize: size, Count: 1, LastPartSize: size}
	if count > 1 {
		ps, err := s.partOneSize(ctx)
		if err != nil || ps <= 0 || (size+ps-1)/ps != int64(count) {
			return head, contentFacts{why: "not comparable: the size of the object's parts is not known (HeadObject with a part number: " + describeOr(err, "no answer that fits") + ")"}, nil
		}
		plan = Plan{Size: size, PartSize: ps, Count: count, LastPartSize: size - int64(count-1)*ps}
	}
	data := fileParts{src: s.ra, plan: plan}
	req := checksum.Request{Alg: alg, MD5: true, CRC32C: true, CRC64ECMA: head.native.CRC64Header != ""}
	parts := make([]resume.Part, plan.Count)
	for i := range parts {
		n := int32(i + 1)
		sums, err := data.sums(ctx, n, req)
		if err != nil {
			return nil, contentFacts{}, store.WithKind(ErrTransient, fmt.Errorf("read %s: %w", s.res.Source, err))
		}
		parts[i] = resume.Part{Number: n, Size: data.size(n), Checksum: sums.Checksum, ETag: `"` + hex.EncodeToString(sums.MD5) + `"`,
			Digest: addDigest(digestOf(digestAlg, sums.CRC32C), checksum.MD5, base64.StdEncoding.EncodeToString(sums.MD5))}
		if req.CRC64ECMA {
			parts[i].CRC64ECMA = strconv.FormatUint(sums.CRC64ECMA, 10)
		}
	}
	var c objectCheck
	j := judging{wire: alg}
	if count > 1 || strings.Contains(head.etag, "-") {
		c = checkObject(head, parts, j)
	} else {
		md5, _ := checksum.ETagMD5(parts[0].ETag)
		c = checkSingle(head, parts[0], md5, j)
	}
	switch {
	case c.mismatch != "":
		return head, contentFacts{verdict: contentDifferent, why: "mismatch: " + c.mismatch}, nil
	case !c.verified():
		return head, contentFacts{why: "not comparable: " + strings.Join(c.notes, "; ")}, nil
	}
	return head, contentFacts{verdict: contentSame, why: "compared " + c.method()}, nil
}

// partsIn is the number of parts a multipart object's ETag or checksum
// names ("...-N"), 1 for an object stored whole.
func partsIn(etag, sum string) int32 {
	for _, v := range []string{strings.Trim(etag, `"`), sum} {
		if i := strings.LastIndexByte(v, '-'); i >= 0 {
			if n, err := strconv.Atoi(v[i+1:]); err == nil && n > 0 && n <= MaxParts {
				return int32(n)
			}
		}
	}
	return 1
}

// partOneSize asks for the size of part 1 of the object at the key.
func (s *session) partOneSize(ctx context.Context) (int64, error) {
	out, err := s.client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.dest.Bucket), Key: aws.String(s.dest.Key), PartNumber: aws.Int32(1)})
	if err != nil {
		return 0, err
	}
	return aws.ToInt64(out.ContentLength), nil
}

func describeOr(err error, otherwise string) string {
	if err != nil {
		return store.Describe(err)
	}
	return otherwise
}
