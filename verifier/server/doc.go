// Package server is the HTTP service over the SMART Health Cards verifier
// library (package verifier), built on echo v5: the API for apps, the
// scanning page for venues (package verifier/web, embedded), health,
// readiness and Prometheus metrics. Both services have one shape: the
// command (cmd/shc-verifier here, cmd/shc-issuer for issuer/service) owns
// flags and environment and fills a configuration (Options); NewService
// checks it, loads the trust sources and binds the address; Service.Run
// serves until its context ends.
//
// # Routes
//
//   - POST /v1/verify: card input as JSON {"input": "..."} (compact JWS,
//     shc:/ text with legacy chunks in any order, .smart-health-card file
//     contents, FHIR Parameters), as a raw application/smart-health-card,
//     text/plain, image/png or image/jpeg body, or as a multipart upload
//     (part "image" or "file", else "input"). The answer holds the worst
//     verdict (invalid > issuer_not_trusted > unable_to_check > verified;
//     unable_to_check means "not checked", never a bad card), a
//     plain-words message, an advice line for staff, the entry-rule result
//     (--entry-rules) and per card the library's Result (verdict, advice,
//     checks, errors, summary, entry) with plain-words reasons. Problem
//     documents carry a verdict and advice too. The FHIR bundle is
//     included only with ?include=bundle.
//   - POST /v1/verify also takes a SMART Health Link (shlink:/…, bare or
//     behind a viewer URL, as text or as a QR image) with an optional
//     passcode ("passcode" in the JSON body or the multipart form; refused
//     in the URL). A P link without one answers 401 passcode_required, a
//     wrong one 401 passcode_wrong with remainingAttempts; revoked, locked
//     or expired links answer link_not_found or link_expired in plain
//     words. The link's cards are verified like any other; its
//     application/fhir+json files are summarised under link.unverifiedFhir
//     (types and counts, the data only with ?include=bundle), marked NOT
//     verified.
//   - GET /healthz (liveness), GET /readyz (trust sources loaded and not
//     stale), GET /metrics (Prometheus text format), GET /openapi.json.
//   - GET / and /static/*: the scanning page.
//
// Errors are RFC 7807 problem documents (application/problem+json) with a
// stable "code" member and a "title" in plain words.
//
// # Metrics
//
// GET /metrics writes the Prometheus text format by hand (no client
// library): shc_verifier_verifications_total{verdict},
// shc_verifier_verification_failures_total{code},
// shc_verifier_verify_duration_seconds (histogram, 0.5 ms to 10 s),
// shc_verifier_fetch_failures_total{source} (directory: trust sources
// loaded by Trust; issuer, revocation: fetch failures reported in card
// results), shc_verifier_trust_source_loads_total, shc_verifier_problems_total,
// shc_verifier_http_responses_total, shc_verifier_ready and Go runtime gauges,
// shc_verifier_link_resolutions_total{outcome} (ok, passcode_required,
// passcode_wrong, link_not_found, link_expired, ...), and the library's
// counters (verifier.Stats, when Config.Verifier has a Stats method):
// shc_verifier_keyset_cache_hits_total, _keyset_cache_misses_total,
// _crl_cache_hits_total, _crl_cache_misses_total, _library_fetches_total,
// _library_fetch_failures_total, _library_fetches_refused_total,
// _library_not_modified_total (conditional fetches answered 304) and
// _library_refreshes_total (background refreshes of cached issuer
// documents; see verifier.WithRevocationMaxAge).
//
// # Trust and defaults
//
// Trust sources (--trust FILE|URL: a VCI-style directory snapshot or a
// vci-issuers.json trust list) are the library's (verifier.WithTrustSource):
// Trust only calls verifier.Reload every --refresh, counts and logs each
// source's outcome, and serves verifier.TrustReady at /readyz (not ready
// until every source has loaded once, or when one is older than
// --max-age). A reload that fails keeps the last good copy and the
// verifier's key-set and revocation caches. With no trust source at all the service still
// starts, with a loud warning: it checks cards from any issuer
// (verifier.WithoutIssuerTrustUnsafe) and can then say "issuer not trusted"
// at best, never "verified". The VCI directory is not embedded and not
// fetched by default: it is not reachable offline and trusting it is the
// operator's decision.
//
// # Security considerations
//
//   - Nothing is stored: cards are verified in memory and forgotten. Logs
//     hold verdicts, codes, sizes and timings only; never names, birth
//     dates, bundles, issuer claims, raw input, client addresses or
//     request URLs with queries. Panics and internal errors are logged by
//     type, not value.
//   - A SMART Health Link and its passcode are secrets: they are sent to the
//     link's server only (through the library's guarded fetcher), never
//     logged, never stored, never echoed in problem details; the passcode
//     is accepted only in the request body. Wrong-passcode lockout is the
//     link server's job; the per-IP rate limit also bounds guessing here.
//   - Every input is bounded: request bodies (MaxBodyBytes, 413), multipart
//     parts (8), verification time (VerifyTimeout), concurrent
//     verifications (MaxConcurrent), large requests (over LargeBodyBytes,
//     images, uploads: MaxConcurrentLarge slots taken before the body is
//     read, so costly requests cannot starve small ones), the estimated
//     decoding memory of images at once (ImageCost, MaxImageMemoryBytes:
//     charged before decoding, an image over the whole budget or over
//     MaxImageBytes, 64 MiB by default, refused with image_too_large),
//     fetches per
//     client IP per minute (FetchesPerClientPerMinute), and the
//     per-client-IP rate (429 with Retry-After). The library bounds cards,
//     inflated bytes and issuers fetched per input, and JWS, payload, QR
//     and image sizes. The answer holds at most the library's card limit
//     of entries; the log line of a verification holds verdict counts and
//     the first five codes, never one entry per card.
//   - JSON request member names are matched exactly ({"INPUT": …} and
//     repeated members are refused).
//   - The client IP for rate limiting is the direct peer unless
//     --trusted-proxy names the proxies whose X-Forwarded-For is believed
//     (internal/clientip: the rightmost hop that is not one of them; only
//     the named ranges, not every private or loopback peer).
//   - Every response carries a strict Content-Security-Policy (scripts,
//     styles, images and fetches from this origin only; no inline script;
//     no framing), nosniff, no-referrer and a Permissions-Policy that
//     allows the camera for this origin only. API answers are no-store.
//   - Browsers may call the API cross-origin only from --cors-origin
//     origins, without credentials.
//   - Trust directories and lists given by URL are fetched by the library
//     through its guarded client (safehttp: https only, public addresses
//     only, size caps and timeouts), with their detached signatures when
//     --directory-cert is given. Issuer key sets are fetched by the library only for
//     trusted issuers, except in the no-trust-source default, where an
//     attacker-chosen issuer URL is fetched (still through the guarded
//     client): configure trust sources in production.
//   - --allow-private-origin ORIGIN lets the key sets, DID documents and
//     revocation lists of that origin come from a private address (the
//     companion verifier of shc-issuer serve names its issuer's origin);
//     SMART Health Links are never fetched from private addresses unless
//     --allow-private-network lifts the guard altogether.
//   - A failed fetch is answered in plain words ("the issuer's key set
//     could not be fetched"); the URL and transport error, which may name
//     internal addresses, resolvers or DNS answers, go to the log only
//     ("fetch failed", at most three lines per request).
//   - The service reads QR photos and SVGs by wiring shc/qr's decoder into
//     the library (verifier.WithImageDecoder); the library alone reads text.
//   - Phones open the camera only on HTTPS pages (or localhost): serve with
//     --tls-cert/--tls-key or behind a TLS-terminating proxy.
package server
