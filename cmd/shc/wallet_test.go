package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/examples/bundles"
	"github.com/healthcards/healthcards/internal/wallet"
	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
	"github.com/healthcards/healthcards/shl"
)

// shc wallet import and share --link against the real issuer service
// ($health-cards-issue, its authorization decision point and link host),
// with a wallet whose grant holds an access token from the issuer's test
// authorization server (the SMART flow itself is tested in
// internal/wallet and, with the issuer's own authorization server, in
// internal/e2e).
func TestWalletImportFromIssuer(t *testing.T) {
	s, dir, write := linkIssuer(t)
	var patient string
	for _, b := range [][]byte{bundles.LabCovidPCR, bundles.ImmunizationsCOVID} {
		req, _ := http.NewRequest("POST", s.URL+"/v1/results", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+s.Token)
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var stored struct{ PatientID string }
		json.NewDecoder(resp.Body).Decode(&stored)
		resp.Body.Close()
		if stored.PatientID == "" {
			t.Fatalf("results: %d", resp.StatusCode)
		}
		if patient == "" {
			patient = stored.PatientID
		}
	}
	t.Setenv("SHC_WALLET_PASSPHRASE", "correct horse battery staple")
	wdir := filepath.Join(dir, "wallet")
	connect := func(scope, who string) {
		w, err := wallet.Open(wdir, wallet.Options{Passphrase: func() ([]byte, error) { return []byte("correct horse battery staple"), nil }})
		if err != nil {
			t.Fatal(err)
		}
		base := s.URL + "/fhir"
		tok := s.MintJWT(t, httpapitest.Claims{Subject: "person-1", Patient: who, Scope: scope, FHIRUser: "Patient/" + who})
		err = w.SaveConnection(&wallet.Connection{FHIRBase: base, AuthorizationEndpoint: s.URL + "/authorize", TokenEndpoint: s.URL + "/token",
			ClientID: "shc-wallet", TrustedIssuers: wallet.TrustedIssuersFor(base), PrivateOrigins: []string{s.URL},
			CACertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}))},
			&wallet.Grant{AccessToken: tok, TokenType: "Bearer", Patient: who, Expiry: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
	}
	shcRun := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(append(args, "--wallet", wdir), &out, &errb)
		return code, out.String(), errb.String()
	}

	// Lab results are outside the granted scopes: the issuer refuses and
	// says which scope was missing; nothing is kept.
	connect("launch/patient openid fhirUser patient/Immunization.rs", patient)
	code, _, errs := shcRun("wallet", "import", "--type", "laboratory")
	if code != 1 || !strings.Contains(errs, "issue_refused") || !strings.Contains(errs, "403") {
		t.Fatalf("lab results without scope: %d %s", code, errs)
	}
	connect("launch/patient openid fhirUser patient/Observation.rs", patient)
	code, out, errs := shcRun("wallet", "import", "--type", "laboratory", "--since", "2020-01-01")
	if code != 0 || !strings.Contains(out, "imported 1 verified card") || !strings.Contains(out, "Observation") {
		t.Fatalf("import: %d %s %s", code, out, errs)
	}
	// This patient has no immunization: an empty answer keeps nothing.
	if code, out, errs = shcRun("wallet", "import", "--type", "immunization"); code != 0 || !strings.Contains(out, "imported 0") {
		t.Fatalf("no immunizations: %d %s %s", code, out, errs)
	}
	code, out, _ = shcRun("wallet", "list", "--json")
	var cards []wallet.Card
	if code != 0 || json.Unmarshal([]byte(out), &cards) != nil || len(cards) != 1 || cards[0].Issuer != s.Iss || cards[0].Source != "import" {
		t.Fatalf("list: %d %s", code, out)
	}

	// Share the imported card as a SMART Health Link made by the issuer's
	// link host under the wallet's grant; the link resolves and verifies.
	pass := write("pin", []byte("1234\n"))
	code, out, errs = shcRun("wallet", "share", cards[0].ID[:6], "--link", "--passcode-file", pass, "--exp", "1h")
	if code != 0 {
		t.Fatalf("share --link: %d %s %s", code, out, errs)
	}
	link := strings.TrimSpace(out)
	if p, err := shl.Parse(link); err != nil || p.Flag != "P" {
		t.Fatalf("link %q: %v", link, err)
	}
	// Another person's wallet adds the card from the link (shl client,
	// passcode), verified against the issuer's key set before it is kept.
	resp, err := s.Client().Get(s.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	jwksBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	jwks := write("jwks.json", jwksBody)
	ca := write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}))
	other := filepath.Join(dir, "other-wallet")
	addArgs := []string{"wallet", "add", link, "--wallet", other, "--jwks", s.Iss + "=" + jwks, "--allow-private-network", "--ca-cert", ca}
	var aout, aerr bytes.Buffer
	if code := run(addArgs, &aout, &aerr); code != 1 || !strings.Contains(aerr.String(), "passcode_required") {
		t.Fatalf("add without the passcode: %d %s", code, aerr.String())
	}
	aout.Reset()
	aerr.Reset()
	if code := run(append(addArgs, "--passcode-file", pass), &aout, &aerr); code != 0 || !strings.Contains(aout.String(), "added 1 verified card") || !strings.Contains(aout.String(), "link") {
		t.Fatalf("add from the link: %d %s %s", code, aout.String(), aerr.String())
	}

	// A token for another patient: refused by the issuer.
	connect("launch/patient patient/*.rs", "someone-else")
	if code, _, errs = shcRun("wallet", "import"); code != 1 || !strings.Contains(errs, "issue_refused") {
		t.Fatalf("another patient: %d %s", code, errs)
	}
	// An expired access token with no refresh token: connect again.
	w, _ := wallet.Open(wdir, wallet.Options{Passphrase: func() ([]byte, error) { return []byte("correct horse battery staple"), nil }})
	g, _ := w.Grant()
	g.Expiry = time.Now().Add(-time.Minute)
	w.SaveGrant(g)
	if code, _, errs = shcRun("wallet", "import"); code != 1 || !strings.Contains(errs, "authorization_expired") || strings.Contains(errs, g.AccessToken) {
		t.Fatalf("expired: %d %s", code, errs)
	}
}
