package checkin

import (
	"strings"
	"testing"
	"time"
)

func TestSummarySucceeded(t *testing.T) {
	for _, tc := range []struct {
		exit       int
		progressed bool
		want       bool
	}{
		{0, false, true}, {0, true, true},
		{ExitWindow, true, true}, {ExitWindow, false, false},
		{1, true, false}, {3, false, false}, {4, true, false}, {130, true, false},
	} {
		if got := (Summary{ExitCode: tc.exit, Progressed: tc.progressed}).Succeeded(); got != tc.want {
			t.Errorf("exit %d, progressed %v: Succeeded %v", tc.exit, tc.progressed, got)
		}
	}
}

func TestSummaryBody(t *testing.T) {
	s := Summary{
		ExitCode: ExitWindow, Outcome: "stopped at the end of its window; progress is saved; rerun to continue",
		Progressed: true, BytesSent: 40 << 30, BytesDone: 60 << 30, BytesTotal: 160 << 30,
		Files: 3, FilesFail: 1, Duration: 6*time.Hour + 400*time.Millisecond,
		Error: "  tree: 1 file failed\n", Details: []string{"about 3 more windows at this run's rate"},
	}
	want := "s3up: exit 5: stopped at the end of its window; progress is saved; rerun to continue\n" +
		"sent: 40 GiB (42949672960 bytes) in 6h0m0s\n" +
		"progress: 60 GiB of 160 GiB (37.5%)\n" +
		"files: 3 stored, 1 failed\n" +
		"error: tree: 1 file failed\n" +
		"about 3 more windows at this run's rate\n"
	if got := s.Body(); got != want {
		t.Errorf("Body:\n%s\nwant:\n%s", got, want)
	}
	short := Summary{ExitCode: 0, Outcome: "done"}.Body()
	if strings.Contains(short, "progress:") || strings.Contains(short, "files:") || strings.Contains(short, "error:") {
		t.Errorf("a bare summary has empty lines: %q", short)
	}
}

// TestFinish: the last ping goes to URL or URL/fail as the summary says.
func TestFinish(t *testing.T) {
	rec := &recorder{}
	p, _ := New(serve(t, rec)+"/"+uuid, Options{NoRunID: true})
	for _, s := range []Summary{
		{ExitCode: 0, Outcome: "done"},
		{ExitCode: ExitWindow, Progressed: true},
		{ExitCode: ExitWindow},
		{ExitCode: 1, Error: "upload part 3: timeout"},
	} {
		if err := p.Finish(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	got := rec.seen()
	for i, want := range []string{"/" + uuid, "/" + uuid, "/" + uuid + "/fail", "/" + uuid + "/fail"} {
		if got[i].path != want {
			t.Errorf("ping %d to %s, want %s", i, got[i].path, want)
		}
	}
	if !strings.Contains(got[3].body, "error: upload part 3: timeout") {
		t.Errorf("the failure's body: %q", got[3].body)
	}
}
