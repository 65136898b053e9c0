// Package s3fake is an in-memory fake of the S3 operations s3up uses, with
// the exact method signatures of the aws-sdk-go-v2 S3 client (*s3.Client),
// so that code written against an interface of those methods can be tested
// without a server, and with failures injected where a real store would
// rarely produce them.
//
//	f := s3fake.New(s3fake.MinPartSize(0))
//	f.CreateBucket("b")
//	f.FailNext("CompleteMultipartUpload", s3fake.LoseAnswerRetried)
//	// ... run the code under test against f ...
//	obj, ok := f.Object("b", "key")
//
// # What is faithful
//
// The semantics of AWS S3, unless an [Option] selects another store's:
//
//   - Buckets must exist ([Fake.CreateBucket]); otherwise NoSuchBucket.
//   - Bodies are read fully and must have ContentLength bytes
//     (IncompleteBody). Content-MD5 is verified (BadDigest), and so is an
//     x-amz-checksum-* value (CRC32, CRC32C, CRC64NVME, SHA1, SHA256: base64
//     of the big-endian digest; error code [DefaultChecksumErrorCode] or
//     [ChecksumErrorCode]); at most one may be sent. When ChecksumAlgorithm
//     is set and no value, the checksum is computed from the bytes, as the
//     SDK would compute and send it (and, for a part of an upload created
//     with an algorithm, as S3 computes it when none is sent). A part's
//     checksum algorithm must be its upload's ("Checksum Type mismatch
//     occurred, expected checksum Type: crc32c, actual checksum Type: crc32",
//     or "null" for an upload created without one).
//   - ETags are the quoted MD5 of the bytes ([OpaqueETags] for random ones);
//     a multipart object's is "hex(md5(md5(p1)‖…‖md5(pN)))-N".
//   - Multipart uploads: random ids; part numbers 1..10000; ListParts
//     paging (1,000 a page, PartNumberMarker, NextPartNumberMarker,
//     IsTruncated); CompleteMultipartUpload's rules (InvalidPartOrder,
//     InvalidPart, EntityTooSmall below [MinPartSize], part checksums
//     required for an upload created with an algorithm), COMPOSITE and
//     FULL_OBJECT checksums; an upload disappears once completed or
//     aborted (NoSuchUpload after).
//   - Conditional writes: IfNoneMatch "*" and IfMatch on PutObject and
//     CompleteMultipartUpload (412 PreconditionFailed).
//   - Errors are built as the SDK builds them (see [APIError]), including
//     which codes the SDK turns into modelled types for which operation, and
//     that HEAD answers have no body (a missing bucket is NotFound to
//     HeadObject). Network failures look like the SDK's after its retries
//     ([ConnectionReset]); a context that is done fails the call as the SDK
//     does (errors.Is(err, context.Canceled)).
//   - LastModified is to the second in HeadObject and GetObject (an HTTP
//     date) and to the millisecond in listings (XML); user metadata keys come
//     back in lower case.
//
// # What is not
//
// There is no HTTP layer, no authentication or SigV4, no endpoint or region
// resolution, and none of the SDK's middleware runs: optFns are ignored, so
// options such as API middleware, retryers, checksum calculation modes or
// payload signing have no effect; the SDK's retries are not performed (the
// fake returns the answer the SDK would have returned after them, see
// [LoseAnswerRetried] and [Exhausted]); no aws-chunked encoding or trailers,
// and ResultMetadata carries the request id only (not the SDK's computed
// input checksums). Not modelled: versioning, object lock, ACLs and
// policies, encryption, storage classes beyond echoing them, tagging,
// lifecycle (uploads never expire), copy operations, the newer checksum
// algorithms (MD5, SHA512, XXHASH*: NotImplemented), the CRC64NVME default
// checksum AWS attaches to objects sent without one, URL-encoded listings,
// and S3's eventual quirks (a completed upload id is NoSuchUpload at once,
// never "already completed"). Memory holds every byte stored.
//
// # Failure injection
//
// A [Hook] set with [OnCall] or [Fake.SetOnCall] runs before every
// operation and may block, count or refuse it. [Fake.FailNext] queues
// one-shot faults per operation ([Refuse], [RefuseAPI], [LoseRequest],
// [LoseAnswer], [LoseAnswerRetried]); [Fake.SetChaos] injects them at
// random with a seeded generator. Every call goes through these steps, in
// order:
//
//  1. it is counted ([Fake.Calls]);
//  2. the hook runs; its error is returned as is, nothing applied, the
//     body unread;
//  3. a done context fails the call, nothing applied, the body unread;
//  4. the next fault is taken; a refusing one fails the call here, the
//     body unread (unless [Fault.AfterBody]);
//  5. for UploadPart and PutObject, the request's headers are checked (a
//     missing bucket or upload, a bad part number, a mismatched checksum
//     algorithm fail without reading the body), then the body is read fully
//     ([Fake.BytesReceived]);
//  6. the operation is applied atomically (once, or twice for
//     [LoseAnswerRetried]) and its answer returned (or [ConnectionReset]
//     for [LoseAnswer]).
//
// So a refused body is never consumed: code under test must not rely on the
// SDK draining it.
//
// # Inspection
//
// [Fake.Object], [Fake.ObjectKeys], [Fake.Uploads] and [Fake.Upload] show
// the stored state; [Fake.Calls], [Fake.CallCounts], [Fake.BytesReceived],
// [Fake.FaultsInjected] and [Fake.ResetCounters] the traffic.
package s3fake
