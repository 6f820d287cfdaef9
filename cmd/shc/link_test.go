package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/examples/bundles"
	"github.com/healthcards/healthcards/issuer/httpapi"
	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
	"github.com/healthcards/healthcards/shl"
)

// shc link create talks to an issuer service (httptest, TLS with its own
// CA), for a signed bundle with a passcode and for a patient's stored
// results; shc link show then resolves, decrypts and verifies each link
// against the issuer's key set.
func TestLinkCreateAndShowAgainstIssuer(t *testing.T) {
	s, dir, write := linkIssuer(t)
	token := write("token", []byte(s.Token+"\n"))
	ca := write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}))
	bundle := write("bundle.json", bundles.LabCovidPCR)
	pass := write("pass", []byte("s3cret\n"))
	qr := filepath.Join(dir, "link.png")
	resp, err := s.Client().Get(s.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	jwksBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	jwks := write("jwks.json", jwksBody)

	shcRun := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(args, &out, &errb)
		return code, out.String(), errb.String()
	}

	code, out, errs := shcRun("link", "create", "--issuer", s.URL, "--token-file", token, "--bundle", bundle, "--sign",
		"--passcode-file", pass, "--exp", "24h", "--label", "PCR result", "--viewer", "https://viewer.example.org/#", "--qr", qr, "--ca-cert", ca)
	if code != 0 {
		t.Fatalf("create: %d %s", code, errs)
	}
	link := strings.TrimSpace(out)
	p, err := shl.Parse(link)
	if err != nil || !strings.HasPrefix(link, "https://viewer.example.org/#shlink:/") || p.Flag != "P" || p.Label != "PCR result" || p.Exp == 0 {
		t.Fatalf("link %q: %v", link, err)
	}
	if png, err := os.ReadFile(qr); err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("QR file: %v", err)
	}

	trustArgs := []string{"--jwks", s.URL + "=" + jwks, "--allow-private-network", "--ca-cert", ca}
	code, out, errs = shcRun(append(append([]string{"link", "show", "--passcode-file", pass}, trustArgs...), link)...)
	if code != 0 || !strings.Contains(out, "card 0: VERIFIED") || !strings.Contains(out, "label:    PCR result") {
		t.Fatalf("show: %d\n%s\n%s", code, out, errs)
	}
	wrong := write("wrong", []byte("nope"))
	code, _, errs = shcRun(append(append([]string{"link", "show", "--passcode-file", wrong}, trustArgs...), link)...)
	if code != 1 || !strings.Contains(errs, "passcode_wrong") || !strings.Contains(errs, "9 attempts left") {
		t.Fatalf("wrong passcode: %d %s", code, errs)
	}

	// A patient's stored results, shared as cards.
	req, _ := http.NewRequest("POST", s.URL+"/v1/results", bytes.NewReader(bundles.LabCovidPCR))
	req.Header.Set("Authorization", "Bearer "+s.Token)
	resp, err = s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var stored struct{ PatientID string }
	json.NewDecoder(resp.Body).Decode(&stored)
	resp.Body.Close()
	if stored.PatientID == "" {
		t.Fatalf("results: %d", resp.StatusCode)
	}
	code, out, errs = shcRun("link", "create", "--issuer", s.URL, "--token-file", token, "--patient", stored.PatientID, "--ca-cert", ca, "--json")
	if code != 0 || !strings.Contains(out, `"cards":1`) {
		t.Fatalf("create --patient: %d %s %s", code, out, errs)
	}
	var created struct{ ShLink string }
	json.Unmarshal([]byte(out), &created)
	code, out, errs = shcRun(append(append([]string{"link", "show", "--json"}, trustArgs...), created.ShLink)...)
	if code != 0 || !strings.Contains(out, `"verdict": "verified"`) {
		t.Fatalf("show --json: %d %s %s", code, out, errs)
	}

	// The issuer's refusals come back as errors with its code.
	code, _, errs = shcRun("link", "create", "--issuer", s.URL, "--token-file", token, "--patient", "nobody", "--ca-cert", ca)
	if code != 1 || !strings.Contains(errs, "not_found") {
		t.Fatalf("unknown patient: %d %s", code, errs)
	}
	// Without --ca-cert the development certificate is not trusted.
	if code, _, _ = shcRun("link", "create", "--issuer", s.URL, "--token-file", token, "--patient", stored.PatientID); code != 1 {
		t.Fatalf("untrusted TLS: %d", code)
	}
}

// linkIssuer starts an issuer service with SMART Health Links mounted (TLS
// with its own CA), and returns it, a private folder, and a function that
// writes a file there (0600) and returns its path.
func linkIssuer(t *testing.T) (*httpapitest.Server, string, func(name string, b []byte) string) {
	t.Helper()
	s := httpapitest.Start(t, httpapitest.Options{ConfigAPI: func(c *httpapi.Config) {
		l, err := httpapi.NewLinks(httpapi.LinksConfig{Issuer: c.Issuer, Auth: c.Auth, BaseURL: c.BaseURL})
		if err != nil {
			t.Fatal(err)
		}
		c.Mount = l.Mount
	}})
	dir := t.TempDir()
	return s, dir, func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
}
