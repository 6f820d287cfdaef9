package e2e

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/testvectors"
	"github.com/healthcards/healthcards/issuer/httpapi"
	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/shl"
	"github.com/healthcards/healthcards/shl/host"
	"github.com/healthcards/healthcards/verifier"
)

// shlEnv is the issuer service with links mounted (in-memory store) and a
// verifier that trusts it; both share a clock that the test can move.
type shlEnv struct {
	s      *httpapitest.Server
	links  *httpapi.Links
	v      *verifier.Verifier
	offset atomic.Int64 // nanoseconds added to the real time
}

func (e *shlEnv) now() time.Time { return time.Now().Add(time.Duration(e.offset.Load())) }

func startSHL(t *testing.T) *shlEnv {
	t.Helper()
	e := &shlEnv{}
	e.s = httpapitest.Start(t, httpapitest.Options{Now: e.now, ConfigAPI: func(c *httpapi.Config) {
		l, err := httpapi.NewLinks(httpapi.LinksConfig{Issuer: c.Issuer, Auth: c.Auth, BaseURL: c.BaseURL, Now: e.now})
		if err != nil {
			t.Fatal(err)
		}
		e.links = l
		c.Mount = l.Mount
	}})
	pool := x509.NewCertPool()
	pool.AddCert(e.s.Certificate())
	var err error
	e.v, err = verifier.New(verifier.WithTrustedIssuers(e.s.URL), verifier.WithAllowPrivateNetwork(), verifier.WithRootCAs(pool), verifier.WithClock(e.now), verifier.WithImageDecoder(qr.DecodeImage))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// call sends an API request with a bearer token and returns status and body.
func (e *shlEnv) call(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.s.URL+path, r)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

type linkReply struct {
	ID                string             `json:"id"`
	ShLink            string             `json:"shlink"`
	QR                string             `json:"qr"`
	Payload           shl.Payload        `json:"payload"`
	Cards             int                `json:"cards"`
	Active, Locked    bool               `json:"-"`
	RemainingAttempts *int               `json:"remainingAttempts"`
	AccessLog         []host.AccessEvent `json:"accessLog"`
}

func (e *shlEnv) createLink(t *testing.T, req map[string]any) linkReply {
	t.Helper()
	code, b := e.call(t, "POST", "/v1/links", e.s.Token, req)
	if code != http.StatusCreated {
		t.Fatalf("POST /v1/links: %d %s", code, b)
	}
	var l linkReply
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

// labBundle is example 02's DiagnosticReport bundle (55 entries: the report,
// 3 specimens, 51 observations) with a Patient added, since the issuer signs
// only bundles that name their patient, and the Organization and
// Practitioner its performers reference. The entries' subject references
// (resource:0, the report itself in the example) are pointed at the Patient.
func labBundle(t *testing.T) json.RawMessage {
	t.Helper()
	var b struct {
		ResourceType string           `json:"resourceType"`
		Type         string           `json:"type"`
		Entry        []map[string]any `json:"entry"`
	}
	if err := json.Unmarshal(testvectors.Read(t, "vci-spec-site/examples/example-02-a-fhirBundle.json"), &b); err != nil {
		t.Fatal(err)
	}
	if len(b.Entry) != 55 {
		t.Fatalf("example 02 has %d entries, want 55", len(b.Entry))
	}
	const patientURL = "urn:uuid:7c5e7a9e-2f3b-4c55-9d0e-5a0b7f1e0002"
	for _, en := range b.Entry {
		res := en["resource"].(map[string]any)
		if s, ok := res["subject"].(map[string]any); ok && s["reference"] == "resource:0" {
			s["reference"] = patientURL
		} else if res["resourceType"] == "Observation" && res["subject"] == nil {
			res["subject"] = map[string]any{"reference": patientURL} // 3 panel members have none
		}
	}
	patient := map[string]any{"fullUrl": patientURL, "resource": map[string]any{
		"resourceType": "Patient", "id": "p-02", "name": []any{map[string]any{"family": "Anyperson", "given": []any{"Jane"}}}, "birthDate": "1961-01-20"}}
	// The performers it names by type/id are not in the example: add them.
	org := map[string]any{"fullUrl": "Organization/1832473e-2fe0-452d-abe9-3cdb9879522f", "resource": map[string]any{
		"resourceType": "Organization", "id": "1832473e-2fe0-452d-abe9-3cdb9879522f", "name": "Example Lab"}}
	prac := map[string]any{"fullUrl": "Practitioner/f202", "resource": map[string]any{
		"resourceType": "Practitioner", "id": "f202", "name": []any{map[string]any{"family": "Example"}}}}
	b.Entry = append(append([]map[string]any{patient}, b.Entry...), org, prac)
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Issue 6 end to end: the issuer makes a P-flag link for a 55-entry lab
// bundle signed into a card too big for one QR; the verifier library
// resolves it with the passcode and the card verifies; wrong passcodes
// count remainingAttempts down to lockout (SHL-10), also when 50 guesses
// arrive at once (exactly the lifetime limit is consumed); the access log
// shows time and recipient to the owner and to the patient; revocation
// gives link_not_found and expiry link_expired.
func TestSHL_IssuerToVerifier(t *testing.T) {
	e := startSHL(t)
	ctx := context.Background()
	bundle := labBundle(t)

	// Too big for one QR: the service refuses QR delivery of this bundle.
	if code, b := e.call(t, "POST", "/v1/cards?delivery=qr", e.s.Token, json.RawMessage(bundle)); code != http.StatusUnprocessableEntity || !strings.Contains(string(b), "card_too_large_for_qr") {
		t.Fatalf("QR delivery: %d %s", code, b)
	}

	const pass = "correct horse"
	l := e.createLink(t, map[string]any{"bundle": bundle, "sign": true, "passcode": pass, "label": "Lab panel 2021-02", "exp": e.now().Add(24 * time.Hour).Unix()})
	if l.Payload.Flag != "P" || l.Cards < 1 || !strings.HasPrefix(l.ShLink, "shlink:/") || len(l.Payload.URL) > shl.MaxURLLen {
		t.Fatalf("link %+v", l)
	}
	// SHL-4: the manifest id carries 256 bits (43 base64url characters).
	if id := l.Payload.URL[strings.LastIndex(l.Payload.URL, "/")+1:]; len(id) != 43 || id != l.ID {
		t.Fatalf("manifest url %s", l.Payload.URL)
	}

	// Without a passcode: passcode_required, before anything is sent.
	_, err := e.v.Verify(ctx, []byte(l.ShLink))
	if verifier.CodeOf(err) != verifier.CodePasscodeRequired {
		t.Fatalf("Verify without passcode: %v", err)
	}
	// The QR image of the link (level M) leads to the same answer.
	req, _ := http.NewRequest("GET", l.QR, nil)
	req.Header.Set("Authorization", "Bearer "+e.s.Token)
	resp, err := e.s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	png, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("qr: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if _, err := e.v.Verify(ctx, png); verifier.CodeOf(err) != verifier.CodePasscodeRequired {
		t.Fatalf("Verify(QR image): %v", err)
	}

	// With the passcode: the card inside verifies and holds every entry.
	lr, err := e.v.VerifyLink(ctx, l.ShLink, verifier.LinkOptions{Passcode: pass, Recipient: "Dr. Verifier"})
	if err != nil {
		t.Fatal(err)
	}
	if !lr.Valid() || lr.Label != "Lab panel 2021-02" || len(lr.UnverifiedFHIR) != 0 {
		t.Fatalf("link result: valid=%v %+v", lr.Valid(), lr.Cards[0].Errors)
	}
	entries := 0
	for _, c := range lr.Cards {
		var b struct{ Entry []json.RawMessage }
		json.Unmarshal(c.FHIRBundle, &b)
		for _, en := range b.Entry {
			if bytes.Contains(en, []byte(`"resourceType":"DiagnosticReport"`)) || bytes.Contains(en, []byte(`"resourceType":"Observation"`)) || bytes.Contains(en, []byte(`"resourceType":"Specimen"`)) {
				entries++
			}
		}
		if c.Issuer != e.s.URL {
			t.Fatalf("iss %s", c.Issuer)
		}
	}
	if entries != 55 {
		t.Fatalf("the verified cards hold %d lab entries, want 55", entries)
	}

	// Wrong passcodes count down to lockout; then even the right one fails.
	for want := 9; want >= 0; want-- {
		_, err := e.v.VerifyLink(ctx, l.ShLink, verifier.LinkOptions{Passcode: "wrong"})
		if verifier.CodeOf(err) != verifier.CodePasscodeWrong || verifier.LinkRemainingAttempts(err) != want {
			t.Fatalf("want passcode_wrong with %d left, got %v (%d)", want, err, verifier.LinkRemainingAttempts(err))
		}
	}
	if _, err := e.v.VerifyLink(ctx, l.ShLink, verifier.LinkOptions{Passcode: pass}); verifier.CodeOf(err) != verifier.CodeLinkNotFound {
		t.Fatalf("after lockout: %v", err)
	}

	// The owner sees status and the access log (time, recipient, outcome).
	code, b := e.call(t, "GET", "/v1/links/"+l.ID, e.s.Token, nil)
	var st struct {
		Locked            bool               `json:"locked"`
		Active            bool               `json:"active"`
		RemainingAttempts *int               `json:"remainingAttempts"`
		AccessLog         []host.AccessEvent `json:"accessLog"`
	}
	json.Unmarshal(b, &st)
	if code != 200 || !st.Locked || st.Active || st.RemainingAttempts == nil || *st.RemainingAttempts != 0 {
		t.Fatalf("status %d %s", code, b)
	}
	outcomes := map[string]int{}
	for _, ev := range st.AccessLog {
		outcomes[ev.Outcome]++
		if ev.Time.IsZero() || ev.Recipient == "" {
			t.Fatalf("log entry %+v", ev)
		}
	}
	if outcomes[host.OutcomeOK] != 1 || outcomes[host.OutcomePasscodeWrong] != 10 || st.AccessLog[0].Recipient != "Dr. Verifier" {
		t.Fatalf("access log %+v", st.AccessLog)
	}
	// The patient sees it with a SMART token for p-02; another patient does not.
	if code, _ := e.call(t, "GET", "/v1/links/"+l.ID, e.s.MintJWT(t, httpapitest.Claims{Subject: "u", Patient: "p-02", Scope: "patient/*.read"}), nil); code != 200 {
		t.Fatalf("patient read: %d", code)
	}
	if code, _ := e.call(t, "GET", "/v1/links/"+l.ID, e.s.MintJWT(t, httpapitest.Claims{Subject: "u", Patient: "other", Scope: "patient/*.read"}), nil); code != 404 {
		t.Fatalf("other patient read: %d", code)
	}

	// 50 wrong guesses at once on a fresh link: exactly the lifetime limit
	// (10) is evaluated, each with its own remainingAttempts; the rest 404.
	l2 := e.createLink(t, map[string]any{"bundle": bundle, "sign": true, "passcode": pass})
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		remaining []int
		notFound  int
		other     []error
	)
	start := make(chan struct{})
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := e.v.VerifyLink(ctx, l2.ShLink, verifier.LinkOptions{Passcode: "guess", Recipient: "attacker"})
			mu.Lock()
			defer mu.Unlock()
			switch verifier.CodeOf(err) {
			case verifier.CodePasscodeWrong:
				remaining = append(remaining, verifier.LinkRemainingAttempts(err))
			case verifier.CodeLinkNotFound:
				notFound++
			default:
				other = append(other, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	slices.Sort(remaining)
	if !slices.Equal(remaining, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) || notFound != 40 || len(other) != 0 {
		t.Fatalf("remaining %v, not found %d, other %v", remaining, notFound, other)
	}
	if _, err := e.v.VerifyLink(ctx, l2.ShLink, verifier.LinkOptions{Passcode: pass}); verifier.CodeOf(err) != verifier.CodeLinkNotFound {
		t.Fatalf("after parallel lockout: %v", err)
	}

	// Revoke at any time: link_not_found from then on.
	l3 := e.createLink(t, map[string]any{"bundle": bundle, "sign": true, "viewer": "https://viewer.example.org/#"})
	if !strings.HasPrefix(l3.ShLink, "https://viewer.example.org/#shlink:/") {
		t.Fatalf("viewer link %s", l3.ShLink)
	}
	if res, err := e.v.Verify(ctx, []byte(l3.ShLink)); err != nil || !res[0].Valid {
		t.Fatalf("before revocation: %v", err)
	}
	if code, b := e.call(t, "DELETE", "/v1/links/"+l3.ID, e.s.Token, nil); code != 200 {
		t.Fatalf("revoke: %d %s", code, b)
	}
	if _, err := e.v.VerifyLink(ctx, l3.ShLink, verifier.LinkOptions{}); verifier.CodeOf(err) != verifier.CodeLinkNotFound {
		t.Fatalf("after revocation: %v", err)
	}

	// Expiry: the verifier refuses an expired link without fetching
	// (link_expired); the issuer answers 404 to a direct request.
	l4 := e.createLink(t, map[string]any{"bundle": bundle, "exp": e.now().Add(time.Hour).Unix()})
	lr4, err := e.v.VerifyLink(ctx, l4.ShLink, verifier.LinkOptions{})
	if err != nil || len(lr4.UnverifiedFHIR) != 1 || len(lr4.Cards) != 0 {
		t.Fatalf("FHIR link before expiry: %v", err)
	}
	e.offset.Store(int64(2 * time.Hour))
	if _, err := e.v.VerifyLink(ctx, l4.ShLink, verifier.LinkOptions{}); verifier.CodeOf(err) != verifier.CodeLinkExpired {
		t.Fatalf("expired: %v", err)
	}
	resp, err = e.s.Client().Post(l4.Payload.URL, "application/json", strings.NewReader(`{"recipient":"r"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("server answered %d for an expired link", resp.StatusCode)
	}
}

// The management API refuses what it must: no token, wrong scope, both or
// neither source, a bad viewer; revocation needs cards:revoke.
func TestSHL_ManagementAPIRefusals(t *testing.T) {
	e := startSHL(t)
	small := json.RawMessage(`{"resourceType":"Bundle","type":"collection","entry":[]}`)
	if code, _ := e.call(t, "POST", "/v1/links", "", map[string]any{"bundle": small}); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	patientTok := e.s.MintJWT(t, httpapitest.Claims{Subject: "u", Patient: "p1", Scope: "patient/*.read"})
	if code, _ := e.call(t, "POST", "/v1/links", patientTok, map[string]any{"bundle": small}); code != 403 {
		t.Fatalf("patient token creating: %d", code)
	}
	for name, body := range map[string]map[string]any{
		"neither":     {"label": "x"},
		"both":        {"bundle": small, "patientId": "p1"},
		"viewer":      {"bundle": small, "viewer": "http://viewer.example/#"},
		"label":       {"bundle": small, "label": strings.Repeat("x", 81)},
		"unknown":     {"bundle": small, "flags": "U"},
		"exp_millis":  {"bundle": small, "exp": 1767225600000},
		"not_bundle":  {"bundle": map[string]any{"resourceType": "Patient"}},
		"sign_no_pat": {"bundle": small, "sign": true},
	} {
		if code, b := e.call(t, "POST", "/v1/links", e.s.Token, body); code/100 != 4 {
			t.Errorf("%s: %d %s", name, code, b)
		}
	}
	l := e.createLink(t, map[string]any{"bundle": small})
	if code, _ := e.call(t, "DELETE", "/v1/links/"+l.ID, patientTok, nil); code != 404 {
		t.Fatalf("another patient revoking: %d", code)
	}
	if code, _ := e.call(t, "GET", "/v1/links/"+strings.Repeat("A", 43), e.s.Token, nil); code != 404 {
		t.Fatalf("unknown link: %d", code)
	}
}
