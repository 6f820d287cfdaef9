// Package sqlite is the embedded store.Store: one SQLite database file
// (modernc.org/sqlite, pure Go) in the issuer's data directory. It is the
// default for a single replica; use package store/postgres for several.
//
// Open creates <dir>/issuer.db and applies the embedded, versioned
// migrations (table schema_migrations) in one transaction. A database
// written by a newer release is refused with store.ErrSchemaTooNew.
//
// # Durability and concurrency
//
// The database runs in WAL mode with synchronous=FULL: a write has been
// fsynced to the WAL when the method returns, so an acknowledged
// revocation survives a process crash or power loss. All writes go through
// a single connection (one writer, as SQLite allows only one anyway), with
// write transactions that take the lock at BEGIN (BEGIN IMMEDIATE); reads
// use a small pool of read-only connections that never block the writer.
// Concurrent PutCard calls are group-committed: one transaction (one
// fsync) acknowledges every card waiting at that moment, each in its own
// savepoint so a conflict refuses only that card.
// Other processes (for example "shc-issuer tokens create") may open the same
// file; they wait up to 10 s for the lock.
//
// # Security considerations
//
// The data directory is created 0700 (an existing one open to group or
// others is tightened) and the database files are 0600: they hold clinical
// data and token hashes. The database is not encrypted: protect the disk.
// Errors name the operation and never quote stored JSON or JWS.
package sqlite
