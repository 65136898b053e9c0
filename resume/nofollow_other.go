//go:build !unix

package resume

// oNoFollow: this platform has no O_NOFOLLOW; Lock and Load still refuse a sidecar or lock file
// that Lstat reports as a link.
const oNoFollow = 0
