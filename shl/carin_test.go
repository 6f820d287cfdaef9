package shl

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/internal/testvectors"
	"github.com/healthcards/healthcards/safehttp"
)

// The third-party CARIN link (LU) resolves end to end against a local
// server that serves the stand-in of its target. The payload's url points
// at raw.githubusercontent.com; the test swaps scheme and host for the test
// server's and keeps the path. The file's JWE has no cty, so ContentType is
// "" and the caller decides; the plaintext is a .smart-health-card file
// holding jws-raw.txt.
func TestClient_CARINThirdPartyLink(t *testing.T) {
	const dir = "third-party/seanno-shc-demo-data/cards/carin-insurance-example/"
	jwe := testvectors.Read(t, dir+"jws.txt")
	jwsRaw := strings.TrimSpace(string(testvectors.Read(t, dir+"jws-raw.txt")))
	p, err := Parse(string(testvectors.Read(t, dir+"shl.txt")))
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := url.Parse(p.URL)
	var gotRecipient string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != orig.Path {
			http.NotFound(w, r)
			return
		}
		gotRecipient = r.URL.Query().Get("recipient")
		w.Header().Set("Content-Type", "text/plain") // as raw.githubusercontent.com does
		w.Write(jwe)
	}))
	defer srv.Close()
	local, _ := url.Parse(srv.URL)
	orig.Scheme, orig.Host = local.Scheme, local.Host
	p.URL = orig.String()

	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c := &Client{Fetch: safehttp.MustNew(safehttp.Config{AllowPrivateNetwork: true, RootCAs: pool})}
	res, err := c.Resolve(context.Background(), p, ResolveOptions{Recipient: "Test Receiver"})
	if err != nil {
		t.Fatal(err)
	}
	if gotRecipient != "Test Receiver" {
		t.Fatalf("recipient %q", gotRecipient)
	}
	if len(res.Files) != 1 || res.Files[0].ContentType != "" || res.Files[0].CTY != "" {
		t.Fatalf("files %+v", res.Files)
	}
	var file struct {
		VerifiableCredential []string `json:"verifiableCredential"`
	}
	if err := json.Unmarshal(res.Files[0].Data, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.VerifiableCredential) != 1 || file.VerifiableCredential[0] != jwsRaw {
		t.Fatal("decrypted file does not hold jws-raw.txt")
	}

	// The same link with a wrong key fails to decrypt.
	p.Key = strings.Repeat("A", 43)
	_, err = c.Resolve(context.Background(), p, ResolveOptions{Recipient: "Test Receiver"})
	mustCode(t, err, CodeDecryptFailed)
}

// Manifest parsing: the IG example parses (structure only: its embedded JWE
// is truncated), and the rules of SHL-11 are enforced.
func TestParseManifest_SHL11(t *testing.T) {
	m, err := ParseManifest(testvectors.Read(t, "hl7-ig/input/resources/shl-manifest-1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 3 || m.Files[0].Location == "" || m.Files[1].Embedded == "" ||
		m.Files[2].Status != StatusFinalized || m.Files[2].FHIRVersion != "4.0.1" || m.Files[2].LastUpdated != "2025-03-09T15:29:46Z" {
		t.Fatalf("%+v", m)
	}
	const loc = `"location":"https://x.example/f"`
	for name, tc := range map[string]struct {
		in   string
		code Code
	}{
		"list_kept":       {`{"files":[],"list":{"resourceType":"List"}}`, ""},
		"unknown_ignored": {`{"files":[{"contentType":"a",` + loc + `,"x":1}],"y":2}`, ""},
		"no_files":        {`{}`, CodeMalformedManifest},
		"files_null":      {`{"files":null}`, CodeMalformedManifest},
		"both":            {`{"files":[{"contentType":"a",` + loc + `,"embedded":"e"}]}`, CodeMalformedManifest},
		"neither":         {`{"files":[{"contentType":"a"}]}`, CodeMalformedManifest},
		"no_type":         {`{"files":[{` + loc + `}]}`, CodeMalformedManifest},
		"bad_location":    {`{"files":[{"contentType":"a","location":"file:///etc/passwd"}]}`, CodeMalformedManifest},
		"bad_status":      {`{"files":[{"contentType":"a",` + loc + `,"status":"x"}]}`, CodeMalformedManifest},
		"bad_lastUpdated": {`{"files":[{"contentType":"a",` + loc + `,"lastUpdated":"yesterday"}]}`, CodeMalformedManifest},
		"case_trick":      {`{"files":[{"contentType":"a",` + loc + `,"Embedded":"e"}]}`, CodeMalformedManifest},
		"dup":             {`{"files":[],"files":[]}`, CodeMalformedManifest},
		"list_not_object": {`{"files":[],"list":[1]}`, CodeMalformedManifest},
		"too_many":        {`{"files":[` + strings.TrimSuffix(strings.Repeat(`{"contentType":"a",`+loc+`},`, MaxManifestFiles+1), ",") + `]}`, CodeTooLarge},
		"too_big":         {`{"files":[],"x":"` + strings.Repeat("a", MaxManifestBytes) + `"}`, CodeTooLarge},
		"file_not_object": {`{"files":[1]}`, CodeMalformedManifest},
		"array":           {`[]`, CodeMalformedManifest},
	} {
		t.Run(name, func(t *testing.T) {
			m, err := ParseManifest([]byte(tc.in))
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			mustCode(t, err, tc.code)
			if m != nil {
				t.Fatal("non-nil manifest on error")
			}
		})
	}
}
