package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthcards/healthcards/issuer/store"
)

// Run runs the conformance suite. open must return a new, empty store for
// each call; Run closes it. Subtests run in parallel, so open must be safe
// for concurrent use.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Patient", testPatient},
		{"ResourcesOrderAndFilter", testResourcesOrderAndFilter},
		{"ResourcesReplaceSameID", testResourcesReplace},
		{"ResourcesInvalidWritesNothing", testResourcesInvalid},
		{"Card", testCard},
		{"CardConflictWritesNoAudit", testCardConflict},
		{"CardConcurrentSameID", testCardConcurrentSameID},
		{"CardInvalid", testCardInvalid},
		{"RevokeCounterAndLists", testRevoke},
		{"RevokeDedupe", testRevokeDedupe},
		{"RevokeInvalidChangesNothing", testRevokeInvalid},
		{"RevokeConcurrent", testRevokeConcurrent},
		{"Tokens", testTokens},
		{"AuditLog", testAuditLog},
		{"ContextCanceled", testContextCanceled},
		{"ConcurrentMixed", testConcurrentMixed},
		{"FindPatients", testFindPatients},
		{"PatientCards", testPatientCards},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

var t0 = time.Date(2021, 6, 1, 12, 30, 15, 123456000, time.UTC)

func res(typ, id string, date time.Time, body string) store.Resource {
	return store.Resource{Type: typ, ID: id, Date: date, JSON: json.RawMessage(body)}
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func keys(rs []store.Resource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Type+"/"+r.ID)
	}
	return out
}

func testPatient(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.Patient(ctx, "p1")
	wantErr(t, err, store.ErrNotFound, "Patient before any write")

	// Member order and whitespace are kept byte for byte (minification
	// depends on it, MIN-*).
	pat := json.RawMessage(`{"resourceType":"Patient", "name":[{"family":"Anyperson"}],"birthDate":"1951-01-20"}`)
	must(t, s.PutResources(ctx, "p1", pat, nil), "PutResources")
	got, err := s.Patient(ctx, "p1")
	must(t, err, "Patient")
	if !bytes.Equal(got, pat) {
		t.Fatalf("Patient = %s, want %s", got, pat)
	}

	// nil keeps the stored Patient.
	must(t, s.PutResources(ctx, "p1", nil, []store.Resource{res("Observation", "o1", t0, `{"a":1}`)}), "PutResources nil patient")
	got, err = s.Patient(ctx, "p1")
	must(t, err, "Patient after nil")
	if !bytes.Equal(got, pat) {
		t.Fatalf("Patient after nil patient = %s, want %s", got, pat)
	}

	// A new Patient replaces the old one.
	pat2 := json.RawMessage(`{"resourceType":"Patient","id":"2"}`)
	must(t, s.PutResources(ctx, "p1", pat2, nil), "PutResources replace patient")
	got, err = s.Patient(ctx, "p1")
	must(t, err, "Patient after replace")
	if !bytes.Equal(got, pat2) {
		t.Fatalf("Patient after replace = %s, want %s", got, pat2)
	}

	// Resources without a Patient: the Patient stays unknown.
	must(t, s.PutResources(ctx, "p2", nil, []store.Resource{res("Immunization", "i1", t0, `{}`)}), "PutResources p2")
	_, err = s.Patient(ctx, "p2")
	wantErr(t, err, store.ErrNotFound, "Patient p2 without Patient resource")
	rs, err := s.Resources(ctx, "p2", nil, time.Time{})
	must(t, err, "Resources p2")
	if len(rs) != 1 || rs[0].PatientID != "p2" {
		t.Fatalf("Resources p2 = %+v", rs)
	}
}

func testResourcesOrderAndFilter(t *testing.T, s store.Store) {
	ctx := t.Context()
	d1 := t0
	d2 := t0.Add(24 * time.Hour)
	in := []store.Resource{
		res("Observation", "b", d2, `{"resourceType":"Observation","id":"b"}`),
		res("Observation", "a", d2, `{"resourceType":"Observation","id":"a"}`),
		res("Immunization", "z", d2, `{"resourceType":"Immunization","id":"z"}`),
		res("Immunization", "y", d1, `{"resourceType":"Immunization","id":"y"}`),
		res("DiagnosticReport", "u", time.Time{}, `{"resourceType":"DiagnosticReport","id":"u"}`),
		// A date in another zone with nanoseconds: stored as UTC microseconds.
		res("Observation", "c", d1.In(time.FixedZone("x", 5*3600)).Add(789*time.Nanosecond), `{"id":"c"}`),
	}
	before := time.Now().Truncate(time.Microsecond)
	must(t, s.PutResources(ctx, "p1", json.RawMessage(`{"resourceType":"Patient"}`), in), "PutResources")
	after := time.Now()
	must(t, s.PutResources(ctx, "other", nil, []store.Resource{res("Observation", "a", d1, `{"other":true}`)}), "PutResources other")

	all, err := s.Resources(ctx, "p1", nil, time.Time{})
	must(t, err, "Resources all")
	want := []string{"DiagnosticReport/u", "Immunization/y", "Observation/c", "Immunization/z", "Observation/a", "Observation/b"}
	if got := keys(all); !slices.Equal(got, want) {
		t.Fatalf("order = %v, want %v (Date, unknown first, then Type, then ID)", got, want)
	}
	for _, r := range all {
		if r.PatientID != "p1" {
			t.Errorf("%s/%s PatientID = %q", r.Type, r.ID, r.PatientID)
		}
		if r.Updated.Before(before) || r.Updated.After(after) || r.Updated.Location() != time.UTC {
			t.Errorf("%s/%s Updated = %v, want UTC within [%v, %v]", r.Type, r.ID, r.Updated, before, after)
		}
		if r.Type == "Observation" && r.ID == "c" {
			if !r.Date.Equal(d1) || r.Date.Location() != time.UTC {
				t.Errorf("Date = %v, want %v in UTC (microsecond precision)", r.Date, d1)
			}
		}
		if r.Type == "DiagnosticReport" && !r.Date.IsZero() {
			t.Errorf("unknown Date came back as %v", r.Date)
		}
	}
	if got := string(all[4].JSON); got != `{"resourceType":"Observation","id":"a"}` {
		t.Errorf("JSON = %s", got)
	}

	obs, err := s.Resources(ctx, "p1", []string{"Observation"}, time.Time{})
	must(t, err, "Resources Observation")
	if got, want := keys(obs), []string{"Observation/c", "Observation/a", "Observation/b"}; !slices.Equal(got, want) {
		t.Errorf("type filter = %v, want %v", got, want)
	}
	two, err := s.Resources(ctx, "p1", []string{"Immunization", "DiagnosticReport"}, time.Time{})
	must(t, err, "Resources two types")
	if got, want := keys(two), []string{"DiagnosticReport/u", "Immunization/y", "Immunization/z"}; !slices.Equal(got, want) {
		t.Errorf("two-type filter = %v, want %v", got, want)
	}

	// since is inclusive; unknown dates are left out when since is set.
	since, err := s.Resources(ctx, "p1", nil, d2)
	must(t, err, "Resources since d2")
	if got, want := keys(since), []string{"Immunization/z", "Observation/a", "Observation/b"}; !slices.Equal(got, want) {
		t.Errorf("since d2 = %v, want %v", got, want)
	}
	since, err = s.Resources(ctx, "p1", []string{"Observation"}, d1.Add(time.Microsecond))
	must(t, err, "Resources since d1+1µs")
	if got, want := keys(since), []string{"Observation/a", "Observation/b"}; !slices.Equal(got, want) {
		t.Errorf("since d1+1µs = %v, want %v", got, want)
	}
	none, err := s.Resources(ctx, "p1", nil, d2.Add(time.Hour))
	must(t, err, "Resources since later")
	if len(none) != 0 {
		t.Errorf("since after everything = %v", keys(none))
	}
	unknown, err := s.Resources(ctx, "nobody", nil, time.Time{})
	must(t, err, "Resources unknown patient")
	if len(unknown) != 0 {
		t.Errorf("unknown patient = %v", keys(unknown))
	}
	nomatch, err := s.Resources(ctx, "p1", []string{"Condition"}, time.Time{})
	must(t, err, "Resources no match")
	if len(nomatch) != 0 {
		t.Errorf("Condition = %v", keys(nomatch))
	}
}

func testResourcesReplace(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.PutResources(ctx, "p1", nil, []store.Resource{
		res("Observation", "o1", t0, `{"v":1}`),
		res("Immunization", "o1", t0, `{"imm":1}`), // same id, other type: distinct
	}), "PutResources 1")
	first, err := s.Resources(ctx, "p1", []string{"Observation"}, time.Time{})
	must(t, err, "Resources 1")
	time.Sleep(2 * time.Millisecond)
	must(t, s.PutResources(ctx, "p1", nil, []store.Resource{res("Observation", "o1", t0.Add(time.Hour), `{"v":2}`)}), "PutResources 2")
	all, err := s.Resources(ctx, "p1", nil, time.Time{})
	must(t, err, "Resources 2")
	if got, want := keys(all), []string{"Immunization/o1", "Observation/o1"}; !slices.Equal(got, want) {
		t.Fatalf("after replace = %v, want %v", got, want)
	}
	o := all[1]
	if string(o.JSON) != `{"v":2}` || !o.Date.Equal(t0.Add(time.Hour)) {
		t.Errorf("replaced resource = %s date %v", o.JSON, o.Date)
	}
	if !o.Updated.After(first[0].Updated) {
		t.Errorf("Updated did not move: %v then %v", first[0].Updated, o.Updated)
	}
	// The same id twice in one call: the last one wins.
	must(t, s.PutResources(ctx, "p1", nil, []store.Resource{
		res("Observation", "o2", t0, `{"v":"first"}`),
		res("Observation", "o2", t0, `{"v":"last"}`),
	}), "PutResources duplicate in batch")
	obs, err := s.Resources(ctx, "p1", []string{"Observation"}, t0)
	must(t, err, "Resources 3")
	if got, want := keys(obs), []string{"Observation/o2", "Observation/o1"}; !slices.Equal(got, want) {
		t.Fatalf("after batch duplicate = %v, want %v", got, want)
	}
	if string(obs[0].JSON) != `{"v":"last"}` {
		t.Errorf("batch duplicate kept %s, want the last", obs[0].JSON)
	}
}

func testResourcesInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	cases := []struct {
		name    string
		patient string
		pat     json.RawMessage
		res     []store.Resource
	}{
		{"bad JSON in second resource", "p1", nil, []store.Resource{res("Observation", "ok", t0, `{}`), res("Observation", "bad", t0, `{"a":`)}},
		{"bad patient JSON", "p1", json.RawMessage(`not json`), []store.Resource{res("Observation", "ok", t0, `{}`)}},
		{"empty resource type", "p1", nil, []store.Resource{res("", "x", t0, `{}`)}},
		{"empty resource id", "p1", nil, []store.Resource{res("Observation", "", t0, `{}`)}},
		{"empty patient id", "", nil, []store.Resource{res("Observation", "x", t0, `{}`)}},
		{"other patient", "p1", nil, []store.Resource{{PatientID: "p2", Type: "Observation", ID: "x", JSON: json.RawMessage(`{}`)}}},
		{"oversized JSON", "p1", nil, []store.Resource{res("Observation", "big", t0, `"`+strings.Repeat("a", store.MaxJSONBytes)+`"`)}},
		{"id over limit", "p1", nil, []store.Resource{res("Observation", strings.Repeat("i", store.MaxIDBytes+1), t0, `{}`)}},
	}
	for _, c := range cases {
		err := s.PutResources(ctx, c.patient, c.pat, c.res)
		wantErr(t, err, store.ErrInvalid, c.name)
		if strings.Contains(err.Error(), `{"a":`) || strings.Contains(err.Error(), "not json") || strings.Contains(err.Error(), "aaaa") {
			t.Errorf("%s: error quotes the JSON: %v", c.name, err)
		}
	}
	rs, err := s.Resources(ctx, "p1", nil, time.Time{})
	must(t, err, "Resources")
	if len(rs) != 0 {
		t.Errorf("refused writes stored %v", keys(rs))
	}
	_, err = s.Patient(ctx, "p1")
	wantErr(t, err, store.ErrNotFound, "Patient after refused writes")
}

func card(id string) store.IssuedCard {
	return store.IssuedCard{
		ID: id, PatientID: "p1", Kid: "kid1", RID: "rid" + id,
		Types:    []string{"Immunization", "Patient"},
		IssuedAt: t0,
		JWS:      "eyJ.header.payload." + id,
	}
}

func issueEvent(c store.IssuedCard) store.Event {
	return store.Event{Time: t0, Actor: "tok1", Action: "issue", Kid: c.Kid, RID: c.RID, CardTypes: c.Types, Detail: "card " + c.ID}
}

func testCard(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.Card(ctx, "c1")
	wantErr(t, err, store.ErrNotFound, "Card before PutCard")

	c := card("c1")
	c.IssuedAt = t0.In(time.FixedZone("y", -7*3600)).Add(999 * time.Nanosecond)
	must(t, s.PutCard(ctx, c, issueEvent(c)), "PutCard")
	got, err := s.Card(ctx, "c1")
	must(t, err, "Card")
	want := card("c1")
	if got.ID != want.ID || got.PatientID != want.PatientID || got.Kid != want.Kid || got.RID != want.RID ||
		!slices.Equal(got.Types, want.Types) || got.JWS != want.JWS || !got.IssuedAt.Equal(t0) || got.IssuedAt.Location() != time.UTC {
		t.Fatalf("Card = %+v, want %+v", got, want)
	}
	log, err := s.AuditLog(ctx, 10)
	must(t, err, "AuditLog")
	if len(log) != 1 {
		t.Fatalf("audit log has %d events, want 1", len(log))
	}
	ev := log[0]
	if ev.ID == 0 || ev.Action != "issue" || ev.Actor != "tok1" || ev.Kid != "kid1" || ev.RID != "ridc1" ||
		!slices.Equal(ev.CardTypes, want.Types) || ev.Detail != "card c1" || !ev.Time.Equal(t0) {
		t.Fatalf("audit event = %+v", ev)
	}

	// A zero IssuedAt and event Time are set by the store.
	before := time.Now().Truncate(time.Microsecond)
	c2 := card("c2")
	c2.IssuedAt = time.Time{}
	c2.RID = ""
	c2.Types = nil
	ev2 := issueEvent(c2)
	ev2.Time = time.Time{}
	must(t, s.PutCard(ctx, c2, ev2), "PutCard zero times")
	after := time.Now()
	got, err = s.Card(ctx, "c2")
	must(t, err, "Card c2")
	if got.IssuedAt.Before(before) || got.IssuedAt.After(after) || got.RID != "" || len(got.Types) != 0 {
		t.Errorf("Card c2 = %+v", got)
	}
	log, err = s.AuditLog(ctx, 1)
	must(t, err, "AuditLog 2")
	if len(log) != 1 || log[0].Time.Before(before) || log[0].Time.After(after) || log[0].ID <= ev.ID {
		t.Errorf("second event = %+v", log)
	}
}

func testCardConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := card("c1")
	must(t, s.PutCard(ctx, c, issueEvent(c)), "PutCard")
	c2 := card("c1")
	c2.JWS = "other"
	err := s.PutCard(ctx, c2, issueEvent(c2))
	wantErr(t, err, store.ErrConflict, "PutCard same id")
	if strings.Contains(err.Error(), "eyJ") {
		t.Errorf("conflict error quotes the JWS: %v", err)
	}
	got, err := s.Card(ctx, "c1")
	must(t, err, "Card")
	if got.JWS != c.JWS {
		t.Errorf("conflicting PutCard replaced the card")
	}
	log, err := s.AuditLog(ctx, 10)
	must(t, err, "AuditLog")
	if len(log) != 1 {
		t.Errorf("audit log has %d events after a refused PutCard, want 1 (card and event are atomic)", len(log))
	}
}

// testCardConcurrentSameID: of many concurrent PutCards with one id and
// others with fresh ids, exactly one of the same-id ones wins; the rest get
// ErrConflict and leave no audit event, and the fresh ones all succeed.
func testCardConcurrentSameID(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 20
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range 2 * n {
		wg.Go(func() {
			id := "same"
			if i%2 == 1 {
				id = fmt.Sprintf("fresh%d", i)
			}
			c := card(id)
			c.JWS = fmt.Sprintf("jws-%d", i)
			errs[i] = s.PutCard(ctx, c, issueEvent(c))
		})
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case i%2 == 1 && err != nil:
			t.Errorf("PutCard fresh%d: %v", i, err)
		case i%2 == 0 && err == nil:
			if won >= 0 {
				t.Errorf("PutCard same id succeeded twice (%d and %d)", won, i)
			}
			won = i
		case i%2 == 0 && !errors.Is(err, store.ErrConflict):
			t.Errorf("PutCard same id: %v, want ErrConflict", err)
		}
	}
	if won < 0 {
		t.Fatal("no PutCard with the shared id succeeded")
	}
	got, err := s.Card(ctx, "same")
	must(t, err, "Card")
	if got.JWS != fmt.Sprintf("jws-%d", won) {
		t.Errorf("stored JWS %q, want the winner's jws-%d", got.JWS, won)
	}
	log, err := s.AuditLog(ctx, 100)
	must(t, err, "AuditLog")
	if len(log) != n+1 {
		t.Errorf("%d audit events, want %d (one per stored card)", len(log), n+1)
	}
}

func testCardInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	mods := []struct {
		name string
		mod  func(c *store.IssuedCard, ev *store.Event)
	}{
		{"empty id", func(c *store.IssuedCard, ev *store.Event) { c.ID = "" }},
		{"empty jws", func(c *store.IssuedCard, ev *store.Event) { c.JWS = "" }},
		{"jws too large", func(c *store.IssuedCard, ev *store.Event) { c.JWS = strings.Repeat("j", store.MaxJWSBytes+1) }},
		{"empty action", func(c *store.IssuedCard, ev *store.Event) { ev.Action = "" }},
		{"detail too large", func(c *store.IssuedCard, ev *store.Event) { ev.Detail = strings.Repeat("d", store.MaxDetailBytes+1) }},
		{"too many types", func(c *store.IssuedCard, ev *store.Event) { c.Types = make([]string, store.MaxListItems+1) }},
		{"NUL in kid", func(c *store.IssuedCard, ev *store.Event) { c.Kid = "k\x00" }},
	}
	for _, m := range mods {
		c := card("c1")
		ev := issueEvent(c)
		m.mod(&c, &ev)
		wantErr(t, s.PutCard(ctx, c, ev), store.ErrInvalid, m.name)
	}
	_, err := s.Card(ctx, "c1")
	wantErr(t, err, store.ErrNotFound, "Card after refused writes")
	log, err := s.AuditLog(ctx, 10)
	must(t, err, "AuditLog")
	if len(log) != 0 {
		t.Errorf("refused PutCard wrote %d audit events", len(log))
	}
}

func revokeEvent(detail string) store.Event {
	return store.Event{Time: t0, Actor: "tok1", Action: "revoke", Detail: detail}
}

func crl(t *testing.T, s store.Store, kid string) store.CRL {
	t.Helper()
	c, err := s.CRL(t.Context(), kid)
	must(t, err, "CRL "+kid)
	if c.Kid != kid {
		t.Fatalf("CRL(%q).Kid = %q", kid, c.Kid)
	}
	if c.RIDs == nil {
		t.Fatalf("CRL(%q).RIDs is nil, want an empty list (encodes as [])", kid)
	}
	return c
}

func testRevoke(t *testing.T, s store.Store) {
	ctx := t.Context()
	v, err := s.CRLVersion(ctx)
	must(t, err, "CRLVersion")
	if v != 1 {
		t.Fatalf("REV-4: initial counter = %d, want 1", v)
	}
	if c := crl(t, s, "kidA"); c.Ctr != 1 || len(c.RIDs) != 0 {
		t.Fatalf("empty CRL = %+v", c)
	}

	ctr, err := s.Revoke(ctx, []store.RevocationEntry{{Kid: "kidA", Entry: "r2"}, {Kid: "kidA", Entry: "r1.1636977600"}, {Kid: "kidB", Entry: "rb"}}, revokeEvent("first"))
	must(t, err, "Revoke 1")
	if ctr != 2 {
		t.Fatalf("first Revoke returned %d, want 2", ctr)
	}
	ctr, err = s.Revoke(ctx, []store.RevocationEntry{{Kid: "kidA", Entry: "r0"}}, revokeEvent("second"))
	must(t, err, "Revoke 2")
	if ctr != 3 {
		t.Fatalf("second Revoke returned %d, want 3", ctr)
	}
	a := crl(t, s, "kidA")
	if want := []string{"r2", "r1.1636977600", "r0"}; a.Ctr != 3 || !slices.Equal(a.RIDs, want) {
		t.Errorf("CRL kidA = %+v, want ctr 3 rids %v (insertion order)", a, want)
	}
	b := crl(t, s, "kidB")
	if b.Ctr != 3 || !slices.Equal(b.RIDs, []string{"rb"}) {
		t.Errorf("CRL kidB = %+v", b)
	}
	// REV-7: the counter is every key's crlVersion, also for keys without
	// entries.
	if c := crl(t, s, "kidC"); c.Ctr != 3 || len(c.RIDs) != 0 {
		t.Errorf("CRL kidC = %+v", c)
	}
	v, err = s.CRLVersion(ctx)
	must(t, err, "CRLVersion 2")
	if v != 3 {
		t.Errorf("CRLVersion = %d, want 3", v)
	}
	log, err := s.AuditLog(ctx, 10)
	must(t, err, "AuditLog")
	if len(log) != 2 || log[0].Detail != "second" || log[1].Detail != "first" || log[0].Action != "revoke" {
		t.Errorf("audit log after revocations = %+v", log)
	}
}

func testRevokeDedupe(t *testing.T, s store.Store) {
	ctx := t.Context()
	ctr, err := s.Revoke(ctx, []store.RevocationEntry{{Kid: "k", Entry: "a"}, {Kid: "k", Entry: "b"}, {Kid: "k", Entry: "a"}}, revokeEvent("1"))
	must(t, err, "Revoke 1")
	if ctr != 2 {
		t.Fatalf("ctr = %d, want 2", ctr)
	}
	// Everything already present: still one increment (the request was
	// acknowledged as a change), no duplicates.
	ctr, err = s.Revoke(ctx, []store.RevocationEntry{{Kid: "k", Entry: "b"}, {Kid: "k", Entry: "a"}}, revokeEvent("2"))
	must(t, err, "Revoke 2")
	if ctr != 3 {
		t.Fatalf("ctr = %d, want 3", ctr)
	}
	// The same rid under another key, and rid.T next to rid, are distinct.
	ctr, err = s.Revoke(ctx, []store.RevocationEntry{{Kid: "k2", Entry: "a"}, {Kid: "k", Entry: "a.1700000000"}, {Kid: "k", Entry: "c"}}, revokeEvent("3"))
	must(t, err, "Revoke 3")
	if ctr != 4 {
		t.Fatalf("ctr = %d, want 4", ctr)
	}
	if got, want := crl(t, s, "k").RIDs, []string{"a", "b", "a.1700000000", "c"}; !slices.Equal(got, want) {
		t.Errorf("CRL k = %v, want %v", got, want)
	}
	if got := crl(t, s, "k2").RIDs; !slices.Equal(got, []string{"a"}) {
		t.Errorf("CRL k2 = %v", got)
	}
	log, err := s.AuditLog(ctx, 10)
	must(t, err, "AuditLog")
	if len(log) != 3 {
		t.Errorf("audit log has %d events, want one per Revoke", len(log))
	}
}

func testRevokeInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	cases := []struct {
		name    string
		entries []store.RevocationEntry
		ev      store.Event
	}{
		{"no entries", nil, revokeEvent("x")},
		{"empty kid", []store.RevocationEntry{{Kid: "", Entry: "a"}}, revokeEvent("x")},
		{"kid not base64url", []store.RevocationEntry{{Kid: "k/../x", Entry: "a"}}, revokeEvent("x")},
		{"empty entry", []store.RevocationEntry{{Kid: "k", Entry: ""}}, revokeEvent("x")},
		{"rid with space", []store.RevocationEntry{{Kid: "k", Entry: "a b"}}, revokeEvent("x")},
		{"timestamp not digits", []store.RevocationEntry{{Kid: "k", Entry: "a.12x"}}, revokeEvent("x")},
		{"empty timestamp", []store.RevocationEntry{{Kid: "k", Entry: "a."}}, revokeEvent("x")},
		{"rid too long", []store.RevocationEntry{{Kid: "k", Entry: strings.Repeat("r", 65)}}, revokeEvent("x")},
		{"valid then invalid", []store.RevocationEntry{{Kid: "k", Entry: "good"}, {Kid: "k", Entry: "bad!"}}, revokeEvent("x")},
		{"event without action", []store.RevocationEntry{{Kid: "k", Entry: "good"}}, store.Event{Actor: "a"}},
		{"too many entries", make([]store.RevocationEntry, store.MaxRevokeEntries+1), revokeEvent("x")},
	}
	for _, c := range cases {
		ctr, err := s.Revoke(ctx, c.entries, c.ev)
		wantErr(t, err, store.ErrInvalid, c.name)
		if ctr != 0 {
			t.Errorf("%s: returned ctr %d with an error", c.name, ctr)
		}
	}
	if c := crl(t, s, "k"); c.Ctr != 1 || len(c.RIDs) != 0 {
		t.Errorf("refused revocations changed the CRL: %+v", c)
	}
	log, err := s.AuditLog(ctx, 10)
	must(t, err, "AuditLog")
	if len(log) != 0 {
		t.Errorf("refused revocations wrote %d audit events", len(log))
	}
}

func testRevokeConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 50
	var wg sync.WaitGroup
	ctrs := make([]int64, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			kid := []string{"kA", "kB"}[i%2]
			ctrs[i], errs[i] = s.Revoke(ctx, []store.RevocationEntry{{Kid: kid, Entry: fmt.Sprintf("r%02d", i)}}, revokeEvent(fmt.Sprint(i)))
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Revoke %d: %v", i, err)
		}
	}
	slices.Sort(ctrs)
	for i, c := range ctrs {
		if c != int64(i+2) {
			t.Fatalf("returned counters %v, want each of 2..%d exactly once", ctrs, n+1)
		}
	}
	a, b := crl(t, s, "kA"), crl(t, s, "kB")
	if a.Ctr != 1+n || b.Ctr != 1+n {
		t.Fatalf("ctr = %d/%d, want %d", a.Ctr, b.Ctr, 1+n)
	}
	got := append(slices.Clone(a.RIDs), b.RIDs...)
	slices.Sort(got)
	if len(got) != n {
		t.Fatalf("%d entries, want %d", len(got), n)
	}
	for i := range n {
		if got[i] != fmt.Sprintf("r%02d", i) {
			t.Fatalf("entries = %v", got)
		}
	}
	log, err := s.AuditLog(ctx, 100)
	must(t, err, "AuditLog")
	if len(log) != n {
		t.Errorf("audit log has %d events, want %d", len(log), n)
	}
}

func testTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	h1 := bytes.Repeat([]byte{1}, 32)
	h2 := bytes.Repeat([]byte{2}, 32)
	_, err := s.TokenByHash(ctx, h1)
	wantErr(t, err, store.ErrNotFound, "TokenByHash empty")
	list, err := s.Tokens(ctx)
	must(t, err, "Tokens empty")
	if len(list) != 0 {
		t.Fatalf("Tokens = %+v", list)
	}

	t1 := store.Token{ID: "t1", Hash: h1, Scopes: []string{"results:write", "cards:issue"}, Label: "lab A", CreatedAt: t0}
	t2 := store.Token{ID: "t0", Hash: h2, Scopes: []string{"cards:revoke"}, Label: "", CreatedAt: t0.Add(-time.Hour)}
	must(t, s.PutToken(ctx, t1), "PutToken t1")
	must(t, s.PutToken(ctx, t2), "PutToken t2")
	wantErr(t, s.PutToken(ctx, store.Token{ID: "t1", Hash: bytes.Repeat([]byte{3}, 32)}), store.ErrConflict, "PutToken same id")
	wantErr(t, s.PutToken(ctx, store.Token{ID: "t3", Hash: h1}), store.ErrConflict, "PutToken same hash")
	wantErr(t, s.PutToken(ctx, store.Token{ID: "t4"}), store.ErrInvalid, "PutToken without hash")

	got, err := s.TokenByHash(ctx, h1)
	must(t, err, "TokenByHash")
	if got.ID != "t1" || !bytes.Equal(got.Hash, h1) || !slices.Equal(got.Scopes, t1.Scopes) || got.Label != "lab A" ||
		!got.CreatedAt.Equal(t0) || got.RevokedAt != nil {
		t.Fatalf("TokenByHash = %+v", got)
	}
	_, err = s.TokenByHash(ctx, h1[:31])
	wantErr(t, err, store.ErrNotFound, "TokenByHash prefix")

	list, err = s.Tokens(ctx)
	must(t, err, "Tokens")
	if len(list) != 2 || list[0].ID != "t1" || list[1].ID != "t0" {
		t.Fatalf("Tokens = %+v, want t1, t0 (stored order)", list)
	}

	at := t0.Add(48 * time.Hour)
	must(t, s.RevokeToken(ctx, "t1", at), "RevokeToken")
	must(t, s.RevokeToken(ctx, "t1", at.Add(time.Hour)), "RevokeToken again")
	wantErr(t, s.RevokeToken(ctx, "nope", at), store.ErrNotFound, "RevokeToken unknown")
	got, err = s.TokenByHash(ctx, h1)
	must(t, err, "TokenByHash after revoke")
	if got.RevokedAt == nil || !got.RevokedAt.Equal(at) {
		t.Fatalf("RevokedAt = %v, want %v (the first revocation)", got.RevokedAt, at)
	}
	got, err = s.TokenByHash(ctx, h2)
	must(t, err, "TokenByHash t0")
	if got.RevokedAt != nil {
		t.Errorf("revoking t1 revoked t0")
	}
}

func testAuditLog(t *testing.T, s store.Store) {
	ctx := t.Context()
	log, err := s.AuditLog(ctx, 10)
	must(t, err, "AuditLog empty")
	if len(log) != 0 {
		t.Fatalf("AuditLog = %+v", log)
	}
	for i := range 5 {
		ev := store.Event{Time: t0.Add(time.Duration(i) * time.Second), Actor: "cli", Action: "token.create", Detail: fmt.Sprint(i)}
		if i == 2 {
			ev.Kid, ev.RID, ev.CardTypes = "k", "r", []string{"Observation", "Patient"}
		}
		must(t, s.Audit(ctx, ev), "Audit")
	}
	log, err = s.AuditLog(ctx, 3)
	must(t, err, "AuditLog 3")
	if len(log) != 3 || log[0].Detail != "4" || log[1].Detail != "3" || log[2].Detail != "2" {
		t.Fatalf("AuditLog(3) = %+v, want newest first", log)
	}
	if !(log[0].ID > log[1].ID && log[1].ID > log[2].ID) {
		t.Errorf("event ids not increasing: %d %d %d", log[2].ID, log[1].ID, log[0].ID)
	}
	e := log[2]
	if e.Kid != "k" || e.RID != "r" || !slices.Equal(e.CardTypes, []string{"Observation", "Patient"}) || !e.Time.Equal(t0.Add(2*time.Second)) || e.Actor != "cli" {
		t.Errorf("event = %+v", e)
	}
	log, err = s.AuditLog(ctx, 100)
	must(t, err, "AuditLog 100")
	if len(log) != 5 {
		t.Errorf("AuditLog(100) has %d events", len(log))
	}
	log, err = s.AuditLog(ctx, 0)
	must(t, err, "AuditLog 0")
	if len(log) != 0 {
		t.Errorf("AuditLog(0) = %d events", len(log))
	}
	_, err = s.AuditLog(ctx, -1)
	wantErr(t, err, store.ErrInvalid, "AuditLog(-1)")
	wantErr(t, s.Audit(ctx, store.Event{Actor: "cli"}), store.ErrInvalid, "Audit without action")
}

func testContextCanceled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	c := card("c1")
	tok := store.Token{ID: "t1", Hash: []byte{1}}
	writes := map[string]error{
		"PutResources": s.PutResources(ctx, "p1", json.RawMessage(`{}`), []store.Resource{res("Observation", "o", t0, `{}`)}),
		"PutCard":      s.PutCard(ctx, c, issueEvent(c)),
		"PutToken":     s.PutToken(ctx, tok),
		"Audit":        s.Audit(ctx, revokeEvent("x")),
	}
	_, writes["Revoke"] = s.Revoke(ctx, []store.RevocationEntry{{Kid: "k", Entry: "r"}}, revokeEvent("x"))
	for name, err := range writes {
		wantErr(t, err, context.Canceled, name+" with a canceled context")
	}
	_, err := s.Patient(ctx, "p1")
	wantErr(t, err, context.Canceled, "Patient")
	_, err = s.CRL(ctx, "k")
	wantErr(t, err, context.Canceled, "CRL")

	// Nothing was written.
	bg := t.Context()
	_, err = s.Patient(bg, "p1")
	wantErr(t, err, store.ErrNotFound, "Patient after canceled write")
	_, err = s.Card(bg, "c1")
	wantErr(t, err, store.ErrNotFound, "Card after canceled write")
	_, err = s.TokenByHash(bg, tok.Hash)
	wantErr(t, err, store.ErrNotFound, "Token after canceled write")
	if c := crl(t, s, "k"); c.Ctr != 1 || len(c.RIDs) != 0 {
		t.Errorf("CRL after canceled Revoke = %+v", c)
	}
	log, err := s.AuditLog(bg, 10)
	must(t, err, "AuditLog")
	if len(log) != 0 {
		t.Errorf("canceled writes left %d audit events", len(log))
	}
	// A deadline that has passed behaves the same.
	dctx, dcancel := context.WithDeadline(bg, time.Now().Add(-time.Second))
	defer dcancel()
	_, err = s.Revoke(dctx, []store.RevocationEntry{{Kid: "k", Entry: "r"}}, revokeEvent("x"))
	wantErr(t, err, context.DeadlineExceeded, "Revoke past deadline")
}

func testConcurrentMixed(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 20
	var wg sync.WaitGroup
	errc := make(chan error, 10*n)
	for i := range n {
		wg.Add(3)
		go func() {
			defer wg.Done()
			c := card(fmt.Sprintf("c%d", i))
			errc <- s.PutCard(ctx, c, issueEvent(c))
		}()
		go func() {
			defer wg.Done()
			errc <- s.PutResources(ctx, fmt.Sprintf("p%d", i%3), nil, []store.Resource{res("Observation", fmt.Sprint(i), t0, `{}`)})
		}()
		go func() {
			defer wg.Done()
			if _, err := s.CRL(ctx, "k"); err != nil {
				errc <- err
			}
			if _, err := s.Resources(ctx, "p0", nil, time.Time{}); err != nil {
				errc <- err
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if _, err := s.Card(ctx, fmt.Sprintf("c%d", i)); err != nil {
			t.Fatalf("Card c%d: %v", i, err)
		}
	}
	total := 0
	for p := range 3 {
		rs, err := s.Resources(ctx, fmt.Sprintf("p%d", p), nil, time.Time{})
		must(t, err, "Resources")
		total += len(rs)
	}
	if total != n {
		t.Errorf("%d resources stored, want %d", total, n)
	}
	log, err := s.AuditLog(ctx, 100)
	must(t, err, "AuditLog")
	if len(log) != n {
		t.Errorf("%d audit events, want %d", len(log), n)
	}
}
