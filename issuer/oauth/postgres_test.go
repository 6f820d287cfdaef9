package oauth_test

import (
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	"github.com/healthcards/healthcards/internal/pgtest"
)

// The same flow with every table in PostgreSQL (the replicas' database).
func TestCodeFlowPostgres(t *testing.T) { codeFlow(t, start(t, "postgres", pgtest.FreshSchema(t))) }

// A code redeemed concurrently (as on two replicas) is redeemed once: one
// conditional UPDATE decides, and the loser's replay revokes the winner's
// tokens.
func TestConcurrentCodeRedemptionPostgres(t *testing.T) {
	s := start(t, "postgres", pgtest.FreshSchema(t))
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
