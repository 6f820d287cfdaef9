// Command shc-issuer runs the SMART Health Cards issuer service for labs:
// `shc-issuer serve`, `shc-issuer tokens create|list`, and
// `shc-issuer keys rotate|list|retire|compromised`. Run `shc-issuer help`.
//
// # Data directory
//
//	DIR/keys/            key ring: ring.json and encrypted <kid>.jwk files (0600)
//	DIR/keys.passphrase  generated passphrase of the key files (0600)
//	DIR/rid-secret       generated rid HMAC secret (REV-3; 0600; never change it)
//	DIR/store/           SQLite database (WAL, synchronous=FULL)
//	DIR/tls/             development self-signed certificate (dev mode only)
//
// # Development mode and https
//
// SMART Health Card issuers must be https URLs (KEY-4), so development
// mode serves TLS itself with a self-signed certificate for localhost and
// 127.0.0.1, and iss defaults to https://localhost:PORT. Verifiers then
// need DIR/tls/cert.pem as a trusted root. Production mode requires real
// TLS (--tls-cert/--tls-key) or --behind-tls-proxy, an explicit --iss, and
// configured authentication (API tokens or --auth-issuer).
//
// # Security considerations
//
//   - The passphrase file sits next to the encrypted keys, which protects
//     against copies of the key files alone (backups, logs) but not against
//     an attacker who reads the whole data directory: in production keep
//     keys in an HSM (--pkcs11-*) or the passphrase elsewhere.
//   - Key ring changes by `keys rotate|retire|compromised` take effect in a
//     running server after a restart.
package main
