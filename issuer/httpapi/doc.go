// Package httpapi is the HTTP interface of the issuer service (echo v5).
//
// Lab API (bearer tokens with scopes, see issuer/auth):
//
//	POST /v1/results                 FHIR Bundle → stored (results:write)
//	POST /v1/cards                   FHIR Bundle → cards (cards:issue); ?delivery=qr|chunks|file,
//	                                 reply by ?format= or Accept: json (default, with links),
//	                                 jws, smart-health-card, png, svg, txt
//	GET  /v1/cards/{id}.{jws|smart-health-card|png|svg|txt}
//	POST /v1/revocations             {"patientId"|"rid", "kid"?, "issuedBefore"?|"all"?} (cards:revoke):
//	                                 by default the cards issued up to now ("rid.T", REV-5), so a
//	                                 card issued afterwards is valid; "all": true revokes future ones too
//	GET  /cards/{id}/print           printable card (A4 and US Letter); its summary is
//	                                 verifier.Summarize, the names a verifier shows
//
// SMART Health Links (mounted with NewLinks(...).Mount; SHL-1..22):
//
//	POST   /v1/links                 {"patientId"|"bundle", "sign"?, "passcode"?, "exp"?|"noExpiry"?, "label"?,
//	                                 "longTerm"?, "viewer"?} → shlink:/ URI, payload, QR link (cards:issue)
//	                                 without "exp" a link expires after LinksConfig.DefaultExpiry (30 days)
//	GET    /v1/links/{id}            status and access log (the creating token, or the patient's SMART token)
//	DELETE /v1/links/{id}            revoke (cards:revoke, or the patient's SMART token)
//	POST   /shl/{manifest-id}        manifest requests (recipient, passcode, embeddedLengthMax)
//	GET    /shl/...                  U-flag files (?recipient=) and short-lived location URLs
//
// Wallets (SMART on FHIR access tokens):
//
//	GET  /fhir/.well-known/smart-configuration   capabilities incl. "health-cards" (OP-1)
//	GET  /fhir/metadata                          CapabilityStatement with the operation
//	POST /fhir/Patient/{id}/$health-cards-issue  (OP-3..11)
//
// Authorization (issue 12): every access to patient data — the
// $health-cards-issue operation, card downloads, print pages, link creation
// from a patient's data and revocations — is decided by one issuer/authz
// Engine (Config.Authz, LinksConfig.Authz; the embedded default policies
// when nil), which also filters the cards by the token's scopes,
// authorization_details and the patient's consent (docs/authorization.md).
// A denial is a 403 OperationOutcome naming the reason; a token whose
// permissions leave no card is told which type or scope was missing.
//
// Publishing: /.well-known/jwks.json (CORS *, crlVersion on every key),
// /.well-known/crl/{kid}.json, /.well-known/did.json for did:web issuers,
// /healthz. Config.Mount adds routes (the SMART Health Links above, and
// Batches: registry-scale issuing with issuer/bulk, POST /v1/batches with
// NDJSON files or a ZIP (outputs=…,link for a SMART Health Link per
// patient, made by Links.CardLink), GET /v1/batches/{id} with progress,
// then results.ndjson (its line count in X-Results-Count, sent before the
// body, so a cut stream shows) and the files; scope cards:issue, each batch visible
// to its submitter only). Batches live in the database (bulk.Manager): any
// replica answers for any batch and renders its files from the stored
// cards.
//
// Operations: GET /readyz (200 when the store answers and a signing key is
// active and published, else 503 in plain words), GET /metrics (Prometheus
// text, internal/promtext: shc_issuer_cards_issued_total,
// shc_issuer_revocations_total, shc_issuer_links_created_total,
// shc_issuer_errors_total{code}, shc_issuer_http_responses_total{status},
// shc_issuer_request_duration_seconds; no patient ids, tokens or paths),
// GET /openapi.json (the whole API; a test checks it against the router).
//
// Every error is a FHIR OperationOutcome whose details.coding carries a
// stable code (urn:healthcards:issuer:error), with 400, 401, 403, 404, 413,
// 422 (card_too_large_for_qr), 502, 503 or 500.
//
// # Security considerations
//
//   - Every write endpoint needs a bearer token; $health-cards-issue needs a
//     SMART JWT whose patient-level read scopes cover the requested types
//     and whose "patient" claim is {id} (403 otherwise), or a system-level
//     read scope. Cards with types the token may not read are left out.
//   - Card downloads and print pages are capability URLs: the card id is
//     128 random bits, replies are Cache-Control: no-store, and
//     Referrer-Policy is no-referrer so links do not leak. Whoever holds
//     the link can fetch the card, as whoever holds the card can present
//     it (a card is a bearer credential).
//   - Request bodies are capped (MaxBodyBytes; 64 KiB for Parameters,
//     16 KiB for revocations); every request has a deadline.
//   - Headers: nosniff, no-referrer, frame denial, a restrictive CSP (the
//     development page runs only nonce'd inline script), HSTS when set.
//   - Logs have method, route pattern, status and duration: never the path
//     (it holds patient and card ids), query, body, token or key.
//   - A revocation is acknowledged only after the store committed it
//     durably.
//   - /metrics, /readyz and /openapi.json are public: counts, plain-words
//     readiness and the API shape only; the readiness cause goes to the
//     log. Put /metrics behind the proxy's access rules if counts matter.
package httpapi
