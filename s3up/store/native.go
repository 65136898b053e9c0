package store

import (
	"net/http"
	"strconv"
	"strings"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Native is what a store reports of its own integrity checks, outside the
// S3 API's checksum fields: Tencent COS and Alibaba OSS send a CRC-64/ECMA
// of every part and object (x-cos-hash-crc64ecma, x-oss-hash-crc64ecma,
// the decimal value of Go's crc64.ECMA); Google Cloud Storage sends
// x-goog-hash with the object's CRC32C (and an MD5 for objects not made of
// parts).
type Native struct {
	CRC64Header string // the header the CRC-64 came in; "" if none
	CRC64       uint64
	GoogCRC32C  string // base64, "" if not sent
	GoogMD5     string // base64, "" if not sent
}

// NativeCRC64Headers are the headers stores report their CRC-64/ECMA in.
var NativeCRC64Headers = []string{"x-cos-hash-crc64ecma", "x-oss-hash-crc64ecma"}

// NativeOf reads the native checks from an answer's metadata (the raw HTTP
// response the SDK keeps there). An answer without one, or from a client
// that keeps no raw response (a fake), gives the zero Native.
func NativeOf(md middleware.Metadata) Native {
	resp, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response)
	if !ok || resp == nil || resp.Response == nil {
		return Native{}
	}
	return nativeOfHeader(resp.Header)
}

func nativeOfHeader(h http.Header) Native {
	var n Native
	for _, name := range NativeCRC64Headers {
		if v := h.Get(name); v != "" {
			if c, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
				n.CRC64Header, n.CRC64 = name, c
				break
			}
		}
	}
	for _, v := range h.Values("x-goog-hash") {
		for _, kv := range strings.Split(v, ",") {
			k, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok {
				continue
			}
			switch strings.ToLower(k) {
			case "crc32c":
				n.GoogCRC32C = val
			case "md5":
				n.GoogMD5 = val
			}
		}
	}
	return n
}
