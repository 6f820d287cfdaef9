// Package sqlstore is the issuer's one SQL store: a Store implementing
// every interface of package store (store.Store) on database/sql, for
// SQLite (modernc.org/sqlite, pure Go; OpenSQLite, the embedded default)
// and PostgreSQL (pgx through its stdlib driver; OpenPostgres, for several
// replicas). It follows the design of shl/sqlstore and shares its layer,
// internal/sqldb: one dialect type, one set of SQLite pragmas, one
// migration runner.
//
// Every statement is written once, with ? placeholders rewritten for
// PostgreSQL and upserts as INSERT ... ON CONFLICT, which both accept.
// What differs per dialect is small and explicit: the DDL of each
// migration (migrations/sqlite, migrations/postgres; same tables, columns
// and constraints), how a time is held (INTEGER Unix microseconds in
// SQLite, TIMESTAMPTZ in PostgreSQL), the isolation of a CRL snapshot, and
// the group commit below.
//
// # Migrations
//
// Open* applies the embedded, versioned migrations in one transaction
// (table schema_migrations, unchanged since release 1, whose
// 0001_init.sql files stay the first migrations: existing data
// directories and databases open and keep their data). On PostgreSQL the
// transaction first takes an advisory lock keyed by the current schema, so
// replicas starting together migrate once. A database migrated by a newer
// release is refused with store.ErrSchemaTooNew.
//
// # Durability and concurrency
//
// Every method that writes has committed durably when it returns nil.
// SQLite runs in WAL mode with synchronous=FULL, foreign keys on and a
// 10 s busy timeout; all writes go through one connection whose
// transactions start with BEGIN IMMEDIATE, reads use a small pool of
// read-only connections. Concurrent PutCard calls on SQLite are
// group-committed: one transaction (one fsync) acknowledges every card
// waiting at that moment, each in its own savepoint so a conflict refuses
// only that card. PutCards (issuer.CardBatchStore, which the issuer uses
// for every issuance) writes one issuance's cards all or none, so a replica
// resuming a bulk batch never finds part of a patient's set. Other processes (for example "shc-issuer tokens create")
// may open the same file; they wait for the lock.
//
// PostgreSQL connections never run with synchronous_commit off. Revoke
// increments the single counter row first, which locks it until commit:
// revocations from all replicas are serialized there and none loses an
// increment.
//
// # Security considerations
//
// The SQLite data directory is created 0700 (an existing one open to group
// or others is tightened) and the database files are 0600: they hold
// clinical data and token hashes, unencrypted; protect the disk. For
// PostgreSQL use TLS (sslmode=verify-full) and a role limited to its own
// database. Errors name the operation and carry the database's message
// (PostgreSQL's without its Detail, which can quote row values); they
// never quote stored JSON or JWS, and a DSN parse error has its password
// redacted.
package sqlstore
