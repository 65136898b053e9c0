package integration

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/integration/s3test"
	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/store"
)

// BenchmarkReconcile10000Parts measures what a resume does before sending
// anything for an upload of 10,000 parts: list every part from the server
// (one ListParts page on MinIO and SeaweedFS, ten of 1,000 on versitygw,
// the nine after the first fetched ahead since the sidecar records all
// 10,000) and reconcile them with the sidecar. pages/reconcile counts the
// ListParts requests. Target: under 1 s on MinIO, which its own listing of
// 10,000 parts (about 2 s, see store.ListAllParts) does not allow.
//
//	go test ./integration -run '^$' -bench Reconcile10000 -benchtime 3x
//
// The upload's parts are one byte each (S3 checks the 5 MiB minimum only at
// completion), so setting it up takes seconds, not 50 GB.
func BenchmarkReconcile10000Parts(b *testing.B) {
	for _, srv := range s3test.Servers() {
		b.Run(srv.Name, func(b *testing.B) {
			const parts = 10000
			ctx := context.Background()
			bucket := srv.NewBucket(b)
			key := "reconcile-10000"
			id, local := putOneByteParts(b, srv, bucket, key, parts)
			expected := make([]resume.PartSpec, parts)
			for i := range expected {
				expected[i] = resume.PartSpec{Number: int32(i + 1), Size: 1}
			}
			b.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
			b.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
			client, err := store.NewClient(ctx, store.ClientConfig{Endpoint: srv.Endpoint, Region: srv.Region})
			if err != nil {
				b.Fatal(err)
			}
			api := &countListParts{S3API: client.API}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				remote, err := store.ListAllParts(ctx, api, bucket, key, id, parts)
				if err != nil {
					b.Fatal(err)
				}
				rec := resume.Reconcile(expected, local, remote)
				if got := rec.Count(resume.Skip); got != parts {
					b.Fatalf("%d of %d parts kept: %+v", got, parts, rec.Decisions[0])
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/reconcile")
			b.ReportMetric(float64(api.calls.Load())/float64(b.N), "pages/reconcile")
		})
	}
}

// countListParts counts the ListParts requests of a listing.
type countListParts struct {
	store.S3API
	calls atomic.Int64
}

func (c *countListParts) ListParts(ctx context.Context, in *s3.ListPartsInput, opts ...func(*s3.Options)) (*s3.ListPartsOutput, error) {
	c.calls.Add(1)
	return c.S3API.ListParts(ctx, in, opts...)
}
