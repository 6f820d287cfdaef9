package desk_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/issuer/identity"
)

var stateRe = regexp.MustCompile(`class="state-([a-z]+)"`)

// states returns the card states on the patient page, oldest card first.
func states(t *testing.T, b *browser, pid string) []string {
	t.Helper()
	st, page, _ := b.do("GET", "/desk/patient?id="+pid, "", nil, false)
	if st != 200 {
		t.Fatalf("patient page: %d", st)
	}
	var out []string
	for _, m := range stateRe.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestDeskFindAndCardStates: search by name prefix and birth date, and the
// patient page's card states after a revocation (REV-5 timestamp form) and
// a re-issue: valid -> revoked -> superseded + valid.
func TestDeskFindAndCardStates(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	_, dcode, _ := e.ids.AddAccount(ctx, "Dana Desk", identity.RoleDesk)
	_, scode, _ := e.ids.AddAccount(ctx, "Sam Supervisor", identity.RoleSupervisor)
	dana, sam := e.browser(), e.browser()
	if dana.enrol(dcode) != 200 || sam.enrol(scode) != 200 {
		t.Fatal("enrol")
	}
	if st, _ := dana.form("/desk/issue", goodForm(dana.csrf()), true); st != 201 {
		t.Fatalf("issue: %d", st)
	}
	for _, tc := range []struct {
		q     url.Values
		found bool
	}{
		{url.Values{"family": {"GARC"}}, true},
		{url.Values{"given": {"elena"}, "birthDate": {"1984-07-15"}}, true},
		{url.Values{"family": {"garcia"}, "given": {"m"}, "birthDate": {"1984-07-15"}}, true},
		{url.Values{"family": {"garc"}, "birthDate": {"1984-07-16"}}, false},
		{url.Values{"family": {"arcia"}}, false},
		{url.Values{"family": {"%"}}, false},
	} {
		st, page, _ := dana.do("GET", "/desk/find?"+tc.q.Encode(), "", nil, false)
		has := strings.Contains(page, `href="/desk/patient?id=pt-2001"`) && strings.Contains(page, "Maria Elena Garcia")
		if st != 200 || has != tc.found || (!tc.found && !strings.Contains(page, "No patient found.")) {
			t.Errorf("find %s: %d found=%v, want %v", tc.q.Encode(), st, has, tc.found)
		}
	}
	for _, q := range []string{"", "family=+", "birthDate=15.07.1984"} {
		if st, page, _ := dana.do("GET", "/desk/find?"+q, "", nil, false); st != 400 || !strings.Contains(page, `role="alert"`) {
			t.Errorf("find %q: %d, want 400 with a message", q, st)
		}
	}
	if got := strings.Join(states(t, dana, "pt-2001"), ","); got != "valid" {
		t.Fatalf("after issue: %s", got)
	}
	if st, _ := sam.form("/desk/revoke", url.Values{"csrf": {sam.csrf()}, "patientId": {"pt-2001"}}, true); st != 200 {
		t.Fatalf("revoke: %d", st)
	}
	if got := strings.Join(states(t, dana, "pt-2001"), ","); got != "revoked" {
		t.Fatalf("after revoke: %s", got)
	}
	if st, _ := dana.form("/desk/issue", goodForm(dana.csrf()), true); st != 201 {
		t.Fatalf("re-issue: %d", st)
	}
	if got := strings.Join(states(t, dana, "pt-2001"), ","); got != "superseded,valid" {
		t.Fatalf("after re-issue: %s", got)
	}
}
