package oauth_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"
)

const dsnEnv = "HEALTHCARDS_TEST_POSTGRES_DSN"

// freshDSN returns a DSN on a new schema of the test PostgreSQL server
// (dropped at cleanup). Without a server the test is skipped, except in CI
// (CI=true), where it fails.
func freshDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL tests must run in CI: %s is not set (eval \"$(bash .ci/postgres.sh)\")", dsnEnv)
		}
		t.Skipf("%s not set; start a test server with: eval \"$(bash .ci/postgres.sh)\"", dsnEnv)
	}
	b := make([]byte, 8)
	rand.Read(b)
	schema := "hc_oauthtest_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to test database: %v", err)
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
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("%s is not a valid URL", dsnEnv)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// The same flow with every table in PostgreSQL (the replicas' database).
func TestCodeFlowPostgres(t *testing.T) { codeFlow(t, start(t, "postgres", freshDSN(t))) }

// A code redeemed concurrently (as on two replicas) is redeemed once: one
// conditional UPDATE decides, and the loser's replay revokes the winner's
// tokens.
func TestConcurrentCodeRedemptionPostgres(t *testing.T) {
	s := start(t, "postgres", freshDSN(t))
	conf := s.config()
	v := oauth2.GenerateVerifier()
	code := s.authorize(conf, v, "s9", labType).Query().Get("code")
	const n = 8
	statuses := make(chan int, n)
	for range n {
		go func() {
			st, _ := s.form("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {v},
				"redirect_uri": {s.redirect}, "client_id": {s.clientID}})
			statuses <- st
		}()
	}
	ok := 0
	for range n {
		if <-statuses == http.StatusOK {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent redemptions succeeded, want exactly 1", ok, n)
	}
}
