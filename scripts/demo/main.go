// Command demo is the README's quick start: it starts a local MinIO (built
// once from the pinned version and cached), uploads a generated file with
// s3up, interrupts the upload with SIGINT halfway, shows the state, resumes
// it, and proves with an independent client (minio-go) that the object is
// the file. It asks nothing and exits non-zero, naming the step, when
// anything is not as the README says. Run it from the repository root:
//
//	go run ./scripts/demo [-size 256MiB]
//
// It finds out how far the upload got through s3up itself (s3up status
// --json, and the rerun's --json records), never through the names of
// s3up's files.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
	start := time.Now()
	if err := run(*sizeFlag); err != nil {
		fmt.Fprintln(os.Stderr, "demo: error:", err)
		os.Exit(1)
	}
	fmt.Printf("\ndemo: done in %s\n", time.Since(start).Round(time.Second))
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

const partSize = 8 << 20

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

	step("installing MinIO (cached after the first run; the first build takes about 5 minutes)")
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
	endpoint, mc, stop, err := startMinio(minioBin, work)
	if err != nil {
		return err
	}
	defer stop()
	ctx := context.Background()
	if err := mc.MakeBucket(ctx, "demo", minio.MakeBucketOptions{}); err != nil {
		return err
	}
	fmt.Printf("MinIO at %s, bucket \"demo\"\n", endpoint)

	step("generating a %s file", humanize.IBytes(size))
	src := filepath.Join(work, "backup.bin")
	if err := writeRandom(src, int64(size)); err != nil {
		return err
	}

	d := &demo{bin: s3upBin, src: src, dst: "s3://demo/backup.bin", env: demoEnv(endpoint, mc, work)}
	parts := int((size + partSize - 1) / partSize)

	step("uploading with a bandwidth cap, and sending SIGINT (what Ctrl-C sends) halfway")
	put := d.cmd("put", "--bwlimit", "48MiB/s", "--part-size", "8MiB", src, d.dst)
	put.Stdout, put.Stderr = os.Stdout, os.Stderr
	d.show(put)
	if err := put.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- put.Wait() }()
	done, err := d.waitForParts(parts/2, exited)
	if err != nil {
		put.Process.Kill()
		return err
	}
	fmt.Printf("(s3up status --json: %d of %d parts on the server; sending SIGINT)\n", done, parts)
	if err := put.Process.Signal(os.Interrupt); err != nil {
		return err
	}
	err = <-exited
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		return fmt.Errorf("interrupted put: want exit code 130 (interrupted by SIGINT, state kept), got %v", err)
	}
	fmt.Println("(exit code 130: interrupted by SIGINT, state kept)")

	step("what is on the server now: s3up status")
	st := d.cmd("status", src, d.dst)
	st.Stdout, st.Stderr = os.Stdout, os.Stderr
	d.show(st)
	if err := st.Run(); err != nil {
		return fmt.Errorf("s3up status: %w", err)
	}

	step("running the same command again: it resumes (with --json, to check what it did)")
	res, err := d.resume()
	if err != nil {
		return err
	}
	fmt.Printf("(resumed upload: %d of %d parts were kept from the interrupted run; this run sent %s of %s)\n",
		res.PartsKept, res.Parts, humanize.IBytes(uint64(res.BytesSent)), humanize.IBytes(size))

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

// demo runs s3up against the demo's MinIO.
type demo struct {
	bin, src, dst string
	env           []string
}

func (d *demo) cmd(args ...string) *exec.Cmd {
	c := exec.Command(d.bin, args...)
	c.Env = d.env
	return c
}

// show prints a command as a person would type it.
func (d *demo) show(c *exec.Cmd) {
	fmt.Printf("$ s3up %s\n", strings.Join(c.Args[1:], " "))
}

// statusReport is what the demo reads of s3up status --json.
type statusReport struct {
	Event    string `json:"event"`
	HasState bool   `json:"has_state"`
	Upload   *struct {
		Parts []struct {
			State string `json:"state"`
		} `json:"parts"`
	} `json:"upload"`
}

// waitForParts asks s3up status --json, until the server holds n parts of
// the upload, how far it got; it fails when the put ends first.
func (d *demo) waitForParts(n int, exited <-chan error) (int, error) {
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return 0, fmt.Errorf("the put ended before it could be interrupted (%v): nothing to resume", err)
		default:
		}
		out, err := d.cmd("status", "--json", d.src, d.dst).Output()
		if err != nil {
			return 0, fmt.Errorf("s3up status --json: %v\n%s", err, stderrOf(err))
		}
		var rep statusReport
		if err := json.Unmarshal(bytes.TrimSpace(out), &rep); err != nil {
			return 0, fmt.Errorf("s3up status --json printed %q: %v", out, err)
		}
		if rep.Upload != nil {
			sent := 0
			for _, p := range rep.Upload.Parts {
				if p.State == "sent" {
					sent++
				}
			}
			if sent >= n {
				return sent, nil
			}
		}
		time.Sleep(100 * time.Millisecond) // polling s3up status while the put runs
	}
	return 0, fmt.Errorf("after 3 minutes s3up status still shows fewer than %d parts on the server: the upload made no progress", n)
}

// result is what the demo reads of the rerun's result record.
type result struct {
	Resumed   bool  `json:"resumed"`
	Parts     int   `json:"parts"`
	PartsKept int   `json:"parts_kept"`
	BytesSent int64 `json:"bytes_sent"`
	Size      int64 `json:"size"`
}

// resume reruns the put with --json, shows its records, and checks that it
// resumed: a resumed record, parts kept, and less than the file sent.
func (d *demo) resume() (*result, error) {
	c := d.cmd("put", "--json", "--part-size", "8MiB", d.src, d.dst)
	c.Stderr = os.Stderr
	d.show(c)
	stdout, err := c.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	var res *result
	resumed := false
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev struct {
			Event string `json:"event"`
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			c.Process.Kill()
			c.Wait()
			return nil, fmt.Errorf("put --json printed a line that is not JSON: %q", line)
		}
		switch ev.Event {
		case "part_done", "progress":
			continue // many; the result says how many parts were sent
		case "resumed":
			resumed = true
		case "result":
			res = &result{}
			if err := json.Unmarshal(line, res); err != nil {
				return nil, err
			}
		}
		fmt.Printf("  %s\n", line)
	}
	if err := c.Wait(); err != nil {
		return nil, fmt.Errorf("the rerun failed: %w", err)
	}
	switch {
	case res == nil:
		return nil, errors.New("the rerun printed no result record")
	case !resumed || !res.Resumed || res.PartsKept == 0:
		return nil, fmt.Errorf("the rerun did not resume (resumed record: %v, result: %+v): it started over", resumed, *res)
	case res.BytesSent >= res.Size:
		return nil, fmt.Errorf("the rerun sent %d bytes of %d: the whole file again", res.BytesSent, res.Size)
	}
	return res, nil
}

// demoEnv is the environment of the s3up commands: credentials and endpoint
// of the demo's MinIO, state in the demo's directory, nothing of the user's
// own AWS or s3up settings.
func demoEnv(endpoint string, mc *minio.Client, work string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if (strings.HasPrefix(name, "AWS_") && name != "AWS_CA_BUNDLE") || strings.HasPrefix(name, "S3UP_") || name == "XDG_STATE_HOME" {
			continue
		}
		env = append(env, kv)
	}
	creds, _ := mc.GetCreds()
	return append(env, "AWS_ACCESS_KEY_ID="+creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey,
		"AWS_ENDPOINT_URL_S3="+endpoint, "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE="+filepath.Join(work, "no-aws-config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(work, "no-aws-credentials"),
		"XDG_STATE_HOME="+filepath.Join(work, "state"), "S3UP_PROGRESS_INTERVAL=1s")
}

// startMinio starts MinIO on free loopback ports with its data in work and
// waits until it answers.
func startMinio(bin, work string) (endpoint string, mc *minio.Client, stop func(), err error) {
	port, err := freePort()
	if err != nil {
		return "", nil, nil, err
	}
	cport, err := freePort()
	if err != nil {
		return "", nil, nil, err
	}
	user, pass := "s3updemo", randomHex(12)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	srv := exec.Command(bin, "server", "--quiet", "--address", addr,
		"--console-address", fmt.Sprintf("127.0.0.1:%d", cport), filepath.Join(work, "data"))
	srv.Env = append(os.Environ(), "MINIO_ROOT_USER="+user, "MINIO_ROOT_PASSWORD="+pass, "MINIO_BROWSER=off", "MINIO_UPDATE=off")
	srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := srv.Start(); err != nil {
		return "", nil, nil, err
	}
	stop = func() {
		syscall.Kill(-srv.Process.Pid, syscall.SIGTERM)
		srv.Wait()
	}
	mc, err = minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(user, pass, ""), Region: "us-east-1"})
	if err != nil {
		stop()
		return "", nil, nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := mc.ListBuckets(context.Background()); err == nil {
			break
		} else if time.Now().After(deadline) {
			stop()
			return "", nil, nil, fmt.Errorf("MinIO did not come up: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // polling a server that is starting
	}
	return "http://" + addr, mc, stop, nil
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
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
