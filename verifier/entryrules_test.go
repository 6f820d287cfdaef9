package verifier

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const sampleRule = `{
  "name": "Negative COVID-19 test within 72 hours, or vaccinated",
  "anyOf": [
    {"negativeTest": {"tests": ["lab:covid-19-molecular", "lab:covid-19-antigen"], "within": "72h"}},
    {"vaccination": {"vaccines": ["vaccine:covid-19"], "minDoses": 2, "minDaysSinceLastDose": 14}}
  ]
}`

func TestParseEntryRules(t *testing.T) {
	r, err := ParseEntryRules([]byte(sampleRule))
	if err != nil || len(r.AnyOf) != 2 || time.Duration(r.AnyOf[0].NegativeTest.Within) != 72*time.Hour || r.AnyOf[1].Vaccination.MinDoses != 2 {
		t.Fatalf("%v %+v", err, r)
	}
	for name, bad := range map[string]string{
		"unknown member":   `{"name":"x","anyOf":[{"negativeTest":{"tests":["lab:covid-19-antigen"],"within":"72h","maxAge":"1h"}}]}`,
		"repeated member":  `{"name":"x","name":"y","anyOf":[{"negativeTest":{"tests":["lab:covid-19-antigen"],"within":"72h"}}]}`,
		"both combinators": `{"name":"x","anyOf":[{"vaccination":{"vaccines":["vaccine:covid-19"]}}],"allOf":[{"vaccination":{"vaccines":["vaccine:covid-19"]}}]}`,
		"no condition":     `{"name":"x","anyOf":[]}`,
		"two forms":        `{"name":"x","anyOf":[{"negativeTest":{"tests":["lab:covid-19-antigen"],"within":"72h"},"vaccination":{"vaccines":["vaccine:covid-19"]}}]}`,
		"no form":          `{"name":"x","anyOf":[{}]}`,
		"bad duration":     `{"name":"x","anyOf":[{"negativeTest":{"tests":["lab:covid-19-antigen"],"within":"3 days"}}]}`,
		"no within":        `{"name":"x","anyOf":[{"negativeTest":{"tests":["lab:covid-19-antigen"]}}]}`,
		"unknown group":    `{"name":"x","anyOf":[{"negativeTest":{"tests":["lab:covid-20"],"within":"72h"}}]}`,
		"vaccine as test":  `{"name":"x","anyOf":[{"negativeTest":{"tests":["vaccine:covid-19"],"within":"72h"}}]}`,
		"doses":            `{"name":"x","anyOf":[{"vaccination":{"vaccines":["vaccine:covid-19"],"minDoses":99}}]}`,
		"no name":          `{"anyOf":[{"vaccination":{"vaccines":["vaccine:covid-19"]}}]}`,
		"not json":         `name: x`,
		"trailing":         sampleRule + `{}`,
		"too many":         `{"name":"x","anyOf":[` + strings.Repeat(`{"vaccination":{"vaccines":["vaccine:covid-19"]}},`, 16) + `{"vaccination":{"vaccines":["vaccine:covid-19"]}}]}`,
	} {
		if _, err := ParseEntryRules([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// ruleNow is the verification time of the entry-rule tests.
var ruleNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// cardSummary summarizes a bundle of a patient and the given resources
// (JSON objects), as the pipeline does for a verified card.
func cardSummary(t *testing.T, resources ...string) *Summary {
	t.Helper()
	var entries []string
	entries = append(entries, `{"fullUrl":"resource:0","resource":{"resourceType":"Patient","name":[{"family":"Doe","given":["Jane"]}],"birthDate":"1970-01-01"}}`)
	for i, r := range resources {
		entries = append(entries, fmt.Sprintf(`{"fullUrl":"resource:%d","resource":%s}`, i+1, r))
	}
	s, _ := summarize([]byte(`{"resourceType":"Bundle","type":"collection","entry":[` + strings.Join(entries, ",") + `]}`))
	if s == nil {
		t.Fatal("no summary")
	}
	s.setAges(ruleNow)
	return s
}

func test(loinc, snomed, at string) string {
	return `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"` + loinc +
		`"}]},"subject":{"reference":"resource:0"},"effectiveDateTime":"` + at + `","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"` + snomed + `"}]}}`
}

func dose(cvx, at, status string) string {
	return `{"resourceType":"Immunization","status":"` + status + `","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"` + cvx +
		`"}]},"patient":{"reference":"resource:0"},"occurrenceDateTime":"` + at + `"}`
}

// TestEntryRuleNegativeTest: each way a test meets or misses the rule.
func TestEntryRuleNegativeTest(t *testing.T) {
	r, err := ParseEntryRules([]byte(`{"name":"test","anyOf":[{"negativeTest":{"tests":["lab:covid-19-antigen","lab:covid-19-molecular"],"within":"72h"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	freeText := `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94558-4"}]},"subject":{"reference":"resource:0"},"effectiveDateTime":"2026-11-29T07:00:00Z","valueString":"Negative"}`
	for name, c := range map[string]struct {
		res  string
		met  bool
		text string
	}{
		"antigen negative 5 h ago":     {test("94558-4", "260385009", "2026-11-29T07:00:00Z"), true, "negative test collected 5 hours ago"},
		"PCR not detected 2 days ago":  {test("94500-6", "260415000", "2026-11-27T10:00:00Z"), true, "2 days ago"},
		"positive":                     {test("94558-4", "10828004", "2026-11-29T07:00:00Z"), false, "no negative test collected within 72 hours"},
		"73 hours ago":                 {test("94558-4", "260385009", "2026-11-26T11:00:00Z"), false, "within 72 hours"},
		"a date without time, 3 d ago": {test("94558-4", "260385009", "2026-11-26"), false, "within 72 hours"},
		"a date without time, 2 d ago": {test("94558-4", "260385009", "2026-11-27"), true, "2 days ago"},
		"in the future":                {test("94558-4", "260385009", "2026-11-30T07:00:00Z"), false, "within"},
		"free text never counts":       {freeText, false, "within"},
		"another test (not in groups)": {test("94762-2", "260385009", "2026-11-29T07:00:00Z"), false, "within"},
		"preliminary result":           {strings.Replace(test("94558-4", "260385009", "2026-11-29T07:00:00Z"), `"final"`, `"preliminary"`, 1), false, "within"},
	} {
		got := r.Evaluate(cardSummary(t, c.res), ruleNow)
		if got.Met != c.met || !strings.Contains(got.Reason, c.text) || got.Rule != "test" {
			t.Errorf("%s: %+v", name, got)
		}
	}
}

// TestEntryRuleVaccination: doses counted, the wait after the last dose,
// the optional "within", and doses not completed left out.
func TestEntryRuleVaccination(t *testing.T) {
	r, err := ParseEntryRules([]byte(`{"name":"vaccinated","allOf":[{"vaccination":{"vaccines":["vaccine:covid-19"],"minDoses":2,"minDaysSinceLastDose":14,"within":"8760h"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		res  []string
		met  bool
		text string
	}{
		"two doses, the last 30 days ago": {[]string{dose("208", "2026-08-01", "completed"), dose("208", "2026-10-30", "completed")}, true, "2 vaccine doses, the last 30 days ago"},
		"one dose":                        {[]string{dose("208", "2026-10-30", "completed")}, false, "1 of 2 vaccine doses"},
		"last dose 10 days ago":           {[]string{dose("208", "2026-08-01", "completed"), dose("207", "2026-11-19", "completed")}, false, "less than 14 days ago"},
		"last dose over a year ago":       {[]string{dose("208", "2025-01-01", "completed"), dose("208", "2025-02-01", "completed")}, false, "more than 365 days ago"},
		"a dose entered in error":         {[]string{dose("208", "2026-08-01", "entered-in-error"), dose("208", "2026-10-30", "completed")}, false, "1 of 2"},
		"another disease's vaccine":       {[]string{dose("141", "2026-08-01", "completed"), dose("208", "2026-10-30", "completed")}, false, "1 of 2"},
	} {
		got := r.Evaluate(cardSummary(t, c.res...), ruleNow)
		if got.Met != c.met || !strings.Contains(got.Reason, c.text) {
			t.Errorf("%s: %+v", name, got)
		}
	}
}

// TestEntryRuleCombinators: anyOf is met by one condition, allOf needs
// every one; nothing to read is not met.
func TestEntryRuleCombinators(t *testing.T) {
	neg := test("94558-4", "260385009", "2026-11-29T07:00:00Z")
	vax := []string{dose("208", "2026-08-01", "completed"), dose("208", "2026-10-30", "completed")}
	anyRule, err := ParseEntryRules([]byte(sampleRule))
	if err != nil {
		t.Fatal(err)
	}
	all, err := ParseEntryRules([]byte(strings.Replace(sampleRule, `"anyOf"`, `"allOf"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		rule *EntryRules
		res  []string
		met  bool
	}{
		"any: test only":      {anyRule, []string{neg}, true},
		"any: vaccine only":   {anyRule, vax, true},
		"any: neither":        {anyRule, nil, false},
		"all: test only":      {all, []string{neg}, false},
		"all: test and doses": {all, append([]string{neg}, vax...), true},
	} {
		if got := c.rule.Evaluate(cardSummary(t, c.res...), ruleNow); got.Met != c.met {
			t.Errorf("%s: %+v", name, got)
		}
	}
	if got := anyRule.Evaluate(nil, ruleNow); got.Met {
		t.Error("a nil summary met the rule")
	}
}

// FuzzEntryRules: any rule file is refused or read, never a panic, and a
// rule read is evaluated without one.
func FuzzEntryRules(f *testing.F) {
	f.Add([]byte(sampleRule))
	f.Add([]byte(`{"name":"x","allOf":[{"vaccination":{"vaccines":["vaccine:covid-19"],"within":"1h"}}]}`))
	s := &Summary{LabResults: []LabResult{{Test: Coding{System: "http://loinc.org", Code: "94558-4"}, Date: "2026-11-29",
		valueCode: Coding{System: "http://snomed.info/sct", Code: "260385009"}}},
		Immunizations: []Immunization{{Vaccine: Coding{System: "http://hl7.org/fhir/sid/cvx", Code: "208"}, Date: "2026-01-01T00:00:00Z"}}}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseEntryRules(b)
		if err != nil {
			return
		}
		if e := r.Evaluate(s, ruleNow); e.Reason == "" || e.Rule != r.Name {
			t.Fatalf("%+v", e)
		}
	})
}
