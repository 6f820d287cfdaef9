// Package safehttp is the guarded HTTP client that every outbound fetch of
// the project goes through: issuer key sets, DID documents, revocation
// lists, trust directories, OAuth key sets and SMART Health Link manifests
// and files. It is public so that an embedder can build the exported
// configurations that take one (verifier.WithFetchClient, did.Resolver,
// shl.Client, auth.JWTConfig, server.TrustConfig); the guard is inside the
// type, so no configuration can hand the project an unguarded client.
//
// # Security considerations
//
// The URLs it fetches are often chosen by an attacker (a card's iss, a link's
// url), so the client fails closed:
//   - https only (plain http only with Config.AllowHTTP, meant for tests);
//   - the address actually dialled is checked after DNS resolution, so a name
//     that resolves to loopback, private (RFC 1918, RFC 4193), link-local,
//     CGNAT, multicast, unspecified, documentation or deprecated addresses is
//     refused, and so are the IPv6 forms that embed or reach an IPv4 address
//     (::127.0.0.1, 6to4 2002::/16, NAT64 64:ff9b::/96 and 64:ff9b:1::/48,
//     Teredo 2001::/32) and site-local fec0::/10 (see [PublicAddr]);
//   - exceptions are scoped: Config.PrivateOrigins lets only the named
//     origins reach private addresses (a companion service's own issuer on
//     loopback), while Config.AllowPrivateNetwork lifts the guard for every
//     URL and is for tests and closed intranets only;
//   - redirects are followed only to the same scheme, host and port, at most 3;
//   - every response body is read through a size cap, and every request has a
//     timeout; environment proxies are ignored.
//
// Errors name the refused address so that operators can act on them; they
// are for logs, not for answers to unauthenticated callers (the verifier
// service answers with plain words and logs the detail).
package safehttp
