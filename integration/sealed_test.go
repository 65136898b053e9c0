package integration

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/s3up/s3up/integration/s3test"
)

// Sealed backups (issue 27): what s3up uploads with --encrypt-to is a
// standard age file, which the age tool alone decrypts.

// ageKey makes an age identity file with age-keygen, or with the age CLI's
// Go library when age-keygen is missing, and returns its path and public
// key.
func ageKey(t *testing.T) (keyFile, recipient string) {
	t.Helper()
	if _, err := exec.LookPath("age"); err != nil {
		if disallowSkipTools() {
			t.Fatal("the age CLI is not installed (scripts/install-test-tools.sh)")
		}
		t.Skip("the age CLI is not installed (scripts/install-test-tools.sh)")
	}
	keyFile = filepath.Join(t.TempDir(), "key.txt")
	out, err := exec.Command("age-keygen", "-o", keyFile).CombinedOutput()
	if err != nil {
		t.Fatalf("age-keygen: %v: %s", err, out)
	}
	pub, err := exec.Command("age-keygen", "-y", keyFile).Output()
	if err != nil {
		t.Fatalf("age-keygen -y: %v", err)
	}
	return keyFile, strings.TrimSpace(string(pub))
}

func disallowSkipTools() bool { return os.Getenv("S3UP_TEST_DISALLOW_SKIP") == "1" }

// ageDecrypt downloads the object with minio-go and decrypts it with
// `age -d -i keyFile`.
func ageDecrypt(t *testing.T, srv *s3test.Server, bucket, key, keyFile string) []byte {
	t.Helper()
	obj, err := srv.Minio.GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	ct, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("download s3://%s/%s: %v", bucket, key, err)
	}
	cmd := exec.Command("age", "-d", "-i", keyFile)
	cmd.Stdin = bytes.NewReader(ct)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	plain, err := cmd.Output()
	if err != nil {
		t.Fatalf("age -d s3://%s/%s: %v: %s", bucket, key, err, stderr.String())
	}
	return plain
}

func writeRandomFile(t *testing.T, path string, size int, seed uint64) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealedFileKilledAndResumed(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		keyA, recA := ageKey(t)
		keyB, recB := ageKey(t)
		bucket := srv.NewBucket(t)
		src := filepath.Join(t.TempDir(), "db.dump")
		data := writeRandomFile(t, src, 26<<20+12345, s3test.Seed(t))
		dst := "s3://" + bucket + "/db.dump.age"
		args := []string{"--part-size", "5MiB", "--encrypt-to", recA, "--encrypt-to", recB, src, dst}

		interruptAfter(t, srv.Env(), 2, args...)
		journal := sidecarFile(t, srv, src)
		if fi, err := os.Stat(journal); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("journal %s: %v %v", journal, fi.Mode(), err)
		}
		res := mustPut(t, srv, append([]string{"--json"}, args...)...)
		if strings.Contains(res.Stdout+res.Stderr, "age-seal-key") {
			t.Fatal("the key material shows in the output")
		}
		evs := jsonEvents(t, res.Stdout)
		if r := findEvent(evs, "resumed"); r == nil || r["on_server"].(float64) < 2 {
			t.Fatalf("the rerun did not resume: %s", res.Stdout)
		}
		for _, k := range []string{keyA, keyB} {
			if got := ageDecrypt(t, srv, bucket, "db.dump.age", k); !bytes.Equal(got, data) {
				t.Fatalf("decrypted %d bytes that differ from the %d of the source", len(got), len(data))
			}
		}
		if left := sidecars(t, srv, src); len(left) != 0 {
			t.Fatalf("journal left after completion: %v", left)
		}
		st, err := srv.Minio.StatObject(context.Background(), bucket, "db.dump.age", minio.StatObjectOptions{})
		if err != nil || st.UserMetadata["S3up-Encryption"] != "age" || st.UserMetadata["S3up-Plaintext-Size"] != strconv.Itoa(len(data)) || st.ContentType != "application/octet-stream" {
			t.Fatalf("object info %v %q: %v", st.UserMetadata, st.ContentType, err)
		}
	})
}

// TestSealedStatusAndAbort: status and abort work on a sealed upload,
// and abort leaves no journal, so no key material.
func TestSealedStatusAndAbort(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		_, rec := ageKey(t)
		bucket := srv.NewBucket(t)
		src := filepath.Join(t.TempDir(), "big")
		writeRandomFile(t, src, 16<<20, s3test.Seed(t))
		dst := "s3://" + bucket + "/big.age"
		interruptAfter(t, srv.Env(), 1, "--part-size", "5MiB", "--encrypt-to", rec, src, dst)
		res := s3upRun(t, srv, "status", "--json", src, dst)
		if res.ExitCode != 0 || strings.Contains(res.Stdout, "source_changed") || strings.Contains(res.Stdout, "age-seal-key") {
			t.Fatalf("status: %s", res)
		}
		if res := s3upRun(t, srv, "abort", src, dst); res.ExitCode != 0 {
			t.Fatalf("abort: %s", res)
		}
		if left := sidecars(t, srv, src); len(left) != 0 {
			t.Fatalf("journal left after abort: %v", left)
		}
		if ups := srv.IncompleteUploads(t, bucket, "big.age"); len(ups) != 0 {
			t.Fatalf("uploads left: %v", ups)
		}
	})
}

func TestSealedTreeAndStream(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		key, rec := ageKey(t)
		bucket := srv.NewBucket(t)
		root := t.TempDir()
		seed := s3test.Seed(t)
		files := map[string][]byte{}
		for i, rel := range []string{"a", "a-b", "a.old", "sub/big.bin", "sub/4k", "sub/x y.txt"} {
			size := 1000 * i
			if rel == "sub/big.bin" {
				size = 6<<20 + 3
			}
			files[rel] = writeRandomFile(t, filepath.Join(root, filepath.FromSlash(rel)), size, seed+uint64(i))
		}
		dst := "s3://" + bucket + "/nightly/"
		args := []string{"put", "-r", "--json", "--delete", "--part-size", "5MiB", "--encrypt-to", rec, root, dst}
		res := s3upRun(t, srv, args...)
		if res.ExitCode != 0 {
			t.Fatalf("%s", res)
		}
		for rel, data := range files {
			if got := ageDecrypt(t, srv, bucket, "nightly/"+rel+".age", key); !bytes.Equal(got, data) {
				t.Fatalf("%s does not decrypt to the file", rel)
			}
		}
		res = s3upRun(t, srv, args...)
		sum := findEvent(jsonEvents(t, res.Stdout), "summary")
		if res.ExitCode != 0 || sum == nil || sum["bytes_sent"] != 0.0 || sum["unchanged"] != float64(len(files)) || sum["deleted"] != 0.0 {
			t.Fatalf("unchanged rerun: %v\n%s", sum, res)
		}

		stream := bytes.Repeat([]byte("a deterministic producer\n"), 400000)
		sres := s3test.RunCLIStdin(t, t.Context(), srv.Env(), bytes.NewReader(stream),
			"put", "--part-size", "5MiB", "--encrypt-to", rec, "-", "s3://"+bucket+"/stream.age")
		if sres.ExitCode != 0 {
			t.Fatalf("%s", sres)
		}
		if got := ageDecrypt(t, srv, bucket, "stream.age", key); !bytes.Equal(got, stream) {
			t.Fatal("the stream does not decrypt")
		}
	})
}

func TestSealedBadRecipientIsExit2(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		src := filepath.Join(t.TempDir(), "f")
		writeRandomFile(t, src, 100, 1)
		res := s3upRun(t, srv, "put", "--encrypt-to", "age1notarecipient", src, "s3://"+bucket+"/f.age")
		if res.ExitCode != 2 || !strings.Contains(res.Stderr, "--encrypt-to") {
			t.Fatalf("%s", res)
		}
		if srv.ObjectExists(t, bucket, "f.age") || len(srv.IncompleteUploads(t, bucket, "")) != 0 {
			t.Fatal("something was sent")
		}
	})
}

// TestSealedStreamKilledAndResumed: a sealed stream from a deterministic
// producer, killed with kill -9 mid-upload, is resumed by content under
// its journal's key: the rerun keeps the parts the server holds, sends at
// most what was in flight again, and the object decrypts with the age
// tool. A producer that writes other bytes after a kill is sealed again
// under a new key in the same run (its first part differs).
func TestSealedStreamKilledAndResumed(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		key, rec := ageKey(t)
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		src := filepath.Join(t.TempDir(), "dump")
		data := writeRandomFile(t, src, 31<<20+777, seed)
		const part = 5 << 20
		stream := func(name, file string) []string {
			return []string{"--part-size", "5MiB", "--encrypt-to", rec, "--stdin-from-command", "s3://" + bucket + "/" + name, "--", "cat", file}
		}

		interruptAfter(t, srv.Env(), 2, stream("same.age", src)...)
		res := mustPut(t, srv, append([]string{"--json"}, stream("same.age", src)...)...)
		evs := jsonEvents(t, res.Stdout)
		r := findEvent(evs, "resumed")
		if r == nil || r["on_server"].(float64) < 2 {
			t.Fatalf("the rerun did not resume: %s", res.Stdout)
		}
		kept := int64(r["bytes_on_server"].(float64))
		sum := findEvent(evs, "result")
		if sum == nil {
			t.Fatalf("no result: %s", res.Stdout)
		}
		// What the rerun sent: the ciphertext not kept, and no more.
		sent := int64(sum["bytes_sent"].(float64))
		if total := int64(len(data)) + 200 + 16*int64(len(data)/65536+1) + 16; sent > total-kept || kept < 2*part {
			t.Fatalf("kept %d bytes, then sent %d of about %d", kept, sent, total)
		}
		if got := ageDecrypt(t, srv, bucket, "same.age", key); !bytes.Equal(got, data) {
			t.Fatal("the resumed sealed stream does not decrypt to the producer's output")
		}

		// The same command, writing other bytes on the rerun (the stream's
		// identity is its command line).
		other := filepath.Join(t.TempDir(), "dump2")
		writeRandomFile(t, other, 31<<20, seed+3)
		interruptAfter(t, srv.Env(), 2, stream("changed.age", other)...)
		data2 := writeRandomFile(t, other, 21<<20+5, seed+7)
		res = mustPut(t, srv, append([]string{"--json"}, stream("changed.age", other)...)...)
		evs = jsonEvents(t, res.Stdout)
		st := findEvent(evs, "started")
		if reason, _ := st["reason"].(string); !strings.Contains(reason, "new key") {
			t.Fatalf("a changed producer was not sealed again under a new key: %s", res.Stdout)
		}
		if got := ageDecrypt(t, srv, bucket, "changed.age", key); !bytes.Equal(got, data2) {
			t.Fatal("the changed sealed stream does not decrypt to the producer's output")
		}
		if left, _ := filepath.Glob(filepath.Join(srv.StateDir(), "*")); len(left) > 0 {
			for _, p := range left {
				if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(`"sealed"`)) {
					t.Fatalf("key material left in %s", p)
				}
			}
		}
		if ups := srv.IncompleteUploads(t, bucket, ""); len(ups) != 0 {
			t.Fatalf("uploads left: %v", ups)
		}
	})
}
