package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3up/s3up/s3up"
)

func TestMetricsFileKeepsTheLastSuccess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s3up.prom")
	ok := newMetricsFile(path, "s3://b/p/")
	ok.tree(&s3up.TreeResult{Uploaded: 2, BytesUploaded: 30, BytesSent: 30, Unchanged: 5, BytesUnchanged: 500}, nil)
	if err := ok.write(exitOK); err != nil {
		t.Fatal(err)
	}
	first, known := previousSuccess(path, "s3://b/p/")
	if !known || first <= 0 {
		t.Fatalf("no last success after a success: %v", known)
	}
	text, _ := os.ReadFile(path)
	for _, want := range []string{
		`s3up_last_run_exit_code{destination="s3://b/p/"} 0`,
		`s3up_last_run_files{destination="s3://b/p/",result="uploaded"} 2`,
		`s3up_last_run_files{destination="s3://b/p/",result="unchanged"} 5`,
		`s3up_last_run_bytes{destination="s3://b/p/",result="unchanged"} 500`,
		`s3up_last_run_sent_bytes{destination="s3://b/p/"} 30`,
		"# TYPE s3up_last_success_timestamp_seconds gauge",
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("metrics file lacks %q:\n%s", want, text)
		}
	}

	failed := newMetricsFile(path, "s3://b/p/")
	failed.file(nil, os.ErrNotExist)
	if err := failed.write(exitPartial); err != nil {
		t.Fatal(err)
	}
	if again, known := previousSuccess(path, "s3://b/p/"); !known || again != first {
		t.Fatalf("a failed run changed the last success: %v → %v (%v)", first, again, known)
	}
	text, _ = os.ReadFile(path)
	if !strings.Contains(string(text), `s3up_last_run_exit_code{destination="s3://b/p/"} 4`) ||
		!strings.Contains(string(text), `s3up_last_run_success{destination="s3://b/p/"} 0`) {
		t.Errorf("after a failure:\n%s", text)
	}

	// Another destination's file says nothing about this one's success.
	other := newMetricsFile(path, "s3://b/other/")
	if err := other.write(exitFailed); err != nil {
		t.Fatal(err)
	}
	text, _ = os.ReadFile(path)
	if strings.Contains(string(text), "s3up_last_success_timestamp_seconds{") {
		t.Errorf("a last success carried over to another destination:\n%s", text)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

// TestMetricsFileOfAWindowStop: a run stopped at its window records exit
// code 5, how far the upload got, and the time of its progress; a later
// run that makes no progress keeps that time.
func TestMetricsFileOfAWindowStop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s3up.prom")
	m := newMetricsFile(path, "s3://b/k")
	m.file(nil, &s3up.WindowError{Bucket: "b", Key: "k", BytesDone: 300, BytesTotal: 1200, BytesSent: 200})
	if err := m.write(exitWindow); err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(path)
	for _, want := range []string{
		`s3up_last_run_exit_code{destination="s3://b/k"} 5`,
		`s3up_last_run_progress_ratio{destination="s3://b/k"} 0.25`,
		`s3up_last_run_sent_bytes{destination="s3://b/k"} 200`,
		`s3up_last_run_files{destination="s3://b/k",result="failed"} 0`,
		"s3up_last_progress_timestamp_seconds{",
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("metrics file lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(string(text), "s3up_last_success_timestamp_seconds{") {
		t.Errorf("a window stop counted as a success:\n%s", text)
	}
	first, ok := previousGauge(path, "s3://b/k", metricLastProgr)
	if !ok {
		t.Fatal("no last progress")
	}
	idle := newMetricsFile(path, "s3://b/k")
	idle.file(nil, &s3up.WindowError{Bucket: "b", Key: "k", BytesDone: 300, BytesTotal: 1200})
	if err := idle.write(exitWindow); err != nil {
		t.Fatal(err)
	}
	if again, ok := previousGauge(path, "s3://b/k", metricLastProgr); !ok || again != first {
		t.Fatalf("a run without progress moved the last progress: %v -> %v", first, again)
	}
}
