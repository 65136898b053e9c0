package integration

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"

	"github.com/s3up/s3up/integration/s3test"
	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/store"
)

// BenchmarkReconcile10000Parts measures what a resume does before sending
// anything for an upload of 10,000 parts: list every part from the server
// (ten ListParts pages) and reconcile them with a sidecar recording all of
// them. Target: well under 3 s against a local server.
//
//	go test ./integration -run '^$' -bench Reconcile10000 -benchtime 5x
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
			core := srv.Core()
			id, err := core.NewMultipartUpload(ctx, bucket, key, minio.PutObjectOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { core.AbortMultipartUpload(context.Background(), bucket, key, id) })
			start := time.Now()
			var done atomic.Int64
			var g errgroup.Group
			g.SetLimit(16)
			var mu sync.Mutex
			local := make(map[int32]resume.Part, parts)
			for n := 1; n <= parts; n++ {
				g.Go(func() error {
					p, err := core.PutObjectPart(ctx, bucket, key, id, n, bytes.NewReader([]byte{byte(n)}), 1, minio.PutObjectPartOptions{})
					if err != nil {
						return fmt.Errorf("part %d: %w", n, err)
					}
					mu.Lock()
					local[int32(n)] = resume.Part{Number: int32(n), Size: 1, ETag: `"` + p.ETag + `"`}
					mu.Unlock()
					done.Add(1)
					return nil
				})
			}
			if err := g.Wait(); err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: created %d parts in %s", srv.Name, done.Load(), time.Since(start).Round(time.Millisecond))
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
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				remote, err := store.ListAllParts(ctx, client.API, bucket, key, id)
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
		})
	}
}
