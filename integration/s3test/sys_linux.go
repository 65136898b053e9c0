//go:build linux

package s3test

import "syscall"

// serverSysProcAttr puts a server in its own process group (so that the whole
// group can be killed) and asks the kernel to SIGKILL it if the test process
// dies without cleaning up (panic on -timeout, SIGKILL, ...).
func serverSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// cliSysProcAttr makes the kernel kill a CLI process if the test process dies.
func cliSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// installSysProcAttr puts an installing go command in its own process group
// (killed whole on timeout) and has the kernel kill it if the test process
// dies.
func installSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
