package authz

import (
	"encoding/json"
	"slices"
	"time"
)

// Code systems of security labels.
const (
	systemConfidentiality = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
	systemActCode         = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	systemActReason       = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
)

// SensitiveActCodes are the v3 ActCode sensitivity codes
// (ActInformationSensitivityPolicy) that mark a resource sensitive.
var SensitiveActCodes = []string{
	"HIV", "PSY", "ETH", "STD", "SDV", "SEX", "SCA", "SUD", "BH", "GDIS", "MST", "SICKLE", "TBOO",
	"DRGIS", "ALC", "COMPT", "DEMO", "DIA", "DOV", "PDS", "PRS", "SOC", "SPI", "LIVARG",
}

// sensitiveCategories returns the sensitivity categories of a resource:
// "R" or "V" for confidentiality restricted/very restricted, an ActCode such
// as "HIV", or the category the configured value set gives one of its codes.
// Empty means not sensitive.
func (e *Engine) sensitiveCategories(f *facts) []string {
	var out []string
	add := func(c string) {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	for _, s := range f.Security {
		switch {
		case s.System == systemConfidentiality && (s.Code == "R" || s.Code == "V"):
			add(s.Code)
		case s.System == systemActCode && slices.Contains(SensitiveActCodes, s.Code):
			add(s.Code)
		}
	}
	for _, c := range f.Code {
		if cat, ok := e.sensitive[c.System+"|"+c.Code]; ok {
			add(cat)
		}
	}
	return out
}

// consent is one permit provision of an active Consent of the patient.
type consent struct {
	Actors     []string // references ("Practitioner/1"); empty means any actor
	Purposes   []string // ActReason codes; empty means any purpose
	Categories []string // security label codes the provision permits; empty means every sensitive category
}

// parseConsents returns the permit provisions of the patient's active
// Consents that are in force at now. A Consent that cannot be read permits
// nothing.
func parseConsents(bs [][]byte, patientID string, now time.Time) []consent {
	var out []consent
	for _, b := range bs {
		var in struct {
			ResourceType string    `json:"resourceType"`
			Status       string    `json:"status"`
			Patient      reference `json:"patient"`
			Provision    *struct {
				Type   string  `json:"type"`
				Period *period `json:"period"`
				Actor  []struct {
					Reference reference `json:"reference"`
				} `json:"actor"`
				Purpose       []coding `json:"purpose"`
				SecurityLabel []coding `json:"securityLabel"`
			} `json:"provision"`
		}
		if json.Unmarshal(b, &in) != nil || in.ResourceType != "Consent" || in.Status != "active" || in.Provision == nil {
			continue
		}
		if refID(in.Patient.Reference, "Patient") != patientID {
			continue
		}
		pv := in.Provision
		if pv.Type != "permit" || !inPeriod(pv.Period, now) {
			continue
		}
		var c consent
		for _, a := range pv.Actor {
			c.Actors = append(c.Actors, normRef(a.Reference.Reference))
		}
		for _, p := range pv.Purpose {
			c.Purposes = append(c.Purposes, p.Code)
		}
		for _, l := range pv.SecurityLabel {
			c.Categories = append(c.Categories, l.Code)
		}
		out = append(out, c)
	}
	return out
}

// normRef reduces a reference to "Type/id".
func normRef(ref string) string {
	for _, t := range []string{"Practitioner", "RelatedPerson", "Patient", "Organization", "Device", "PractitionerRole"} {
		if id := refID(ref, t); id != "" {
			return t + "/" + id
		}
	}
	return ref
}

// permits reports whether some consent releases every category in cats to
// the actor (a "Type/id" reference, "" for actors without one) for purpose.
func permits(cs []consent, actor, purpose string, cats []string) bool {
	for _, cat := range cats {
		ok := false
		for _, c := range cs {
			if len(c.Actors) > 0 && (actor == "" || !slices.Contains(c.Actors, actor)) {
				continue
			}
			if len(c.Purposes) > 0 && !slices.Contains(c.Purposes, purpose) {
				continue
			}
			if len(c.Categories) > 0 && !slices.Contains(c.Categories, cat) {
				continue
			}
			ok = true
			break
		}
		if !ok {
			return false
		}
	}
	return true
}
