// Package postgres opens the issuer store on PostgreSQL (pgx through
// database/sql), for running several issuer replicas against one
// database. Open returns the one SQL store, package store/sqlstore, in its
// PostgreSQL dialect: the same statements and behaviour as the SQLite
// store, with migrations under an advisory lock and revocation counters
// serialized by a row lock across replicas.
//
// # Security considerations
//
// Use TLS (sslmode=verify-full) to a database off the host, and a role
// limited to its own database. Errors carry PostgreSQL's message and
// SQLSTATE but not its Detail (which can quote row values), and never
// stored JSON or JWS; a DSN parse error has its password redacted.
package postgres
