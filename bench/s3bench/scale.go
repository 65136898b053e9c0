package main

import (
	"context"
	"fmt"
)

// runScale measures s3up and the raw UploadPart loop as concurrency grows
// at --part-size, and as the part size grows at --concurrency (issue 16).
func (h *harness) runScale(ctx context.Context) error {
	o := h.opts
	tools := h.toolsFor("scale", scaleTools)
	if len(tools) == 0 {
		return fatalf("scale: no tool to run")
	}
	if err := h.needDisk(o.size*2+512<<20, fmt.Sprintf("--scale with --size %s (file + object)", human(o.size))); err != nil {
		return err
	}
	file, err := h.dataFile(o.size)
	if err != nil {
		return err
	}
	warm(file)
	type point struct {
		mode string
		conc int
		part int64
	}
	var points []point
	var concs []int64
	for _, c := range o.scaleConcs {
		points = append(points, point{"scale-concurrency", c, o.part})
		concs = append(concs, int64(c))
	}
	for _, p := range o.scaleParts {
		points = append(points, point{"scale-part", o.conc, p})
	}
	for _, tls := range o.schemes {
		if err := h.startServer(ctx, tls); err != nil {
			return err
		}
		for round := 1; round <= o.rounds; round++ {
			note("scale %s round %d/%d", tls, round, o.rounds)
			for i, pt := range points {
				// Rotated per point too, so that with one round not every
				// point runs s3up first.
				for _, t := range roundOrder(tools, round+i) {
					key := "scale-" + t
					h.reset(ctx, key)
					h.measure(ctx, runSpec{mode: pt.mode, tool: t, round: round,
						tag:  fmt.Sprintf("%s-%s-%s-c%d-%s-%d", pt.mode, tls, t, pt.conc, human(pt.part), round),
						cmd:  h.fileCommand(t, file, key, pt.part, pt.conc),
						size: o.size, part: pt.part, conc: pt.conc, check: h.objectCheck(key, o.size, "")})
					h.reset(ctx, key)
					if ctx.Err() != nil {
						return ctx.Err()
					}
				}
			}
		}
		h.stopServer()
		runs := where(h.results.runs, "scale-concurrency", tls)
		h.say(fmt.Sprintf("### Scaling with concurrency (%s parts, %s file), %s", human(o.part), human(o.size), describeTLS(tls)), "")
		h.sayBlock(scaleTable(runs, "concurrency", concs, o.size))
		h.sayBlock(failureNotes(runs))
		runs = where(h.results.runs, "scale-part", tls)
		h.say(fmt.Sprintf("### Scaling with part size (concurrency %d, %s file), %s", o.conc, human(o.size), describeTLS(tls)), "")
		h.sayBlock(scaleTable(runs, "part", o.scaleParts, o.size))
		h.sayBlock(failureNotes(runs))
	}
	h.say("Medians over the rounds. MiB/s is the file's size ÷ the median wall time; CPU s/GiB is the",
		"median client CPU (user+sys) ÷ the file's size in GiB. s3up runs with its defaults plus the",
		"--s3up-args; the raw loop sends UNSIGNED-PAYLOAD parts with no checksum. A part size at or above",
		"the file's size is one part (for s3up, a single PutObject below its multipart threshold).", "")
	return nil
}
