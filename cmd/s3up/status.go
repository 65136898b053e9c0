package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/urfave/cli/v2"

	"github.com/s3up/s3up/s3up/ops"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "compare the local resume state with the server, part by part",
		ArgsUsage: "SOURCE s3://BUCKET/KEY",
		Description: `Shows how far the upload of SOURCE to s3://BUCKET/KEY got: the upload id, its
age, bytes done, and a map with one cell per part comparing the resume state
(the sidecar) with the parts the server holds. status only reads: it does not
take the lock, so it is safe to run while a put is running.

Without resume state it shows the server's incomplete uploads of that key.
If the state names an upload the server no longer has, it says so: rerunning
put then checks the object, or starts over.

Part map:
  #  sent: on the server and in the state, matching
  +  on the server only: a resume checks it against the local bytes
  x  mismatched: ETag or size differs; a resume re-sends it
  !  missing: the state records it, the server does not hold it
  .  not sent yet
Above 2,000 parts one cell stands for several parts and shows the most
notable state among them (in the order x ! + . #).

Examples:
  s3up status backup.tar s3://backups/2026/backup.tar
  s3up status --state-dir /var/lib/s3up /srv/db.tar s3://backups/nightly/
  s3up status --json big.iso s3://isos/big.iso | jq '.upload.parts[] | select(.state != "sent")'`,
		Flags: append(connFlags(),
			&cli.StringFlag{Name: "state-dir", Usage: "directory holding resume state, as given to put (default: $XDG_STATE_HOME/s3up or ~/.local/state/s3up)"},
			&cli.BoolFlag{Name: "stdin-from-command", Usage: "the upload of a producer's output: s3://BUCKET/KEY -- COMMAND [ARGS...], as given to put"},
		),
		Action: runStatus,
	}
}

func runStatus(c *cli.Context) error {
	src, bucket, key, err := parseSourceDest(c)
	if err != nil {
		return err
	}
	cb, err := newClient(c, 0)
	if err != nil {
		return err
	}
	out := newOutput(c)
	rep, err := ops.Status(out.withRetryLines(c.Context), cb, src, bucket, key, c.String("state-dir"))
	if err != nil {
		return err
	}
	out.emit("status", rep)
	for _, line := range statusLines(rep, time.Now(), c.Args().Get(0), c.Args().Get(1)) {
		out.result("%s", line)
	}
	return nil
}

// statusLines renders a StatusReport for people.
func statusLines(r *ops.StatusReport, now time.Time, srcArg, dstArg string) []string {
	var l []string
	add := func(format string, args ...any) { l = append(l, fmt.Sprintf(format, args...)) }
	add("%s -> s3://%s/%s", r.Source, r.Bucket, r.Key)
	switch {
	case r.StateError != "":
		add("state: %s is unreadable: %s", r.StatePath, r.StateError)
		add("  `s3up put --fresh` discards it and starts over; `s3up abort` gives up")
	case r.HasState:
		add("state: %s", r.StatePath)
	default:
		add("state: none (%s does not exist)", r.StatePath)
	}
	if r.InUse {
		add("  a put is running on this upload now; the map below is a snapshot")
	}
	if r.SourceChanged != "" {
		add("  the source changed since the upload started (%s): a rerun of put starts over", r.SourceChanged)
	}
	if u := r.Upload; u != nil {
		if !u.OnServer {
			add("upload %s: gone from the server (completed or aborted)", u.UploadID)
			if r.ObjectSize >= 0 {
				add("  an object of %s exists at the key: rerun put to check it against the source and finish", humanize.IBytes(uint64(r.ObjectSize)))
			} else {
				add("  rerun put to start a new upload, or `s3up abort` to remove the state")
			}
		} else {
			add("upload %s: %s", u.UploadID, startedText(u.Initiated, now))
		}
		l = append(l, uploadLines(u)...)
	}
	if r.OthersUnknown != "" {
		add("other uploads of this key: not known (%s)", r.OthersUnknown)
	}
	for i := range r.Others {
		u := &r.Others[i]
		what := "incomplete upload on the server"
		if r.Upload != nil || r.StateError != "" {
			what = "other upload on the server, not in the state"
		}
		add("%s %s: %s", what, u.UploadID, startedText(u.Initiated, now))
		l = append(l, uploadLines(u)...)
	}
	switch {
	case r.Upload == nil && len(r.Others) == 0 && r.ObjectSize >= 0:
		add("nothing in progress; s3://%s/%s exists (%s)", r.Bucket, r.Key, humanize.IBytes(uint64(r.ObjectSize)))
	case r.Upload == nil && len(r.Others) == 0:
		add("nothing in progress: no resume state and no incomplete upload of this key")
	case r.Upload != nil && r.Upload.OnServer && !r.InUse:
		add("next: `s3up put %s %s` resumes; `s3up abort %s %s` gives up", srcArg, dstArg, srcArg, dstArg)
	case r.Upload == nil:
		add("next: `s3up put` cannot resume these without state and will start a new upload; `s3up abort %s %s` removes them", srcArg, dstArg)
	}
	return l
}

func startedText(t, now time.Time) string {
	if t.IsZero() {
		return "start time unknown"
	}
	return fmt.Sprintf("started %s ago (%s)", fmtAge(now.Sub(t)), t.UTC().Format("2006-01-02 15:04:05 UTC"))
}

// uploadLines are the totals and part map of one upload.
func uploadLines(u *ops.UploadStatus) []string {
	if u.Unlisted != "" {
		line := "  " + u.Unlisted + ": the server's parts are not known"
		if n := u.Count(ops.PartJournalled); n > 0 {
			line += fmt.Sprintf("; the journal records %s; a rerun of put starts the upload again", plural(n, "part"))
		}
		return []string{line}
	}
	sent := u.Count(ops.PartSent)
	total := "?"
	if u.Size > 0 {
		total = humanize.IBytes(uint64(u.Size))
	}
	line := fmt.Sprintf("  %d/%d parts sent, %s of %s", sent, len(u.Parts), humanize.IBytes(uint64(u.BytesDone)), total)
	if n := u.Count(ops.PartServerOnly); n > 0 {
		line += fmt.Sprintf("; %d on the server only (%s, checked on resume)", n, humanize.IBytes(uint64(u.BytesServerOnly)))
	}
	if n := u.Count(ops.PartMismatch); n > 0 {
		line += fmt.Sprintf("; %d mismatched", n)
	}
	if n := u.Count(ops.PartMissing); n > 0 {
		line += fmt.Sprintf("; %d missing on the server", n)
	}
	if u.Extra > 0 {
		line += fmt.Sprintf("; %s beyond the plan (ignored)", plural(u.Extra, "extra part"))
	}
	if n := u.MultiVersion(); n > 0 {
		line += fmt.Sprintf("; %s held in several versions by the server (Complete names the one recorded)", plural(n, "part"))
	}
	out := []string{line}
	if len(u.Parts) > 0 {
		out = append(out, "  "+mapLegend)
		for _, row := range partMap(u.Parts) {
			out = append(out, "  "+row)
		}
	}
	return out
}

const (
	mapWidth     = 64   // cells per row
	mapMaxParts  = 2000 // one cell per part up to this many parts
	mapAggCells  = 1000 // cells when aggregating
	mapLegend    = "# sent  + server only  x mismatched  ! missing  . not sent"
	symbolsOrder = "x!+.#"
)

var partSymbol = map[ops.PartState]byte{
	ops.PartSent: '#', ops.PartServerOnly: '+', ops.PartMismatch: 'x', ops.PartMissing: '!', ops.PartPending: '.',
}

// partMap renders parts as rows of mapWidth cells, each row labelled with
// its first part number. Above mapMaxParts parts a cell covers several
// parts and shows the most notable of their states (symbolsOrder).
func partMap(parts []ops.PartStatus) []string {
	per := 1
	if len(parts) > mapMaxParts {
		per = (len(parts) + mapAggCells - 1) / mapAggCells
	}
	var rows []string
	var b strings.Builder
	first := int32(0)
	cells := 0
	for i := 0; i < len(parts); i += per {
		group := parts[i:min(i+per, len(parts))]
		if cells%mapWidth == 0 {
			if b.Len() > 0 {
				rows = append(rows, fmt.Sprintf("%6d %s", first, b.String()))
				b.Reset()
			}
			first = group[0].Number
		}
		b.WriteByte(cellSymbol(group))
		cells++
	}
	if b.Len() > 0 {
		rows = append(rows, fmt.Sprintf("%6d %s", first, b.String()))
	}
	return rows
}

func cellSymbol(group []ops.PartStatus) byte {
	best := len(symbolsOrder)
	for _, p := range group {
		s, ok := partSymbol[p.State]
		if !ok {
			s = '?'
		}
		if i := strings.IndexByte(symbolsOrder, s); i >= 0 && i < best {
			best = i
		} else if i < 0 {
			return '?'
		}
	}
	if best == len(symbolsOrder) {
		return ' '
	}
	return symbolsOrder[best]
}
