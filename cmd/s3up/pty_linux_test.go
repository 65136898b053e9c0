package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"

	xunix "golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair (Linux: /dev/ptmx) of cols columns.
func openPTY(t *testing.T, cols uint16) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v", err)
	}
	fd := int(master.Fd())
	if err := xunix.IoctlSetPointerInt(fd, xunix.TIOCSPTLCK, 0); err != nil { // unlockpt
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := xunix.IoctlGetInt(fd, xunix.TIOCGPTN) // ptsname
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open /dev/pts/%d: %v", n, err)
	}
	if err := xunix.IoctlSetWinsize(int(slave.Fd()), xunix.TIOCSWINSZ, &xunix.Winsize{Row: 40, Col: cols}); err != nil {
		t.Fatalf("set the window size: %v", err)
	}
	return master, slave
}

// What normalizeTTY removes or replaces, and why: each is inherently
// variable, because the progress bar library takes it from the wall clock
// (the renderers' own clock is the scenario's).
var (
	// The terminal turns "\n" into "\r\n" (onlcr).
	ttyNewline = regexp.MustCompile("\r\n")
	// The bar's average rate, ", 12 MiB/s" (absent when it is 0).
	ttyRate = regexp.MustCompile(`, [0-9.]+ [KMGTPE]?i?B/s`)
	// The bar's elapsed time and ETA, "[2s:5s]", or a spinner's "[2s]".
	ttyTimes = regexp.MustCompile(`\[[0-9a-zµ.]+(:[0-9a-zµ.]+)?\]`)
)

// normalizeTTY makes what a terminal received comparable. The clock's
// values above are replaced, and the redraws are shown one per line: the
// bar redraws itself in place after a carriage return and clears itself by
// writing spaces over itself, so a line is cut into frames at each "\r"; a
// frame of spaces only (a clear) is dropped, trailing spaces are trimmed,
// and a frame that repeats the one before is dropped. A frame drawn after
// a carriage return is the bar, marked "\r| ", unless it is a line of
// s3up's ("s3up: ...", printed where the bar was cleared).
func normalizeTTY(raw string) string {
	s := ttyNewline.ReplaceAllString(raw, "\n")
	s = ttyRate.ReplaceAllString(s, "")
	s = ttyTimes.ReplaceAllString(s, "[TIME]")
	var out []string
	last := ""
	for _, line := range strings.Split(s, "\n") {
		frames := strings.Split(line, "\r")
		for i, f := range frames {
			f = strings.TrimRight(f, " ")
			if f == "" {
				continue
			}
			if i > 0 && !strings.HasPrefix(f, "s3up:") {
				f = "\\r| " + f
			}
			if f == last {
				continue
			}
			out = append(out, f)
			last = f
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// TestGoldenTTY: on a terminal, the bar, drawn through a real
// pseudo-terminal (so output sees a terminal, as s3up does), and the lines
// that interrupt it.
func TestGoldenTTY(t *testing.T) {
	want := map[string]bool{"put-fresh": true, "put-resume": true, "put-stream": true, "put-changed-source": true, "tree": true}
	for _, sc := range scenarios() {
		if !want[sc.name] {
			continue
		}
		t.Run(sc.name, func(t *testing.T) {
			master, slave := openPTY(t, 120)
			defer master.Close()
			var got bytes.Buffer
			read := make(chan struct{})
			go func() {
				defer close(read)
				io.Copy(&got, master) // until the slave is closed: EIO
			}()
			var stdout bytes.Buffer
			o := newOutputTo(&stdout, slave, false, false)
			if !o.tty {
				t.Fatal("output does not see the pseudo-terminal as a terminal")
			}
			o.barThrottle = 0 // every update redraws: the frames do not depend on timing
			replay(o, sc)
			slave.Close()
			<-read
			checkGolden(t, sc.name+".tty.golden", streams(normalizeTTY(got.String()), stdout.String()))
		})
	}
}
