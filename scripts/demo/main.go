// Command demo is the README's quick start: it starts a local MinIO (built
// once from the pinned version and cached), uploads a generated file with
// s3up, interrupts the upload with SIGINT halfway, shows the state, resumes
// it, and proves with an independent client (minio-go) that the object is
// the file. Run it from the repository root:
//
//	go run ./scripts/demo [-size 256MiB]
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"golang.org/x/term"

	"github.com/s3up/s3up/integration/s3test"
)

func main() {
	sizeFlag := flag.String("size", "256MiB", "size of the generated file")
	flag.Parse()
	if err := run(*sizeFlag); err != nil {
		fmt.Fprintln(os.Stderr, "demo: error:", err)
		os.Exit(1)
	}
}

// bold is set when stdout is a terminal that may show escapes: piped into a
// file or a log, the demo prints plain text.
var bold = isTerminal(os.Stdout) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

func step(format string, args ...any) {
	if bold {
		fmt.Printf("\n\033[1m== "+format+"\033[0m\n", args...)
		return
	}
	fmt.Printf("\n== "+format+"\n", args...)
}

func run(sizeFlag string) error {
	size, err := humanize.ParseBytes(sizeFlag)
	if err != nil || size < 64<<20 {
		return fmt.Errorf("-size %q: need a size of at least 64MiB", sizeFlag)
	}
	work, err := os.MkdirTemp("", "s3up-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	step("installing MinIO (cached after the first run; the first build takes a few minutes)")
	minioBin, err := s3test.EnsureBinary("minio")
	if err != nil {
		return err
	}
	fmt.Println(minioBin)

	step("building s3up")
	s3upBin := filepath.Join(work, "s3up")
	if out, err := exec.Command("go", "build", "-o", s3upBin, "./cmd/s3up").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/s3up (run the demo from the repository root): %v\n%s", err, out)
	}

	step("starting MinIO on loopback")
	port, err := freePort()
	if err != nil {
		return err
	}
	cport, err := freePort()
	if err != nil {
		return err
	}
	user, pass := "s3updemo", randomHex(12)
	endpoint := fmt.Sprintf("127.0.0.1:%d", port)
	srv := exec.Command(minioBin, "server", "--quiet", "--address", endpoint,
		"--console-address", fmt.Sprintf("127.0.0.1:%d", cport), filepath.Join(work, "data"))
	srv.Env = append(os.Environ(), "MINIO_ROOT_USER="+user, "MINIO_ROOT_PASSWORD="+pass, "MINIO_BROWSER=off", "MINIO_UPDATE=off")
	srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		syscall.Kill(-srv.Process.Pid, syscall.SIGTERM)
		srv.Wait()
	}()
	mc, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(user, pass, ""), Region: "us-east-1"})
	if err != nil {
		return err
	}
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := mc.ListBuckets(ctx); err == nil {
			break
		} else if time.Now().After(deadline) {
			return fmt.Errorf("MinIO did not come up: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // polling a server that is starting
	}
	if err := mc.MakeBucket(ctx, "demo", minio.MakeBucketOptions{}); err != nil {
		return err
	}
	fmt.Printf("MinIO at http://%s, bucket \"demo\"\n", endpoint)

	step("generating a %s file", humanize.IBytes(size))
	src := filepath.Join(work, "backup.bin")
	if err := writeRandom(src, int64(size)); err != nil {
		return err
	}

	env := append(os.Environ(), "AWS_ACCESS_KEY_ID="+user, "AWS_SECRET_ACCESS_KEY="+pass,
		"AWS_ENDPOINT_URL_S3=http://"+endpoint, "AWS_REGION=us-east-1", "S3UP_PROGRESS_INTERVAL=1s")
	dst := "s3://demo/backup.bin"
	s3up := func(args ...string) *exec.Cmd {
		c := exec.Command(s3upBin, args...)
		c.Env, c.Stdout, c.Stderr = env, os.Stdout, os.Stderr
		fmt.Printf("$ s3up %s\n", strings.Join(args, " "))
		return c
	}

	step("uploading with a bandwidth cap, and pressing Ctrl-C (SIGINT) halfway")
	put := s3up("put", "--bwlimit", "48MiB/s", "--part-size", "8MiB", src, dst)
	if err := put.Start(); err != nil {
		return err
	}
	parts := int((size + 8<<20 - 1) / (8 << 20))
	if err := waitForParts(src, parts/2); err != nil {
		return err
	}
	put.Process.Signal(os.Interrupt)
	err = put.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		return fmt.Errorf("interrupted put: want exit code 130, got %v", err)
	}
	fmt.Println("(exit code 130: interrupted, state kept)")

	step("what is on the server now")
	s3up("status", src, dst).Run()

	step("running the same command again: it resumes")
	if err := s3up("put", "--part-size", "8MiB", src, dst).Run(); err != nil {
		return fmt.Errorf("resume: %w", err)
	}

	step("checking the object with an independent client (minio-go)")
	local, err := fileSHA256(src)
	if err != nil {
		return err
	}
	obj, err := mc.GetObject(ctx, "demo", "backup.bin", minio.GetObjectOptions{})
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(h, obj)
	obj.Close()
	if err != nil {
		return err
	}
	remote := hex.EncodeToString(h.Sum(nil))
	fmt.Printf("local  sha256 %s (%d bytes)\nobject sha256 %s (%d bytes)\n", local, size, remote, n)
	if remote != local || n != int64(size) {
		return errors.New("the object does not match the file")
	}
	fmt.Println("identical: the interrupted upload was resumed, not restarted")
	return nil
}

// waitForParts waits until the sidecar next to src records n parts.
func waitForParts(src string, n int) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		matches, _ := filepath.Glob(filepath.Join(filepath.Dir(src), "."+filepath.Base(src)+".s3up-*"))
		for _, m := range matches {
			if strings.HasSuffix(m, ".lock") {
				continue
			}
			if lines, err := countLines(m); err == nil && lines-1 >= n {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond) // polling the state file
	}
	return errors.New("the upload made no progress")
}

func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		n++
	}
	return n, sc.Err()
}

func writeRandom(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
