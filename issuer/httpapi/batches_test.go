package httpapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/issuer/bulk"
	"github.com/healthcards/healthcards/issuer/httpapi"
	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
	"github.com/healthcards/healthcards/issuer/store/sqlite"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/safehttp"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/shl"
)

func startWithBatches(t *testing.T) *httpapitest.Server {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return httpapitest.Start(t, httpapitest.Options{ConfigAPI: func(c *httpapi.Config) {
		l, err := httpapi.NewLinks(httpapi.LinksConfig{Issuer: c.Issuer, Auth: c.Auth, BaseURL: c.BaseURL})
		if err != nil {
			t.Fatal(err)
		}
		m, err := bulk.NewManager(bulk.ManagerConfig{DB: db, Dir: filepath.Join(dir, "batches"), Issuer: c.Issuer, Workers: 2, Linker: l, Poll: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		b, err := httpapi.NewBatches(httpapi.BatchesConfig{Manager: m, Auth: c.Auth, MaxBytes: 8 << 20})
		if err != nil {
			t.Fatal(err)
		}
		prev := c.Mount
		c.Mount = func(e *echo.Echo) {
			if prev != nil {
				prev(e)
			}
			l.Mount(e)
			b.Mount(e)
		}
	}})
}

func send(t *testing.T, s *httpapitest.Server, method, path, token, ctype string, body []byte) resp {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	r, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{r.StatusCode, r.Header, b}
}

// waitDone polls GET /v1/batches/{id} until the batch is done.
func waitDone(t *testing.T, s *httpapitest.Server, id string) httpapi.BatchJSON {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := send(t, s, "GET", "/v1/batches/"+id, s.Token, "", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET batch: %d %s", r.Status, r.Body)
		}
		var st httpapi.BatchJSON
		if err := json.Unmarshal(r.Body, &st); err != nil {
			t.Fatal(err)
		}
		switch st.Status {
		case bulk.BatchDone:
			return st
		case bulk.BatchFailed:
			t.Fatalf("batch failed: %s", st.Error)
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch still %s (%d/%d)", st.Status, st.Done, st.Total)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// POST /v1/batches with NDJSON files (multipart) and with a ZIP: the batch
// runs in the background, GET shows its progress, and when done its
// results and files download; bad records are reported, not fatal.
func TestBatchesAPI(t *testing.T) {
	s := startWithBatches(t)
	in := t.TempDir()
	if err := bulk.Generate(in, bulk.SynthOptions{Patients: 5, Seed: 2, Broken: true}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(in)
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(in, e.Name()))
		w, _ := mw.CreateFormFile("file", e.Name())
		w.Write(b)
		zf, _ := zw.Create(e.Name())
		zf.Write(b)
	}
	mw.Close()
	zw.Close()

	if r := send(t, s, "POST", "/v1/batches", "", mw.FormDataContentType(), mp.Bytes()); r.Status != http.StatusUnauthorized {
		t.Fatalf("no token: %d", r.Status)
	}
	if r := send(t, s, "POST", "/v1/batches", s.Token, "text/plain", []byte("x")); r.Status != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain: %d", r.Status)
	}
	if r := send(t, s, "POST", "/v1/batches?outputs=gif", s.Token, "application/zip", zb.Bytes()); r.Status != http.StatusBadRequest || outcomeCode(t, r.Body) != "invalid_parameters" {
		t.Fatalf("outputs=gif: %d %s", r.Status, r.Body)
	}
	for _, tc := range []struct {
		name, ctype, query string
		body               []byte
	}{
		{"multipart", mw.FormDataContentType(), "?outputs=card,png", mp.Bytes()},
		{"zip", "application/zip", "", zb.Bytes()},
	} {
		r := send(t, s, "POST", "/v1/batches"+tc.query, s.Token, tc.ctype, tc.body)
		if r.Status != http.StatusAccepted {
			t.Fatalf("%s: %d %s", tc.name, r.Status, r.Body)
		}
		var st httpapi.BatchJSON
		if err := json.Unmarshal(r.Body, &st); err != nil || st.ID == "" || r.Header.Get("Location") != "/v1/batches/"+st.ID {
			t.Fatalf("%s: %s (%v)", tc.name, r.Body, err)
		}
		done := waitDone(t, s, st.ID)
		want := 5 + len(bulk.BrokenPatients) + len(bulk.BrokenRecords)
		if done.Total != want || done.Results == "" {
			t.Fatalf("%s: %+v; want %d results", tc.name, done, want)
		}
		res := send(t, s, "GET", done.Results, s.Token, "", nil)
		if res.Status != http.StatusOK || bytes.Count(res.Body, []byte("\n")) != want {
			t.Fatalf("%s results: %d\n%s", tc.name, res.Status, res.Body)
		}
		if n := res.Header.Get(httpapi.ResultsCountHeader); n != strconv.Itoa(want) {
			t.Fatalf("%s results: %s %q; want %d (the lines of the body)", tc.name, httpapi.ResultsCountHeader, n, want)
		}
		got := map[string]bulk.Result{}
		for _, line := range strings.Split(strings.TrimSpace(string(res.Body)), "\n") {
			var r bulk.Result
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatal(err)
			}
			got[r.Key] = r
		}
		for key, code := range bulk.BrokenPatients {
			if tc.name == "zip" && code == "card_too_large_for_qr" {
				code = "" // cards only: no QR size rule
			}
			r := got[key]
			if c := ""; r.Outcome != nil {
				c = r.Outcome.Issue[0].Details.Coding[0].Code
				if c != code {
					t.Errorf("%s %s: %s; want %s", tc.name, key, c, code)
				}
			} else if code != "" {
				t.Errorf("%s %s: issued; want %s", tc.name, key, code)
			}
		}
		p := got["patient/p0000000"]
		f := send(t, s, "GET", "/v1/batches/"+st.ID+"/files/"+p.File, s.Token, "", nil)
		if f.Status != http.StatusOK || f.Header.Get("Content-Type") != "application/smart-health-card" {
			t.Fatalf("%s card file: %d %s", tc.name, f.Status, f.Header.Get("Content-Type"))
		}
		if jws, err := shc.ParseFile(f.Body); err != nil || len(jws) != len(p.Cards) {
			t.Fatalf("%s card file: %d cards (%v)", tc.name, len(jws), err)
		}
		if tc.name == "multipart" {
			img := send(t, s, "GET", "/v1/batches/"+st.ID+"/files/"+p.Cards[0].PNG, s.Token, "", nil)
			if img.Status != http.StatusOK || img.Header.Get("Content-Type") != "image/png" {
				t.Fatalf("png: %d", img.Status)
			}
		}
		for _, bad := range []string{"files/status.json", "files/..%2fstatus.json", "files/cards/..%2F..%2Fstatus.json", "files/.bulk/index.db", "files/in/Patient.ndjson"} {
			if r := send(t, s, "GET", "/v1/batches/"+st.ID+"/"+bad, s.Token, "", nil); r.Status != http.StatusNotFound {
				t.Errorf("%s: %d; want 404", bad, r.Status)
			}
		}
	}
	if r := send(t, s, "GET", "/v1/batches/AAAAAAAAAAAAAAAAAAAAAA", s.Token, "", nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown batch: %d", r.Status)
	}
}

// A batch with outputs=card,pdf,link and per-patient passcodes gives every
// issued patient one SMART Health Link (the code path of POST /v1/links):
// the link in results.ndjson resolves through the shl client, with its
// passcode, to one .smart-health-card file holding exactly the patient's
// cards, which verify with the served key; its QR (qr/ID-link.png) reads
// back to the same shlink:/; GET /v1/links/{id} shows it to the submitter.
func TestBatchesWithLinks(t *testing.T) {
	s := startWithBatches(t)
	in := t.TempDir()
	const patients = 4
	if err := bulk.Generate(in, bulk.SynthOptions{Patients: patients, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	ents, _ := os.ReadDir(in)
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(in, e.Name()))
		zf, _ := zw.Create(e.Name())
		zf.Write(b)
	}
	zw.Close()
	if r := send(t, s, "POST", "/v1/batches?outputs=card&linkPasscode=true", s.Token, "application/zip", zb.Bytes()); r.Status != http.StatusBadRequest {
		t.Fatalf("linkPasscode without link: %d %s", r.Status, r.Body)
	}
	r := send(t, s, "POST", "/v1/batches?outputs=card,pdf,link&linkPasscode=true", s.Token, "application/zip", zb.Bytes())
	if r.Status != http.StatusAccepted {
		t.Fatalf("POST: %d %s", r.Status, r.Body)
	}
	var st httpapi.BatchJSON
	if err := json.Unmarshal(r.Body, &st); err != nil {
		t.Fatal(err)
	}
	// The outputs are camelCase on the wire, as openapi.json says.
	var wire struct {
		Outputs map[string]any `json:"outputs"`
	}
	if err := json.Unmarshal(r.Body, &wire); err != nil {
		t.Fatal(err)
	}
	if exp, _ := wire.Outputs["linkExp"].(float64); len(wire.Outputs) != 6 || exp <= 0 || wire.Outputs["paper"] != "A4" ||
		wire.Outputs["card"] != true || wire.Outputs["pdf"] != true || wire.Outputs["link"] != true || wire.Outputs["linkPasscode"] != true {
		t.Fatalf("outputs on the wire: %v; want card, pdf, paper, link, linkPasscode and linkExp", wire.Outputs)
	}
	done := waitDone(t, s, st.ID)
	if done.Issued != patients || done.Done != patients || !done.Outputs.Link {
		t.Fatalf("batch: %+v", done)
	}
	res := send(t, s, "GET", done.Results, s.Token, "", nil)
	jr := send(t, s, "GET", "/.well-known/jwks.json", "", "", nil)
	set, err := keys.ParseJWKS(jr.Body)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	client := &shl.Client{Fetch: safehttp.MustNew(safehttp.Config{AllowPrivateNetwork: true, RootCAs: pool})}
	links := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(res.Body)), "\n") {
		var p bulk.Result
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatal(err)
		}
		if p.Link == nil || len(p.Link.Passcode) != 8 || p.Link.Exp == 0 {
			t.Fatalf("%s: link %+v", p.Key, p.Link)
		}
		if links[p.Link.ID] {
			t.Fatalf("link %s given to two patients", p.Link.ID)
		}
		links[p.Link.ID] = true
		payload, err := shl.Parse(p.Link.URI)
		if err != nil || !payload.HasFlag('P') {
			t.Fatalf("%s: %q (%v)", p.Key, p.Link.URI, err)
		}
		if _, err := client.Resolve(context.Background(), payload, shl.ResolveOptions{Recipient: "test", Passcode: "00000000"}); err == nil && p.Link.Passcode != "00000000" {
			t.Fatalf("%s: a wrong passcode opened the link", p.Key)
		}
		got, err := client.Resolve(context.Background(), payload, shl.ResolveOptions{Recipient: "test", Passcode: p.Link.Passcode})
		if err != nil || len(got.Files) != 1 || got.Files[0].ContentType != shl.ContentTypeSHC {
			t.Fatalf("%s: resolve: %v %+v", p.Key, err, got)
		}
		jws, err := shc.ParseFile(got.Files[0].Data)
		if err != nil || len(jws) != len(p.Cards) {
			t.Fatalf("%s: %d cards in the link, %d in the result (%v)", p.Key, len(jws), len(p.Cards), err)
		}
		for i, j := range jws {
			stored, err := s.Issuer.Store().Card(context.Background(), p.Cards[i].ID)
			if err != nil || stored.JWS != j {
				t.Fatalf("%s: card %d of the link is not the stored card %s (%v)", p.Key, i, p.Cards[i].ID, err)
			}
			c, err := shc.Parse(j)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := set.Lookup(c.Header().Kid)[0].CheckSigning()
			if err != nil || c.VerifySignature(pub) != nil {
				t.Fatalf("%s: card %d does not verify (%v)", p.Key, i, err)
			}
		}
		img := send(t, s, "GET", "/v1/batches/"+st.ID+"/files/"+p.Link.QR, s.Token, "", nil)
		if img.Status != http.StatusOK {
			t.Fatalf("%s: link QR: %d", p.Key, img.Status)
		}
		if text, err := qr.DecodeRawBytes(img.Body); err != nil || text != p.Link.URI {
			t.Fatalf("%s: link QR reads %q (%v)", p.Key, text, err)
		}
		if pdf := send(t, s, "GET", "/v1/batches/"+st.ID+"/files/"+p.PDF, s.Token, "", nil); pdf.Status != http.StatusOK || !bytes.HasPrefix(pdf.Body, []byte("%PDF-")) {
			t.Fatalf("%s: pdf: %d", p.Key, pdf.Status)
		}
		if lr := send(t, s, "GET", "/v1/links/"+p.Link.ID, s.Token, "", nil); lr.Status != http.StatusOK {
			t.Fatalf("%s: GET /v1/links: %d %s", p.Key, lr.Status, lr.Body)
		}
	}
	if len(links) != patients {
		t.Fatalf("%d links for %d patients", len(links), patients)
	}
}
