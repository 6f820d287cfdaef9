// Package shl implements SMART Health Links (HL7 SMART Health Cards and
// Links IG 1.0.0, rules SHL-1..22 in shc-rules.md): building and parsing
// shlink URIs, the dir/A256GCM JWE file encryption, the manifest protocol on
// both sides, and an in-memory link host.
//
// The pieces:
//
//   - [Payload], [NewPayload], [Parse]: the shlink payload and URI (SHL-1..8).
//   - [Encrypt], [Decrypt]: compact JWE, alg "dir", enc "A256GCM", cty, optional
//     zip "DEF" (SHL-17, SHL-18).
//   - [Manifest], [File], [ManifestRequest], [ParseManifest]: the manifest
//     protocol types (SHL-9, SHL-11).
//   - [Host] over a [Store]: the sharer side, an http.Handler plus Go methods
//     for an issuer's management API (SHL-4, SHL-9..16). [MemoryStore] is the
//     in-memory Store; SQL stores implement the same five methods.
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
//   - Passcodes are stored only as argon2id hashes (19 MiB, t=2, p=1). The
//     lifetime failure limit (HostConfig.MaxPasscodeFailures, default 10)
//     holds under parallel guessing: an attempt is reserved atomically in the
//     Store before the hash is computed and refunded only when the passcode is
//     right, so at most that many guesses are ever evaluated. A locked link
//     answers 404 to everyone, its owner's correct passcode included; the
//     owner sees the state through [Host.Info]. Concurrent argon2id runs are
//     capped at GOMAXPROCS to bound memory.
//   - Location URLs are HMAC-signed (id, file index, expiry) and expire within
//     HostConfig.LocationTTL (at most an hour, SHL-12); they stop working when
//     the link is revoked, expires or is locked. Several Host instances need a
//     shared HostConfig.LocationSecret. A location URL reveals the link id
//     (not the key).
//   - The Store holds the link keys: protect it like the data it unlocks.
//     Files are stored encrypted (JWE); the access log holds only time,
//     recipient string and outcome.
//   - Every input is bounded: URI length, payload size, manifest size and
//     file count, request body, recipient and passcode length, JWE size, and
//     inflated size (go-jose refuses more than max(250 kB, 10x the compressed
//     size); [Encrypt] leaves zip off when its own output would break that
//     bound, so files it writes always decrypt). JSON objects with duplicate
//     member names, or members that differ from a known name only in case,
//     are refused.
//   - alg and enc are pinned to dir and A256GCM; a cty that disagrees with the
//     manifest's contentType is refused.
//   - The Client fetches only through safehttp (https only, no
//     private addresses, size caps, timeouts). It refuses to fetch a link
//     whose exp has passed, a v newer than 1 (SHL-8), and a P link without a
//     passcode; it never dereferences a location more than an hour after the
//     manifest was fetched, fetching the manifest again instead (SHL-13, at
//     most 3 manifest fetches per Resolve).
//   - The Host answers with Cache-Control: no-store and a wildcard CORS
//     header: browser viewers fetch manifests cross-origin, and no ambient
//     credentials (cookies) are involved.
package shl
