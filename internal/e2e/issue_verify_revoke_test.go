package e2e

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/healthcards/healthcards/examples/bundles"
	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
	"github.com/healthcards/healthcards/verifier"
)

func post(t *testing.T, s *httpapitest.Server, path string, body []byte) []byte {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
	}
	return b
}

// Issue through the service API → verify online against the service's live
// /.well-known key set and revocation list → revoke by patient id → the
// verifier sees crlVersion move past its cached CRL, refetches it, and the
// same card is now revoked (KEY-3, REV-4..9).
func TestIssueVerifyRevokeOnline(t *testing.T) {
	s := httpapitest.Start(t, httpapitest.Options{})
	var out struct {
		Cards []struct {
			JWS string `json:"jws"`
			RID string `json:"rid"`
		} `json:"cards"`
	}
	if err := json.Unmarshal(post(t, s, "/v1/cards", bundles.LabCovidPCR), &out); err != nil || len(out.Cards) != 1 {
		t.Fatalf("issue: %v, %d cards", err, len(out.Cards))
	}
	card := out.Cards[0]
	if card.RID == "" {
		t.Fatal("the service issued a card without a rid; it cannot be revoked")
	}

	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	clock := newTestClock()
	v, err := verifier.New(
		verifier.WithTrustedIssuers(s.URL),
		verifier.WithAllowPrivateNetwork(),
		verifier.WithRootCAs(pool),
		// Key sets go stale after a minute of the injected clock so the
		// verification after the revocation sees the moved crlVersion; CRLs
		// stay cached for an hour and must be refetched only because
		// crlVersion moved.
		verifier.WithCacheTTL(time.Minute, time.Hour),
		verifier.WithClock(clock.Now),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	verify := func() *verifier.Result {
		t.Helper()
		res, err := v.Verify(ctx, []byte(card.JWS))
		if err != nil || len(res) != 1 {
			t.Fatalf("Verify: %v (%d results)", err, len(res))
		}
		return res[0]
	}
	if r := verify(); r.Verdict != verifier.VerdictVerified {
		t.Fatalf("fresh card: verdict %s, errors %v", r.Verdict, r.Errors)
	} else if r.Summary == nil || r.Summary.Patient == nil || r.Summary.Patient.Name != "Maria Elena Garcia" {
		t.Errorf("summary = %+v", r.Summary)
	}
	// Verified again from the caches: still fine.
	if r := verify(); !r.Valid {
		t.Fatalf("second verification: %v", r.Errors)
	}

	post(t, s, "/v1/revocations", []byte(`{"patientId":"pt-1001","reason":"card reported lost"}`))
	clock.Advance(2 * time.Minute) // past the key-set TTL, not the CRL's

	r := verify()
	if r.Valid || r.Verdict != verifier.VerdictInvalid || len(r.Errors) == 0 || r.Errors[0].Code != verifier.CodeRevoked {
		t.Fatalf("after revocation: verdict %s, errors %v; want revoked", r.Verdict, r.Errors)
	}
}

// testClock is a clock the test moves (no sleeping against TTLs).
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
