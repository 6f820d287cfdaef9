package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Dialect is the SQL flavour of a database.
type Dialect int

// Dialects.
const (
	SQLite Dialect = iota + 1
	PostgreSQL
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case PostgreSQL:
		return "postgres"
	}
	return "unknown"
}

// Rebind rewrites the ? placeholders of query as $1, $2, ... for
// PostgreSQL and returns it unchanged for SQLite. Queries passed here never
// hold a literal question mark.
func (d Dialect) Rebind(query string) string {
	if d != PostgreSQL || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// Values returns rows groups of cols placeholders, "(?, ?), (?, ?)", for a
// multi-row INSERT (before Rebind).
func Values(rows, cols int) string {
	one := "(" + strings.Repeat("?, ", cols-1) + "?)"
	return strings.Repeat(one+", ", rows-1) + one
}

// BusyTimeout is how long an SQLite connection waits for another writer
// (in this or another process) before failing with SQLITE_BUSY.
const BusyTimeout = 10 * time.Second

// OpenSQLite opens the SQLite database file path with the one set of
// pragmas every store uses: WAL journal, synchronous=FULL
// (a commit is fsynced before it returns), a busy timeout and foreign keys.
// A read-only handle also sets query_only; a writable one starts its
// transactions with BEGIN IMMEDIATE, so two processes sharing the file
// never deadlock upgrading a read lock. The caller sizes the pool.
//
// A writable handle creates a missing file with mode 0600 whatever the
// umask (the stores hold patient ids and names); SQLite gives the -wal and
// -shm files it creates the database file's mode.
func OpenSQLite(path string, readOnly bool) (*sql.DB, error) {
	if !readOnly {
		if err := createPrivate(path); err != nil {
			return nil, fmt.Errorf("open: %w", err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	return db, nil
}

// createPrivate creates path with mode 0600 if it does not exist.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil { // the umask may have taken bits away, never added: be exact anyway
		f.Close()
		return err
	}
	return f.Close()
}

// CheckSQLite makes sure the durability pragmas took effect on db (a file
// that is not a database fails here).
func CheckSQLite(ctx context.Context, db *sql.DB) error {
	var mode string
	var sync, fk int
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return err
	}
	if mode != "wal" || sync != 2 || fk != 1 {
		return fmt.Errorf("journal_mode=%s synchronous=%d foreign_keys=%d, want wal, 2 (FULL), 1", mode, sync, fk)
	}
	return nil
}

// ErrDSN reports a PostgreSQL connection string that does not parse. Its
// message never holds the password (pgx redacts it).
var ErrDSN = errors.New("invalid PostgreSQL connection string")

// OpenPostgres returns a database/sql handle on PostgreSQL through pgx's
// stdlib driver. dsn is a libpq URL or key=value string; pool_max_conns
// sets the pool size (default: pgxpool's, max(4, CPUs)). Connections whose
// synchronous_commit is off (server or role default) are switched back on,
// so a commit that returned survives a server crash; stronger settings are
// kept. Nothing is dialled until first use (call PingContext).
func OpenPostgres(dsn string) (*sql.DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDSN, err)
	}
	db := stdlib.OpenDB(*cfg.ConnConfig, stdlib.OptionAfterConnect(ensureSyncCommit))
	db.SetMaxOpenConns(int(cfg.MaxConns))
	db.SetMaxIdleConns(int(cfg.MaxConns))
	return db, nil
}

func ensureSyncCommit(ctx context.Context, c *pgx.Conn) error {
	var v string
	if err := c.QueryRow(ctx, "SHOW synchronous_commit").Scan(&v); err != nil {
		return err
	}
	if v == "off" {
		_, err := c.Exec(ctx, "SET synchronous_commit = on")
		return err
	}
	return nil
}
