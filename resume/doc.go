// Package resume keeps the local state that lets s3up resume an interrupted multipart upload,
// and decides, part by part, what a resume must send. It uses the standard library only (plus
// gofrs/flock for locking): no SDK, no network. The engine in package s3up talks to the server
// and hands this package plain Part values.
//
// # The sidecar
//
// Each (source file, destination) pair has one sidecar file (the journal); SidecarPath names it:
// "big.iso-<16 hex digits>.s3up" in the state directory, which is $XDG_STATE_HOME/s3up, else
// ~/.local/state/s3up (DefaultStateDir; mode 0700), or the one the user names. The hash covers
// the source's absolute path and the destination (endpoint normalised by the engine), so one
// file sent to two places has two sidecars and two files of one name never share one. Versions
// before the state directory kept the sidecar next to the source (LegacySidecarPath); the engine
// moves such a file into the state directory the first time it sees it.
//
// A sidecar is a text file of JSON lines. Line 1 is the header, the upload's fixed facts:
//
//	{"s3up_sidecar":1,"version":1,"upload_id":"…","destination":{"endpoint":"","bucket":"b","key":"k"},
//	 "source":{"path":"/data/big.iso","size":…,"mtime":"…","fingerprint":"…","dev":…,"ino":…,"ctime":"…"},
//	 "part_size":16777216,"part_count":380,"checksum":"crc32c","object_options":{…},"created_at":"…"}
//
// (shown wrapped; it is one line). The "s3up_sidecar" key marks the file as a sidecar and
// carries the format version. Every further line records one part the server acknowledged:
//
//	{"n":17,"size":16777216,"etag":"\"9b2cf535f27731c974343645a3985328\"","sum":"yZRlqg=="}
//
// The ETag is kept verbatim, quotes included, because CompleteMultipartUpload wants it back
// exactly; "sum" is the part checksum in the wire encoding of the header's algorithm. A part
// sent with no checksum carries a local "digest" ("crc32c:BASE64") instead, so a resume can
// still prove the part against the source. Several records for one part number may exist (a
// part re-sent on a later run): the last one wins. Fields added after version 1 (dev, ino,
// ctime, digest) are optional: older sidecars lack them and older readers ignore them.
//
// A sidecar holds no credentials, only what is shown above, and is created with mode 0600.
//
// # Crash safety
//
// A crash at any instant leaves a sidecar that Load reads, and that never claims more than the
// server acknowledged:
//
//   - Create and Compact write a whole new file under a random temporary name next to the
//     sidecar (created exclusively, O_EXCL), fsync it, rename it over the sidecar and fsync the
//     directory. A crash leaves either the old file or the new one, never a mix, and at most a
//     stray temporary file, which Remove deletes.
//   - Append adds one record with a single write of a whole line, then fdatasync, and only then
//     returns; the engine records a part only after UploadPart succeeded. Earlier bytes are never
//     rewritten, so a crash can damage only the last line: it may lack its newline, or be
//     garbage (some filesystems extend the file before its data lands). Load ignores such a torn
//     last line, and the next Append first cuts it off. The part it described shows up as
//     "on server, not in sidecar" and is verified, not trusted.
//   - Any other damage (a bad line in the middle, a missing or truncated header, a record that
//     contradicts the header) means something other than s3up wrote the file. Load returns
//     ErrCorrupt naming the line; it never panics and never guesses, so no object is ever
//     completed from unverified state.
//
// Appends cost O(1) whatever the number of parts. Records for re-sent parts accumulate; when
// they outnumber the live ones (more than 2×parts+64 records), Load compacts the file with the
// same temp+fsync+rename dance.
//
// # Locking
//
// Lock takes an exclusive, non-blocking flock(2) on "<sidecar>.lock" before anything reads or
// writes the sidecar, so two s3up runs never drive one upload; the second gets ErrLocked after
// trying for a second (long enough to wait out the shared lock `s3up status` takes for a few
// microseconds to see whether a put is running). The lock file and the sidecar are opened
// without following symbolic links, and anything that is not a regular file is refused, so a
// link planted in a shared directory never makes s3up write elsewhere. flock locks belong to an open file, so a second Lock in the same process fails too.
// The kernel drops the lock when the process dies, so a kill -9 leaves no stale lock to clean.
// Close keeps the lock file (deleting it would let two processes lock two different files);
// Remove deletes it while still holding the lock, and Lock rechecks after locking that the file
// it locked is still the one on disk.
//
// # Resuming
//
// CheckResumable compares the header with the source as it is now (path, size, mtime,
// fingerprint, and device, inode and ctime where both sides have them: any change means
// ErrSourceChanged, and the upload must start over) and with the
// destination and object options given now (any change means ErrOptionsChanged). Part size and
// checksum algorithm may differ: a resume keeps the recorded ones.
//
// Then Reconcile compares the sidecar's records with the server's ListParts answer, because the
// two drift: a crash between UploadPart and Append leaves a part the sidecar does not know; a
// store may drop parts; some stores (SeaweedFS) keep every upload of a part number and list
// them all, so every entry of a number is considered and the result never depends on their
// order. For each planned part:
//
//	sidecar says                 server says                          action
//	part done, ETag E, size S    an entry with ETag E, size S         Skip
//	part done                    missing                              Upload
//	part done, ETag E            present, other ETag/size/checksum    Upload
//	nothing                      present, planned size                Verify
//	anything                     present, not the planned size        Upload
//	part done, not planned size  anything                             Upload
//	nothing                      missing                              Upload
//
// Skip requires the sidecar's size to equal the plan's, and checksums to agree where both sides
// have one. ETags are compared verbatim, tolerating a missing pair of quotes on one side.
// Verify means: adopt a server entry (any of Decision.Candidates) only if the checksum of the
// local bytes matches its checksum or MD5 ETag, else re-send the part. Skip is not blind trust
// either: before Complete the engine reads every kept part again and compares it with the
// journal, so a source edited in place is never completed as a mix of old and new bytes. Server parts numbered outside the plan are
// reported in Reconciliation.Extra and never completed.
//
// # The tree journal
//
// A tree upload (put -r) keeps one journal per destination (endpoint, bucket, prefix): for each
// file it stored, the key, the file's size and mtime when it was read, and the object's ETag. The
// next run skips a file when the listing shows an object of that ETag and the file still has
// that size and mtime: no request per file. The journal only saves work: a record spares a
// request only when all three agree, so a lost, stale or damaged record costs a HeadObject,
// never a wrong skip. It is read in key order, merged with the walk and the bucket's listing
// (both in the same byte order), so a run of 10 M files never holds 10 M records.
//
// TreeJournalPath names it: "trees/<20 hex digits>.jsonl" in the state directory, a hash of the
// destination. That name is version 1's journal, and its lock is that name + ".lock" in every
// version, so an old and a new s3up never run one tree at once. Version 2 keeps, next to it:
//
//	<hash>.tree        the sorted journal: every record, by key
//	<hash>.<n>.pending the log of run number n: records in the order files were stored
//	<hash>.jsonl       a version-1 journal, until a run has merged it
//
// Each file starts with a JSON header line naming the version, the kind and the destination:
//
//	{"tree_version":2,"kind":"sorted","endpoint":"…","bucket":"b","prefix":"nightly/","merged":7}
//
// then binary blocks: uvarint(n), n bytes of records, CRC-32C of those bytes (4 bytes, big
// endian). A block is about 64 KiB and checked whole before any record in it is used. A record
// is uvarint(bytes shared with the previous key of its block), uvarint(length of the rest), the
// rest of the key, varint(size), varint(mtime, Unix nanoseconds), and the ETag: 0x01 and 16
// bytes for the usual `"<32 lowercase hex>"`, else 0x00, uvarint(length) and the ETag verbatim.
// Keys are bytes, exactly: no normalisation, any byte allowed. The sorted journal's keys
// strictly increase across blocks, and it ends with uvarint(0) and uvarint(number of records);
// a reader that finds damage (a checksum, the order, a short file, a wrong count) uses the
// records before it and reports ErrTreeCorrupt. A pending log has no end: it stops wherever its
// run stopped, and a torn last block is ignored.
//
// A run: OpenTree locks, removes what a crash left (a replacement never renamed; logs numbered
// up to the sorted journal's "merged", which it already holds) and picks the next log number.
// Records reads the journal as it was opened, in key order: the sorted journal a block at a
// time, merged with what is not sorted yet (a version-1 journal, the logs of runs that were
// killed or released before their Close) sorted by a Sorter within its budget (16 MiB by
// default, spilling to TreeOptions.TempDir). A log's record replaces the sorted journal's, a
// later log's an earlier one's, and within a version-1 journal the later line wins, as it did.
// Put appends to the run's log a block at a time, without fsync. Seen records, in increasing
// order, the keys of the files the run found (in a temporary file, not in memory). CloseSeen
// writes a new sorted journal, holding for each key seen its newest record, to a temporary
// file; it syncs it, renames it over "<hash>.tree" with merged = the run's number, syncs the
// directory, and only then removes the logs and the version-1 journal (and syncs again, so a
// version-1 journal cannot come back). A crash or a failure at any point leaves the old sorted
// journal and every log, and the next run merges them: nothing is lost but what a crash did
// not flush. Release leaves the run's log for the next run. Close(keep) is CloseSeen with a
// predicate, called once per key in increasing order; Get and ReadTree load every record into
// a map, for callers that do not read in order yet.
//
// A version-1 journal (JSON lines: the header {"tree_version":1,…}, then {"k":…,"s":…,"m":…,
// "e":…} per record, in the order stored, a later line replacing an earlier one, a torn last
// line ignored) is read through the sort by the first run of this version, which writes it out
// sorted at its Close and removes it. A dry run reads it as it is. Older versions of s3up ignore
// a version-2 journal and start afresh.
//
// What this package does not decide: NoSuchUpload (the upload was completed or aborted behind
// our back) and the final object check belong to the engine, which talks to the server.
package resume
