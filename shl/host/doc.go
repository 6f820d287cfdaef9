// Package host is the sharer side of SMART Health Links (HL7 SMART Health
// Cards and Links IG 1.0.0, rules SHL-4, SHL-9..16 in shc-rules.md): a [Host]
// over a [Store] creates links, serves manifests, files and direct (U) links
// as an http.Handler, and offers Go methods for an issuer's management API
// (update, revoke, access log, info). [MemoryStore] is the in-memory Store;
// package shl/sqlstore holds the SQLite and PostgreSQL ones.
//
// It is separate from package shl (the link format and the receiver) so
// that a program that only reads links — a verifier — does not link the
// host, its store or argon2. Its errors are *shl.Error values with the shl
// codes (invalid_argument, link_not_found, ...): match them with
// shl.CodeOf or errors.Is against the shl sentinels.
//
// # Security considerations
//
//   - The payload key is the only secret protecting the files: anyone with
//     the shlink (or its QR code) can read them, unless the link also has a
//     passcode. Keys are 32 bytes from crypto/rand; manifest ids carry 256
//     random bits (SHL-1, SHL-4).
//   - Passcodes are stored only as argon2id hashes (19 MiB, t=2, p=1). The
//     lifetime failure limit (Config.MaxPasscodeFailures, default 10)
//     holds under parallel guessing: an attempt is reserved atomically in the
//     Store before the hash is computed and refunded only when the passcode is
//     right, so at most that many guesses are ever evaluated. A locked link
//     answers 404 to everyone, its owner's correct passcode included; the
//     owner sees the state through [Host.Info]. Concurrent argon2id runs are
//     capped at GOMAXPROCS to bound memory, and hash parameters read back
//     from a store are bounded.
//   - Location URLs are HMAC-signed (id, file index, expiry) and expire within
//     Config.LocationTTL (at most an hour, SHL-12); they stop working when
//     the link is revoked, expires or is locked. Several Host instances need a
//     shared Config.LocationSecret. A location URL reveals the link id
//     (not the key).
//   - The Store holds the link keys: protect it like the data it unlocks.
//     Files are stored encrypted (JWE); the access log holds only time,
//     recipient string and outcome.
//   - Request bodies, recipients and passcodes are bounded; manifest
//     requests are parsed strictly by shl.ParseManifestRequest.
//   - The Host answers with Cache-Control: no-store and a wildcard CORS
//     header: browser viewers fetch manifests cross-origin, and no ambient
//     credentials (cookies) are involved.
package host
