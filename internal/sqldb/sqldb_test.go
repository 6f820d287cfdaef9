package sqldb

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRebind(t *testing.T) {
	q := `INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT (a) DO UPDATE SET b = ?`
	if got := SQLite.Rebind(q); got != q {
		t.Errorf("SQLite.Rebind changed the query: %s", got)
	}
	if got, want := PostgreSQL.Rebind(q), `INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) DO UPDATE SET b = $3`; got != want {
		t.Errorf("PostgreSQL.Rebind = %s, want %s", got, want)
	}
	if got, want := PostgreSQL.Rebind("SELECT "+Values(2, 3)), "SELECT ($1, $2, $3), ($4, $5, $6)"; got != want {
		t.Errorf("Values(2, 3) rebound = %s, want %s", got, want)
	}
}

func TestMigrateSQLite(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "m.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := OpenSQLite(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := CheckSQLite(ctx, db); err != nil {
		t.Fatal(err)
	}
	tooNew := errors.New("too new")
	schema := func(ms ...Migration) Schema {
		return Schema{
			Dialect: SQLite, Table: "versions",
			Create:     `CREATE TABLE IF NOT EXISTS versions (version INTEGER PRIMARY KEY, at INTEGER NOT NULL)`,
			Record:     `INSERT INTO versions (version, at) VALUES (?, ?)`,
			Args:       func(m Migration, at time.Time) []any { return []any{m.Version, at.UnixMicro()} },
			Migrations: ms, TooNew: tooNew,
		}
	}
	m1 := Migration{1, "one", `CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);`}
	m2 := Migration{2, "two", `INSERT INTO a VALUES (2)`}
	bad := Migration{3, "bad", `INSERT INTO a VALUES (3); INSERT INTO nosuch VALUES (1)`}
	now := time.Unix(1700000000, 0)
	if err := Migrate(ctx, db, schema(m1), now); err != nil {
		t.Fatal(err)
	}
	// Each version runs once; a failing migration leaves nothing behind.
	if err := Migrate(ctx, db, schema(m1, m2), now); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, db, schema(m1, m2, bad), now); err == nil {
		t.Fatal("a failing migration was reported applied")
	}
	var n, sum, v int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*), SUM(x) FROM a`).Scan(&n, &sum); err != nil || n != 2 || sum != 3 {
		t.Errorf("table a has %d rows summing to %d (%v), want 2 and 3", n, sum, err)
	}
	if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM versions`).Scan(&v); err != nil || v != 2 {
		t.Errorf("recorded version %d (%v), want 2", v, err)
	}
	// A program that knows fewer versions refuses the database.
	if err := Migrate(ctx, db, schema(m1), now); !errors.Is(err, tooNew) {
		t.Errorf("Migrate with an older program = %v, want TooNew", err)
	}
}

func TestOpenPostgresRedactsPassword(t *testing.T) {
	_, err := OpenPostgres("postgres://u:sekret-pw@127.0.0.1:notaport/db")
	if !errors.Is(err, ErrDSN) {
		t.Fatalf("OpenPostgres with a bad port = %v, want ErrDSN", err)
	}
	if s := err.Error(); len(s) == 0 || strings.Contains(s, "sekret-pw") {
		t.Errorf("error reveals the password: %v", err)
	}
}

// A writable open creates the database private (0600), and SQLite's -wal
// and -shm files follow its mode; the stores hold patient ids and names.
func TestSQLiteFilesPrivate(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "private.db")
	db, err := Open(ctx, path, "", false, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (x TEXT)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO t VALUES ('Alice Example')`); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := st.Mode().Perm(); m != 0o600 {
			t.Errorf("%s: mode %o, want 600", filepath.Base(f), m)
		}
	}
}
