package httpapi_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/internal/pgtest"
	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
)

// The whole API test suite runs again against each durable store (the
// test binary re-executed with httpapitest.StoreEnv set): SQLite always,
// PostgreSQL when HEALTHCARDS_TEST_POSTGRES_DSN is set (eval "$(bash
// .ci/postgres.sh)"); without it the PostgreSQL run is skipped, except in CI
// (CI=true), where it fails.
func TestAPISuiteOnStores(t *testing.T) {
	if os.Getenv(httpapitest.StoreEnv) != "" {
		t.Skip("this run already targets one store")
	}
	if testing.Short() {
		t.Skip("runs the suite twice more")
	}
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			if kind == "postgres" {
				pgtest.DSN(t) // skips, or fails in CI, without a server
			}
			cmd := exec.Command(os.Args[0], "-test.run", "^Test", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), httpapitest.StoreEnv+"="+kind)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("API suite on %s failed: %v\n%s", kind, err, out)
			}
			passed := strings.Count(string(out), "--- PASS: Test")
			if passed < 10 {
				t.Fatalf("API suite on %s: only %d tests passed\n%s", kind, passed, out)
			}
			t.Logf("API suite on %s: %d tests passed", kind, passed)
		})
	}
}
