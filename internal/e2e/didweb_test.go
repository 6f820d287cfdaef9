package e2e

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/did"
	"github.com/healthcards/healthcards/examples/bundles"
	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/verifier"
)

// A did:web issuer (a project extension, KEY-12): the service publishes its
// DID document at /.well-known/did.json with JsonWebKey2020 methods named by
// thumbprint; the verifier resolves the DID, verifies the card with the
// document's key, and takes revocation from the DID's https base +
// /.well-known/crl/<kid>.json.
func TestDIDWebIssuer(t *testing.T) {
	s := httpapitest.Start(t, httpapitest.Options{DIDWeb: true})
	if !strings.HasPrefix(s.Iss, "did:web:localhost%3A") {
		t.Fatalf("iss = %q", s.Iss)
	}
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())

	// The DID document the service serves resolves to the signing key.
	docURL, err := did.WebURL(s.Iss)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Client().Get(s.URL + "/.well-known/did.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	doc, err := did.ParseDocumentFor(s.Iss, body)
	if err != nil {
		t.Fatalf("served DID document (%s): %v", docURL, err)
	}
	kids := map[string]bool{}
	for _, k := range doc.Keys() {
		kids[k.Kid] = true
	}

	var out struct {
		Cards []struct{ JWS string } `json:"cards"`
	}
	if err := json.Unmarshal(post(t, s, "/v1/cards", bundles.LabCovidPCR), &out); err != nil || len(out.Cards) != 1 {
		t.Fatalf("issue: %v", err)
	}
	card, err := shc.Parse(out.Cards[0].JWS)
	if err != nil {
		t.Fatal(err)
	}
	if card.Issuer() != s.Iss || !kids[card.KeyID()] {
		t.Fatalf("card iss %s kid %s; DID document keys %v", card.Issuer(), card.KeyID(), kids)
	}

	clock := newTestClock()
	v, err := verifier.New(verifier.WithTrustedIssuers(s.Iss), verifier.WithAllowPrivateNetwork(),
		verifier.WithRootCAs(pool), verifier.WithCacheTTL(time.Minute, time.Hour), verifier.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	verify := func() *verifier.Result {
		t.Helper()
		res, err := v.Verify(context.Background(), []byte(out.Cards[0].JWS))
		if err != nil || len(res) != 1 {
			t.Fatalf("Verify: %v", err)
		}
		return res[0]
	}
	if r := verify(); r.Verdict != verifier.VerdictVerified || r.Issuer != s.Iss {
		t.Fatalf("did:web card: %s %v", r.Verdict, r.Errors)
	}
	post(t, s, "/v1/revocations", []byte(`{"patientId":"pt-1001"}`))
	clock.Advance(2 * time.Minute) // past the key TTL: the DID document is read again
	if r := verify(); r.Valid || len(r.Errors) == 0 || r.Errors[0].Code != verifier.CodeRevoked {
		t.Fatalf("after revocation: %s %v, want revoked", r.Verdict, r.Errors)
	}
}
