//go:build unix && !linux

package s3test

import "syscall"

// serverSysProcAttr puts a server in its own process group so that the whole
// group can be killed.
func serverSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

func cliSysProcAttr() *syscall.SysProcAttr { return nil }

// installSysProcAttr puts an installing go command in its own process group
// (killed whole on timeout).
func installSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
