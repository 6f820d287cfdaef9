package issuer

import (
	"context"

	"github.com/healthcards/healthcards/internal/testvectors"
	"github.com/healthcards/healthcards/shc"

	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// opFixture stores the lab bundle and returns a function that runs
// $health-cards-issue and lists the card types it returned.
func opFixture(t *testing.T) (*fixture, func(p IssueParams) [][]string) {
	t.Helper()
	f := newFixture(t)
	ctx := context.Background()
	pid, n, err := f.is.PutResults(ctx, readTestdata(t, "lab-bundle.json"), "lab")
	if err != nil || pid != "pat-1001" || n != 8 {
		t.Fatalf("PutResults: %s %d %v", pid, n, err)
	}
	src := StoreSource{Store: f.st, BaseURL: "https://issuer.example.org/fhir"}
	return f, func(p IssueParams) [][]string {
		t.Helper()
		out, cards, err := f.is.HealthCardsIssue(ctx, src, "pat-1001", p, OperationOptions{Actor: "patient:pat-1001"})
		if err != nil {
			t.Fatal(err)
		}
		var got [][]string
		for _, c := range cards {
			got = append(got, c.Types)
		}
		if len(cards) == 0 {
			if b, _ := json.Marshal(out); string(b) != `{"resourceType":"Parameters"}` {
				t.Fatalf("no match must give an empty Parameters (OP-10), got %s", b)
			}
		}
		return got
	}
}

func count(got [][]string) int { return len(got) }

func TestHealthCardsIssueSemantics_OP5_OP11(t *testing.T) {
	_, run := opFixture(t)
	covidVS := "https://terminology.smarthealth.cards/ValueSet/immunization-covid-all"
	labVS := "https://terminology.smarthealth.cards/ValueSet/lab-qualitative-test-covid"
	cases := []struct {
		name string
		p    IssueParams
		want int
	}{
		{"Immunization: covid, flu, cvx 998 (PAY-10)", IssueParams{CredentialTypes: []string{"Immunization"}}, 3},
		{"Observation: covid test and CBC", IssueParams{CredentialTypes: []string{"Observation"}}, 2},
		{"DiagnosticReport", IssueParams{CredentialTypes: []string{"DiagnosticReport"}}, 1},
		{"AND of Observation and DiagnosticReport", IssueParams{CredentialTypes: []string{"Observation", "DiagnosticReport"}}, 1},
		{"AND never mixes labs and immunizations", IssueParams{CredentialTypes: []string{"Immunization", "Observation"}}, 0},
		{"legacy #immunization (OP-6)", IssueParams{CredentialTypes: []string{"https://smarthealth.cards#immunization"}}, 3},
		{"legacy #laboratory (OP-6)", IssueParams{CredentialTypes: []string{"https://smarthealth.cards#laboratory"}}, 2},
		{"legacy #covid19", IssueParams{CredentialTypes: []string{"https://smarthealth.cards#covid19"}}, 2},
		{"unknown type", IssueParams{CredentialTypes: []string{"Condition"}}, 0},
		{"value set covid (OP-7)", IssueParams{CredentialTypes: []string{"Immunization"}, ValueSets: []string{covidVS}}, 1},
		{"value set covid lab", IssueParams{CredentialTypes: []string{"Observation"}, ValueSets: []string{labVS}}, 1},
		{"value sets AND", IssueParams{CredentialTypes: []string{"Immunization"}, ValueSets: []string{covidVS, labVS}}, 0},
		{"unknown value set matches nothing", IssueParams{CredentialTypes: []string{"Immunization"}, ValueSets: []string{"https://example.org/ValueSet/x"}}, 0},
		{"_since 2025 (OP-9)", IssueParams{CredentialTypes: []string{"Immunization"}, Since: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}, 2},
		{"_since 2026-02", IssueParams{CredentialTypes: []string{"Observation"}, Since: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}, 1},
		{"_since future", IssueParams{CredentialTypes: []string{"Observation"}, Since: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := run(c.p); count(got) != c.want {
				t.Fatalf("got %d cards %v, want %d", len(got), got, c.want)
			}
		})
	}
}

func TestHealthCardsIssueIdentityAndLinks_OP9_OP11(t *testing.T) {
	f, _ := opFixture(t)
	src := StoreSource{Store: f.st, BaseURL: "https://issuer.example.org/fhir"}
	out, cards, err := f.is.HealthCardsIssue(context.Background(), src, "pat-1001",
		IssueParams{CredentialTypes: []string{"DiagnosticReport"}, IdentityClaims: []string{"Patient.name", "Patient.telecom"}}, OperationOptions{})
	if err != nil || len(cards) != 1 {
		t.Fatal(err)
	}
	raw := string(mustPayload(t, cards[0].JWS))
	if !strings.Contains(raw, `"name":[`) || strings.Contains(raw, "birthDate") || strings.Contains(raw, "telecom") {
		t.Fatalf("identity claims not narrowed to Patient.name: %s", raw)
	}
	var links []string
	for _, p := range out.Parameter {
		if p.Name == "resourceLink" {
			links = append(links, *p.Part[1].ValueURI+" "+*p.Part[2].ValueURI)
		}
	}
	want := []string{
		"resource:1 https://issuer.example.org/fhir/DiagnosticReport/dr-cbc-1",
		"resource:2 https://issuer.example.org/fhir/Observation/obs-hgb-1",
		"resource:3 https://issuer.example.org/fhir/Observation/obs-wbc-1",
	}
	if !slices.Equal(links, want) {
		t.Fatalf("resourceLinks %q, want %q", links, want)
	}
	// The stored urn:uuid references became Type/id, so the card links its
	// report to its results.
	if !strings.Contains(raw, `"result":[{"reference":"resource:2"},{"reference":"resource:3"}]`) {
		t.Fatalf("DiagnosticReport.result not linked: %s", raw)
	}
	// Unknown patient: not found.
	if _, _, err := f.is.HealthCardsIssue(context.Background(), src, "nobody", IssueParams{CredentialTypes: []string{"Immunization"}}, OperationOptions{}); CodeOf(err) != CodeNotFound {
		t.Fatalf("unknown patient: %v", err)
	}
}

func mustPayload(t *testing.T, jws string) []byte {
	t.Helper()
	c, err := shc.Parse(jws)
	if err != nil {
		t.Fatal(err)
	}
	return c.UnsafePayloadWithoutVerification().VC.CredentialSubject.FHIRBundle
}

func TestParseParameters_OP4(t *testing.T) {
	p, err := ParseParameters(readSpec(t, "derived-from-spec-text/health-cards-issue.request-example-1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.CredentialTypes, []string{"Immunization"}) || len(p.ValueSets) != 1 || !slices.Equal(p.IdentityClaims, []string{"Patient.name"}) ||
		!p.Since.Equal(time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("%+v", p)
	}
	for name, in := range map[string]string{
		"no credentialType": `{"resourceType":"Parameters","parameter":[{"name":"_since","valueDateTime":"2023"}]}`,
		"not Parameters":    `{"resourceType":"Bundle"}`,
		"bad _since":        `{"resourceType":"Parameters","parameter":[{"name":"credentialType","valueUri":"Immunization"},{"name":"_since","valueDateTime":"yesterday"}]}`,
		"two _since":        `{"resourceType":"Parameters","parameter":[{"name":"credentialType","valueUri":"Immunization"},{"name":"_since","valueDateTime":"2023"},{"name":"_since","valueDateTime":"2024"}]}`,
		"type as string":    `{"resourceType":"Parameters","parameter":[{"name":"credentialType","valueString":"Immunization"}]}`,
	} {
		if _, err := ParseParameters([]byte(in)); CodeOf(err) != CodeInvalidParameters {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func readSpec(t *testing.T, rel string) []byte {
	t.Helper()
	return testvectors.Read(t, rel)
}
