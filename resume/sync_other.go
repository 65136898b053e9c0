//go:build !linux

package resume

import "os"

// datasync makes f's data durable. Outside Linux it is a full fsync (F_FULLFSYNC on macOS).
func datasync(f *os.File) error { return f.Sync() }
