// Command shc-issuer runs the SMART Health Cards issuer service for labs:
// `shc-issuer serve`, `shc-issuer tokens create|list|revoke`, and
// `shc-issuer keys rotate|list|retire|compromised`, and
// `shc-issuer bulk issue|generate` (registry-scale issuing from FHIR Bulk
// Data NDJSON, package issuer/bulk), `shc-issuer staff|clients ...`, and
// `shc-issuer patients enrol|list|disable` (the desk's patient enrolment
// from the command line, printing the one-time sign-up code and URL). Run
// `shc-issuer help` (or any command with -h).
//
// The command owns flags and environment variables (every flag --name is
// also SHC_ISSUER_NAME, except the bulk command's own flags such as --in
// and --out; the key passphrase is SHC_ISSUER_KEY_PASSPHRASE,
// never a flag) and fills an issuer/service Config; the service itself is
// package issuer/service.
//
// # Data directory
//
//	DIR/keys/            key ring: ring.json and encrypted <kid>.jwk files (0600)
//	DIR/keys.passphrase  generated passphrase of the key files (0600; development only)
//	DIR/development-token the development API token (0600; development only)
//	DIR/rid-secret       generated rid HMAC secret (REV-3; 0600; never change it)
//	DIR/store/           SQLite database (WAL, synchronous=FULL)
//	DIR/identity.db, DIR/oauth.db  accounts, passkeys, grants (0600, with -wal/-shm)
//	DIR/tls/             development self-signed certificate (dev mode only)
//	DIR/batches/         batches submitted with POST /v1/batches: input, outputs, state (PHI; 0700)
//
// # Development mode and https
//
// SMART Health Card issuers must be https URLs (KEY-4), so development
// mode serves TLS itself with a self-signed certificate for localhost and
// 127.0.0.1, and iss defaults to https://localhost:PORT. Verifiers then
// need DIR/tls/cert.pem as a trusted root. Production mode requires real
// TLS (--tls-cert/--tls-key) or --behind-tls-proxy, an explicit --iss, and
// configured authentication (API tokens or an https --auth-issuer), and a
// key passphrase that is not in the data directory (--key-passphrase-file
// elsewhere, SHC_ISSUER_KEY_PASSPHRASE) or an HSM key (--pkcs11-*).
//
// # Security considerations
//
//   - In development the passphrase file sits next to the encrypted keys,
//     which protects against copies of the key files alone (backups, logs)
//     but not against an attacker who reads the whole data directory; so
//     --production refuses it and requires the passphrase from elsewhere or
//     an HSM.
//   - Behind a reverse proxy, --trusted-proxy names the proxies whose
//     X-Forwarded-For is believed (internal/clientip); the sign-up code and
//     OAuth request limits count per client by it. Without it the proxy is
//     every patient's one client.
//   - `patients enrol` prints a one-time code on the operator's terminal:
//     it is the patient's sign-up credential until used (24 h at most).
//   - Key ring changes by `keys rotate|retire|compromised` take effect in a
//     running server at its next request (the ring is watched; SIGHUP
//     forces a reread).
//   - Key files are encrypted with PBKDF2 at keys.DefaultPBES2Count
//     iterations, and rings refuse files below keys.MinPBES2Count. The test
//     work factor (keys.WithTestWorkFactor) is set only from _test.go files
//     through an unexported variable: the built command cannot enable it.
package main
