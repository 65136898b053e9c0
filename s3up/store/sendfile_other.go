//go:build !linux

package store

import (
	"errors"
	"syscall"
)

func sendFile(dst, src syscall.Conn, off, n int64) (int64, error) { return 0, errors.ErrUnsupported }
