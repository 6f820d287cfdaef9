// Package issuer is the issuing core of a SMART Health Cards issuer service,
// without HTTP (see issuer/httpapi for the HTTP API, issuer/service for the
// service that opens the data directory and serves it, and cmd/shc-issuer for
// the binary).
//
// An Issuer validates FHIR R4 bundles from lab systems (a Patient with an
// id; Observation, Immunization and DiagnosticReport resources about it;
// supporting Organization, Practitioner, PractitionerRole, Specimen,
// Location and Device resources; every reference resolvable), splits them
// into granular cards (PAY-10: one card per lab test event, immunizations
// grouped per disease by the CVX vaccine groups of package terminology, labs never mixed with
// immunizations; each card also carries the supporting resources its
// content references, so a performer still names the lab), narrows the Patient to
// name and birth date, minifies each card bundle (MIN-1..7), signs it with
// the active key of a KeySet (keys.Ring, or StaticKeys for an HSM key) and
// records it with an audit event in the store. Every card carries
// rid = base64url(HMAC-SHA-256(secret‖kid, patient id)[:8]) (REV-3).
//
// HealthCardsIssue implements the $health-cards-issue logic (OP-3..11)
// over a Source: the service's own store (StoreSource) or an upstream FHIR
// server (FHIRSource). Revoke, CRL and JWKS implement REV-4..7: one
// service-wide counter, bumped atomically and durably by the store, is the
// CRL ctr and every key's crlVersion.
//
// # Size rule
//
// A card meant for a QR code must fit one version-22 QR at the configured
// error-correction level (SIZE-3: 1195 characters at L, 927 M, 670 Q,
// 519 H); otherwise IssueBundle fails with card_too_large_for_qr, unless the
// caller asked for DeliverQRChunks (deprecated legacy chunks) or
// DeliverFile. Cards are minified for every delivery: dropping ids,
// narratives and displays also keeps less data on the card.
//
// # Security considerations
//
//   - Fail closed: New refuses a non-https iss (KEY-4), a missing key set,
//     store or rid secret. Unknown credential types and value sets match
//     nothing rather than everything (OP-5, OP-7).
//   - Cards carry only Patient.name and Patient.birthDate of the Patient
//     (includeIdentityClaim can narrow further, never widen), never
//     telecom, address or identifiers.
//   - Inputs are bounded: bundle bytes (DefaultMaxBundleBytes), entries
//     (MaxBundleEntries), JSON nesting, references per resource, resources
//     per patient from a Source (MaxSourceResources); FHIRSource responses
//     are size-capped, time-limited, not redirected, paged at most MaxPages
//     times, and resources whose subject is another patient are dropped.
//   - Error messages (OperationOutcome) quote only what the caller sent and
//     never store or key errors; logs carry counts, kids and actors, never
//     PHI, tokens or keys.
//   - The rid secret must stay secret: with it and a kid, anyone can test
//     whether a patient id is revoked (REV-2). Never change it: old rids
//     could no longer be computed (REV-3).
//   - Unsafe payload access (shc UnsafePayloadWithoutVerification) is used
//     only on cards this issuer itself signed.
package issuer
