// Package shc implements the SMART Health Card format: the FHIR bundle
// minimization for QR codes, the verifiable-credential payload, raw DEFLATE,
// the ES256 compact JWS, the shc:/ numeric QR text (with legacy chunks) and
// the .smart-health-card file. QR images live in package shc/qr so that
// programs that only handle text do not link image code.
//
// Rule IDs in comments (HDR-3, MIN-5, QR-2, ...) refer to the project's
// rules checklist, shared/spec/shc-rules.md.
//
// # Parsing is not trusting
//
// Parse checks only structure: a compact JWS with alg ES256 and zip DEF, a
// kid, a 64-byte r||s signature and a raw-DEFLATE JSON payload with the
// required claims, all within Limits. It never fetches keys and never says
// a card is genuine. Card.VerifySignature checks the signature with a key
// the caller chose; deciding that the key belongs to a trusted issuer, and
// checking time and revocation, is the job of package verifier, which most
// callers should use instead of this package's verification pieces.
// Claims read before verification come only from the loudly named
// Card.UnsafePayloadWithoutVerification.
//
// # Errors
//
// Every failure is an *Error (the module's one shape, [errcode.Error]) with a
// stable Code (malformed_input, malformed_qr, chunk_missing, malformed_jws,
// unsupported_alg, bad_payload_encoding, payload_too_large, bad_payload,
// bad_signature, qr_too_large, bad_bundle, bad_key). Match them with
// errors.Is against the sentinels (ErrBadSignature, ...) or read
// CodeOf(err); IsMalformed tells every failure to decode untrusted input.
//
// # Security considerations
//
//   - The algorithm is pinned: alg none, HS256, ES384, a missing zip, crit
//     headers and DER signatures are refused before any other work.
//   - Signed content (the header, the claims and the whole FHIR bundle) is
//     read by one strict reader (internal/jsonlite): member names written
//     with escapes, repeated, or equal ignoring letter case are refused at
//     every depth (bad_payload, naming the member and its JSON path), as are
//     null claims, dates after year 9999, lone surrogates, invalid UTF-8 and
//     bytes after the DEFLATE stream (bad_payload_encoding). No other reader
//     can see a different card in the same signed bytes. Minify and Sign use
//     the same reader, so nothing is signed that Parse would refuse.
//   - Inflation reads through a limit (Limits.MaxPayloadBytes, 4 MiB by
//     default): a deflate bomb stops after producing that much output.
//   - Inputs are bounded: JWS 512 KiB, card files 16 MiB and 1000 cards,
//     99 chunks, JSON nesting 128 levels (claims, bundles, Minify).
//   - Signing goes through crypto.Signer, so keys may stay in an HSM.
//
// # Compatibility
//
// Both the VCI spec (v1.4.0) and the HL7 IG (1.0.0) example sets parse and
// re-encode byte for byte. Deprecated legacy chunks are still read and
// written (QR-7); prefer a SMART Health Link (package shl) for large cards.
// Minify keeps a meta that holds only meta.security (allowed by MIN-2);
// MinifyOptions.DropSecurityMeta reproduces the spec generator, which drops it.
package shc
