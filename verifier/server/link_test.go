package server_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/fixtures/shlhost"
	"github.com/healthcards/healthcards/shl"
	"github.com/healthcards/healthcards/verifier/server"
	"github.com/healthcards/healthcards/verifier/server/servertest"
)

type linkFixture struct {
	svc  *servertest.Service
	host *shlhost.Host
}

func newLinkFixture(t *testing.T) *linkFixture {
	t.Helper()
	h := shlhost.Start(t)
	svc := servertest.StartTrusting(t, server.Config{RateLimit: -1}, []servertest.TrustedIssuer{h.Trusted()})
	return &linkFixture{svc: svc, host: h}
}

func (f *linkFixture) post(t *testing.T, query, contentType string, body []byte) answer {
	t.Helper()
	return do(t, http.MethodPost, f.svc.URL+"/v1/verify"+query, contentType, bytes.NewReader(body))
}

func linkInput(link, passcode string) []byte {
	b, _ := json.Marshal(map[string]string{"input": link, "passcode": passcode})
	return b
}

func multipartLink(t *testing.T, png []byte, passcode string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("image", "link.png")
	w.Write(png)
	if passcode != "" {
		mw.WriteField("passcode", passcode)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func wantPatient(t *testing.T, a answer) {
	t.Helper()
	wantVerdict(t, a, "verified")
	sum, _ := a.card(t, 0)["summary"].(map[string]any)
	pat, _ := sum["patient"].(map[string]any)
	if name, _ := pat["name"].(string); !strings.Contains(name, servertest.PatientFamily) {
		t.Fatalf("patient %v", sum)
	}
}

// SHL-9/SHL-10 through the service: a P link without a passcode asks for
// one (401 passcode_required), a wrong one answers with the remaining
// attempts, the right one (JSON body, or multipart next to the link's QR
// image) shows the verified card; the passcode is refused in the URL and
// never logged, nor is the link.
func TestLinkPasscode(t *testing.T) {
	f := newLinkFixture(t)
	const pass = "correct horse battery"
	l := f.host.Create(t, shlhost.LinkRequest{Bundle: shlhost.LabBundle(), Sign: true, Passcode: pass, Label: "Lab result"})

	a := f.post(t, "", "application/json", jsonInput(l.ShLink))
	wantProblem(t, a, http.StatusUnauthorized, "passcode_required")
	if title, _ := a.body["title"].(string); !strings.Contains(title, "passcode") {
		t.Errorf("title %q", title)
	}
	wantProblem(t, f.post(t, "", "text/plain", []byte(l.ShLink+"\n")), http.StatusUnauthorized, "passcode_required")

	a = f.post(t, "", "application/json", linkInput(l.ShLink, "wrong"))
	wantProblem(t, a, http.StatusUnauthorized, "passcode_wrong")
	if a.body["remainingAttempts"] != float64(9) || !strings.Contains(a.body["title"].(string), "9 attempts are left") {
		t.Fatalf("wrong passcode: %s", a.raw)
	}

	// Never in the URL: refused before anything is read or sent.
	wantProblem(t, f.post(t, "?passcode="+strings.ReplaceAll(pass, " ", "+"), "application/json", jsonInput(l.ShLink)), http.StatusBadRequest, "bad_request")
	wantProblem(t, f.post(t, "", "application/json", linkInput(l.ShLink, strings.Repeat("x", 257))), http.StatusBadRequest, "bad_request")

	a = f.post(t, "", "application/json", linkInput(l.ShLink, pass))
	wantPatient(t, a)
	link, _ := a.body["link"].(map[string]any)
	if link["flag"] != "P" || link["label"] != "Lab result" || link["cards"] != float64(1) || link["unverifiedFhir"] != nil {
		t.Fatalf("link info %v", link)
	}
	if a.card(t, 0)["inputKind"] != "shlink" || a.card(t, 0)["fhirBundle"] != nil {
		t.Fatalf("card %v", a.card(t, 0))
	}

	// The issuer's QR image of the link: alone it asks for the passcode;
	// with the passcode in the multipart form it verifies.
	png := f.host.QRPNG(t, l)
	wantProblem(t, f.post(t, "", "image/png", png), http.StatusUnauthorized, "passcode_required")
	ct, body := multipartLink(t, png, "still wrong")
	a = f.post(t, "", ct, body)
	wantProblem(t, a, http.StatusUnauthorized, "passcode_wrong")
	if a.body["remainingAttempts"] != float64(8) {
		t.Fatalf("remaining %v", a.body["remainingAttempts"])
	}
	ct, body = multipartLink(t, png, pass)
	wantPatient(t, f.post(t, "", ct, body))

	// Count down to the lockout; then even the right passcode gets
	// link_not_found, in plain words.
	for left := 7; left >= 0; left-- {
		a = f.post(t, "", "application/json", linkInput(l.ShLink, "guess"))
		if a.body["code"] != "passcode_wrong" || a.body["remainingAttempts"] != float64(left) {
			t.Fatalf("want %d left: %s", left, a.raw)
		}
	}
	if !strings.Contains(a.body["title"].(string), "locked") {
		t.Errorf("last wrong passcode: %q", a.body["title"])
	}
	a = f.post(t, "", "application/json", linkInput(l.ShLink, pass))
	wantProblem(t, a, http.StatusUnprocessableEntity, "link_not_found")
	if !strings.Contains(a.body["title"].(string), "no longer works") {
		t.Errorf("title %q", a.body["title"])
	}

	m := metricsText(t, &fixture{svc: f.svc})
	for _, want := range []string{
		`shc_verifier_link_resolutions_total{outcome="ok"} 2`,
		`shc_verifier_link_resolutions_total{outcome="passcode_required"} 3`,
		`shc_verifier_link_resolutions_total{outcome="passcode_wrong"} 10`,
		`shc_verifier_link_resolutions_total{outcome="link_not_found"} 1`,
		`shc_verifier_link_resolutions_total{outcome="link_expired"} 0`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	checkExposition(t, m)
	logs := f.svc.Logs()
	for _, secret := range []string{pass, "guess", "still wrong", l.ShLink, l.ID, servertest.PatientFamily} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
	if !strings.Contains(logs, `"outcome":"passcode_wrong"`) {
		t.Errorf("no link resolution logged:\n%s", logs)
	}
}

// A link to an unsigned FHIR bundle: nothing verified (verdict invalid,
// link_without_cards), the content summarised and marked not verified; the
// data itself only with ?include=bundle. A viewer-prefixed link works the
// same; a revoked link is link_not_found; an expired one link_expired
// without any request.
func TestLinkUnverifiedFHIR(t *testing.T) {
	f := newLinkFixture(t)
	l := f.host.Create(t, shlhost.LinkRequest{Bundle: shlhost.LabBundle(), Viewer: "https://viewer.example.org/#"})
	if !strings.HasPrefix(l.ShLink, "https://viewer.example.org/#shlink:/") {
		t.Fatalf("link %s", l.ShLink)
	}
	a := f.post(t, "", "application/json", jsonInput(l.ShLink))
	wantVerdict(t, a, "unable_to_check") // nothing signed: not proof, not forged either
	if a.body["advice"] != "Ask the visitor for a signed SMART Health Card." {
		t.Errorf("advice %v", a.body["advice"])
	}
	if cards := a.body["cards"].([]any); len(cards) != 0 {
		t.Fatalf("cards %v", cards)
	}
	if msg := a.body["message"].(string); !strings.Contains(msg, "no verifiable health card") {
		t.Errorf("message %q", msg)
	}
	link := a.body["link"].(map[string]any)
	u := link["unverifiedFhir"].([]any)[0].(map[string]any)
	if u["verified"] != false || !strings.HasPrefix(u["notice"].(string), "NOT VERIFIED") || u["resourceType"] != "Bundle" || u["entries"] != float64(2) || u["unverifiedData"] != nil {
		t.Fatalf("unverified content %v", u)
	}
	res := u["resources"].([]any)
	if len(res) != 2 || res[0].(map[string]any)["count"] != float64(1) {
		t.Fatalf("resources %v", res)
	}
	if strings.Contains(a.raw, servertest.PatientFamily) {
		t.Fatal("the summary quotes the unverified bundle")
	}
	a = f.post(t, "?include=bundle", "application/json", jsonInput(l.ShLink))
	u = a.body["link"].(map[string]any)["unverifiedFhir"].([]any)[0].(map[string]any)
	if data, _ := json.Marshal(u["unverifiedData"]); !strings.Contains(string(data), servertest.PatientFamily) {
		t.Fatalf("include=bundle: %s", data)
	}

	// The same link as a QR image: the library reads the image (bounded)
	// and finds a link without cards; the service resolves it for its
	// unverified content.
	a = f.post(t, "", "image/png", f.host.QRPNG(t, l))
	wantVerdict(t, a, "unable_to_check")
	if u := a.body["link"].(map[string]any)["unverifiedFhir"].([]any); len(u) != 1 {
		t.Fatalf("QR image of a FHIR link: %s", a.raw)
	}

	f.host.Revoke(t, l)
	wantProblem(t, f.post(t, "", "application/json", jsonInput(l.ShLink)), http.StatusUnprocessableEntity, "link_not_found")

	p, err := shl.NewPayload(f.host.URL+"/shl/"+strings.Repeat("A", 43), shl.WithExpiry(time.Now().Add(-time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	a = f.post(t, "", "application/json", jsonInput(p.URI("")))
	wantProblem(t, a, http.StatusUnprocessableEntity, "link_expired")
	if !strings.Contains(a.body["title"].(string), "expired") {
		t.Errorf("title %q", a.body["title"])
	}
	wantProblem(t, f.post(t, "", "application/json", jsonInput("shlink:/not-base64!")), http.StatusUnprocessableEntity, "malformed_link")
}

// Issue 4: /metrics exports the library's cache counters; the second
// verification of the same card is a key-set cache hit.
func TestMetricsLibraryStats(t *testing.T) {
	f := newFixture(t, server.Config{})
	for i := 0; i < 2; i++ {
		wantVerdict(t, post(t, f, "", "application/json", jsonInput(f.card)), "verified")
	}
	m := metricsText(t, f)
	for _, want := range []string{
		"# TYPE shc_verifier_keyset_cache_hits_total counter\nshc_verifier_keyset_cache_hits_total 1\n",
		"shc_verifier_keyset_cache_misses_total 1\n",
		"shc_verifier_crl_cache_hits_total 1\n",
		"shc_verifier_crl_cache_misses_total 1\n",
		"shc_verifier_library_fetches_total 2\n",
		"shc_verifier_library_fetch_failures_total 0\n",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	checkExposition(t, m)
	// The counters survive a rebuild of the verifier (trust reload).
	if err := f.svc.Trust.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s := f.svc.Trust.Stats(); s.KeySetCacheHits != 1 || s.Fetches != 2 {
		t.Fatalf("after refresh: %+v", s)
	}
}

// The OpenAPI document describes exactly the JSON members of the request,
// response, link and problem types, and the link answers (401, 502, the
// multipart passcode field).
func TestOpenAPIMatchesTypes(t *testing.T) {
	f := newFixture(t, server.Config{})
	a := do(t, http.MethodGet, f.svc.URL+"/openapi.json", "", nil)
	schemas := a.body["components"].(map[string]any)["schemas"].(map[string]any)
	for name, v := range map[string]any{
		"VerifyRequest":     server.VerifyRequest{},
		"VerifyResponse":    server.VerifyResponse{},
		"LinkInfo":          server.LinkInfo{},
		"UnverifiedContent": server.UnverifiedContent{},
		"Problem":           server.Problem{},
	} {
		sc, ok := schemas[name].(map[string]any)
		if !ok {
			t.Errorf("schema %s missing", name)
			continue
		}
		props := sc["properties"].(map[string]any)
		got := map[string]bool{}
		for k := range props {
			got[k] = true
		}
		rt := reflect.TypeOf(v)
		for i := 0; i < rt.NumField(); i++ {
			tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			if tag == "" || tag == "-" {
				continue
			}
			if !got[tag] {
				t.Errorf("schema %s lacks %s", name, tag)
			}
			delete(got, tag)
		}
		for k := range got {
			t.Errorf("schema %s has %s, which %T does not", name, k, v)
		}
	}
	post := a.body["paths"].(map[string]any)["/v1/verify"].(map[string]any)["post"].(map[string]any)
	resp := post["responses"].(map[string]any)
	for _, code := range []string{"200", "401", "422", "502"} {
		if resp[code] == nil {
			t.Errorf("POST /v1/verify lacks response %s", code)
		}
	}
	mp := post["requestBody"].(map[string]any)["content"].(map[string]any)["multipart/form-data"].(map[string]any)["schema"].(map[string]any)["properties"].(map[string]any)
	if mp["passcode"] == nil {
		t.Error("multipart form lacks passcode")
	}
}
