package server_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/verifier"
	"github.com/healthcards/healthcards/verifier/server"
	"github.com/healthcards/healthcards/verifier/server/servertest"
)

// issuerDirectory writes a directory listing is with its published keys
// and the raw JSON timeMember as "time", and returns its path.
func issuerDirectory(t *testing.T, is *servertest.Issuer, timeMember string) string {
	t.Helper()
	resp, err := is.Server.Client().Get(is.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	jwks, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatal(err)
	}
	entry, _ := json.Marshal(map[string]any{"issuer": map[string]any{"iss": is.URL, "name": is.Name}, "keys": set.Keys})
	path := filepath.Join(t.TempDir(), "directory.json")
	doc := `{"directory":"test","time":` + timeMember + `,"issuerInfo":[` + string(entry) + `]}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A directory whose "time" is a number (Unix seconds) makes the service
// ready and verifies its issuers' cards (TRUST-3: an odd time is a
// warning); an old numeric time is stale.
func TestTrustNumericTime(t *testing.T) {
	is := servertest.NewIssuer(t, "Numeric Clinic")
	card := is.Card(t, nil, "")
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	tr, err := server.NewTrust(t.Context(), server.TrustConfig{
		Sources: []string{issuerDirectory(t, is, strconv.FormatInt(time.Now().Unix(), 10))},
		Options: trustOpts(poolOf(is)), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Ready(); err != nil {
		t.Fatalf("not ready on a numeric time: %v", err)
	}
	rs, err := tr.Verify(t.Context(), []byte(card))
	if err != nil || rs[0].Verdict != verifier.VerdictVerified || rs[0].IssuerName != "Numeric Clinic" {
		t.Fatalf("%+v %v", rs, err)
	}
	if !strings.Contains(logs.String(), "is a number") {
		t.Errorf("no warning for a numeric time:\n%s", logs.String())
	}

	old := time.Now().Add(-30 * 24 * time.Hour).Unix()
	tr, err = server.NewTrust(t.Context(), server.TrustConfig{
		Sources: []string{issuerDirectory(t, is, strconv.FormatInt(old, 10))},
		Options: trustOpts(poolOf(is)), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Ready(); err == nil || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("Ready() = %v, want stale", err)
	}
}

// A refresh that fails keeps the last good trust snapshot: the error is
// returned, logged and counted, the service stays ready and verifies as
// before, and the issuer's cached key set is used (no new fetch).
func TestTrustRefreshFailureKeepsLastGood(t *testing.T) {
	is := servertest.NewIssuer(t, "Steady Clinic")
	card := is.Card(t, nil, "")
	path := servertest.TrustList(t, is)
	metrics := server.NewMetrics()
	var logs strings.Builder
	tr, err := server.NewTrust(t.Context(), server.TrustConfig{Sources: []string{path}, Options: trustOpts(poolOf(is)),
		Metrics: metrics, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	verified := func(when string) {
		t.Helper()
		rs, err := tr.Verify(t.Context(), []byte(card))
		if err != nil || rs[0].Verdict != verifier.VerdictVerified {
			t.Fatalf("%s: %+v %v", when, rs, err)
		}
	}
	verified("before")
	if err := os.WriteFile(path, []byte(`{"participating_issuers":`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := tr.Refresh(t.Context()); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Refresh() = %v", err)
	}
	if err := tr.Ready(); err != nil {
		t.Fatalf("not ready with the last good copy: %v", err)
	}
	verified("after a failed refresh")
	if s := tr.Stats(); s.KeySetCacheHits != 1 || s.Fetches != 1 || is.Fetches("/.well-known/jwks.json") != 1 {
		t.Fatalf("stats %+v", s)
	}
	var m strings.Builder
	metrics.WriteTo(&m)
	for _, want := range []string{`shc_verifier_fetch_failures_total{source="directory"} 1`, `shc_verifier_trust_source_loads_total{source="directory"} 1`} {
		if !strings.Contains(m.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if !strings.Contains(logs.String(), "keeping_previous=true") {
		t.Errorf("failure not logged:\n%s", logs.String())
	}
}
