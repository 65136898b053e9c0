package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/s3up/s3up/bench/internal/benchs3"
)

func (h *harness) runCompare(ctx context.Context) error {
	o := h.opts
	tools := h.toolsFor("compare", nil)
	if len(tools) == 0 {
		return fatalf("no tool to run")
	}
	if err := h.needDisk(o.size*2+512<<20, fmt.Sprintf("--size %s (file + object)", human(o.size))); err != nil {
		return err
	}
	file, err := h.dataFile(o.size)
	if err != nil {
		return err
	}
	warm(file)
	for _, tls := range o.schemes {
		if err := h.startServer(ctx, tls); err != nil {
			return err
		}
		for round := 1; round <= o.rounds; round++ {
			note("compare %s round %d/%d", tls, round, o.rounds)
			for _, t := range roundOrder(tools, round) {
				key := "obj-" + t
				h.reset(ctx, key)
				h.measure(ctx, runSpec{mode: "compare", tool: t, round: round, cmd: h.fileCommand(t, file, key, o.part, o.conc),
					size: o.size, part: o.part, conc: o.conc, check: h.objectCheck(key, o.size, "")})
				h.reset(ctx, key)
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
		}
		h.stopServer()
		runs := where(h.results.runs, "compare", tls)
		h.say(fmt.Sprintf("### Upload of %s, %s", human(o.size), describeTLS(tls)), "")
		h.sayBlock(compareTable(runs, o.tools, o.size))
		if c := ceilingLine(runs, tls, o.size); c != "" {
			h.say(c, "")
		}
		h.sayBlock(failureNotes(runs))
	}
	h.say("Medians over the rounds. MB/s = 10^6 bytes/s. CPU and peak RSS are the client process's (its rusage),",
		"with its children; server CPU is MinIO's during the run. \"read MiB\" is the client's rchar",
		"(bytes returned by read(2), from the page cache or the disk, plus a few MiB of interpreter",
		"start-up for Python tools). Ratios > 1 mean the peer is slower or costlier than s3up.", "")
	return nil
}

// reset leaves no object, no incomplete upload and no s3up state for key.
func (h *harness) reset(ctx context.Context, key string) {
	if err := benchs3.Remove(ctx, h.s3, bucket, key); err != nil && ctx.Err() == nil {
		note("could not delete %s: %v", key, err)
	}
	os.RemoveAll(h.paths.state)
	h.emptyTrash()
}

// emptyTrash removes what MinIO keeps of deleted objects until its
// background cleaner runs (.minio.sys/tmp/.trash): a 1 GiB x 9 tools x 5
// rounds comparison otherwise leaves some 40 GiB there, and a long run fills
// the disk. The directory itself stays; MinIO renames into it.
func (h *harness) emptyTrash() {
	if h.srv == nil {
		return
	}
	trash := filepath.Join(h.srv.dataDir, ".minio.sys", "tmp", ".trash")
	entries, _ := os.ReadDir(trash)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(trash, e.Name()))
	}
}

// objectCheck makes a run's check: key holds size bytes and, when digest
// is set, bytes of that SHA-256 (hex). It records the object's part count.
func (h *harness) objectCheck(key string, size int64, digest string) func(context.Context, *result) error {
	return func(ctx context.Context, r *result) error {
		got, etag, err := benchs3.Stat(ctx, h.s3, bucket, key)
		if err != nil {
			return fmt.Errorf("no object after the upload: %v", err)
		}
		r.objectParts = etagParts(etag)
		if got != size {
			return fmt.Errorf("object size %d, expected %d", got, size)
		}
		if digest == "" {
			return nil
		}
		sum, _, err := benchs3.SHA256(ctx, h.s3, bucket, key)
		if err != nil {
			return fmt.Errorf("reading the object back: %v", err)
		}
		if hex.EncodeToString(sum[:]) != digest {
			return fmt.Errorf("object SHA-256 %x, the stream's is %s", sum, digest)
		}
		return nil
	}
}

var multipartETag = regexp.MustCompile(`-([0-9]+)"?$`)

// etagParts is the part count a multipart ETag ends with (-N), 1 for any
// other ETag, - for none.
func etagParts(etag string) string {
	if m := multipartETag.FindStringSubmatch(etag); m != nil {
		return m[1]
	}
	if etag != "" {
		return "1"
	}
	return "-"
}
