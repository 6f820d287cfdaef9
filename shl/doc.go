// Package shl implements SMART Health Links (HL7 SMART Health Cards and
// Links IG 1.0.0, rules SHL-1..22 in shc-rules.md): building and parsing
// shlink URIs, the dir/A256GCM JWE file encryption, the manifest protocol
// types and the receiver side (Client). The sharer side — the link host, its
// Store and passcode hashing (argon2id) — is package shl/host, with SQL
// stores in shl/sqlstore: a program that only reads links links neither.
//
// The pieces:
//
//   - [Payload], [NewPayload], [Parse]: the shlink payload and URI (SHL-1..8).
//   - [Encrypt], [Decrypt]: compact JWE, alg "dir", enc "A256GCM", cty, optional
//     zip "DEF" (SHL-17, SHL-18).
//   - [Manifest], [File], [ManifestRequest], [ParseManifest]: the manifest
//     protocol types (SHL-9, SHL-11).
//   - Package shl/host: the sharer side, a Host over a Store (an
//     http.Handler plus Go methods for an issuer's management API, SHL-4,
//     SHL-9..16); its errors are this package's *Error with these codes.
//   - [Client]: the receiver side. [Client.Resolve] returns the decrypted
//     files as data. It does not verify the SMART Health Cards inside: the
//     verifier calls it and verifies each application/smart-health-card file.
//   - Package shlqr renders a link as a QR code (error correction M, SHL-21).
//
// # Errors
//
// Every error is an [*Error] with a stable [Code] (malformed_link,
// link_unsupported_version, link_expired, link_not_found, passcode_required,
// passcode_wrong with RemainingAttempts, decrypt_failed, malformed_manifest,
// fetch_failed, too_large, invalid_argument). Match with errors.Is against
// the Err* sentinels, or with [CodeOf].
//
// # Compatibility with the published examples
//
//   - exp must be a JSON number of epoch seconds. The IG's
//     shl-payload-1.json writes it as the string "1767225600000"
//     (milliseconds): Parse refuses that, and any number at or above 1e11,
//     with malformed_link instead of guessing a unit.
//   - Unknown payload members (such as that example's "labelzzz") and
//     unknown flag letters are ignored (SHL-6); known flags are put in
//     alphabetical order.
//   - The HL7 demo JWEs have no cty header: Decrypt returns "" as the content
//     type and lets the caller decide.
//   - Payload JSON members are written in the order url, flag, key, exp,
//     label, v, which reproduces the HL7 examples byte for byte.
//
// # Security considerations
//
//   - The payload key is the only secret protecting the files: anyone with
//     the shlink (or its QR code) can read them, unless the link also has a
//     passcode. Keys are 32 bytes from crypto/rand; manifest ids carry 256
//     random bits (SHL-1, SHL-4).
//   - Passcode storage, lockout and location URLs are the host's (see
//     package shl/host).
//   - Every input is bounded: URI length, payload size, manifest size and
//     file count, request body, recipient and passcode length, JWE size, and
//     inflated size (go-jose refuses more than max(250 kB, 10x the compressed
//     size); [Encrypt] leaves zip off when its own output would break that
//     bound, so files it writes always decrypt). JSON objects with duplicate
//     member names, or members that differ from a known name only in case,
//     are refused.
//   - alg and enc are pinned to dir and A256GCM; a cty that disagrees with the
//     manifest's contentType is refused.
//   - The Client fetches only through a [safehttp.Client] (https only, no
//     private addresses, size caps, timeouts); the verifier gives it one
//     without any private-origin exception. It refuses to fetch a link
//     whose exp has passed, a v newer than 1 (SHL-8), and a P link without a
//     passcode; it never dereferences a location more than an hour after the
//     manifest was fetched, fetching the manifest again instead (SHL-13, at
//     most 3 manifest fetches per Resolve).
package shl
