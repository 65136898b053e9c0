package store

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// BenchmarkListAllParts10000 is the client's share of a resume's
// reconciliation of a 10,000-part upload: the requests, and decoding the
// ListParts XML, from a loopback server that answers at once, in one page
// of 10,000 parts (MinIO's page size) or ten of 1,000 (AWS's). What a real
// server spends producing the listing is not in it (see
// integration.BenchmarkReconcile10000Parts).
//
//	go test ./s3up/store -run '^$' -bench ListAllParts10000
func BenchmarkListAllParts10000(b *testing.B) {
	const parts = 10000
	entry := func(n int) string {
		return fmt.Sprintf(`<Part><PartNumber>%d</PartNumber><LastModified>2026-11-29T09:50:00.000Z</LastModified>`+
			`<ETag>&#34;0123456789abcdef0123456789abcdef&#34;</ETag><Size>16777216</Size><ChecksumCRC32C>AAAAAA==</ChecksumCRC32C></Part>`, n)
	}
	for _, page := range []int{10000, 1000} {
		b.Run(fmt.Sprintf("page=%d", page), func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				marker, _ := strconv.Atoi(r.URL.Query().Get("part-number-marker"))
				var sb strings.Builder
				sb.WriteString(`<?xml version="1.0" encoding="UTF-8"?><ListPartsResult><Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId>`)
				last := min(marker+page, parts)
				for n := marker + 1; n <= last; n++ {
					sb.WriteString(entry(n))
				}
				if last < parts {
					fmt.Fprintf(&sb, `<IsTruncated>true</IsTruncated><NextPartNumberMarker>%d</NextPartNumberMarker>`, last)
				} else {
					sb.WriteString(`<IsTruncated>false</IsTruncated>`)
				}
				sb.WriteString(`</ListPartsResult>`)
				w.Header().Set("Content-Type", "application/xml")
				w.Write([]byte(sb.String()))
			}))
			defer srv.Close()
			client := s3.New(s3.Options{
				Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
				Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""),
			})
			b.ReportAllocs()
			for b.Loop() {
				ps, err := ListAllParts(context.Background(), client, "b", "k", "u", parts)
				if err != nil || len(ps) != parts {
					b.Fatal(len(ps), err)
				}
			}
		})
	}
}
