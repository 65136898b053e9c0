package integration

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/s3up/s3up/integration/faultproxy"
	"github.com/s3up/s3up/integration/s3test"
)

// Tests of issue 22, "Verified means verified, on every store": through
// every store behaviour the fault proxy emulates, on every server, no
// damaged object is ever reported done, and every store limitation ends in
// a completed upload or a clear, final message.

// emulate returns a proxy answering as store in front of srv, and the
// environment of a CLI run through it with a state directory of its own.
func emulate(t *testing.T, srv *s3test.Server, store faultproxy.Store, cfg faultproxy.Config) (*faultproxy.Proxy, []string) {
	t.Helper()
	cfg.Store = store
	if store.NeedsCredentials() {
		cfg.Credentials = &faultproxy.Credentials{AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Region: srv.Region}
	}
	p := newProxy(t, srv, cfg)
	return p, append(proxyEnv(srv, p), "XDG_STATE_HOME="+t.TempDir())
}

// verifiedBy is what the result of a default put through each store must
// name among its checks: a value the store reports compared with one s3up
// computed, for a multipart object and for one PutObject.
var verifiedBy = map[faultproxy.Store][2]string{
	faultproxy.LaxChecksums:        {"multipart ETag", "ETag (MD5)"},
	faultproxy.IgnoresMD5:          {"CRC32C checksum", "CRC32C checksum"},
	faultproxy.ChecksNothing:       {"multipart ETag", "ETag (MD5)"},
	faultproxy.Blind:               {"read back", "read back"},
	faultproxy.NoListParts:         {"CRC32C checksum", "CRC32C checksum"},
	faultproxy.NoListUploads:       {"CRC32C checksum", "CRC32C checksum"},
	faultproxy.UploadsNoSuchUpload: {"CRC32C checksum", "CRC32C checksum"},
	faultproxy.NoPartReplace:       {"CRC32C checksum", "CRC32C checksum"},
	faultproxy.NoPartReplaceOSS:    {"CRC32C checksum", "CRC32C checksum"},
	faultproxy.CRC32ForCRC32C:      {"CRC32 checksum", "CRC32 checksum"},
	faultproxy.TrailerNoEcho:       {"CRC32C checksum", "CRC32C checksum"},
}

// TestVerificationStores: the default put of a multipart file, of a small
// file, and of a file killed with kill -9 and rerun, through each store,
// ends byte-identical (read back with minio-go) and verified by a check
// that compares what s3up computed; nothing is left behind.
func TestVerificationStores(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		for _, store := range faultproxy.VerificationStores {
			t.Run(store.String(), func(t *testing.T) {
				want, ok := verifiedBy[store]
				if !ok {
					t.Fatalf("no expectation for %s", store)
				}
				_, env := emulate(t, srv, store, faultproxy.Config{})
				dir := t.TempDir()
				put := func(t *testing.T, src, key, want string) map[string]any {
					t.Helper()
					res := s3test.RunCLI(t, t.Context(), env, "put", "--json", "--part-size", "5MiB", src, "s3://"+bucket+"/"+key)
					if res.ExitCode != 0 {
						t.Fatalf("put through %s: %s", store, res)
					}
					srv.AssertObjectMatchesFile(t, bucket, key, src)
					r := findEvent(jsonEvents(t, res.Stdout), "result")
					v, _ := r["verification"].(map[string]any)
					if r == nil || !strings.Contains(fmt.Sprint(r["verified"]), want) || v["content"] != true {
						t.Fatalf("through %s: verified %v (%v), want %q among the checks: %s", store, r["verified"], v, want, res.Stdout)
					}
					return r
				}
				put(t, s3test.MakeFile(t, dir, 16*MiB+333, seed), store.String()+"/big", want[0])
				if r := put(t, s3test.MakeFile(t, dir, 100*1024, seed+1), store.String()+"/small", want[1]); r["parts"] != float64(1) {
					t.Fatalf("a small file was not one PutObject: %v", r)
				}
				resumed := s3test.MakeFile(t, dir, 21*MiB+7, seed+2)
				key := store.String() + "/resumed"
				interruptAfter(t, env, 2, "--part-size", "5MiB", resumed, "s3://"+bucket+"/"+key)
				r := put(t, resumed, key, want[0])
				if store == faultproxy.NoListParts {
					if r["resumed"] == true {
						t.Fatalf("resumed without ListParts: %v", r)
					}
				} else if r["resumed"] != true || r["parts_kept"].(float64) < 2 {
					t.Fatalf("did not resume: %v", r)
				}
				if ups := srv.IncompleteUploads(t, bucket, store.String()+"/"); len(ups) != 0 {
					t.Fatalf("uploads left behind: %+v", ups)
				}
			})
		}
	})
}

// corruptMatch selects the requests whose bodies the damage tests flip a
// bit of: parts and whole objects.
func corruptMatch(r *http.Request) bool {
	return faultproxy.IsUploadPart(r) || r.Method == http.MethodPut && !r.URL.Query().Has("uploadId")
}

// TestDamagedPartsNeverDone: bytes damaged on the way (one bit flipped in
// the first part or object sent, then in a quarter of the others) through
// every store, with the default flags and with the checks a user might
// think are enough (--checksum md5, --checksum none --payload signed):
// every run that exits 0 leaves the source's exact bytes, and reruns make
// it right. Each file gets at most damageBudget damaged requests (a failed
// run costs at least one), so its six runs always include a clean one,
// even on a store where only a read-back after Complete shows the damage
// and every failed run sends the whole file again.
func TestDamagedPartsNeverDone(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		stores := append([]faultproxy.Store{faultproxy.AsServer}, faultproxy.VerificationStores...)
		for i, store := range stores {
			for _, flags := range [][]string{nil, {"--checksum", "md5"}, {"--checksum", "none", "--payload", "signed"}} {
				if flags != nil && store != faultproxy.IgnoresMD5 && store != faultproxy.ChecksNothing && store != faultproxy.AsServer {
					continue
				}
				name := store.String() + strings.Join(append([]string{""}, flags...), " ")
				t.Run(name, func(t *testing.T) {
					const damageBudget = 4
					var p atomic.Pointer[faultproxy.Proxy]
					var from atomic.Int64 // damage done before this file
					budget := func(r *http.Request) bool {
						px := p.Load()
						return corruptMatch(r) && px != nil && px.Stats().Faults[faultproxy.CorruptBody]-from.Load() < damageBudget
					}
					proxy, env := emulate(t, srv, store, faultproxy.Config{Seed: seed + uint64(i), Rate: 0.25,
						Faults: []faultproxy.Fault{faultproxy.CorruptBody}, Match: budget})
					p.Store(proxy)
					dir := t.TempDir()
					for j, size := range []int64{16*MiB + 5, 200 * 1024} {
						from.Store(proxy.Stats().Faults[faultproxy.CorruptBody])
						proxy.FailNext(faultproxy.CorruptBody)
						src := s3test.MakeFile(t, dir, size, seed+uint64(10*i+j))
						key := fmt.Sprintf("%s/%d", store, j)
						args := append(append([]string{"put", "--json", "--part-size", "5MiB", "--retries", "3"}, flags...), src, "s3://"+bucket+"/"+key)
						done := false
						for run := 1; run <= 6 && !done; run++ {
							res := s3test.RunCLI(t, t.Context(), env, args...)
							switch res.ExitCode {
							case 0:
								srv.AssertObjectMatchesFile(t, bucket, key, src)
								done = true
							case 1:
								t.Logf("run %d failed, as it may: %s", run, lastLine(res.Stderr+res.Stdout))
							default:
								t.Fatalf("run %d: exit %d: %s", run, res.ExitCode, res)
							}
						}
						if !done {
							t.Fatalf("%s: no run completed", key)
						}
					}
					if proxy.Stats().Faults[faultproxy.CorruptBody] == 0 {
						t.Fatal("nothing was damaged: the test tested nothing")
					}
				})
			}
		}
	})
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestRerunAfterFailedVerification: on a store that proves nothing, a
// damaged part is found by reading the object back; the run fails and
// deletes the object, and the rerun uploads the file again (a single file,
// and a file in a tree, which the rerun must not skip as unchanged).
func TestRerunAfterFailedVerification(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		t.Run("file", func(t *testing.T) {
			proxy, env := emulate(t, srv, faultproxy.Blind, faultproxy.Config{Faults: []faultproxy.Fault{faultproxy.CorruptBody}})
			proxy.FailNext(faultproxy.None, faultproxy.CorruptBody)
			src := s3test.MakeFile(t, t.TempDir(), 16*MiB+9, seed)
			dst := "s3://" + bucket + "/file"
			res := s3test.RunCLI(t, t.Context(), env, "put", "--part-size", "5MiB", "--concurrency", "1", src, dst)
			if res.ExitCode != 1 {
				t.Fatalf("a damaged object on a blind store: exit %d, want 1: %s", res.ExitCode, res)
			}
			oneErrorLine(t, res, "does not match the source")
			if !strings.Contains(res.Stderr, "part 2") || !strings.Contains(res.Stderr, "deleted") {
				t.Fatalf("the error does not name the part and the deletion: %s", res.Stderr)
			}
			if srv.ObjectExists(t, bucket, "file") {
				t.Fatal("the damaged object is still at the key")
			}
			before := proxy.Stats().UploadPartBytes
			res = s3test.RunCLI(t, t.Context(), env, "put", "--json", "--part-size", "5MiB", src, dst)
			if res.ExitCode != 0 {
				t.Fatalf("rerun: %s", res)
			}
			srv.AssertObjectMatchesFile(t, bucket, "file", src)
			if sent := proxy.Stats().UploadPartBytes - before; sent != 16*MiB+9 {
				t.Fatalf("the rerun sent %d bytes, want the whole file", sent)
			}
		})
		t.Run("tree", func(t *testing.T) {
			proxy, env := emulate(t, srv, faultproxy.Blind, faultproxy.Config{Faults: []faultproxy.Fault{faultproxy.CorruptBody}})
			root := t.TempDir()
			big := s3test.MakeFile(t, root, 11*MiB, seed+1)
			s3test.MakeFile(t, root, 1000, seed+2)
			proxy.FailNext(faultproxy.CorruptBody)
			dst := "s3://" + bucket + "/tree/"
			res := s3test.RunCLI(t, t.Context(), env, "put", "-r", "--json", "--part-size", "5MiB", "--concurrency", "1", root, dst)
			if res.ExitCode != 4 {
				t.Fatalf("a tree with a damaged file: exit %d, want 4: %s", res.ExitCode, res)
			}
			res = s3test.RunCLI(t, t.Context(), env, "put", "-r", "--json", "--part-size", "5MiB", root, dst)
			if res.ExitCode != 0 {
				t.Fatalf("rerun: %s", res)
			}
			srv.AssertObjectMatchesFile(t, bucket, "tree/"+filepath.Base(big), big)
			for _, e := range jsonEvents(t, res.Stdout) {
				if e["event"] == "file" && e["key"] == "tree/"+filepath.Base(big) && e["result"] != "uploaded" {
					t.Fatalf("the rerun did not upload the file that failed verification: %v", e)
				}
			}
		})
	})
}

// TestChangedStreamWithoutPartReplace: a stream killed with kill -9 and run
// again with other bytes from its second part on, to a store that cannot
// replace a part of an upload (rclone serve s3, OSS sequential uploads):
// the rerun completes, byte-identical to the new stream.
func TestChangedStreamWithoutPartReplace(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		for _, store := range []faultproxy.Store{faultproxy.NoPartReplace, faultproxy.NoPartReplaceOSS} {
			t.Run(store.String(), func(t *testing.T) {
				proxy, env := emulate(t, srv, store, faultproxy.Config{})
				src := s3test.MakeFile(t, t.TempDir(), 21*MiB, seed)
				dst := "s3://" + bucket + "/" + store.String()
				interruptAfter(t, env, 3, "--part-size", "5MiB", "--stdin-from-command", dst, "--", "cat", src)
				f, err := os.OpenFile(src, os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.WriteAt([]byte("the stream changed"), 5*MiB+100); err != nil {
					t.Fatal(err)
				}
				f.Close()
				res := s3test.RunCLI(t, t.Context(), env, "put", "--json", "--part-size", "5MiB", "--stdin-from-command", dst, "--", "cat", src)
				if res.ExitCode != 0 {
					t.Fatalf("rerun of the changed stream: %s", res)
				}
				srv.AssertObjectMatchesFile(t, bucket, store.String(), src)
				if n := proxy.EmulationStats().ReplacementsRefused; n != 0 {
					t.Logf("%d part replacements refused on the way", n)
				}
				if ups := srv.IncompleteUploads(t, bucket, store.String()); len(ups) != 0 {
					t.Fatalf("uploads left behind: %+v", ups)
				}
			})
		}
	})
}

// TestUploadsOnLimitedStores: `s3up uploads` and `gc` on a store without
// ListMultipartUploads name that in one line (exit 2); on one that answers
// NoSuchUpload for a bucket without uploads they list nothing (exit 0); on
// one without ListParts they list the upload with its parts unknown.
func TestUploadsOnLimitedStores(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		t.Run("no-list-uploads", func(t *testing.T) {
			_, env := emulate(t, srv, faultproxy.NoListUploads, faultproxy.Config{})
			for _, args := range [][]string{{"uploads", "s3://" + bucket}, {"gc", "--older-than", "1d", "s3://" + bucket}} {
				res := s3test.RunCLI(t, t.Context(), env, args...)
				if res.ExitCode != 2 {
					t.Fatalf("%v: exit %d: %s", args, res.ExitCode, res)
				}
				oneErrorLine(t, res, "does not implement ListMultipartUploads")
			}
		})
		t.Run("uploads-no-such-upload", func(t *testing.T) {
			_, env := emulate(t, srv, faultproxy.UploadsNoSuchUpload, faultproxy.Config{})
			res := s3test.RunCLI(t, t.Context(), env, "uploads", "--json", "s3://"+bucket+"/none/")
			if res.ExitCode != 0 || strings.Contains(res.Stdout, "upload_id") {
				t.Fatalf("an empty list: %s", res)
			}
		})
		t.Run("no-list-parts", func(t *testing.T) {
			_, env := emulate(t, srv, faultproxy.NoListParts, faultproxy.Config{})
			src := s3test.MakeFile(t, t.TempDir(), 16*MiB, s3test.Seed(t))
			id := interruptAfter(t, env, 1, "--part-size", "5MiB", src, "s3://"+bucket+"/nolist/file")
			res := s3test.RunCLI(t, t.Context(), env, "uploads", "--json", "s3://"+bucket+"/nolist/")
			if res.ExitCode != 0 || !strings.Contains(res.Stdout, id) || !strings.Contains(res.Stdout, `"parts_unknown":true`) {
				t.Fatalf("uploads without ListParts: %s", res)
			}
			if res := s3test.RunCLI(t, t.Context(), env, "abort", src, "s3://"+bucket+"/nolist/file"); res.ExitCode != 0 {
				t.Fatalf("abort: %s", res)
			}
		})
	})
}

// TestTrailerNotEchoedIsLearned: over HTTPS a part goes with its checksum
// in an aws-chunked trailer; a store that takes the trailer but does not
// show the checksum it received gets the part again with a header, and
// that is learned once: the next upload sends no trailer at all.
func TestTrailerNotEchoedIsLearned(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		proxy := newProxy(t, srv, faultproxy.Config{Store: faultproxy.TrailerNoEcho})
		front := newPayloadRecorder(t, proxy.URL(), true)
		env := append(srv.Env(), "AWS_ENDPOINT_URL_S3="+front.srv.URL, "AWS_CA_BUNDLE="+front.caFile, "XDG_STATE_HOME="+t.TempDir())
		trailers := func() int {
			n := 0
			for _, h := range front.take() {
				if h == "STREAMING-UNSIGNED-PAYLOAD-TRAILER" {
					n++
				}
			}
			return n
		}
		dir := t.TempDir()
		first := s3test.MakeFile(t, dir, 16*MiB+1, seed)
		res := s3test.RunCLI(t, t.Context(), env, "put", "--part-size", "5MiB", first, "s3://"+bucket+"/first")
		if res.ExitCode != 0 {
			t.Fatalf("first put: %s", res)
		}
		srv.AssertObjectMatchesFile(t, bucket, "first", first)
		if trailers() == 0 || !strings.Contains(res.Stderr, "does not show the checksum of a part sent with an aws-chunked trailer") {
			t.Fatalf("the first put did not meet the store and learn: %s", res)
		}
		second := s3test.MakeFile(t, dir, 16*MiB+2, seed+1)
		if res := s3test.RunCLI(t, t.Context(), env, "put", "--part-size", "5MiB", second, "s3://"+bucket+"/second"); res.ExitCode != 0 {
			t.Fatalf("second put: %s", res)
		}
		srv.AssertObjectMatchesFile(t, bucket, "second", second)
		if n := trailers(); n != 0 {
			t.Fatalf("%d parts sent with a trailer to a store known not to show their checksum", n)
		}
	})
}
