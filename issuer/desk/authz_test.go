package desk_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/internal/identitytest"
	"github.com/healthcards/healthcards/issuer/desk"
	"github.com/healthcards/healthcards/issuer/identity"
)

// The staff decision table (issue 12), run against the real desk handlers:
// every page and action goes through issuer/authz (principal Staff with
// its role), so a denial is 403 from the engine and is in the audit trail
// as authz.<action> with the deciding policies.
func TestDeskStaffDecisionTable(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	browsers := map[identity.Role]*browser{}
	ids := map[identity.Role]string{}
	for _, r := range []identity.Role{identity.RoleDesk, identity.RoleSupervisor, identity.RoleAdmin} {
		a, code, err := e.ids.AddAccount(ctx, string(r)+" account", r)
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		if st := b.enrol(code); st != 200 {
			t.Fatalf("enrol %s: %d", r, st)
		}
		browsers[r], ids[r] = b, a.ID
	}
	// Issue a card first so that revocation and the patient page have data.
	if st, _ := browsers[identity.RoleDesk].form("/desk/issue", goodForm(browsers[identity.RoleDesk].csrf()), true); st != http.StatusCreated {
		t.Fatalf("desk issue: %d", st)
	}
	type row struct {
		method, path string
		form         url.Values
		allowed      []identity.Role
	}
	all := []identity.Role{identity.RoleDesk, identity.RoleSupervisor, identity.RoleAdmin}
	sup := []identity.Role{identity.RoleSupervisor, identity.RoleAdmin}
	rows := []row{
		{"GET", "/desk/", nil, all},
		{"GET", "/desk/issue", nil, all},
		{"GET", "/desk/patient?id=pt-2001", nil, all},
		{"GET", "/desk/audit", nil, sup},
		{"GET", "/desk/audit.csv", nil, sup},
		// A correction with no observation is refused by the handler (not
		// 403) once the engine allows it.
		{"POST", "/desk/correct", url.Values{"patientId": {"pt-2001"}, "observation": {"none"}, "result": {"detected"}}, sup},
		{"POST", "/desk/revoke", url.Values{"patientId": {"pt-2001"}}, sup},
		// Enrolment (issue 13): desk and up.
		{"POST", "/desk/enrolments", url.Values{"patientId": {"pt-2001"}, "evidence": {"passport"}, "ial": {"IAL2"}}, all},
	}
	for _, rw := range rows {
		for _, r := range all {
			b := browsers[r]
			want := false
			for _, a := range rw.allowed {
				want = want || a == r
			}
			var st int
			var body string
			if rw.method == "GET" {
				st, body, _ = b.do("GET", rw.path, "", nil, false)
			} else {
				v := url.Values{"csrf": {b.csrf()}}
				for k, vs := range rw.form {
					v[k] = vs
				}
				st, body = b.form(rw.path, v, true)
			}
			denied := st == http.StatusForbidden && strings.Contains(body, "does not allow this")
			if denied == want {
				t.Errorf("%s %s as %s: %d (allowed=%v)", rw.method, rw.path, r, st, want)
			}
		}
	}
	// The decisions are in the audit trail with the policy that made them
	// (read as the admin, whose account may read it).
	_, csvText, _ := browsers[identity.RoleAdmin].do("GET", "/desk/audit.csv", "", nil, false)
	for _, want := range []string{
		"staff:" + ids[identity.RoleDesk] + ",authz.revoke,",
		"staff:" + ids[identity.RoleSupervisor] + ",authz.revoke,",
	} {
		if !strings.Contains(csvText, want) {
			t.Errorf("audit CSV lacks %q", want)
		}
	}
	var deskDeny, supAllow bool
	for _, line := range strings.Split(csvText, "\n") {
		deskDeny = deskDeny || strings.Contains(line, "staff:"+ids[identity.RoleDesk]+",authz.audit,") && strings.Contains(line, "decision=deny")
		supAllow = supAllow || strings.Contains(line, "staff:"+ids[identity.RoleSupervisor]+",authz.audit,") && strings.Contains(line, "decision=allow") && strings.Contains(line, "staff-supervisor")
	}
	if !deskDeny || !supAllow {
		t.Errorf("audit CSV: desk deny %v, supervisor allow %v", deskDeny, supAllow)
	}
	if strings.Contains(csvText, "pt-2001") {
		t.Error("the audit trail carries the patient id")
	}
}

// A patient's own account (issue 13) never gets a desk page: its code is
// not redeemed at /desk/enrol, and its session, even in the desk's
// cookie, is refused before the decision point (which would refuse it
// too: staff-without-role, TestStaffDecisionTable in issuer/authz).
func TestDeskPatientAccountGetsNothing(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	_, code, err := e.ids.AddAccount(ctx, "Pat Patient", identity.RolePatient)
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	if st := b.enrol(code); st != http.StatusBadRequest {
		t.Fatalf("patient code at /desk/enrol: %d", st)
	}
	ses, err := identitytest.Enrol(ctx, e.ids, identity.PatientsOnly, code, "phone", b.Auth)
	if err != nil {
		t.Fatal(err)
	}
	b.SetCookie(desk.SessionCookie, ses.Token())
	for _, p := range []string{"/desk/", "/desk/issue", "/desk/patient?id=pt-2001", "/desk/audit"} {
		if st, _, h := b.do("GET", p, "", nil, false); st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/desk/signin") {
			t.Errorf("patient session GET %s: %d", p, st)
		}
	}
	if st, _ := b.form("/desk/enrolments", url.Values{"csrf": {ses.CSRF}, "patientId": {"pt-2001"}, "evidence": {"passport"}, "ial": {"IAL2"}}, true); st != http.StatusUnauthorized {
		t.Errorf("patient session POST /desk/enrolments: %d", st)
	}
}

// A disabled account never reaches the decision point: its session is
// refused first, so no authz decision is made or recorded for it.
func TestDeskDisabledAccountNeverReachesEngine(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	a, code, _ := e.ids.AddAccount(ctx, "Sam Supervisor", identity.RoleSupervisor)
	b := e.browser()
	if st := b.enrol(code); st != 200 {
		t.Fatalf("enrol: %d", st)
	}
	csrf := b.csrf()
	decisions := func() int {
		evs, err := e.s.Issuer.Store().AuditLog(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range evs {
			if ev.Actor == "staff:"+a.ID && strings.HasPrefix(ev.Action, "authz.") {
				n++
			}
		}
		return n
	}
	if decisions() == 0 {
		t.Fatal("no decision recorded for the enabled account")
	}
	if err := e.ids.Disable(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	before := decisions()
	if st, _, _ := b.do("GET", "/desk/audit", "", nil, false); st != http.StatusSeeOther {
		t.Errorf("disabled account's page: %d", st)
	}
	if st, _ := b.form("/desk/revoke", url.Values{"csrf": {csrf}, "patientId": {"pt-2001"}}, true); st != http.StatusUnauthorized {
		t.Errorf("disabled account's action: %d", st)
	}
	if after := decisions(); after != before {
		t.Errorf("%d decisions made for a disabled account", after-before)
	}
}
