package main

import (
	"os"
	"testing"
)

// TestMain keeps the tests away from the user's own resume state.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "s3up-cmd-test-state-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_STATE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
