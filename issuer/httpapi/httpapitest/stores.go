package httpapitest

import (
	"context"
	"os"
	"testing"

	"github.com/healthcards/healthcards/internal/pgtest"
	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/issuer/store/memstore"
	"github.com/healthcards/healthcards/issuer/store/postgres"
	"github.com/healthcards/healthcards/issuer/store/sqlite"
)

// StoreEnv names the store Start uses when Options.Store is nil: "memory"
// (or unset), "sqlite" (a fresh database in a temporary directory) or
// "postgres" (a fresh schema in the database pgtest.DSNEnv names, dropped
// at cleanup). It lets one API test suite run against every store.
const StoreEnv = "HEALTHCARDS_ISSUER_TEST_STORE"

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
		dsn := os.Getenv(pgtest.DSNEnv)
		if dsn == "" {
			t.Fatalf("%s=postgres needs %s", StoreEnv, pgtest.DSNEnv)
		}
		st, err := postgres.Open(context.Background(), pgtest.SchemaOn(t, dsn))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	t.Fatalf("%s=%q: want memory, sqlite or postgres", StoreEnv, kind)
	return nil
}
