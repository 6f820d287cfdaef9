package verifier

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/shc"
)

func TestIdentityAssurance(t *testing.T) {
	for raw, want := range map[string]string{
		`[{"system":"https://smarthealth.cards/ial","code":"IAL1.4"}]`:                                       "IAL1.4",
		`[{"system":"https://smarthealth.cards/ial","code":"ial2"}]`:                                         "IAL2", // case-insensitive code system
		`[{"system":"http://other","code":"IAL3"},{"system":"https://smarthealth.cards/ial","code":"IAL1"}]`: "IAL1",
		`[{"SYSTEM":"https://smarthealth.cards/ial","code":"IAL1.4"}]`:                                       "", // names match exactly
		`[{"system":"https://smarthealth.cards/ial","code":7}]`:                                              "",
		`{"system":"https://smarthealth.cards/ial"}`:                                                         "",
		``: "",
	} {
		got := identityAssurance(json.RawMessage(raw))
		if (got == nil) != (want == "") || got != nil && (got.Level != want || got.Text == "") {
			t.Errorf("%s: %+v, want %q", raw, got, want)
		}
	}
	if a := identityAssurance(json.RawMessage(`[{"system":"https://smarthealth.cards/ial","code":"IAL9"}]`)); a == nil || a.Text == ialText["IAL1"] {
		t.Errorf("unknown level: %+v", a)
	}
}

func TestAgeText(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for date, want := range map[string]string{
		"2026-11-29T11:30:00Z":      "less than an hour ago",
		"2026-11-29T09:00:00+00:00": "3 hours ago",
		"2026-11-28T11:00:00Z":      "25 hours ago",
		"2026-11-27T11:00:00Z":      "2 days ago",
		"2026-11-28T13:00:00Z":      "23 hours ago",
		"2026-11-26T12:00:00Z":      "3 days ago",
		"2026-11-29":                "today",
		"2026-11-27":                "2 days ago",
		"2026-11-30T12:00:00Z":      "in the future",
		"2026-12-01":                "in the future",
		"2021-01":                   "2158 days ago",
		"yesterday":                 "",
	} {
		if got := ageText(date, now); got != want {
			t.Errorf("ageText(%q) = %q, want %q", date, got, want)
		}
	}
}

// TestSummaryDoorFields: a verified card's summary says how old the test
// is and how the issuer checked identity (issue 11).
func TestSummaryDoorFields(t *testing.T) {
	k := newKey(t)
	bundle := `{"resourceType":"Bundle","type":"collection","entry":[` +
		`{"fullUrl":"resource:0","resource":{"resourceType":"Patient","meta":{"security":[{"system":"https://smarthealth.cards/ial","code":"IAL1.4"}]},"name":[{"family":"Doe","given":["Jane"]}],"birthDate":"1970-01-01"}},` +
		`{"fullUrl":"resource:1","resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94558-4"}]},"subject":{"reference":"resource:0"},"effectiveDateTime":"2023-11-13T09:00:00Z","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260415000"}]}}}]}`
	card := signCard(t, k, testIss, cardNBF, func(p *shc.Payload) { p.VC.CredentialSubject.FHIRBundle = json.RawMessage(bundle) })
	now := time.Date(2023, 11, 15, 12, 0, 0, 0, time.UTC)
	v, err := New(WithStaticKeys(testIss, jwksOf(t, nil, k)), WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	r := verifyOne(t, v, card)
	wantCode(t, r, VerdictVerified, "")
	s := r.Summary
	if s == nil || s.Patient == nil || s.Patient.IdentityAssurance == nil || s.Patient.IdentityAssurance.Level != "IAL1.4" {
		t.Fatalf("summary %+v", s)
	}
	if len(s.LabResults) != 1 || s.LabResults[0].Age != "2 days ago" {
		t.Fatalf("lab results %+v", s.LabResults)
	}
}

// TestEntryRulesInPipeline: WithEntryRules evaluates verified cards only.
func TestEntryRulesInPipeline(t *testing.T) {
	k := newKey(t)
	rule, err := ParseEntryRules([]byte(sampleRule))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2023, 11, 15, 12, 0, 0, 0, time.UTC)
	v, err := New(WithStaticKeys(testIss, jwksOf(t, nil, k)), WithClock(func() time.Time { return now }), WithEntryRules(rule))
	if err != nil {
		t.Fatal(err)
	}
	bundle := `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"resource:0","resource":{"resourceType":"Patient","name":[{"family":"Doe"}]}},` +
		`{"fullUrl":"resource:1","resource":` + test("94558-4", "260415000", "2023-11-13T09:00:00Z") + `}]}`
	card := signCard(t, k, testIss, cardNBF, func(p *shc.Payload) { p.VC.CredentialSubject.FHIRBundle = json.RawMessage(bundle) })
	r := verifyOne(t, v, card)
	wantCode(t, r, VerdictVerified, "")
	if r.Entry == nil || !r.Entry.Met || !strings.Contains(r.Entry.Reason, "2 days ago") {
		t.Fatalf("entry %+v", r.Entry)
	}
	exp := shc.NumericDate(float64(now.Add(-time.Hour).Unix()))
	expired := signCard(t, k, testIss, cardNBF, func(p *shc.Payload) {
		p.VC.CredentialSubject.FHIRBundle = json.RawMessage(bundle)
		p.Expires = &exp
	})
	r = verifyOne(t, v, expired)
	wantCode(t, r, VerdictInvalid, CodeExpired)
	if r.Entry != nil {
		t.Fatalf("an expired card was evaluated: %+v", r.Entry)
	}
	if _, err := New(WithStaticKeys(testIss, jwksOf(t, nil, k)), WithEntryRules(&EntryRules{Name: "empty"})); err == nil {
		t.Fatal("a rule without conditions was accepted")
	}
}
