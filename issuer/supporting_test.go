package issuer

import (
	"context"
	"crypto/ecdsa"
	"slices"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/examples/bundles"
)

func res(e map[string]any) map[string]any { return e["resource"].(map[string]any) }

// refOf returns resource[field][0].reference (or resource[field].reference).
func refOf(t *testing.T, r map[string]any, field string) string {
	t.Helper()
	v := r[field]
	if a, ok := v.([]any); ok && len(a) > 0 {
		v = a[0]
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s.%s is %v, want a Reference", r["resourceType"], field, r[field])
	}
	s, _ := m["reference"].(string)
	return s
}

// deref resolves a minified "resource:N" reference in a card's entries
// (MIN-6/7).
func deref(t *testing.T, entries []map[string]any, ref string) map[string]any {
	t.Helper()
	for _, e := range entries {
		if e["fullUrl"] == ref {
			return res(e)
		}
	}
	t.Fatalf("reference %q names no entry of the card", ref)
	return nil
}

// The sample lab bundle (Patient + Organization + Observation with
// performer → Organization) issues one lab card whose performer still
// names the lab: the Organization is on the card, minified, and the
// reference rewritten to resource:N (MIN-6, MIN-7, PAY-10).
func TestSupportingPerformerOnCard_MIN7(t *testing.T) {
	f := newFixture(t)
	cards, err := f.is.IssueBundle(context.Background(), bundles.LabCovidPCR, IssueOptions{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != 1 {
		t.Fatalf("%d cards, want 1", len(cards))
	}
	c := cards[0]
	if want := []string{"Observation", "Organization", "Patient"}; !slices.Equal(c.Types, want) {
		t.Errorf("Types = %v, want %v", c.Types, want)
	}
	_, entries := cardBundleOf(t, c.JWS, f.key.Public().(*ecdsa.PublicKey))
	if got := entryTypes(entries); !slices.Equal(got, []string{"Patient", "Observation", "Organization"}) {
		t.Fatalf("entries = %v", got)
	}
	obs := res(entries[1])
	ref := refOf(t, obs, "performer")
	if ref != "resource:2" {
		t.Errorf("performer reference = %q, want resource:2", ref)
	}
	org := deref(t, entries, ref)
	if org["resourceType"] != "Organization" || org["name"] != "Example Reference Laboratory" {
		t.Errorf("performer resolves to %v", org)
	}
	if _, ok := org["id"]; ok {
		t.Error("supporting resource keeps its id (MIN-5)")
	}
	if s := refOf(t, obs, "subject"); s != "resource:0" {
		t.Errorf("subject = %q", s)
	}
	if got := c.Resources[len(c.Resources)-1]; got != (CardResource{Bundled: "resource:2", Type: "Organization", ID: "org-lab"}) {
		t.Errorf("resource link of the Organization = %+v", got)
	}
}

const supportingBundle = `{"resourceType":"Bundle","type":"collection","entry":[
{"fullUrl":"urn:uuid:p","resource":{"resourceType":"Patient","id":"p1","name":[{"family":"Doe"}]}},
{"fullUrl":"urn:uuid:lab-a","resource":{"resourceType":"Organization","id":"lab-a","name":"Lab A"}},
{"fullUrl":"urn:uuid:lab-b","resource":{"resourceType":"Organization","id":"lab-b","name":"Lab B"}},
{"fullUrl":"urn:uuid:dr","resource":{"resourceType":"Practitioner","id":"dr","name":[{"family":"Who"}]}},
{"fullUrl":"urn:uuid:role","resource":{"resourceType":"PractitionerRole","id":"role","practitioner":{"reference":"urn:uuid:dr"},"organization":{"reference":"urn:uuid:lab-b"},"location":[{"reference":"urn:uuid:site"}]}},
{"fullUrl":"urn:uuid:site","resource":{"resourceType":"Location","id":"site","name":"Drive-through site"}},
{"fullUrl":"urn:uuid:analyzer","resource":{"resourceType":"Device","id":"analyzer"}},
{"fullUrl":"urn:uuid:swab","resource":{"resourceType":"Specimen","id":"swab","subject":{"reference":"urn:uuid:p"},"collection":{"device":{"reference":"urn:uuid:analyzer"}}}},
{"fullUrl":"urn:uuid:unused","resource":{"resourceType":"Practitioner","id":"unused","name":[{"family":"Unreferenced"}]}},
{"fullUrl":"urn:uuid:o1","resource":{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},"subject":{"reference":"urn:uuid:p"},"effectiveDateTime":"2026-01-01","performer":[{"reference":"urn:uuid:lab-a"}],"specimen":{"reference":"urn:uuid:swab"}}},
{"fullUrl":"urn:uuid:o2","resource":{"resourceType":"Observation","id":"o2","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"718-7"}]},"subject":{"reference":"urn:uuid:p"},"effectiveDateTime":"2026-01-02","performer":[{"reference":"urn:uuid:role"}]}}]}`

// Each card carries exactly the supporting resources its content
// references, transitively (PractitionerRole → Practitioner, Organization,
// Location; Specimen → Device); unreferenced ones go on no card.
func TestSupportingResourcesPerCard(t *testing.T) {
	f := newFixture(t)
	cards, err := f.is.IssueBundle(context.Background(), []byte(supportingBundle), IssueOptions{Delivery: DeliverFile})
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != 2 {
		t.Fatalf("%d cards, want 2 (one per lab test event)", len(cards))
	}
	pub := f.key.Public().(*ecdsa.PublicKey)
	want := [][]string{
		{"Patient", "Observation", "Organization", "Device", "Specimen"},
		{"Patient", "Observation", "Organization", "Practitioner", "PractitionerRole", "Location"},
	}
	for i, c := range cards {
		_, entries := cardBundleOf(t, c.JWS, pub)
		if got := entryTypes(entries); !slices.Equal(got, want[i]) {
			t.Errorf("card %d entries = %v, want %v", i, got, want[i])
		}
		raw := mustJSON(entries)
		if strings.Contains(raw, "Unreferenced") {
			t.Errorf("card %d carries the unreferenced Practitioner", i)
		}
		if strings.Contains(raw, "urn:uuid:") {
			t.Errorf("card %d has a reference not rewritten to resource:N: %s", i, raw)
		}
	}
	_, e0 := cardBundleOf(t, cards[0].JWS, pub)
	if org := deref(t, e0, refOf(t, res(e0[1]), "performer")); org["name"] != "Lab A" {
		t.Errorf("card 0 performer = %v", org)
	}
	swab := deref(t, e0, refOf(t, res(e0[1]), "specimen"))
	if swab["resourceType"] != "Specimen" || refOf(t, swab, "subject") != "resource:0" {
		t.Errorf("specimen = %v", swab)
	}
	_, e1 := cardBundleOf(t, cards[1].JWS, pub)
	role := deref(t, e1, refOf(t, res(e1[1]), "performer"))
	if org := deref(t, e1, refOf(t, role, "organization")); org["name"] != "Lab B" {
		t.Errorf("card 1 role organization = %v", org)
	}
	if site := deref(t, e1, refOf(t, role, "location")); site["name"] != "Drive-through site" {
		t.Errorf("card 1 role location = %v", site)
	}
}

// Supporting resources stored with POST /v1/results reach the cards of
// $health-cards-issue too (OP-3).
func TestSupportingThroughHealthCardsIssue(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	pid, n, err := f.is.PutResults(ctx, bundles.LabCovidPCR, "lab")
	if err != nil || pid != "pt-1001" || n != 2 {
		t.Fatalf("PutResults: %q %d %v", pid, n, err)
	}
	src := StoreSource{Store: f.st, BaseURL: "https://issuer.example.org/fhir"}
	_, cards, err := f.is.HealthCardsIssue(ctx, src, pid, IssueParams{CredentialTypes: []string{"Observation"}}, OperationOptions{})
	if err != nil || len(cards) != 1 {
		t.Fatalf("HealthCardsIssue: %d cards, %v", len(cards), err)
	}
	_, entries := cardBundleOf(t, cards[0].JWS, f.key.Public().(*ecdsa.PublicKey))
	if org := deref(t, entries, refOf(t, res(entries[1]), "performer")); org["name"] != "Example Reference Laboratory" {
		t.Errorf("performer = %v", org)
	}
}

// Unknown types are still refused with a stable code naming what is
// accepted; a supporting resource alone is no clinical content.
func TestSupportingValidation(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, bundle string
		code         Code
		msg          string
	}{
		{"unknown type", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"a"}},{"resource":{"resourceType":"Condition","id":"c"}}]}`,
			CodeUnsupportedType, "PractitionerRole"},
		{"only supporting", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"a"}},{"resource":{"resourceType":"Organization","id":"o"}}]}`,
			CodeNoContent, ""},
		{"bad supporting id", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"a"}},{"resource":{"resourceType":"Device","id":"a b"}}]}`,
			CodeInvalidBundle, "Device.id"},
		{"dangling performer", `{"resourceType":"Bundle","entry":[{"fullUrl":"urn:uuid:p","resource":{"resourceType":"Patient","id":"a"}},{"resource":{"resourceType":"Observation","subject":{"reference":"urn:uuid:p"},"performer":[{"reference":"Organization/x"}]}}]}`,
			CodeUnresolvedRef, "Organization/x"},
	} {
		_, err := f.is.IssueBundle(context.Background(), []byte(tc.bundle), IssueOptions{})
		if CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want %s mentioning %q", tc.name, err, tc.code, tc.msg)
		}
	}
}
