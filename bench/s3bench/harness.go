package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const bucket = "bench"

// harness is one benchmark run: its options, the programs it drives, its
// scratch directory, the server of the moment and what it has measured.
type harness struct {
	opts  options
	repo  string
	minio string
	peers peers
	paths paths
	creds creds

	// caBundle is the caller's AWS_CA_BUNDLE, restored for plain HTTP.
	caBundle    string
	hasCABundle bool

	haveSDKManager bool

	srv     *server    // the running MinIO, or nil
	s3      *s3.Client // bookkeeping client for srv
	results *results
	report  *os.File
}

// paths of the scratch directory.
type paths struct {
	work    string
	created bool // made by us (removed on exit), not given with --workdir
	bin     string
	logs    string
	state   string // s3up --state-dir
}

type creds struct{ access, secret string }

func newHarness(ctx context.Context, repo string, opts options) (*harness, error) {
	h := &harness{opts: opts, repo: repo}
	if _, err := exec.LookPath("go"); err != nil {
		return nil, fatalf("go not found")
	}
	var err error
	if h.minio, err = findMinIO(ctx, repo); err != nil {
		return nil, err
	}
	h.peers = findPeers(ctx)
	if err := h.makeWorkdir(); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			h.close()
		}
	}()
	if h.results, err = newResults(filepath.Join(h.paths.work, "runs.tsv")); err != nil {
		return nil, err
	}
	if h.report, err = os.Create(filepath.Join(h.paths.work, "report.md")); err != nil {
		return nil, err
	}
	if err := h.isolate(); err != nil {
		return nil, err
	}
	if err := h.build(ctx); err != nil {
		return nil, err
	}
	ok = true
	return h, nil
}

func findRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/s3up/s3up\n")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("not in the s3up repository (no go.mod of github.com/s3up/s3up above %s); run bench/run.sh", dir)
		}
	}
}

func findMinIO(ctx context.Context, repo string) (string, error) {
	script := filepath.Join(repo, "scripts", "install-servers.sh")
	var bin string
	if _, err := os.Stat(script); err == nil {
		cmd := exec.CommandContext(ctx, "bash", script, "minio")
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fatalf("scripts/install-servers.sh minio failed: %v", err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		bin = lines[len(lines)-1]
	} else {
		cache := os.Getenv("S3UP_CACHE_DIR")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache", "s3up")
		}
		bin = filepath.Join(cache, "bin", "minio-v0.0.0-20260212201848-7aac2a2c5b7c")
	}
	if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
		return "", fatalf("MinIO binary not found at %s (run scripts/install-servers.sh minio)", bin)
	}
	return bin, nil
}

func (h *harness) makeWorkdir() error {
	p := &h.paths
	if h.opts.workdir == "" {
		tmp := os.Getenv("TMPDIR")
		if tmp == "" {
			tmp = "/tmp"
		}
		d, err := os.MkdirTemp(tmp, "s3up-bench.")
		if err != nil {
			return err
		}
		p.work, p.created = d, true
	} else {
		d, err := filepath.Abs(h.opts.workdir)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		p.work = d
	}
	p.bin = filepath.Join(p.work, "bin")
	p.logs = filepath.Join(p.work, "logs")
	p.state = filepath.Join(p.work, "s3up-state")
	for _, d := range []string{p.bin, p.logs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// close stops the server and removes the scratch directory (or, for a
// --workdir, what must not be reused: server data and s3up state).
func (h *harness) close() error {
	h.stopServer()
	if h.results != nil {
		h.results.close()
	}
	if h.report != nil {
		h.report.Close()
	}
	p := h.paths
	switch {
	case p.work == "":
	case h.opts.keep:
		note("workdir kept: %s", p.work)
	case p.created:
		return os.RemoveAll(p.work)
	default:
		for _, d := range []string{"minio-http", "minio-https", "s3up-state"} {
			os.RemoveAll(filepath.Join(p.work, d))
		}
	}
	return nil
}

// say writes report lines to stdout and to the report file.
func (h *harness) say(lines ...string) {
	for _, l := range lines {
		fmt.Println(l)
		fmt.Fprintln(h.report, l)
	}
}

// sayBlock writes a block of text (a table) followed by an empty line.
func (h *harness) sayBlock(s string) {
	if s == "" {
		return
	}
	h.say(strings.Split(strings.TrimSuffix(s, "\n"), "\n")...)
	h.say("")
}

func (h *harness) writeOut(out string) error {
	for src, dst := range map[string]string{"report.md": out, "runs.tsv": out + ".tsv"} {
		if err := copyFile(filepath.Join(h.paths.work, src), dst); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// isolate gives every SDK-based tool only the benchmark's credentials and
// endpoint, never the user's profiles or config files.
func (h *harness) isolate() error {
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
		"AWS_ENDPOINT_URL_S3", "AWS_USE_PATH_STYLE_ENDPOINT", "AWS_S3_ADDRESSING_STYLE"} {
		os.Unsetenv(k)
	}
	h.caBundle, h.hasCABundle = os.LookupEnv("AWS_CA_BUNDLE")
	h.creds = creds{access: "bench" + randomHex(6), secret: randomHex(18)}
	w := h.paths.work
	set := map[string]string{
		"AWS_ACCESS_KEY_ID":           h.creds.access,
		"AWS_SECRET_ACCESS_KEY":       h.creds.secret,
		"AWS_REGION":                  "us-east-1",
		"AWS_DEFAULT_REGION":          "us-east-1",
		"AWS_CONFIG_FILE":             filepath.Join(w, "aws", "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(w, "aws", "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"RCLONE_CONFIG":               filepath.Join(w, "rclone.conf"),
	}
	for k, v := range set {
		os.Setenv(k, v)
	}
	// aws-cli's own settings (the Go SDK never reads this file).
	cli := fmt.Sprintf(`[default]
region = us-east-1
s3 =
    multipart_threshold = %d
    multipart_chunksize = %d
    max_concurrent_requests = %d
    addressing_style = path
`, h.opts.part, h.opts.part, h.opts.conc)
	files := map[string]string{
		"aws/config":      "",
		"aws/credentials": "",
		"aws/cli-config":  cli,
		"rclone.conf":     "",
	}
	for name, content := range files {
		p := filepath.Join(w, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			return err
		}
	}
	return os.MkdirAll(filepath.Join(w, "mc", "certs", "CAs"), 0o755)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// build compiles s3up and the helpers into the workdir.
func (h *harness) build(ctx context.Context) error {
	note("building s3up and the helper programs into %s", h.paths.bin)
	for _, b := range []struct{ out, pkg string }{
		{"s3up", "./cmd/s3up"}, {"rawparts", "./bench/rawparts"}, {"datagen", "./bench/datagen"},
	} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(h.paths.bin, b.out), b.pkg)
		cmd.Dir, cmd.Stdout, cmd.Stderr = h.repo, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fatalf("go build %s failed", b.pkg)
		}
	}
	// A module of its own: feature/s3/manager is no dependency of s3up.
	logPath := filepath.Join(h.paths.logs, "build-sdkmanager.log")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(h.paths.bin, "sdkmanager"), ".")
	cmd.Dir = filepath.Join(h.repo, "bench", "sdkmanager")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.CombinedOutput()
	os.WriteFile(logPath, out, 0o644)
	h.haveSDKManager = err == nil
	if err != nil {
		note("building bench/sdkmanager failed (see below); sdkmanager will be skipped")
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			fmt.Fprintln(os.Stderr, "    "+l)
		}
	}
	return nil
}

func (h *harness) binPath(name string) string { return filepath.Join(h.paths.bin, name) }
