package main

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestOptionsDefaults(t *testing.T) {
	o, err := parseOptions(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !o.compare || o.resume || o.memory || o.stream || o.tree || o.scale {
		t.Errorf("no mode given must mean --compare alone: %+v", o)
	}
	if o.size != 1<<30 || o.rounds != 5 || o.part != 16<<20 || o.conc != 8 || !slices.Equal(o.schemes, []string{"http", "https"}) {
		t.Errorf("defaults: %+v", o)
	}
	if o.streamSize != 4<<30 || !o.verifyHash || o.treeFiles != 1500 || o.treeFile != 16<<10 || o.treeBig != 0 {
		t.Errorf("stream and tree defaults: %+v", o)
	}
	if !slices.Equal(o.scaleConcs, []int{1, 4, 8, 16}) || !slices.Equal(o.scaleParts, []int64{8 << 20, 16 << 20, 64 << 20, 128 << 20}) {
		t.Errorf("scale defaults: %v %v", o.scaleConcs, o.scaleParts)
	}
	if !slices.Equal(o.tools, []string{"s3up", "s3up-header", "sdkmanager", "sdkmanager-crc32", "rawparts", "aws", "mc", "rclone", "s3cmd"}) {
		t.Errorf("tools: %v", o.tools)
	}
}

func TestOptionsDocumentedInvocations(t *testing.T) {
	// The command lines bench/README.md and README.md show.
	for _, line := range []string{
		"--install-peers --size 64MiB --rounds 1",
		"--size 1GiB --rounds 5 --out bench-results.md",
		"--size 1GiB --rounds 5 --compare --resume --memory",
		"--resume --size 1GiB --rounds 5",
		"--memory",
		"--size 64MiB --rounds 1 --compare --resume --memory --memory-sizes 64MiB --memory-parts 8MiB,16MiB",
		"--compare --tls https --tools s3up,sdkmanager,rawparts --s3up-args --checksum=none",
		"--rounds 1 --stream --stream-size 256MiB --tree --tree-files 200 --scale --size 64MiB",
		"--tree --tree-big 64MiB --tree-file-size 4KiB --workdir /tmp/x --keep",
		"--scale --scale-concurrency 1,2 --scale-parts 8MiB --tls=http",
	} {
		if _, err := parseOptions(strings.Fields(line), io.Discard); err != nil {
			t.Errorf("%s: %v", line, err)
		}
	}
	o, err := parseOptions([]string{"--s3up-args", "--checksum none --payload unsigned", "--tools", "s3up,mc,s3up"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.s3upArgs, []string{"--checksum", "none", "--payload", "unsigned"}) || !slices.Equal(o.tools, []string{"s3up", "mc"}) {
		t.Errorf("s3up args %q, tools %v", o.s3upArgs, o.tools)
	}
}

func TestOptionsRefused(t *testing.T) {
	for _, line := range []string{
		"--rounds 0", "--concurrency 0", "--size 0", "--size 1.5G", "--part-size 4MiB", "--tls ftp",
		"--tools s3up,ftp", "--memory-parts 1MiB", "--scale-parts 4MiB", "--scale-concurrency 0",
		"--stream-verify md5", "--tree-files 0", "--bogus", "stray",
	} {
		if _, err := parseOptions(strings.Fields(line), io.Discard); err == nil {
			t.Errorf("%s: accepted", line)
		}
	}
	if _, err := parseOptions([]string{"--help"}, io.Discard); !errors.Is(err, errHelp) {
		t.Errorf("--help: %v", err)
	}
}
