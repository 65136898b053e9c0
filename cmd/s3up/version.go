package main

import (
	"fmt"
	"io"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"
)

// Release builds set these with -ldflags "-X main.version=1.2.0
// -X main.commit=<full hash> -X main.date=<RFC 3339>" (see .goreleaser.yaml).
// `go install` and `go build` leave them alone, and buildVersion reads the
// module's build info instead.
var (
	commit = ""
	date   = ""
)

// versionInfo is what `s3up version` and `s3up --version` print.
type versionInfo struct {
	Version  string // 1.2.0, v1.2.0 (go install), a pseudo-version, or "dev"
	Commit   string // full hash, a 12-digit prefix (from a pseudo-version), or ""
	Date     string // commit or build time, RFC 3339, or ""
	Modified bool   // built from a work tree with uncommitted changes
	Go       string // toolchain and platform: go1.26.8 linux/amd64
}

// pseudoVersion matches the time and revision parts of a Go pseudo-version
// (v0.0.0-20261201080336-ee44c2ab8c89, v1.2.4-0.20261201080336-ee44c2ab8c89).
var pseudoVersion = regexp.MustCompile(`[-.](\d{14})-([0-9a-f]{12})(?:\+incompatible)?(?:\+dirty)?$`)

// buildVersion combines the ldflags values with the build info; the ldflags
// win, and the build info fills what they leave empty.
func buildVersion(ldVersion, ldCommit, ldDate string, bi *debug.BuildInfo) versionInfo {
	v := versionInfo{Version: ldVersion, Commit: ldCommit, Date: ldDate,
		Go: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
	if bi == nil {
		return v
	}
	if bi.GoVersion != "" {
		v.Go = bi.GoVersion + " " + runtime.GOOS + "/" + runtime.GOARCH
	}
	fromLdflags := ldVersion != "" && ldVersion != "dev"
	if !fromLdflags && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v.Version = bi.Main.Version // go install ...@v1.2.0, or a VCS-stamped build
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if v.Commit == "" {
		v.Commit = settings["vcs.revision"]
	}
	if v.Date == "" {
		v.Date = settings["vcs.time"]
	}
	if !fromLdflags {
		v.Modified = settings["vcs.modified"] == "true"
	}
	// `go install module@commit` builds from the module proxy's zip, which
	// carries no VCS stamp; the pseudo-version still names the commit.
	if m := pseudoVersion.FindStringSubmatch(bi.Main.Version); m != nil && !fromLdflags {
		if v.Commit == "" {
			v.Commit = m[2]
		}
		if v.Date == "" {
			t := m[1]
			v.Date = t[0:4] + "-" + t[4:6] + "-" + t[6:8] + "T" + t[8:10] + ":" + t[10:12] + ":" + t[12:14] + "Z"
		}
	}
	return v
}

var currentVersion = sync.OnceValue(func() versionInfo {
	bi, _ := debug.ReadBuildInfo()
	return buildVersion(version, commit, date, bi)
})

func (v versionInfo) write(w io.Writer) error {
	ver := v.Version
	if v.Modified && !strings.HasSuffix(ver, "+dirty") {
		ver += "+dirty"
	}
	orUnknown := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	c := orUnknown(v.Commit)
	if v.Modified {
		c += " (with uncommitted changes)"
	}
	_, err := fmt.Fprintf(w, "s3up %s\ncommit: %s\nbuilt:  %s\ngo:     %s\n", ver, c, orUnknown(v.Date), v.Go)
	return err
}

func init() {
	// `s3up --version` prints the same as `s3up version`.
	cli.VersionPrinter = func(c *cli.Context) { _ = currentVersion().write(c.App.Writer) }
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, the commit and the build date",
		Description: `Release builds carry the version, the commit and the date they were built
from; a build with go install or go build reports the module version and
the commit it was built from, where the Go toolchain recorded them.`,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("version takes no arguments")
			}
			return currentVersion().write(c.App.Writer)
		},
	}
}
