package account_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/healthcards/healthcards/internal/identitytest"
	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/account"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/authz"
	"github.com/healthcards/healthcards/issuer/httpapi"
	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
	"github.com/healthcards/healthcards/issuer/identity"
)

type env struct {
	t     *testing.T
	s     *httpapitest.Server
	ids   *identity.Service
	en    *account.Enroller
	rp    string
	clock identitytest.Clock
}

// start runs the issuer service as https://localhost:PORT with the
// patient pages mounted (5 code attempts a minute per client).
func start(t *testing.T) *env {
	t.Helper()
	e := &env{t: t}
	e.s = httpapitest.Start(t, httpapitest.Options{DIDWeb: true, ConfigAPI: func(c *httpapi.Config) {
		c.BaseURL = strings.Replace(c.BaseURL, "127.0.0.1", "localhost", 1)
		u, _ := url.Parse(c.BaseURL)
		e.rp = u.Hostname()
		ids, err := identity.Open(context.Background(), identity.Config{Path: filepath.Join(t.TempDir(), "identity.db"), RPID: e.rp, Origin: c.BaseURL,
			CodeAttemptsPerMinute: 5, Now: e.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ids.Close() })
		e.ids = ids
		e.en = &account.Enroller{Issuer: c.Issuer, Identity: ids, BaseURL: c.BaseURL}
		pages, err := account.New(account.Config{Identity: ids, Issuer: c.Issuer, BaseURL: c.BaseURL, SiteName: "Example Reference Laboratory"})
		if err != nil {
			t.Fatal(err)
		}
		c.Mount = pages.Mount
	}})
	return e
}

func (e *env) base() string { return strings.Replace(e.s.URL, "127.0.0.1", "localhost", 1) }

// patient stores a Patient resource in the issuer's data.
func (e *env) patient(id, given, family, birth string) {
	e.t.Helper()
	raw, _ := json.Marshal(map[string]any{"resourceType": "Patient", "id": id, "birthDate": birth,
		"name": []any{map[string]any{"family": family, "given": []string{given}}}})
	if err := e.s.Issuer.Store().PutResources(context.Background(), id, raw, nil); err != nil {
		e.t.Fatal(err)
	}
}

type browser struct {
	*identitytest.Browser
	e *env
}

func (e *env) browser() *browser {
	return &browser{identitytest.NewBrowser(e.t, e.s.Client(), e.rp, e.base()), e}
}

func (b *browser) post(path string, body []byte) (int, string) {
	st, out, _ := b.Do("POST", path, "application/json", body, b.e.base())
	return st, out
}

// signup redeems code at /account/signup with this browser's
// authenticator; it returns the finish answer.
func (b *browser) signup(code string) (int, string) {
	b.e.t.Helper()
	st, body := b.post("/account/signup/begin", []byte(`{"code":"`+code+`"}`))
	if st != 200 {
		return st, body
	}
	var opts protocol.CredentialCreation
	if err := json.Unmarshal([]byte(body), &opts); err != nil {
		b.e.t.Fatal(err)
	}
	return b.post("/account/signup/finish", b.Auth.Create(&opts))
}

func (b *browser) signin(next string) (int, string) {
	b.e.t.Helper()
	st, body := b.post("/account/signin/begin", []byte(`{}`))
	if st != 200 {
		return st, body
	}
	var opts protocol.CredentialAssertion
	if err := json.Unmarshal([]byte(body), &opts); err != nil {
		b.e.t.Fatal(err)
	}
	return b.post("/account/signin/finish?next="+url.QueryEscape(next), b.Auth.Get(&opts))
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) home() (int, string) {
	st, body, _ := b.Do("GET", "/account/", "", nil, "")
	return st, body
}

func codeOf(body string) string {
	var v struct{ Code string }
	_ = json.Unmarshal([]byte(body), &v)
	return v.Code
}

// Desk enrolment (Enroller) → /account/signup with the code → passkey →
// /account/ shows the person; sign out; sign in again returns to next;
// the code works once.
func TestSignupAndSignin(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.patient("pt-1001", "Maria Elena", "Garcia", "1984-07-15")
	got, err := e.en.Enrol(ctx, account.Request{Patient: "pt-1001", Evidence: "passport", IAL: "IAL2", By: "staff:acct-1"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Account.Name != "Maria Elena Garcia" || !strings.HasPrefix(got.SignupURL, e.base()+"/account/signup#code=") || !got.Expires.After(time.Now()) {
		t.Fatalf("enrolled: %+v", got)
	}
	phone := e.browser()
	if st, _, h := phone.Do("GET", "/account/", "", nil, ""); st != 303 || h.Get("Location") != "/account/signin?next=%2Faccount%2F" {
		t.Fatalf("home without a session: %d %q", st, h.Get("Location"))
	}
	st, body := phone.signup(got.Code)
	if st != 200 || !strings.Contains(body, `"next":"/account/?welcome=1"`) {
		t.Fatalf("signup: %d %s", st, body)
	}
	st, page := phone.home()
	if st != 200 || !strings.Contains(page, `<dd id="name">Maria Elena Garcia</dd>`) || !strings.Contains(page, "1984-07-15") ||
		!strings.Contains(page, "passport seen at the lab (IAL2)") || !strings.Contains(page, `href="/account/apps"`) {
		t.Fatalf("home: %d %.3000s", st, page)
	}
	if st, body := e.browser().signup(got.Code); st != 400 || codeOf(body) != "invalid_enrolment_code" {
		t.Fatalf("code reused: %d %s", st, body)
	}
	// Sign-out needs the CSRF token and the site's Origin.
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token on the home page")
	}
	form := "csrf=" + url.QueryEscape(html.UnescapeString(m[1]))
	if st, _, _ := phone.Do("POST", "/account/signout", "application/x-www-form-urlencoded", []byte("csrf=wrong"), e.base()); st != 403 {
		t.Fatalf("sign-out with a wrong CSRF token: %d", st)
	}
	if st, _, _ := phone.Do("POST", "/account/signout", "application/x-www-form-urlencoded", []byte(form), "https://evil.example"); st != 403 {
		t.Fatalf("sign-out from another origin: %d", st)
	}
	if st, _, h := phone.Do("POST", "/account/signout", "application/x-www-form-urlencoded", []byte(form), e.base()); st != 303 || h.Get("Location") != "/account/signin" {
		t.Fatalf("sign-out: %d", st)
	}
	if st, _ := phone.home(); st != 303 {
		t.Fatalf("home after sign-out: %d", st)
	}
	// Sign in and return to a same-origin path; a foreign next is dropped.
	if st, body := phone.signin("/oauth/authorize?client_id=w&state=s"); st != 200 || !strings.Contains(body, `"next":"/oauth/authorize?client_id=w\u0026state=s"`) {
		t.Fatalf("signin with next: %d %s", st, body)
	}
	for _, bad := range []string{"//evil.example/x", "/\\evil.example", "https://evil.example/", "/%2F%2Fevil.example", "/\t/evil.example"} {
		if st, body := phone.signin(bad); st != 200 || !strings.Contains(body, `"next":"/account/"`) {
			t.Fatalf("signin with next %q: %d %s", bad, st, body)
		}
	}
	if st, page, _ := phone.Do("GET", "/account/signin?next="+url.QueryEscape("/account/apps"), "", nil, ""); st != 303 {
		t.Fatalf("signin page while signed in: %d %.200s", st, page)
	}
	// The passkey endpoints refuse another Origin.
	if st, body, _ := e.browser().Do("POST", "/account/signup/begin", "application/json", []byte(`{"code":"x"}`), ""); st != 403 || codeOf(body) != "csrf_rejected" {
		t.Fatalf("begin without Origin: %d %s", st, body)
	}
	// The session reads back through the exported helper the
	// authorization server uses.
	req, _ := http.NewRequest("GET", e.base()+"/oauth/authorize", nil)
	for _, ck := range phone.Cookies() {
		req.AddCookie(ck)
	}
	if ses, err := e.ids.PatientSession(req); err != nil || ses.Account.Patient != "pt-1001" {
		t.Fatalf("PatientSession: %v", err)
	}
}

// Staff are not patients here: a staff invitation code is not redeemed, a
// staff passkey's sign-in is refused (and no cookie set), a staff session
// in the patient cookie gets 403.
func TestStaffRefused(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	_, code, _ := e.ids.AddAccount(ctx, "Dana Desk", identity.RoleDesk)
	b := e.browser()
	if st, body := b.signup(code); st != 400 || codeOf(body) != "invalid_enrolment_code" {
		t.Fatalf("staff code at /account/signup: %d %s", st, body)
	}
	staff, err := identitytest.Enrol(ctx, e.ids, identity.StaffOnly, code, "desk", b.Auth)
	if err != nil {
		t.Fatal(err)
	}
	if st, body := b.signin("/account/"); st != 403 || codeOf(body) != "forbidden" {
		t.Fatalf("staff passkey at /account/signin: %d %s", st, body)
	}
	for _, ck := range b.Cookies() {
		if ck.Name == identity.PatientCookie {
			t.Fatal("a staff sign-in set the patient cookie")
		}
	}
	b.SetCookie(identity.PatientCookie, staff.Token())
	if st, page := b.home(); st != 403 || !strings.Contains(page, "staff account") {
		t.Fatalf("staff session at /account/: %d", st)
	}
}

// A passkey of another account, a revoked passkey and a disabled account
// cannot sign in.
func TestPasskeyRefusals(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.patient("pt-1", "Ann", "One", "1980-01-01")
	e.patient("pt-2", "Bob", "Two", "1981-01-01")
	ra, _ := e.en.Enrol(ctx, account.Request{Patient: "pt-1", Evidence: "passport", IAL: "IAL2", By: "staff:s"})
	rb, _ := e.en.Enrol(ctx, account.Request{Patient: "pt-2", Evidence: "national-id", IAL: "IAL1.4", By: "staff:s"})
	ann, bob := e.browser(), e.browser()
	if st, _ := ann.signup(ra.Code); st != 200 {
		t.Fatal(st)
	}
	if st, _ := bob.signup(rb.Code); st != 200 {
		t.Fatal(st)
	}
	// Bob's passkey presented with Ann's user handle.
	bob.Auth.Impersonate(ann.Auth)
	if st, body := bob.signin("/account/"); st != 400 || codeOf(body) != "passkey_failed" {
		t.Fatalf("another account's passkey: %d %s", st, body)
	}
	// Staff revoke Ann's passkey (lost phone): her session ends, the
	// passkey no longer signs in.
	pks, _ := e.ids.Passkeys(ctx, ra.Account.ID)
	if err := e.en.RevokePasskey(ctx, ra.Account.ID, pks[0].ID, "staff:s"); err != nil {
		t.Fatal(err)
	}
	if st, _ := ann.home(); st != 303 {
		t.Fatalf("session after passkey revocation: %d", st)
	}
	if st, body := ann.signin("/account/"); st != 400 || codeOf(body) != "passkey_failed" {
		t.Fatalf("revoked passkey: %d %s", st, body)
	}
	// Bob's account is disabled.
	bob2 := e.browser()
	e.clock.Advance(time.Minute)
	rb2, err := e.en.Enrol(ctx, account.Request{Patient: "pt-2", Evidence: "national-id", IAL: "IAL1.4", By: "staff:s"})
	if err != nil || rb2.Account.ID != rb.Account.ID {
		t.Fatalf("re-enrolment: %v", err)
	}
	if st, _ := bob2.signup(rb2.Code); st != 200 {
		t.Fatal(st)
	}
	if err := e.en.Disable(ctx, rb.Account.ID, "staff:s"); err != nil {
		t.Fatal(err)
	}
	if st, body := bob2.signin("/account/"); st != 403 || codeOf(body) != "account_disabled" {
		t.Fatalf("disabled account: %d %s", st, body)
	}
	// Staff tools reach only patient accounts.
	staff, _, _ := e.ids.AddAccount(ctx, "Ada Admin", identity.RoleAdmin)
	if err := e.en.Disable(ctx, staff.ID, "staff:s"); identity.CodeOf(err) != identity.CodeNotFound {
		t.Fatalf("disabling a staff account through enrolment: %v", err)
	}
	if _, err := e.en.PatientAccount(ctx, ra.Account.ID, "pt-2"); identity.CodeOf(err) != identity.CodeNotFound {
		t.Fatalf("Ann's account under Bob's record: %v", err)
	}
}

// Fifty parallel guesses at the real sign-up endpoint: 5 are looked up
// (the configured limit per client and minute), 45 get 429, none
// succeeds; within that minute even the right code is refused; a minute
// later it works once.
func TestSignupGuessesRateLimited(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.patient("pt-1", "Ann", "One", "1980-01-01")
	r, _ := e.en.Enrol(ctx, account.Request{Patient: "pt-1", Evidence: "passport", IAL: "IAL2", By: "staff:s"})
	b := e.browser()
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[string]int{}
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			guess := strings.ToUpper(strings.Repeat(string("0123456789ABCDEFGHJKMNPQRSTVWXYZ"[i%32]), 12))
			st, body := b.post("/account/signup/begin", []byte(`{"code":"`+guess+`"}`))
			mu.Lock()
			counts[http.StatusText(st)+" "+codeOf(body)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(counts) != 2 || counts["Too Many Requests rate_limited"] != 45 || counts["Bad Request invalid_enrolment_code"] != 5 {
		t.Fatalf("50 guesses: %v", counts)
	}
	if st, body := b.signup(r.Code); st != 429 || codeOf(body) != "rate_limited" {
		t.Fatalf("right code within the limited minute: %d %s", st, body)
	}
	e.clock.Advance(time.Minute)
	if st, body := b.signup(r.Code); st != 200 {
		t.Fatalf("right code a minute later: %d %s", st, body)
	}
	if st, body := e.browser().signup(r.Code); st != 400 || codeOf(body) != "invalid_enrolment_code" {
		t.Fatalf("code reused: %d %s", st, body)
	}
}

// A guardian enrolment writes the RelatedPerson the guardian policy reads:
// with the guardian's fhirUser RelatedPerson the engine allows the ward's
// cards; after unlinking (RelatedPerson inactive) it does not. The ward
// appears on the guardian's home page.
func TestGuardian(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	kidBirth := time.Now().AddDate(-7, 0, 0).Format("2006-01-02")
	e.patient("pt-kid", "Kim", "Kid", kidBirth)
	e.patient("pt-mum", "Mia", "Kid", "1985-03-03")
	if _, err := e.en.Enrol(ctx, account.Request{Name: "Gil", Evidence: "passport", IAL: "IAL2", By: "staff:s",
		Wards: []account.WardRequest{{Patient: "pt-kid", Relationship: "SISTER"}}}); identity.CodeOf(err) != identity.CodeInvalidEnrolment {
		t.Fatalf("unknown relationship: %v", err)
	}
	if _, err := e.en.Enrol(ctx, account.Request{Name: "Gil", Evidence: "passport", IAL: "IAL2", By: "staff:s",
		Wards: []account.WardRequest{{Patient: "pt-none", Relationship: "GUARD"}}}); identity.CodeOf(err) != issuer.CodeNotFound {
		t.Fatalf("unknown ward: %v", err)
	}
	mum, err := e.en.Enrol(ctx, account.Request{Patient: "pt-mum", Evidence: "driving-licence", IAL: "IAL1.4", By: "staff:s",
		Wards: []account.WardRequest{{Patient: "pt-kid", Relationship: "MTH"}}})
	if err != nil {
		t.Fatal(err)
	}
	ws, _ := e.ids.Wards(ctx, mum.Account.ID)
	if len(ws) != 1 || ws[0].Patient != "pt-kid" || ws[0].Name != "Kim Kid" || !strings.HasPrefix(ws[0].RelatedPerson, "rp-") {
		t.Fatalf("wards: %+v", ws)
	}
	az, err := authz.New(authz.Config{Source: issuer.StoreSource{Store: e.s.Issuer.Store()}, Now: e.s.Issuer.Now})
	if err != nil {
		t.Fatal(err)
	}
	asGuardian := &auth.Principal{Kind: "jwt", ID: mum.Account.ID, Patient: "pt-kid", FHIRUser: "RelatedPerson/" + ws[0].RelatedPerson, Scopes: []string{"patient/*.rs"}}
	if d := az.Authorize(ctx, asGuardian, authz.ActionIssue, authz.Target{Patient: "pt-kid"}); !d.Allow || strings.Join(d.Policies, ",") != "guardian-of-minor" {
		t.Fatalf("guardian: %v %s %v", d.Allow, d.Reason, d.Policies)
	}
	b := e.browser()
	if st, _ := b.signup(mum.Code); st != 200 {
		t.Fatal(st)
	}
	if st, page := b.home(); st != 200 || !strings.Contains(page, `<ul id="wards"><li>Kim Kid</li></ul>`) {
		t.Fatalf("home of a guardian: %d %.2000s", st, page)
	}
	if err := e.en.UnlinkGuardian(ctx, mum.Account.ID, "pt-kid", "staff:s"); err != nil {
		t.Fatal(err)
	}
	if d := az.Authorize(ctx, asGuardian, authz.ActionIssue, authz.Target{Patient: "pt-kid"}); d.Allow {
		t.Fatal("an unlinked guardian is still allowed")
	}
	res, _ := e.s.Issuer.Store().Resources(ctx, "pt-kid", []string{"RelatedPerson"}, time.Time{})
	if len(res) != 1 || !strings.Contains(string(res[0].JSON), `"active":false`) {
		t.Fatalf("RelatedPerson after unlink: %v", res)
	}
	// LinkGuardian re-links with a new RelatedPerson.
	w, err := e.en.LinkGuardian(ctx, mum.Account.ID, account.WardRequest{Patient: "pt-kid", Relationship: "GUARD"}, "staff:s")
	if err != nil || w.RelatedPerson == ws[0].RelatedPerson {
		t.Fatalf("LinkGuardian: %+v %v", w, err)
	}
	asGuardian.FHIRUser = "RelatedPerson/" + w.RelatedPerson
	if d := az.Authorize(ctx, asGuardian, authz.ActionIssue, authz.Target{Patient: "pt-kid"}); !d.Allow {
		t.Fatalf("re-linked guardian: %s", d.Reason)
	}
	// The audit trail has ids only.
	evs, _ := e.s.Issuer.Store().AuditLog(ctx, 50)
	var n int
	for _, ev := range evs {
		if strings.HasPrefix(ev.Action, "enrol") {
			n++
			if strings.Contains(ev.Detail, "Kim") || strings.Contains(ev.Detail, "Mia") || strings.Contains(ev.Detail, mum.Code) {
				t.Fatalf("audit detail with PHI or the code: %q", ev.Detail)
			}
		}
	}
	if n < 3 {
		t.Fatalf("%d enrolment events", n)
	}
}
