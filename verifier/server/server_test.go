package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/verifier"
	"github.com/healthcards/healthcards/verifier/server"
	"github.com/healthcards/healthcards/verifier/server/servertest"
)

type fixture struct {
	svc       *servertest.Service
	issuer    *servertest.Issuer // trusted, revokes rid "revoked-rid"
	stranger  *servertest.Issuer // not trusted
	card      string             // valid card of issuer
	revoked   string             // revoked card of issuer
	untrusted string             // card of stranger
}

func newFixture(t *testing.T, cfg server.Config) *fixture {
	t.Helper()
	is := servertest.NewIssuer(t, "Test County Health Department", "revoked-rid")
	st := servertest.NewIssuer(t, "Unknown Clinic")
	if cfg.RateLimit == 0 {
		cfg.RateLimit = -1
	}
	return &fixture{
		svc:       servertest.Start(t, cfg, []*servertest.Issuer{is}, st),
		issuer:    is,
		stranger:  st,
		card:      is.Card(t, nil, "ok-rid"),
		revoked:   is.Card(t, nil, "revoked-rid"),
		untrusted: st.Card(t, nil, ""),
	}
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, method, url, contentType string, body io.Reader) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if strings.Contains(resp.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			t.Fatalf("response is not JSON: %v\n%s", err, raw)
		}
	}
	return a
}

func post(t *testing.T, f *fixture, query, contentType string, body []byte) answer {
	t.Helper()
	return do(t, http.MethodPost, f.svc.URL+"/v1/verify"+query, contentType, bytes.NewReader(body))
}

func jsonInput(s string) []byte {
	b, _ := json.Marshal(map[string]string{"input": s})
	return b
}

// card returns cards[i] of a verify answer.
func (a answer) card(t *testing.T, i int) map[string]any {
	t.Helper()
	cards, _ := a.body["cards"].([]any)
	if len(cards) <= i {
		t.Fatalf("answer has %d cards, want > %d: %s", len(cards), i, a.raw)
	}
	return cards[i].(map[string]any)
}

func wantVerdict(t *testing.T, a answer, verdict string) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", a.status, a.raw)
	}
	if got := a.body["verdict"]; got != verdict {
		t.Fatalf("verdict %v, want %s: %s", got, verdict, a.raw)
	}
}

func wantProblem(t *testing.T, a answer, status int, code string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.raw)
	}
	if ct := a.header.Get("Content-Type"); ct != server.ProblemMediaType {
		t.Fatalf("Content-Type %q, want %s", ct, server.ProblemMediaType)
	}
	if a.body["code"] != code || a.body["status"] != float64(status) || a.body["type"] != "urn:healthcards:problem:"+code {
		t.Fatalf("problem %v, want code %s status %d", a.body, code, status)
	}
	if title, _ := a.body["title"].(string); title == "" {
		t.Fatalf("problem without title: %v", a.body)
	}
}

func patientName(t *testing.T, card map[string]any) string {
	t.Helper()
	s, _ := card["summary"].(map[string]any)
	p, _ := s["patient"].(map[string]any)
	name, _ := p["name"].(string)
	return name
}

func qrPNG(t *testing.T, text string) []byte {
	t.Helper()
	code, err := qr.Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := code.PNG(&buf, 4); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func multipartBody(t *testing.T, field, filename, contentType string, data []byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, field, filename))
	h.Set("Content-Type", contentType)
	w, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// TestVerifyInputForms sends one valid card in every accepted form (QR-*,
// FILE-*, OP-10 inputs reach the library unchanged) and expects a green
// verdict with the patient's name.
func TestVerifyInputForms(t *testing.T) {
	f := newFixture(t, server.Config{})
	file, err := shc.MarshalFile(f.card)
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := shc.EncodeQRChunks(f.card, 300)
	if err != nil || len(chunks) < 2 {
		t.Fatalf("chunks: %d, %v", len(chunks), err)
	}
	reversed := make([]string, len(chunks))
	for i, c := range chunks {
		reversed[len(chunks)-1-i] = c
	}
	png := qrPNG(t, servertest.QRText(t, f.card))
	mpImageCT, mpImage := multipartBody(t, "image", "photo.png", "image/png", png)
	mpFileCT, mpFile := multipartBody(t, "file", "card.smart-health-card", shc.FileMediaType, file)
	params, _ := json.Marshal(map[string]any{"resourceType": "Parameters", "parameter": []any{map[string]any{"name": "verifiableCredential", "valueString": f.card}}})

	cases := []struct {
		name, ct string
		body     []byte
		kind     string
	}{
		{"json-jws", "application/json", jsonInput(f.card), "jws"},
		{"json-qr-text", "application/json; charset=utf-8", jsonInput(servertest.QRText(t, f.card)), "qr-text"},
		{"json-chunks-any-order-QR-6", "application/json", jsonInput(strings.Join(reversed, "\n")), "qr-text"},
		{"json-file-FILE-2", "application/json", jsonInput(string(file)), "file"},
		{"json-parameters-OP-10", "application/json", jsonInput(string(params)), "fhir-parameters"},
		{"raw-smart-health-card-FILE-1", shc.FileMediaType, file, "file"},
		{"raw-text", "text/plain", []byte(servertest.QRText(t, f.card)), "qr-text"},
		{"raw-png", "image/png", png, "qr-image"},
		{"multipart-image", mpImageCT, mpImage, "qr-image"},
		{"multipart-file", mpFileCT, mpFile, "file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := post(t, f, "", c.ct, c.body)
			wantVerdict(t, a, "verified")
			card := a.card(t, 0)
			if got := patientName(t, card); !strings.Contains(got, servertest.PatientFamily) {
				t.Errorf("patient name %q lacks %q", got, servertest.PatientFamily)
			}
			if card["inputKind"] != c.kind {
				t.Errorf("inputKind %v, want %s", card["inputKind"], c.kind)
			}
			if card["issuer_name"] != f.issuer.Name {
				t.Errorf("issuer_name %v, want %s", card["issuer_name"], f.issuer.Name)
			}
			if _, ok := card["fhirBundle"]; ok {
				t.Error("fhirBundle present without ?include=bundle")
			}
			if a.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", a.header.Get("Cache-Control"))
			}
		})
	}
}

func TestVerifyIncludeBundle(t *testing.T) {
	f := newFixture(t, server.Config{})
	a := post(t, f, "?include=bundle", "application/json", jsonInput(f.card))
	wantVerdict(t, a, "verified")
	b, ok := a.card(t, 0)["fhirBundle"].(map[string]any)
	if !ok || b["resourceType"] != "Bundle" {
		t.Fatalf("fhirBundle missing or wrong: %v", a.card(t, 0)["fhirBundle"])
	}
	// An invalid card never carries a bundle, even when asked.
	a = post(t, f, "?include=bundle", "application/json", jsonInput(f.revoked))
	if _, ok := a.card(t, 0)["fhirBundle"]; ok {
		t.Fatal("revoked card carries its bundle")
	}
}

// TestVerifyVerdicts: revoked (REV-8) → red with the reason in plain words,
// untrusted issuer → amber, altered card → red bad_signature.
func TestVerifyVerdicts(t *testing.T) {
	f := newFixture(t, server.Config{})
	a := post(t, f, "", "application/json", jsonInput(f.revoked))
	wantVerdict(t, a, "invalid")
	if msg, _ := a.body["message"].(string); !strings.Contains(msg, "revoked") {
		t.Errorf("message %q does not say revoked", msg)
	}
	reasons, _ := a.card(t, 0)["reasons"].([]any)
	if len(reasons) == 0 || reasons[0].(map[string]any)["code"] != "revoked" {
		t.Errorf("reasons %v, want code revoked", reasons)
	}
	if adv := a.body["advice"]; adv != verifier.AdviceFor(verifier.CodeRevoked) || a.card(t, 0)["advice"] != adv {
		t.Errorf("advice %v, card advice %v", adv, a.card(t, 0)["advice"])
	}
	if f.issuer.Fetches("/.well-known/crl/"+f.issuer.KID+".json") == 0 {
		t.Error("the revocation list was never fetched from the issuer")
	}

	a = post(t, f, "", "application/json", jsonInput(f.untrusted))
	wantVerdict(t, a, "issuer_not_trusted")
	if f.stranger.Fetches("/.well-known/jwks.json") != 0 {
		t.Error("the untrusted issuer's key set was fetched (trust must come before fetch)")
	}

	parts := strings.Split(f.card, ".")
	sig := []byte(parts[2])
	if sig[5] == 'A' {
		sig[5] = 'B'
	} else {
		sig[5] = 'A'
	}
	a = post(t, f, "", "application/json", jsonInput(parts[0]+"."+parts[1]+"."+string(sig)))
	wantVerdict(t, a, "invalid")
	if r := a.card(t, 0)["reasons"].([]any)[0].(map[string]any); r["code"] != "bad_signature" {
		t.Errorf("reason %v, want bad_signature", r)
	}
	if _, ok := a.card(t, 0)["summary"]; ok {
		t.Error("a card whose signature failed carries a summary")
	}

	// A file with two cards: the worst verdict wins.
	file, _ := shc.MarshalFile(f.card, f.revoked)
	a = post(t, f, "", shc.FileMediaType, file)
	wantVerdict(t, a, "invalid")
	if a.card(t, 0)["verdict"] != "verified" || a.card(t, 1)["verdict"] != "invalid" {
		t.Errorf("per-card verdicts wrong: %s", a.raw)
	}
}

// TestVerifyUnableToCheck: what could not be checked is neutral, never
// red, and says what to do: a QR code of a web address (not a health
// card), a missing chunk (QR-6), an issuer that cannot be reached. The
// problem documents carry the verdict and advice too, and the metrics
// count the verdict.
func TestVerifyUnableToCheck(t *testing.T) {
	f := newFixture(t, server.Config{})
	a := post(t, f, "", "text/plain", []byte("https://menu.example.org/"))
	if a.status != 422 || a.body["code"] != "malformed_input" || a.body["verdict"] != "unable_to_check" ||
		!strings.Contains(a.body["advice"].(string), "not a health card") {
		t.Errorf("web address: %d %s", a.status, a.raw)
	}
	chunks, err := shc.EncodeQRChunks(f.card, 400) // legacy chunks (QR-6); the second is not sent
	if err != nil || len(chunks) < 2 {
		t.Fatalf("chunks %d %v", len(chunks), err)
	}
	a = post(t, f, "", "text/plain", []byte(chunks[0]))
	if a.status != 422 || a.body["code"] != "chunk_missing" || a.body["verdict"] != "unable_to_check" {
		t.Errorf("one chunk of two: %d %s", a.status, a.raw)
	}
	a = post(t, f, "", "application/xml", nil)
	if a.body["verdict"] != "unable_to_check" || a.body["advice"] == "" {
		t.Errorf("unsupported media type: %s", a.raw)
	}

	f.issuer.Server.Close() // the trusted issuer goes away: its key set cannot be fetched
	a = post(t, f, "", "application/json", jsonInput(f.card))
	wantVerdict(t, a, "unable_to_check")
	if a.body["advice"] != "Check your connection and try again." {
		t.Errorf("advice %v", a.body["advice"])
	}
	if _, ok := a.card(t, 0)["summary"]; ok {
		t.Error("a card whose signature was not checked carries a summary")
	}
	m := metricsText(t, f)
	if !strings.Contains(m, `shc_verifier_verifications_total{verdict="unable_to_check"} 3`) {
		t.Errorf("metrics:\n%s", m)
	}
}

func TestVerifyProblems(t *testing.T) {
	f := newFixture(t, server.Config{MaxBodyBytes: 64 << 10})
	big := bytes.Repeat([]byte("a"), 65<<10)
	bigCT, bigMP := multipartBody(t, "image", "big.png", "image/png", big)
	mpNoImageCT, mpNoImage := multipartBody(t, "other", "x.txt", "text/plain", []byte("x"))

	cases := []struct {
		name, ct string
		body     []byte
		status   int
		code     string
	}{
		{"oversized-json", "application/json", jsonInput(string(big)), 413, "body_too_large"},
		{"oversized-multipart", bigCT, bigMP, 413, "body_too_large"},
		{"wrong-content-type", "application/xml", []byte("<card/>"), 415, "unsupported_media_type"},
		{"no-content-type", "", jsonInput(f.card), 415, "unsupported_media_type"},
		{"bad-content-type", "a/b; ===", jsonInput(f.card), 415, "unsupported_media_type"},
		{"form-urlencoded", "application/x-www-form-urlencoded", []byte("input=x"), 415, "unsupported_media_type"},
		{"malformed-json", "application/json", []byte(`{"input":`), 400, "bad_request"},
		{"json-unknown-field", "application/json", []byte(`{"card":"x"}`), 400, "bad_request"},
		{"json-empty-input", "application/json", []byte(`{"input":"  "}`), 400, "missing_input"},
		{"empty-raw-body", "text/plain", nil, 400, "missing_input"},
		{"multipart-no-boundary", "multipart/form-data", []byte("--x\r\n"), 400, "malformed_multipart"},
		{"multipart-garbage", "multipart/form-data; boundary=XYZ", []byte("this is not multipart"), 400, "malformed_multipart"},
		{"multipart-truncated", mpNoImageCT, mpNoImage[:len(mpNoImage)-12], 400, "malformed_multipart"},
		{"multipart-truncated-image", bigCT, bigMP[:200], 400, "malformed_multipart"},
		{"multipart-no-card-part", mpNoImageCT, mpNoImage, 400, "missing_input"},
		{"not-a-card", "application/json", jsonInput("hello world"), 422, "malformed_input"},
		{"image-without-qr", "image/png", qrlessPNG(t), 422, "no_qr_found"},
		{"chunk-missing-QR-6", "application/json", jsonInput(firstChunk(t, f.card)), 422, "chunk_missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantProblem(t, post(t, f, "", c.ct, c.body), c.status, c.code)
		})
	}

	t.Run("oversized-streamed-without-length", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() { pw.Write(jsonInput(string(big))); pw.Close() }()
		wantProblem(t, do(t, http.MethodPost, f.svc.URL+"/v1/verify", "application/json", pr), 413, "body_too_large")
	})
	t.Run("not-found", func(t *testing.T) {
		wantProblem(t, do(t, http.MethodGet, f.svc.URL+"/nope", "", nil), 404, "not_found")
	})
	t.Run("method-not-allowed", func(t *testing.T) {
		a := do(t, http.MethodGet, f.svc.URL+"/v1/verify", "", nil)
		wantProblem(t, a, 405, "method_not_allowed")
		if !strings.Contains(a.header.Get("Allow"), "POST") {
			t.Errorf("Allow %q lacks POST", a.header.Get("Allow"))
		}
	})
}

func firstChunk(t *testing.T, jws string) string {
	t.Helper()
	chunks, err := shc.EncodeQRChunks(jws, 300)
	if err != nil || len(chunks) < 2 {
		t.Fatalf("chunks: %d, %v", len(chunks), err)
	}
	return chunks[0]
}

func qrlessPNG(t *testing.T) []byte {
	t.Helper()
	var blank bytes.Buffer
	blankPNG(&blank)
	return blank.Bytes()
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, server.Config{RateLimit: 0.5, RateBurst: 2})
	for i := 0; i < 2; i++ {
		wantVerdict(t, post(t, f, "", "application/json", jsonInput(f.card)), "verified")
	}
	a := post(t, f, "", "application/json", jsonInput(f.card))
	wantProblem(t, a, 429, "rate_limited")
	if a.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// Health endpoints are not rate limited.
	if a := do(t, http.MethodGet, f.svc.URL+"/healthz", "", nil); a.status != 200 {
		t.Errorf("healthz %d", a.status)
	}
}

// TestConcurrentRequests runs mixed requests in parallel; run with -race.
func TestConcurrentRequests(t *testing.T) {
	f := newFixture(t, server.Config{})
	png := qrPNG(t, servertest.QRText(t, f.card))
	type req struct {
		ct      string
		body    []byte
		verdict string
		status  int
	}
	reqs := []req{
		{"application/json", jsonInput(f.card), "verified", 200},
		{"application/json", jsonInput(f.revoked), "invalid", 200},
		{"application/json", jsonInput(f.untrusted), "issuer_not_trusted", 200},
		{"image/png", png, "verified", 200},
		{"application/xml", []byte("x"), "", 415},
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				r := reqs[(g+i)%len(reqs)]
				resp, err := http.Post(f.svc.URL+"/v1/verify", r.ct, bytes.NewReader(r.body))
				if err != nil {
					errs <- err
					return
				}
				var body map[string]any
				json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				if resp.StatusCode != r.status || (r.verdict != "" && body["verdict"] != r.verdict) {
					errs <- fmt.Errorf("got %d %v, want %d %s", resp.StatusCode, body["verdict"], r.status, r.verdict)
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	m := metricsText(t, f)
	if !strings.Contains(m, `shc_verifier_verify_duration_seconds_count 160`) {
		t.Errorf("histogram count is not 160:\n%s", grepLines(m, "duration_seconds_count"))
	}
}

// TestLogsHoldNoPHI verifies real cards and checks that the logs never
// name the patient, the birth date, the bundle or the card itself.
func TestLogsHoldNoPHI(t *testing.T) {
	f := newFixture(t, server.Config{})
	wantVerdict(t, post(t, f, "?include=bundle", "application/json", jsonInput(f.card)), "verified")
	wantVerdict(t, post(t, f, "", "application/json", jsonInput(f.revoked)), "invalid")
	wantVerdict(t, post(t, f, "", "image/png", qrPNG(t, servertest.QRText(t, f.card))), "verified")
	post(t, f, "", "application/json", jsonInput("shc:/1234")) // a malformed card
	logs := f.svc.Logs()
	if !strings.Contains(logs, `"msg":"verification"`) || !strings.Contains(logs, `"verdicts":{"verified":1,"untrusted":0,"unable_to_check":0,"invalid":0}`) {
		t.Fatalf("logs lack the verification lines:\n%s", logs)
	}
	// Timestamps and durations are digits that may spell "1984" by chance.
	logs = regexp.MustCompile(`"(time|duration)":"[^"]*"`).ReplaceAllString(logs, "")
	for _, phi := range []string{servertest.PatientFamily, "Anna", servertest.BirthDate, "1984", "94558-4", "Bundle", f.card[:20], "ok-rid", "revoked-rid", "shc:/"} {
		if strings.Contains(logs, phi) {
			t.Errorf("logs contain %q:\n%s", phi, logs)
		}
	}
}

func TestHealthReadyMetricsOpenAPI(t *testing.T) {
	f := newFixture(t, server.Config{})
	if a := do(t, http.MethodGet, f.svc.URL+"/healthz", "", nil); a.status != 200 || a.body["status"] != "ok" {
		t.Errorf("healthz: %d %s", a.status, a.raw)
	}
	if a := do(t, http.MethodGet, f.svc.URL+"/readyz", "", nil); a.status != 200 || a.body["status"] != "ready" {
		t.Errorf("readyz: %d %s", a.status, a.raw)
	}
	wantVerdict(t, post(t, f, "", "application/json", jsonInput(f.card)), "verified")
	wantVerdict(t, post(t, f, "", "application/json", jsonInput(f.revoked)), "invalid")
	post(t, f, "", "application/xml", nil)

	m := metricsText(t, f)
	for _, want := range []string{
		`shc_verifier_verifications_total{verdict="verified"} 1`,
		`shc_verifier_verifications_total{verdict="invalid"} 1`,
		`shc_verifier_verification_failures_total{code="revoked"} 1`,
		`shc_verifier_problems_total{code="unsupported_media_type"} 1`,
		`shc_verifier_verify_duration_seconds_bucket{le="+Inf"} 3`,
		`shc_verifier_trust_source_loads_total{source="directory"} 1`,
		"# TYPE shc_verifier_verify_duration_seconds histogram",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	checkExposition(t, m)

	a := do(t, http.MethodGet, f.svc.URL+"/openapi.json", "", nil)
	if a.status != 200 || a.body["openapi"] != "3.0.3" {
		t.Fatalf("openapi: %d %v", a.status, a.body["openapi"])
	}
	paths, _ := a.body["paths"].(map[string]any)
	for _, r := range server.Routes {
		ops, ok := paths[r.Path].(map[string]any)
		if !ok {
			t.Errorf("OpenAPI lacks path %s", r.Path)
			continue
		}
		if _, ok := ops[strings.ToLower(r.Method)]; !ok {
			t.Errorf("OpenAPI lacks %s %s", r.Method, r.Path)
		}
		// and the route really exists
		if r.Method == http.MethodGet {
			if a := do(t, r.Method, f.svc.URL+r.Path, "", nil); a.status != 200 {
				t.Errorf("GET %s: %d", r.Path, a.status)
			}
		}
	}
	if len(paths) != len(server.Routes) {
		t.Errorf("OpenAPI has %d paths, server has %d routes", len(paths), len(server.Routes))
	}
}

// checkExposition checks the text format line by line: HELP/TYPE comments
// or "name{labels} value", with a TYPE before every sample and cumulative
// histogram buckets.
func checkExposition(t *testing.T, m string) {
	t.Helper()
	typed := map[string]bool{}
	var last float64 = -1
	for _, line := range strings.Split(strings.TrimSpace(m), "\n") {
		if strings.HasPrefix(line, "# TYPE ") {
			typed[strings.Fields(line)[2]] = true
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		base, _, _ := strings.Cut(name, "{")
		fam := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(base, "_bucket"), "_sum"), "_count")
		if !typed[base] && !typed[fam] {
			t.Errorf("sample before its TYPE: %q", line)
		}
		var v float64
		if _, err := fmt.Sscan(rest, &v); err != nil {
			t.Errorf("bad sample value: %q", line)
		}
		if strings.HasSuffix(base, "_bucket") {
			if v < last {
				t.Errorf("histogram buckets not cumulative at %q", line)
			}
			last = v
		}
	}
}

func metricsText(t *testing.T, f *fixture) string {
	t.Helper()
	a := do(t, http.MethodGet, f.svc.URL+"/metrics", "", nil)
	if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("metrics: %d %q", a.status, a.header.Get("Content-Type"))
	}
	return a.raw
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestPageAndSecurityHeaders(t *testing.T) {
	f := newFixture(t, server.Config{})
	a := do(t, http.MethodGet, f.svc.URL+"/", "", nil)
	if a.status != 200 || !strings.Contains(a.raw, `aria-live="assertive"`) {
		t.Fatalf("page: %d", a.status)
	}
	csp := a.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	// 'wasm-unsafe-eval' (WebAssembly compilation only, for the page's
	// on-device verifier) is allowed; 'unsafe-eval' is not.
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "'unsafe-eval'") {
		t.Errorf("CSP allows unsafe sources: %q", csp)
	}
	if strings.Contains(a.raw, "<script>") || strings.Contains(a.raw, " style=") || strings.Contains(a.raw, " onclick") {
		t.Error("page has inline script or style")
	}
	for _, ref := range []string{"src=\"http", "href=\"http", "//cdn"} {
		if strings.Contains(a.raw, ref) {
			t.Errorf("page references a third party: %q", ref)
		}
	}
	for _, p := range []string{"/static/app.js", "/static/style.css", "/static/vendor/jsQR.js"} {
		r := do(t, http.MethodGet, f.svc.URL+p, "", nil)
		if r.status != 200 || len(r.raw) < 100 {
			t.Errorf("GET %s: %d, %d bytes", p, r.status, len(r.raw))
		}
	}
	if r := do(t, http.MethodGet, f.svc.URL+"/static/../server.go", "", nil); r.status == 200 {
		t.Error("path traversal served a file")
	}
	if a.header.Get("X-Content-Type-Options") != "nosniff" || a.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("missing security headers: %v", a.header)
	}
}

func TestCORS(t *testing.T) {
	f := newFixture(t, server.Config{CORSOrigins: []string{"https://app.example"}})
	req, _ := http.NewRequest(http.MethodOptions, f.svc.URL+"/v1/verify", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example" {
		t.Errorf("preflight Allow-Origin %q", got)
	}
	req, _ = http.NewRequest(http.MethodPost, f.svc.URL+"/v1/verify", bytes.NewReader(jsonInput(f.card)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://evil.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("foreign origin allowed: %q", got)
	}

	g := newFixture(t, server.Config{})
	req, _ = http.NewRequest(http.MethodPost, g.svc.URL+"/v1/verify", bytes.NewReader(jsonInput(g.card)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://app.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("CORS header without configured origins: %q", got)
	}
}

func TestReadiness(t *testing.T) {
	t.Run("stale-directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "directory.json")
		os.WriteFile(dir, []byte(`{"directory":"test","time":"2020-01-01T00:00:00Z","issuerInfo":[]}`), 0o600)
		tr, err := server.NewTrust(t.Context(), server.TrustConfig{Sources: []string{dir}})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Ready(); err == nil || !strings.Contains(err.Error(), "stale") {
			t.Fatalf("Ready() = %v, want stale", err)
		}
	})
	t.Run("fresh-directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "directory.json")
		os.WriteFile(dir, []byte(`{"directory":"test","time":"`+time.Now().UTC().Format(time.RFC3339)+`","issuerInfo":[]}`), 0o600)
		tr, err := server.NewTrust(t.Context(), server.TrustConfig{Sources: []string{dir}})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Ready(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unreachable-url", func(t *testing.T) {
		// A URL source that cannot be fetched: the service starts, is not
		// ready and refuses to verify with 503.
		metrics := server.NewMetrics()
		tr, err := server.NewTrust(t.Context(), server.TrustConfig{Sources: []string{"https://127.0.0.1:1/directory.json"}, Metrics: metrics})
		if err != nil {
			t.Fatal(err)
		}
		if tr.Ready() == nil {
			t.Fatal("ready without its directory")
		}
		srv, err := server.New(server.Config{Verifier: tr, Ready: tr.Ready, RateLimit: -1, Metrics: metrics})
		if err != nil {
			t.Fatal(err)
		}
		f := &fixture{svc: &servertest.Service{URL: serve(t, srv)}}
		ready := do(t, http.MethodGet, f.svc.URL+"/readyz", "", nil)
		wantProblem(t, ready, 503, "not_ready")
		if strings.Contains(string(ready.raw), "127.0.0.1") {
			t.Errorf("/readyz names the trust source's address: %s", ready.raw) // issue 10: plain words only
		}
		wantProblem(t, post(t, f, "", "application/json", jsonInput("shc:/56")), 503, "not_ready")
		if m := metricsText(t, f); !strings.Contains(m, `shc_verifier_fetch_failures_total{source="directory"} 1`) {
			t.Errorf("directory fetch failure not counted:\n%s", grepLines(m, "fetch_failures"))
		}
	})
	t.Run("bad-file-fails-startup", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "directory.json")
		os.WriteFile(dir, []byte(`{"not":"a directory"}`), 0o600)
		if _, err := server.NewTrust(t.Context(), server.TrustConfig{Sources: []string{dir}}); err == nil {
			t.Fatal("NewTrust accepted a file that is no directory")
		}
	})
}

// TestTrustRefresh: a trust source that changes on disk is picked up by
// Refresh and swapped in.
func TestTrustRefresh(t *testing.T) {
	is := servertest.NewIssuer(t, "Later Clinic")
	card := is.Card(t, nil, "")
	path := filepath.Join(t.TempDir(), "list.json")
	os.WriteFile(path, []byte(`{"participating_issuers":[]}`), 0o600)
	pool := poolOf(is)
	tr, err := server.NewTrust(t.Context(), server.TrustConfig{Sources: []string{path}, Options: trustOpts(pool)})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := tr.Verify(t.Context(), []byte(card))
	if err != nil || rs[0].Verdict != "issuer_not_trusted" {
		t.Fatalf("before refresh: %v %v", rs, err)
	}
	os.WriteFile(path, []byte(`{"participating_issuers":[{"iss":"`+is.URL+`","name":"Later Clinic"}]}`), 0o600)
	if err := tr.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	rs, err = tr.Verify(t.Context(), []byte(card))
	if err != nil || rs[0].Verdict != "verified" {
		t.Fatalf("after refresh: %+v %v", rs[0], err)
	}
}

// TestVerifyEntryRules: with the venue's entry rule, a verified card says
// whether it meets it (the overall answer too); a revoked card is not
// evaluated.
func TestVerifyEntryRules(t *testing.T) {
	rule, err := verifier.ParseEntryRules([]byte(`{"name":"Negative antigen test","anyOf":[{"negativeTest":{"tests":["lab:covid-19-antigen"],"within":"876000h"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	is := servertest.NewIssuer(t, "Test County Health Department", "revoked-rid")
	svc := servertest.StartWith(t, server.Config{RateLimit: -1}, []verifier.Option{verifier.WithEntryRules(rule)}, []servertest.TrustedIssuer{is.Trusted()})
	f := &fixture{svc: svc, issuer: is, card: is.Card(t, nil, "ok-rid"), revoked: is.Card(t, nil, "revoked-rid")}
	a := post(t, f, "", "application/json", jsonInput(f.card))
	wantVerdict(t, a, "verified")
	entry, _ := a.body["entry"].(map[string]any)
	if entry["met"] != true || entry["rule"] != "Negative antigen test" || !strings.Contains(entry["reason"].(string), "negative test collected") {
		t.Fatalf("entry %v", a.body["entry"])
	}
	if a.card(t, 0)["entry"] == nil {
		t.Fatal("the card carries no entry result")
	}
	a = post(t, f, "", "application/json", jsonInput(f.revoked))
	wantVerdict(t, a, "invalid")
	if _, ok := a.body["entry"]; ok {
		t.Fatalf("a revoked card was evaluated: %s", a.raw)
	}
	if _, ok := a.card(t, 0)["entry"]; ok {
		t.Fatalf("a revoked card was evaluated: %s", a.raw)
	}
}
