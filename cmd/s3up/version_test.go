package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildVersion(t *testing.T) {
	const rev = "ee44c2ab8c89fa8e8900b45d281fbee29f436931"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-12-01T08:03:36Z"}, {Key: "vcs.modified", Value: modified}}
	}
	bi := func(version string, settings []debug.BuildSetting) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/s3up/s3up", Version: version}, Settings: settings}
	}
	for _, tc := range []struct {
		name                        string
		ldVersion, ldCommit, ldDate string
		bi                          *debug.BuildInfo
		want                        versionInfo
	}{
		{"release ldflags win", "1.2.0", rev, "2026-12-02T00:00:00Z", bi("(devel)", nil),
			versionInfo{Version: "1.2.0", Commit: rev, Date: "2026-12-02T00:00:00Z"}},
		{"release ldflags beat a vcs stamp", "1.2.0", rev, "2026-12-02T00:00:00Z", bi("v0.0.0-20261201080336-ee44c2ab8c89+dirty", vcs("true")),
			versionInfo{Version: "1.2.0", Commit: rev, Date: "2026-12-02T00:00:00Z"}},
		{"go install @tag from the proxy", "dev", "", "", bi("v1.2.0", nil),
			versionInfo{Version: "v1.2.0"}},
		{"go install @commit from the proxy", "dev", "", "", bi("v0.0.0-20261201080336-ee44c2ab8c89", nil),
			versionInfo{Version: "v0.0.0-20261201080336-ee44c2ab8c89", Commit: "ee44c2ab8c89", Date: "2026-12-01T08:03:36Z"}},
		{"go install @commit after a tag", "dev", "", "", bi("v1.2.1-0.20261201080336-ee44c2ab8c89", nil),
			versionInfo{Version: "v1.2.1-0.20261201080336-ee44c2ab8c89", Commit: "ee44c2ab8c89", Date: "2026-12-01T08:03:36Z"}},
		{"go build in a clean clone", "dev", "", "", bi("v0.0.0-20261201080336-ee44c2ab8c89", vcs("false")),
			versionInfo{Version: "v0.0.0-20261201080336-ee44c2ab8c89", Commit: rev, Date: "2026-12-01T08:03:36Z"}},
		{"go build with uncommitted changes", "dev", "", "", bi("v0.0.0-20261201080336-ee44c2ab8c89+dirty", vcs("true")),
			versionInfo{Version: "v0.0.0-20261201080336-ee44c2ab8c89+dirty", Commit: rev, Date: "2026-12-01T08:03:36Z", Modified: true}},
		{"go build -buildvcs=false", "dev", "", "", bi("(devel)", nil),
			versionInfo{Version: "dev"}},
		{"no build info", "dev", "", "", nil,
			versionInfo{Version: "dev"}},
	} {
		got := buildVersion(tc.ldVersion, tc.ldCommit, tc.ldDate, tc.bi)
		got.Go = ""
		if got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}

func TestVersionOutput(t *testing.T) {
	var b bytes.Buffer
	v := versionInfo{Version: "v0.0.0-20261201080336-ee44c2ab8c89", Commit: "ee44c2ab8c89", Modified: true, Go: "go1.26.8 linux/amd64"}
	if err := v.write(&b); err != nil {
		t.Fatal(err)
	}
	want := "s3up v0.0.0-20261201080336-ee44c2ab8c89+dirty\ncommit: ee44c2ab8c89 (with uncommitted changes)\nbuilt:  unknown\ngo:     go1.26.8 linux/amd64\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestVersionCommandAndFlag(t *testing.T) {
	var outputs []string
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		code, stdout, stderr := runArgs(t, args...)
		if code != 0 || stderr != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, code, stderr)
		}
		if !strings.HasPrefix(stdout, "s3up ") || !strings.Contains(stdout, "\ncommit: ") || !strings.Contains(stdout, "\nbuilt:  ") {
			t.Errorf("%v: %q", args, stdout)
		}
		outputs = append(outputs, stdout)
	}
	if outputs[0] != outputs[1] || outputs[1] != outputs[2] {
		t.Errorf("version and --version differ: %q", outputs)
	}
	if code, _, stderr := runArgs(t, "version", "extra"); code != exitUsage || !strings.HasPrefix(stderr, "s3up: error: ") {
		t.Errorf("version extra: exit %d, stderr %q", code, stderr)
	}
}

// TestVersionLdflags builds s3up with the -X flags .goreleaser.yaml uses, so
// renaming the variables the release sets cannot go unnoticed. (No
// -trimpath: it would rebuild every dependency instead of using the build
// cache.)
func TestVersionLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "s3up")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	build := exec.Command("go", "build", "-o", bin,
		"-ldflags", "-X main.version=9.8.7 -X main.commit="+rev+" -X main.date=2026-12-01T00:00:00Z", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("s3up --version: %v\n%s", err, out)
	}
	want := "s3up 9.8.7\ncommit: " + rev + "\nbuilt:  2026-12-01T00:00:00Z\n"
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("got\n%s\nwant prefix\n%s", out, want)
	}
}
