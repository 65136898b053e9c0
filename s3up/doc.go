// Package s3up uploads to S3-compatible stores with multipart upload, and
// resumes an interrupted upload by sending only what the server does not
// hold. It never prints: it reports through a Listener.
//
// # Use
//
// Build an Uploader once, from an aws.Config (NewFromConfig), an existing
// *s3.Client (New) or a store.Client (NewUploader), and call its puts from
// as many goroutines as you like: they share its Concurrency (parts in
// flight), BandwidthLimit and state directory. Each put may change the
// other options for its own call (func(*Options) arguments: a Listener,
// the object's options, the part size).
//
//	up, err := s3up.NewFromConfig(cfg, s3up.Options{StateDir: dir})
//	res, err := up.Put(ctx, "/srv/db.dump", "backups", "db.dump")
//	res, err = up.PutReaderAt(ctx, r, size, s3up.Identity{Name: "vm-42", Version: gen}, "backups", "vm-42.img")
//	res, err = up.PutStream(ctx, s3up.Stream{R: pipe, ID: "pg_dump db"}, "backups", "db.sql")
//	tres, err := up.PutTree(ctx, s3up.Tree{Roots: []string{"/srv"}, Bucket: "backups", Prefix: "srv/"})
//
// A source is a file (Put), an io.ReaderAt of known size with an Identity
// chosen by the caller for resume (PutReaderAt), a stream read once
// (PutStream; its zero Size is "unknown"), or a directory tree (PutTree).
// Events reach the Listener with the put they belong to (Event.Ref). The
// Result says what was verified, typed (Verification.Checks, CheckKind),
// with the object's ETag, checksums and version.
//
// # The model
//
// Every source goes through the same session steps; the source is a
// strategy that supplies the parts' bytes, digests and identity (a file
// or ReaderAt: any part at any time; a stream: the next part, once):
//
//  1. Lock. The journal of (source, destination) lives in the state
//     directory (Options.StateDir, else $XDG_STATE_HOME/s3up or
//     ~/.local/state/s3up) and is locked, so two runs never drive one
//     upload (ErrBusy). A journal an older version left next to the source
//     is moved there first.
//  2. Decide. decide is one pure function from everything known (the
//     journal, the source's identity now, the options, and, when it asks
//     for them, the server's part list and the object at the key) to one
//     decision: resume, start fresh (aborting the superseded upload), done
//     already (a run whose Complete answer was lost), or refuse (unusable
//     state, ErrState). The session gathers the facts decide asks for and
//     calls it again; nothing else decides.
//  3. Transfer. On resume, parts the server holds but the journal does not
//     are adopted only if their checksum (or MD5 ETag) matches the local
//     bytes, and the parts kept are read again and compared with the
//     journal (Options.TrustJournal skips that). Missing parts are sent,
//     Concurrency at a time, each journalled as soon as it is acknowledged.
//     A part's checksum travels with it (checksum.Default, CRC32C) and the
//     store verifies it; its answer is checked against the local bytes
//     (proof.go): the checksum it shows, or of the algorithm it computes
//     whatever it is asked, its own CRC-64, and, where it shows no checksum,
//     its ETag against the part's MD5 (sent as Content-MD5 too). A part
//     whose ETag turns out not to be its MD5 on a store whose ETags are
//     MD5s was damaged on the way and is sent again before Complete.
//  4. Finish. Complete names the reconciled parts in order, then the object
//     is verified. Every check compares a value the store reports with one
//     computed from the bytes sent, never with one the store reported
//     before: its size; its checksum as the store combines the parts' (of
//     the algorithm it shows); its own CRC-64 or CRC32C; its multipart ETag
//     built from the parts' MD5s where they were computed. When nothing the
//     store reports proves the bytes (no checksum shown, ETags that are not
//     MD5s), the object is read back and every part's range hashed
//     (Options.Verify: VerifySize never reads back). An object that does
//     not match is deleted, or, when that is refused, put on the state
//     directory's distrust list, so no later run takes it for the source.
//     An unknown outcome of Complete is resolved by looking at the object.
//     The journal is removed once the object is verified, and so are
//     the journals, and their uploads, that the state directory recorded
//     for other sources to the same key and that no running s3up holds
//     (Superseded): they could only ever overwrite this object.
//
// Before any of this, Put looks at the object at the key: when it has the
// file's size and the modification time s3up stored with it (or its
// content, Options.ChecksumCompare), nothing is sent (Options.Force sends
// anyway).
//
// # Stores
//
// What s3up learns of a store from its answers is remembered per endpoint
// in the state directory (store.Profiles): that it refuses flexible
// checksums (Content-MD5 instead), hides them, computes another algorithm
// than the one asked, reports a CRC-64 of its own, has MD5 or opaque ETags,
// refuses trailers, has no ListParts (an interrupted upload starts again),
// refuses to replace a part (an upload that must change one starts again),
// or proves nothing (objects are read back).
//
// # Sources
//
// A stream is resumed by content: each part's digest is journalled, and a
// rerun that reads the same bytes again does not send the parts the server
// holds. Its journal is its ID's, so a rerun with another ID (a changed
// command) is another source, and supersedes the old upload when it
// completes.
//
// Put reads a file: its identity (size, mtime, device, inode, ctime and a
// sampled fingerprint) and its bytes come from one open descriptor
// (package source), and before Complete the descriptor is checked against
// the identity and the path, so a file changed or replaced during the upload
// is never completed.
//
// # Errors
//
// Every error wraps exactly one kind (ErrBadInput, ErrAccess, ErrNoBucket,
// ErrState, ErrBusy, ErrVerify, ErrTransient, ErrStreamFailed, ErrPartial,
// ErrWindowEnded; the table of store answers behind them is in package store); an
// interruption (context.Canceled) is ErrTransient, since a rerun resumes.
// An *UploadError in the chain carries the upload id and the journal's
// path: with a journal, a rerun resumes. Messages name settings in words;
// store.Hints says which setting would fix an error, for a program that
// offers them under names of its own (the CLI's flags).
//
// # Windows and bandwidth timetables
//
// Options.Window (schedule.NewWindow, from a maximum duration or a stop
// time) is the time the Uploader's puts may work. Once it has ended no part
// of a file or stream and no file of a tree starts; parts in flight finish
// (schedule.Soft) or are cancelled at once (schedule.Hard), and a part's
// requests are not retried after the end, so retries never extend it. The
// journal holds every acknowledged part, as after an interruption, and a
// reconciliation or a completion under way when the window ends is finished,
// never left half-done. The put returns a *WindowError (kind ErrWindowEnded,
// which is schedule.ErrWindowEnded): bytes and parts, or files, on the server
// of the total, what this run sent, and schedule.WindowsNeeded's estimate of
// the windows still to come. The same call continues the upload; a stream is
// read again from its start and its parts are kept only where their content
// matches (resume by content).
//
// Options.Bandwidth follows a weekly timetable (schedule.ParseTimetable,
// rclone's --bwlimit syntax) on Options.Clock: at each change the new rate
// applies to every request in flight. Window, Bandwidth and Clock, like
// Concurrency, BandwidthLimit and StateDir, belong to the Uploader, not to
// one call; Close releases the timetable's timer.
//
// # Sealed uploads
//
// Options.Seal (ParseSeal, NewSeal) encrypts to age recipients: the object
// is a standard age file (package seal) that `age -d -i KEY` decrypts with
// no s3up installed. A file's parts are ranges of its ciphertext, read
// through a seal.ReaderAt over the file, so the plan, the part checksums,
// the resume and the verification work on the ciphertext as on any
// object. The file key and payload nonce are drawn once per upload and kept
// in its journal (resume.Header.Sealed; mode 0600, removed with the journal
// when the upload completes or is aborted, never in an event, a result or
// an error): a rerun re-encrypts only the parts it sends and produces the
// bytes the server holds for the others. The key is taken again only for
// the very same source (identity unchanged) sealed to the same recipients;
// otherwise the upload starts over with a new key, so a file key and nonce
// never seal two plaintexts. A file smaller than one part is one PutObject
// under a key of its own, journalled nowhere. A sealed stream is encrypted
// as it is read and resumed by content under its journal's key, as long as
// that can never show the store other bytes under the key: each part is
// journalled before it is sent, and a rerun sends a part under the kept key
// only if it is the same ciphertext as the one recorded at that number (or
// none was); a stream that differs from its first part is sealed again
// under a new key in the same run, one that differs later fails the run
// with ErrTransient, its upload aborted and its key forgotten. In a tree every file goes to its key +
// SealedSuffix (".age"), and the tree's sizes are the age files'. The
// object carries EncryptionKey ("age") and PlaintextSizeKey as metadata,
// with MTimeKey, and is application/octet-stream unless a Content-Type is
// set. A content comparison (ChecksumCompare) cannot compare sealed
// content: it falls back to the plaintext's size and modification time.
//
// # Packages
//
//	store     the S3API interface, the client, the one table of store answers, quirks, listings
//	checksum  algorithms, one-pass hashing, composite and full-object checksums, ETags
//	source    a file opened for an upload
//	ops       status, abort, the list of incomplete uploads, gc
//	s3fake    an in-memory fake of the S3 operations, for tests (Fake.Client: as an *s3.Client)
//	tree      the ordered walk of a directory tree
//	seal      age encryption of what is uploaded
//	schedule  upload windows and bandwidth timetables
//	checkin   monitoring pings (Healthchecks)
package s3up
