package integration

import (
	"testing"

	"github.com/s3up/s3up/integration/faultproxy"
	"github.com/s3up/s3up/integration/s3test"
)

// corruptCase is a combination of payload signing and checksum that decides
// what can notice a damaged part body.
type corruptCase struct {
	name string
	args []string
}

func corruptCases() []corruptCase {
	cases := []corruptCase{{"default", nil}} // --payload auto, --checksum crc32c
	for _, c := range checksumCases {
		cases = append(cases, corruptCase{"unsigned-" + c.alg, []string{"--payload", "unsigned", "--checksum", c.alg}})
	}
	return append(cases,
		corruptCase{"signed-none", []string{"--payload", "signed", "--checksum", "none"}},
		corruptCase{"auto-none", []string{"--payload", "auto", "--checksum", "none"}}) // signed over plain HTTP
}

// TestCorruptionOnTheWire flips one bit in the body of the first UploadPart
// between s3up and the server, for every checksum with an unsigned payload
// (the checksum is then the only thing that covers the bytes), with the
// default settings, with a signed payload and no checksum, and with neither a
// checksum nor a signed payload (s3up then compares each part's ETag with
// the MD5 of the bytes it read).
//
// s3up must never report success with a wrong object: the damaged part is
// refused (by the server, or by s3up's ETag check) and the SDK sends it
// again, rereading the file, so the object is byte-identical to the file.
func TestCorruptionOnTheWire(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		src := s3test.MakeFile(t, t.TempDir(), 5*MiB+4321, seed) // two parts
		for _, c := range corruptCases() {
			t.Run(c.name, func(t *testing.T) {
				proxy := newProxy(t, srv, faultproxy.Config{Seed: seed})
				proxy.FailNext(faultproxy.CorruptBody)
				key := "once/" + c.name
				args := append([]string{"put", "--json", "--part-size", "5MiB", "--concurrency", "1"}, c.args...)
				res := s3test.RunCLI(t, t.Context(), proxyEnv(srv, proxy), append(args, src, "s3://"+bucket+"/"+key)...)
				st := proxy.Stats()
				if st.Faults[faultproxy.CorruptBody] != 1 {
					t.Fatalf("the proxy corrupted %d parts, want 1", st.Faults[faultproxy.CorruptBody])
				}
				if res.ExitCode != 0 {
					t.Fatalf("a part damaged once must be resent and the upload succeed: %s", res)
				}
				srv.AssertObjectMatchesFile(t, bucket, key, src)
				if st.UploadParts != 3 {
					t.Fatalf("%d UploadPart requests reached the server, want 3 (2 parts + 1 resend)", st.UploadParts)
				}
				r := findEvent(jsonEvents(t, res.Stdout), "result")
				if r == nil || r["verified"] == "" {
					t.Fatalf("result not verified: %s", res.Stdout)
				}
			})
		}
	})
}

// TestCorruptionPersistent damages every UploadPart body and allows no
// retry: the run must fail with exit 1 and one clear line, without creating
// the object, and a rerun over a clean link must finish it.
func TestCorruptionPersistent(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		src := s3test.MakeFile(t, t.TempDir(), 5*MiB+4321, seed)
		for _, c := range []corruptCase{
			{"default", nil},
			{"unsigned-crc32c", []string{"--payload", "unsigned", "--checksum", "crc32c"}},
			{"unsigned-md5", []string{"--payload", "unsigned", "--checksum", "md5"}},
			{"unsigned-none", []string{"--payload", "unsigned", "--checksum", "none"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				proxy := newProxy(t, srv, faultproxy.Config{Seed: seed, Rate: 1, Faults: []faultproxy.Fault{faultproxy.CorruptBody}})
				key := "always/" + c.name
				dst := "s3://" + bucket + "/" + key
				args := append([]string{"put", "--part-size", "5MiB", "--concurrency", "1", "--retries", "0"}, c.args...)
				res := s3test.RunCLI(t, t.Context(), proxyEnv(srv, proxy), append(args, src, dst)...)
				if res.ExitCode != 1 {
					t.Fatalf("every part damaged: exit %d, want 1: %s", res.ExitCode, res)
				}
				oneErrorLine(t, res, "rerun")
				if srv.ObjectExists(t, bucket, key) {
					t.Fatal("an object was completed from damaged parts")
				}
				res = s3test.RunCLI(t, t.Context(), srv.Env(), append(args, src, dst)...)
				if res.ExitCode != 0 {
					t.Fatalf("rerun over a clean link: %s", res)
				}
				srv.AssertObjectMatchesFile(t, bucket, key, src)
			})
		}
	})
}
