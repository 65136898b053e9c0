package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dustin/go-humanize"

	"github.com/s3up/s3up/bench/internal/benchdata"
	"github.com/s3up/s3up/bench/internal/benchs3"
)

// runTree uploads a tree of small files with each tool, then runs the tool
// again over the unchanged tree (issue 13).
func (h *harness) runTree(ctx context.Context) error {
	o := h.opts
	tools := h.toolsFor("tree", treeTools)
	if len(tools) == 0 {
		return fatalf("tree: no tool to run")
	}
	t := h.tree()
	// Small objects cost the store more than their bytes: 8 KiB each is a
	// generous bound for MinIO's metadata.
	if err := h.needDisk(2*t.Bytes()+int64(t.Objects())*(8<<10)+512<<20, "--tree (the tree and its objects)"); err != nil {
		return err
	}
	dir, err := h.treeDir()
	if err != nil {
		return err
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			warm(p)
		}
		return nil
	})
	var shown, shownRerun [][2]string
	for _, tls := range o.schemes {
		if err := h.startServer(ctx, tls); err != nil {
			return err
		}
		if shown == nil {
			for _, tool := range tools {
				prefix := "tree-" + tool + "/"
				shown = append(shown, [2]string{tool, h.display(h.treeCommand(tool, dir, prefix, false))})
				shownRerun = append(shownRerun, [2]string{tool, h.display(h.treeCommand(tool, dir, prefix, true))})
			}
		}
		for round := 1; round <= o.rounds; round++ {
			note("tree %s round %d/%d", tls, round, o.rounds)
			for _, tool := range roundOrder(tools, round) {
				prefix := "tree-" + tool + "/"
				h.resetPrefix(ctx, prefix)
				check := h.prefixCheck(prefix, t)
				first, _ := h.measure(ctx, runSpec{mode: "tree", tool: tool, round: round, cmd: h.treeCommand(tool, dir, prefix, false),
					size: t.Bytes(), part: o.part, conc: o.conc, check: check})
				if first.ok {
					h.measure(ctx, runSpec{mode: "tree-rerun", tool: tool, round: round, cmd: h.treeCommand(tool, dir, prefix, true),
						size: t.Bytes(), part: o.part, conc: o.conc, check: check})
				} else if ctx.Err() == nil {
					h.results.add(result{mode: "tree-rerun", tls: tls, tool: tool, round: round, size: t.Bytes(), part: o.part,
						conc: o.conc, objectParts: "-", onServer: -1, failure: "not run: the first run failed"})
				}
				h.resetPrefix(ctx, prefix)
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
		}
		h.stopServer()
		runs := where(h.results.runs, "tree", tls)
		desc := fmt.Sprintf("%d files of %s", t.Files, human(t.FileSize))
		if t.Big > 0 {
			desc += " and one of " + human(t.Big)
		}
		h.say(fmt.Sprintf("### Tree of %s (%s), %s", desc, humanize.IBytes(uint64(t.Bytes())), describeTLS(tls)), "")
		h.sayBlock(treeTable(runs, treeTools, t.Objects(), t.Bytes(), false))
		if l := bestPeerLine(runs); l != "" {
			h.say(l, "")
		}
		h.sayBlock(failureNotes(runs))
		reruns := where(h.results.runs, "tree-rerun", tls)
		h.say(fmt.Sprintf("### Tree, unchanged rerun, %s", describeTLS(tls)), "")
		h.sayBlock(treeTable(reruns, treeTools, t.Objects(), t.Bytes(), true))
		if l := bestPeerLine(reruns); l != "" {
			h.say(l, "")
		}
		h.sayBlock(failureNotes(reruns))
	}
	h.say("First runs:", "")
	h.sayBlock(commandsTable(shown))
	h.say("Unchanged reruns (right after the first run, same tree, same prefix):", "")
	h.sayBlock(commandsTable(shownRerun))
	h.say("Each round starts from an empty prefix (objects and incomplete uploads deleted, s3up's state",
		"removed; not timed). A run counts only if the prefix then holds every file, at its path and",
		"with its size, and nothing else. The tree's files are read through the page cache before the",
		"first run. files/s and MiB/s are the tree's file count and size ÷ the median wall time. A rerun",
		"is timed only after a successful first run. Ratios are to the best peer's medians.", "")
	return nil
}

// resetPrefix leaves nothing under prefix and no s3up state.
func (h *harness) resetPrefix(ctx context.Context, prefix string) {
	if err := benchs3.RemovePrefix(ctx, h.s3, bucket, prefix); err != nil && ctx.Err() == nil {
		note("could not empty %s: %v", prefix, err)
	}
	os.RemoveAll(h.paths.state)
	h.emptyTrash()
}

// prefixCheck makes a run's check: prefix holds the tree's objects, as many
// and as many bytes, with the first and last file at their paths.
func (h *harness) prefixCheck(prefix string, t benchdata.Tree) func(context.Context, *result) error {
	return func(ctx context.Context, r *result) error {
		l, err := benchs3.List(ctx, h.s3, bucket, prefix)
		if err != nil {
			return err
		}
		r.objects = l.Objects
		if l.Objects != t.Objects() || l.Bytes != t.Bytes() {
			return fmt.Errorf("%s holds %d objects of %d bytes, expected %d of %d", prefix, l.Objects, l.Bytes, t.Objects(), t.Bytes())
		}
		es := t.Entries()
		for _, e := range []benchdata.Entry{es[0], es[len(es)-1]} {
			size, _, err := benchs3.Stat(ctx, h.s3, bucket, prefix+e.Path)
			if err != nil {
				return fmt.Errorf("%s is not where it belongs: %v", e.Path, err)
			}
			if size != e.Size {
				return fmt.Errorf("%s%s has %d bytes, expected %d", prefix, e.Path, size, e.Size)
			}
		}
		return nil
	}
}
