package s3up

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3API is the part of the S3 client s3up uses. *s3.Client satisfies it;
// unit tests use a fake.
type S3API interface {
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	ListParts(ctx context.Context, in *s3.ListPartsInput, optFns ...func(*s3.Options)) (*s3.ListPartsOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
	ListMultipartUploads(ctx context.Context, in *s3.ListMultipartUploadsInput, optFns ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
}

var _ S3API = (*s3.Client)(nil)

// RemotePart is a part as the server lists it.
type RemotePart struct {
	Number   int32
	Size     int64
	ETag     string // verbatim
	Checksum string // base64 checksum of the upload's algorithm, "" if not reported
}

// ListAllParts returns every part of an upload, following ListParts
// pagination (1,000 parts a page on S3), in ascending part order.
func ListAllParts(ctx context.Context, c S3API, bucket, key, uploadID string) ([]RemotePart, error) {
	var parts []RemotePart
	var marker *string
	for page := 0; ; page++ {
		out, err := c.ListParts(ctx, &s3.ListPartsInput{
			Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID),
			PartNumberMarker: marker,
		})
		if err != nil {
			return nil, fmt.Errorf("list parts of upload %s: %w", uploadID, err)
		}
		for _, p := range out.Parts {
			parts = append(parts, RemotePart{
				Number:   aws.ToInt32(p.PartNumber),
				Size:     aws.ToInt64(p.Size),
				ETag:     aws.ToString(p.ETag),
				Checksum: partChecksum(p),
			})
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		next := aws.ToString(out.NextPartNumberMarker)
		if next == "" && len(out.Parts) > 0 {
			// Some stores omit the marker; the last part number is the marker.
			next = strconv.Itoa(int(aws.ToInt32(out.Parts[len(out.Parts)-1].PartNumber)))
		}
		if next == "" || (marker != nil && next == *marker) || page > MaxParts {
			return nil, fmt.Errorf("list parts of upload %s: server reported more parts but no usable next marker", uploadID)
		}
		marker = aws.String(next)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].Number < parts[j].Number })
	return parts, nil
}

func partChecksum(p types.Part) string {
	for _, v := range []*string{p.ChecksumCRC32C, p.ChecksumCRC32, p.ChecksumCRC64NVME, p.ChecksumSHA256, p.ChecksumSHA1} {
		if v != nil && *v != "" {
			return *v
		}
	}
	return ""
}
