package authz

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/healthcards/healthcards/issuer"
)

type coding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

type codeableConcept struct {
	Coding []coding `json:"coding"`
}

type period struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type reference struct {
	Reference string `json:"reference"`
}

// facts are what authorization reads from one clinical resource.
type facts struct {
	Type     string
	Date     time.Time
	Code     []coding // code / vaccineCode
	Category []coding // category
	Security []coding // meta.security
}

func resourceFacts(r issuer.ContentResource) *facts {
	var in struct {
		Meta struct {
			Security []coding `json:"security"`
		} `json:"meta"`
		Category    json.RawMessage `json:"category"` // array (Observation, DiagnosticReport) or object
		Code        codeableConcept `json:"code"`
		VaccineCode codeableConcept `json:"vaccineCode"`
	}
	f := &facts{Type: r.Type, Date: r.Date}
	if json.Unmarshal(r.JSON, &in) != nil {
		// The issuer parsed this resource already; a resource we cannot
		// read here carries unknown labels: treat it as restricted.
		f.Security = []coding{{System: systemConfidentiality, Code: "R"}}
		return f
	}
	f.Security = in.Meta.Security
	f.Code = append(append(f.Code, in.Code.Coding...), in.VaccineCode.Coding...)
	for _, c := range r.Codings {
		f.Code = append(f.Code, coding{System: c.System, Code: c.Code})
	}
	if len(in.Category) > 0 {
		var arr []codeableConcept
		if json.Unmarshal(in.Category, &arr) == nil {
			for _, cc := range arr {
				f.Category = append(f.Category, cc.Coding...)
			}
		} else {
			var one codeableConcept
			if json.Unmarshal(in.Category, &one) == nil {
				f.Category = one.Coding
			}
		}
	}
	return f
}

// refID returns the id of a reference to typ ("Practitioner/1", an absolute
// URL ending in "/Practitioner/1", or with a version "/_history/2"), or "".
func refID(ref, typ string) string {
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	i := strings.LastIndex(ref, "/")
	if i < 0 {
		return ""
	}
	head, id := ref[:i], ref[i+1:]
	if head != typ && !strings.HasSuffix(head, "/"+typ) {
		return ""
	}
	if id == "" || len(id) > 64 {
		return ""
	}
	return id
}

// inPeriod reports whether now lies in p; a missing bound is open, an
// unparseable bound makes the period not apply (fail closed).
func inPeriod(p *period, now time.Time) bool {
	if p == nil {
		return true
	}
	if p.Start != "" {
		t, err := issuer.ParseFHIRDateTime(p.Start)
		if err != nil || now.Before(t) {
			return false
		}
	}
	if p.End != "" {
		t, err := issuer.ParseFHIRDateTime(p.End)
		if err != nil {
			return false
		}
		if len(p.End) == len("2006-01-02") {
			t = t.AddDate(0, 0, 1) // a date end includes that whole day
		}
		if !now.Before(t) {
			return false
		}
	}
	return true
}

// patientFacts are what authorization reads from a Patient resource.
type patientFacts struct {
	BirthDate time.Time // zero if unknown
	GPs       []string  // Practitioner ids of generalPractitioner
}

func parsePatient(b []byte) patientFacts {
	var in struct {
		BirthDate           string      `json:"birthDate"`
		GeneralPractitioner []reference `json:"generalPractitioner"`
	}
	var pf patientFacts
	if json.Unmarshal(b, &in) != nil {
		return pf
	}
	if t, err := issuer.ParseFHIRDateTime(in.BirthDate); err == nil && len(in.BirthDate) == len("2006-01-02") {
		pf.BirthDate = t
	}
	for _, r := range in.GeneralPractitioner {
		if id := refID(r.Reference, "Practitioner"); id != "" {
			pf.GPs = append(pf.GPs, id)
		}
	}
	return pf
}

// ageOn returns the age in whole years on day now.
func ageOn(birth, now time.Time) int {
	y := now.Year() - birth.Year()
	if now.Month() < birth.Month() || now.Month() == birth.Month() && now.Day() < birth.Day() {
		y--
	}
	return y
}

// relatedPerson is what authorization reads from a RelatedPerson.
type relatedPerson struct {
	Patient       string // id of RelatedPerson.patient
	Relationships []string
	Active        bool
	HasPeriod     bool
	InPeriod      bool
}

func parseRelatedPerson(b []byte, now time.Time) (relatedPerson, bool) {
	var in struct {
		ResourceType string            `json:"resourceType"`
		Active       *bool             `json:"active"`
		Patient      reference         `json:"patient"`
		Relationship []codeableConcept `json:"relationship"`
		Period       *period           `json:"period"`
	}
	if json.Unmarshal(b, &in) != nil || in.ResourceType != "RelatedPerson" {
		return relatedPerson{}, false
	}
	rp := relatedPerson{Patient: refID(in.Patient.Reference, "Patient"), Active: in.Active == nil || *in.Active}
	for _, cc := range in.Relationship {
		for _, c := range cc.Coding {
			if c.Code != "" && len(rp.Relationships) < 32 {
				rp.Relationships = append(rp.Relationships, c.Code)
			}
		}
	}
	rp.HasPeriod = in.Period != nil && in.Period.Start != ""
	rp.InPeriod = inPeriod(in.Period, now)
	return rp, true
}

// careTeamMembers returns the Practitioner ids of an active CareTeam's
// participants whose periods include now.
func careTeamMembers(b []byte, now time.Time) []string {
	var in struct {
		ResourceType string  `json:"resourceType"`
		Status       string  `json:"status"`
		Period       *period `json:"period"`
		Participant  []struct {
			Member reference `json:"member"`
			Period *period   `json:"period"`
		} `json:"participant"`
	}
	if json.Unmarshal(b, &in) != nil || in.ResourceType != "CareTeam" {
		return nil
	}
	if in.Status != "" && in.Status != "active" || !inPeriod(in.Period, now) {
		return nil
	}
	var out []string
	for _, p := range in.Participant {
		if id := refID(p.Member.Reference, "Practitioner"); id != "" && inPeriod(p.Period, now) {
			out = append(out, id)
		}
	}
	return out
}
