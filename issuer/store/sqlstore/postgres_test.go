package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/pgtest"
	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/issuer/store/storetest"
)

const crashDSNEnv = "HEALTHCARDS_POSTGRES_CRASH_DSN"

func openFresh(t testing.TB) *Store {
	t.Helper()
	s, err := OpenPostgres(context.Background(), pgtest.FreshSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPostgresConformance(t *testing.T) {
	pgtest.DSN(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		s := openFresh(t)
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestCrashDurability SIGKILLs a client process in the middle of a burst
// of revocations and checks every acknowledged one was committed.
func TestPostgresCrashDurability(t *testing.T) {
	if start, ok := storetest.CrashChildStart(); ok {
		dsn := os.Getenv(crashDSNEnv)
		if dsn == "" {
			t.Skip("crash child without " + crashDSNEnv)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		s, err := OpenPostgres(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Fatal(storetest.CrashChild(ctx, s, start, os.Stdout))
	}
	dsn := pgtest.FreshSchema(t)
	storetest.Crash(t, 3, func(int) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPostgresCrashDurability$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDSNEnv+"="+dsn)
		return cmd
	}, func(t *testing.T) store.Store {
		s, err := OpenPostgres(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestReplicasStartAndRevokeTogether opens eight stores (replicas) on one
// empty schema at once, then revokes from all of them concurrently: the
// migration runs once and no counter increment is lost.
func TestPostgresReplicasStartAndRevokeTogether(t *testing.T) {
	dsn := pgtest.FreshSchema(t)
	const replicas, perReplica = 8, 15
	stores := make([]*Store, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { stores[i], errs[i] = OpenPostgres(t.Context(), dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: Open: %v", i, err)
		}
		defer stores[i].Close()
	}
	var n int
	if err := stores[0].w.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if entries, _ := migrationFS.ReadDir("migrations/postgres"); n != len(entries) {
		t.Errorf("schema_migrations has %d rows, want %d (each migration once)", n, len(entries))
	}

	ctrs := make(chan int64, replicas*perReplica)
	for i := range replicas {
		for j := range perReplica {
			wg.Go(func() {
				ctr, err := stores[i].Revoke(t.Context(), []store.RevocationEntry{{Kid: "k", Entry: fmt.Sprintf("r%d_%d", i, j)}},
					store.Event{Actor: fmt.Sprint("replica", i), Action: "revoke"})
				if err != nil {
					t.Error(err)
				}
				ctrs <- ctr
			})
		}
	}
	wg.Wait()
	close(ctrs)
	var got []int64
	for c := range ctrs {
		got = append(got, c)
	}
	slices.Sort(got)
	for i, c := range got {
		if c != int64(i+2) {
			t.Fatalf("counters %v: want each of 2..%d once", got, replicas*perReplica+1)
		}
	}
	c, err := stores[3].CRL(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	if c.Ctr != replicas*perReplica+1 || len(c.RIDs) != replicas*perReplica {
		t.Errorf("CRL ctr %d with %d entries, want %d and %d", c.Ctr, len(c.RIDs), replicas*perReplica+1, replicas*perReplica)
	}
}

// TestSameSchemaAsSQLite compares the tables and columns the two stores'
// migrations create, and their migration file names.
func TestPostgresSameSchemaAsSQLite(t *testing.T) {
	pg := openFresh(t)
	defer pg.Close()
	rows, err := pg.w.QueryContext(t.Context(), `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() ORDER BY table_name, column_name`)
	if err != nil {
		t.Fatal(err)
	}
	var pgCols []string
	for rows.Next() {
		var tbl, col string
		if err := rows.Scan(&tbl, &col); err != nil {
			t.Fatal(err)
		}
		pgCols = append(pgCols, tbl+"."+col)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	lite, err := OpenSQLite(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	lite.Close()
	liteCols := sqliteColumns(t, dir)
	slices.Sort(pgCols)
	if !slices.Equal(pgCols, liteCols) {
		t.Errorf("PostgreSQL columns %v\n   SQLite columns %v", pgCols, liteCols)
	}

	pgFiles, _ := migrationFS.ReadDir("migrations/postgres")
	liteFiles, err := migrationFS.ReadDir("migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	if len(pgFiles) != len(liteFiles) {
		t.Fatalf("%d PostgreSQL migrations, %d SQLite migrations", len(pgFiles), len(liteFiles))
	}
	for i := range pgFiles {
		if pgFiles[i].Name() != liteFiles[i].Name() {
			t.Errorf("migration %d: %s vs %s", i, pgFiles[i].Name(), liteFiles[i].Name())
		}
	}
}

// sqliteColumns lists table.column of the SQLite store in dir.
func sqliteColumns(t *testing.T, dir string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), `SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var tbl, col string
		if err := rows.Scan(&tbl, &col); err != nil {
			t.Fatal(err)
		}
		out = append(out, tbl+"."+col)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestPostgresSchemaTooNew(t *testing.T) {
	dsn := pgtest.FreshSchema(t)
	s, err := OpenPostgres(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(t.Context(), "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future.sql', now())"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenPostgres(t.Context(), dsn); !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("Open of a newer schema: %v, want ErrSchemaTooNew", err)
	}
}

func TestPostgresOpenErrorsHidePassword(t *testing.T) {
	for _, dsn := range []string{
		"postgres://u:sekret-pw@127.0.0.1:notaport/db",
		"host=127.0.0.1 password=sekret-pw port=notaport",
	} {
		_, err := OpenPostgres(t.Context(), dsn)
		if err == nil {
			t.Fatalf("Open(%q) succeeded", dsn)
		}
		if strings.Contains(err.Error(), "sekret-pw") {
			t.Errorf("error reveals the password: %v", err)
		}
	}
	// Nothing listens on port 1 of loopback.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := OpenPostgres(ctx, "postgres://u:sekret-pw@127.0.0.1:1/db?connect_timeout=2")
	if err == nil || strings.Contains(err.Error(), "sekret-pw") {
		t.Errorf("Open to a closed port: %v", err)
	}
}

func benchStore(b *testing.B) *Store {
	b.Helper()
	s := openFresh(b)
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkPostgresRevoke(b *testing.B) { storetest.BenchRevoke(b, benchStore(b)) }
func BenchmarkPostgresRevokeParallel(b *testing.B) {
	storetest.BenchRevokeParallel(b, benchStore(b), 8)
}
func BenchmarkPostgresPutCard(b *testing.B) { storetest.BenchPutCard(b, benchStore(b)) }
func BenchmarkPostgresPutCardParallel(b *testing.B) {
	storetest.BenchPutCardParallel(b, benchStore(b), 8)
}
func BenchmarkPostgresCRL1000(b *testing.B) { storetest.BenchCRL(b, benchStore(b), 1000) }
