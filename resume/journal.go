package resume

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// maxSidecarSize bounds what Load reads into memory. A sidecar of 10,000 parts is about 1.5 MB,
// and Load compacts superseded records away, so anything near this size is not ours.
const maxSidecarSize = 64 << 20

// encodeHeader returns line 1 of a sidecar, newline included.
func encodeHeader(h Header) ([]byte, error) {
	b, err := json.Marshal(headerLine{Magic: FormatVersion, Header: h})
	if err != nil {
		return nil, fmt.Errorf("encode sidecar header: %w", err)
	}
	return append(b, '\n'), nil
}

// encodePart returns one journal line, newline included.
func encodePart(p Part) ([]byte, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode part %d: %w", p.Number, err)
	}
	return append(b, '\n'), nil
}

// encodeState returns a whole compacted sidecar: the header, then one record per part in
// ascending part order.
func encodeState(st *State) ([]byte, error) {
	if err := st.Header.validate(); err != nil {
		return nil, err
	}
	buf, err := encodeHeader(st.Header)
	if err != nil {
		return nil, err
	}
	// The write-ahead records first: a part acknowledged is recorded after its pending record.
	for _, recs := range []struct {
		m       map[int32]Part
		pending bool
	}{{st.Pending, true}, {st.Parts, false}} {
		for _, n := range slices.Sorted(maps.Keys(recs.m)) {
			p := recs.m[n]
			if p.Number != n || p.Pending != recs.pending {
				return nil, fmt.Errorf("record %d holds part number %d (pending %t)", n, p.Number, p.Pending)
			}
			if err := p.validate(st.maxPart()); err != nil {
				return nil, err
			}
			line, err := encodePart(p)
			if err != nil {
				return nil, err
			}
			buf = append(buf, line...)
		}
	}
	return buf, nil
}

// parsed is what parseJournal learned about a sidecar's bytes.
type parsed struct {
	state   *State
	intact  int64 // length of the prefix made of whole, valid lines
	records int   // part records in that prefix, superseded ones included
}

// torn reports whether the file ends in bytes that belong to no valid line.
func (p *parsed) torn(fileSize int64) bool { return p.intact != fileSize }

func corrupt(line int, format string, args ...any) error {
	return fmt.Errorf("%w: line %d: %s", ErrCorrupt, line, fmt.Sprintf(format, args...))
}

// parseJournal decodes a whole sidecar. It never panics. The last line is allowed to be torn
// (no trailing newline, or not valid JSON): Append writes each record with a single write and
// syncs it before the next one starts, so a crash can damage the last line only. Any other
// damage is ErrCorrupt, because then the file was changed by something other than s3up.
func parseJournal(data []byte) (*parsed, error) {
	if len(data) == 0 {
		return nil, corrupt(1, "empty file, no header")
	}
	end := bytes.IndexByte(data, '\n')
	if end < 0 {
		return nil, corrupt(1, "truncated header (no end of line)")
	}
	h, err := decodeHeader(data[:end])
	if err != nil {
		return nil, err
	}
	st := &State{Header: h, Parts: make(map[int32]Part), Pending: make(map[int32]Part)}
	res := &parsed{state: st, intact: int64(end + 1)}

	rest := data[end+1:]
	for line := 2; len(rest) > 0; line++ {
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			break // torn last line: the newline is written last, so the record never finished
		}
		last := nl == len(rest)-1
		var p Part
		if err := json.Unmarshal(rest[:nl], &p); err != nil {
			if last {
				break // torn last line, e.g. zero-filled after a crash
			}
			return nil, corrupt(line, "invalid part record: %v", err)
		}
		if err := p.validate(h.maxPart()); err != nil {
			return nil, corrupt(line, "%v", err)
		}
		if p.Pending {
			st.Pending[p.Number] = p
		} else {
			st.Parts[p.Number] = p
		}
		res.records++
		res.intact += int64(nl + 1)
		rest = rest[nl+1:]
	}
	return res, nil
}

// decodeHeader parses line 1. The version is checked before the header is decoded as a Header,
// because a newer format may have changed the very fields this version would choke on.
func decodeHeader(line []byte) (Header, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(line, &fields); err != nil || fields == nil {
		return Header{}, corrupt(1, "not an s3up sidecar header (not a JSON object)")
	}
	magicRaw, ok := fields["s3up_sidecar"]
	if !ok {
		return Header{}, corrupt(1, `not an s3up sidecar header (no "s3up_sidecar" key)`)
	}
	magic, err := strconv.Atoi(string(magicRaw))
	if err != nil {
		return Header{}, corrupt(1, "format version %s is not an integer", magicRaw)
	}
	version := magic
	if raw, ok := fields["version"]; ok {
		if version, err = strconv.Atoi(string(raw)); err != nil {
			return Header{}, corrupt(1, "version %s is not an integer", raw)
		}
	}
	if v := max(magic, version); v > FormatVersion {
		return Header{}, fmt.Errorf("%w: sidecar format version %d, this s3up reads up to version %d",
			ErrFutureVersion, v, FormatVersion)
	}
	if magic < 1 || version != magic {
		return Header{}, corrupt(1, "inconsistent format version (s3up_sidecar %d, version %d)", magic, version)
	}

	var hl headerLine
	if err := json.Unmarshal(line, &hl); err != nil {
		return Header{}, corrupt(1, "invalid header: %v", err)
	}
	hl.Header.Version = version
	if err := hl.Header.validate(); err != nil {
		return Header{}, corrupt(1, "%v", err)
	}
	return hl.Header, nil
}
