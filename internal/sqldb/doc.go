// Package sqldb is the database/sql layer the project's SQL stores share
// (issuer/store/sqlstore, shl/sqlstore, issuer/keydb, and through DB the
// identity and OAuth tables): the two dialects and their placeholder
// rewriting, one set of SQLite pragmas, the PostgreSQL connection through
// pgx's stdlib driver, and one migration runner.
//
// A store writes each statement once, with ? placeholders and the upsert
// form both databases accept (INSERT ... ON CONFLICT), and passes it
// through Dialect.Rebind, or runs it on a DB or Tx, which rebind it. Only
// the DDL of each migration is written per dialect.
//
// # Durability
//
// SQLite handles run in WAL mode with synchronous=FULL, a 10 s busy timeout
// and foreign keys on (CheckSQLite verifies it); PostgreSQL connections
// never run with synchronous_commit off. A commit that returned survives a
// crash of the process, and on SQLite of the machine.
//
// # Security considerations
//
// OpenPostgres errors never quote the password (pgx redacts it). Nothing
// here logs statements or arguments. A writable OpenSQLite creates a
// missing database file with mode 0600 (umask-independent), and SQLite
// creates its -wal and -shm files with the same mode: identity.db and
// oauth.db hold patient ids and names. Files created before this keep
// their mode (chmod 600 them).
package sqldb
