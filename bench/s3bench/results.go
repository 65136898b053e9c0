package main

import (
	"fmt"
	"os"
	"strings"
)

// A result is one timed run of one tool.
type result struct {
	mode  string // compare, resume, memory, stream, tree, tree-rerun, scale-concurrency, scale-part
	tls   string // http, https
	tool  string
	round int
	ok    bool

	wall      float64 // seconds
	user, sys float64 // the process's and its reaped children's CPU seconds (wait4)
	maxRSSKiB int64
	rchar     int64 // bytes read(2) returned, from /proc/self/io around the run
	wchar     int64
	serverCPU float64 // MinIO's CPU seconds during the run
	prodCPU   float64 // the stream producer's CPU seconds (stream mode)

	size        int64 // bytes uploaded
	part        int64
	conc        int
	objectParts string // the -N of a multipart ETag, 1 for a single PUT, - if unknown
	objects     int    // objects found after the run (tree mode)
	onServer    int    // parts on the server when the resume started (resume mode), -1 unknown
	note        string
	failure     string // why the run counts as failed
}

func (r result) cpu() float64 { return r.user + r.sys }

const tsvHeader = "mode\ttls\ttool\tround\tok\twall_s\tuser_s\tsys_s\tmaxrss_kib\trchar\twchar\tserver_cpu_s\tsize\tpart\tobject_parts\tnote\tconcurrency\tobjects\tproducer_cpu_s\tfailure\n"

func (r result) tsv() string {
	ok := 0
	if r.ok {
		ok = 1
	}
	clean := func(s string) string { return strings.NewReplacer("\t", " ", "\n", " ").Replace(s) }
	return fmt.Sprintf("%s\t%s\t%s\t%d\t%d\t%.2f\t%.2f\t%.2f\t%d\t%d\t%d\t%.2f\t%d\t%d\t%s\t%s\t%d\t%d\t%.2f\t%s\n",
		r.mode, r.tls, r.tool, r.round, ok, r.wall, r.user, r.sys, r.maxRSSKiB, r.rchar, r.wchar, r.serverCPU,
		r.size, r.part, r.objectParts, clean(r.note), r.conc, r.objects, r.prodCPU, clean(r.failure))
}

// results holds every run, and appends each to the raw TSV as it ends, so
// an interrupted benchmark keeps what it measured.
type results struct {
	runs []result
	tsv  *os.File
}

func newResults(path string) (*results, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteString(tsvHeader); err != nil {
		f.Close()
		return nil, err
	}
	return &results{tsv: f}, nil
}

func (rs *results) add(r result) {
	rs.runs = append(rs.runs, r)
	if _, err := rs.tsv.WriteString(r.tsv()); err != nil {
		note("could not write %s: %v", rs.tsv.Name(), err)
	}
}

func (rs *results) close() error { return rs.tsv.Close() }

// where returns the runs of one mode and transport.
func where(runs []result, mode, tls string) []result {
	var out []result
	for _, r := range runs {
		if r.mode == mode && (tls == "" || r.tls == tls) {
			out = append(out, r)
		}
	}
	return out
}
