package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"

	"github.com/s3up/s3up/integration/s3test"
	"github.com/s3up/s3up/resume"
)

// These tests drive the operational commands (status, abort, uploads, gc)
// and the put progress output through the built binary, and check the
// results with minio-go, independently of s3up.

const (
	opsMiB      = 1 << 20
	opsWait     = 60 * time.Second      // upper bound for a condition to come true
	opsPoll     = 20 * time.Millisecond // how often to look
	opsPartSize = 5 * opsMiB
)

// opsRunJSON runs the CLI with --json, checks the exit code and that stdout is
// only JSON objects, one a line, and returns them.
func opsRunJSON(t *testing.T, srv *s3test.Server, wantCode int, args ...string) []map[string]any {
	t.Helper()
	res := s3test.RunCLI(t, t.Context(), srv.Env(), append(args, "--json")...)
	if res.ExitCode != wantCode {
		t.Fatalf("s3up %s: exit %d, want %d\n%s", strings.Join(args, " "), res.ExitCode, wantCode, res)
	}
	var objs []map[string]any
	for _, line := range strings.Split(strings.TrimRight(res.Stdout, "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("s3up %s --json: stdout line is not a JSON object: %q (%v)", strings.Join(args, " "), line, err)
		}
		objs = append(objs, m)
	}
	return objs
}

// opsEvents returns the objects whose "event" is name.
func opsEvents(objs []map[string]any, name string) []map[string]any {
	var out []map[string]any
	for _, o := range objs {
		if o["event"] == name {
			out = append(out, o)
		}
	}
	return out
}

// opsDecode re-decodes a JSON object into a typed value.
func opsDecode(t *testing.T, m map[string]any, v any) {
	t.Helper()
	b, _ := json.Marshal(m)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

type opsPart struct {
	N        int32  `json:"n"`
	State    string `json:"state"`
	Size     int64  `json:"size"`
	ETag     string `json:"etag"`
	Versions int    `json:"versions"`
}

type opsUploadStatus struct {
	UploadID  string    `json:"upload_id"`
	Initiated time.Time `json:"initiated"`
	OnServer  bool      `json:"on_server"`
	InSidecar bool      `json:"in_sidecar"`
	Size      int64     `json:"size"`
	BytesDone int64     `json:"bytes_done"`
	Parts     []opsPart `json:"parts"`
}

type opsStatusReport struct {
	StatePath string            `json:"state_path"`
	HasState  bool              `json:"has_state"`
	InUse     bool              `json:"in_use"`
	Upload    *opsUploadStatus  `json:"upload"`
	Others    []opsUploadStatus `json:"others"`
}

func opsStatus(t *testing.T, srv *s3test.Server, src, dst string) opsStatusReport {
	t.Helper()
	objs := opsRunJSON(t, srv, 0, "status", src, dst)
	st := opsEvents(objs, "status")
	if len(st) != 1 || len(objs) != 1 {
		t.Fatalf("status --json printed %d objects, want one status object: %v", len(objs), objs)
	}
	var s opsStatusReport
	opsDecode(t, st[0], &s)
	return s
}

func opsStates(parts []opsPart) string {
	sym := map[string]byte{"sent": '#', "server_only": '+', "mismatch": 'x', "missing": '!', "pending": '.'}
	var b strings.Builder
	for _, p := range parts {
		b.WriteByte(sym[p.State])
	}
	return b.String()
}

// opsInterruptedPut starts a slow put of src and waits until its sidecar
// records at least minParts parts; it returns the running process and the
// sidecar path (from the "planned" event).
func opsInterruptedPut(t *testing.T, srv *s3test.Server, src, dst string, minParts int) (*s3test.Proc, string) {
	t.Helper()
	p := s3test.StartCLI(t, srv.Env(), "put", "--json", "--part-size", "5MiB", "--concurrency", "1",
		"--bwlimit", "10MiB/s", src, dst)
	var path string
	s3test.Eventually(t, opsWait, opsPoll, func() (bool, string) {
		select {
		case <-p.Done():
			t.Fatalf("put exited before it could be interrupted: %v", p.Wait())
		default:
		}
		if path == "" {
			for _, line := range strings.Split(p.Stdout(), "\n") {
				var m map[string]any
				if json.Unmarshal([]byte(line), &m) == nil && m["event"] == "planned" {
					path, _ = m["state"].(string)
				}
			}
			if path == "" {
				return false, "no planned event yet: " + p.Stdout()
			}
		}
		st, err := resume.Peek(path)
		if err != nil {
			return false, err.Error()
		}
		return len(st.Parts) >= minParts, fmt.Sprintf("sidecar records %d parts", len(st.Parts))
	})
	return p, path
}

func TestOpsStatusAbort(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		ctx := t.Context()
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		dir := t.TempDir()
		src := s3test.MakeFile(t, dir, 8*opsPartSize, seed) // 8 parts of 5 MiB
		key := "ops/status.bin"
		dst := "s3://" + bucket + "/" + key
		core := srv.Core()

		// 1. A put is running: status reads without disturbing it, abort refuses.
		put, path := opsInterruptedPut(t, srv, src, dst, 2)
		st := opsStatus(t, srv, src, dst)
		if !st.InUse || !st.HasState || st.Upload == nil || !st.Upload.OnServer {
			t.Fatalf("status during put: %+v", st)
		}
		res := s3test.RunCLI(t, ctx, srv.Env(), "abort", src, dst)
		if res.ExitCode != 1 || !strings.Contains(res.Stderr, "another s3up process") {
			t.Fatalf("abort during put: want exit 1 and a busy message\n%s", res)
		}
		put.Kill()

		// 2. Sidecar and server upload: doctor the server so every state shows.
		st = opsStatus(t, srv, src, dst)
		up := st.Upload
		if up == nil || !up.OnServer || !up.InSidecar || st.InUse || len(up.Parts) != 8 || up.Size != 8*opsPartSize {
			t.Fatalf("status after kill: %+v", st)
		}
		sidecar, err := resume.Peek(path)
		if err != nil {
			t.Fatal(err)
		}
		recorded := len(sidecar.Parts)
		if recorded < 2 || recorded > 7 {
			t.Fatalf("sidecar records %d parts; want 2..7 for an interrupted upload", recorded)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		// Part 8 with the right bytes (server only); part 1 with other bytes:
		// a mismatch where a part uploaded again replaces the first, a second
		// version beside the recorded one where it does not (SeaweedFS).
		opsPutPart(t, srv, bucket, key, up.UploadID, 8, data[7*opsPartSize:], true)
		opsPutPart(t, srv, bucket, key, up.UploadID, 1, bytes.Repeat([]byte{'z'}, opsPartSize), true)
		st = opsStatus(t, srv, src, dst)
		got := opsStates(st.Upload.Parts)
		first, done := "x", recorded-1
		if s3test.Lacks(srv, "part-replace") {
			first, done = "#", recorded
			if v := st.Upload.Parts[0].Versions; v != 2 {
				t.Fatalf("part 1 listed in %d versions, want 2", v)
			}
		}
		want := first + strings.Repeat("#", recorded-1) + strings.Repeat(".", 7-recorded) + "+"
		if got != want {
			t.Fatalf("part opsStates %q, want %q (sidecar records %d parts)", got, want, recorded)
		}
		if st.Upload.BytesDone != int64(done)*opsPartSize {
			t.Errorf("bytes_done %d, want %d", st.Upload.BytesDone, done*opsPartSize)
		}
		text := s3test.RunCLI(t, ctx, srv.Env(), "status", src, dst)
		if text.ExitCode != 0 || !strings.Contains(text.Stdout, "     1 "+want) || !strings.Contains(text.Stdout, "upload "+st.Upload.UploadID+": started") {
			t.Fatalf("status text lacks the part map %q\n%s", want, text)
		}

		// 3. abort with a sidecar: the upload and the sidecar go.
		res = s3test.RunCLI(t, ctx, srv.Env(), "abort", src, dst)
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, "aborted upload "+st.Upload.UploadID) {
			t.Fatalf("abort: %s", res)
		}
		if ups := srv.IncompleteUploads(t, bucket, key); len(ups) != 0 {
			t.Fatalf("after abort, %d uploads remain: %+v", len(ups), ups)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("after abort the sidecar %s still exists (%v)", path, err)
		}

		// 4. Sidecar whose upload is gone from the server.
		put, path = opsInterruptedPut(t, srv, src, dst, 0)
		put.Kill()
		gone, err := resume.Peek(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := core.AbortMultipartUpload(ctx, bucket, key, gone.UploadID); err != nil {
			t.Fatal(err)
		}
		st = opsStatus(t, srv, src, dst)
		if st.Upload == nil || st.Upload.OnServer || st.Upload.UploadID != gone.UploadID || len(st.Others) != 0 {
			t.Fatalf("status of a vanished upload: %+v", st)
		}
		for _, p := range st.Upload.Parts {
			if p.State != "missing" && p.State != "pending" {
				t.Fatalf("vanished upload: part %d is %s, want missing or pending", p.N, p.State)
			}
		}
		text = s3test.RunCLI(t, ctx, srv.Env(), "status", src, dst)
		if !strings.Contains(text.Stdout, "gone from the server") {
			t.Fatalf("status text does not say the upload is gone\n%s", text)
		}
		objs := opsRunJSON(t, srv, 0, "abort", src, dst)
		ab := opsEvents(objs, "aborted")
		if len(ab) != 1 || ab[0]["had_state"] != true || fmt.Sprint(ab[0]["gone"]) != "["+gone.UploadID+"]" {
			t.Fatalf("abort of a vanished upload: %v", objs)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("sidecar %s still exists after abort (%v)", path, err)
		}

		// 5. No sidecar, uploads on the server only (two of this key, one of
		// a longer key sharing its prefix, which must be left alone).
		var ids []string
		for i := range 2 {
			id, err := core.NewMultipartUpload(ctx, bucket, key, minio.PutObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
			opsPutPart(t, srv, bucket, key, id, 1, data[:opsPartSize], false)
			if i == 1 {
				opsPutPart(t, srv, bucket, key, id, 3, data[2*opsPartSize:3*opsPartSize], false)
			}
		}
		keep, err := core.NewMultipartUpload(ctx, bucket, key+".other", minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		st = opsStatus(t, srv, src, dst)
		if st.HasState || st.Upload != nil || len(st.Others) != 2 {
			t.Fatalf("status without sidecar: want 2 server uploads, got %+v", st)
		}
		for _, o := range st.Others {
			want := "+......."
			if o.UploadID == ids[1] {
				want = "+.+....."
			}
			if got := opsStates(o.Parts); got != want || o.Initiated.IsZero() {
				t.Errorf("server-only upload %s: parts %q, want %q; initiated %v", o.UploadID, got, want, o.Initiated)
			}
		}
		// Without state, which upload is this source's is unknown: abort
		// refuses and names them, unless --all says to abort them all.
		res = s3test.RunCLI(t, ctx, srv.Env(), "abort", src, dst)
		if res.ExitCode != 2 || !strings.Contains(res.Stderr, "--all") || !strings.Contains(res.Stderr, ids[1]) {
			t.Fatalf("abort without state and without --all: want exit 2 naming the uploads: %s", res)
		}
		if n := len(srv.IncompleteUploads(t, bucket, "ops/")); n != 3 {
			t.Fatalf("the refused abort aborted something: %d uploads left, want 3", n)
		}
		objs = opsRunJSON(t, srv, 0, "abort", "--all", src, dst)
		ab = opsEvents(objs, "aborted")
		if len(ab) != 1 || ab[0]["had_state"] != false || len(ab[0]["aborted"].([]any)) != 2 {
			t.Fatalf("abort without sidecar: want 2 aborted, got %v", objs)
		}
		left := srv.IncompleteUploads(t, bucket, "ops/")
		if len(left) != 1 || left[0].UploadID != keep {
			t.Fatalf("abort without sidecar left %+v; want only %s of %s.other", left, keep, key)
		}
		res = s3test.RunCLI(t, ctx, srv.Env(), "abort", src, dst)
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, "nothing to abort") {
			t.Fatalf("abort with nothing to abort: %s", res)
		}
	})
}

// opsPutPart uploads part n of an upload through minio-go. With crc it sends
// the part's CRC32C, which a store requires for an upload created with that
// checksum algorithm (as s3up creates them by default).
func opsPutPart(t *testing.T, srv *s3test.Server, bucket, key, id string, n int, data []byte, crc bool) {
	t.Helper()
	var opts minio.PutObjectPartOptions
	if crc {
		sum := crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))
		opts.CustomHeader = http.Header{}
		opts.CustomHeader.Set("x-amz-checksum-crc32c", base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, sum)))
	}
	if _, err := srv.Core().PutObjectPart(t.Context(), bucket, key, id, n, bytes.NewReader(data), int64(len(data)), opts); err != nil {
		t.Fatalf("upload part %d of %s: %v", n, key, err)
	}
}

// opsAbortAtCleanup aborts the given uploads when the test ends, before the
// bucket is removed: the harness's cleanup pages through uploads with an
// UploadIdMarker, which versitygw refuses past the first 1,000.
func opsAbortAtCleanup(t *testing.T, srv *s3test.Server, bucket string, ids map[string]string) {
	t.Cleanup(func() {
		var g errgroup.Group
		g.SetLimit(16)
		for id, key := range ids {
			g.Go(func() error { return srv.Core().AbortMultipartUpload(context.Background(), bucket, key, id) })
		}
		if err := g.Wait(); err != nil && minio.ToErrorResponse(err).Code != "NoSuchUpload" {
			t.Errorf("abort uploads: %v", err)
		}
	})
}

// opsCreateUploads starts n uploads of keys(i) concurrently and returns their ids.
func opsCreateUploads(t *testing.T, srv *s3test.Server, bucket string, n int, key func(i int) string) map[string]string {
	t.Helper()
	ids := make([]string, n)
	g, ctx := errgroup.WithContext(t.Context())
	g.SetLimit(16)
	core := srv.Core()
	for i := range n {
		g.Go(func() error {
			id, err := core.NewMultipartUpload(ctx, bucket, key(i), minio.PutObjectOptions{})
			ids[i] = id
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("create uploads: %v", err)
	}
	m := make(map[string]string, n)
	for i, id := range ids {
		m[id] = key(i)
	}
	return m
}

func TestOpsUploadsPagination(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		// Two uploads per key, so that a page boundary can fall between the
		// uploads of one key; more than 1,000 so that listing takes pages.
		const many = 1030
		start := time.Now()
		want := opsCreateUploads(t, srv, bucket, many, func(i int) string { return fmt.Sprintf("many/k%04d", i/2) })
		others := opsCreateUploads(t, srv, bucket, 3, func(i int) string { return fmt.Sprintf("other/k%d", i) })
		opsAbortAtCleanup(t, srv, bucket, want)
		t.Logf("created %d uploads in %s", many+3, time.Since(start).Round(time.Millisecond))
		var withPart string
		for id, k := range want {
			withPart = id
			opsPutPart(t, srv, bucket, k, id, 2, make([]byte, 1000), false)
			break
		}

		objs := opsRunJSON(t, srv, 0, "uploads", "s3://"+bucket+"/many/")
		ups := opsEvents(objs, "upload")
		got := map[string]bool{}
		for _, u := range ups {
			id := u["upload_id"].(string)
			if want[id] != u["key"] || got[id] {
				t.Fatalf("uploads listed %v: not one of the created uploads of many/, or listed twice", u)
			}
			got[id] = true
			parts, bytes := u["parts"].(float64), u["bytes"].(float64)
			if id == withPart && (parts != 1 || bytes != 1000) || id != withPart && (parts != 0 || bytes != 0) {
				t.Errorf("upload %s: %v parts, %v bytes", id, parts, bytes)
			}
			if _, ok := u["initiated"].(string); !ok {
				t.Errorf("upload %s has no initiated time: %v", id, u)
			}
		}
		if len(got) != many {
			t.Fatalf("uploads s3://%s/many/ listed %d uploads, want %d", bucket, len(got), many)
		}
		sum := opsEvents(objs, "summary")
		if len(sum) != 1 || sum[0]["uploads"] != float64(many) || sum[0]["parts"] != float64(1) || sum[0]["bytes"] != float64(1000) {
			t.Fatalf("summary %v", sum)
		}

		res := s3test.RunCLI(t, t.Context(), srv.Env(), "uploads", "s3://"+bucket)
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, fmt.Sprintf("%d incomplete uploads, 1 part, 1000 B", many+len(others))) {
			t.Fatalf("uploads of the whole bucket: %s", res)
		}
		if !strings.HasPrefix(res.Stdout, "KEY ") || strings.Count(res.Stdout, "\n") != many+len(others)+2 {
			t.Fatalf("uploads table: want a header, %d rows and a total", many+len(others))
		}
	})
}

// opsInitiated returns the server's Initiated time of each upload of bucket.
func opsInitiated(t *testing.T, srv *s3test.Server, bucket string) map[string]time.Time {
	t.Helper()
	m := map[string]time.Time{}
	for _, u := range srv.IncompleteUploads(t, bucket, "") {
		m[u.UploadID] = u.Initiated
	}
	return m
}

func TestOpsGC(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		ctx := t.Context()
		bucket := srv.NewBucket(t)
		core := srv.Core()
		old := opsCreateUploads(t, srv, bucket, 3, func(i int) string { return fmt.Sprintf("gc/old%d", i) })
		var lastOld time.Time
		for id, k := range old {
			opsPutPart(t, srv, bucket, k, id, 1, make([]byte, 4096), false)
			// gc judges an upload idle from its newest part: the old set's
			// last activity is this part's time.
			for _, p := range srv.Parts(t, bucket, k, id) {
				if p.LastModified.After(lastOld) {
					lastOld = p.LastModified
				}
			}
			break
		}
		for _, ts := range opsInitiated(t, srv, bucket) {
			if ts.After(lastOld) {
				lastOld = ts
			}
		}
		// Stores report Initiated to the second (versitygw) or the
		// millisecond: wait until the server's clock, read from a probe
		// upload, is 2s past the old set, so the sets are apart whatever the
		// granularity.
		s3test.Eventually(t, 10*time.Second, 100*time.Millisecond, func() (bool, string) {
			id, err := core.NewMultipartUpload(ctx, bucket, "probe", minio.PutObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ts := opsInitiated(t, srv, bucket)[id]
			if err := core.AbortMultipartUpload(ctx, bucket, "probe", id); err != nil {
				t.Fatal(err)
			}
			return ts.Sub(lastOld) >= 2*time.Second, fmt.Sprintf("probe initiated %v, old set %v", ts, lastOld)
		})
		young := opsCreateUploads(t, srv, bucket, 2, func(i int) string { return fmt.Sprintf("gc/young%d", i) })
		opsCreateUploads(t, srv, bucket, 1, func(int) string { return "elsewhere/young" })

		// The cutoff sits 0.5s after the old set; the young set is at least
		// 1.5s later, room for the CLI's start-up.
		olderThan := func() string {
			return fmt.Sprintf("%dms", time.Since(lastOld.Add(500*time.Millisecond)).Milliseconds())
		}
		for _, dry := range []bool{true, false} {
			args := []string{"gc", "s3://" + bucket + "/gc/", "--older-than", olderThan()}
			action := "aborted"
			if dry {
				args = append(args, "--dry-run")
				action = "would_abort"
			}
			objs := opsRunJSON(t, srv, 0, args...)
			got := map[string]bool{}
			for _, u := range opsEvents(objs, "upload") {
				id := u["upload_id"].(string)
				if _, ok := old[id]; !ok || u["action"] != action {
					t.Fatalf("gc (dry run %v) selected %v; only the old uploads under gc/ qualify", dry, u)
				}
				got[id] = true
			}
			sum := opsEvents(objs, "gc")
			if len(got) != len(old) || len(sum) != 1 || sum[0]["aborted"] != float64(3) || sum[0]["parts"] != float64(1) ||
				sum[0]["bytes"] != float64(4096) || sum[0]["kept"] != float64(2) || sum[0]["dry_run"] != dry {
				t.Fatalf("gc (dry run %v): %v", dry, objs)
			}
			left := opsInitiated(t, srv, bucket)
			for id := range young {
				if _, ok := left[id]; !ok {
					t.Fatalf("gc (dry run %v) removed young upload %s", dry, id)
				}
			}
			for id := range old {
				if _, ok := left[id]; ok == !dry {
					t.Fatalf("gc (dry run %v): old upload %s present=%v", dry, id, ok)
				}
			}
			if len(left) != len(young)+1+map[bool]int{true: 3, false: 0}[dry] {
				t.Fatalf("gc (dry run %v) left %d uploads", dry, len(left))
			}
		}
		res := s3test.RunCLI(t, ctx, srv.Env(), "gc", "s3://"+bucket, "--older-than", "1d")
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, "aborted 0 uploads") || !strings.Contains(res.Stdout, "kept 3 recently active") {
			t.Fatalf("gc --older-than 1d: %s", res)
		}
		if res := s3test.RunCLI(t, ctx, srv.Env(), "gc", "s3://"+bucket); res.ExitCode != 2 {
			t.Fatalf("gc without --older-than: want exit 2\n%s", res)
		}
		if n := len(opsInitiated(t, srv, bucket)); n != 3 {
			t.Fatalf("%d uploads left, want 3", n)
		}
	})
}

var opsProgressLine = regexp.MustCompile(`^s3up: progress: \d+% [\d.]+ \S+/[\d.]+ \S+, \d+/\d+ parts, [\d.]+ \S+/s$`)

func TestOpsPutProgressAndBandwidth(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		src := s3test.MakeFile(t, t.TempDir(), 64*opsMiB, seed)
		env := append(srv.Env(), "S3UP_PROGRESS_INTERVAL=200ms")
		res := s3test.RunCLI(t, t.Context(), env, "put", "--bwlimit", "16MiB/s", src, "s3://"+bucket+"/bw.bin")
		if res.ExitCode != 0 {
			t.Fatalf("put: %s", res)
		}
		if res.Duration < 3500*time.Millisecond {
			t.Errorf("64 MiB at 16 MiB/s took %s, want at least 3.5s", res.Duration)
		}
		if strings.ContainsAny(res.Stderr, "\r\x1b") {
			t.Errorf("non-terminal output has carriage returns or escape sequences:\n%q", res.Stderr)
		}
		var lines int
		for _, l := range strings.Split(res.Stderr, "\n") {
			if strings.HasPrefix(l, "s3up: progress:") {
				if !opsProgressLine.MatchString(l) {
					t.Errorf("malformed progress line %q", l)
				}
				lines++
			}
		}
		if lines < 5 {
			t.Errorf("%d progress lines in ≥3.5s at a 200ms interval, want at least 5:\n%s", lines, res.Stderr)
		}
		if !strings.Contains(res.Stdout, "done: s3://"+bucket+"/bw.bin") {
			t.Errorf("no done line on stdout:\n%s", res.Stdout)
		}
		srv.AssertObjectMatchesFile(t, bucket, "bw.bin", src)
	})
}
