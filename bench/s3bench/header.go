package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// header writes the report's description of the machine and the tools.
func (h *harness) header(ctx context.Context) {
	o := h.opts
	h.say("## Benchmark: s3up vs peers", "")
	h.say("- Date: " + time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	h.say("- Machine: <!-- describe: cloud instance / laptop model, disk type, anything else running -->")
	h.say(fmt.Sprintf("- CPU: %s — %d logical CPUs", cpuModel(), runtime.NumCPU()))
	h.say(fmt.Sprintf("- Memory: %s; kernel %s", memTotal(), kernel()))
	h.say(fmt.Sprintf("- Disk (%s): %s", h.paths.work, diskLine(ctx, h.paths.work)))
	h.say(fmt.Sprintf("- Server: MinIO %s single drive on 127.0.0.1, same machine", strings.TrimPrefix(filepath.Base(h.minio), "minio-")))
	h.say("- " + firstLine(ctx, "", nil, "go", "version"))
	if o.compare || o.resume || o.memory || o.scale {
		h.say(fmt.Sprintf("- File: %s of random bytes, %s parts, concurrency %d, %d round(s), tools round-robin", human(o.size), human(o.part), o.conc, o.rounds))
	}
	if o.stream {
		h.say(fmt.Sprintf("- Stream: %s from bench/datagen (a seeded AES-CTR keystream) through a pipe, checked by %s", human(o.streamSize), map[bool]string{true: "SHA-256", false: "size"}[o.verifyHash]))
	}
	if o.tree {
		t := h.tree()
		s := fmt.Sprintf("- Tree: %d files of %s in nested directories", o.treeFiles, human(o.treeFile))
		if t.Big > 0 {
			s += fmt.Sprintf(", plus one file of %s", human(t.Big))
		}
		h.say(s + fmt.Sprintf(" (%s in all)", humanize.IBytes(uint64(t.Bytes()))))
	}
	h.say("", "| tool | version | settings |", "|---|---|---|")
	for _, t := range o.tools {
		if ok, why := h.available(t); ok {
			h.say(fmt.Sprintf("| %s | %s | %s |", t, h.version(ctx, t), h.settings(t)))
		} else {
			h.say(fmt.Sprintf("| %s | — | skipped: %s |", t, why))
		}
	}
	h.say("")
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
			kib, _ := strconv.ParseFloat(f[1], 64)
			return fmt.Sprintf("%.1f GiB", kib/1048576)
		}
	}
	return "?"
}

func kernel() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}

// diskLine is df -hT's type, size and free space for dir: ext4, 252G total, 61G free.
func diskLine(ctx context.Context, dir string) string {
	out, err := exec.CommandContext(ctx, "df", "-hT", dir).Output()
	if err != nil {
		return "?"
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(lines) < 2 || len(f) < 5 {
		return "?"
	}
	return fmt.Sprintf("%s, %s total, %s free", f[1], f[2], f[4])
}

func describeTLS(scheme string) string {
	if scheme == "http" {
		return "plain HTTP"
	}
	return "HTTPS, self-signed CA"
}
