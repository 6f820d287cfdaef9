package desk_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/internal/identitytest"
	"github.com/healthcards/healthcards/issuer/account"
	"github.com/healthcards/healthcards/issuer/desk"
	"github.com/healthcards/healthcards/issuer/httpapi"
	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
	"github.com/healthcards/healthcards/issuer/identity"
	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/verifier"
)

type env struct {
	t     *testing.T
	s     *httpapitest.Server
	ids   *identity.Service
	rp    string
	clock identitytest.Clock // the identity service's (session timeouts)
}

func start(t *testing.T) *env {
	t.Helper()
	e := &env{t: t}
	// WebAuthn needs a domain as relying party id: the service runs as
	// https://localhost:PORT (httpapitest's did:web mode has a certificate
	// for localhost), and the issuer is did:web:localhost%3APORT.
	e.s = httpapitest.Start(t, httpapitest.Options{DIDWeb: true, ConfigAPI: func(c *httpapi.Config) {
		c.BaseURL = strings.Replace(c.BaseURL, "127.0.0.1", "localhost", 1)
		u, _ := url.Parse(c.BaseURL)
		e.rp = u.Hostname()
		ids, err := identity.Open(context.Background(), identity.Config{Path: filepath.Join(t.TempDir(), "identity.db"), RPID: e.rp, Origin: c.BaseURL, Now: e.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ids.Close() })
		e.ids = ids
		l, err := httpapi.NewLinks(httpapi.LinksConfig{Issuer: c.Issuer, Auth: c.Auth, BaseURL: c.BaseURL})
		if err != nil {
			t.Fatal(err)
		}
		d, err := desk.New(desk.Config{Issuer: c.Issuer, Identity: ids, Links: l, BaseURL: c.BaseURL, LabName: "Example Reference Laboratory"})
		if err != nil {
			t.Fatal(err)
		}
		// The patient pages (issue 13), where a desk enrolment's code is redeemed.
		pages, err := account.New(account.Config{Identity: ids, Issuer: c.Issuer, BaseURL: c.BaseURL, SiteName: "Example Reference Laboratory"})
		if err != nil {
			t.Fatal(err)
		}
		c.Mount = func(e *echo.Echo) { l.Mount(e); d.Mount(e); pages.Mount(e) }
	}})
	return e
}

// browser is one person's client: a cookie jar and the service's origin.
type browser struct {
	*identitytest.Browser
	e *env
}

func (e *env) base() string { return strings.Replace(e.s.URL, "127.0.0.1", "localhost", 1) }

func (e *env) browser() *browser {
	return &browser{identitytest.NewBrowser(e.t, e.s.Client(), e.rp, e.base()), e}
}

// do sends a request, from the service's own pages if origin.
func (b *browser) do(method, path, ctype string, body []byte, origin bool) (int, string, http.Header) {
	b.e.t.Helper()
	o := ""
	if origin {
		o = b.e.base()
	}
	return b.Do(method, path, ctype, body, o)
}

func (b *browser) enrol(code string) int {
	b.e.t.Helper()
	st, body, _ := b.do("POST", "/desk/enrol/begin", "application/json", []byte(`{"code":"`+code+`"}`), true)
	if st != 200 {
		return st
	}
	var opts protocol.CredentialCreation
	if err := json.Unmarshal([]byte(body), &opts); err != nil {
		b.e.t.Fatal(err)
	}
	st, body, _ = b.do("POST", "/desk/enrol/finish", "application/json", b.Auth.Create(&opts), true)
	if st != 200 {
		b.e.t.Logf("enrol finish: %d %s", st, body)
	}
	return st
}

func (b *browser) signIn() (int, string) {
	b.e.t.Helper()
	st, body, _ := b.do("POST", "/desk/signin/begin", "application/json", []byte(`{}`), true)
	if st != 200 {
		return st, body
	}
	var opts protocol.CredentialAssertion
	if err := json.Unmarshal([]byte(body), &opts); err != nil {
		b.e.t.Fatal(err)
	}
	st, body, _ = b.do("POST", "/desk/signin/finish", "application/json", b.Auth.Get(&opts), true)
	return st, body
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) csrf() string {
	b.e.t.Helper()
	st, body, _ := b.do("GET", "/desk/issue", "", nil, false)
	m := csrfRe.FindStringSubmatch(body)
	if st != 200 || m == nil {
		b.e.t.Fatalf("form: %d %.300s", st, body)
	}
	return html.UnescapeString(m[1])
}

func (b *browser) form(path string, v url.Values, origin bool) (int, string) {
	b.e.t.Helper()
	st, body, _ := b.do("POST", path, "application/x-www-form-urlencoded", []byte(v.Encode()), origin)
	return st, body
}

func goodForm(csrf string) url.Values {
	return url.Values{"csrf": {csrf}, "given": {"Maria Elena"}, "family": {"Garcia"}, "birthDate": {"1984-07-15"}, "patientId": {"pt-2001"},
		"contact": {"maria@example.org"}, "test": {"94500-6"}, "specimen": {"258500001"}, "collected": {time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04")},
		"result": {"not-detected"}, "identity": {"photo-id"}}
}

var cardRe = regexp.MustCompile(`/v1/cards/([A-Za-z0-9_-]{22})\.png`)

// verifyQR reads the on-screen QR image with shc/qr and verifies the card
// with the verifier library against the running issuer.
func (e *env) verifyQR(cardID string, clock func() time.Time) *verifier.Result {
	e.t.Helper()
	resp, err := e.s.Client().Get(e.base() + "/v1/cards/" + cardID + ".png?scale=8")
	if err != nil {
		e.t.Fatal(err)
	}
	png, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text, err := qr.DecodeImage(context.Background(), png)
	if err != nil || !strings.HasPrefix(text, "shc:/") {
		e.t.Fatalf("QR read back: %v %.40q", err, text)
	}
	pool := x509.NewCertPool()
	pool.AddCert(e.s.Certificate())
	v, err := verifier.New(verifier.WithTrustedIssuers(e.s.Iss), verifier.WithAllowPrivateNetwork(), verifier.WithRootCAs(pool), verifier.WithClock(clock))
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := v.Verify(context.Background(), []byte(text))
	if err != nil || len(res) != 1 {
		e.t.Fatalf("verify: %v", err)
	}
	return res[0]
}

// Invitation → passkey enrolment → sign-in → issue from the form → the QR
// read back verifies (IAL stamped) → print page → share link → a
// supervisor corrects: revoke (timestamp form) and issue again → the old
// card is revoked, the new one verified.
func TestDeskEndToEnd(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	_, code, err := e.ids.AddAccount(ctx, "Dana Desk", identity.RoleDesk)
	if err != nil {
		t.Fatal(err)
	}
	dana := e.browser()
	if st, _, h := dana.do("GET", "/desk/issue", "", nil, false); st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/desk/signin") {
		t.Fatalf("form without a session: %d %s", st, h.Get("Location"))
	}
	if st := dana.enrol(code); st != 200 {
		t.Fatalf("enrol: %d", st)
	}
	if st := e.browser().enrol(code); st != 400 {
		t.Fatalf("code reused: %d", st)
	}
	// Sign in again with the passkey (a new session).
	if st, body := dana.signIn(); st != 200 {
		t.Fatalf("sign-in: %d %s", st, body)
	}
	csrf := dana.csrf()

	// Field-level validation.
	bad := goodForm(csrf)
	bad.Set("birthDate", "1984-13-40")
	bad.Set("test", "12345-6")
	bad.Set("patientId", "pt 2001!")
	st, body := dana.form("/desk/issue", bad, true)
	if st != 422 || !strings.Contains(body, `id="birthDate-err"`) || !strings.Contains(body, `id="test-err"`) || !strings.Contains(body, `id="patientId-err"`) ||
		!strings.Contains(body, `aria-invalid="true"`) || strings.Contains(body, `id="family-err"`) || !strings.Contains(body, `value="Garcia"`) {
		t.Fatalf("validation: %d %.3000s", st, body)
	}

	st, body = dana.form("/desk/issue", goodForm(csrf), true)
	m := cardRe.FindStringSubmatch(body)
	if st != 201 || m == nil || !strings.Contains(body, "/print?paper=A4") || !strings.Contains(body, ".smart-health-card") {
		t.Fatalf("issue: %d %.2000s", st, body)
	}
	oldCard := m[1]
	clock := time.Now
	r := e.verifyQR(oldCard, clock)
	if r.Verdict != verifier.VerdictVerified {
		t.Fatalf("issued card: %s %v", r.Verdict, r.Errors)
	}
	// The identity check reaches the verifier (Patient meta.security).
	if r.Summary == nil || r.Summary.Patient == nil || r.Summary.Patient.IdentityAssurance == nil || r.Summary.Patient.IdentityAssurance.Level != "IAL1.4" {
		t.Errorf("the verifier does not show IAL1.4: %+v", r.Summary)
	}
	if !strings.Contains(html.UnescapeString(body), `"code": "IAL1.4"`) {
		t.Error("the bundle shown lacks the IAL1.4 meta.security")
	}
	if st, page, _ := dana.do("GET", "/cards/"+oldCard+"/print?paper=letter", "", nil, false); st != 200 || !strings.Contains(page, "Maria Elena Garcia") ||
		!strings.Contains(page, "Identity checked by the issuer: IAL1.4") {
		t.Fatalf("print: %d %.2000s", st, page)
	}
	st, body = dana.form("/desk/share", url.Values{"csrf": {csrf}, "card": {oldCard}}, true)
	if st != 201 || !regexp.MustCompile(`class="passcode" aria-label="passcode">\d{6}<`).MatchString(body) || !strings.Contains(body, "data:image/png;base64,") {
		t.Fatalf("share: %d %.1500s", st, body)
	}

	// A desk account cannot revoke.
	if st, _ := dana.form("/desk/revoke", url.Values{"csrf": {csrf}, "patientId": {"pt-2001"}}, true); st != http.StatusForbidden {
		t.Fatalf("desk revoke: %d", st)
	}
	// A supervisor corrects: revoke (cards issued before now), issue the corrected result.
	_, scode, _ := e.ids.AddAccount(ctx, "Sam Supervisor", identity.RoleSupervisor)
	sam := e.browser()
	if st := sam.enrol(scode); st != 200 {
		t.Fatalf("supervisor enrol: %d", st)
	}
	scsrf := sam.csrf()
	if st, body := sam.form("/desk/revoke", url.Values{"csrf": {scsrf}, "patientId": {"pt-2001"}}, true); st != 200 {
		t.Fatalf("supervisor revoke: %d %.500s", st, body)
	}
	fixed := goodForm(scsrf)
	fixed.Set("result", "detected")
	st, body = sam.form("/desk/issue", fixed, true)
	m = cardRe.FindStringSubmatch(body)
	if st != 201 || m == nil {
		t.Fatalf("corrected issue: %d %s", st, regexp.MustCompile(`class="error"[^<]*<`).FindAllString(body, -1))
	}
	later := func() time.Time { return time.Now().Add(2 * time.Minute) }
	if r := e.verifyQR(oldCard, later); r.Verdict != verifier.VerdictInvalid || r.Errors[0].Code != verifier.CodeRevoked {
		t.Fatalf("old card after the correction: %s %v", r.Verdict, r.Errors)
	}
	if r := e.verifyQR(m[1], later); r.Verdict != verifier.VerdictVerified {
		t.Fatalf("corrected card: %s %v", r.Verdict, r.Errors)
	}
}

// CSRF, foreign origins, session expiry (idle timeout on an injected
// clock) and disabled accounts are refused.
func TestDeskRefusals(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	a, code, _ := e.ids.AddAccount(ctx, "Dana Desk", identity.RoleDesk)
	dana := e.browser()
	if st := dana.enrol(code); st != 200 {
		t.Fatalf("enrol: %d", st)
	}
	csrf := dana.csrf()
	if st, _ := dana.form("/desk/issue", goodForm("wrong"), true); st != http.StatusForbidden {
		t.Errorf("wrong CSRF token: %d", st)
	}
	if st, _ := dana.form("/desk/issue", goodForm(csrf), false); st != http.StatusForbidden {
		t.Errorf("no Origin: %d", st)
	}
	if st, _, _ := dana.do("POST", "/desk/signin/begin", "application/json", []byte(`{}`), false); st != http.StatusForbidden {
		t.Errorf("sign-in without Origin: %d", st)
	}
	// Idle timeout: the next form is refused and pages send the person to
	// sign in (session_expired); a new sign-in works again.
	e.clock.Advance(identity.DefaultIdleTimeout + time.Minute)
	if st, body := dana.form("/desk/issue", goodForm(csrf), true); st != http.StatusUnauthorized || !strings.Contains(body, "session_expired") {
		t.Errorf("expired session: %d", st)
	}
	if st, _, h := dana.do("GET", "/desk/issue", "", nil, false); st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/desk/signin") {
		t.Errorf("page after expiry: %d %s", st, h.Get("Location"))
	}
	if st, body := dana.signIn(); st != 200 {
		t.Fatalf("sign-in after expiry: %d %s", st, body)
	}
	csrf = dana.csrf()
	if err := e.ids.Disable(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := dana.form("/desk/issue", goodForm(csrf), true); st != http.StatusUnauthorized {
		t.Errorf("disabled account's session: %d", st)
	}
	if st, body := dana.signIn(); st != http.StatusForbidden || !strings.Contains(body, "account_disabled") {
		t.Errorf("disabled sign-in: %d %s", st, body)
	}
}

// Patient page → correct a result (old cards revoked with the timestamp
// form, corrected card issued and verified) → the audit trail shows both
// and exports as CSV without names; a desk account sees neither the
// correction form nor the audit trail.
func TestDeskCorrectAndAudit(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	_, dcode, _ := e.ids.AddAccount(ctx, "Dana Desk", identity.RoleDesk)
	_, scode, _ := e.ids.AddAccount(ctx, "Sam Supervisor", identity.RoleSupervisor)
	dana, sam := e.browser(), e.browser()
	if dana.enrol(dcode) != 200 || sam.enrol(scode) != 200 {
		t.Fatal("enrol")
	}
	st, body := dana.form("/desk/issue", goodForm(dana.csrf()), true)
	m := cardRe.FindStringSubmatch(body)
	if st != 201 || m == nil {
		t.Fatalf("issue: %d", st)
	}
	oldCard := m[1]
	if st, page, _ := dana.do("GET", "/desk/patient?id=pt-2001", "", nil, false); st != 200 || !strings.Contains(page, "Maria Elena Garcia") || strings.Contains(page, `action="/desk/correct"`) {
		t.Fatalf("desk patient page: %d", st)
	}
	if st, _, _ := dana.do("GET", "/desk/audit", "", nil, false); st != http.StatusForbidden {
		t.Fatalf("desk audit: %d", st)
	}
	st, page, _ := sam.do("GET", "/desk/patient?id=pt-2001", "", nil, false)
	obs := regexp.MustCompile(`name="observation" value="([^"]+)"`).FindStringSubmatch(page)
	if st != 200 || obs == nil || !strings.Contains(page, "Not detected") {
		t.Fatalf("supervisor patient page: %d %.1500s", st, page)
	}
	st, body = sam.form("/desk/correct", url.Values{"csrf": {sam.csrf()}, "patientId": {"pt-2001"}, "observation": {html.UnescapeString(obs[1])}, "result": {"detected"}}, true)
	m = cardRe.FindStringSubmatch(body)
	if st != 201 || m == nil || !strings.Contains(body, "260373001") {
		t.Fatalf("correct: %d %.1500s", st, body)
	}
	later := func() time.Time { return time.Now().Add(2 * time.Minute) }
	if r := e.verifyQR(oldCard, later); r.Verdict != verifier.VerdictInvalid || r.Errors[0].Code != verifier.CodeRevoked {
		t.Fatalf("old card: %s %v", r.Verdict, r.Errors)
	}
	if r := e.verifyQR(m[1], later); r.Verdict != verifier.VerdictVerified {
		t.Fatalf("corrected card: %s %v", r.Verdict, r.Errors)
	}
	if _, page, _ := sam.do("GET", "/desk/patient?id=pt-2001", "", nil, false); !strings.Contains(page, "Detected") {
		t.Error("the patient page does not show the corrected result")
	}
	if got := strings.Join(states(t, sam, "pt-2001"), ","); got != "superseded,valid" {
		t.Errorf("card states after the correction: %s, want superseded,valid", got)
	}
	st, page, _ = sam.do("GET", "/desk/audit", "", nil, false)
	for _, want := range []string{">correct<", ">revoke<", ">issue<", ">results.write<"} {
		if !strings.Contains(page, want) {
			t.Errorf("audit page lacks %s", want)
		}
	}
	st, csvText, h := sam.do("GET", "/desk/audit.csv", "", nil, false)
	if st != 200 || !strings.HasPrefix(csvText, "id,time,actor,action,") || !strings.Contains(h.Get("Content-Disposition"), "attachment") ||
		!strings.Contains(csvText, ",correct,") || strings.Contains(csvText, "Garcia") || strings.Contains(csvText, "1984-07-15") {
		t.Fatalf("CSV export: %d %s\n%.1000s", st, h.Get("Content-Disposition"), csvText)
	}
}

// Patients are not staff: the desk's enrolment page does not take a
// patient's sign-up code, a patient's passkey does not sign in to the
// desk, and a patient session in the desk's cookie is refused.
func TestDeskRefusesPatients(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	_, code, err := e.ids.EnrolPatient(ctx, identity.Enrolment{Name: "Pat Patient", Patient: "pt-1001", Evidence: "passport", IAL: "IAL2", By: "acct-x"})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	if st := b.enrol(code); st != 400 {
		t.Fatalf("patient code at /desk/enrol: %d", st)
	}
	// The patient registers a passkey on the sign-up flow (identity level
	// here), then tries it at the desk.
	ses, err := identitytest.Enrol(ctx, e.ids, identity.PatientsOnly, code, "phone", b.Auth)
	if err != nil {
		t.Fatal(err)
	}
	if st, body := b.signIn(); st != 403 || !strings.Contains(body, `"forbidden"`) {
		t.Fatalf("patient passkey at /desk/signin: %d %s", st, body)
	}
	b.SetCookie(desk.SessionCookie, ses.Token())
	if st, _, h := b.do("GET", "/desk/", "", nil, false); st != 303 || !strings.HasPrefix(h.Get("Location"), "/desk/signin") {
		t.Fatalf("patient session at /desk/: %d %s", st, h.Get("Location"))
	}
}
