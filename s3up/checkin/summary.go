package checkin

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dustin/go-humanize"
)

// MaxBody is the most a ping's body carries, in bytes (10 KB), marker
// included.
const MaxBody = 10_000

// truncated ends a body that was cut.
const truncated = "\n[cut to 10 KB by s3up]"

// truncate cuts s to at most max bytes, on a UTF-8 boundary, ending with
// the marker. The head is kept: a summary puts what matters first.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len(truncated)
	if cut < 0 {
		return truncated[:max]
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + truncated
}

// ExitWindow is s3up's exit code for a run stopped at the end of its
// window (DESIGN.md, "Exit codes").
const ExitWindow = 5

// Summary is what a run tells its monitor at the end.
type Summary struct {
	ExitCode int
	// Outcome is the run's one-line result: "done", "stopped at the end
	// of its window; progress is saved; rerun to continue", ...
	Outcome string
	// Progressed says this run moved the upload forward: sent or adopted
	// parts or files. A window stop without progress is a failure to the
	// monitor, since rerunning alone will not help.
	Progressed bool
	BytesSent  int64 // by this run
	BytesDone  int64 // of the whole upload, this run and earlier ones (0: unknown)
	BytesTotal int64 // 0: unknown (a stream of unknown size)
	Files      int   // files stored (trees)
	FilesFail  int   // files that failed (trees)
	Duration   time.Duration
	// Error is the error line, if the run failed.
	Error string
	// Details are more lines, most important first (the body is cut at
	// MaxBody): the estimate of windows still needed, failed files.
	Details []string
}

// Succeeded says whether the last ping is a success: the run is done
// (exit 0), or it stopped at the end of its window having made progress.
func (s Summary) Succeeded() bool {
	return s.ExitCode == 0 || s.ExitCode == ExitWindow && s.Progressed
}

// Body is the summary as the ping's body, a line per fact.
func (s Summary) Body() string {
	var b strings.Builder
	fmt.Fprintf(&b, "s3up: exit %d", s.ExitCode)
	if s.Outcome != "" {
		b.WriteString(": " + s.Outcome)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "sent: %s (%d bytes) in %s\n", humanize.IBytes(uint64(max(s.BytesSent, 0))), s.BytesSent, s.Duration.Round(time.Second))
	if s.BytesTotal > 0 {
		fmt.Fprintf(&b, "progress: %s of %s (%.1f%%)\n", humanize.IBytes(uint64(max(s.BytesDone, 0))), humanize.IBytes(uint64(s.BytesTotal)), 100*float64(s.BytesDone)/float64(s.BytesTotal))
	}
	if s.Files > 0 || s.FilesFail > 0 {
		fmt.Fprintf(&b, "files: %d stored, %d failed\n", s.Files, s.FilesFail)
	}
	if s.Error != "" {
		b.WriteString("error: " + strings.TrimSpace(s.Error) + "\n")
	}
	for _, d := range s.Details {
		b.WriteString(d + "\n")
	}
	return b.String()
}
