// Package seal encrypts a plaintext into a standard age file (the C2SP age
// v1 format, binary, not armored) such that any byte range of the encrypted
// file can be produced on its own. `age -d -i KEY` decrypts the result; s3up
// is not needed to restore.
//
// # Why not age.Encrypt
//
// A resumed upload sends only the parts the store lacks, and the parts it
// keeps were encrypted by an earlier process. age.Encrypt draws a new file
// key and nonce each time and writes front to back, so a rerun cannot
// re-create part 17 alone. Here the randomness is drawn once into a Key, the
// Key is kept in the upload's journal, and every byte of the object is a
// function of the Key and the plaintext: a rerun re-encrypts exactly the
// chunks of the parts it sends and gets the same bytes the store holds for
// the others.
//
// filippo.io/age does the recipients (parsing, and wrapping the file key in
// stanzas, with its label rules); this package writes the header and the
// payload as the spec says, which age does not export.
//
// # Format
//
// An object is the header followed by the payload:
//
//	age-encryption.org/v1
//	-> X25519 <base64 ephemeral share>
//	<base64 body: lines of 64 columns, the last one shorter, maybe empty>
//	... one stanza or more per recipient ...
//	--- <base64 HMAC-SHA-256>
//	<16-byte nonce> <chunk 0> <chunk 1> ... <final chunk>
//
// Base64 is standard, unpadded and canonical. The MAC is HMAC-SHA-256 keyed
// with HKDF-SHA-256(file key, salt empty, info "header") over the header up
// to and including "---". The payload key is HKDF-SHA-256(file key, salt
// nonce, info "payload"). Each 64 KiB of plaintext is a chunk sealed with
// ChaCha20-Poly1305 (16-byte tag) under the nonce "11-byte big-endian chunk
// counter ‖ 0x01 for the final chunk, 0x00 before". A plaintext of P bytes has
// max(1, ceil(P/64 KiB)) chunks: the final one is full when P is a non-zero
// multiple of 64 KiB, and empty only when P is 0. So
//
//	CiphertextSize(P) = HeaderSize + 16 + P + 16 × max(1, ceil(P / 65536))
//
// # Using it in an upload
//
//   - Parse recipients (ParseRecipient, ParseRecipientsFile): errors wrap
//     ErrRecipient and come before anything is sent.
//   - NewKey once per object; ExportSecret into the journal; ImportSecret on a
//     rerun, never NewKey again for the same upload (a new Key changes every
//     byte, and the parts the store kept would no longer fit).
//   - A file: NewReaderAt over it, Size for the plan, Section(offset, size)
//     for each part's body. Parts may start and end anywhere, mid-chunk
//     included; a part seals the chunks it touches (at most two more than it
//     contains whole).
//   - A stream: NewReader, cut into parts as the stream comes. With the Key
//     kept, a deterministic producer gives the same parts again, so the
//     parts' digests can be compared. Digest the ciphertext part (what the
//     store holds): the plaintext under it (PlaintextRange) is not enough
//     alone, because the final chunk is sealed differently from a chunk of
//     the same bytes that is not final, so a producer that now writes more
//     changes the part that held the old end.
//   - ReadAt, Size and the Key are safe for concurrent use: parts may be
//     sealed in parallel. A Section, like any reader, is for one goroutine.
//
// # Secrets
//
// The file key decrypts the object: it lives only in the Key and in the
// string ExportSecret returns, with the nonce. Key's String, GoString,
// Format and LogValue redact both; store the exported string with mode 0600
// and delete it when the upload completes or is aborted. The header and the
// nonce are the object's first bytes, so not secret on their own; the
// plaintext passing through a Reader's buffer is the user's data.
package seal
