package e2e

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/examples/bundles"
	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
	"github.com/healthcards/healthcards/verifier"
)

// Issue 14: a lab withdraws a patient's card and issues a corrected one.
// POST /v1/revocations {"patientId"} revokes with the timestamp form by
// default (REV-5: only cards issued before now), so the card issued right
// after — in the same second — verifies with the verifier library, and the
// old one is revoked. "all": true then revokes the new one too.
func TestRevokeThenReissue_REV5(t *testing.T) {
	s := httpapitest.Start(t, httpapitest.Options{})
	issue := func() string {
		t.Helper()
		var out struct {
			Cards []struct {
				JWS string `json:"jws"`
			} `json:"cards"`
		}
		if err := json.Unmarshal(post(t, s, "/v1/cards", bundles.LabCovidPCR), &out); err != nil || len(out.Cards) != 1 {
			t.Fatalf("issue: %v, %d cards", err, len(out.Cards))
		}
		return out.Cards[0].JWS
	}
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	clock := newTestClock()
	v, err := verifier.New(verifier.WithTrustedIssuers(s.URL), verifier.WithAllowPrivateNetwork(), verifier.WithRootCAs(pool),
		verifier.WithCacheTTL(time.Minute, time.Hour), verifier.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	verify := func(jws string) *verifier.Result {
		t.Helper()
		res, err := v.Verify(context.Background(), []byte(jws))
		if err != nil || len(res) != 1 {
			t.Fatalf("Verify: %v (%d results)", err, len(res))
		}
		return res[0]
	}

	old := issue()
	if r := verify(old); r.Verdict != verifier.VerdictVerified {
		t.Fatalf("first card: %s %v", r.Verdict, r.Errors)
	}
	var rev struct {
		Entries []struct{ Entry string } `json:"entries"`
	}
	if err := json.Unmarshal(post(t, s, "/v1/revocations", []byte(`{"patientId":"pt-1001","reason":"wrong result"}`)), &rev); err != nil ||
		len(rev.Entries) != 1 || !strings.Contains(rev.Entries[0].Entry, ".") {
		t.Fatalf("revocation reply %+v (%v): want one rid.T entry", rev, err)
	}
	corrected := issue() // normally within the same second as the revocation
	clock.Advance(2 * time.Minute)

	if r := verify(old); r.Verdict != verifier.VerdictInvalid || len(r.Errors) == 0 || r.Errors[0].Code != verifier.CodeRevoked {
		t.Fatalf("old card after revocation: %s %v; want revoked", r.Verdict, r.Errors)
	}
	if r := verify(corrected); r.Verdict != verifier.VerdictVerified {
		t.Fatalf("card issued after the revocation: %s %v; want verified (REV-5 timestamp form)", r.Verdict, r.Errors)
	}

	// The explicit choice: every card of the patient, also future ones.
	post(t, s, "/v1/revocations", []byte(`{"patientId":"pt-1001","all":true}`))
	later := issue()
	clock.Advance(2 * time.Minute)
	for name, jws := range map[string]string{"corrected": corrected, "later": later} {
		if r := verify(jws); r.Verdict != verifier.VerdictInvalid || r.Errors[0].Code != verifier.CodeRevoked {
			t.Errorf("%s card after all:true: %s %v; want revoked", name, r.Verdict, r.Errors)
		}
	}
}
