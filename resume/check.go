package resume

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// CheckResumable reports whether the upload described by h may be resumed for the current
// source, destination and object options. It returns an error wrapping ErrSourceChanged that
// names every changed property of the source (path, size, mtime, fingerprint), else an error
// wrapping ErrOptionsChanged that names every changed destination field or object option with
// its old and new value, else nil (see Source.Diff). A changed source takes precedence: the engine must then
// start over whatever the options say.
//
// Part size and checksum algorithm are deliberately not compared: on resume the engine keeps
// the ones recorded in h, so a different --part-size or --checksum is not a reason to refuse.
func CheckResumable(h Header, cur Source, dest Destination, objectOptions map[string]string) error {
	changed := h.Source.Diff(cur)
	if len(changed) > 0 {
		return fmt.Errorf("%w: %s", ErrSourceChanged, strings.Join(changed, ", "))
	}

	od := h.Destination
	if od.Endpoint != dest.Endpoint {
		changed = append(changed, fmt.Sprintf("endpoint %q → %q", od.Endpoint, dest.Endpoint))
	}
	if od.Bucket != dest.Bucket {
		changed = append(changed, fmt.Sprintf("bucket %q → %q", od.Bucket, dest.Bucket))
	}
	if od.Key != dest.Key {
		changed = append(changed, fmt.Sprintf("key %q → %q", od.Key, dest.Key))
	}
	keys := slices.Sorted(maps.Keys(h.ObjectOptions))
	for k := range objectOptions {
		if _, ok := h.ObjectOptions[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		ov, oldSet := h.ObjectOptions[k]
		nv, newSet := objectOptions[k]
		if oldSet == newSet && ov == nv {
			continue
		}
		changed = append(changed, fmt.Sprintf("%s %s → %s", k, optionValue(ov, oldSet), optionValue(nv, newSet)))
	}
	if len(changed) > 0 {
		return fmt.Errorf("%w: %s", ErrOptionsChanged, strings.Join(changed, ", "))
	}
	return nil
}

func optionValue(v string, set bool) string {
	if !set {
		return "(unset)"
	}
	return fmt.Sprintf("%q", v)
}

// shortHex keeps error messages readable; 12 hex digits are enough to tell fingerprints apart.
func shortHex(s string) string {
	if s == "" {
		return "(none)"
	}
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
