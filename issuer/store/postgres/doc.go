// Package postgres is the store.Store for running several issuer replicas
// against one PostgreSQL database (pgx v5, pgxpool). It has the same
// logical schema, migration versions and behaviour as package store/sqlite:
// both pass the storetest suite.
//
// Open applies the embedded, versioned migrations (table schema_migrations)
// in one transaction that first takes a transaction-scoped advisory lock,
// so replicas starting together migrate once and never see a half-migrated
// schema. A database migrated by a newer release is refused with
// store.ErrSchemaTooNew. Tables live in the connection's current schema.
//
// # Durability and concurrency
//
// Every method that writes commits before it returns; connections whose
// synchronous_commit is off are switched back on, so an acknowledged
// revocation survives a server crash. Revoke increments the single counter
// row first, which row-locks it until commit: revocations from all replicas
// are serialized there, none loses an increment, and the counter, the CRL
// entries and the audit event commit together.
//
// # Security considerations
//
// Use TLS (sslmode=verify-full) to a database off the host, and a role
// limited to its own database. Clinical JSON is stored as bytea, byte for
// byte. Errors carry PostgreSQL's message and SQLSTATE but not its Detail
// (which can quote row values), and never stored JSON or JWS; a DSN parse
// error has its password redacted by pgx.
package postgres
