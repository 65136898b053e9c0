//go:build !windows

package resume

import "os"

// syncDir makes a rename or unlink in dir durable: without it a crash can bring back the old
// directory entry even though the new file's data was synced.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
