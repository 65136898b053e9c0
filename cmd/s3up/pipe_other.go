//go:build !unix

package main

import (
	"os"
	"time"
)

// pollablePipe returns f when it takes a read deadline, nil otherwise.
func pollablePipe(f *os.File) *os.File {
	if f.SetReadDeadline(time.Time{}) == nil {
		return f
	}
	return nil
}
