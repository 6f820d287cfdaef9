package authz

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	cedar "github.com/cedar-policy/cedar-go"

	"github.com/healthcards/healthcards/errcode"
	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/issuer/store/memstore"
)

var testNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

func testEngine(t testing.TB, ps *cedar.PolicySet) (*Engine, store.Store) {
	t.Helper()
	st := memstore.New()
	ctx := context.Background()
	rs := []store.Resource{
		{Type: "CareTeam", ID: "ct1", JSON: json.RawMessage(`{"resourceType":"CareTeam","status":"active","participant":[{"member":{"reference":"https://ehr.example/fhir/Practitioner/prA"}}]}`)},
		{Type: "RelatedPerson", ID: "rp1", JSON: json.RawMessage(`{"resourceType":"RelatedPerson","patient":{"reference":"Patient/kid"},"relationship":[{"coding":[{"code":"MTH"}]}]}`)},
	}
	if err := st.PutResources(ctx, "kid", json.RawMessage(`{"resourceType":"Patient","id":"kid","birthDate":"2016-06-16"}`), rs); err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{Source: issuer.StoreSource{Store: st}, Audit: st, Policies: ps, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return e, st
}

func practitioner(id string) *auth.Principal {
	return &auth.Principal{Kind: "jwt", ID: "u", FHIRUser: "Practitioner/" + id, Scopes: []string{"user/*.rs"}}
}

func TestDefaultPoliciesValidate(t *testing.T) {
	ps, err := DefaultPolicySet()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ps.Map()); n < 10 {
		t.Fatalf("%d default policies", n)
	}
}

func TestInvalidPoliciesAreRefused(t *testing.T) {
	for name, src := range map[string]string{
		"syntax":          `@id("a") permit (principal, action, resource`,
		"unknown attr":    `@id("a") permit (principal is Patient, action == Action::"issue", resource is Patient) when { resource.age > 3 };`,
		"unknown action":  `@id("a") permit (principal, action == Action::"read", resource);`,
		"unknown type":    `@id("a") permit (principal is Nurse, action, resource);`,
		"type mismatch":   `@id("a") permit (principal is LabSystem, action, resource) when { principal.scopes == "cards:issue" };`,
		"no id":           `permit (principal, action, resource);`,
		"duplicate id":    `@id("a") permit (principal, action, resource); @id("a") forbid (principal, action, resource);`,
		"wrong appliesTo": `@id("a") permit (principal is CapabilityHolder, action == Action::"issue", resource is Patient);`,
	} {
		if _, err := ValidatePolicies(map[string][]byte{"p.cedar": []byte(src)}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := ValidatePolicies(map[string][]byte{}); err == nil {
		t.Error("an empty policy set was accepted")
	}
}

func TestForbidWinsAndErrorsDeny(t *testing.T) {
	ps, err := ValidatePolicies(map[string][]byte{"p.cedar": []byte(`
@id("everyone") permit (principal, action, resource);
@id("no-prB") forbid (principal == Practitioner::"prB", action, resource);
`)})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := testEngine(t, ps)
	ctx := context.Background()
	if d := e.Authorize(ctx, practitioner("prA"), ActionIssue, Target{Patient: "kid"}); !d.Allow || strings.Join(d.Policies, ",") != "everyone" {
		t.Fatalf("prA: %+v", d)
	}
	d := e.Authorize(ctx, practitioner("prB"), ActionIssue, Target{Patient: "kid"})
	if d.Allow || strings.Join(d.Policies, ",") != "no-prB" || errcode.CodeOf(d.Err) != issuer.CodeForbidden {
		t.Fatalf("prB: %+v", d)
	}
	// A forbid that fails to evaluate (Patient has no "patient") denies
	// instead of being skipped. Built without validation on purpose.
	bad, err := cedar.NewPolicySetFromBytes("bad.cedar", []byte(`permit (principal, action, resource);
forbid (principal, action, resource) when { resource.patient.id == "x" };`))
	if err != nil {
		t.Fatal(err)
	}
	e2, _ := testEngine(t, bad)
	if d := e2.Authorize(ctx, practitioner("prA"), ActionIssue, Target{Patient: "kid"}); d.Allow {
		t.Fatalf("an erroring forbid allowed: %+v", d)
	}
}

func TestDefaultDecisions(t *testing.T) {
	e, st := testEngine(t, nil)
	ctx := context.Background()
	mom := &auth.Principal{Kind: "jwt", ID: "m", FHIRUser: "RelatedPerson/rp1", Scopes: []string{"user/*.rs"}}
	for _, c := range []struct {
		name string
		p    *auth.Principal
		a    Action
		t    Target
		want bool
		pol  string
	}{
		{"care team by absolute reference", practitioner("prA"), ActionIssue, Target{Patient: "kid"}, true, "care-team"},
		{"off the team", practitioner("prB"), ActionIssue, Target{Patient: "kid"}, false, ""},
		{"mother of a minor, the day before 10", mom, ActionShare, Target{Patient: "kid"}, true, "guardian-of-minor"},
		{"mother may not revoke", mom, ActionRevoke, Target{Patient: "kid"}, false, ""},
		{"capability download", nil, ActionDownload, Target{Patient: "kid", Card: "c1"}, true, "card-capability"},
		{"capability may not issue", nil, ActionIssue, Target{Patient: "kid"}, false, ""},
		{"lab revoke by rid", &auth.Principal{Kind: "token", ID: "t", Scopes: []string{auth.ScopeCardsRevoke}}, ActionRevoke, Target{Card: "rid1"}, true, "lab-revoke"},
		{"lab without the scope", &auth.Principal{Kind: "token", ID: "t", Scopes: []string{auth.ScopeCardsIssue}}, ActionRevoke, Target{Card: "rid1"}, false, ""},
		{"lab scope in a SMART token is not a lab scope", &auth.Principal{Kind: "jwt", ID: "x", Scopes: []string{auth.ScopeCardsRevoke}}, ActionRevoke, Target{Patient: "kid"}, false, ""},
		{"invalid patient id", practitioner("prA"), ActionIssue, Target{Patient: "../x"}, false, ""},
	} {
		d := e.Authorize(ctx, c.p, c.a, c.t)
		if d.Allow != c.want || (c.pol != "" && strings.Join(d.Policies, ",") != c.pol) {
			t.Errorf("%s: allow=%v policies=%v reason=%q", c.name, d.Allow, d.Policies, d.Reason)
		}
		if d.Allow && d.Filter() != nil {
			e.Record(ctx, d)
		}
	}
	evs, err := st.AuditLog(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 10 {
		t.Fatalf("%d audit events, want one per decision", len(evs))
	}
	for _, ev := range evs {
		if strings.Contains(ev.Detail, "kid") || !strings.HasPrefix(ev.Action, "authz.") || !strings.Contains(ev.Detail, "decision=") {
			t.Errorf("audit event %+v", ev)
		}
	}
}

func TestAgeOfMajorityIsConfigurable(t *testing.T) {
	_, st := testEngine(t, nil)
	mom := &auth.Principal{Kind: "jwt", ID: "m", FHIRUser: "RelatedPerson/rp1", Scopes: []string{"user/*.rs"}}
	for _, c := range []struct {
		majority int
		want     bool
	}{{10, true}, {9, false}, {0, true}} {
		e, err := New(Config{Source: issuer.StoreSource{Store: st}, AgeOfMajority: c.majority, Now: func() time.Time { return testNow }})
		if err != nil {
			t.Fatal(err)
		}
		if d := e.Authorize(context.Background(), mom, ActionIssue, Target{Patient: "kid"}); d.Allow != c.want {
			t.Errorf("majority %d: allow=%v (%s)", c.majority, d.Allow, d.Reason)
		}
	}
	if _, err := New(Config{Source: issuer.StoreSource{Store: st}, AgeOfMajority: -1}); err == nil {
		t.Error("negative age of majority accepted")
	}
	if _, err := New(Config{Source: issuer.StoreSource{Store: st}, SensitiveCodes: map[string]string{"nosystem": "HIV"}}); err == nil {
		t.Error("sensitive code without a system accepted")
	}
}

// BenchmarkAuthorize is one issue decision for a practitioner on the care
// team: relations read from an in-memory store, Cedar evaluation of the
// default policy set, the card filter prepared (issue 12; compare with
// issuer's BenchmarkIssueCard).
func BenchmarkAuthorize(b *testing.B) {
	e, _ := testEngine(b, nil)
	e.audit = nil
	ctx := context.Background()
	p := practitioner("prA")
	b.ReportAllocs()
	for b.Loop() {
		if d := e.Authorize(ctx, p, ActionIssue, Target{Patient: "kid"}); !d.Allow {
			b.Fatal(d.Reason)
		}
	}
}

// BenchmarkCardFilter is the per-card part of a decision: one lab card
// with a granular scope and a consent check.
func BenchmarkCardFilter(b *testing.B) {
	e, _ := testEngine(b, nil)
	e.audit = nil
	p := &auth.Principal{Kind: "jwt", ID: "u", FHIRUser: "Practitioner/prA", Scopes: []string{"user/Observation.rs?category=laboratory"}}
	d := e.Authorize(context.Background(), p, ActionIssue, Target{Patient: "kid"})
	keep := d.Filter()
	c := issuer.CardContent{Types: []string{"Observation", "Organization", "Patient"}, Clinical: []issuer.ContentResource{{Type: "Observation", ID: "o1", Date: testNow,
		Codings: []issuer.Coding{{System: "http://loinc.org", Code: "94500-6"}},
		JSON:    json.RawMessage(`{"resourceType":"Observation","id":"o1","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},"subject":{"reference":"Patient/kid"},"effectiveDateTime":"2026-02-20","performer":[{"reference":"Organization/org1"}],"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009"}]}}`)}}}
	b.ReportAllocs()
	for b.Loop() {
		if !keep(c) {
			b.Fatal("card left out")
		}
	}
}

// Relations come from an upstream FHIR server too (--upstream-fhir): the
// CareTeam and the Consent are read by patient search.
func TestRelationsFromUpstreamFHIR(t *testing.T) {
	bundle := func(rs ...string) string {
		var es []string
		for _, r := range rs {
			es = append(es, `{"resource":`+r+`,"search":{"mode":"match"}}`)
		}
		return `{"resourceType":"Bundle","type":"searchset","entry":[` + strings.Join(es, ",") + `]}`
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		switch {
		case r.URL.Path == "/fhir/Patient/p1":
			w.Write([]byte(`{"resourceType":"Patient","id":"p1","birthDate":"1970-01-01"}`))
		case r.URL.Path == "/fhir/CareTeam" && r.URL.Query().Get("patient") == "p1":
			w.Write([]byte(bundle(
				`{"resourceType":"CareTeam","id":"ct1","status":"active","subject":{"reference":"Patient/p1"},"participant":[{"member":{"reference":"Practitioner/prA"}}]}`,
				`{"resourceType":"CareTeam","id":"ct2","status":"active","subject":{"reference":"Patient/other"},"participant":[{"member":{"reference":"Practitioner/prB"}}]}`)))
		case r.URL.Path == "/fhir/Consent":
			w.Write([]byte(bundle()))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	e, err := New(Config{Source: &issuer.FHIRSource{BaseURL: srv.URL + "/fhir", Client: srv.Client()}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if d := e.Authorize(ctx, practitioner("prA"), ActionIssue, Target{Patient: "p1"}); !d.Allow {
		t.Fatalf("prA on the upstream care team: %s", d.Reason)
	}
	// A CareTeam of another patient in the search answer is not trusted.
	if d := e.Authorize(ctx, practitioner("prB"), ActionIssue, Target{Patient: "p1"}); d.Allow {
		t.Fatal("prB allowed from another patient's CareTeam")
	}
}
