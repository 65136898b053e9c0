package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func (h *harness) runMemory(ctx context.Context) error {
	o := h.opts
	var total, biggest int64
	for _, s := range o.memSizes {
		if _, err := os.Stat(filepath.Join(h.paths.work, fmt.Sprintf("data-%d.bin", s))); err != nil {
			total += s
		}
		biggest = max(biggest, s)
	}
	var sizes []string
	for _, s := range o.memSizes {
		sizes = append(sizes, human(s))
	}
	if err := h.needDisk(total+biggest+1<<30, fmt.Sprintf("--memory with sizes %s (files + one object + 1 GiB)", strings.Join(sizes, ","))); err != nil {
		return err
	}
	for _, s := range o.memSizes {
		if _, err := h.dataFile(s); err != nil {
			return err
		}
	}
	for _, tls := range o.schemes {
		if err := h.startServer(ctx, tls); err != nil {
			return err
		}
		for _, size := range o.memSizes {
			file, err := h.dataFile(size)
			if err != nil {
				return err
			}
			for _, part := range o.memParts {
				note("memory %s: s3up, %s file, %s parts", tls, human(size), human(part))
				key := fmt.Sprintf("mem-%d-%d", size, part)
				h.reset(ctx, key)
				h.measure(ctx, runSpec{mode: "memory", tool: "s3up", round: 1, tag: fmt.Sprintf("memory-%s-%s-%s", tls, human(size), human(part)),
					cmd: h.fileCommand("s3up", file, key, part, o.conc), size: size, part: part, conc: o.conc,
					check: h.objectCheck(key, size, "")})
				h.reset(ctx, key)
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
		}
		h.stopServer()
	}
	runs := where(h.results.runs, "memory", "")
	h.say("### s3up peak memory", "")
	h.sayBlock(memoryTable(runs))
	h.sayBlock(failureNotes(runs))
	h.say("\"parts × concurrency\" is what a client that buffers every part in flight would hold;",
		"s3up streams parts from the file (io.SectionReader), so its RSS should not grow with either.", "")
	return nil
}
