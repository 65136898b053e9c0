package integration

import (
	"context"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/integration/s3test"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/store"
)

// BenchmarkReadBack measures what verifying an object by reading it back
// costs the client (issue 22): on a store that reports nothing proving an
// object's bytes, s3up GETs the object and hashes every part's range with
// its CRC32C. The object is 1 GiB, uploaded once; cpu-s/GiB is the client's
// user+system CPU per GiB read back, s/GiB its wall time.
//
//	go test ./integration -run '^$' -bench ReadBack -benchtime 3x
func BenchmarkReadBack(b *testing.B) {
	const size = 1 << 30
	for _, srv := range s3test.Servers() {
		b.Run(srv.Name, func(b *testing.B) {
			ctx := context.Background()
			bucket := srv.NewBucket(b)
			src := s3test.MakeFile(b, b.TempDir(), size, s3test.Seed(b))
			if res := s3test.RunCLI(b, ctx, srv.Env(), "put", "--verify=false", src, "s3://"+bucket+"/obj"); res.ExitCode != 0 {
				b.Fatalf("put: %s", res)
			}
			os.Remove(src)
			b.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
			b.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
			client, err := store.NewClient(ctx, store.ClientConfig{Endpoint: srv.Endpoint, Region: srv.Region})
			if err != nil {
				b.Fatal(err)
			}
			var cpu time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				before := cpuTime()
				out, err := client.API.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj")})
				if err != nil {
					b.Fatal(err)
				}
				var read int64
				for read < size {
					_, n, err := checksum.Hash(io.LimitReader(out.Body, 16<<20), checksum.Request{Alg: checksum.CRC32C})
					if err != nil || n == 0 {
						b.Fatalf("read back after %d bytes: %v", read, err)
					}
					read += n
				}
				out.Body.Close()
				cpu += cpuTime() - before
			}
			b.StopTimer()
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/GiB")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/GiB")
		})
	}
}

// cpuTime is this process's user and system CPU so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
