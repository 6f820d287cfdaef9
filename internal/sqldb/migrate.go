package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migration is one schema version.
type Migration struct {
	Version int64
	Name    string // file name, or a label
	SQL     string // one or more statements, run without arguments
}

// Load reads the files named NNNN_name.sql (NNNN a positive decimal
// version) in dir of fsys and returns them sorted by version. It fails on a
// badly named file, a duplicate version, or an empty set.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("migrations: read %s: %w", dir, err)
	}
	var out []Migration
	seen := map[int64]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migrations: %s: name must be NNNN_name.sql with NNNN > 0", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations: %s and %s have the same version %d", prev, name, v)
		}
		seen[v] = name
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("migrations: read %s: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("migrations: none in %s", dir)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Schema describes what Migrate brings a database to.
type Schema struct {
	Dialect Dialect
	// Lock names the PostgreSQL advisory lock taken for the migration; it
	// is combined with current_schema(), so separate schemas migrate
	// independently.
	Lock string
	// Table records the applied versions (a column version); Create makes
	// it if missing. Each store keeps the table layout it has always had.
	Table, Create string
	// Record inserts one applied migration (? placeholders), with the
	// arguments Args returns.
	Record string
	Args   func(m Migration, at time.Time) []any
	// Migrations in version order.
	Migrations []Migration
	// TooNew is wrapped when the database has a version newer than the
	// last migration.
	TooNew error
}

// Migrate applies the schema's pending migrations in one transaction on
// db: all of them or none. On PostgreSQL the transaction first takes a
// transaction-scoped advisory lock, so processes starting together migrate
// once and never see a half-migrated schema (the lock is released at
// commit, rollback, or when the connection dies). now stamps the applied
// versions.
func Migrate(ctx context.Context, db *sql.DB, s Schema, now time.Time) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if s.Dialect == PostgreSQL {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1 || current_schema(), 0))`, s.Lock+":"); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.Create); err != nil {
		return err
	}
	var current int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM "+s.Table).Scan(&current); err != nil {
		return err
	}
	if last := s.Migrations[len(s.Migrations)-1].Version; current > last {
		return fmt.Errorf("%w: version %d, this program knows up to %d", s.TooNew, current, last)
	}
	record := s.Dialect.Rebind(s.Record)
	for _, m := range s.Migrations {
		if m.Version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, record, s.Args(m, now)...); err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
	}
	return tx.Commit()
}
