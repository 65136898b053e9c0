package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The tools each mode can run, in report order.
var (
	streamTools = []string{"s3up", "aws", "mc", "rclone"}
	treeTools   = []string{"s3up", "aws", "mc", "rclone"}
	scaleTools  = []string{"s3up", "rawparts"}
)

// command is what one run executes.
type command struct {
	argv  []string
	env   []string // KEY=VALUE added to the environment
	unset []string // variables removed from it
}

// environ is the command's environment.
func (c command) environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(c.unset, k) {
			out = append(out, kv)
		}
	}
	return append(out, c.env...)
}

// available says whether tool can run, and if not, why.
func (h *harness) available(tool string) (bool, string) {
	switch tool {
	case "sdkmanager", "sdkmanager-crc32":
		if !h.haveSDKManager {
			return false, "bench/sdkmanager did not build"
		}
	case "aws":
		if h.peers.aws == "" {
			return false, "aws-cli not installed"
		}
	case "mc", "mcput":
		if h.peers.mc == "" {
			return false, "MinIO mc not installed (go install github.com/minio/mc@latest, or --install-peers)"
		}
	case "rclone":
		if h.peers.rclone == "" {
			return false, "rclone not installed (apt-get install rclone, or --install-peers)"
		}
	case "s3cmd":
		if h.peers.s3cmd == "" {
			return false, "s3cmd not installed (apt-get install s3cmd, or --install-peers)"
		}
	}
	return true, ""
}

// toolsFor returns the tools of --tools that mode can run and that are
// installed, in the mode's order, with a note for each one left out.
func (h *harness) toolsFor(mode string, can []string) []string {
	var out []string
	for _, t := range h.opts.tools {
		if can != nil && !slices.Contains(can, t) {
			continue
		}
		if ok, why := h.available(t); !ok {
			note("%s: skipping %s: %s", mode, t, why)
			continue
		}
		out = append(out, t)
	}
	if can != nil {
		slices.SortStableFunc(out, func(a, b string) int { return slices.Index(can, a) - slices.Index(can, b) })
	}
	return out
}

func (h *harness) version(ctx context.Context, tool string) string {
	p := h.peers
	switch tool {
	case "s3up":
		v := firstLine(ctx, h.repo, nil, "git", "describe", "--always", "--dirty")
		if v == "" || strings.Contains(v, "fatal") {
			v = "dev"
		}
		return "s3up " + v
	case "s3up-header":
		return h.version(ctx, "s3up")
	case "sdkmanager", "sdkmanager-crc32":
		return "aws-sdk-go-v2 feature/s3/manager " + firstLine(ctx, filepath.Join(h.repo, "bench", "sdkmanager"),
			[]string{"GOWORK=off"}, "go", "list", "-m", "-f", "{{.Version}}", "github.com/aws/aws-sdk-go-v2/feature/s3/manager")
	case "rawparts":
		return "aws-sdk-go-v2 service/s3 " + firstLine(ctx, h.repo, nil, "go", "list", "-m", "-f", "{{.Version}}", "github.com/aws/aws-sdk-go-v2/service/s3")
	case "aws":
		return firstLine(ctx, "", nil, p.aws, "--version")
	case "mc", "mcput":
		return firstLine(ctx, "", nil, p.mc, "--version")
	case "rclone":
		return firstLine(ctx, "", nil, p.rclone, "version")
	case "s3cmd":
		return firstLine(ctx, "", nil, p.s3cmd, "--version")
	}
	return ""
}

// settings describes how the compare mode runs tool.
func (h *harness) settings(tool string) string {
	p, c := human(h.opts.part), h.opts.conc
	switch tool {
	case "s3up":
		s := fmt.Sprintf("--part-size %s --concurrency %d", p, c)
		if len(h.opts.s3upArgs) > 0 {
			s += " " + strings.Join(h.opts.s3upArgs, " ")
		}
		return s + " (checksum/payload: s3up defaults)"
	case "s3up-header":
		return h.settings("s3up") + " --trailer-checksum=false: each part's checksum computed in a read before the send, in a header"
	case "sdkmanager":
		return fmt.Sprintf("manager.Uploader defaults, PartSize %s, Concurrency %d, checksums WhenRequired", p, c)
	case "sdkmanager-crc32":
		return fmt.Sprintf("manager.Uploader defaults, PartSize %s, Concurrency %d, the SDK's default checksums (WhenSupported: CRC32 per part, a trailer over HTTPS)", p, c)
	case "rawparts":
		return fmt.Sprintf("%s parts, %d in flight, UNSIGNED-PAYLOAD, no checksum", p, c)
	case "aws":
		return fmt.Sprintf("multipart_chunksize %s, max_concurrent_requests %d", p, c)
	case "mc":
		return "mc cp defaults (no part size or concurrency flags)"
	case "mcput":
		return fmt.Sprintf("mc put --part-size %s --parallel %d", p, c)
	case "rclone":
		return fmt.Sprintf("--s3-chunk-size %s --s3-upload-concurrency %d --s3-upload-cutoff %s", p, c, p)
	case "s3cmd":
		return fmt.Sprintf("multipart_chunk_size_mb %d (sequential: s3cmd has no concurrency)", h.opts.part>>20)
	}
	return ""
}

func (h *harness) s3upPut(part int64, conc int) []string {
	argv := []string{h.binPath("s3up"), "put", "--quiet", "--endpoint", h.srv.endpoint,
		"--part-size", strconv.FormatInt(part, 10), "--concurrency", strconv.Itoa(conc), "--state-dir", h.paths.state}
	return append(argv, h.opts.s3upArgs...)
}

func (h *harness) awsCmd(args ...string) command {
	return command{
		argv: append([]string{h.peers.aws, "s3"}, args...),
		env:  []string{"AWS_CONFIG_FILE=" + filepath.Join(h.paths.work, "aws", "cli-config")},
	}
}

func (h *harness) mcCmd(args ...string) command {
	return command{argv: append([]string{h.peers.mc, "--config-dir", filepath.Join(h.paths.work, "mc")}, args...)}
}

// rcloneCmd: rclone's AWS SDK (v1) refuses AWS_CA_BUNDLE with rclone's own
// transport ("LoadCustomCABundleError"): drop it, pass --ca-cert.
func (h *harness) rcloneCmd(sub string, args ...string) command {
	part := strconv.FormatInt(h.opts.part, 10) + "B"
	argv := []string{h.peers.rclone, sub, "--s3-chunk-size", part, "--s3-upload-concurrency", strconv.Itoa(h.opts.conc)}
	argv = append(argv, args...)
	if h.srv.scheme == "https" {
		argv = append(argv, "--ca-cert", filepath.Join(h.paths.work, "tls", "ca.crt"))
	}
	return command{argv: argv, unset: []string{"AWS_CA_BUNDLE"}}
}

// fileCommand uploads file to key.
func (h *harness) fileCommand(tool, file, key string, part int64, conc int) command {
	dest := "s3://" + bucket + "/" + key
	ps, cs := strconv.FormatInt(part, 10), strconv.Itoa(conc)
	switch tool {
	case "s3up":
		return command{argv: append(h.s3upPut(part, conc), file, dest)}
	case "s3up-header":
		return command{argv: append(h.s3upPut(part, conc), "--trailer-checksum=false", file, dest)}
	case "sdkmanager", "rawparts":
		return command{argv: []string{h.binPath(tool), "-part-size", ps, "-concurrency", cs, file, bucket, key}}
	case "sdkmanager-crc32":
		return command{argv: []string{h.binPath("sdkmanager"), "-part-size", ps, "-concurrency", cs, "-checksums", "supported", file, bucket, key}}
	case "aws":
		return h.awsCmd("cp", "--only-show-errors", "--endpoint-url", h.srv.endpoint, file, dest)
	case "mc":
		return h.mcCmd("cp", "--quiet", "--no-color", file, "bench/"+bucket+"/"+key)
	case "mcput":
		return h.mcCmd("put", "--quiet", "--no-color", "--parallel", cs, "--part-size", human(part), file, "bench/"+bucket+"/"+key)
	case "rclone":
		c := h.rcloneCmd("copyto", "--s3-upload-cutoff", ps+"B")
		c.argv = append(c.argv, file, "bench:"+bucket+"/"+key)
		return c
	case "s3cmd":
		return command{argv: []string{h.peers.s3cmd, "-c", h.s3cmdConfig(), "put", "--no-progress", file, dest}}
	}
	panic("unknown tool " + tool)
}

// streamCommand uploads its standard input to key.
func (h *harness) streamCommand(tool, key string) command {
	switch tool {
	case "s3up":
		return command{argv: append(h.s3upPut(h.opts.part, h.opts.conc), "-", "s3://"+bucket+"/"+key)}
	case "aws":
		return h.awsCmd("cp", "--only-show-errors", "--endpoint-url", h.srv.endpoint, "-", "s3://"+bucket+"/"+key)
	case "mc":
		// mc pipe's defaults are 528 MiB parts, one at a time: it is given
		// the part size and concurrency every other tool gets.
		return h.mcCmd("pipe", "--quiet", "--no-color", "--part-size", human(h.opts.part), "--concurrent", strconv.Itoa(h.opts.conc), "bench/"+bucket+"/"+key)
	case "rclone":
		c := h.rcloneCmd("rcat")
		c.argv = append(c.argv, "bench:"+bucket+"/"+key)
		return c
	}
	panic("no stream command for " + tool)
}

// treeCommand uploads the directory dir under prefix (which ends in /);
// rerun is the second run over an unchanged tree, with the command of the
// tool that skips what is already there.
func (h *harness) treeCommand(tool, dir, prefix string, rerun bool) command {
	dest := "s3://" + bucket + "/" + prefix
	switch tool {
	case "s3up":
		return command{argv: append(h.s3upPut(h.opts.part, h.opts.conc), "--recursive", dir, dest)}
	case "aws":
		verb := []string{"cp", "--recursive"}
		if rerun {
			verb = []string{"sync"}
		}
		return h.awsCmd(append(verb, "--only-show-errors", "--endpoint-url", h.srv.endpoint, dir, dest)...)
	case "mc":
		verb := []string{"cp", "--recursive"}
		if rerun {
			verb = []string{"mirror"}
		}
		return h.mcCmd(append(verb, "--quiet", "--no-color", dir+"/", "bench/"+bucket+"/"+prefix)...)
	case "rclone":
		c := h.rcloneCmd("copy", "--transfers", strconv.Itoa(h.opts.conc))
		c.argv = append(c.argv, dir, "bench:"+bucket+"/"+strings.TrimSuffix(prefix, "/"))
		return c
	}
	panic("no tree command for " + tool)
}

// rerunName says which command the unchanged rerun of tool is.
func rerunName(tool string) string {
	switch tool {
	case "s3up":
		return "same command"
	case "aws":
		return "aws s3 sync"
	case "mc":
		return "mc mirror"
	case "rclone":
		return "rclone copy"
	}
	return tool
}

// display shows a command as the report prints it: programs by name, the
// scratch directory and the endpoint as $WORK and $ENDPOINT.
func (h *harness) display(c command) string {
	argv := slices.Clone(c.argv)
	argv[0] = filepath.Base(argv[0])
	r := strings.NewReplacer(h.paths.work, "$WORK")
	if h.srv != nil {
		r = strings.NewReplacer(h.paths.work, "$WORK", h.srv.endpoint, "$ENDPOINT")
	}
	for i, a := range argv {
		argv[i] = r.Replace(a)
	}
	return strings.Join(argv, " ")
}
