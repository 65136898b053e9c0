package main

import (
	"os"
	"testing"
)

// TestMain keeps the tests away from the user's own resume state; with
// S3UP_TEST_RUN_MAIN=1 the test binary is s3up itself (see runMain).
func TestMain(m *testing.M) {
	if os.Getenv("S3UP_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	dir, err := os.MkdirTemp("", "s3up-cmd-test-state-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_STATE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
