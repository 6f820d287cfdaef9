package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/issuer/store/storetest"
)

const crashDirEnv = "HEALTHCARDS_SQLITE_CRASH_DIR"

// TestCrashDurability SIGKILLs a child process in the middle of a burst of
// revocations, three times, and checks after reopening that every
// acknowledged revocation survived (WAL + synchronous=FULL).
func TestSQLiteConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, t.TempDir()) })
}

func TestSQLiteCrashDurability(t *testing.T) {
	if start, ok := storetest.CrashChildStart(); ok {
		dir := os.Getenv(crashDirEnv)
		if dir == "" {
			t.Skip("crash child without " + crashDirEnv)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		s, err := OpenSQLite(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Fatal(storetest.CrashChild(ctx, s, start, os.Stdout))
	}
	dir := t.TempDir()
	storetest.Crash(t, 3, func(int) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteCrashDurability$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		return cmd
	}, func(t *testing.T) store.Store { return open(t, dir) })
}

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := OpenSQLite(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestFileModes checks the data directory and database files are private
// whatever the umask.
func TestSQLiteFileModes(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	s := open(t, dir)
	if _, err := s.Revoke(t.Context(), []store.RevocationEntry{{Kid: "k", Entry: "r"}}, store.Event{Action: "revoke"}); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("data directory mode %o, want 700", m)
	}
	for _, name := range []string{FileName, FileName + "-wal", FileName + "-shm"} {
		if m := mode(t, filepath.Join(dir, name)); m != 0o600 {
			t.Errorf("%s mode %o, want 600", name, m)
		}
	}
	s.Close()

	// An existing directory and file open to others are tightened.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, FileName), 0o644); err != nil {
		t.Fatal(err)
	}
	open(t, dir).Close()
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("reopened data directory mode %o, want 700", m)
	}
	if m := mode(t, filepath.Join(dir, FileName)); m != 0o600 {
		t.Errorf("reopened database mode %o, want 600", m)
	}
}

func TestSQLitePragmas(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	var journal string
	var syncMode, fk, busy int
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&journal); err != nil {
		t.Fatal(err)
	}
	for q, v := range map[string]*int{"PRAGMA synchronous": &syncMode, "PRAGMA foreign_keys": &fk, "PRAGMA busy_timeout": &busy} {
		if err := s.w.QueryRowContext(ctx, q).Scan(v); err != nil {
			t.Fatal(err)
		}
	}
	if journal != "wal" || syncMode != 2 || fk != 1 || busy != 10000 {
		t.Errorf("writer: journal_mode=%s synchronous=%d foreign_keys=%d busy_timeout=%d", journal, syncMode, fk, busy)
	}
	if st := s.w.Stats(); st.MaxOpenConnections != 1 {
		t.Errorf("writer pool allows %d connections, want 1", st.MaxOpenConnections)
	}
	// Readers cannot write.
	if _, err := s.r.ExecContext(ctx, "INSERT INTO audit (at, actor, action, kid, rid, card_types, detail) VALUES (0,'','x','','','[]','')"); err == nil {
		t.Error("a reader connection accepted a write")
	}
}

func TestSQLiteReopenKeepsDataAndMigratesOnce(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctr, err := s.Revoke(t.Context(), []store.RevocationEntry{{Kid: "k", Entry: "r1"}}, store.Event{Action: "revoke"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir)
	defer s.Close()
	c, err := s.CRL(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	if c.Ctr != ctr || len(c.RIDs) != 1 {
		t.Errorf("after reopen CRL = %+v, want ctr %d and r1", c, ctr)
	}
	var n, max int64
	if err := s.r.QueryRowContext(t.Context(), "SELECT COUNT(*), MAX(version) FROM schema_migrations").Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	entries, _ := migrationFS.ReadDir("migrations/sqlite")
	if n != int64(len(entries)) || max != int64(len(entries)) {
		t.Errorf("schema_migrations has %d rows up to version %d, want %d", n, max, len(entries))
	}
}

func TestSQLiteSchemaTooNew(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if _, err := s.w.ExecContext(t.Context(), "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future.sql', 0)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := OpenSQLite(t.Context(), dir)
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("Open of a newer schema: %v, want ErrSchemaTooNew", err)
	}
}

func TestSQLiteOpenErrors(t *testing.T) {
	if _, err := OpenSQLite(t.Context(), ""); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Open(\"\") = %v, want ErrInvalid", err)
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenSQLite(t.Context(), f); err == nil {
		t.Error("Open on a regular file succeeded")
	}
	// A file that is not a database.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("this is not an SQLite database, just text......"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenSQLite(t.Context(), dir); err == nil {
		t.Error("Open on a corrupt database file succeeded")
	}
}

func BenchmarkSQLiteRevoke(b *testing.B) {
	s, err := OpenSQLite(b.Context(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchRevoke(b, s)
}

func BenchmarkSQLiteRevokeParallel(b *testing.B) {
	s, err := OpenSQLite(b.Context(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchRevokeParallel(b, s, 8)
}

func BenchmarkSQLitePutCard(b *testing.B) {
	s, err := OpenSQLite(b.Context(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchPutCard(b, s)
}

func BenchmarkSQLitePutCardParallel(b *testing.B) {
	s, err := OpenSQLite(b.Context(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchPutCardParallel(b, s, 8)
}

func BenchmarkSQLiteCRL1000(b *testing.B) {
	s, err := OpenSQLite(b.Context(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchCRL(b, s, 1000)
}

// TestCloseWithPendingCards: Close while PutCard calls are queued returns,
// and every call returns (nil, or an error saying the store is closed).
func TestSQLiteCloseWithPendingCards(t *testing.T) {
	s := open(t, t.TempDir())
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			c := store.IssuedCard{ID: fmt.Sprint("c", i), PatientID: "p", Kid: "k", JWS: "x"}
			_ = s.PutCard(context.Background(), c, store.Event{Action: "issue"})
		})
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("PutCard calls hang after Close")
	}
	c := store.IssuedCard{ID: "late", PatientID: "p", Kid: "k", JWS: "x"}
	if err := s.PutCard(t.Context(), c, store.Event{Action: "issue"}); err == nil {
		t.Error("PutCard after Close succeeded")
	}
}
