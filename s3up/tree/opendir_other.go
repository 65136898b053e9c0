//go:build !unix

package tree

// oDirectory: no such flag here, and no FIFOs in the file system (Windows)
// to take a directory's place.
const oDirectory = 0
