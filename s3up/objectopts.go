package s3up

import (
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// objectFields are the object attributes common to CreateMultipartUpload
// and PutObject, resolved once: the Content-Type is guessed from the name
// when the user did not set one.
type objectFields struct {
	contentType, cacheControl, kmsKey *string
	storageClass                      types.StorageClass
	acl                               types.ObjectCannedACL
	sse                               types.ServerSideEncryption
	metadata                          map[string]string
	lockMode                          types.ObjectLockMode
	retainUntil                       *time.Time
	legalHold                         types.ObjectLockLegalHoldStatus
}

func (o ObjectOptions) fields(name string) objectFields {
	ct := o.ContentType
	if ct == "" {
		ct = DetectContentType(name)
	}
	f := objectFields{contentType: aws.String(ct), cacheControl: optString(o.CacheControl), kmsKey: optString(o.SSEKMSKeyID),
		storageClass: types.StorageClass(o.StorageClass), acl: types.ObjectCannedACL(o.ACL), sse: types.ServerSideEncryption(o.SSE)}
	if len(o.Metadata) > 0 {
		f.metadata = o.Metadata
	}
	if o.RetentionMode != "" {
		f.lockMode = types.ObjectLockMode(strings.ToUpper(o.RetentionMode))
		if t, err := RetainUntil(o.RetainUntil, time.Now()); err == nil {
			f.retainUntil = &t
		}
	}
	if o.LegalHold {
		f.legalHold = types.ObjectLockLegalHoldStatusOn
	}
	return f
}

func (o ObjectOptions) applyCreate(in *s3.CreateMultipartUploadInput, name string) {
	f := o.fields(name)
	in.ContentType, in.CacheControl, in.SSEKMSKeyId = f.contentType, f.cacheControl, f.kmsKey
	in.StorageClass, in.ACL, in.ServerSideEncryption, in.Metadata = f.storageClass, f.acl, f.sse, f.metadata
	in.ObjectLockMode, in.ObjectLockRetainUntilDate, in.ObjectLockLegalHoldStatus = f.lockMode, f.retainUntil, f.legalHold
}

func (o ObjectOptions) applyPut(in *s3.PutObjectInput, name string) {
	f := o.fields(name)
	in.ContentType, in.CacheControl, in.SSEKMSKeyId = f.contentType, f.cacheControl, f.kmsKey
	in.StorageClass, in.ACL, in.ServerSideEncryption, in.Metadata = f.storageClass, f.acl, f.sse, f.metadata
	in.ObjectLockMode, in.ObjectLockRetainUntilDate, in.ObjectLockLegalHoldStatus = f.lockMode, f.retainUntil, f.legalHold
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
