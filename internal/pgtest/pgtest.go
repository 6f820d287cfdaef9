// Package pgtest gives tests a PostgreSQL database of their own: the
// server named by HEALTHCARDS_TEST_POSTGRES_DSN (`eval "$(bash
// .ci/postgres.sh)"` starts one on loopback) and a fresh schema per call,
// dropped when the test ends. Without the variable a test is skipped,
// except in CI (CI=true), where it fails: CI must run every PostgreSQL test.
//
// It is the one place the test suites of the stores, the identity and
// OAuth tables, the key database, bulk batches and the commands find their
// PostgreSQL.
//
// # Security considerations
//
// Test-only: the DSN comes from the environment and is never logged; schema
// names are random hex, so they are safe to splice into SQL.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// DSNEnv is the variable .ci/postgres.sh exports.
const DSNEnv = "HEALTHCARDS_TEST_POSTGRES_DSN"

// DSN returns the test server's DSN, or skips the test (fails it when
// CI=true) when none is set.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(DSNEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL tests must run in CI: %s is not set (eval \"$(bash .ci/postgres.sh)\")", DSNEnv)
		}
		t.Skipf("%s not set; start a test server with: eval \"$(bash .ci/postgres.sh)\"", DSNEnv)
	}
	return dsn
}

// FreshSchema creates an empty schema on the test server, dropped at
// cleanup, and returns a DSN whose search_path is that schema: every
// connection opened with it (as several replicas would) sees the same
// empty database.
func FreshSchema(t testing.TB) string {
	t.Helper()
	return SchemaOn(t, DSN(t))
}

// SchemaOn is FreshSchema on the server dsn names.
func SchemaOn(t testing.TB, dsn string) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "hc_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to the test PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Errorf("connect for cleanup: %v", err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	out, err := WithSearchPath(dsn, schema)
	if err != nil {
		t.Fatalf("%s: %v", DSNEnv, err)
	}
	return out
}

// WithSearchPath returns dsn (a URL or key=value form) with its
// search_path set to schema.
func WithSearchPath(dsn, schema string) (string, error) {
	if !strings.Contains(dsn, "://") {
		return dsn + " search_path=" + schema, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
