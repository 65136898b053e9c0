package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// peers are the other tools' programs; "" when not installed.
type peers struct {
	aws, mc, rclone, s3cmd string
}

func findPeers(ctx context.Context) peers {
	var p peers
	p.aws, _ = exec.LookPath("aws")
	p.rclone, _ = exec.LookPath("rclone")
	p.s3cmd, _ = exec.LookPath("s3cmd")
	p.mc = findMC(ctx)
	return p
}

// findMC finds MinIO's mc, in PATH or in GOPATH/bin, and not Midnight
// Commander, which is also called mc.
func findMC(ctx context.Context) string {
	var candidates []string
	if c, err := exec.LookPath("mc"); err == nil {
		candidates = append(candidates, c)
	}
	if out, err := exec.CommandContext(ctx, "go", "env", "GOPATH").Output(); err == nil {
		for _, d := range filepath.SplitList(strings.TrimSpace(string(out))) {
			candidates = append(candidates, filepath.Join(d, "bin", "mc"))
		}
	}
	for _, c := range candidates {
		if fi, err := os.Stat(c); err != nil || fi.Mode()&0o111 == 0 {
			continue
		}
		out, _ := exec.CommandContext(ctx, c, "--version").CombinedOutput()
		v := strings.ToLower(string(out))
		if strings.Contains(v, "runtime: go") || strings.Contains(v, "minio") {
			return c
		}
	}
	return ""
}

// installPeers installs mc with go install and rclone and s3cmd from the
// distribution; a failure is a note (the peer is then skipped), not a stop.
func installPeers(ctx context.Context) {
	note("installing peers: go install github.com/minio/mc@latest; apt-get install rclone s3cmd")
	cmd := exec.CommandContext(ctx, "go", "install", "github.com/minio/mc@latest")
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		note("go install mc failed; mc will be skipped")
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		note("no apt-get: install rclone and s3cmd yourself")
		return
	}
	var sudo []string
	if os.Geteuid() != 0 {
		if _, err := exec.LookPath("sudo"); err == nil {
			sudo = []string{"sudo"}
		}
	}
	for _, args := range [][]string{{"apt-get", "update", "-qq"}, {"apt-get", "install", "-y", "-qq", "rclone", "s3cmd"}} {
		argv := append(append([]string(nil), sudo...), args...)
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			note("apt-get install failed; missing peers will be skipped")
			return
		}
	}
}

// firstLine runs a command and returns the first line of its output.
func firstLine(ctx context.Context, dir string, env []string, argv ...string) string {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	out, _ := cmd.CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(line)
}
