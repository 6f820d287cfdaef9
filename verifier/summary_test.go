package verifier

import (
	"strings"
	"testing"

	"github.com/healthcards/healthcards/terminology"
)

// Every code is named from package terminology, on every field the
// summary reads, and DiagnosticReports are summarized as lab reports.
func TestSummaryNamesFromTerminology(t *testing.T) {
	prac := `{"resourceType":"Practitioner","name":[{"family":"Doe","given":["Jane"]}]}`
	report := `{"resourceType":"DiagnosticReport","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"58410-2"}]},"effectiveDateTime":"2026-01-02","performer":[{"reference":"resource:4"}],"result":[{"reference":"resource:3"}]}`
	flu := `{"resourceType":"Immunization","vaccineCode":{"coding":[{"system":"urn:x","code":"y"},{"system":"http://hl7.org/fhir/sid/cvx","code":"0158"}]},"occurrenceDateTime":"2025-10-01","performer":[{"actor":{"reference":"resource:4"}}]}`
	unknown := `{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"1-8"}]},"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260373001"}]},"performer":[{"reference":"resource:2"}]}`
	s, err := Summarize([]byte(bundleOf(patient, imm, org, obs, prac, report, flu, unknown)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Immunizations[0].Vaccine.Name, terminology.Display(terminology.SystemCVX, "207"); got != want || want == "" {
		t.Errorf("vaccine 207 named %q, want %q", got, want)
	}
	if im := s.Immunizations[1]; im.Vaccine.Code != "0158" || im.Vaccine.Name != terminology.Display(terminology.SystemCVX, "158") || im.Performer != "Jane Doe" {
		t.Errorf("flu dose (named coding after an unknown one, practitioner performer): %+v", im)
	}
	if lr := s.LabResults[0]; lr.Test.Name != "SARS-CoV-2 Ag Resp Ql IA.rapid" || lr.Performer != "ACME Lab" {
		t.Errorf("antigen test: %+v", lr)
	}
	if lr := s.LabResults[1]; lr.Test.Name != "" || lr.Test.Label() != "LOINC 1-8" || lr.Value != "Detected" || lr.Text() != "LOINC 1-8: Detected" {
		t.Errorf("unknown test: %+v %q", lr, lr.Text())
	}
	if len(s.LabReports) != 1 || s.LabReports[0].Test.Label() != "CBC panel - Bld (Auto) (LOINC 58410-2)" || s.LabReports[0].Performer != "Jane Doe" || s.LabReports[0].Date != "2026-01-02" {
		t.Errorf("reports: %+v", s.LabReports)
	}
	if s.Other["Practitioner"] != 1 || s.Other["Organization"] != 1 || s.Other["DiagnosticReport"] != 0 {
		t.Errorf("other: %v", s.Other)
	}
	text := s.String()
	for _, want := range []string{
		"Patient: John B. Anyperson (born 1951-01-20)\n",
		"Immunization: " + terminology.Display(terminology.SystemCVX, "207") + " (CVX 207) on 2021-01-01, lot 0000001, by ABC General Hospital\n",
		"Lab result: SARS-CoV-2 Ag Resp Ql IA.rapid (LOINC 94558-4): 12.50 mg on 2021-02-17, by ACME Lab\n",
		"Lab report: CBC panel - Bld (Auto) (LOINC 58410-2) on 2026-01-02, by Jane Doe\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("String() lacks %q:\n%s", want, text)
		}
	}
}

func TestCodingLabel(t *testing.T) {
	for _, tc := range []struct {
		c    Coding
		want string
	}{
		{Coding{System: terminology.SystemSNOMED, Code: "260385009", Name: "Negative"}, "Negative (SNOMED CT 260385009)"},
		{Coding{System: "urn:x", Code: "y"}, "urn:x|y"},
		{Coding{Code: "y"}, "y"},
		{Coding{System: "urn:x", Code: "y", Name: "Why"}, "Why (urn:x|y)"},
	} {
		if got := tc.c.Label(); got != tc.want {
			t.Errorf("%+v.Label() = %q, want %q", tc.c, got, tc.want)
		}
	}
}

func TestSummarizeRefusesNonBundles(t *testing.T) {
	for _, bad := range []string{``, `[`, `"x"`, `{"entry":`} {
		s, err := Summarize([]byte(bad))
		if s != nil || CodeOf(err) != CodeBadPayload {
			t.Errorf("Summarize(%q) = %v, %v; want bad_payload", bad, s, err)
		}
	}
	if s, err := Summarize([]byte(`{}`)); err != nil || s == nil {
		t.Errorf("empty object: %v %v", s, err)
	}
}

// Summarize never panics, refuses only with bad_payload, and every name it
// shows is the table's name for that code.
func FuzzSummarize(f *testing.F) {
	for _, c := range bundleCases {
		f.Add([]byte(c.in))
	}
	f.Add([]byte(bundleOf(patient, `{"resourceType":"Practitioner","name":[{"text":"Dr X"}]}`, `{"resourceType":"DiagnosticReport","code":{"coding":[{"system":"http://loinc.org","code":"58410-2"}]},"performer":[{"reference":"resource:1"}]}`)))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Summarize(b)
		if err != nil {
			if s != nil || CodeOf(err) != CodeBadPayload {
				t.Fatalf("Summarize: %v, %v", s, err)
			}
			return
		}
		_ = s.String()
		check := func(c Coding) {
			if c.Name != "" && c.Name != terminology.Display(c.System, c.Code) {
				t.Fatalf("%+v is not the table's name", c)
			}
		}
		for _, im := range s.Immunizations {
			check(im.Vaccine)
		}
		for _, lr := range s.LabResults {
			check(lr.Test)
		}
		for _, rep := range s.LabReports {
			check(rep.Test)
		}
	})
}
