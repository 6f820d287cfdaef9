package authz

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/healthcards/healthcards/internal/jsonlite"
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

// resourceFacts reads the labels (meta.security) and, when needCategory,
// the categories of a clinical resource; codes come from the issuer's own
// parse. It reads the top level with jsonlite and decodes only those two
// members. A resource that cannot be read this way (bad JSON, an escaped
// member name that could hide "meta") counts as restricted (fail closed).
func resourceFacts(r issuer.ContentResource, needCategory bool) *facts {
	f := &facts{Type: r.Type, Date: r.Date}
	for _, c := range r.Codings {
		f.Code = append(f.Code, coding{System: c.System, Code: c.Code})
	}
	restricted := func() *facts {
		f.Security = []coding{{System: systemConfidentiality, Code: "R"}}
		return f
	}
	var rd jsonlite.Reader
	rd.ResetShallow(r.JSON, 0)
	if !rd.Enter('{') {
		return restricted()
	}
	for {
		name, esc, ok := rd.Next()
		if !ok {
			break
		}
		if esc {
			return restricted()
		}
		switch string(name) {
		case "meta":
			raw, ok := rd.Skip()
			var m struct {
				Security []coding `json:"security"`
			}
			if !ok || json.Unmarshal(raw, &m) != nil {
				return restricted()
			}
			f.Security = m.Security
		case "category":
			raw, ok := rd.Skip()
			if !ok {
				return restricted()
			}
			if needCategory {
				f.Category = parseCategory(raw)
			}
		default:
			if _, ok := rd.Skip(); !ok {
				return restricted()
			}
		}
	}
	if rd.Err() != nil {
		return restricted()
	}
	return f
}

// parseCategory reads category: an array of CodeableConcept (Observation,
// DiagnosticReport) or one.
func parseCategory(raw []byte) []coding {
	var arr []codeableConcept
	if json.Unmarshal(raw, &arr) == nil {
		var out []coding
		for _, cc := range arr {
			out = append(out, cc.Coding...)
		}
		return out
	}
	var one codeableConcept
	if json.Unmarshal(raw, &one) == nil {
		return one.Coding
	}
	return nil
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
	var pf patientFacts
	var rd jsonlite.Reader
	rd.ResetShallow(b, 0)
	if !rd.Enter('{') {
		return pf
	}
	for {
		name, esc, ok := rd.Next()
		if !ok || esc {
			break // an unreadable Patient relates to nobody and is no minor
		}
		raw, ok := rd.Skip()
		if !ok {
			break
		}
		switch string(name) {
		case "birthDate":
			var s string
			if json.Unmarshal(raw, &s) == nil && len(s) == len("2006-01-02") {
				if t, err := issuer.ParseFHIRDateTime(s); err == nil {
					pf.BirthDate = t
				}
			}
		case "generalPractitioner":
			var refs []reference
			if json.Unmarshal(raw, &refs) == nil {
				for _, r := range refs {
					if id := refID(r.Reference, "Practitioner"); id != "" {
						pf.GPs = append(pf.GPs, id)
					}
				}
			}
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
