package s3up

import (
	"fmt"
	"mime"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// ParseURL splits s3://BUCKET/KEY into bucket and key. The key may be empty
// or end in "/" (a prefix); use ObjectKey to add a file name.
func ParseURL(s string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%w: destination %q must look like s3://BUCKET/KEY", ErrBadInput, s)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if err := validateBucket(bucket); err != nil {
		return "", "", fmt.Errorf("%w: destination %q: %w", ErrBadInput, s, err)
	}
	return bucket, key, nil
}

// ObjectKey returns the key for source under key: key itself, or, when key
// is empty or ends in "/", key followed by the source's file name.
func ObjectKey(key, source string) string {
	if key == "" || strings.HasSuffix(key, "/") {
		return key + filepath.Base(source)
	}
	return key
}

// ValidateDestination checks a bucket and object key before anything is sent.
func ValidateDestination(bucket, key string) error {
	if err := validateBucket(bucket); err != nil {
		return fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	switch {
	case key == "":
		return fmt.Errorf("%w: object key is empty (use s3://%s/KEY)", ErrBadInput, bucket)
	case len(key) > 1024:
		return fmt.Errorf("%w: object key is %d bytes long; S3 allows 1024", ErrBadInput, len(key))
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: object key is not valid UTF-8", ErrBadInput)
	case strings.HasSuffix(key, "/"):
		return fmt.Errorf("%w: object key %q ends in \"/\"", ErrBadInput, key)
	case path.Clean("/"+key) == "/":
		return fmt.Errorf("%w: object key %q names no object", ErrBadInput, key)
	}
	return nil
}

// validateBucket applies the S3 bucket naming rules that every store shares
// (3–63 characters of lowercase letters, digits, dots and hyphens; begins and
// ends with a letter or digit). Stores with laxer rules (old us-east-1
// buckets with capitals or underscores) are allowed through if only the
// case or underscores differ.
func validateBucket(b string) error {
	if b == "" {
		return fmt.Errorf("bucket name is empty")
	}
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q must be 3 to 63 characters", b)
	}
	for i, r := range b {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' || r >= 'A' && r <= 'Z'
		if !ok {
			return fmt.Errorf("bucket name %q has invalid character %q", b, r)
		}
		if (i == 0 || i == len(b)-1) && (r == '.' || r == '-' || r == '_') {
			return fmt.Errorf("bucket name %q must begin and end with a letter or digit", b)
		}
	}
	return nil
}

// DetectContentType guesses a Content-Type from the file extension, falling
// back to application/octet-stream like `aws s3 cp`.
func DetectContentType(name string) string {
	if t := mime.TypeByExtension(filepath.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}
