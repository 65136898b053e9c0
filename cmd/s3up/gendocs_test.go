package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGendocs(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runArgs(t, "gendocs", dir); code != 0 {
		t.Fatalf("gendocs: exit %d: %s", code, stderr)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	man := read("man/s3up.1")
	if !strings.Contains(man, ".TH s3up 1") {
		t.Errorf("man page has no .TH s3up 1 header:\n%.300s", man)
	}
	for _, want := range []string{"put", "status", "abort", "uploads", "gc", "completion", "version", "--state-dir", "Exit codes", "Examples"} {
		if !strings.Contains(man, want) {
			t.Errorf("man page lacks %q", want)
		}
	}
	if strings.Contains(man, "gendocs") {
		t.Error("the hidden gendocs command is in the man page")
	}
	zr, err := gzip.NewReader(strings.NewReader(read("man/s3up.1.gz")))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || string(unzipped) != man {
		t.Errorf("s3up.1.gz is not s3up.1 (err %v)", err)
	}
	if zr.Header.Name != "" || !zr.Header.ModTime.IsZero() {
		t.Errorf("gzip header carries name %q / time %v", zr.Header.Name, zr.Header.ModTime)
	}
	// The packaged completions are what `s3up completion SHELL` prints.
	for shell, file := range map[string]string{"bash": "completions/s3up.bash", "zsh": "completions/_s3up", "fish": "completions/s3up.fish"} {
		code, stdout, _ := runArgs(t, "completion", shell)
		if code != 0 || stdout != read(file) || stdout == "" {
			t.Errorf("%s: differs from s3up completion %s", file, shell)
		}
	}
	if fish := read("completions/s3up.fish"); !strings.Contains(fish, "-a 'put'") || strings.Contains(fish, "gendocs") {
		t.Errorf("fish completion:\n%s", fish)
	}
	// Same input, same bytes: the release is reproducible.
	again, err := docFiles()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range again {
		if !bytes.Equal(data, []byte(read(name))) {
			t.Errorf("%s differs between two runs", name)
		}
	}
}

func TestGendocsHidden(t *testing.T) {
	_, stdout, _ := runArgs(t, "--help")
	if strings.Contains(stdout, "gendocs") {
		t.Error("gendocs is listed in --help")
	}
	if code, _, _ := runArgs(t, "gendocs"); code != exitUsage {
		t.Errorf("gendocs without DIR: exit %d", code)
	}
}
