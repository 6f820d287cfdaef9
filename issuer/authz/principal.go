package authz

import (
	"context"
	"strings"
	"time"

	cedar "github.com/cedar-policy/cedar-go"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/auth"
)

type principalKind int

const (
	kindCapability principalKind = iota
	kindPatient
	kindRelatedPerson
	kindPractitioner
	kindLab
	kindSystem
	kindStaff
)

func (k principalKind) String() string {
	return [...]string{"the holder of a card link", "a patient", "a related person", "a practitioner", "a lab system", "a system client", "a staff account"}[k]
}

// Cedar entity types.
const (
	typePatient       = cedar.EntityType("Patient")
	typeRelatedPerson = cedar.EntityType("RelatedPerson")
	typePractitioner  = cedar.EntityType("Practitioner")
	typeLabSystem     = cedar.EntityType("LabSystem")
	typeSystem        = cedar.EntityType("SystemClient")
	typeCapability    = cedar.EntityType("CapabilityHolder")
	typeCard          = cedar.EntityType("Card")
	typeLink          = cedar.EntityType("Link")
	typeStaff         = cedar.EntityType("Staff")
	typeLab           = cedar.EntityType("Lab")
	typeAction        = cedar.EntityType("Action")
)

// principal is the Cedar principal a token stands for.
type principal struct {
	kind          principalKind
	uid           cedar.EntityUID
	id            string   // FHIR id of the user's resource, token id or subject
	launchPatient string   // SMART "patient" claim
	labScopes     []string // lab scopes the token really has (auth.Principal.Has)
	smartScopes   []string
	role          string          // Staff: the account's role
	actor         string          // Staff: audit actor
	who           *auth.Principal // the token (nil: capability holder, staff)
}

// actorOf is the audit actor of the principal; for tokens it is computed
// (a keyed hash for JWTs) only when asked, i.e. when a Link is the resource.
func (pr principal) actorOf() string {
	if pr.who != nil {
		return pr.who.Actor()
	}
	return pr.actor
}

// principalOf maps a token to its principal: the fhirUser claim names a
// Patient, RelatedPerson or Practitioner; else a "patient" claim makes the
// patient; an API token is a lab system; any other JWT is a system client.
func principalOf(p *auth.Principal) principal {
	if p == nil {
		return principal{kind: kindCapability, uid: cedar.NewEntityUID(typeCapability, "")}
	}
	pr := principal{launchPatient: p.Patient, smartScopes: p.Scopes, who: p}
	for _, s := range auth.AllLabScopes {
		if p.Has(s) {
			pr.labScopes = append(pr.labScopes, s)
		}
	}
	if p.Kind == "token" {
		pr.kind, pr.id = kindLab, p.ID
		pr.uid = cedar.NewEntityUID(typeLabSystem, cedar.String(p.ID))
		return pr
	}
	for _, c := range []struct {
		typ  string
		kind principalKind
	}{{"Patient", kindPatient}, {"RelatedPerson", kindRelatedPerson}, {"Practitioner", kindPractitioner}} {
		if id := refID(p.FHIRUser, c.typ); id != "" && issuer.ValidID(id) {
			pr.kind, pr.id = c.kind, id
			pr.uid = cedar.NewEntityUID(cedar.EntityType(c.typ), cedar.String(id))
			return pr
		}
	}
	if p.Patient != "" {
		pr.kind, pr.id = kindPatient, p.Patient
		pr.uid = cedar.NewEntityUID(typePatient, cedar.String(p.Patient))
		return pr
	}
	pr.kind, pr.id = kindSystem, p.ID
	pr.uid = cedar.NewEntityUID(typeSystem, cedar.String(p.ID))
	return pr
}

// ref is the principal's FHIR reference for Consent actors ("" if none).
func (pr principal) ref() string {
	switch pr.kind {
	case kindPatient:
		return "Patient/" + pr.id
	case kindRelatedPerson:
		return "RelatedPerson/" + pr.id
	case kindPractitioner:
		return "Practitioner/" + pr.id
	}
	return ""
}

// purpose is the v3 ActReason purpose of use a request of this principal
// serves, matched against Consent.provision.purpose.
func (pr principal) purpose() string {
	switch pr.kind {
	case kindPatient:
		return "PATRQT"
	case kindRelatedPerson:
		return "FAMRQT"
	case kindPractitioner:
		return "TREAT"
	}
	return "HOPERAT"
}

// levels are the SMART scope levels that count for the principal: a
// patient's own patient/ and user/ scopes; for a related person or a
// practitioner user/ scopes, and patient/ scopes only with a launch patient
// (the launch-context forbids keep them on that patient); system/ scopes
// for system clients.
func (pr principal) levels() []string {
	switch pr.kind {
	case kindSystem:
		return []string{"system"}
	case kindPatient:
		return []string{"patient", "user"}
	case kindRelatedPerson, kindPractitioner:
		if pr.launchPatient != "" {
			return []string{"patient", "user"}
		}
		return []string{"user"}
	}
	return nil
}

// relations are the facts about the patient and the principal's
// relation to them, read from the patient's FHIR data.
type relations struct {
	patientID string
	found     bool // the Patient exists
	patient   patientFacts
	careTeam  []string
	related   *relatedPerson
	consents  []consent
}

// loadRelations reads the Patient, and the RelatedPerson, CareTeam and
// Consent resources the principal's policies and the card filter need.
func (e *Engine) loadRelations(ctx context.Context, rel *relations, pr principal, now time.Time) error {
	pb, err := e.src.Patient(ctx, rel.patientID)
	switch {
	case err == nil:
		rel.found = true
		rel.patient = parsePatient(pb)
	case issuer.CodeOf(err) == issuer.CodeNotFound:
		return nil // nothing to relate to; the operation answers not found
	default:
		return err
	}
	var types []string
	switch pr.kind {
	case kindRelatedPerson:
		types = append(types, "RelatedPerson")
	case kindPractitioner:
		types = append(types, "CareTeam")
	}
	if pr.kind != kindPatient || pr.id != rel.patientID {
		types = append(types, "Consent")
	}
	if len(types) == 0 {
		return nil
	}
	res, err := e.src.Resources(ctx, rel.patientID, types)
	if err != nil {
		return err
	}
	var consents [][]byte
	for _, r := range res {
		switch r.Type {
		case "RelatedPerson":
			if r.ID != pr.id {
				continue
			}
			if rp, ok := parseRelatedPerson(r.JSON, now); ok && rp.Patient == rel.patientID {
				rel.related = &rp
			}
		case "CareTeam":
			rel.careTeam = append(rel.careTeam, careTeamMembers(r.JSON, now)...)
		case "Consent":
			consents = append(consents, r.JSON)
		}
	}
	rel.consents = parseConsents(consents, rel.patientID, now)
	return nil
}

func uidSet(typ cedar.EntityType, ids []string) cedar.Set {
	vs := make([]cedar.Value, 0, len(ids))
	for _, id := range ids {
		vs = append(vs, cedar.NewEntityUID(typ, cedar.String(id)))
	}
	return cedar.NewSet(vs...)
}

func stringSet(ss []string) cedar.Set {
	vs := make([]cedar.Value, 0, len(ss))
	for _, s := range ss {
		vs = append(vs, cedar.String(s))
	}
	return cedar.NewSet(vs...)
}

// request builds the Cedar entities and request. Every attribute the
// schema declares is always set, so that no policy errors on a missing one.
func (e *Engine) request(pr principal, action Action, t Target, rel *relations, now time.Time) (cedar.EntityMap, cedar.Request) {
	ents := cedar.EntityMap{}
	puid := cedar.NewEntityUID(typePatient, cedar.String(t.Patient))
	minor := !rel.patient.BirthDate.IsZero() && ageOn(rel.patient.BirthDate, now) < e.majority
	ents[puid] = cedar.Entity{UID: puid, Attributes: cedar.NewRecord(cedar.RecordMap{
		"id":                   cedar.String(t.Patient),
		"minor":                cedar.Boolean(minor),
		"careTeam":             uidSet(typePractitioner, rel.careTeam),
		"generalPractitioners": uidSet(typePractitioner, rel.patient.GPs),
	})}
	switch pr.kind {
	case kindRelatedPerson:
		rp := relatedPerson{}
		other := "" // a RelatedPerson of another patient, or unknown: relates to nobody we know
		if rel.related != nil {
			rp = *rel.related
			other = rp.Patient
		}
		rpPatient := cedar.NewEntityUID(typePatient, cedar.String(other))
		ents[pr.uid] = cedar.Entity{UID: pr.uid, Attributes: cedar.NewRecord(cedar.RecordMap{
			"patient":       rpPatient,
			"relationships": stringSet(rp.Relationships),
			"active":        cedar.Boolean(rp.Active),
			"hasPeriod":     cedar.Boolean(rp.HasPeriod),
			"inPeriod":      cedar.Boolean(rp.InPeriod),
		})}
	case kindLab:
		ents[pr.uid] = cedar.Entity{UID: pr.uid, Attributes: cedar.NewRecord(cedar.RecordMap{"scopes": stringSet(pr.labScopes)})}
	case kindStaff:
		ents[pr.uid] = cedar.Entity{UID: pr.uid, Attributes: cedar.NewRecord(cedar.RecordMap{"role": cedar.String(pr.role)})}
	case kindSystem:
		ents[pr.uid] = cedar.Entity{UID: pr.uid, Attributes: cedar.NewRecord(cedar.RecordMap{
			"scopes":     stringSet(append(append([]string{}, pr.labScopes...), systemScopes(pr.smartScopes)...)),
			"systemRead": cedar.Boolean(len(readScopes(pr.smartScopes, "system")) > 0),
		})}
	case kindPatient:
		if pr.uid != puid {
			ents[pr.uid] = cedar.Entity{UID: pr.uid, Attributes: cedar.NewRecord(cedar.RecordMap{
				"id": cedar.String(pr.id), "minor": cedar.False,
				"careTeam": cedar.NewSet(), "generalPractitioners": cedar.NewSet(),
			})}
		}
	}
	resource := puid
	actor := "" // context.actor: set for links (their creator is compared with it) and staff
	if pr.kind == kindStaff {
		actor = pr.actor
	}
	switch {
	case t.Card != "":
		resource = cedar.NewEntityUID(typeCard, cedar.String(t.Card))
		ents[resource] = cedar.Entity{UID: resource, Attributes: cedar.NewRecord(cedar.RecordMap{"patient": puid})}
	case t.Link != "":
		actor = pr.actorOf()
		resource = cedar.NewEntityUID(typeLink, cedar.String(t.Link))
		ents[resource] = cedar.Entity{UID: resource, Attributes: cedar.NewRecord(cedar.RecordMap{"patient": puid, "creator": cedar.String(t.LinkCreator)})}
	case t.Patient == "" && pr.kind == kindStaff:
		resource = cedar.NewEntityUID(typeLab, "")
		ents[resource] = cedar.Entity{UID: resource}
	}
	return ents, cedar.Request{
		Principal: pr.uid,
		Action:    cedar.NewEntityUID(typeAction, cedar.String(action)),
		Resource:  resource,
		Context:   cedar.NewRecord(cedar.RecordMap{"launchPatient": cedar.String(pr.launchPatient), "actor": cedar.String(actor)}),
	}
}

func systemScopes(ss []string) []string {
	var out []string
	for _, s := range ss {
		if strings.HasPrefix(s, "system/") {
			out = append(out, s)
		}
	}
	return out
}
