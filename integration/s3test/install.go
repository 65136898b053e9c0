package s3test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Pinned server versions. Keep in sync with scripts/install-servers.sh.
const (
	MinioPackage     = "github.com/minio/minio"
	MinioVersion     = "v0.0.0-20260212201848-7aac2a2c5b7c"
	VersityPackage   = "github.com/versity/versitygw/cmd/versitygw"
	VersityVersion   = "v1.8.0"
	installTimeout   = 20 * time.Minute
	installLockPoll  = 200 * time.Millisecond
	defaultCacheName = ".cache/s3up"
)

type binarySpec struct {
	name    string // binary name produced by go install
	pkg     string
	version string
	envVar  string // explicit override of the binary path
}

var binaries = map[string]binarySpec{
	"minio":     {name: "minio", pkg: MinioPackage, version: MinioVersion, envVar: "S3UP_MINIO_BINARY"},
	"versitygw": {name: "versitygw", pkg: VersityPackage, version: VersityVersion, envVar: "S3UP_VERSITYGW_BINARY"},
}

// CacheDir returns ${S3UP_CACHE_DIR:-$HOME/.cache/s3up}.
func CacheDir() (string, error) {
	if d := os.Getenv("S3UP_CACHE_DIR"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the cache dir: set S3UP_CACHE_DIR or HOME: %w", err)
	}
	return filepath.Join(home, defaultCacheName), nil
}

// BinaryPath returns where the cached binary of kind ("minio" or "versitygw")
// lives, whether or not it is installed yet.
func BinaryPath(kind string) (string, error) {
	spec, ok := binaries[kind]
	if !ok {
		return "", fmt.Errorf("unknown server kind %q (want minio or versitygw)", kind)
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "bin", spec.name+"-"+spec.version), nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// EnsureBinary returns the path of the server binary of kind, installing it
// into the cache with `go install` if it is missing (this can take minutes for
// MinIO). Concurrent installers (other test processes, or
// scripts/install-servers.sh) are serialised with a lock file. The environment
// variable S3UP_MINIO_BINARY / S3UP_VERSITYGW_BINARY, if set, names a binary to
// use instead.
func EnsureBinary(kind string) (string, error) {
	spec, ok := binaries[kind]
	if !ok {
		return "", fmt.Errorf("unknown server kind %q (want minio or versitygw)", kind)
	}
	if p := os.Getenv(spec.envVar); p != "" {
		if !isExecutable(p) {
			return "", fmt.Errorf("%s=%s is not an executable file", spec.envVar, p)
		}
		return p, nil
	}
	dest, err := BinaryPath(kind)
	if err != nil {
		return "", err
	}
	if isExecutable(dest) {
		return dest, nil
	}
	binDir := filepath.Dir(dest)
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(filepath.Join(binDir, "."+spec.name+".lock"), installTimeout)
	if err != nil {
		return "", fmt.Errorf("lock for installing %s: %w", kind, err)
	}
	defer unlock()
	if isExecutable(dest) { // installed by someone else while we waited
		return dest, nil
	}

	gobin, err := os.MkdirTemp("", "s3up-gobin-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(gobin)
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("%s is not installed at %s and the go tool to install it is not on PATH: %w", kind, dest, err)
	}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "s3test: installing %s %s into %s (go install %s@%s; may take a few minutes) ...\n",
		kind, spec.version, dest, spec.pkg, spec.version)
	cmd := exec.Command(goTool, "install", spec.pkg+"@"+spec.version)
	cmd.Dir = gobin // outside any module: the project's go.mod plays no part
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOWORK=off")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := runWithTimeout(cmd, installTimeout); err != nil {
		return "", fmt.Errorf("go install %s@%s: %w\n%s", spec.pkg, spec.version, err, tail(out.Bytes(), 8<<10))
	}
	// Copy next to dest, then rename: atomic even across file systems.
	tmp := filepath.Join(binDir, fmt.Sprintf(".%s-%s.tmp.%d", spec.name, spec.version, os.Getpid()))
	if err := copyFile(filepath.Join(gobin, spec.name), tmp, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dest); err != nil {
		os.Remove(tmp)
		return "", err
	}
	fmt.Fprintf(os.Stderr, "s3test: installed %s in %s\n", kind, time.Since(start).Round(time.Second))
	return dest, nil
}

func runWithTimeout(cmd *exec.Cmd, d time.Duration) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("timed out after %s", d)
	}
}

func copyFile(src, dst string, mode os.FileMode) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(dst)
		}
	}()
	if _, err = out.ReadFrom(in); err != nil {
		return err
	}
	return out.Sync()
}

// tail returns at most the last n bytes of b, as a string.
func tail(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	s := string(b[len(b)-n:])
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	}
	return "[... earlier output cut ...]\n" + s
}

var errLockTimeout = errors.New("timed out waiting for the lock")
