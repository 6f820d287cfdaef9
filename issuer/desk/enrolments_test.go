package desk_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/identitytest"
	"github.com/healthcards/healthcards/issuer/identity"
	"github.com/healthcards/healthcards/shc/qr"
)

var (
	codeRe   = regexp.MustCompile(`id="code">([0-9A-Z-]{14})<`)
	qrSrcRe  = regexp.MustCompile(`src="data:image/svg(?:\+|&#43;)xml;base64,([A-Za-z0-9+/=]+)"`)
	passkeyR = regexp.MustCompile(`name="passkey" value="([^"]+)"`)
)

// Desk staff enrol a patient from the patient page: the evidence and level
// are recorded, the code is shown once with a QR of the sign-up address
// (read back with shc/qr), the open code can be withdrawn, a new phone gets
// a new code, passkeys are listed and revoked, guardians linked and
// unlinked, the account disabled.
func TestDeskEnrolment(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	_, code, _ := e.ids.AddAccount(ctx, "Dana Desk", identity.RoleDesk)
	dana := e.browser()
	if st := dana.enrol(code); st != 200 {
		t.Fatal(st)
	}
	csrf := dana.csrf()
	if st, _ := dana.form("/desk/issue", goodForm(csrf), true); st != http.StatusCreated {
		t.Fatal(st)
	}
	kid := goodForm(csrf)
	kid.Set("patientId", "pt-kid")
	kid.Set("given", "Kim")
	kid.Set("birthDate", time.Now().AddDate(-6, 0, 0).Format("2006-01-02"))
	if st, _ := dana.form("/desk/issue", kid, true); st != http.StatusCreated {
		t.Fatal(st)
	}
	st, page, _ := dana.do("GET", "/desk/patient?id=pt-2001", "", nil, false)
	if st != 200 || !strings.Contains(page, "Enrol Maria Elena Garcia for sign-in with a passkey") || !strings.Contains(page, `value="IAL2"`) {
		t.Fatalf("patient page: %d %.3000s", st, page)
	}
	enrol := func(pid string, extra url.Values) (int, string) {
		v := url.Values{"csrf": {csrf}, "patientId": {pid}}
		for k, vs := range extra {
			v[k] = vs
		}
		return dana.form("/desk/enrolments", v, true)
	}
	if st, body := enrol("pt-2001", url.Values{"ial": {"IAL2"}}); st != 400 || !strings.Contains(body, "invalid_enrolment") {
		t.Fatalf("no evidence: %d %.500s", st, body)
	}
	if st, body := enrol("pt-2001", url.Values{"evidence": {"passport"}, "ial": {"IAL1.2"}}); st != 400 || !strings.Contains(body, "invalid_enrolment") {
		t.Fatalf("IAL1.2: %d %.500s", st, body)
	}
	if st, body := enrol("pt-none", url.Values{"evidence": {"passport"}, "ial": {"IAL2"}}); st != 404 {
		t.Fatalf("unknown patient: %d %.500s", st, body)
	}
	st, body := enrol("pt-2001", url.Values{"evidence": {"passport"}, "ial": {"IAL2"}})
	m, q := codeRe.FindStringSubmatch(body), qrSrcRe.FindStringSubmatch(html.UnescapeString(body))
	if st != 201 || m == nil || q == nil {
		t.Fatalf("enrol: %d %s", st, body[strings.Index(body, "<main"):])
	}
	// The QR is the sign-up URL with the code (the Chromium test decodes
	// its screenshot independently).
	svg, _ := base64.StdEncoding.DecodeString(q[1])
	want, err := qr.EncodeBytes(e.base()+"/account/signup#code="+m[1], qr.M)
	var wantSVG bytes.Buffer
	if err != nil || want.SVG(&wantSVG) != nil || !bytes.Equal(svg, wantSVG.Bytes()) {
		t.Fatalf("the QR is not the sign-up URL with %s (%v)", m[1], err)
	}
	a, err := e.ids.PatientAccount(ctx, "pt-2001")
	if err != nil || a.IAL != identity.IALSystem+"/IAL2" || a.Evidence != "passport" || !strings.HasPrefix(a.CheckedBy, "staff:acct-") {
		t.Fatalf("account: %+v %v", a, err)
	}
	// The patient page shows the open code; withdrawing it makes it useless.
	_, page, _ = dana.do("GET", "/desk/patient?id=pt-2001", "", nil, false)
	if !strings.Contains(page, "open until") || !strings.Contains(page, "passport, IAL2") {
		t.Fatalf("patient page after enrolment: %.3000s", page)
	}
	acct := func(path, pid, account string, extra ...string) int {
		v := url.Values{"csrf": {csrf}, "patientId": {pid}, "account": {account}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		st, _ := dana.form(path, v, true)
		return st
	}
	if st := acct("/desk/enrolments/revoke-code", "pt-2001", a.ID); st != 303 {
		t.Fatalf("revoke code: %d", st)
	}
	if _, _, err := e.ids.BeginEnrolFor(ctx, identity.PatientsOnly, m[1], "phone"); identity.CodeOf(err) != identity.CodeInvalidCode {
		t.Fatalf("withdrawn code: %v", err)
	}
	// A new code; the phone registers a passkey; staff see and revoke it.
	_, body = enrol("pt-2001", url.Values{"evidence": {"national-id"}, "ial": {"IAL1.4"}})
	m = codeRe.FindStringSubmatch(body)
	phone := identitytest.New(e.rp, e.base())
	if _, err := identitytest.Enrol(ctx, e.ids, identity.PatientsOnly, m[1], "phone", phone); err != nil {
		t.Fatal(err)
	}
	_, page, _ = dana.do("GET", "/desk/patient?id=pt-2001", "", nil, false)
	pk := passkeyR.FindStringSubmatch(page)
	if pk == nil || !strings.Contains(page, "none open") {
		t.Fatalf("patient page with a passkey: %.4000s", page)
	}
	// Another patient's page cannot reach this account.
	if st := acct("/desk/enrolments/revoke-passkey", "pt-kid", a.ID, "passkey", html.UnescapeString(pk[1])); st != 404 {
		t.Fatalf("revoke through another patient: %d", st)
	}
	if st := acct("/desk/enrolments/revoke-passkey", "pt-2001", a.ID, "passkey", html.UnescapeString(pk[1])); st != 303 {
		t.Fatalf("revoke passkey: %d", st)
	}
	if pks, _ := e.ids.Passkeys(ctx, a.ID); len(pks) != 0 {
		t.Fatalf("passkeys after revocation: %d", len(pks))
	}
	// Guardians: Maria (enrolled) becomes the mother of pt-kid; then a new
	// guardian-only account with its own code.
	g := func(v url.Values) (int, string) {
		v.Set("csrf", csrf)
		v.Set("patientId", "pt-kid")
		return dana.form("/desk/enrolments/guardian", v, true)
	}
	if st, _ := g(url.Values{"guardian": {"pt-2001"}, "relationship": {"MTH"}}); st != 303 {
		t.Fatalf("link guardian: %d", st)
	}
	if ws, _ := e.ids.Wards(ctx, a.ID); len(ws) != 1 || ws[0].Patient != "pt-kid" {
		t.Fatalf("wards: %+v", ws)
	}
	if st, body := g(url.Values{"guardian": {"pt-nobody"}, "relationship": {"MTH"}}); st != 404 {
		t.Fatalf("link an unknown guardian: %d %.300s", st, body)
	}
	st, body = g(url.Values{"name": {"Gil Guardian"}, "relationship": {"GUARD"}, "evidence": {"driving-licence"}, "ial": {"IAL1.4"}})
	if st != 201 || codeRe.FindStringSubmatch(body) == nil {
		t.Fatalf("new guardian: %d %.2000s", st, body)
	}
	_, page, _ = dana.do("GET", "/desk/patient?id=pt-kid", "", nil, false)
	if !strings.Contains(page, "Unlink Maria Elena Garcia") || !strings.Contains(page, "Unlink Gil Guardian") {
		t.Fatalf("kid's guardians: %.4000s", page)
	}
	if st := acct("/desk/enrolments/unlink", "pt-kid", a.ID); st != 303 {
		t.Fatalf("unlink: %d", st)
	}
	if ws, _ := e.ids.Wards(ctx, a.ID); len(ws) != 0 {
		t.Fatalf("wards after unlink: %+v", ws)
	}
	// Disable: no account any more; the page offers a new enrolment.
	if st := acct("/desk/enrolments/disable", "pt-2001", a.ID); st != 303 {
		t.Fatalf("disable: %d", st)
	}
	if got, _ := e.ids.Account(ctx, a.ID); !got.Disabled {
		t.Fatal("not disabled")
	}
	_, page, _ = dana.do("GET", "/desk/patient?id=pt-2001", "", nil, false)
	if !strings.Contains(page, "No account yet") {
		t.Fatalf("page after disable: %.2000s", page)
	}
	// Staff accounts are out of reach of these forms.
	staff, _, _ := e.ids.AddAccount(ctx, "Ada Admin", identity.RoleAdmin)
	if st := acct("/desk/enrolments/disable", "pt-2001", staff.ID); st != 404 {
		t.Fatalf("disable a staff account through the patient page: %d", st)
	}
}
