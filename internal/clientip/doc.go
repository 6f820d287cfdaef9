// Package clientip finds the address of the client behind the trusted
// reverse proxies in front of a service: the issuer's enrolment-code limit
// and the verifier's per-client limits count by it.
//
// Parse reads the proxies' addresses (CIDRs, from --trusted-proxy);
// Proxies.ClientIP walks X-Forwarded-For from the right, starting at the
// connection's peer, and returns the first address that is not a trusted
// proxy: the rightmost untrusted hop.
//
// # Security considerations
//
//   - X-Forwarded-For is read only when the connection's peer is one of
//     the trusted proxies; any other peer is the client, whatever header
//     it sends. Without proxies the peer is always the client.
//   - Only the configured ranges are trusted: unlike echo's
//     ExtractIPFromXFFHeader defaults, loopback and private addresses are
//     not proxies unless listed, so a client on the same private network
//     cannot name itself with a forged header.
//   - Hops a client prepends are never reached: the walk stops at the
//     first untrusted address, the one the nearest trusted proxy saw. An
//     unparsable hop stops the walk at the trusted proxy that added it,
//     so garbage collapses clients into that proxy's key (stricter), never
//     into a key of the client's choosing.
package clientip
