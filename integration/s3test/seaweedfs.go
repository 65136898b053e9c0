package s3test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// seaweedPorts are the TCP ports of one `weed mini`: every listener it
// opens gets a port chosen here (free when chosen), none of the fixed
// defaults (S3 8333, master 9333, volume 9340, filer 8888, admin 12535 and
// 23646, each plus a gRPC port at +10000, WebDAV 7333, Iceberg 8181, Lance
// 9101), so that parallel test processes and a user's own SeaweedFS never
// collide. WebDAV, the Iceberg and Lance catalogs and the admin's legacy
// port are switched off instead. Metrics and debug listeners are off by
// default.
type seaweedPorts struct {
	s3, s3Grpc, s3HTTPS int // s3HTTPS: the TLS endpoint (0 without TLS)
	master, masterGrpc  int
	volume, volumeGrpc  int
	filer, filerGrpc    int
	admin, adminGrpc    int
}

// freePorts returns n distinct loopback TCP ports that were free when
// chosen: all listeners are held open until every port is picked.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// seaweedS3Config is the JSON of -s3.config (the iam_pb.S3ApiConfiguration
// message of SeaweedFS, read with protojson: weed/s3api/auth_credentials.go).
type seaweedS3Config struct {
	Identities []seaweedIdentity `json:"identities"`
}

type seaweedIdentity struct {
	Name        string              `json:"name"`
	Credentials []seaweedCredential `json:"credentials"`
	Actions     []string            `json:"actions"`
}

type seaweedCredential struct {
	AccessKey string `json:"accessKey"`
	SecretKey string `json:"secretKey"`
}

// seaweedCommand returns the arguments and extra environment of a
// `weed mini` serving S3 on endpointPort (HTTPS if tf is not nil) with the
// server's credentials, everything it writes inside dir.
func seaweedCommand(srv *Server, dir, dataDir string, endpointPort int, tf *tlsFiles) (args, env []string, err error) {
	cfg := seaweedS3Config{Identities: []seaweedIdentity{{
		Name:        "s3up-test",
		Credentials: []seaweedCredential{{AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}},
		Actions:     []string{"Admin", "Read", "Write", "List", "Tagging"},
	}}}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	cfgFile := filepath.Join(dir, "s3.json")
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		return nil, nil, err
	}
	// $HOME/.seaweedfs/*.toml would configure the server: give it an empty
	// home. Its working directory (dir), also searched, holds no toml file.
	home := filepath.Join(dir, "home")
	for _, d := range []string{home, filepath.Join(dir, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, nil, err
		}
	}

	all, err := freePorts(11)
	if err != nil {
		return nil, nil, err
	}
	var ps []int // 10 ports, none of them the endpoint's
	for _, port := range all {
		if port != endpointPort {
			ps = append(ps, port)
		}
	}
	p := seaweedPorts{
		master: ps[0], masterGrpc: ps[1],
		volume: ps[2], volumeGrpc: ps[3],
		filer: ps[4], filerGrpc: ps[5],
		s3Grpc: ps[6],
		admin:  ps[7], adminGrpc: ps[8],
	}
	if tf != nil {
		p.s3HTTPS, p.s3 = endpointPort, ps[9] // HTTP stays on for mini's own health check
	} else {
		p.s3 = endpointPort
	}
	srv.ports = []int{endpointPort, p.s3, p.s3Grpc, p.master, p.masterGrpc, p.volume, p.volumeGrpc,
		p.filer, p.filerGrpc, p.admin, p.adminGrpc}
	// `weed mini` also serves each gRPC service on a Unix socket whose path
	// it hard-codes: /tmp/seaweedfs-NAME-grpc-PORT.sock.
	for _, g := range []struct {
		name string
		port int
	}{{"master", p.masterGrpc}, {"volume", p.volumeGrpc}, {"filer", p.filerGrpc}, {"s3", p.s3Grpc}, {"admin", p.adminGrpc}} {
		srv.sockets = append(srv.sockets, fmt.Sprintf("/tmp/seaweedfs-%s-grpc-%d.sock", g.name, g.port))
	}
	srv.readyExtra = func(ctx context.Context) error { return seaweedAdminReady(ctx, p.admin) }

	itoa := strconv.Itoa
	args = []string{
		// Global flags: glog files go to the server's directory, not /tmp.
		"-logdir=" + filepath.Join(dir, "logs"),
		"mini",
		"-dir=" + dataDir,
		"-ip=127.0.0.1",
		"-ip.bind=127.0.0.1",
		"-s3.config=" + cfgFile,
		"-s3.autoCreateBucket=false", // a missing bucket must stay NoSuchBucket
		"-master.telemetry=false",
		"-admin.ui=false",
		"-webdav=false",
		"-s3.port=" + itoa(p.s3),
		"-s3.port.grpc=" + itoa(p.s3Grpc),
		"-s3.port.iceberg=0",
		"-s3.port.lance=0",
		"-master.port=" + itoa(p.master),
		"-master.port.grpc=" + itoa(p.masterGrpc),
		"-volume.port=" + itoa(p.volume),
		"-volume.port.grpc=" + itoa(p.volumeGrpc),
		"-filer.port=" + itoa(p.filer),
		"-filer.port.grpc=" + itoa(p.filerGrpc),
		"-admin.port=" + itoa(p.admin),
		"-admin.port.grpc=" + itoa(p.adminGrpc),
		"-admin.port.legacy=0",
	}
	// Unix sockets of the filer and S3 HTTP servers, default
	// /tmp/seaweedfs-{filer,s3}-PORT.sock, go into dir when the path fits
	// in a sockaddr_un.
	for _, s := range []struct{ flag, file string }{
		{"-filer.localSocket", "filer.sock"}, {"-s3.localSocket", "s3.sock"},
	} {
		if path := filepath.Join(dir, s.file); len(path) < 100 {
			args = append(args, s.flag+"="+path)
		}
	}
	if tf != nil {
		args = append(args,
			"-s3.port.https="+itoa(p.s3HTTPS),
			"-s3.cert.file="+tf.certFile,
			"-s3.key.file="+tf.keyFile)
	}
	env = []string{"HOME=" + home}
	return args, env, nil
}

// seaweedAdminReady reports whether the admin server of a `weed mini`, the
// last of its services to start, answers. Until it does, the process may
// still exit (it dies when the admin does not come up).
func seaweedAdminReady(ctx context.Context, port int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/health", port), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		return fmt.Errorf("admin server: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("admin server: GET /health: %s", resp.Status)
	}
	return nil
}

// removeStaleSockets removes Unix sockets a stopped server left behind
// outside its directory (a killed process cannot remove them), unless
// something listens on one again.
func removeStaleSockets(paths []string) {
	for _, path := range paths {
		if _, err := os.Lstat(path); err != nil {
			continue
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close() // someone else's now
			continue
		}
		os.Remove(path)
	}
}
