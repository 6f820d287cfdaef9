// Package sqlstore implements host.Store on database/sql for SQLite
// (modernc.org/sqlite, driver "sqlite") and PostgreSQL
// (github.com/jackc/pgx/v5/stdlib, driver "pgx"), so an issuer can keep its
// SMART Health Links across restarts and share them between processes.
// It shares its database layer with the issuer store
// (issuer/store/sqlstore) through internal/sqldb: the dialects, the SQLite
// pragmas, the PostgreSQL connection and the migration runner.
//
// It owns two tables, shl_links and shl_access, plus shl_schema_migrations;
// Open* migrates them in one transaction (on PostgreSQL under an advisory
// lock, so several processes may start at once) and refuses a schema newer
// than it knows (ErrSchemaTooNew).
//
// Atomicity, as host.Store documents it:
//   - Create is one INSERT ... ON CONFLICT (id) DO NOTHING; no row inserted
//     means host.ErrStoreConflict.
//   - Update is one transaction: on SQLite it starts with BEGIN IMMEDIATE
//     (the database write lock is taken before the row is read), on
//     PostgreSQL the row is read with SELECT ... FOR UPDATE. Two Updates of
//     one link never see the same FailuresLeft, so the Host's lifetime
//     passcode limit (SHL-10) holds under parallel guessing, also across
//     processes sharing the database.
//   - AppendAccess inserts only when the link exists (else
//     host.ErrStoreNotFound) and drops the oldest entries beyond the cap
//     (WithMaxLog, default 1000) in the same transaction.
//
// Times are stored as Unix microseconds (UTC); a Get returns them truncated
// to the microsecond.
//
// # Security considerations
//
//   - The links table holds each link's key in clear and the passcode's
//     argon2id hash: anyone who can read the database can read the shared
//     files. Protect it like the data it unlocks: the SQLite file is created
//     0600; use PostgreSQL roles and encrypted storage.
//   - The access log holds time, the recipient string the requester sent
//     and the outcome; no addresses, no passcodes.
//   - Stored values read back are bounded (files column ≤ 64 MiB) and never
//     trusted for more than the Host checks again (the Host bounds argon2
//     parameters read from a hash).
package sqlstore
