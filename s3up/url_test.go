package s3up

import (
	"errors"
	"testing"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	good := []struct{ in, bucket, key string }{
		{"s3://bucket/key", "bucket", "key"},
		{"s3://bucket/dir/sub/key.tar", "bucket", "dir/sub/key.tar"},
		{"s3://bucket/", "bucket", ""},
		{"s3://bucket", "bucket", ""},
		{"s3://my.bucket-1/k", "my.bucket-1", "k"},
	}
	for _, tc := range good {
		b, k, err := ParseURL(tc.in)
		if err != nil || b != tc.bucket || k != tc.key {
			t.Errorf("ParseURL(%q) = %q, %q, %v", tc.in, b, k, err)
		}
	}
	for _, in := range []string{"", "bucket/key", "s3:/bucket/key", "http://bucket/key", "s3://", "s3:///key",
		"s3://ab/key", "s3://-bucket/key", "s3://bu cket/key", "s3://bucket!/k"} {
		if _, _, err := ParseURL(in); !errors.Is(err, ErrBadInput) {
			t.Errorf("ParseURL(%q) err = %v, want ErrBadInput", in, err)
		}
	}
}

func TestObjectKeyAndValidate(t *testing.T) {
	t.Parallel()
	if got := ObjectKey("backups/", "/x/y/a.tar"); got != "backups/a.tar" {
		t.Error(got)
	}
	if got := ObjectKey("", "a.tar"); got != "a.tar" {
		t.Error(got)
	}
	if got := ObjectKey("exact", "a.tar"); got != "exact" {
		t.Error(got)
	}
	for _, k := range []string{"", "dir/", string(make([]byte, 1025)), "\xff\xfe"} {
		if err := ValidateDestination("bucket", k); !errors.Is(err, ErrBadInput) {
			t.Errorf("key %q accepted", k)
		}
	}
}
