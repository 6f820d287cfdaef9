package sqldb

import (
	"context"
	"database/sql"
	"fmt"
)

// DB is a handle whose context methods take statements with ?
// placeholders and pass them through Dialect.Rebind, so one statement
// serves both databases. The methods without a context are *sql.DB's own
// and rewrite nothing.
type DB struct {
	*sql.DB
	Dialect Dialect
}

// Tx is a transaction begun on a DB; it rewrites placeholders the same way.
type Tx struct {
	*sql.Tx
	Dialect Dialect
}

// Open opens the PostgreSQL database dsn when dsn is set (at most maxOpen
// connections, maxIdle of them idle, and pinged once), else the SQLite
// file path (read-only if readOnly, at most maxOpen connections; a
// writable file must pass CheckSQLite). Errors never hold the DSN's
// password.
func Open(ctx context.Context, path, dsn string, readOnly bool, maxOpen, maxIdle int) (DB, error) {
	if dsn != "" {
		db, err := OpenPostgres(dsn)
		if err != nil {
			return DB{}, err
		}
		db.SetMaxOpenConns(maxOpen)
		db.SetMaxIdleConns(maxIdle)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return DB{}, fmt.Errorf("connecting to PostgreSQL: %w", err)
		}
		return DB{DB: db, Dialect: PostgreSQL}, nil
	}
	db, err := OpenSQLite(path, readOnly)
	if err != nil {
		return DB{}, err
	}
	db.SetMaxOpenConns(maxOpen)
	if !readOnly {
		if err := CheckSQLite(ctx, db); err != nil {
			db.Close()
			return DB{}, fmt.Errorf("%s: %w", path, err)
		}
	}
	return DB{DB: db, Dialect: SQLite}, nil
}

// ExecContext runs q, its placeholders rebound.
func (d DB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return d.DB.ExecContext(ctx, d.Dialect.Rebind(q), args...)
}

// QueryContext runs q, its placeholders rebound.
func (d DB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return d.DB.QueryContext(ctx, d.Dialect.Rebind(q), args...)
}

// QueryRowContext runs q, its placeholders rebound.
func (d DB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return d.DB.QueryRowContext(ctx, d.Dialect.Rebind(q), args...)
}

// BeginTx begins a transaction that rebinds like d.
func (d DB) BeginTx(ctx context.Context, opts *sql.TxOptions) (Tx, error) {
	tx, err := d.DB.BeginTx(ctx, opts)
	return Tx{Tx: tx, Dialect: d.Dialect}, err
}

// ExecContext runs q in the transaction, its placeholders rebound.
func (t Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, t.Dialect.Rebind(q), args...)
}

// QueryContext runs q in the transaction, its placeholders rebound.
func (t Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, t.Dialect.Rebind(q), args...)
}

// QueryRowContext runs q in the transaction, its placeholders rebound.
func (t Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, t.Dialect.Rebind(q), args...)
}
