// Package did resolves did:key and did:web identifiers to ES256 keys. It is
// a project extension: DIDs are not part of SMART Health Cards (KEY-12), whose
// only key discovery is iss + "/.well-known/jwks.json". Nothing here replaces
// or weakens that path for https issuers; use it only where a deployment
// chose DID issuers on purpose.
//
// # did:key
//
// Only P-256 keys: "did:key:z" + base58btc(varint(0x1200) || 33-byte
// compressed SEC1 point), as in the W3C CCG did:key method. KeyFromPublic and
// ParseKey convert; ParseKey accepts exactly the canonical encoding.
//
// # did:web
//
// WebURL maps a did:web to the https URL of its document and WebBase gives
// the https base (for a did:web issuer, revocation lists live at WebBase +
// "/.well-known/crl/<kid>.json"). Parsing is strict: a DNS host (no IP
// literals), an optional "%3A<port>", path segments of [A-Za-z0-9._-] that
// are never "." or "..", no percent-encoding elsewhere, no fragment, query
// or parameters.
//
// # Documents and keys
//
// NewDocument writes a document with one JsonWebKey2020 method per key, id
// "<did>#<thumbprint>", in assertionMethod and authentication. Document.Keys
// returns only keys a credential issuer signs with: assertionMethod entries
// that are JsonWebKey2020, controlled by the DID, with fragment = RFC 7638
// thumbprint (so it equals the JWS kid, HDR-4) and an EC P-256 ES256 key.
//
// # Security considerations
//
//   - did:web documents are fetched only through safehttp (https,
//     no private addresses unless configured, size cap, timeout, same-origin
//     redirects), capped again at MaxDocumentBytes, and must carry the
//     resolved DID as id (ErrMismatch otherwise).
//   - A did:web is only as trustworthy as the DNS and TLS of its host. A
//     verifier still needs a trust decision (a directory, an allow list) for
//     the DID itself; resolving it proves nothing about who it is.
//   - Every error is an *Error with a stable Code.
package did
