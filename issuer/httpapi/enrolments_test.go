package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/identitytest"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/httpapi"
	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
	"github.com/healthcards/healthcards/issuer/identity"
	"github.com/healthcards/healthcards/issuer/store"
)

type enrolEnv struct {
	s    *httpapitest.Server
	ids  *identity.Service
	base string
	rp   string
}

// startEnrolments runs the service as https://localhost:PORT (passkeys
// need a host name) with the enrolment API mounted.
func startEnrolments(t *testing.T) *enrolEnv {
	t.Helper()
	e := &enrolEnv{}
	e.s = httpapitest.Start(t, httpapitest.Options{DIDWeb: true, ConfigAPI: func(c *httpapi.Config) {
		c.BaseURL = strings.Replace(c.BaseURL, "127.0.0.1", "localhost", 1)
		e.base = c.BaseURL
		u, _ := url.Parse(c.BaseURL)
		e.rp = u.Hostname()
		ids, err := identity.Open(context.Background(), identity.Config{Path: filepath.Join(t.TempDir(), "identity.db"), RPID: e.rp, Origin: c.BaseURL})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ids.Close() })
		e.ids = ids
		en, err := httpapi.NewEnrolments(httpapi.EnrolmentsConfig{Issuer: c.Issuer, Auth: c.Auth, Identity: ids, BaseURL: c.BaseURL})
		if err != nil {
			t.Fatal(err)
		}
		c.Mount = en.Mount
	}})
	for _, p := range [][3]string{{"pt-1", "Maria Garcia", "1984-07-15"}, {"pt-kid", "Kim Garcia", time.Now().AddDate(-5, 0, 0).Format("2006-01-02")}} {
		given, family, _ := strings.Cut(p[1], " ")
		raw, _ := json.Marshal(map[string]any{"resourceType": "Patient", "id": p[0], "birthDate": p[2], "name": []any{map[string]any{"family": family, "given": []string{given}}}})
		if err := e.s.Issuer.Store().PutResources(context.Background(), p[0], raw, nil); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

type apiReq struct {
	method, path, token string
	body                any
	cookie, csrf        string
	origin              bool
}

func (e *enrolEnv) do(t *testing.T, r apiReq) (int, []byte, http.Header) {
	t.Helper()
	var body io.Reader
	if r.body != nil {
		b, _ := json.Marshal(r.body)
		if s, ok := r.body.(string); ok {
			b = []byte(s)
		}
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(r.method, e.base+r.path, body)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.cookie != "" {
		req.AddCookie(&http.Cookie{Name: identity.StaffCookie, Value: r.cookie})
	}
	if r.csrf != "" {
		req.Header.Set("X-CSRF-Token", r.csrf)
	}
	if r.origin {
		req.Header.Set("Origin", e.base)
	}
	resp, err := e.s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// session enrols an account of role with a software passkey and returns
// its session.
func (e *enrolEnv) session(t *testing.T, code string) *identity.Session {
	t.Helper()
	ctx := context.Background()
	opts, cer, err := e.ids.BeginEnrol(ctx, code, "t")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", e.base+"/x", bytes.NewReader(identitytest.New(e.rp, e.base).Create(opts)))
	ses, err := e.ids.FinishEnrol(ctx, cer, req)
	if err != nil {
		t.Fatal(err)
	}
	return ses
}

// The enrolment API: who may call it (enrolments:write, or a desk session
// with its CSRF token), validation with stable codes, the code and QR,
// reading, withdrawing the code, passkeys, guardians, disabling.
func TestEnrolmentsAPI(t *testing.T) {
	e := startEnrolments(t)
	ctx := context.Background()
	good := map[string]any{"patientId": "pt-1", "evidence": "passport", "ial": "IAL2", "checkedBy": "desk 3"}
	if st, b, _ := e.do(t, apiReq{method: "POST", path: "/v1/enrolments", body: good}); st != 401 || outcomeCode(t, b) != "unauthenticated" {
		t.Fatalf("no credential: %d %s", st, b)
	}
	narrow, tok, _ := auth.NewToken([]string{auth.ScopeCardsIssue, auth.ScopeCardsRevoke, auth.ScopeResultsWrite}, "narrow", time.Now())
	if err := e.s.Issuer.Store().(store.TokenStore).PutToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if st, b, _ := e.do(t, apiReq{method: "POST", path: "/v1/enrolments", token: narrow, body: good}); st != 403 || outcomeCode(t, b) != "forbidden" {
		t.Fatalf("token without enrolments:write: %d %s", st, b)
	}
	for name, tc := range map[string]struct {
		body any
		st   int
		code string
	}{
		"unknown field": {`{"patientId":"pt-1","evidence":"passport","ial":"IAL2","passportNumber":"X123"}`, 400, "invalid_enrolment"},
		"case variant":  {`{"patientId":"pt-1","evidence":"passport","IAL":"IAL2"}`, 400, "invalid_enrolment"},
		"no patient":    {map[string]any{"evidence": "passport", "ial": "IAL2"}, 400, "invalid_enrolment"},
		"IAL1":          {map[string]any{"patientId": "pt-1", "evidence": "passport", "ial": "IAL1"}, 400, "invalid_enrolment"},
		"evidence":      {map[string]any{"patientId": "pt-1", "evidence": "utility-bill", "ial": "IAL2"}, 400, "invalid_enrolment"},
		"patient":       {map[string]any{"patientId": "pt-404", "evidence": "passport", "ial": "IAL2"}, 404, "not_found"},
		"bad id":        {map[string]any{"patientId": "../x", "evidence": "passport", "ial": "IAL2"}, 400, "invalid_enrolment"},
		"ward relation": {map[string]any{"name": "Gil", "evidence": "passport", "ial": "IAL2", "wards": []any{map[string]any{"patientId": "pt-kid", "relationship": "FRIEND"}}}, 400, "invalid_enrolment"},
	} {
		if st, b, _ := e.do(t, apiReq{method: "POST", path: "/v1/enrolments", token: e.s.Token, body: tc.body}); st != tc.st || outcomeCode(t, b) != tc.code {
			t.Errorf("%s: %d %s, want %d %s", name, st, b, tc.st, tc.code)
		}
	}
	st, b, h := e.do(t, apiReq{method: "POST", path: "/v1/enrolments", token: e.s.Token, body: good})
	var created httpapi.EnrolmentCreated
	if st != 201 || json.Unmarshal(b, &created) != nil || len(created.Code) != 14 || !strings.HasPrefix(created.QRSVG, "<svg") ||
		created.SignupURL != e.base+"/account/signup#code="+created.Code || h.Get("Location") != "/v1/enrolments/"+created.Enrolment.ID ||
		created.Enrolment.IAL != identity.IALSystem+"/IAL2" || !created.Enrolment.CodeOpen || created.Enrolment.Name != "Maria Garcia" ||
		!strings.HasSuffix(created.Enrolment.CheckedBy, " (desk 3)") || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d %s", st, b)
	}
	id := created.Enrolment.ID
	var v httpapi.EnrolmentView
	st, b, _ = e.do(t, apiReq{method: "GET", path: "/v1/enrolments/" + id, token: e.s.Token})
	if st != 200 || json.Unmarshal(b, &v) != nil || v.PatientID != "pt-1" || !v.CodeOpen {
		t.Fatalf("get: %d %s", st, b)
	}
	if bytes.Contains(b, []byte(created.Code)) {
		t.Fatal("GET shows the code")
	}
	// Withdraw the code: it no longer redeems.
	if st, b, _ := e.do(t, apiReq{method: "DELETE", path: "/v1/enrolments/" + id, token: e.s.Token}); st != 204 {
		t.Fatalf("revoke code: %d %s", st, b)
	}
	if _, _, err := e.ids.BeginEnrolFor(ctx, identity.PatientsOnly, created.Code, "phone"); identity.CodeOf(err) != identity.CodeInvalidCode {
		t.Fatalf("withdrawn code: %v", err)
	}
	// A new code, a passkey, then the passkey revoked.
	_, b, _ = e.do(t, apiReq{method: "POST", path: "/v1/enrolments", token: e.s.Token, body: good})
	_ = json.Unmarshal(b, &created)
	e.session(t, created.Code)
	_, b, _ = e.do(t, apiReq{method: "GET", path: "/v1/enrolments/" + id, token: e.s.Token})
	if json.Unmarshal(b, &v) != nil || len(v.Passkeys) != 1 || v.CodeOpen {
		t.Fatalf("after sign-up: %s", b)
	}
	if st, _, _ := e.do(t, apiReq{method: "DELETE", path: "/v1/enrolments/" + id + "/passkeys/" + v.Passkeys[0].ID, token: narrow}); st != 403 {
		t.Fatalf("revoke passkey without the scope: %d", st)
	}
	if st, b, _ := e.do(t, apiReq{method: "DELETE", path: "/v1/enrolments/" + id + "/passkeys/" + v.Passkeys[0].ID, token: e.s.Token}); st != 204 {
		t.Fatalf("revoke passkey: %d %s", st, b)
	}
	if st, _, _ := e.do(t, apiReq{method: "DELETE", path: "/v1/enrolments/" + id + "/passkeys/" + v.Passkeys[0].ID, token: e.s.Token}); st != 404 {
		t.Fatalf("revoke passkey twice: %d", st)
	}
	// Guardians: Maria is linked to pt-kid; a guardian-only account too.
	st, b, _ = e.do(t, apiReq{method: "POST", path: "/v1/enrolments/" + id + "/wards", token: e.s.Token, body: map[string]any{"patientId": "pt-kid", "relationship": "MTH"}})
	var ward identity.Ward
	if st != 201 || json.Unmarshal(b, &ward) != nil || ward.Patient != "pt-kid" || !strings.HasPrefix(ward.RelatedPerson, "rp-") {
		t.Fatalf("link ward: %d %s", st, b)
	}
	st, b, _ = e.do(t, apiReq{method: "POST", path: "/v1/enrolments", token: e.s.Token, body: map[string]any{"name": "Gil Guardian", "evidence": "driving-licence", "ial": "IAL1.4",
		"wards": []any{map[string]any{"patientId": "pt-kid", "relationship": "GUARD"}}}})
	var g httpapi.EnrolmentCreated
	if st != 201 || json.Unmarshal(b, &g) != nil || g.Enrolment.PatientID != "" || len(g.Enrolment.Wards) != 1 {
		t.Fatalf("guardian: %d %s", st, b)
	}
	var list struct{ Enrolments []httpapi.EnrolmentView }
	if st, b, _ := e.do(t, apiReq{method: "GET", path: "/v1/enrolments?patientId=pt-kid", token: e.s.Token}); st != 200 || json.Unmarshal(b, &list) != nil || len(list.Enrolments) != 2 {
		t.Fatalf("list of pt-kid: %d %s", st, b)
	}
	if st, b, _ := e.do(t, apiReq{method: "DELETE", path: "/v1/enrolments/" + id + "/wards/pt-kid", token: e.s.Token}); st != 204 {
		t.Fatalf("unlink: %d %s", st, b)
	}
	// Disable.
	if st, _, _ := e.do(t, apiReq{method: "DELETE", path: "/v1/enrolments/" + id + "/account", token: e.s.Token}); st != 204 {
		t.Fatalf("disable: %d", st)
	}
	if _, b, _ := e.do(t, apiReq{method: "GET", path: "/v1/enrolments/" + id, token: e.s.Token}); json.Unmarshal(b, &v) != nil || !v.Disabled {
		t.Fatalf("after disable: %s", b)
	}
	// Staff accounts are not enrolments.
	staff, scode, _ := e.ids.AddAccount(ctx, "Dana Desk", identity.RoleDesk)
	if st, _, _ := e.do(t, apiReq{method: "DELETE", path: "/v1/enrolments/" + staff.ID + "/account", token: e.s.Token}); st != 404 {
		t.Fatalf("disabling a staff account through the API: %d", st)
	}
	// A desk session: reads freely, writes with its CSRF token and Origin.
	ses := e.session(t, scode)
	if st, _, _ := e.do(t, apiReq{method: "GET", path: "/v1/enrolments?patientId=pt-1", cookie: ses.Token()}); st != 200 {
		t.Fatalf("desk session GET: %d", st)
	}
	if st, b, _ := e.do(t, apiReq{method: "POST", path: "/v1/enrolments", cookie: ses.Token(), body: good, origin: true}); st != 403 || outcomeCode(t, b) != "csrf_rejected" {
		t.Fatalf("desk session without CSRF: %d %s", st, b)
	}
	if st, b, _ := e.do(t, apiReq{method: "POST", path: "/v1/enrolments", cookie: ses.Token(), body: good, csrf: ses.CSRF}); st != 403 || outcomeCode(t, b) != "csrf_rejected" {
		t.Fatalf("desk session without Origin: %d %s", st, b)
	}
	if st, b, _ := e.do(t, apiReq{method: "POST", path: "/v1/enrolments", cookie: ses.Token(), body: good, csrf: ses.CSRF, origin: true}); st != 201 {
		t.Fatalf("desk session POST: %d %s", st, b)
	}
	// A patient's session is not staff.
	pses := e.session(t, g.Code)
	if st, b, _ := e.do(t, apiReq{method: "GET", path: "/v1/enrolments?patientId=pt-kid", cookie: pses.Token()}); st != 403 || outcomeCode(t, b) != "forbidden" {
		t.Fatalf("patient session: %d %s", st, b)
	}
	// The audit trail names the token, never the code or names.
	evs, _ := e.s.Issuer.Store().AuditLog(ctx, 200)
	found := false
	for _, ev := range evs {
		if ev.Action == "enrol" && strings.HasPrefix(ev.Actor, "token:") {
			found = true
		}
		if strings.Contains(ev.Detail, "Maria") || strings.Contains(ev.Detail, created.Code) {
			t.Fatalf("audit event with PHI or a code: %+v", ev)
		}
	}
	if !found {
		t.Fatal("no enrol event by the token")
	}
}
