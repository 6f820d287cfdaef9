// Package verifier verifies SMART Health Cards. It turns any card input
// into a verdict a person can act on — verified, valid but issuer not
// trusted, or invalid with a reason — and, once the signature verified, the
// signed FHIR bundle and a human summary of it (patient, immunizations,
// lab results and reports, codes named from package terminology; unknown
// codes are shown by code). Summarize gives the same summary of a bundle
// the caller already trusts (the issuer's printable page uses it).
//
// Build one Verifier with New and share it; it is safe for concurrent use:
//
//	v, err := verifier.New(
//		verifier.WithTrustDirectory("vci-directory.json"),
//		verifier.WithTrustList("https://example.org/vci-issuers.json"),
//	)
//	results, err := v.Verify(ctx, input) // JWS, shc:/ text, file, Parameters, link
//	for _, r := range results {
//		if r.Valid { ... r.Summary, r.FHIRBundle ... } else { ... r.Errors ... }
//	}
//
// # What an embedder links
//
// The package reads text: it imports no HTTP framework, database driver,
// issuer package, QR image code or SMART Health Link host (a test in
// internal/importrules holds it to that). QR images (PNG, JPEG, SVG) are
// read by a decoder the caller wires in — verifier.WithImageDecoder(
// qr.DecodeImage) with package shc/qr, as the service and the CLI do;
// without one an image input fails with image_unsupported. Links are read
// with package shl (format and client); the link host lives in shl/host.
// Fetches go through a *safehttp.Client, built from the options or given
// with WithFetchClient.
//
// Verify returns one Result per card (a .smart-health-card file or a FHIR
// Parameters response may hold several, FILE-3). Its error is non-nil only
// when the input holds no card at all; use ErrorResult to report it in the
// same shape. Only Verdict == VerdictVerified (Result.Valid) means: authentic,
// from a trusted issuer, in its validity period and not revoked.
//
// # Verdicts
//
// A card gets one of four verdicts, decided in one place (VerdictFor) from
// its error codes, the worst winning (VerdictRank): verified; invalid (the
// card itself is bad: forged, tampered, expired, revoked, not yet valid,
// malformed content); issuer_not_trusted; and unable_to_check (not checked
// through no fault found in the card: issuer or network unreachable,
// revocation status unknown under RevocationRequired, unreadable photo, a
// QR code that is not a health card, a chunk missing, out of time). A
// definite answer outranks an unknown one. Result.Advice is one line for
// staff saying what to do next (AdviceFor), the same words in every front
// end. Error codes are unchanged; programs may still branch on them.
//
// # Pipeline
//
// Each card goes through the steps of shc-rules §12, recorded in
// Result.Checks: parse (package shc: ES256 and zip DEF pinned, bounded raw
// DEFLATE, required claims, iss https without trailing slash or a DID),
// trust (before anything is fetched for iss), key (by iss and kid together,
// every entry with the kid tried, KEY-7), signature, time (nbf with leeway,
// exp exactly), revocation (REV-8/9) and summary. Failures after the
// signature are all reported (an expired card that is also revoked shows
// both); Result.Err returns the first.
//
// # Trust sources
//
// Sources combine; an issuer listed by any of them is trusted.
//
//   - WithTrustDirectory / WithTrustDirectoryJSON: a directory in the shape
//     of the VCI directory snapshot,
//     {"directory","time","issuerInfo":[{"issuer":{"iss","name","website","canonical_iss"},"keys":[JWK...],"crls":[CRL...]}]}.
//     ctr and crlVersion may be numbers or decimal strings; unknown members
//     are ignored; a bad entry, key or CRL is skipped with a warning
//     (ConfigWarnings) and never fails the whole directory. "time" should be
//     an RFC 3339 string (TRUST-3); a number is read as Unix seconds, and a
//     missing, unparsable or out-of-range one leaves the age to be counted
//     from the load, each with a warning. Being signed content, it is read
//     strictly: a repeated, escaped or case-variant member (which
//     encoding/json would resolve silently) refuses the directory at the
//     top level and skips the entry or revocation list it is in. Its keys
//     and revocation lists are used as they are, without fetching. A
//     directory given by URL is fetched on first use and every
//     DirectoryTTL; while it cannot be had its issuers are untrusted and
//     results carry a warning. A directory whose "time" is older than the
//     maximum age (WithDirectoryMaxAge) is reported stale in each result
//     that uses it.
//   - Detached signature: with WithDirectoryCertificate every directory must
//     be signed. The signature of directory file (or URL) X is X + ".sig":
//     the standard base64 encoding (white space around it ignored) of an
//     ASN.1 DER ECDSA signature, made with the certificate's P-521 key, over
//     SHA-512 of the exact bytes of X.
//   - WithTrustList: the VCI trust list (vci-issuers.json,
//     {"participating_issuers":[{iss,name,website,canonical_iss}]}): listed
//     issuers are trusted and named; their keys are fetched live.
//   - WithTrustSource: a directory or a trust list, told apart by content
//     (what the verifier service's --trust takes).
//   - WithTrustedIssuers: an allow-list of iss values; keys fetched live.
//   - WithStaticKeys: an issuer with a fixed JWKS (the CLI's --jwks
//     ISS=FILE); its keys are never fetched (revocation lists still are).
//
// # Reloading trust
//
// The trust sources are one component of the Verifier (trustsource.go):
// Reload reads the file sources again and fetches the URL sources again
// (detached signatures checked as at New), merges them and swaps the
// trusted issuers atomically; verifications in flight finish with the
// snapshot they started with. The key-set and revocation caches belong
// to the Verifier, not to the snapshot, so an issuer that stays trusted is
// not fetched again after a reload. A source that fails to load keeps its
// last good copy (Reload returns a bad_config error naming it), and one
// that never loaded leaves its issuers untrusted. TrustSources reports
// each source (loaded, when, its directory time, warnings, last error);
// TrustReady fails while a source has never loaded or is older than the
// maximum age (from its "time", else from its last load). The verifier
// service only calls Reload on a ticker and serves TrustReady at /readyz;
// an embedder can do the same, or never reload.
//
// Live keys come from iss + "/.well-known/jwks.json" (plain concatenation,
// KEY-3/4) for https issuers and from the DID document for did:web
// issuers (a project extension, KEY-12: JsonWebKey2020 assertion methods
// whose fragment is the key's thumbprint; the document id must be the
// DID). A did:key issuer's key is the key inside the DID, and it is trusted
// only when a trust source lists it, since anyone can mint one.
// WithIssuerMirror fetches an issuer's files from another base URL (closed
// networks, tests); it grants no trust.
//
// Accepted keys: EC P-256, use "sig" or absent, alg "ES256" or absent, kid
// equal to the RFC 7638 thumbprint (so the header kid is always the
// thumbprint of the key that verified, whatever form iss takes). Keys are
// parsed once, when loaded or fetched, and kept as *ecdsa.PublicKey.
//
// # Revocation
//
// Only keys with crlVersion are checked, and only cards with a rid. The list
// comes from the directory when its ctr is at least crlVersion, else from
// <iss>/.well-known/crl/<kid>.json (for did:web, the DID's https base plus
// the same path). A fetched list is cached by (iss, kid) and reused while
// the key's crlVersion is not greater than its ctr (REV-8), for at most the
// revocation bound (WithRevocationMaxAge, default 5 minutes) or the CRL
// cache TTL if smaller. "rid.TIMESTAMP" revokes only cards whose nbf is strictly
// before TIMESTAMP, compared as floats (never rounded; the official VCI
// example-03 is revoked by 0.343 s). A list naming another kid, or a method
// other than "rid", is ignored with a warning. When no list can be had, the
// policy decides: RevocationRequired (default) fails with
// revocation_unavailable, RevocationBestEffort accepts with a warning.
//
// Freshness: a running verifier reports a card revoked at its issuer
// within the revocation bound. Live key sets, DID documents and lists are
// refreshed in the background with conditional requests (If-None-Match /
// If-Modified-Since; a 304 renews the cached copy) once older than the
// issuer's Cache-Control max-age kept within [10 s, bound/2] (bound/2
// without one); one refresh per document runs at a time and verifications
// meanwhile use the cached copy, so none waits on a slow issuer. Past the
// bound the list is fetched before answering; if that fails, the message
// (RevocationRequired: revocation_unavailable, unable_to_check;
// RevocationBestEffort: a warning) says how old the last good list is, and
// a rid already on it stays revoked. The trade-off: a smaller bound shows
// revocations sooner but asks issuers more often and turns cards
// unable_to_check sooner when an issuer is unreachable. Stats counts
// Refreshes and NotModified answers.
//
// # Work budgets
//
// Each call of Verify, VerifyJWS or VerifyLink is one request with its own
// budgets (issue 10), so one input cannot cost more than a small bound:
//
//   - at most WithMaxCardsPerInput cards (default 100) in every form (shc:/
//     texts are counted before they are split; files and Parameters after
//     parsing; link files card by card): more is too_many_cards;
//   - at most WithMaxInflatedBytesPerInput inflated payload bytes for all
//     its cards together (default 16 MiB; each card alone is capped at 4
//     MiB by package shc): later cards fail with payload_too_large before
//     inflating;
//   - at most WithMaxIssuersFetchedPerInput distinct issuers fetched for
//     (key sets, DID documents, revocation lists; default 5; cached ones
//     are free), and no fetch the caller's ContextWithFetchLimit refuses:
//     past either, fetch_limited (or, for a revocation list, an unavailable
//     list, which fails closed or warns under best-effort);
//   - the context is checked before each card and before revocation, and
//     every fetch carries it, so a deadline ends the work
//     (deadline_exceeded).
//
// # Error codes
//
// Every failure is an *Error{Code, Step, Err}; match with errors.Is against
// the sentinels (ErrRevoked, ...; the shc sentinels for format codes) or
// read Code. Codes are stable:
//
//	code                    step        meaning
//	malformed_input         decode      not a JWS, shc:/ text, card file, Parameters or QR image
//	malformed_qr            decode      shc:/ text or QR image not well formed (QR-*)
//	chunk_missing           decode      a chunked card lacks a chunk (QR-6)
//	payload_too_large       decode/parse input, JWS or inflated payload over its limit
//	malformed_jws           parse       not a compact JWS, bad base64url or header (HDR-1)
//	unsupported_alg         parse       alg other than ES256 or zip other than DEF (HDR-2/3/8)
//	bad_payload_encoding    parse       payload not raw DEFLATE (HDR-7)
//	bad_payload             parse       claims missing or wrong, iss not https/DID (PAY-*, KEY-4)
//	untrusted_issuer        trust       iss in no trust source
//	key_not_found           key         no usable ES256 key with that kid for that iss
//	issuer_unreachable      key         key set or DID document could not be fetched or parsed
//	bad_signature           signature   the signature does not verify (HDR-5)
//	not_yet_valid           time        nbf after now + leeway (message says if nbf looks like milliseconds)
//	expired                 time        exp before now (PAY-3)
//	revoked                 revocation  rid listed in the key's revocation list (REV-8/9)
//	revocation_unavailable  revocation  revocation list needed but unavailable (REV-10)
//	bad_config              config      New: missing or contradictory options
//	too_many_cards          decode      input holds more cards (or shc:/ texts) than WithMaxCardsPerInput allows
//	fetch_limited           key         the request's fetch budget is used up (per-input issuers, caller limit); nothing fetched
//	deadline_exceeded       decode/revocation the context ended before every card was verified
//	image_unsupported       decode      an image was given but no decoder is wired in (WithImageDecoder)
//	malformed_link          link        not a shlink:/ (bare or after a viewer URL's '#'), or a bad payload (SHL-2..7)
//	link_unsupported_version link       payload v newer than 1; nothing fetched (SHL-8)
//	link_expired            link        payload exp has passed; nothing fetched
//	link_not_found          link        the server answered 404: unknown, revoked, expired or locked (SHL-10)
//	passcode_required       link        P flag and no passcode given (nothing sent)
//	passcode_wrong          link        401 from the server; LinkRemainingAttempts gives remainingAttempts
//	decrypt_failed          link        a file is no dir/A256GCM JWE under the key, or cty contradicts contentType (SHL-17)
//	malformed_manifest      link        the manifest breaks SHL-11
//	fetch_failed            link        a manifest or file fetch failed (network, timeout, refused address, status, size cap), or offline
//	too_large               link        manifest, file count or decrypted total over its bound
//	link_without_cards      link        Verify on a link that holds no card (only FHIR data: use VerifyLink)
//
// Images read with qr.DecodeImage may also give the shc/qr codes
// no_qr_found and image_too_large; a decoder error without a code is
// malformed_qr.
//
// # SMART Health Links
//
// VerifyLink resolves a shlink (shc-rules §13) with the caller's passcode
// and recipient: it fetches the manifest with POST (or a U link's file with
// GET) through the same guarded fetcher, decrypts every file, verifies each
// card of every application/smart-health-card file as above (one Result
// each, InputKind "shlink") and returns application/fhir+json files in
// LinkResult.UnverifiedFHIR, decrypted but NOT verified: nobody signed
// them. A location URL is never dereferenced more than an hour after its
// manifest (SHL-13); the whole call is bounded by LinkOptions.Timeout
// (DefaultLinkTimeout) and each fetch by the fetch timeout and size cap.
// Verify also accepts a link (text or QR image) and resolves it without a
// passcode, returning only its cards; a P link then fails with
// passcode_required, and the caller asks the user and calls VerifyLink.
//
// # Security considerations
//
//   - A link's label, flag and exp are unauthenticated hints from the
//     sharer, and so is every UnverifiedFHIR file: show them apart from
//     verified cards. The link's key and the passcode are never logged or
//     returned.
//   - New fails without a trust source. WithoutIssuerTrustUnsafe verifies
//     any issuer (fetching keys from an attacker-chosen iss) and reports it
//     as issuer_not_trusted, never verified; use it for diagnostics only.
//   - The trust policy runs before any fetch: a card from an untrusted
//     issuer causes no network traffic, in every trust mode; under
//     WithoutIssuerTrustUnsafe the per-input fetch budget still applies.
//   - A revocation list is fetched and parsed under one cap (MaxCRLBytes,
//     4 MiB, 100,000 rids). A list that cannot be had is never read as "not
//     revoked" silently: RevocationRequired fails, RevocationBestEffort adds
//     a warning and a "warning" revocation check.
//   - All fetching goes through package safehttp: https only, timeouts,
//     size caps, redirects only to the same origin, and no loopback,
//     private, link-local or IPv4-in-IPv6 destinations. WithPrivateOrigins
//     makes a scoped exception for the named origins' issuer material (key
//     sets, DID documents, revocation lists, trust sources) and never for
//     link manifests or files; WithAllowPrivateNetwork lifts the guard for
//     every fetch (tests, closed intranets).
//   - A failed fetch is reported in plain words ("the issuer's key set
//     could not be fetched", a *FetchError); the cause, which may name
//     internal addresses, resolvers or DNS answers, stays in the error
//     chain for logs and out of every Result message, so cards naming
//     chosen issuers cannot map the verifier's network.
//   - An unknown kid refetches the key set at most once per refetch
//     interval per issuer, so cards with made-up kids cannot make the
//     verifier hammer an issuer; a failing issuer is not retried within the
//     interval either. After a failed refetch a cached key set may be used
//     with a warning.
//   - Claims are reported only after the signature verified. The summary
//     is derived from the signed bundle; never trust text printed next to a
//     QR code (TRUST-4). A card is a bearer credential, not an ID (TRUST-5).
//   - Signed content is read by one strict reader (package shc, through
//     internal/jsonlite): repeated, escaped or case-variant member names
//     anywhere in the claims or bundle make the card bad_payload, so no
//     other verifier can read a different card from the same bytes. The
//     summary reads the same checked bundle with no lenient fallback.
//   - A key set (fetched, static or in a directory) that publishes private
//     key material ("d", RSA or oct private members) is refused as a trust
//     source (KEY-2).
//   - Inputs are bounded (package shc limits, directory 8 MiB and 10,000
//     issuers, 100 keys per issuer, 100,000 rids per list, fetched key sets
//     256 KiB, revocation lists 4 MiB). Caches are bounded by issuer count.
//   - Minimization departures (MIN-1..7) are warnings, never failures
//     (MIN-9): full cards for file or link delivery need not be minimized.
//   - x5c chains (PKI-1) are not evaluated; keys are trusted through the
//     trust sources only.
//
// # Compatibility
//
// Result's JSON form is versioned by ResultMediaType; fields may be added,
// never renamed or removed within v1. Codes never change meaning; new codes
// may be added. Options may be added; an option's default does not change.
// The DID support is a project extension (KEY-12) and is not needed for
// https issuers, whose jwks.json path stays primary.
package verifier
