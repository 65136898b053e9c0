package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/urfave/cli/v2"

	"github.com/s3up/s3up/s3up"
	"github.com/s3up/s3up/s3up/checkin"
)

// metricsFile is the Prometheus textfile a put writes with --metrics-file,
// for node_exporter's textfile collector: what the last run did, and when
// the destination was last uploaded successfully, which is what backup
// operators alert on ("the backup last succeeded 30 hours ago").
//
// Every metric carries destination="s3://BUCKET/KEY-or-PREFIX", so several
// jobs can write files into one collector directory. The file is replaced
// atomically (a temporary file renamed over it), so the collector never
// reads half of it.
type metricsFile struct {
	path, dest string
	start      time.Time

	files, bytes map[string]float64 // by result: uploaded, unchanged, failed
	sent         float64
	deleted      float64
	// window is how far a run stopped at its window got; errLine the last
	// failure's line (for the check-in).
	window  *s3up.WindowError
	errLine string
}

// Metric names (README "Monitoring").
const (
	metricStart       = "s3up_last_run_start_timestamp_seconds"
	metricEnd         = "s3up_last_run_end_timestamp_seconds"
	metricDuration    = "s3up_last_run_duration_seconds"
	metricExit        = "s3up_last_run_exit_code"
	metricSuccess     = "s3up_last_run_success"
	metricLastSuccess = "s3up_last_success_timestamp_seconds"
	metricFiles       = "s3up_last_run_files"
	metricBytes       = "s3up_last_run_bytes"
	metricSent        = "s3up_last_run_sent_bytes"
	metricDeleted     = "s3up_last_run_deleted_objects"
	metricProgress    = "s3up_last_run_progress_ratio"
	metricLastProgr   = "s3up_last_progress_timestamp_seconds"
)

func newMetricsFile(path, dest string) *metricsFile {
	return &metricsFile{path: path, dest: dest, start: time.Now(),
		files: map[string]float64{"uploaded": 0, "unchanged": 0, "failed": 0},
		bytes: map[string]float64{"uploaded": 0, "unchanged": 0, "failed": 0}}
}

// file counts one file's or stream's upload.
func (m *metricsFile) file(res *s3up.Result, err error) {
	if m == nil {
		return
	}
	switch {
	case windowOf(err) != nil:
		m.stopped(err)
	case err != nil:
		m.files["failed"]++
		m.errLine = message(err)
	case res != nil:
		m.files["uploaded"]++
		m.bytes["uploaded"] += float64(res.Size)
		m.sent += float64(res.BytesSent)
	}
}

// stopped records how far a run stopped at its window got.
func (m *metricsFile) stopped(err error) {
	we := windowOf(err)
	if m == nil || we == nil {
		return
	}
	m.window = we
	if we.FilesTotal == 0 { // a file's or stream's: a tree counts its own
		m.sent += float64(we.BytesSent)
	}
}

// tree counts a tree run that ended with err.
func (m *metricsFile) tree(res *s3up.TreeResult, err error) {
	if m == nil {
		return
	}
	switch {
	case windowOf(err) != nil:
		m.stopped(err)
	case err != nil:
		m.errLine = message(err)
	}
	if res == nil {
		return
	}
	m.files["uploaded"] += float64(res.Uploaded)
	m.files["unchanged"] += float64(res.Unchanged)
	m.files["failed"] += float64(res.Failed)
	m.bytes["uploaded"] += float64(res.BytesUploaded)
	m.bytes["unchanged"] += float64(res.BytesUnchanged)
	m.bytes["failed"] += float64(res.BytesFailed)
	m.sent += float64(res.BytesSent)
	m.deleted += float64(res.Deleted)
}

// write writes the file for a run that ended with exit code code. The last
// success is now when code is 0, else what the previous file said.
func (m *metricsFile) write(code int) error {
	if m == nil || m.path == "" {
		return nil
	}
	end := time.Now()
	labels := prometheus.Labels{"destination": m.dest}
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels})
		g.Set(v)
		reg.MustRegister(g)
	}
	byResult := func(name, help string, vals map[string]float64) {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, []string{"result"})
		for r, v := range vals {
			g.WithLabelValues(r).Set(v)
		}
		reg.MustRegister(g)
	}
	gauge(metricStart, "When the last s3up put run started (Unix time).", unix(m.start))
	gauge(metricEnd, "When the last s3up put run ended (Unix time).", unix(end))
	gauge(metricDuration, "How long the last s3up put run took.", end.Sub(m.start).Seconds())
	gauge(metricExit, "The exit code of the last s3up put run (0 done, 1 failed but resumable, 2 bad input, 3 needs action, 4 some files failed, 5 stopped at its window, 6 a stream ended badly, 130/143 interrupted).", float64(code))
	success := 0.0
	last, known := previousSuccess(m.path, m.dest)
	if code == exitOK {
		success, last, known = 1, unix(end), true
	}
	gauge(metricSuccess, "1 if the last s3up put run succeeded, else 0.", success)
	if known {
		gauge(metricLastSuccess, "When an s3up put run to this destination last succeeded (Unix time).", last)
	}
	switch r, ok := m.progressRatio(code); {
	case ok:
		gauge(metricProgress, "Of the last run's upload, bytes on the server / total (1 when done; a window stop tells how far it got).", r)
	}
	lastProgress, progressKnown := previousGauge(m.path, m.dest, metricLastProgr)
	if m.progressed(code) {
		lastProgress, progressKnown = unix(end), true
	}
	if progressKnown {
		gauge(metricLastProgr, "When a run to this destination last moved its upload forward, done or stopped at its window (Unix time): alert on no progress for a day for multi-night uploads.", lastProgress)
	}
	byResult(metricFiles, "Files of the last run, by result: uploaded, unchanged (skipped), failed.", m.files)
	byResult(metricBytes, "Bytes of the files of the last run, by result: uploaded, unchanged (skipped), failed.", m.bytes)
	gauge(metricSent, "Bytes the last run sent (less than uploaded when uploads resumed).", m.sent)
	gauge(metricDeleted, "Objects the last run deleted (--delete).", m.deleted)
	return prometheus.WriteToTextfile(m.path, reg)
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// progressRatio is the run's bytes on the server / total: 1 when done,
// the window stop's when it knows the total.
func (m *metricsFile) progressRatio(code int) (float64, bool) {
	switch {
	case code == exitOK:
		return 1, true
	case code == exitWindow && m.window != nil:
		return m.window.Ratio()
	}
	return 0, false
}

// progressed says whether the run moved its upload forward: it is done, or
// it stopped at its window having sent or stored something.
func (m *metricsFile) progressed(code int) bool {
	return code == exitOK || code == exitWindow && (m.sent > 0 || m.files["uploaded"] > 0)
}

// summary is the run's check-in summary.
func (m *metricsFile) summary(code int, err error) checkin.Summary {
	s := checkin.Summary{ExitCode: code, Outcome: outcomeText(code), Progressed: m.progressed(code),
		BytesSent: int64(m.sent), Files: int(m.files["uploaded"] + m.files["unchanged"]), FilesFail: int(m.files["failed"]),
		Duration: time.Since(m.start).Round(time.Second), Error: m.errLine}
	if we := m.window; we != nil && code == exitWindow {
		s.BytesDone, s.BytesTotal = we.BytesDone, we.BytesTotal
		s.Details = append(s.Details, windowMessage(we))
	}
	if s.Error == "" && err != nil && code != exitOK && code != exitWindow {
		var ce cli.ExitCoder
		if !errors.As(err, &ce) || ce.Error() != "" {
			s.Error = message(err)
		}
	}
	return s
}

// previousSuccess reads the last success of dest from the metrics file a
// previous run wrote.
func previousSuccess(path, dest string) (float64, bool) {
	return previousGauge(path, dest, metricLastSuccess)
}

// previousGauge reads the gauge name of dest from the metrics file a
// previous run wrote.
func previousGauge(path, dest, name string) (float64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		return 0, false
	}
	fam, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, mt := range fam.GetMetric() {
		for _, l := range mt.GetLabel() {
			if l.GetName() == "destination" && l.GetValue() == dest && mt.GetGauge() != nil {
				return mt.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

// checkMetricsPath refuses a metrics file that cannot be written, before
// anything is sent.
func checkMetricsPath(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usagef("--metrics-file %s is a directory; give a file name (e.g. %s/s3up.prom)", path, path)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usagef("--metrics-file %s: directory %s does not exist", path, dir)
	case err != nil:
		return usagef("--metrics-file %s: %v", path, err)
	case !fi.IsDir():
		return usagef("--metrics-file %s: %s is not a directory", path, dir)
	}
	f, err := os.CreateTemp(dir, ".s3up-metrics-check-*")
	if err != nil {
		return usagef("--metrics-file %s: cannot write in %s: %v", path, dir, unwrapPathErr(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// writeMetrics writes the metrics file, if any, for the run's exit code,
// and says so when it cannot.
func writeMetrics(o *output, m *metricsFile, code int) {
	if err := m.write(code); err != nil {
		o.warn(fmt.Sprintf("could not write the metrics file %s: %v", m.path, err))
	}
}
