//go:build !linux

package main

import "syscall"

// The harness measures through Linux's /proc; elsewhere it builds, and the
// figures that need /proc read as zero.

func childAttr() *syscall.SysProcAttr { return nil }
