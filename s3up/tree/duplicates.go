package tree

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
)

// maxTopNames bounds the top-level names Duplicates holds to find those
// several roots share; past it, it checks the whole trees.
const maxTopNames = 100_000

// Duplicates reports the first two files of the roots that would have the
// same key (a *DuplicateError), before anything is uploaded: the check a
// run must make first, since Files finds a duplicate only when it reaches
// it. Only one root, or roots whose top-level names differ, cannot give
// duplicates, and cost one read of each top directory; otherwise only the
// subtrees under the names several roots share are walked (all of them,
// past 100,000 top-level names), with o's filter, as the run will. It
// returns nil also when a root cannot be read: the run reports that.
func Duplicates(ctx context.Context, roots []string, o Options) error {
	if len(roots) < 2 {
		return nil
	}
	seen := map[string]int{}
	for i, root := range roots {
		names, ok := topNames(root)
		if !ok || len(seen)+len(names) > maxTopNames {
			seen = nil
			break
		}
		for _, n := range names {
			if _, dup := seen[n]; !dup {
				seen[n] = i
			} else if seen[n] != i {
				seen[n] = -1 // in two roots
			}
		}
	}
	var only map[string]bool
	if seen != nil {
		only = map[string]bool{}
		for n, i := range seen {
			if i == -1 {
				only[n] = true
			}
		}
		if len(only) == 0 {
			return nil
		}
	}
	for _, err := range files(ctx, roots, o, Visitor{}, only) {
		var dup *DuplicateError
		switch {
		case err == nil:
		case errors.As(err, &dup) || ctx.Err() != nil:
			return err
		default:
			return nil // a root's own error (ErrRoot): the run reports it
		}
	}
	return nil
}

// topNames is the names a root gives its top-level files and directories.
func topNames(root string) ([]string, bool) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, false
	}
	if !fi.IsDir() {
		return []string{path.Base(filepath.ToSlash(filepath.Clean(root)))}, true
	}
	d, err := os.Open(root)
	if err != nil {
		return nil, false
	}
	defer d.Close()
	names, err := d.Readdirnames(maxTopNames + 1)
	return names, err == nil && len(names) <= maxTopNames
}
