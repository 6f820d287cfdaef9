package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/healthcards/healthcards/internal/sqldb"
	"github.com/healthcards/healthcards/shl/host"
)

// Dialect is the SQL flavour of a Store.
type Dialect int

// Dialects.
const (
	SQLite     = Dialect(sqldb.SQLite)
	PostgreSQL = Dialect(sqldb.PostgreSQL)
)

func (d Dialect) String() string { return sqldb.Dialect(d).String() }

// Bounds.
const (
	// DefaultMaxLog is how many access-log entries are kept per link.
	DefaultMaxLog = 1000
	// maxFilesJSON bounds the stored files column read back (the files are
	// JWE text; a link holds at most shl.MaxManifestFiles of them).
	maxFilesJSON = 64 << 20
)

// ErrSchemaTooNew is returned by Open when the database was migrated by a
// newer version of this package.
var ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this program")

// Store is a host.Store on database/sql. It is safe for concurrent use.
type Store struct {
	d      Dialect
	w      *sql.DB // writes and serialized read-modify-write
	r      *sql.DB // plain reads (the same as w for PostgreSQL)
	maxLog int
}

var _ host.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithMaxLog keeps at most n access-log entries per link (n ≥ 1), dropping
// the oldest.
func WithMaxLog(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.maxLog = n
		}
	}
}

// OpenSQLite opens (creating if needed) the SQLite database file path and
// migrates it. The file is created 0600 and its directory must exist. The
// database runs with the pragmas of every SQL store in this module
// (internal/sqldb: WAL, synchronous=FULL, busy timeout, foreign keys);
// writes go through one connection whose transactions start with BEGIN
// IMMEDIATE, so Update is serialized across goroutines and across
// processes sharing the file.
func OpenSQLite(ctx context.Context, path string, opts ...Option) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlstore: empty SQLite path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: create database file: %w", err)
	}
	f.Close()
	if err := os.Chmod(abs, 0o600); err != nil {
		return nil, fmt.Errorf("sqlstore: restrict database file: %w", err)
	}
	w, err := sqldb.OpenSQLite(abs, false)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	w.SetMaxOpenConns(1) // one writer in this process; other processes wait on the file lock
	s := &Store{d: SQLite, w: w}
	for _, o := range opts {
		o(s)
	}
	if err := sqldb.CheckSQLite(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sqldb.OpenSQLite(abs, true)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	r.SetMaxOpenConns(4)
	s.r = r
	return s, nil
}

// OpenPostgres connects to PostgreSQL with the pgx driver and migrates the
// shl_* tables. Update uses SELECT ... FOR UPDATE, so it is serialized
// per link across every process using the database. Connections never
// run with synchronous_commit off.
func OpenPostgres(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	db, err := sqldb.OpenPostgres(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	db.SetMaxOpenConns(16)
	s := &Store{d: PostgreSQL, w: db, r: db}
	for _, o := range opts {
		o(s)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: connect: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Dialect reports the store's SQL flavour.
func (s *Store) Dialect() Dialect { return s.d }

// Close closes the database handles.
func (s *Store) Close() error {
	err := s.w.Close()
	if s.r != nil && s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

func (s *Store) maxLogN() int {
	if s.maxLog > 0 {
		return s.maxLog
	}
	return DefaultMaxLog
}

// q rewrites ? placeholders as $n for PostgreSQL.
func (s *Store) q(query string) string { return sqldb.Dialect(s.d).Rebind(query) }

// migrations are applied in order; each runs once, in one transaction.
var migrations = []struct {
	version int
	sqlite  string
	pg      string
}{
	{1,
		`CREATE TABLE shl_links (
			id            TEXT    PRIMARY KEY,
			owner         TEXT    NOT NULL,
			link_key      TEXT    NOT NULL,
			flag          TEXT    NOT NULL,
			label         TEXT    NOT NULL,
			exp_us        INTEGER NOT NULL,
			passcode_hash TEXT    NOT NULL,
			failures_left INTEGER NOT NULL,
			revoked       INTEGER NOT NULL,
			created_us    INTEGER NOT NULL,
			files         TEXT    NOT NULL
		) STRICT;
		CREATE INDEX shl_links_owner ON shl_links(owner);
		CREATE TABLE shl_access (
			seq       INTEGER PRIMARY KEY AUTOINCREMENT,
			link_id   TEXT    NOT NULL REFERENCES shl_links(id) ON DELETE CASCADE,
			time_us   INTEGER NOT NULL,
			recipient TEXT    NOT NULL,
			outcome   TEXT    NOT NULL
		) STRICT;
		CREATE INDEX shl_access_link ON shl_access(link_id, seq);`,
		`CREATE TABLE shl_links (
			id            TEXT    PRIMARY KEY COLLATE "C",
			owner         TEXT    NOT NULL,
			link_key      TEXT    NOT NULL,
			flag          TEXT    NOT NULL,
			label         TEXT    NOT NULL,
			exp_us        BIGINT  NOT NULL,
			passcode_hash TEXT    NOT NULL,
			failures_left INTEGER NOT NULL,
			revoked       BOOLEAN NOT NULL,
			created_us    BIGINT  NOT NULL,
			files         TEXT    NOT NULL
		);
		CREATE INDEX shl_links_owner ON shl_links(owner);
		CREATE TABLE shl_access (
			seq       BIGSERIAL PRIMARY KEY,
			link_id   TEXT   NOT NULL REFERENCES shl_links(id) ON DELETE CASCADE,
			time_us   BIGINT NOT NULL,
			recipient TEXT   NOT NULL,
			outcome   TEXT   NOT NULL
		);
		CREATE INDEX shl_access_link ON shl_access(link_id, seq);`},
}

// SchemaVersion is the newest schema version this package writes.
var SchemaVersion = migrations[len(migrations)-1].version

func (s *Store) migrate(ctx context.Context) error {
	ms := make([]sqldb.Migration, len(migrations))
	for i, m := range migrations {
		ms[i] = sqldb.Migration{Version: int64(m.version), Name: fmt.Sprintf("shl %d", m.version), SQL: m.sqlite}
		if s.d == PostgreSQL {
			ms[i].SQL = m.pg
		}
	}
	err := sqldb.Migrate(ctx, s.w, sqldb.Schema{
		Dialect: sqldb.Dialect(s.d),
		Lock:    "healthcards/shl/sqlstore migrations",
		Table:   "shl_schema_migrations",
		Create:  `CREATE TABLE IF NOT EXISTS shl_schema_migrations (version INTEGER PRIMARY KEY, applied_us BIGINT NOT NULL)`,
		Record:  `INSERT INTO shl_schema_migrations (version, applied_us) VALUES (?, ?)`,
		Args: func(m sqldb.Migration, at time.Time) []any {
			return []any{m.Version, at.UnixMicro()}
		},
		Migrations: ms,
		TooNew:     ErrSchemaTooNew,
	}, time.Now())
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return nil
}

// storedFile is the JSON form of one file in the files column.
type storedFile struct {
	ContentType string `json:"contentType"`
	JWE         string `json:"jwe"`
	LastUpdated int64  `json:"lastUpdatedUs,omitempty"`
	FHIRVersion string `json:"fhirVersion,omitempty"`
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

func encodeFiles(fs []host.StoredFile) (string, error) {
	out := make([]storedFile, len(fs))
	for i, f := range fs {
		out[i] = storedFile{ContentType: f.ContentType, JWE: f.JWE, LastUpdated: micros(f.LastUpdated), FHIRVersion: f.FHIRVersion}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func decodeFiles(s string) ([]host.StoredFile, error) {
	if len(s) > maxFilesJSON {
		return nil, fmt.Errorf("sqlstore: stored files of %d bytes exceed %d", len(s), maxFilesJSON)
	}
	var in []storedFile
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("sqlstore: stored files: %w", err)
	}
	out := make([]host.StoredFile, len(in))
	for i, f := range in {
		out[i] = host.StoredFile{ContentType: f.ContentType, JWE: f.JWE, LastUpdated: fromMicros(f.LastUpdated), FHIRVersion: f.FHIRVersion}
	}
	return out, nil
}

const linkColumns = `id, owner, link_key, flag, label, exp_us, passcode_hash, failures_left, revoked, created_us, files`

type scanner interface{ Scan(dest ...any) error }

func scanLink(row scanner) (*host.StoredLink, error) {
	var (
		l            host.StoredLink
		exp, created int64
		revoked      bool
		files        string
	)
	if err := row.Scan(&l.ID, &l.Owner, &l.Key, &l.Flag, &l.Label, &exp, &l.PasscodeHash, &l.FailuresLeft, &revoked, &created, &files); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("sqlstore: %w", host.ErrStoreNotFound)
		}
		return nil, fmt.Errorf("sqlstore: read link: %w", err)
	}
	l.Exp, l.Created, l.Revoked = fromMicros(exp), fromMicros(created), revoked
	fs, err := decodeFiles(files)
	if err != nil {
		return nil, err
	}
	l.Files = fs
	return &l, nil
}

// revokedArg maps a bool to the column type: INTEGER in SQLite, BOOLEAN in
// PostgreSQL.
func (s *Store) revokedArg(b bool) any {
	if s.d == PostgreSQL {
		return b
	}
	if b {
		return 1
	}
	return 0
}

// Create implements host.Store with one INSERT ... ON CONFLICT DO NOTHING.
func (s *Store) Create(ctx context.Context, l *host.StoredLink) error {
	if l == nil || l.ID == "" {
		return errors.New("sqlstore: link without id")
	}
	files, err := encodeFiles(l.Files)
	if err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, s.q(`INSERT INTO shl_links (`+linkColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`),
		l.ID, l.Owner, l.Key, l.Flag, l.Label, micros(l.Exp), l.PasscodeHash, l.FailuresLeft, s.revokedArg(l.Revoked), micros(l.Created), files)
	if err != nil {
		return fmt.Errorf("sqlstore: create: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: create: %w", err)
	} else if n == 0 {
		return fmt.Errorf("sqlstore: %w", host.ErrStoreConflict)
	}
	return nil
}

// Get implements host.Store (a plain read).
func (s *Store) Get(ctx context.Context, id string) (*host.StoredLink, error) {
	return scanLink(s.r.QueryRowContext(ctx, s.q(`SELECT `+linkColumns+` FROM shl_links WHERE id = ?`), id))
}

// Update implements host.Store: one transaction that locks the row first
// (BEGIN IMMEDIATE on SQLite takes the database write lock; SELECT ... FOR
// UPDATE on PostgreSQL takes the row lock), runs fn and writes the result.
func (s *Store) Update(ctx context.Context, id string, fn func(*host.StoredLink) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: update: %w", err)
	}
	defer tx.Rollback()
	query := `SELECT ` + linkColumns + ` FROM shl_links WHERE id = ?`
	if s.d == PostgreSQL {
		query += ` FOR UPDATE`
	}
	l, err := scanLink(tx.QueryRowContext(ctx, s.q(query), id))
	if err != nil {
		return err
	}
	if err := fn(l); err != nil {
		return err
	}
	files, err := encodeFiles(l.Files)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE shl_links SET owner = ?, link_key = ?, flag = ?, label = ?, exp_us = ?, passcode_hash = ?,
		failures_left = ?, revoked = ?, created_us = ?, files = ? WHERE id = ?`),
		l.Owner, l.Key, l.Flag, l.Label, micros(l.Exp), l.PasscodeHash, l.FailuresLeft, s.revokedArg(l.Revoked), micros(l.Created), files, id); err != nil {
		return fmt.Errorf("sqlstore: update: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: update: %w", err)
	}
	return nil
}

// AppendAccess implements host.Store: one INSERT guarded by the link's
// existence, then the oldest entries beyond the cap are dropped, in one
// transaction.
func (s *Store) AppendAccess(ctx context.Context, id string, e host.AccessEvent) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: append access: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.q(`INSERT INTO shl_access (link_id, time_us, recipient, outcome)
		SELECT id, CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT) FROM shl_links WHERE id = ?`), micros(e.Time), e.Recipient, e.Outcome, id)
	if err != nil {
		return fmt.Errorf("sqlstore: append access: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: append access: %w", err)
	} else if n == 0 {
		return fmt.Errorf("sqlstore: %w", host.ErrStoreNotFound)
	}
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM shl_access WHERE link_id = ? AND seq <=
		(SELECT seq FROM shl_access WHERE link_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`), id, id, s.maxLogN()); err != nil {
		return fmt.Errorf("sqlstore: append access: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: append access: %w", err)
	}
	return nil
}

// AccessLog implements host.Store: the link's log, oldest first.
func (s *Store) AccessLog(ctx context.Context, id string) ([]host.AccessEvent, error) {
	var one int
	if err := s.r.QueryRowContext(ctx, s.q(`SELECT 1 FROM shl_links WHERE id = ?`), id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: %w", host.ErrStoreNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore: access log: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT time_us, recipient, outcome FROM shl_access WHERE link_id = ? ORDER BY seq LIMIT ?`), id, s.maxLogN())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: access log: %w", err)
	}
	defer rows.Close()
	out := []host.AccessEvent{}
	for rows.Next() {
		var (
			e  host.AccessEvent
			us int64
		)
		if err := rows.Scan(&us, &e.Recipient, &e.Outcome); err != nil {
			return nil, fmt.Errorf("sqlstore: access log: %w", err)
		}
		e.Time = fromMicros(us)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: access log: %w", err)
	}
	return out, nil
}
