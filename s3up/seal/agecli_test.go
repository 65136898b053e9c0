package seal

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// ageCLI returns the path of the age command-line tool. A missing tool fails
// the test, so that a machine without it cannot pass by skipping, unless
// S3UP_TEST_ALLOW_MISSING_TOOLS=1 says a skip is wanted.
func ageCLI(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("age")
	if err == nil {
		return path
	}
	const hint = "the age CLI is not on PATH: run scripts/install-test-tools.sh"
	if os.Getenv("S3UP_TEST_ALLOW_MISSING_TOOLS") == "1" {
		t.Skip(hint + " (skipped: S3UP_TEST_ALLOW_MISSING_TOOLS=1)")
	}
	t.Fatal(hint + " (or set S3UP_TEST_ALLOW_MISSING_TOOLS=1 to skip)")
	return ""
}

func runAge(t *testing.T, bin string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = bytes.NewReader(nil)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, &ageError{err, strings.TrimSpace(stderr.String())}
	}
	return out, nil
}

type ageError struct {
	err    error
	stderr string
}

func (e *ageError) Error() string { return e.err.Error() + ": " + e.stderr }

// TestAgeCLIDecrypts: objects sealed here, written to a file, decrypt with
// `age -d -i IDENTITY` alone (the restore path with no s3up installed), for
// each classic identity type of a file sealed to all of them, at the chunk
// edge sizes.
func TestAgeCLIDecrypts(t *testing.T) {
	bin := ageCLI(t)
	if out, err := runAge(t, bin, "--version"); err == nil {
		t.Logf("age %s", strings.TrimSpace(string(out)))
	}
	rng := testRand(t)
	dir := t.TempDir()
	ids := classic(testIdentities(t))
	var recs []age.Recipient
	for _, id := range ids {
		recs = append(recs, id.recipient)
		if err := os.WriteFile(filepath.Join(dir, id.name+".key"), id.file, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, size := range []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 3 * ChunkSize, 1_000_003} {
		plain := randBytes(rng, size)
		k, err := NewKey(recs...)
		if err != nil {
			t.Fatal(err)
		}
		// Sealed in parts, as an upload sends it, then joined.
		ra := k.NewReaderAt(bytes.NewReader(plain), int64(size))
		var ct []byte
		for off := int64(0); off < ra.Size(); off += 100_000 {
			part := make([]byte, min(100_000, ra.Size()-off))
			if _, err := io.ReadFull(ra.Section(off, int64(len(part))), part); err != nil {
				t.Fatal(err)
			}
			ct = append(ct, part...)
		}
		ctPath := filepath.Join(dir, "object.age")
		if err := os.WriteFile(ctPath, ct, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			got, err := runAge(t, bin, "-d", "-i", filepath.Join(dir, id.name+".key"), ctPath)
			if err != nil {
				t.Fatalf("size %d, %s: age -d: %v", size, id.name, err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatalf("size %d, %s: age -d gave %d bytes, not the plaintext", size, id.name, len(got))
			}
		}
	}
	// A damaged object is refused by age, not decrypted to garbage.
	k, _ := NewKey(recs[0])
	ct := sealAll(t, k, randBytes(rng, 2*ChunkSize))
	ct[len(ct)-1] ^= 1
	path := filepath.Join(dir, "damaged.age")
	if err := os.WriteFile(path, ct, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runAge(t, bin, "-d", "-i", filepath.Join(dir, ids[0].name+".key"), path); err == nil {
		t.Fatal("age -d decrypted a damaged object")
	}
}

// TestAgeCLIRecipientsFiles: a recipients file is accepted here exactly when
// `age -R FILE` accepts it (age ≥ 1.1 rules; post-quantum keys, which older
// age lacks, are left out).
func TestAgeCLIRecipientsFiles(t *testing.T) {
	bin := ageCLI(t)
	dir := t.TempDir()
	ids := classic(testIdentities(t))
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	secret, _ := age.GenerateX25519Identity()
	x := ids[0].public
	all := ""
	for _, id := range ids {
		all += id.public + "\n"
	}
	for name, content := range map[string]string{
		"all types":       all,
		"comments":        "# keys\n\n" + x + "\n# end\n",
		"crlf":            x + "\r\n" + ids[2].public + "\r\n",
		"ecdsa skipped":   x + "\n" + authorizedKey(t, ec) + "\n",
		"only ecdsa":      authorizedKey(t, ec) + "\n",
		"empty":           "",
		"only comments":   "# nothing\n",
		"garbage line":    x + "\nnot a key\n",
		"leading space":   " " + x + "\n",
		"secret key":      secret.String() + "\n",
		"bad checksum":    x[:len(x)-1] + "q\n",
		"long line":       x + "\n" + strings.Repeat("a", 9000) + "\n",
		"indented hash":   " # not a comment\n" + x + "\n",
		"no final LF":     x,
		"ssh without key": "ssh-ed25519\n",
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, ageErr := runAge(t, bin, "-R", path, "-o", filepath.Join(dir, "out.age"), os.DevNull)
		_, _, err := ReadRecipientsFile(path)
		if (err == nil) != (ageErr == nil) {
			t.Errorf("%s: ReadRecipientsFile: %v; age -R: %v", name, err, ageErr)
		}
	}
}
