package resume

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// testHeader returns a valid header for an upload of partCount parts of 8 MiB.
func testHeader(partCount int32) Header {
	return Header{
		Version:     FormatVersion,
		UploadID:    "upload-1",
		Destination: Destination{Endpoint: "http://127.0.0.1:9000", Bucket: "bucket", Key: "dir/big.bin"},
		Source: Source{
			Path:        "/data/big.bin",
			Size:        int64(partCount) * 8 << 20,
			ModTime:     time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC),
			Fingerprint: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		},
		PartSize:          8 << 20,
		PartCount:         partCount,
		ChecksumAlgorithm: "CRC32C",
		ObjectOptions:     map[string]string{"content-type": "application/octet-stream"},
		CreatedAt:         time.Date(2024, 5, 1, 12, 0, 1, 0, time.UTC),
	}
}

// testPart returns a plausible record for part n.
func testPart(n int32) Part {
	return Part{Number: n, Size: 8 << 20, ETag: `"etag-` + strconv.Itoa(int(n)) + `"`, Checksum: "sum" + strconv.Itoa(int(n))}
}

// sidecarBytes builds a sidecar's content the way Create and Append would.
func sidecarBytes(t testing.TB, h Header, parts ...Part) []byte {
	t.Helper()
	b, err := encodeHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		line, err := encodePart(p)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, line...)
	}
	return b
}

// lockedSidecar returns a locked Sidecar in a fresh directory, closed at the end of the test.
func lockedSidecar(t testing.TB) *Sidecar {
	t.Helper()
	s, err := Lock(filepath.Join(t.TempDir(), ".big.bin.s3up-0123456789ab"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// loadBytes writes data as the sidecar and loads it.
func loadBytes(t testing.TB, s *Sidecar, data []byte) (*State, error) {
	t.Helper()
	if err := os.WriteFile(s.Path(), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return s.Load()
}

// countLines is the number of newline characters in the sidecar.
func countLines(t testing.TB, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}
