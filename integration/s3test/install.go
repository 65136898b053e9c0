package s3test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Pinned server versions. Keep in sync with scripts/install-servers.sh.
const (
	MinioPackage   = "github.com/minio/minio"
	MinioVersion   = "v0.0.0-20260212201848-7aac2a2c5b7c"
	VersityPackage = "github.com/versity/versitygw/cmd/versitygw"
	VersityVersion = "v1.8.0"
	// SeaweedFS cannot be installed with `go install module/weed@version`
	// (its go.mod has replace directives): the harness downloads the module
	// and builds ./weed inside a writable copy of it.
	SeaweedModule  = "github.com/seaweedfs/seaweedfs"
	SeaweedPackage = "./weed" // inside the module
	SeaweedVersion = "v0.0.0-20261109003541-7506e5f91cd6"

	// installTimeout bounds one installation (download and build) and the
	// wait for another installer's lock. Building MinIO or SeaweedFS takes
	// about 4 minutes on 2 idle cores, and took 11 to 15 minutes (cold
	// weed) with other builds loading them; it stays under the suite's
	// go test -timeout 40m so that a stuck install says so itself.
	installTimeout   = 30 * time.Minute
	installLockPoll  = 200 * time.Millisecond
	defaultCacheName = ".cache/s3up"
)

type binarySpec struct {
	name    string // binary name produced by go install / go build
	pkg     string // package to install, or, with module set, to build inside the module
	module  string // if set, build pkg inside a copy of this module instead of go install
	version string
	envVar  string // explicit override of the binary path
}

// kinds lists the server kinds the harness can start, in a stable order.
var kinds = []string{"minio", "versitygw", "seaweedfs"}

// Kinds returns the server kinds the harness can start ("minio",
// "versitygw", "seaweedfs"), for tests that start servers of every kind
// themselves (StartTLS).
func Kinds() []string { return append([]string(nil), kinds...) }

var binaries = map[string]binarySpec{
	"minio":     {name: "minio", pkg: MinioPackage, version: MinioVersion, envVar: "S3UP_MINIO_BINARY"},
	"versitygw": {name: "versitygw", pkg: VersityPackage, version: VersityVersion, envVar: "S3UP_VERSITYGW_BINARY"},
	"seaweedfs": {name: "weed", pkg: SeaweedPackage, module: SeaweedModule, version: SeaweedVersion, envVar: "S3UP_SEAWEEDFS_BINARY"},
}

// knownKinds is Kinds as text, for error messages.
func knownKinds() string { return strings.Join(kinds, ", ") }

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

// BinaryPath returns where the cached binary of kind (one of Kinds) lives,
// whether or not it is installed yet.
func BinaryPath(kind string) (string, error) {
	spec, ok := binaries[kind]
	if !ok {
		return "", fmt.Errorf("unknown server kind %q (want one of %s)", kind, knownKinds())
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
// into the cache if it is missing: with `go install` for MinIO and versitygw,
// by downloading the module and building ./weed in a copy of it for SeaweedFS
// (minutes for MinIO and SeaweedFS). Concurrent installers (other test
// processes, or scripts/install-servers.sh) are serialised with a lock file.
// The environment variable S3UP_MINIO_BINARY / S3UP_VERSITYGW_BINARY /
// S3UP_SEAWEEDFS_BINARY, if set, names a binary to use instead.
func EnsureBinary(kind string) (string, error) {
	spec, ok := binaries[kind]
	if !ok {
		return "", fmt.Errorf("unknown server kind %q (want one of %s)", kind, knownKinds())
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

	work, err := os.MkdirTemp("", "s3up-gobin-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("%s is not installed at %s and the go tool to install it is not on PATH: %w", kind, dest, err)
	}
	start := time.Now()
	var built string
	if spec.module == "" {
		built, err = goInstall(goTool, work, kind, dest, spec)
	} else {
		built, err = buildInModule(goTool, work, kind, dest, spec)
	}
	if err != nil {
		return "", err
	}
	// Copy next to dest, then rename: atomic even across file systems.
	tmp := filepath.Join(binDir, fmt.Sprintf(".%s-%s.tmp.%d", spec.name, spec.version, os.Getpid()))
	if err := copyFile(built, tmp, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dest); err != nil {
		os.Remove(tmp)
		return "", err
	}
	fmt.Fprintf(os.Stderr, "s3test: installed %s in %s\n", kind, time.Since(start).Round(time.Second))
	return dest, nil
}

// goInstall runs `go install pkg@version` with GOBIN=work, outside any
// module, and returns the path of the binary.
func goInstall(goTool, work, kind, dest string, spec binarySpec) (string, error) {
	fmt.Fprintf(os.Stderr, "s3test: installing %s %s into %s (go install %s@%s; may take a few minutes) ...\n",
		kind, spec.version, dest, spec.pkg, spec.version)
	cmd := exec.Command(goTool, "install", spec.pkg+"@"+spec.version)
	cmd.Dir = work // outside any module: the project's go.mod plays no part
	cmd.Env = append(os.Environ(), "GOBIN="+work, "GOWORK=off")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := runWithTimeout(cmd, installTimeout); err != nil {
		return "", fmt.Errorf("go install %s@%s: %w\n%s", spec.pkg, spec.version, err, tail(out.Bytes(), 8<<10))
	}
	return filepath.Join(work, spec.name), nil
}

// buildInModule downloads spec.module@spec.version into the module cache,
// copies it to work/src (the module cache is read-only) and runs
// `go build -o work/NAME spec.pkg` there, so that the module's own go.mod,
// replace directives included, governs the build. It returns the binary.
// Keep in sync with build_in_module in scripts/install-servers.sh.
func buildInModule(goTool, work, kind, dest string, spec binarySpec) (string, error) {
	fmt.Fprintf(os.Stderr, "s3test: installing %s %s into %s (go build %s in %s@%s; may take a few minutes) ...\n",
		kind, spec.version, dest, spec.pkg, spec.module, spec.version)
	// -mod=mod lets go.sum gain what the module's own go.sum lacks;
	// -buildvcs=false because the copy is no repository.
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod -buildvcs=false")
	deadline := time.Now().Add(installTimeout)

	cmd := exec.Command(goTool, "mod", "download", "-json", spec.module+"@"+spec.version)
	cmd.Dir = work // outside any module: the project's go.mod plays no part
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := runWithTimeout(cmd, time.Until(deadline))
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil && runErr == nil {
		runErr = fmt.Errorf("cannot parse its output: %v", err)
	}
	if runErr == nil && (info.Error != "" || info.Dir == "") {
		runErr = fmt.Errorf("%s", info.Error)
	}
	if runErr != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w\n%s%s", spec.module, spec.version, runErr,
			tail(stdout.Bytes(), 4<<10), tail(stderr.Bytes(), 4<<10))
	}

	src := filepath.Join(work, "src")
	if err := copyTree(info.Dir, src); err != nil {
		return "", fmt.Errorf("copy %s: %w", info.Dir, err)
	}
	bin := filepath.Join(work, spec.name)
	cmd = exec.Command(goTool, "build", "-o", bin, spec.pkg)
	cmd.Dir = src
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := runWithTimeout(cmd, time.Until(deadline)); err != nil {
		return "", fmt.Errorf("go build %s in %s@%s: %w\n%s", spec.pkg, spec.module, spec.version, err, tail(out.Bytes(), 8<<10))
	}
	return bin, nil
}

// copyTree copies the regular files and directories under src to dst,
// writable by their owner (the module cache holds read-only files).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			return copyFile(path, target, fi.Mode().Perm()|0o200)
		default: // module zips hold no symlinks or devices
			return nil
		}
	})
}

// runWithTimeout runs cmd in its own process group and kills the whole group
// (the go tool and the compilers it started) if it runs longer than d.
func runWithTimeout(cmd *exec.Cmd, d time.Duration) error {
	cmd.SysProcAttr = installSysProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		_ = killGroup(cmd.Process.Pid, syscall.SIGKILL)
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
