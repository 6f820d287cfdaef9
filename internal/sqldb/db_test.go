package sqldb

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/internal/pgtest"
)

// One statement written with ? placeholders runs on both databases,
// through the handle and through a transaction.
func TestDBRebindsOnBothDialects(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "d.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, dsn string
		want            Dialect
	}{
		{"sqlite", path, "", SQLite},
		{"postgres", "", "", PostgreSQL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == PostgreSQL {
				tc.dsn = pgtest.FreshSchema(t)
			}
			db, err := Open(ctx, tc.path, tc.dsn, false, 2, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if db.Dialect != tc.want {
				t.Fatalf("Dialect = %v, want %v", db.Dialect, tc.want)
			}
			if _, err := db.ExecContext(ctx, `CREATE TABLE t (a BIGINT PRIMARY KEY, b TEXT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO t (a, b) VALUES (?, ?)`, 1, "one"); err != nil {
				t.Fatal(err)
			}
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO t (a, b) VALUES (?, ?)`, 2, "two"); err != nil {
				t.Fatal(err)
			}
			var b string
			if err := tx.QueryRowContext(ctx, `SELECT b FROM t WHERE a = ? AND b <> ?`, 2, "x").Scan(&b); err != nil || b != "two" {
				t.Fatalf("tx row = %q, %v", b, err)
			}
			rows, err := tx.QueryContext(ctx, `SELECT a FROM t WHERE a >= ? ORDER BY a`, 1)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			rows.Close()
			if err := tx.Commit(); err != nil || n != 2 {
				t.Fatalf("tx saw %d rows (want 2); commit: %v", n, err)
			}
			rows, err = db.QueryContext(ctx, `SELECT b FROM t WHERE a = ?`, 1)
			if err != nil || !rows.Next() {
				t.Fatalf("query: %v", err)
			}
			rows.Close()
			if err := db.QueryRowContext(ctx, `SELECT b FROM t WHERE a = ?`, 2).Scan(&b); err != nil || b != "two" {
				t.Fatalf("committed row = %q, %v", b, err)
			}
		})
	}
}

// A file that is not a database fails the durability check, and the error
// names the file.
func TestOpenChecksSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path, "", false, 1, 1)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open(junk) = %v, want an error naming the file", err)
	}
}
