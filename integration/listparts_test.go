package integration

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"

	"github.com/s3up/s3up/integration/s3test"
	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/store"
)

// putOneByteParts starts an upload of key and sends parts 1..n of one byte
// each (S3 checks the 5 MiB minimum only at completion), 16 at a time. It
// returns the upload's ID, aborted at the end of the test, and the parts as
// a journal would record them.
func putOneByteParts(tb testing.TB, srv *s3test.Server, bucket, key string, n int) (string, map[int32]resume.Part) {
	tb.Helper()
	ctx := context.Background()
	core := srv.Core()
	id, err := core.NewMultipartUpload(ctx, bucket, key, minio.PutObjectOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { core.AbortMultipartUpload(context.Background(), bucket, key, id) })
	start := time.Now()
	var g errgroup.Group
	g.SetLimit(16)
	var mu sync.Mutex
	local := make(map[int32]resume.Part, n)
	for i := 1; i <= n; i++ {
		g.Go(func() error {
			p, err := core.PutObjectPart(ctx, bucket, key, id, i, bytes.NewReader([]byte{byte(i)}), 1, minio.PutObjectPartOptions{})
			if err != nil {
				return fmt.Errorf("part %d: %w", i, err)
			}
			mu.Lock()
			local[int32(i)] = resume.Part{Number: int32(i), Size: 1, ETag: `"` + p.ETag + `"`}
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("%s: created %d parts in %s", srv.Name, n, time.Since(start).Round(time.Millisecond))
	return id, local
}

// TestListAllPartsPagesAhead: an upload of more parts than AWS's and
// versitygw's page of 1,000 lists the same, entry for entry, whether the
// pages after the first are fetched ahead (the caller expecting as many
// parts, more or fewer) or one after the other.
func TestListAllPartsPagesAhead(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		const parts = 2100
		bucket := srv.NewBucket(t)
		id, _ := putOneByteParts(t, srv, bucket, "k", parts)
		t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
		t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
		client, err := store.NewClient(t.Context(), store.ClientConfig{Endpoint: srv.Endpoint, Region: srv.Region})
		if err != nil {
			t.Fatal(err)
		}
		want, err := store.ListAllParts(t.Context(), client.API, bucket, "k", id, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) != parts {
			t.Fatalf("sequential listing: %d parts, want %d", len(want), parts)
		}
		for i, p := range want {
			if p.Number != int32(i+1) || p.Size != 1 {
				t.Fatalf("sequential listing: entry %d is %+v", i, p)
			}
		}
		for _, expect := range []int32{parts, 10000, 1500} {
			api := &countListParts{S3API: client.API}
			got, err := store.ListAllParts(t.Context(), api, bucket, "k", id, expect)
			if err != nil {
				t.Fatalf("expect %d: %v", expect, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("expect %d: the listing differs from the sequential one (%d entries)", expect, len(got))
			}
			t.Logf("expect %d: %d ListParts calls", expect, api.calls.Load())
		}
	})
}
