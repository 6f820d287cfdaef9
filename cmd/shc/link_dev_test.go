package main

import (
	"bytes"
	"encoding/pem"
	"io"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/examples/bundles"
)

// Issue 14: the README's `shc link show` example against the development
// issuer (loopback, its own CA). Without --allow-private-network and
// --ca-cert the error says which flag is needed; with both (as the README
// now writes it) the link opens and its card verifies.
func TestLinkShowDevelopmentStackHints(t *testing.T) {
	s, _, write := linkIssuer(t)
	token := write("token", []byte(s.Token+"\n"))
	ca := write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}))
	bundle := write("bundle.json", bundles.LabCovidPCR)
	pass := write("pin.txt", []byte("1234\n"))
	shcRun := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(args, &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, errs := shcRun("link", "create", "--issuer", s.URL, "--ca-cert", ca, "--token-file", token, "--bundle", bundle, "--sign", "--passcode-file", pass)
	if code != 0 {
		t.Fatalf("create: %d %s %s", code, out, errs)
	}
	link := strings.TrimSpace(out)

	code, out, errs = shcRun("link", "show", "--any-issuer", "--passcode-file", pass, link)
	if code == 0 || !strings.Contains(errs, "--allow-private-network") {
		t.Errorf("loopback link without --allow-private-network: %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = shcRun("link", "show", "--any-issuer", "--allow-private-network", "--passcode-file", pass, link)
	if code == 0 || !strings.Contains(errs, "--ca-cert") {
		t.Errorf("development CA without --ca-cert: %d\n%s\n%s", code, out, errs)
	}
	resp, err := s.Client().Get(s.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	jwksBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	jwks := write("jwks.json", jwksBody)
	// As the README writes it (with the test server's address).
	code, out, errs = shcRun("link", "show", "--jwks", s.URL+"="+jwks, "--allow-private-network", "--ca-cert", ca, "--passcode-file", pass, link)
	if code != 0 || !strings.Contains(out, "VERIFIED") {
		t.Errorf("README example: %d\n%s\n%s", code, out, errs)
	}
}
