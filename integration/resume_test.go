package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/s3up/s3up/integration/faultproxy"
	"github.com/s3up/s3up/integration/s3test"
)

// proxyEnv points the CLI at a proxy in front of srv.
func proxyEnv(srv *s3test.Server, p *faultproxy.Proxy) []string {
	return append(srv.Env(), "AWS_ENDPOINT_URL_S3="+p.URL())
}

func newProxy(t *testing.T, srv *s3test.Server, cfg faultproxy.Config) *faultproxy.Proxy {
	t.Helper()
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	if strings.HasPrefix(srv.Endpoint, "https://") {
		t.Fatalf("proxy tests need a plain-HTTP server")
	}
	p, err := faultproxy.New(srv.Endpoint, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// countParts returns the part_done events in a --json output so far.
func countParts(stdout string) int { return strings.Count(stdout, `"event":"part_done"`) }

// interruptAfter starts a put and kills it with SIGKILL once the server has
// acknowledged at least n parts; it returns the upload id.
func interruptAfter(t *testing.T, env []string, n int, args ...string) string {
	t.Helper()
	p := s3test.StartCLI(t, env, append([]string{"put", "--json", "--concurrency", "1", "--bwlimit", "40MiB/s"}, args...)...)
	s3test.Eventually(t, 60*time.Second, 5*time.Millisecond, func() (bool, string) {
		select {
		case <-p.Done():
			t.Fatalf("put ended before it could be interrupted: %s", p.Wait())
		default:
		}
		c := countParts(p.Stdout())
		return c >= n, fmt.Sprintf("%d/%d parts done", c, n)
	})
	p.Kill()
	evs := jsonEvents(t, firstLines(p.Stdout()))
	ev := findEvent(evs, "started")
	if ev == nil {
		ev = findEvent(evs, "resumed")
	}
	if ev == nil {
		t.Fatalf("no started event: %s", p.Stdout())
	}
	return ev["upload_id"].(string)
}

// firstLines drops a torn last line (the process was killed mid-write).
func firstLines(s string) string {
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		return s[:i+1]
	}
	return ""
}

// TestResumeKillCycles kills an upload with SIGKILL at random moments 20
// times, then lets it finish. The object must be the file, nothing may be
// left behind, and the bytes sent across all runs must stay within what
// the parts in flight at each kill can explain.
func TestResumeKillCycles(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		const (
			size     = 256 * MiB
			partSize = 5 * MiB
			conc     = 2
			cycles   = 20
		)
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		rng := s3test.NewRand(seed)
		src := s3test.MakeFile(t, t.TempDir(), size, seed)
		dst := "s3://" + bucket + "/cycles.bin"
		proxy := newProxy(t, srv, faultproxy.Config{Seed: seed})
		env := proxyEnv(srv, proxy)

		killed := 0
		for i := 0; i < cycles; i++ {
			// A random moment between start-up (state loading, reconcile,
			// create) and a couple of waves of parts; 20 MiB/s over 2
			// connections finishes a 5 MiB part every 0.5 s.
			delay := time.Duration(rng.Int64N(int64(1100 * time.Millisecond)))
			p := s3test.StartCLI(t, env, "put", "--json", "--part-size", "5MiB", "--concurrency", fmt.Sprint(conc),
				"--bwlimit", "20MiB/s", src, dst)
			timer := time.NewTimer(delay)
			select {
			case <-timer.C:
				p.Kill()
				killed++
				continue
			case <-p.Done():
				timer.Stop()
			}
			res := p.Wait()
			if res.ExitCode != 0 {
				t.Fatalf("cycle %d: %s", i, res)
			}
			t.Logf("cycle %d: upload finished before the kill", i)
			break
		}
		t.Logf("%d runs killed with SIGKILL", killed)
		if killed < cycles {
			t.Fatalf("only %d of %d runs were killed: the test did not interrupt enough", killed, cycles)
		}
		res := s3upRun(t, srv, "put", "--json", "--endpoint", proxy.URL(), src, dst)
		if res.ExitCode != 0 {
			t.Fatalf("final run: %s", res)
		}
		r := findEvent(jsonEvents(t, res.Stdout), "result")
		if r == nil || r["resumed"] != true {
			t.Fatalf("final run did not resume: %s", res.Stdout)
		}
		srv.AssertObjectMatchesFile(t, bucket, "cycles.bin", src)
		if ups := srv.IncompleteUploads(t, bucket, "cycles.bin"); len(ups) != 0 {
			t.Fatalf("incomplete uploads left: %+v", ups)
		}
		if sc := sidecars(t, srv, src); len(sc) != 0 {
			t.Fatalf("state left behind: %v", sc)
		}
		sent := proxy.Stats().UploadPartBytes
		bound := int64(size + cycles*conc*partSize)
		t.Logf("bytes sent across all runs: %d (%.2f× the file; bound %d)", sent, float64(sent)/size, bound)
		if sent > bound {
			t.Fatalf("sent %d bytes, more than file size + cycles × concurrency × part size = %d", sent, bound)
		}
	})
}

// TestResumeTableRows provokes each row of the reconciliation table (README "How resume works").
func TestResumeTableRows(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		const size = 40*MiB + 777 // 8 parts of 5 MiB + 1 short one
		newCase := func(t *testing.T) (src, key, dst string) {
			src = s3test.MakeFile(t, t.TempDir(), size, seed)
			key = strings.ReplaceAll(t.Name(), "/", "-")
			return src, key, "s3://" + bucket + "/" + key
		}
		resumeRun := func(t *testing.T, env []string, args ...string) (s3test.Result, []map[string]any) {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			res := s3test.RunCLI(t, ctx, env, append([]string{"put", "--json"}, args...)...)
			return res, jsonEvents(t, res.Stdout)
		}
		finished := func(t *testing.T, res s3test.Result, src, key string) {
			t.Helper()
			if res.ExitCode != 0 {
				t.Fatalf("rerun failed: %s", res)
			}
			srv.AssertObjectMatchesFile(t, bucket, key, src)
			if ups := srv.IncompleteUploads(t, bucket, key); len(ups) != 0 {
				t.Fatalf("incomplete uploads left: %+v", ups)
			}
			if sc := sidecars(t, srv, src); len(sc) != 0 {
				t.Fatalf("state left behind: %v", sc)
			}
		}
		num := func(ev map[string]any, k string) int {
			if ev == nil {
				t.Fatalf("missing event")
			}
			f, _ := ev[k].(float64)
			return int(f)
		}

		t.Run("sidecar-and-server-agree-skip", func(t *testing.T) {
			src, key, dst := newCase(t)
			interruptAfter(t, srv.Env(), 3, "--part-size", "5MiB", src, dst)
			res, evs := resumeRun(t, srv.Env(), src, dst)
			finished(t, res, src, key)
			rs := findEvent(evs, "resumed")
			if num(rs, "on_server") < 3 || num(rs, "adopted") != 0 {
				t.Fatalf("resumed %v", rs)
			}
			if sent := num(findEvent(evs, "result"), "parts_sent"); sent != 9-num(rs, "on_server") {
				t.Fatalf("sent %d parts, want %d", sent, 9-num(rs, "on_server"))
			}
		})

		t.Run("crash-window-part-on-server-not-in-sidecar-adopted", func(t *testing.T) {
			src, key, dst := newCase(t)
			interruptAfter(t, srv.Env(), 3, "--part-size", "5MiB", src, dst)
			sc := sidecarFile(t, srv, src)
			lines := sidecarLines(t, sc)
			// Forget the last recorded part, as if the process died between
			// the server's answer and the journal write.
			if err := os.WriteFile(sc, []byte(strings.Join(lines[:len(lines)-1], "\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			res, evs := resumeRun(t, srv.Env(), src, dst)
			finished(t, res, src, key)
			if rs := findEvent(evs, "resumed"); num(rs, "adopted") < 1 {
				t.Fatalf("part on the server was not adopted: %v", rs)
			}
		})

		t.Run("crash-window-part-on-server-wrong-bytes-resent", func(t *testing.T) {
			src, key, dst := newCase(t)
			id := interruptAfter(t, srv.Env(), 2, "--part-size", "5MiB", src, dst)
			sc := sidecarFile(t, srv, src)
			lines := sidecarLines(t, sc)
			// Part 1 on the server gets other bytes and the sidecar forgets
			// it: the local checksum will not match, so it must be re-sent.
			putPartBehindBack(t, srv, bucket, key, id, 1, bytes.Repeat([]byte{'x'}, 5*MiB))
			var keep []string
			for _, l := range lines {
				if !strings.HasPrefix(l, `{"n":1,`) {
					keep = append(keep, l)
				}
			}
			os.WriteFile(sc, []byte(strings.Join(keep, "\n")+"\n"), 0o600)
			res, evs := resumeRun(t, srv.Env(), src, dst)
			finished(t, res, src, key)
			rs := findEvent(evs, "resumed")
			if s3test.Lacks(srv, "part-replace") {
				// The part s3up sent before the crash is still listed beside
				// the other bytes: that version matches the local checksum and
				// is adopted, and Complete names it.
				if num(rs, "adopted") < 1 || num(rs, "mismatched") != 0 {
					t.Fatalf("resumed %v, want the right version adopted", rs)
				}
				return
			}
			if num(rs, "mismatched") < 1 || num(rs, "adopted") != 0 {
				t.Fatalf("resumed %v", rs)
			}
		})

		t.Run("sidecar-done-server-missing-resent", func(t *testing.T) {
			src, key, dst := newCase(t)
			interruptAfter(t, srv.Env(), 2, "--part-size", "5MiB", src, dst)
			sc := sidecarFile(t, srv, src)
			f, _ := os.OpenFile(sc, os.O_APPEND|os.O_WRONLY, 0)
			fmt.Fprintf(f, `{"n":9,"size":777,"etag":"\"0123456789abcdef0123456789abcdef\""}`+"\n")
			f.Close()
			res, evs := resumeRun(t, srv.Env(), src, dst)
			finished(t, res, src, key)
			rs := findEvent(evs, "resumed")
			if num(rs, "to_send") != 9-num(rs, "on_server") || num(rs, "on_server") > 8 {
				t.Fatalf("resumed %v", rs)
			}
		})

		t.Run("sidecar-etag-differs-from-server-resent", func(t *testing.T) {
			src, key, dst := newCase(t)
			id := interruptAfter(t, srv.Env(), 2, "--part-size", "5MiB", src, dst)
			// Replace part 1 on the server behind the tool's back: the
			// server's ETag no longer matches the sidecar's record.
			putPartBehindBack(t, srv, bucket, key, id, 1, bytes.Repeat([]byte{'y'}, 5*MiB))
			res, evs := resumeRun(t, srv.Env(), src, dst)
			finished(t, res, src, key)
			rs := findEvent(evs, "resumed")
			if s3test.Lacks(srv, "part-replace") {
				// The recorded version is still listed: it is kept, whatever
				// order the store lists the two versions in.
				if num(rs, "mismatched") != 0 || num(rs, "on_server") < 2 {
					t.Fatalf("resumed %v, want the recorded version kept", rs)
				}
				return
			}
			if num(rs, "mismatched") < 1 {
				t.Fatalf("resumed %v", rs)
			}
		})

		// blockComplete runs a put whose CompleteMultipartUpload always
		// fails, leaving every part sent and recorded.
		blockComplete := func(t *testing.T, src, dst string) (*faultproxy.Proxy, string) {
			proxy := newProxy(t, srv, faultproxy.Config{Seed: seed, Rate: 1, Faults: []faultproxy.Fault{faultproxy.InternalError},
				Match: func(r *http.Request) bool { return r.Method == http.MethodPost && r.URL.Query().Has("uploadId") }})
			res, evs := resumeRun(t, proxyEnv(srv, proxy), "--retries", "0", "--part-size", "5MiB", src, dst)
			if res.ExitCode != 1 {
				t.Fatalf("want exit 1 with complete blocked: %s", res)
			}
			proxy.SetRate(0)
			return proxy, findEvent(evs, "started")["upload_id"].(string)
		}

		t.Run("no-such-upload-object-matches-already-complete", func(t *testing.T) {
			src, key, dst := newCase(t)
			proxy, id := blockComplete(t, src, dst)
			completeBehindBack(t, srv, bucket, key, id, src, 0)
			res, evs := resumeRun(t, proxyEnv(srv, proxy), src, dst)
			finished(t, res, src, key)
			r := findEvent(evs, "result")
			if r["already_complete"] != true || num(r, "parts_sent") != 0 {
				t.Fatalf("not taken as already complete: %v", r)
			}
		})

		t.Run("no-such-upload-partial-object-not-taken-as-done", func(t *testing.T) {
			src, key, dst := newCase(t)
			proxy, id := blockComplete(t, src, dst)
			completeBehindBack(t, srv, bucket, key, id, src, 3) // only parts 1..3
			res, evs := resumeRun(t, proxyEnv(srv, proxy), src, dst)
			finished(t, res, src, key)
			st := findEvent(evs, "started")
			if st == nil || !strings.Contains(fmt.Sprint(st["reason"]), "no longer exists") {
				t.Fatalf("no fresh start after a partial completion: %s", res.Stdout)
			}
			if r := findEvent(evs, "result"); num(r, "parts_sent") != num(r, "parts") || num(r, "parts_kept") != 0 {
				t.Fatalf("result %v: want every part sent again", r)
			}
		})

		t.Run("upload-aborted-behind-back-fresh-start", func(t *testing.T) {
			src, key, dst := newCase(t)
			id := interruptAfter(t, srv.Env(), 2, "--part-size", "5MiB", src, dst)
			if err := srv.Core().AbortMultipartUpload(context.Background(), bucket, key, id); err != nil {
				t.Fatal(err)
			}
			res, evs := resumeRun(t, srv.Env(), src, dst)
			finished(t, res, src, key)
			if st := findEvent(evs, "started"); st == nil || st["upload_id"] == id {
				t.Fatalf("no new upload: %s", res.Stdout)
			}
		})

		t.Run("source-changed-never-resumed", func(t *testing.T) {
			src, key, dst := newCase(t)
			id := interruptAfter(t, srv.Env(), 2, "--part-size", "5MiB", src, dst)
			f, err := os.OpenFile(src, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteAt([]byte("changed!"), 3) // inside part 1, which the server holds
			f.Close()
			future := time.Now().Add(time.Minute)
			os.Chtimes(src, future, future)
			res, evs := resumeRun(t, srv.Env(), src, dst)
			finished(t, res, src, key)
			if findEvent(evs, "warning") == nil || findEvent(evs, "started") == nil {
				t.Fatalf("changed source was not restarted with a warning: %s", res.Stdout)
			}
			for _, u := range srv.IncompleteUploads(t, bucket, key) {
				if u.UploadID == id {
					t.Fatalf("old upload %s not aborted", id)
				}
			}
		})

		t.Run("source-emptied-old-upload-aborted", func(t *testing.T) {
			src, key, dst := newCase(t)
			id := interruptAfter(t, srv.Env(), 2, "--part-size", "5MiB", src, dst)
			if err := os.Truncate(src, 0); err != nil {
				t.Fatal(err)
			}
			res, _ := resumeRun(t, srv.Env(), src, dst)
			finished(t, res, src, key)
			for _, u := range srv.IncompleteUploads(t, bucket, key) {
				if u.UploadID == id {
					t.Fatalf("old upload %s not aborted", id)
				}
			}
		})

		t.Run("corrupt-sidecar-clear-error-then-fresh", func(t *testing.T) {
			src, key, dst := newCase(t)
			oldID := interruptAfter(t, srv.Env(), 2, "--part-size", "5MiB", src, dst)
			sc := sidecarFile(t, srv, src)
			if err := os.Truncate(sc, 10); err != nil {
				t.Fatal(err)
			}
			res := s3upRun(t, srv, "put", src, dst)
			if res.ExitCode != 2 {
				t.Fatalf("corrupt state: want exit 2: %s", res)
			}
			oneErrorLine(t, res, "--fresh")
			if srv.ObjectExists(t, bucket, key) {
				t.Fatal("object completed from corrupt state")
			}
			res, evs := resumeRun(t, srv.Env(), "--fresh", src, dst)
			if w := findEvent(evs, "warning"); w == nil || !strings.Contains(fmt.Sprint(w["message"]), "s3up gc") {
				t.Fatalf("no warning about the unreadable state: %s", res.Stdout)
			}
			// The unreadable state's upload id is unknown, so its upload
			// stays for gc; abort it to check that nothing else is left.
			if err := srv.Core().AbortMultipartUpload(context.Background(), bucket, key, oldID); err != nil {
				t.Fatalf("old upload %s should still exist: %v", oldID, err)
			}
			finished(t, res, src, key)
		})

		t.Run("future-format-version-refused", func(t *testing.T) {
			src, key, dst := newCase(t)
			interruptAfter(t, srv.Env(), 1, "--part-size", "5MiB", src, dst)
			sc := sidecarFile(t, srv, src)
			b, _ := os.ReadFile(sc)
			os.WriteFile(sc, bytes.Replace(b, []byte(`"version":1`), []byte(`"version":99`), 1), 0o600)
			res := s3upRun(t, srv, "put", src, dst)
			if res.ExitCode != 2 {
				t.Fatalf("want exit 2: %s", res)
			}
			oneErrorLine(t, res, "newer version")
			if srv.ObjectExists(t, bucket, key) {
				t.Fatal("object completed")
			}
		})

		t.Run("fresh-discards-state-and-aborts-old-upload", func(t *testing.T) {
			src, key, dst := newCase(t)
			oldID := interruptAfter(t, srv.Env(), 2, "--part-size", "5MiB", src, dst)
			res, evs := resumeRun(t, srv.Env(), "--fresh", "--part-size", "5MiB", src, dst)
			finished(t, res, src, key)
			st := findEvent(evs, "started")
			if st == nil || st["upload_id"] == oldID || findEvent(evs, "resumed") != nil {
				t.Fatalf("--fresh did not start over: %s", res.Stdout)
			}
			if r := findEvent(evs, "result"); num(r, "parts_sent") != num(r, "parts") || num(r, "parts_kept") != 0 {
				t.Fatalf("result %v: want every part sent again", r)
			}
		})

		t.Run("two-processes-refused", func(t *testing.T) {
			src, key, dst := newCase(t)
			p := s3test.StartCLI(t, srv.Env(), "put", "--json", "--part-size", "5MiB", "--bwlimit", "10MiB/s", src, dst)
			s3test.Eventually(t, 30*time.Second, 5*time.Millisecond, func() (bool, string) {
				return strings.Contains(p.Stdout(), `"event":"started"`), "waiting for the first run to start"
			})
			res := s3upRun(t, srv, "put", src, dst)
			if res.ExitCode != 1 {
				t.Fatalf("second run: want exit 1: %s", res)
			}
			oneErrorLine(t, res, "another s3up process")
			p.Kill()
			res, _ = resumeRun(t, srv.Env(), src, dst)
			finished(t, res, src, key)
		})
	})
}

// putPartBehindBack uploads data as part n of an upload with minio-go.
func putPartBehindBack(t *testing.T, srv *s3test.Server, bucket, key, id string, n int, data []byte) {
	t.Helper()
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	hdr := http.Header{}
	hdr.Set("x-amz-checksum-crc32c", base64.StdEncoding.EncodeToString(b[:]))
	_, err := srv.Core().PutObjectPart(context.Background(), bucket, key, id, n, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectPartOptions{CustomHeader: hdr})
	if err != nil {
		t.Fatalf("put part %d behind the tool's back: %v", n, err)
	}
}

// completeBehindBack completes an upload with minio-go from its first n
// parts (0: all of them), src being the file the parts were cut from.
//
// The upload was created with a CRC32C composite checksum, so the request
// must name each part's CRC32C (SeaweedFS answers InvalidRequest otherwise).
// The checksums are computed from src rather than taken from ListParts:
// SeaweedFS lists parts without their checksums. Where the server does list
// one (MinIO, versitygw), it must be the same.
func completeBehindBack(t *testing.T, srv *s3test.Server, bucket, key, id, src string, n int) {
	t.Helper()
	parts := srv.Parts(t, bucket, key, id)
	if n > 0 {
		parts = parts[:n]
	}
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cp []minio.CompletePart
	var off int64
	for i, p := range parts {
		// Parts 1..n, each once: the offsets in src follow from the sizes.
		if p.PartNumber != i+1 {
			t.Fatalf("complete behind the tool's back: want parts 1..%d each listed once, have %+v", len(parts), parts)
		}
		h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
		if _, err := io.Copy(h, io.NewSectionReader(f, off, p.Size)); err != nil {
			t.Fatal(err)
		}
		off += p.Size
		sum := base64.StdEncoding.EncodeToString(h.Sum(nil))
		if p.ChecksumCRC32C != "" && p.ChecksumCRC32C != sum {
			t.Fatalf("part %d: the server lists CRC32C %s, its bytes in %s have %s", p.PartNumber, p.ChecksumCRC32C, src, sum)
		}
		cp = append(cp, minio.CompletePart{PartNumber: p.PartNumber, ETag: p.ETag, ChecksumCRC32C: sum})
	}
	if _, err := srv.Core().CompleteMultipartUpload(context.Background(), bucket, key, id, cp, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("complete behind the tool's back: %v", err)
	}
}
