package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/s3up/s3up/bench/internal/benchs3"
)

// server is a running MinIO.
type server struct {
	scheme   string
	endpoint string // scheme://127.0.0.1:port
	port     int
	cmd      *exec.Cmd
	done     chan struct{} // closed when the process has been reaped
	dataDir  string
}

// clockTick is USER_HZ, the unit of /proc/PID/stat's CPU times: 100 on
// every Linux architecture Go supports.
const clockTick = 100

// startServer starts a fresh MinIO with an empty data directory and points
// every client at it.
func (h *harness) startServer(ctx context.Context, scheme string) error {
	h.stopServer()
	dir := filepath.Join(h.paths.work, "minio-"+scheme)
	os.RemoveAll(dir)
	certs := filepath.Join(dir, "certs")
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(certs, 0o755); err != nil {
		return err
	}
	if scheme == "https" {
		if err := h.makeCerts(); err != nil {
			return err
		}
		for _, f := range []string{"public.crt", "private.key"} {
			if err := copyFile(filepath.Join(h.paths.work, "tls", "certs", f), filepath.Join(certs, f)); err != nil {
				return err
			}
		}
	}
	logPath := filepath.Join(h.paths.logs, "minio-"+scheme+".log")
	for try := 1; try <= 3; try++ {
		port, err1 := freePort()
		cport, err2 := freePort()
		if err1 != nil || err2 != nil {
			return fatalf("no free port on 127.0.0.1: %v %v", err1, err2)
		}
		log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		cmd := exec.Command(h.minio, "server", "--quiet", "--address", fmt.Sprintf("127.0.0.1:%d", port),
			"--console-address", fmt.Sprintf("127.0.0.1:%d", cport), "--certs-dir", certs, filepath.Join(dir, "data"))
		cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+h.creds.access, "MINIO_ROOT_PASSWORD="+h.creds.secret,
			"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_REGION=us-east-1", "MINIO_CI_CD=on")
		cmd.Stdout, cmd.Stderr = log, log
		cmd.SysProcAttr = childAttr()
		if err := cmd.Start(); err != nil {
			log.Close()
			return fatalf("cannot start MinIO: %v", err)
		}
		log.Close()
		srv := &server{scheme: scheme, endpoint: fmt.Sprintf("%s://127.0.0.1:%d", scheme, port), port: port,
			cmd: cmd, done: make(chan struct{}), dataDir: filepath.Join(dir, "data")}
		go func() { cmd.Wait(); close(srv.done) }()
		h.srv = srv
		if err := h.useEndpoint(ctx); err != nil {
			return err
		}
		err = benchs3.WaitReady(ctx, h.s3, 60*time.Second)
		if err == nil && srv.alive() {
			if err := benchs3.MakeBucket(ctx, h.s3, bucket); err != nil {
				return fatalf("MinIO (%s): %v", scheme, err)
			}
			note("MinIO (%s) on %s, pid %d, data in %s", scheme, srv.endpoint, cmd.Process.Pid, srv.dataDir)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		note("MinIO (%s) did not start on port %d (try %d); log: %s", scheme, port, try, logPath)
		h.stopServer()
	}
	if b, err := os.ReadFile(logPath); err == nil {
		fmt.Fprintln(os.Stderr, lastLines(string(b), 20))
	}
	return fatalf("could not start MinIO")
}

func (s *server) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// stopServer: SIGTERM, then SIGKILL after 5 s.
func (h *harness) stopServer() {
	s := h.srv
	if s == nil {
		return
	}
	h.srv, h.s3 = nil, nil
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// cpu returns the CPU seconds the server has used so far.
func (s *server) cpu() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	return statCPU(string(b))
}

// statCPU reads utime+stime from a /proc/PID/stat line, in seconds. The
// fields are counted after "(comm) ", since comm may hold spaces.
func statCPU(stat string) float64 {
	i := strings.LastIndex(stat, ") ")
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+2:])
	if len(f) < 13 {
		return 0
	}
	// After the comm: state is field 0, utime 11, stime 12.
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return float64(u+s) / clockTick
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// useEndpoint points every client at the running server: the environment
// the tools inherit, the s3cmd config, and the harness's own client.
func (h *harness) useEndpoint(ctx context.Context) error {
	s := h.srv
	ca := filepath.Join(h.paths.work, "tls", "ca.crt")
	os.Setenv("AWS_ENDPOINT_URL_S3", s.endpoint)
	if s.scheme == "https" {
		os.Setenv("AWS_CA_BUNDLE", ca)
		os.Setenv("SSL_CERT_FILE", ca)
	} else {
		if h.hasCABundle {
			os.Setenv("AWS_CA_BUNDLE", h.caBundle)
		} else {
			os.Unsetenv("AWS_CA_BUNDLE")
		}
		os.Unsetenv("SSL_CERT_FILE")
	}
	// rclone, from the environment only (its config file is empty).
	for k, v := range map[string]string{
		"RCLONE_CONFIG_BENCH_TYPE":              "s3",
		"RCLONE_CONFIG_BENCH_PROVIDER":          "Minio",
		"RCLONE_CONFIG_BENCH_ACCESS_KEY_ID":     h.creds.access,
		"RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": h.creds.secret,
		"RCLONE_CONFIG_BENCH_ENDPOINT":          s.endpoint,
		"RCLONE_CONFIG_BENCH_REGION":            "us-east-1",
		"RCLONE_CONFIG_BENCH_ENV_AUTH":          "false",
		"MC_HOST_bench":                         fmt.Sprintf("%s://%s:%s@127.0.0.1:%d", s.scheme, h.creds.access, h.creds.secret, s.port),
	} {
		os.Setenv(k, v)
	}
	useHTTPS, caFile := "False", ""
	if s.scheme == "https" {
		useHTTPS, caFile = "True", ca
	}
	cfg := fmt.Sprintf(`[default]
access_key = %s
secret_key = %s
host_base = 127.0.0.1:%d
host_bucket = 127.0.0.1:%d
bucket_location = us-east-1
use_https = %s
check_ssl_certificate = True
check_ssl_hostname = True
ca_certs_file = %s
signature_v2 = False
multipart_chunk_size_mb = %d
progress_meter = False
`, h.creds.access, h.creds.secret, s.port, s.port, useHTTPS, caFile, h.opts.part>>20)
	if err := os.WriteFile(h.s3cmdConfig(), []byte(cfg), 0o600); err != nil {
		return err
	}
	c, err := benchs3.NewClient(ctx)
	if err != nil {
		return err
	}
	h.s3 = c
	return nil
}

func (h *harness) s3cmdConfig() string {
	return filepath.Join(h.paths.work, "s3cmd-"+h.srv.scheme+".cfg")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
