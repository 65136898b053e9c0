package integration

import (
	"os"
	"testing"

	"github.com/s3up/s3up/integration/s3test"
)

// TestMain starts the S3 servers the integration tests run against (see
// package s3test for the environment that selects them).
func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }
