package integration

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/s3up/s3up/integration/faultproxy"
	"github.com/s3up/s3up/integration/s3test"
)

// Tests of directory trees (issue 13): put --recursive.

// oddNames are relative paths a tree must store byte for byte.
var oddNames = []string{
	"plain.txt",
	"with space.txt",
	"Été ü/ñandú.txt",
	"日本語/ファイル.txt",
	"quote's \"double\".txt",
	"hash#percent%plus+amp&eq=semi;.txt",
	"deep/a/b/c/d/e/f.bin",
	".hidden",
	"brackets[1]{2}(3).txt",
}

// buildTree writes a tree under a new directory and returns it with the
// relative paths of the files that must be uploaded (not the excluded
// ones), and their sizes.
func buildTree(t *testing.T, seed uint64) (string, map[string]int64) {
	t.Helper()
	root := t.TempDir()
	r := s3test.NewRand(seed)
	want := map[string]int64{}
	write := func(rel string, size int) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, rel := range oddNames {
		size := 100 + i*1000
		write(rel, size)
		want[rel] = int64(size)
	}
	write("empty", 0)
	want["empty"] = 0
	write("scratch.tmp", 10) // --exclude '*.tmp'
	write("sub/also.tmp", 10)
	write("cache/x", 10) // --exclude 'cache/'
	write("cache/y/z", 10)
	if err := os.MkdirAll(filepath.Join(root, "empty-dir", "nested"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "a-fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("plain.txt", filepath.Join(root, "link-to-file")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("deep", filepath.Join(root, "link-to-dir")); err != nil {
		t.Fatal(err)
	}
	return root, want
}

// listKeys lists the keys under prefix with minio-go, the independent
// client.
func listKeys(t *testing.T, srv *s3test.Server, bucket, prefix string) map[string]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	keys := map[string]int64{}
	for o := range srv.Minio.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list s3://%s/%s: %v", bucket, prefix, o.Err)
		}
		keys[o.Key] = o.Size
	}
	return keys
}

func withPrefix(prefix string, m map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range m {
		out[prefix+k] = v
	}
	return out
}

// fileRecords returns the "file" records of a tree run's JSON, by key.
func fileRecords(t *testing.T, stdout string) map[string]map[string]any {
	recs := map[string]map[string]any{}
	for _, e := range jsonEvents(t, stdout) {
		if e["event"] == "file" {
			key, _ := e["key"].(string)
			if _, dup := recs[key]; dup {
				t.Fatalf("two records for %s", key)
			}
			recs[key] = e
		}
	}
	return recs
}

func TestTree(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		root, want := buildTree(t, s3test.Seed(t))
		proxy := newProxy(t, srv, faultproxy.Config{})
		env := proxyEnv(srv, proxy)
		dst := "s3://" + bucket + "/nightly/"
		args := []string{"put", "-r", "--json", "--exclude", "*.tmp", "--exclude", "cache/", root, dst}
		run := func(t *testing.T, wantCode int) (s3test.Result, map[string]map[string]any, map[string]any) {
			t.Helper()
			res := s3test.RunCLI(t, t.Context(), env, args...)
			if res.ExitCode != wantCode {
				t.Fatalf("exit %d, want %d: %s", res.ExitCode, wantCode, res)
			}
			return res, fileRecords(t, res.Stdout), findEvent(jsonEvents(t, res.Stdout), "summary")
		}
		assertTree := func(t *testing.T) {
			t.Helper()
			if got := listKeys(t, srv, bucket, "nightly/"); !maps.Equal(got, withPrefix("nightly/", want)) {
				t.Fatalf("the bucket holds %v\nwant %v", got, withPrefix("nightly/", want))
			}
			for rel := range want {
				srv.AssertObjectMatchesFile(t, bucket, "nightly/"+rel, filepath.Join(root, filepath.FromSlash(rel)))
			}
		}

		t.Run("first run", func(t *testing.T) {
			res, recs, sum := run(t, 0)
			assertTree(t)
			if len(recs) != len(want) {
				t.Fatalf("%d file records, want one per file (%d): %s", len(recs), len(want), res.Stdout)
			}
			for k, r := range recs {
				if v := fmt.Sprint(r["verified"]); r["result"] != "uploaded" || r["decision"] != "new" || !strings.Contains(v, "checksum") && !strings.Contains(v, "ETag") {
					t.Errorf("%s: %v", k, r)
				}
			}
			if sum["uploaded"] != float64(len(want)) || sum["failed"] != 0.0 || sum["excluded"] != 3.0 || sum["skipped"] != 3.0 {
				t.Errorf("summary %v", sum)
			}
			var skipped []string
			for _, e := range jsonEvents(t, res.Stdout) {
				if e["event"] == "skipped" {
					skipped = append(skipped, filepath.Base(fmt.Sprint(e["path"]))+": "+fmt.Sprint(e["reason"]))
				}
			}
			slices.Sort(skipped)
			if len(skipped) != 3 || !strings.Contains(skipped[0], "FIFO") || !strings.Contains(skipped[1], "not followed") || !strings.Contains(skipped[2], "not followed") {
				t.Errorf("skipped %q", skipped)
			}
		})

		t.Run("an unchanged rerun sends nothing", func(t *testing.T) {
			before := proxy.Stats()
			_, recs, sum := run(t, 0)
			after := proxy.Stats()
			if sent := after.PutBytes - before.PutBytes; sent != 0 || after.ByMethod["PUT"] != before.ByMethod["PUT"] {
				t.Fatalf("the unchanged rerun sent %d bytes in %d PUTs", sent, after.ByMethod["PUT"]-before.ByMethod["PUT"])
			}
			if heads := after.ByMethod["HEAD"] - before.ByMethod["HEAD"]; heads != 0 {
				t.Errorf("the unchanged rerun asked about %d objects one by one; the listing and the journal should answer", heads)
			}
			if sum["unchanged"] != float64(len(want)) {
				t.Errorf("summary %v", sum)
			}
			for k, r := range recs {
				if r["result"] != "skipped" || r["decision"] != "skipped: unchanged" {
					t.Errorf("%s: %v", k, r)
				}
			}
		})

		t.Run("a changed and an added file are the only ones sent", func(t *testing.T) {
			changed, added := "Été ü/ñandú.txt", "new dir/new file.txt"
			if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(changed)), []byte("now shorter"), 0o644); err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(filepath.Join(root, "new dir"), 0o755)
			if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(added)), []byte("brand new"), 0o644); err != nil {
				t.Fatal(err)
			}
			want[changed], want[added] = 11, 9
			before := proxy.Stats()
			_, recs, _ := run(t, 0)
			after := proxy.Stats()
			assertTree(t)
			var sentTo []string
			for p, n := range after.PutsByPath {
				if n > before.PutsByPath[p] {
					sentTo = append(sentTo, p)
				}
			}
			slices.Sort(sentTo)
			wantTo := []string{"/" + bucket + "/nightly/" + added, "/" + bucket + "/nightly/" + changed}
			if !slices.Equal(sentTo, wantTo) {
				t.Fatalf("sent to %q, want only %q", sentTo, wantTo)
			}
			if sent := after.PutBytes - before.PutBytes; sent != 11+9 {
				t.Errorf("sent %d bytes, want 20", sent)
			}
			if d := recs["nightly/"+changed]["decision"]; d != "changed: size" {
				t.Errorf("changed file: %v", d)
			}
			if d := recs["nightly/"+added]["decision"]; d != "new" {
				t.Errorf("added file: %v", d)
			}
		})

		t.Run("links followed on request, loops skipped", func(t *testing.T) {
			if err := os.Symlink("..", filepath.Join(root, "deep", "loop")); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Remove(filepath.Join(root, "deep", "loop")) })
			res := s3test.RunCLI(t, t.Context(), srv.Env(), "put", "-r", "--json", "--follow-symlinks", "--exclude", "*.tmp", "--exclude", "cache/",
				root, "s3://"+bucket+"/followed/")
			if res.ExitCode != 0 {
				t.Fatalf("%s", res)
			}
			got := listKeys(t, srv, bucket, "followed/")
			w := withPrefix("followed/", want)
			w["followed/link-to-file"] = want["plain.txt"]
			w["followed/link-to-dir/a/b/c/d/e/f.bin"] = want["deep/a/b/c/d/e/f.bin"]
			if !maps.Equal(got, w) {
				t.Fatalf("the bucket holds %v\nwant %v", got, w)
			}
			srv.AssertObjectMatchesFile(t, bucket, "followed/link-to-file", filepath.Join(root, "plain.txt"))
			loop := false
			for _, e := range jsonEvents(t, res.Stdout) {
				if e["event"] == "skipped" && strings.Contains(fmt.Sprint(e["reason"]), "loop") {
					loop = true
				}
			}
			if !loop {
				t.Errorf("the loop was not reported: %s", res.Stdout)
			}
		})
	})
}

// TestTreeResumesABigFile: a kill -9 in the middle of a big file of a tree
// resumes that file's multipart upload on the rerun.
func TestTreeResumesABigFile(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		root := t.TempDir()
		const size = 40*MiB + 7
		big := s3test.MakeFile(t, root, size, seed)
		for i := range 5 {
			os.WriteFile(filepath.Join(root, fmt.Sprintf("small-%d", i)), []byte(strings.Repeat("s", i+1)), 0o644)
		}
		proxy := newProxy(t, srv, faultproxy.Config{})
		env := proxyEnv(srv, proxy)
		dst := "s3://" + bucket + "/t/"
		p := s3test.StartCLI(t, env, "put", "-r", "--json", "-c", "1", "--bwlimit", "40MiB/s", "--part-size", "5MiB", root, dst)
		s3test.Eventually(t, 60*time.Second, 5*time.Millisecond, func() (bool, string) {
			select {
			case <-p.Done():
				t.Fatalf("put ended before it could be interrupted: %s", p.Wait())
			default:
			}
			n := proxy.Stats().UploadParts
			return n >= 4, fmt.Sprintf("%d parts sent", n)
		})
		p.Kill()
		if err := proxy.WaitIdle(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		before := proxy.Stats().PutBytes
		res := s3test.RunCLI(t, t.Context(), env, "put", "-r", "--json", "--part-size", "5MiB", root, dst)
		if res.ExitCode != 0 {
			t.Fatalf("rerun: %s", res)
		}
		srv.AssertObjectMatchesFile(t, bucket, "t/"+filepath.Base(big), big)
		rec := fileRecords(t, res.Stdout)["t/"+filepath.Base(big)]
		if rec == nil || rec["resumed"] != true {
			t.Fatalf("the big file was not resumed: %v", rec)
		}
		kept, _ := rec["parts_kept"].(float64)
		sent := proxy.Stats().PutBytes - before
		t.Logf("rerun kept %.0f parts, sent %d bytes", kept, sent)
		if kept < 3 || sent > size-int64(kept)*5*MiB+100 {
			t.Fatalf("kept %.0f parts, sent %d of %d bytes: want the parts on the server kept and only the rest sent", kept, sent, size)
		}
		if ups := srv.IncompleteUploads(t, bucket, "t/"); len(ups) != 0 {
			t.Fatalf("uploads left: %+v", ups)
		}
	})
}

// TestTreePartialFailureAndMetrics: one file that cannot be uploaded does
// not stop the others; the run says so (summary, exit 4), and the metrics
// file records each run, keeping the last success.
func TestTreePartialFailureAndMetrics(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		root := t.TempDir()
		for i := range 4 {
			os.WriteFile(filepath.Join(root, fmt.Sprintf("ok-%d.txt", i)), []byte(strings.Repeat("x", 10*(i+1))), 0o644)
		}
		metrics := filepath.Join(t.TempDir(), "s3up.prom")
		dst := "s3://" + bucket + "/p/"
		dest := dst
		res := s3upRun(t, srv, "put", "-r", "--metrics-file", metrics, root, dst)
		if res.ExitCode != 0 {
			t.Fatalf("%s", res)
		}
		m1 := readMetrics(t, metrics, dest)
		if m1["s3up_last_run_exit_code"] != 0 || m1["s3up_last_run_success"] != 1 || m1[`s3up_last_run_files{result="uploaded"}`] != 4 ||
			m1[`s3up_last_run_bytes{result="uploaded"}`] != 100 || m1["s3up_last_success_timestamp_seconds"] != m1["s3up_last_run_end_timestamp_seconds"] ||
			m1["s3up_last_run_start_timestamp_seconds"] > m1["s3up_last_run_end_timestamp_seconds"] {
			t.Fatalf("metrics after a success: %v", m1)
		}

		// A name that is not UTF-8 cannot be an S3 key.
		bad := filepath.Join(root, "bad-\xff-name.txt")
		if err := os.WriteFile(bad, []byte("?"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(root, "added.txt"), []byte("added"), 0o644)
		res = s3upRun(t, srv, "put", "-r", "--metrics-file", metrics, root, dst)
		if res.ExitCode != 4 {
			t.Fatalf("exit %d, want 4 (some files failed): %s", res.ExitCode, res)
		}
		if !srv.ObjectExists(t, bucket, "p/added.txt") {
			t.Fatal("the good file was not uploaded")
		}
		errLines := 0
		for _, l := range strings.Split(res.Stderr, "\n") {
			if strings.HasPrefix(l, "s3up: error:") {
				errLines++
			}
		}
		if errLines != 2 || !strings.Contains(res.Stderr, "UTF-8") || !strings.Contains(res.Stderr, "1 of 6 files failed") {
			t.Errorf("stderr should name the file that failed, then the run's one error line: %s", res.Stderr)
		}
		if !strings.Contains(res.Stdout, "1 uploaded") || !strings.Contains(res.Stdout, "4 unchanged") || !strings.Contains(res.Stdout, "1 failed") {
			t.Errorf("summary: %s", res.Stdout)
		}
		m2 := readMetrics(t, metrics, dest)
		if m2["s3up_last_run_exit_code"] != 4 || m2["s3up_last_run_success"] != 0 || m2[`s3up_last_run_files{result="failed"}`] != 1 ||
			m2[`s3up_last_run_files{result="unchanged"}`] != 4 || m2[`s3up_last_run_files{result="uploaded"}`] != 1 ||
			m2["s3up_last_success_timestamp_seconds"] != m1["s3up_last_success_timestamp_seconds"] {
			t.Fatalf("metrics after a partial failure: %v (before: %v)", m2, m1)
		}

		// --quiet prints only errors: the file's and the run's.
		res = s3upRun(t, srv, "put", "-r", "-q", root, dst)
		if res.ExitCode != 4 || res.Stdout != "" || strings.Count(res.Stderr, "s3up: error:") != 2 || strings.Count(res.Stderr, "\n") != 2 {
			t.Errorf("--quiet: %s", res)
		}

		// JSON: one record per file and a summary.
		res = s3upRun(t, srv, "put", "-r", "--json", root, dst)
		if res.ExitCode != 4 {
			t.Fatalf("%s", res)
		}
		recs := fileRecords(t, res.Stdout)
		// JSON holds no bytes that are not UTF-8: the name is shown with U+FFFD.
		if bad := recs["p/bad-\ufffd-name.txt"]; len(recs) != 6 || bad["result"] != "failed" || bad["exit_code"] != 2.0 {
			t.Errorf("records %v", recs)
		}
		sum := findEvent(jsonEvents(t, res.Stdout), "summary")
		if sum == nil || sum["failed"] != 1.0 || sum["unchanged"] != 5.0 {
			t.Errorf("summary %v", sum)
		}
		if e := findEvent(jsonEvents(t, res.Stdout), "error"); e == nil || e["exit_code"] != 4.0 {
			t.Errorf("error record %v", e)
		}
	})
}

// readMetrics parses a metrics file (Prometheus text format) and returns
// the samples of destination dest, named as name{labels} without the
// destination label.
func readMetrics(t *testing.T, path, dest string) map[string]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("%s is not a Prometheus textfile: %v", path, err)
	}
	out := map[string]float64{}
	for name, fam := range fams {
		for _, m := range fam.GetMetric() {
			var labels []string
			ok := false
			for _, l := range m.GetLabel() {
				if l.GetName() == "destination" {
					ok = l.GetValue() == dest
					continue
				}
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			if !ok || m.GetGauge() == nil {
				t.Fatalf("%s: sample %v without destination %q or not a gauge", path, m, dest)
			}
			key := name
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			out[key] = m.GetGauge().GetValue()
		}
	}
	return out
}

// TestTreeDeleteAndDryRun: --dry-run sends and deletes nothing; --delete
// removes what no file names any more, and refuses an empty tree.
func TestTreeDeleteAndDryRun(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		root := t.TempDir()
		for _, n := range []string{"a", "b", "c"} {
			os.WriteFile(filepath.Join(root, n), []byte(n), 0o644)
		}
		dst := "s3://" + bucket + "/d/"
		proxy := newProxy(t, srv, faultproxy.Config{})
		env := proxyEnv(srv, proxy)

		res := s3test.RunCLI(t, t.Context(), env, "put", "-r", "--dry-run", root, dst)
		if res.ExitCode != 0 || proxy.Stats().ByMethod["PUT"] != 0 {
			t.Fatalf("dry run: %s (%d PUTs)", res, proxy.Stats().ByMethod["PUT"])
		}
		if !strings.Contains(res.Stdout, "would upload") || len(listKeys(t, srv, bucket, "")) != 0 {
			t.Fatalf("dry run output: %s", res.Stdout)
		}
		if res := s3test.RunCLI(t, t.Context(), env, "put", "-r", root, dst); res.ExitCode != 0 {
			t.Fatalf("%s", res)
		}
		os.Remove(filepath.Join(root, "b"))

		res = s3test.RunCLI(t, t.Context(), env, "put", "-r", "--delete", "--dry-run", root, dst)
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, "would delete s3://"+bucket+"/d/b") || !srv.ObjectExists(t, bucket, "d/b") {
			t.Fatalf("dry run of --delete: %s", res)
		}
		res = s3test.RunCLI(t, t.Context(), env, "put", "-r", "--delete", root, dst)
		if res.ExitCode != 0 || srv.ObjectExists(t, bucket, "d/b") {
			t.Fatalf("--delete: %s", res)
		}
		if got := listKeys(t, srv, bucket, ""); !maps.Equal(got, map[string]int64{"d/a": 1, "d/c": 1}) {
			t.Fatalf("after --delete: %v", got)
		}

		// Directories and files mix: a file given goes under its name.
		other := t.TempDir()
		os.MkdirAll(filepath.Join(other, "sub"), 0o755)
		os.WriteFile(filepath.Join(other, "sub", "x"), []byte("xx"), 0o644)
		lone := filepath.Join(t.TempDir(), "lone.txt")
		os.WriteFile(lone, []byte("lone"), 0o644)
		if res := s3test.RunCLI(t, t.Context(), env, "put", "-r", other, lone, "s3://"+bucket+"/mix"); res.ExitCode != 0 {
			t.Fatalf("mixed sources: %s", res)
		}
		if got := listKeys(t, srv, bucket, "mix/"); !maps.Equal(got, map[string]int64{"mix/sub/x": 2, "mix/lone.txt": 4}) {
			t.Fatalf("mixed sources stored %v", got)
		}

		empty := t.TempDir()
		res = s3test.RunCLI(t, t.Context(), env, "put", "-r", "--delete", empty, dst)
		if res.ExitCode != 2 {
			t.Fatalf("--delete of an empty tree: %s", res)
		}
		oneErrorLine(t, res, "refusing to delete everything")
		oneErrorLine(t, res, "--delete with an empty tree")
		if got := listKeys(t, srv, bucket, "d/"); len(got) != 2 {
			t.Fatalf("an empty tree deleted objects: %v", got)
		}
	})
}
