package s3up

import (
	"fmt"
	"strconv"
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

func (o ObjectOptions) fields(name string, extra map[string]string) objectFields {
	ct := o.ContentType
	if ct == "" {
		ct = DetectContentType(name)
	}
	f := objectFields{contentType: aws.String(ct), cacheControl: optString(o.CacheControl), kmsKey: optString(o.SSEKMSKeyID),
		storageClass: types.StorageClass(o.StorageClass), acl: types.ObjectCannedACL(o.ACL), sse: types.ServerSideEncryption(o.SSE)}
	if len(o.Metadata) > 0 || len(extra) > 0 {
		f.metadata = make(map[string]string, len(o.Metadata)+len(extra))
		for k, v := range extra {
			f.metadata[k] = v
		}
		for k, v := range o.Metadata {
			// The user's value wins over one s3up sets (case-insensitively:
			// S3 lowercases metadata names).
			for e := range extra {
				if strings.EqualFold(e, k) {
					delete(f.metadata, e)
				}
			}
			f.metadata[k] = v
		}
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

func (o ObjectOptions) applyCreate(in *s3.CreateMultipartUploadInput, name string, extra map[string]string) {
	f := o.fields(name, extra)
	in.ContentType, in.CacheControl, in.SSEKMSKeyId = f.contentType, f.cacheControl, f.kmsKey
	in.StorageClass, in.ACL, in.ServerSideEncryption, in.Metadata = f.storageClass, f.acl, f.sse, f.metadata
	in.ObjectLockMode, in.ObjectLockRetainUntilDate, in.ObjectLockLegalHoldStatus = f.lockMode, f.retainUntil, f.legalHold
}

func (o ObjectOptions) applyPut(in *s3.PutObjectInput, name string, extra map[string]string) {
	f := o.fields(name, extra)
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

// MTimeKey is the user metadata in which s3up stores a file's modification
// time (x-amz-meta-mtime), as rclone does: seconds since 1970 with a
// nanosecond fraction ("1700000000.123456789"). A tree run compares it with
// the file's to skip unchanged files.
const MTimeKey = "mtime"

// FormatMTime renders t for MTimeKey.
func FormatMTime(t time.Time) string {
	ns := t.UnixNano()
	sec, frac := ns/1e9, ns%1e9
	if frac < 0 {
		sec, frac = sec-1, frac+1e9
	}
	return fmt.Sprintf("%d.%09d", sec, frac)
}

// SameMTime reports whether the stored value v (FormatMTime, or another
// tool's "SECONDS[.FRACTION]") is t, to the precision v has.
func SameMTime(v string, t time.Time) bool {
	secs, frac, _ := strings.Cut(strings.TrimSpace(v), ".")
	sec, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || len(frac) > 9 || strings.TrimLeft(frac, "0123456789") != "" {
		return false
	}
	digits := len(frac)
	var ns int64
	if digits > 0 {
		if ns, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return false
		}
	}
	unit := int64(1)
	for range 9 - digits {
		ns *= 10
		unit *= 10
	}
	want := t.UnixNano()
	return sec*1e9+ns == want-((want%unit)+unit)%unit
}

// checkedByHead reports whether options are set that only a HeadObject
// shows were kept (a store may accept and ignore them): storage class,
// encryption, Object Lock.
func (o ObjectOptions) checkedByHead() bool {
	return o.StorageClass != "" || o.SSE != "" || o.SSEKMSKeyID != "" || o.RetentionMode != "" || o.LegalHold
}
