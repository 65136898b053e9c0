package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/s3up/s3up/s3up"
	"github.com/s3up/s3up/s3up/checksum"
)

// runArgs runs the CLI in-process; only paths that fail before any network
// call are used here.
func runArgs(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"s3up"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestPutFlagParsing(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "f.bin")
	os.WriteFile(src, []byte("x"), 0o644)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "top-secret-value-123")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"put", "--part-size", "3MiB", src, "s3://bucket/k"}, "below the S3 minimum"},
		{[]string{"put", "--part-size", "10GiB", src, "s3://bucket/k"}, "above the S3 maximum"},
		{[]string{"put", "--part-size", "sixteen", src, "s3://bucket/k"}, "not a size"},
		{[]string{"put", "--concurrency", "0", src, "s3://bucket/k"}, "out of range"},
		{[]string{"put", "--checksum", "adler32", src, "s3://bucket/k"}, "unknown checksum"},
		{[]string{"put", "--payload", "maybe", src, "s3://bucket/k"}, "unknown payload"},
		{[]string{"put", "--bwlimit", "-3", src, "s3://bucket/k"}, "not a rate"},
		{[]string{"put", "--metadata", "=v", src, "s3://bucket/k"}, "key=value"},
		{[]string{"put", "--retries", "-1", src, "s3://bucket/k"}, "--retries"},
		{[]string{"put", "--endpoint", "localhost:9000", src, "s3://bucket/k"}, "not an http"},
		{[]string{"put", src, "bucket/k"}, "s3://BUCKET/KEY"},
		{[]string{"put", "s3://bucket/x", "s3://bucket/k"}, "local files"},
		{[]string{"put", src}, "needs SOURCE"},
		{[]string{"put", "--nope", src, "s3://bucket/k"}, "nope"},
		{[]string{"frobnicate"}, "frobnicate"},
		{[]string{"put", dir, "s3://bucket/p/"}, "--recursive"},
		{[]string{"put", "--exclude", "*.tmp", src, "s3://bucket/k"}, "add --recursive"},
		{[]string{"put", "--delete", src, "s3://bucket/k"}, "add --recursive"},
		{[]string{"put", "-r", "--exclude", "a[", dir, "s3://bucket/p/"}, "not a valid glob"},
		{[]string{"put", "-r", "--max-delete", "3", dir, "s3://bucket/p/"}, "--max-delete is for --delete"},
		{[]string{"put", "-r", "--metadata", "MTime=1", dir, "s3://bucket/p/"}, "modification time"},
		{[]string{"put", "-r", filepath.Join(dir, "missing"), "s3://bucket/p/"}, "does not exist"},
		{[]string{"put", "-r", "-", "s3://bucket/p/k"}, "stream"},
		{[]string{"put", "-r", "--metrics-file", filepath.Join(dir, "no", "such", "dir", "m.prom"), dir, "s3://bucket/p/"}, "does not exist"},
		{[]string{"put", "--metrics-file", dir, src, "s3://bucket/k"}, "is a directory"},
	} {
		code, stdout, stderr := runArgs(t, tc.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tc.args, code, exitUsage, stderr)
			continue
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "s3up: error: ") || !strings.Contains(lines[0], tc.want) {
			t.Errorf("%v: stderr %q, want one error line containing %q", tc.args, stderr, tc.want)
		}
		if strings.Contains(stdout+stderr, "top-secret-value-123") {
			t.Errorf("%v: the secret key was printed", tc.args)
		}
	}
}

func TestParsePutOptions(t *testing.T) {
	// Parse a full command line through the real app, stopping in the
	// action before any network call by pointing at a missing source.
	var got *putArgs
	app := newApp(&bytes.Buffer{}, &bytes.Buffer{})
	for _, c := range app.Commands {
		if c.Name == "put" {
			c.Action = func(c *cli.Context) error {
				var err error
				got, err = parsePut(c, &ruleList{})
				return err
			}
		}
	}
	err := app.RunContext(context.Background(), []string{"s3up", "put", "--part-size", "64MB", "-c", "8",
		"--checksum", "SHA256", "--bwlimit", "20MiB/s", "--metadata", "a=1", "--metadata", "b=x=y",
		"--fresh", "--verify=false", "a.tar", "b.tar", "s3://bkt/prefix/"})
	if err != nil {
		t.Fatal(err)
	}
	o := got.opts
	if o.PartSize != 64_000_000 || !o.PartSizeExplicit || o.Concurrency != 8 || o.Checksum != checksum.SHA256 ||
		o.BandwidthLimit != 20<<20 || !o.Fresh || o.Verify != s3up.VerifyOff || o.Object.Metadata["a"] != "1" || o.Object.Metadata["b"] != "x=y" {
		t.Fatalf("options %+v", o)
	}
	if len(got.sources) != 2 || got.bucket != "bkt" || got.key != "prefix/" {
		t.Fatalf("args %+v", got)
	}
	if k := s3up.ObjectKey(got.key, got.sources[1]); k != "prefix/b.tar" {
		t.Fatalf("key %s", k)
	}
}

func TestParseSizesAndRates(t *testing.T) {
	for in, want := range map[string]int64{"16MiB": 16 << 20, "64MB": 64e6, "5242880": 5 << 20, "1GiB": 1 << 30, " 8MiB ": 8 << 20} {
		if got, err := parseSize("part-size", in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]int64{"20MiB/s": 20 << 20, "500KB/s": 500e3, "1MiB": 1 << 20} {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("parseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "0/s", "fast", "-1MiB/s"} {
		if _, err := parseRate(in); err == nil {
			t.Errorf("parseRate(%q) accepted", in)
		}
	}
}

// TestFlagsBeforeCommand: a connection flag typed before the command
// (s3up --endpoint URL put ...) is the command's; an unknown one is a usage
// error that names the command's help, never "s3up s3up --help".
func TestFlagsBeforeCommand(t *testing.T) {
	app := newApp(&bytes.Buffer{}, &bytes.Buffer{})
	for _, tc := range []struct{ in, want string }{
		{"s3up --endpoint http://h:9000 put a s3://b/k", "s3up put --endpoint http://h:9000 a s3://b/k"},
		{"s3up -q --retries=3 status a s3://b/k", "s3up status -q --retries=3 a s3://b/k"},
		{"s3up put --endpoint http://h a s3://b/k", "s3up put --endpoint http://h a s3://b/k"},
		{"s3up --version", "s3up --version"},
		{"s3up --help put", "s3up --help put"},
		{"s3up frobnicate --endpoint x", "s3up frobnicate --endpoint x"},
	} {
		if got := strings.Join(commandFirst(app, strings.Fields(tc.in)), " "); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.in, got, tc.want)
		}
	}
	code, _, stderr := runArgs(t, "--nope", "put", "a", "s3://b/k")
	if code != exitUsage || !strings.Contains(stderr, "see s3up put --help") || strings.Contains(stderr, "s3up s3up") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	code, _, stderr = runArgs(t, "--nope")
	if code != exitUsage || strings.Contains(stderr, "s3up s3up") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}
