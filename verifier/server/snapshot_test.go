package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/verifier"
	"github.com/healthcards/healthcards/verifier/server"
	"github.com/healthcards/healthcards/verifier/server/servertest"
)

// TestTrustSnapshot: GET /v1/trust-snapshot lists the trusted issuer with
// its key and revocation list (fetched live), never an untrusted one; a
// verifier built from it (offline) verifies the issuer's card and reports
// the revoked one; If-None-Match gets 304.
func TestTrustSnapshot(t *testing.T) {
	is := servertest.NewIssuer(t, "Test County Health Department", "revoked-rid")
	st := servertest.NewIssuer(t, "Unknown Clinic")
	svc := servertest.Start(t, server.Config{RateLimit: -1}, []*servertest.Issuer{is}, st)
	resp, err := http.Get(svc.URL + "/v1/trust-snapshot")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	snap := string(b)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != verifier.TrustSnapshotMediaType || resp.Header.Get("ETag") == "" {
		t.Fatalf("GET: %s %v", resp.Status, resp.Header)
	}
	if !strings.Contains(snap, is.URL) || !strings.Contains(snap, is.KID) || !strings.Contains(snap, `"revoked-rid"`) || strings.Contains(snap, st.URL) {
		t.Fatalf("snapshot %s", snap)
	}
	info, opts, err := verifier.ReadTrustSnapshot([]byte(snap))
	if err != nil {
		t.Fatal(err)
	}
	if info.Issuers != 1 || !info.Required || info.RevocationMaxAge != verifier.DefaultRevocationMaxAge || time.Since(info.Time) > time.Minute {
		t.Errorf("info %+v", info)
	}
	v, err := verifier.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	for rid, want := range map[string]verifier.Verdict{"ok": verifier.VerdictVerified, "revoked-rid": verifier.VerdictInvalid} {
		rs, err := v.Verify(context.Background(), []byte(is.Card(t, nil, rid)))
		if err != nil || len(rs) != 1 || rs[0].Verdict != want {
			t.Errorf("card %s from the snapshot: %v %+v", rid, err, rs)
		}
	}
	rs, _ := v.Verify(context.Background(), []byte(st.Card(t, nil, "")))
	if len(rs) != 1 || rs[0].Verdict != verifier.VerdictUntrusted {
		t.Errorf("untrusted card from the snapshot: %+v", rs)
	}

	req, _ := http.NewRequest(http.MethodGet, svc.URL+"/v1/trust-snapshot", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET: %s, want 304", r2.Status)
	}
	if _, _, err := verifier.ReadTrustSnapshot([]byte(`{"issuerInfo":[]}`)); err == nil {
		t.Error("a directory without the snapshot's members was read as a snapshot")
	}
}
