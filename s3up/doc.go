// Package s3up uploads to S3-compatible stores with multipart upload, and
// resumes an interrupted upload by sending only what the server does not
// hold. It never prints: it reports through a Listener.
//
// # The model
//
// An Uploader (NewUploader, on a store.Client) runs one session per Put. A
// session has four steps:
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
//     store verifies it.
//  4. Finish. Complete names the reconciled parts in order, then the object
//     is verified: its size, its checksum as the store combines the parts'
//     (composite or full object), and its multipart ETag where the store's
//     ETags are MD5-based. An unknown outcome of Complete is resolved by
//     looking at the object. The journal is removed once the object is
//     verified.
//
// # Sources
//
// Put reads a file: its identity (size, mtime, device, inode, ctime and a
// sampled fingerprint) and its bytes come from one open descriptor
// (package source), and before Complete the descriptor is checked against
// the identity and the path, so a file changed or replaced during the upload
// is never completed.
//
// # Errors
//
// Every error wraps one kind (ErrBadInput, ErrAccess, ErrNoBucket, ErrState,
// ErrBusy, ErrVerify, ErrTransient; the table of store answers behind them
// is in package store). An *UploadError in the chain carries the upload id
// and the journal's path: with a journal, a rerun resumes.
//
// # Packages
//
//	store     the S3API interface, the client, the one table of store answers, quirks, listings
//	checksum  algorithms, one-pass hashing, composite and full-object checksums, ETags
//	source    a file opened for an upload
//	ops       status, abort, the list of incomplete uploads, gc
//	s3fake    an in-memory fake of the S3 operations, for tests
package s3up
