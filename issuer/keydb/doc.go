// Package keydb keeps the issuer's key ring and shared secrets in the
// database, so that several issuer replicas on one PostgreSQL database (or
// one process on SQLite) share them without shared files.
//
// Each private key is envelope-encrypted: a fresh AES-256-GCM data key
// seals the private JWK, and the data key is sealed under the key-encryption
// key (KEK), which never enters the database (`--kek-file`, a 0600 file of
// 32 random bytes in base64, or, with NewTokenKEK, an AES-256 key in a
// PKCS#11 token that encrypts and decrypts the data keys itself and never
// leaves it). The public JWK, the state (active, published
// — rotated out but still verifying, i.e. retiring —, retired, compromised)
// and the times are plain columns; a retired or compromised key's sealed
// private key is deleted. The rid secret (REV-3) and the SMART Health Link
// location secret are sealed the same way and created once: of replicas
// starting together, the first insert wins and all read it back.
//
// Every change (Rotate, Retire, Compromised, EnsureActive, Import) is one
// transaction that first locks and increments the ring's version row, so
// changes from any replica are serialized, and on PostgreSQL notifies
// NotifyChannel at commit. A Ring (Store.Watch) is the key set a replica
// serves: it reloads on a notification (LISTEN) and polls the version
// every DefaultPoll (2 s) in case one is lost, so every replica sees a
// change within that bound, and replicas at the same version publish the
// same JWKS (built from the public columns). crlVersion stays the issuer
// store's single revocation counter (REV-4, REV-7), which only grows.
//
// # Security considerations
//
// The database alone opens nothing: a dump holds sealed values and public
// keys. Sealed values are bound to their row (the kid or secret name is
// authenticated data), so one cannot be swapped into another row, and a
// value sealed under another KEK is reported as such (CodeWrongKEK) rather
// than as damage. Deleting a sealed key does not scrub it from PostgreSQL's
// dead tuples, WAL or backups before they are vacuumed or expire: treat
// backups as holding every key the ring ever had, still protected by the
// KEK. Keep the KEK off the database host and out of backups of the
// database; losing it loses every key and the rid secret. A token KEK cannot
// be copied off the host, but a process holding the PIN can still ask the
// token to open data keys while it runs: it protects against theft of the
// KEK, not against a compromised replica.
package keydb
