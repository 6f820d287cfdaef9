// Package sqlite opens the embedded issuer store: one SQLite database file
// (modernc.org/sqlite, pure Go) in the issuer's data directory, the default
// for a single replica. Open returns the one SQL store, package
// store/sqlstore, in its SQLite dialect; see there for durability (WAL,
// synchronous=FULL, group commit of issued cards), migrations and file
// permissions. Use package store/postgres for several replicas.
package sqlite
