package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// runStream pipes the same deterministic stream into each tool (issue 12).
func (h *harness) runStream(ctx context.Context) error {
	o := h.opts
	tools := h.toolsFor("stream", streamTools)
	if len(tools) == 0 {
		return fatalf("stream: no tool to run")
	}
	if err := h.needDisk(o.streamSize+512<<20, fmt.Sprintf("--stream with --stream-size %s (the object)", human(o.streamSize))); err != nil {
		return err
	}
	digest := ""
	if o.verifyHash {
		var err error
		if digest, err = h.streamDigest(o.streamSize); err != nil {
			return err
		}
	}
	producer := command{argv: []string{h.binPath("datagen"), "-seed", streamSeed, strconv.FormatInt(o.streamSize, 10)}}
	alone := h.producerAlone(ctx, producer)
	var shown [][2]string
	for _, tls := range o.schemes {
		if err := h.startServer(ctx, tls); err != nil {
			return err
		}
		if shown == nil {
			for _, t := range tools {
				shown = append(shown, [2]string{t, h.display(producer) + " | " + h.display(h.streamCommand(t, "stream-"+t))})
			}
		}
		for round := 1; round <= o.rounds; round++ {
			note("stream %s round %d/%d", tls, round, o.rounds)
			for _, t := range roundOrder(tools, round) {
				key := "stream-" + t
				h.reset(ctx, key)
				h.measure(ctx, runSpec{mode: "stream", tool: t, round: round, cmd: h.streamCommand(t, key), producer: &producer,
					size: o.streamSize, part: o.part, conc: o.conc, check: h.objectCheck(key, o.streamSize, digest)})
				h.reset(ctx, key)
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
		}
		h.stopServer()
		runs := where(h.results.runs, "stream", tls)
		h.say(fmt.Sprintf("### Stream of %s through a pipe, %s", human(o.streamSize), describeTLS(tls)), "")
		h.sayBlock(streamTable(runs, streamTools, o.streamSize))
		if l := bestPeerLine(runs); l != "" {
			h.say(l, "")
		}
		h.sayBlock(failureNotes(runs))
	}
	h.sayBlock(commandsTable(shown))
	check := "the stream's size (HeadObject)"
	if o.verifyHash {
		check = "the stream's size and SHA-256 (read back after the run, not timed)"
	}
	h.say("Every tool reads the same stream from a pipe: bench/datagen writes a seeded AES-CTR",
		"keystream, the same bytes in every run, at the same cost in front of every tool (\"producer",
		"CPU s\", its own rusage, apart from the tool's). Wall time runs from the tool's start to its",
		"exit; MiB/s is the stream's size ÷ the median wall time. Every tool gets the same part size",
		"and concurrency (mc pipe's defaults would be 528 MiB parts, one at a time). Ratios are to the",
		"best peer's medians: below 1, s3up is faster or leaner than every peer.",
		"A run counts only if the object then has "+check+".",
		"The producer "+alone+".", "")
	return nil
}

// producerAlone times the producer into /dev/null, once, to show what the
// pipe's source costs by itself.
func (h *harness) producerAlone(ctx context.Context, p command) string {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return "alone: not measured"
	}
	defer devnull.Close()
	cmd := exec.CommandContext(ctx, p.argv[0], p.argv[1:]...)
	cmd.Stdout, cmd.Stderr = devnull, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return "alone: failed, " + err.Error()
	}
	wall := time.Since(start).Seconds()
	cpu := 0.0
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		cpu = tv(ru.Utime) + tv(ru.Stime)
	}
	size, _ := strconv.ParseFloat(p.argv[len(p.argv)-1], 64)
	return fmt.Sprintf("alone, into /dev/null: %.2f CPU s, %.0f MiB/s", cpu, size/mib/wall)
}
