// Package service runs the SMART Health Cards issuer service: it opens the
// data directory (store, key ring or HSM key, rid and link secrets, the
// development certificate), builds the issuer, its authentication and the
// HTTP API (issuer/httpapi), binds the listener and serves.
//
// It is the library half of `shc-issuer serve`: the command (cmd/shc-issuer)
// owns flags and environment variables and fills a Config; New checks the
// Config, opens everything and binds the address; Run serves until its
// context is done. The verifying service the command can start beside the
// issuer is the command's business (verifier/server), not this package's.
//
// # Security considerations
//
//   - Production (Config.Production) fails closed: it needs TLS (or a TLS
//     proxy, KEY-3), an explicit https or DID iss (KEY-4), authentication
//     (API tokens or an https authorization server), and a key passphrase
//     that is not stored in the data directory beside the keys it protects
//     (a file elsewhere, the environment, or an HSM instead of the ring).
//   - Development mode generates what a first start needs: a self-signed
//     certificate, an encrypted key ring whose passphrase is DIR/keys.passphrase
//     (0600), and an all-scope API token kept in DIR/development-token
//     (0600) so that it is printed again if a start fails. A production
//     start refuses a data directory that still holds that file.
//   - Secrets are never logged; the development token is written only to
//     Config.Stdout, the operator's terminal.
package service
