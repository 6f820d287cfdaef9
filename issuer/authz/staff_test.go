package authz

import (
	"context"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/errcode"
	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/auth"
)

// The staff decision table of the default policies: each role includes the
// one before; anything else (a patient's own account, an unknown role, an
// empty account id) gets nothing, card-capability included.
func TestStaffDecisionTable(t *testing.T) {
	e, st := testEngine(t, nil)
	ctx := context.Background()
	allow := map[string][]Action{
		"desk":       {ActionIssue, ActionPrint, ActionShare, ActionView, ActionEnrol},
		"supervisor": {ActionIssue, ActionPrint, ActionShare, ActionView, ActionEnrol, ActionRevoke, ActionCorrect, ActionAudit},
		"admin":      Actions,
		"patient":    nil,
		"":           nil,
		"Admin":      nil,
	}
	targets := []Target{{}, {Patient: "kid"}, {Patient: "kid", Card: "c1"}}
	for role, ok := range allow {
		for _, a := range Actions {
			if a == ActionDownload {
				continue // not a desk action; covered below for capability only
			}
			want := false
			for _, x := range ok {
				want = want || x == a
			}
			for _, tg := range targets {
				d := e.AuthorizeStaff(ctx, Staff{ID: "s1", Role: role}, a, tg)
				if d.Allow != want {
					t.Errorf("role %q %s %+v: allow=%v (%s %v), want %v", role, a, tg, d.Allow, d.Reason, d.Policies, want)
				}
				if !d.Allow && errcode.CodeOf(d.Err) != issuer.CodeForbidden {
					t.Errorf("role %q %s: code %s", role, a, errcode.CodeOf(d.Err))
				}
				if d.Principal != `Staff::"s1"` {
					t.Errorf("principal %s", d.Principal)
				}
			}
		}
	}
	// A staff account without a staff role is refused by the forbid even
	// where card-capability permits anyone.
	d := e.AuthorizeStaff(ctx, Staff{ID: "p1", Role: "patient"}, ActionPrint, Target{Patient: "kid", Card: "c1"})
	if d.Allow || strings.Join(d.Policies, ",") != "staff-without-role" {
		t.Fatalf("patient role printing: %v %v", d.Allow, d.Policies)
	}
	if d := e.AuthorizeStaff(ctx, Staff{Role: "admin"}, ActionAudit, Target{}); d.Allow {
		t.Fatal("an empty account id was allowed")
	}
	if d := e.AuthorizeStaff(ctx, Staff{ID: "s1", Role: "admin"}, "drop", Target{}); d.Allow {
		t.Fatal("an unknown action was allowed")
	}
	if d := e.AuthorizeStaff(ctx, Staff{ID: "s1", Role: "admin"}, ActionView, Target{Patient: "../x"}); d.Allow || errcode.CodeOf(d.Err) != issuer.CodeNotFound {
		t.Fatalf("bad patient id: %v %v", d.Allow, d.Err)
	}
	// Desk actions are not API actions: no token principal may correct,
	// read the audit trail or manage staff.
	for _, a := range []Action{ActionCorrect, ActionAudit, ActionManageStaff, ActionManageTokens} {
		p := &auth.Principal{Kind: "token", ID: "lab", Scopes: auth.AllLabScopes}
		if d := e.Authorize(ctx, p, a, Target{Patient: "kid"}); d.Allow {
			t.Errorf("lab system allowed %s", a)
		}
	}
	// Enrolment (issue 13): a lab token needs enrolments:write; a
	// patient's own SMART token never enrols.
	for _, tc := range []struct {
		p    *auth.Principal
		want bool
	}{
		{&auth.Principal{Kind: "token", ID: "lab", Scopes: []string{auth.ScopeEnrolments}}, true},
		{&auth.Principal{Kind: "token", ID: "lab", Scopes: []string{auth.ScopeCardsIssue, auth.ScopeCardsRevoke, auth.ScopeResultsWrite}}, false},
		{&auth.Principal{Kind: "jwt", ID: "kid", Patient: "kid", FHIRUser: "Patient/kid", Scopes: []string{"patient/*.read", auth.ScopeEnrolments}}, false},
	} {
		if d := e.Authorize(ctx, tc.p, ActionEnrol, Target{Patient: "kid"}); d.Allow != tc.want {
			t.Errorf("enrol by %+v: %v (%s), want %v", tc.p, d.Allow, d.Reason, tc.want)
		}
	}
	// Every decision is in the audit trail, as staff:ID, without the
	// patient id.
	e.AuthorizeStaff(ctx, Staff{ID: "sup", Role: "supervisor"}, ActionAudit, Target{})
	e.AuthorizeStaff(ctx, Staff{ID: "dsk", Role: "desk"}, ActionRevoke, Target{Patient: "kid", Card: "c1"})
	evs, err := st.AuditLog(ctx, 2)
	if err != nil || len(evs) != 2 {
		t.Fatal(len(evs), err)
	}
	if ev := evs[0]; ev.Actor != "staff:dsk" || ev.Action != "authz.revoke" || !strings.Contains(ev.Detail, "decision=deny") ||
		strings.Contains(ev.Detail, "kid") || !strings.Contains(ev.Detail, "patient="+e.PatientRef("kid")) {
		t.Fatalf("desk revoke event: %+v", ev)
	}
	if ev := evs[1]; ev.Actor != "staff:sup" || ev.Action != "authz.audit" || !strings.Contains(ev.Detail, "decision=allow patient=- policies=staff-supervisor") {
		t.Fatalf("supervisor audit event: %+v", ev)
	}
}

// GET /v1/links/{id} goes through the engine: the creator and the link's
// patient may view it; anyone else, and nobody for a link of no patient
// but its creator, may not.
func TestLinkViewDecisions(t *testing.T) {
	e, _ := testEngine(t, nil)
	ctx := context.Background()
	lab := &auth.Principal{Kind: "token", ID: "lab1", Scopes: []string{auth.ScopeCardsIssue}}
	other := &auth.Principal{Kind: "token", ID: "lab2", Scopes: auth.AllLabScopes}
	kid := &auth.Principal{Kind: "jwt", ID: "k", Patient: "kid", Scopes: []string{"patient/*.rs"}}
	stranger := &auth.Principal{Kind: "jwt", ID: "x", Patient: "someone", Scopes: []string{"patient/*.rs"}}
	for _, c := range []struct {
		name string
		p    *auth.Principal
		t    Target
		want bool
	}{
		{"creator", lab, Target{Patient: "kid", Link: "L1", LinkCreator: lab.Actor()}, true},
		{"creator, no patient", lab, Target{Link: "L1", LinkCreator: lab.Actor()}, true},
		{"other lab", other, Target{Patient: "kid", Link: "L1", LinkCreator: lab.Actor()}, false},
		{"the patient", kid, Target{Patient: "kid", Link: "L1", LinkCreator: lab.Actor()}, true},
		{"another patient", stranger, Target{Patient: "kid", Link: "L1", LinkCreator: lab.Actor()}, false},
		{"patient, link of no patient", kid, Target{Link: "L1", LinkCreator: lab.Actor()}, false},
		{"no creator recorded", other, Target{Link: "L1"}, false},
		{"capability holder", nil, Target{Patient: "kid", Link: "L1", LinkCreator: ""}, false},
	} {
		if d := e.Authorize(ctx, c.p, ActionView, c.t); d.Allow != c.want {
			t.Errorf("%s: allow=%v (%s), want %v", c.name, d.Allow, d.Reason, c.want)
		}
	}
}

// One desk decision (a supervisor reading the audit trail, on the lab):
// Cedar evaluation of the default policies, no FHIR data read; the audit
// write is left out, as in BenchmarkAuthorize.
func BenchmarkAuthorizeStaff(b *testing.B) {
	e, _ := testEngine(b, nil)
	e.audit = nil
	ctx := context.Background()
	s := Staff{ID: "acct-1", Role: "supervisor"}
	b.ReportAllocs()
	for b.Loop() {
		if d := e.AuthorizeStaff(ctx, s, ActionAudit, Target{}); !d.Allow {
			b.Fatal(d.Reason)
		}
	}
}
