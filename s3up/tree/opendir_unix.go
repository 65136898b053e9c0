//go:build unix

package tree

import "syscall"

// oDirectory makes opening anything but a directory fail instead of, for
// a FIFO, waiting for a writer.
const oDirectory = syscall.O_DIRECTORY
