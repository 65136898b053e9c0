//go:build unix

package resume

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestStatSourceRefusesFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Must fail at once: opening a FIFO blocks until a writer appears, which would hang here.
	if _, err := StatSource(fifo); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("FIFO: %v, want an error saying it is not a regular file", err)
	}
}
