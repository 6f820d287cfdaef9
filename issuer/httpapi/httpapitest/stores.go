package httpapitest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/issuer/store/memstore"
	"github.com/healthcards/healthcards/issuer/store/postgres"
	"github.com/healthcards/healthcards/issuer/store/sqlite"
)

// StoreEnv names the store Start uses when Options.Store is nil: "memory"
// (or unset), "sqlite" (a fresh database in a temporary directory) or
// "postgres" (a fresh schema in the database PostgresDSNEnv names, dropped
// at cleanup). It lets one API test suite run against every store.
const StoreEnv = "HEALTHCARDS_ISSUER_TEST_STORE"

// PostgresDSNEnv is the variable .ci/postgres.sh exports.
const PostgresDSNEnv = "HEALTHCARDS_TEST_POSTGRES_DSN"

func storeFromEnv(t testing.TB) store.Store {
	t.Helper()
	kind := os.Getenv(StoreEnv)
	switch kind {
	case "", "memory":
		return memstore.New()
	case "sqlite":
		st, err := sqlite.Open(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	case "postgres":
		dsn := os.Getenv(PostgresDSNEnv)
		if dsn == "" {
			t.Fatalf("%s=postgres needs %s", StoreEnv, PostgresDSNEnv)
		}
		st, err := postgres.Open(context.Background(), FreshPostgresSchema(t, dsn))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	t.Fatalf("%s=%q: want memory, sqlite or postgres", StoreEnv, kind)
	return nil
}

// FreshPostgresSchema creates an empty schema in the database dsn names,
// dropped when the test ends, and returns a DSN whose search_path is it.
func FreshPostgresSchema(t testing.TB, dsn string) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "hc_api_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connecting to PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal("the PostgreSQL DSN is not a valid URL")
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}
