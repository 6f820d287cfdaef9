// Package oauth is the issuer's built-in authorization server (issue 13):
// SMART App Launch 2 standalone patient launch for wallets, built on
// github.com/zitadel/oidc/v3's op (an OpenID-certified provider library),
// with the consent and connected-apps pages. It is optional: an external
// authorization server keeps working through issuer/auth's JWTConfig.
//
// Endpoints (relative to the service's base URL, the OpenID issuer):
// /oauth/authorize (GET and POST), /oauth/token, /oauth/revoke (RFC 7009),
// /oauth/introspect (RFC 7662, confidential clients, their own tokens),
// /oauth/userinfo, /oauth/jwks and /.well-known/openid-configuration; the
// pages /oauth/consent (person picker for guardians, consent) and
// /account/apps (connected apps, withdrawal). Server.Metadata feeds the
// FHIR server's /fhir/.well-known/smart-configuration.
//
// Flow: the app sends the person to /oauth/authorize with PKCE (S256),
// aud = the FHIR base and SMART scopes; without a patient session the
// person is sent to /account/signin?next=…; a guardian picks whose cards
// (themself or a ward, People); the consent page says which app asks for
// which card types since when, and the person can narrow it (card types,
// a later date, sensitive results left out). The answer is a Grant,
// remembered per app and person, from which every token's
// authorization_details (type healthcards:cards, issuer/authz) is built.
// Access tokens are ES256 JWTs for 5 minutes with iss, aud (the FHIR base
// and the client), sub (the account), scope, patient, fhirUser
// (Patient/ID or RelatedPerson/ID), authorization_details and grant_id;
// the token response adds patient and authorization_details. issuer/auth
// verifies them in process (auth.LocalJWT) and looks the token up once per
// request (Store.GrantActive), so a withdrawn grant stops its access
// tokens at once.
//
// State lives in the database (internal/sqldb): DIR/oauth.db (SQLite) for
// one process, the issuer's PostgreSQL (tables oa_*) for replicas. Nothing
// that must be decided once is decided in memory: a code is redeemed by one
// conditional UPDATE, a refresh token rotated by one, a grant withdrawn by
// one. The signing key is shared the same way (keydb secret SecretName
// under --kek-file, else DIR/oauth-signing-key.jwk, 0600).
//
// # Security considerations
//
//   - PKCE with S256 is required of every client, public or confidential;
//     plain and a missing challenge are refused (invalid_request). Only
//     response_type=code and the authorization_code and refresh_token
//     grants exist; request objects, JWT client assertions and id_token
//     hints are refused.
//   - The client and its redirect URI are checked before anything is
//     redirected: an unknown client or an unregistered URI gets an error
//     page, never a redirect (no open redirector). URIs match exactly; a
//     public client's loopback URI may differ in its port only (RFC 8252).
//   - aud must be the FHIR base (SMART); tokens are audience-bound to it.
//   - Public endpoints are bounded: state and nonce at most MaxStateBytes,
//     Config.RequestsPerMinute authorize and token requests per client
//     address (an IPv6 /64) counted in the database, and at most
//     Config.MaxOpenRequests authorization requests awaiting an answer.
//   - Codes (256 bits), refresh tokens (256 bits) and client secrets are
//     stored as SHA-256 only. A code lives one minute and is single use; a
//     code presented again revokes every token issued from it. Refresh
//     tokens rotate on every use; a rotated one presented again revokes its
//     whole family (RFC 9700, section 4.14.2). A family lives
//     RefreshTokenTTL from the code redemption: rotation keeps its expiry.
//   - The consent form carries the session's CSRF token and a per-request
//     form token (stored hashed, consumed by the answer); the request is
//     bound to the first account that opens it; an Origin from elsewhere
//     is refused. Deny answers access_denied.
//   - Sensitive results are left out unless the person ticks them
//     ("sensitive": false in the token's details, enforced by
//     issuer/authz even for the person's own cards).
//   - Withdrawing a grant revokes its refresh tokens at once and its access
//     tokens from their next use. Removing a client withdraws its grants.
//   - Nothing here logs tokens, codes, secrets or patient ids. The op
//     library logs OAuth error types through slog's default logger.
package oauth
