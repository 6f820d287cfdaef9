// Package wallet is the reference wallet behind "shc wallet": a private
// folder of verified SMART Health Cards and a SMART App Launch client that
// fetches them from an issuer's FHIR server with $health-cards-issue.
//
// The pieces:
//
//   - Wallet (Open): the folder. Cards are kept one file each
//     (cards/ID.json: the JWS and what verification said about it), the
//     connection (connection.json: the FHIR base, endpoints, client id,
//     trusted issuers; no secret) and the grant (grant.jwe: the token
//     response, encrypted).
//   - Client: discovery (FHIR-BASE/.well-known/smart-configuration), Connect
//     (authorization code with PKCE S256, state, aud = FHIR base, a
//     loopback redirect on 127.0.0.1 with a random port, RFC 8252) and
//     Import ($health-cards-issue with credentialType and _since, OP-3/4),
//     on golang.org/x/oauth2.
//   - Keep: verify every card with package verifier before keeping any.
//
// # Security considerations
//
//   - The folder is 0700 and every file 0600; a folder or file open to group
//     or others, or a symbolic link, is refused (wallet_insecure), never
//     repaired silently. Writes are atomic (temporary file, fsync, rename).
//   - Unix only: those checks are Unix mode bits and the lock is flock. On
//     a system without them (Windows, Plan 9, wasm) Open refuses with
//     wallet_unsupported_platform ("the wallet needs a Unix file system")
//     instead of running with no privacy check and no lock.
//   - The grant (access and refresh tokens, patient, authorization_details)
//     is a compact JWE PBES2-HS512+A256KW / A256GCM under the wallet
//     passphrase: the same construction and PBKDF2-HMAC-SHA512 work factor
//     (600,000 iterations, below 100,000 refused) as the project's encrypted
//     key files (package keys), so one KDF is reviewed for both. A new
//     grant needs a passphrase of at least 12 characters
//     (passphrase_too_short); an existing one keeps its passphrase. A key kept
//     beside the tokens would protect nothing; the operating system's
//     keychain is not reachable from the standard library on every
//     platform. Cards are not encrypted: they are the person's own signed
//     copies, protected by the folder's mode.
//   - Rotating refresh tokens: each import refreshes under an exclusive
//     lock (flock) and stores the new grant before the access token is
//     used, so a crash or a parallel import never reuses a spent token.
//   - Every request goes through safehttp (https, public addresses). A FHIR
//     server on loopback or a private network must be allowed by origin at
//     connect (--allow-private-network), and only that origin is.
//   - Cards are trusted when their iss is the FHIR base or one of its path
//     prefixes on the same origin (TrustedIssuersFor): the TLS origin the
//     person authorized. Other issuers need the caller's trust sources.
//     One card that does not verify refuses the whole answer.
//   - The loopback listener takes exactly one redirect within a time
//     limit; a wrong state or an error answer ends the connect.
//   - A reconnect (Replace) first revokes the refresh token it replaces
//     (RFC 7009), best effort: a live grant is not silently forgotten.
//   - Tokens, the patient id and card content never appear in errors; an
//     OAuth failure is named by its error code only.
package wallet
