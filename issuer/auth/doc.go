// Package auth authenticates callers of the issuer service: lab systems by
// API tokens the service stores hashed, or by JWT access tokens from a
// configured authorization server; wallets by SMART on FHIR access tokens
// from that server or from the issuer's own (issuer/oauth, Config.Local).
//
// # Security considerations
//
//   - API tokens are 32 random bytes shown once; only their SHA-256 is
//     stored, and the looked-up hash is compared in constant time.
//   - JWT access tokens are verified against the authorization server's
//     JWKS with a pinned algorithm list (ES256, RS256), and issuer,
//     audience and expiry (60 s leeway) are always checked: an empty
//     expected issuer or audience is a configuration error, never "skip".
//   - Tokens of the issuer's own authorization server (LocalJWT) are
//     recognised by their kid, verified with its public key in process
//     (ES256 only, iss, aud, exp without leeway: one clock), and accepted
//     only while their jti is issued, not revoked, and their grant not
//     withdrawn (GrantChecker: one indexed database lookup per request).
//     They must carry what only access tokens have (jti, client_id, scope,
//     grant_id) and none of the ID-token claims (at_hash, nonce): an ID
//     token signed with the same key is never a bearer token.
//   - Tokens stay in their lane: lab scopes (cards:issue, cards:revoke,
//     results:write) count only for API tokens and for JWTs of system
//     clients registered in JWTConfig.SystemClients (only the scopes
//     registered, only without a "patient" claim). A token with a
//     "patient" claim reaches that patient only: its lab and system/
//     scopes are dropped, whatever its scope string says.
//   - Audit actors of JWT callers are keyed hashes (Config.AuditKey) of the
//     patient claim or subject, never raw patient ids.
//   - Tokens are never logged; Principal prints only its id and scopes.
package auth
