package issuer

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/healthcards/healthcards/shc"
)

// IssueParams are the inputs of $health-cards-issue (OP-4).
type IssueParams struct {
	CredentialTypes []string  // required; several mean AND (OP-5)
	ValueSets       []string  // several mean AND (OP-7)
	Since           time.Time // zero: cards of any age (OP-9)
	IdentityClaims  []string  // e.g. "Patient.name" (OP-9)
}

const maxParameters = 100

// ParseParameters reads a FHIR Parameters resource for $health-cards-issue.
// credentialType is required (OP-4); unknown parameters are ignored.
func ParseParameters(b []byte) (IssueParams, error) {
	var in struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name          string  `json:"name"`
			ValueURI      *string `json:"valueUri"`
			ValueString   *string `json:"valueString"`
			ValueDateTime *string `json:"valueDateTime"`
		} `json:"parameter"`
	}
	var p IssueParams
	if err := json.Unmarshal(b, &in); err != nil {
		return p, errf(CodeInvalidParameters, "body is not a FHIR Parameters resource")
	}
	if in.ResourceType != "Parameters" {
		return p, errf(CodeInvalidParameters, "resourceType is %q, want \"Parameters\"", in.ResourceType)
	}
	if len(in.Parameter) > maxParameters {
		return p, errf(CodeTooLarge, "more than %d parameters", maxParameters)
	}
	sinceSeen := false
	for _, x := range in.Parameter {
		switch x.Name {
		case "credentialType":
			if x.ValueURI == nil || *x.ValueURI == "" {
				return p, errf(CodeInvalidParameters, "credentialType needs a valueUri (OP-4)")
			}
			p.CredentialTypes = append(p.CredentialTypes, *x.ValueURI)
		case "credentialValueSet":
			if x.ValueURI == nil || *x.ValueURI == "" {
				return p, errf(CodeInvalidParameters, "credentialValueSet needs a valueUri (OP-4)")
			}
			p.ValueSets = append(p.ValueSets, *x.ValueURI)
		case "includeIdentityClaim":
			if x.ValueString == nil {
				return p, errf(CodeInvalidParameters, "includeIdentityClaim needs a valueString (OP-4)")
			}
			p.IdentityClaims = append(p.IdentityClaims, *x.ValueString)
		case "_since":
			if sinceSeen {
				return p, errf(CodeInvalidParameters, "_since may appear once (OP-4)")
			}
			sinceSeen = true
			if x.ValueDateTime == nil {
				return p, errf(CodeInvalidParameters, "_since needs a valueDateTime (OP-4)")
			}
			t, err := ParseFHIRDateTime(*x.ValueDateTime)
			if err != nil {
				return p, errf(CodeInvalidParameters, "_since: %v", err)
			}
			p.Since = t
		}
	}
	if len(p.CredentialTypes) == 0 {
		return p, errf(CodeInvalidParameters, "credentialType is required (OP-4)")
	}
	return p, nil
}

// typeMatcher tests one credentialType against a card's content.
type typeMatcher func(g *group, types []string) bool

// credentialTypeMatcher maps a credentialType value to a test (OP-5, OP-6):
// a FHIR resource type must be on the card; legacy #immunization means
// Immunization and #laboratory Observation; #health-card matches every
// card; #covid19 needs COVID-19 content. Anything else matches nothing.
func credentialTypeMatcher(v string) typeMatcher {
	has := func(t string) typeMatcher {
		return func(_ *group, types []string) bool { return slices.Contains(types, t) }
	}
	legacy := strings.TrimPrefix(v, "https://smarthealth.cards")
	switch legacy {
	case "#immunization":
		return has(TypeImmunization)
	case "#laboratory":
		return has(TypeObservation)
	case "#health-card":
		return func(*group, []string) bool { return true }
	case "#covid19":
		return func(g *group, _ []string) bool {
			return groupInValueSet(g, KnownValueSets["https://terminology.smarthealth.cards/ValueSet/immunization-covid-all"]) ||
				groupInValueSet(g, KnownValueSets["https://terminology.smarthealth.cards/ValueSet/lab-qualitative-test-covid"])
		}
	}
	if ValidResourceType(v) {
		return has(v)
	}
	return func(*group, []string) bool { return false }
}

// ValidResourceType reports whether s has the syntax of a FHIR resource
// type name: an upper-case ASCII letter, then ASCII letters, at most 64.
func ValidResourceType(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// Parameters is a FHIR Parameters resource. An empty one marshals as
// {"resourceType":"Parameters"} with no parameter element (OP-10).
type Parameters struct {
	ResourceType string      `json:"resourceType"`
	Parameter    []Parameter `json:"parameter,omitempty"`
}

// Parameter is one Parameters.parameter.
type Parameter struct {
	Name         string      `json:"name"`
	ValueString  *string     `json:"valueString,omitempty"`
	ValueURI     *string     `json:"valueUri,omitempty"`
	ValueInteger *int        `json:"valueInteger,omitempty"`
	Part         []Parameter `json:"part,omitempty"`
}

// OperationOptions adjust HealthCardsIssue.
type OperationOptions struct {
	// Actor is recorded in the audit log.
	Actor string
	// Allowed, if set, filters cards by the resource types on them (for
	// example the types the caller's SMART scopes may read). A card is
	// issued only if Allowed(types) is true.
	Allowed func(types []string) bool
	// Filter, if set, sees each card that passed the other tests with its
	// resources and decides whether it is issued (issue 12: granular
	// scopes, authorization_details and sensitive results are decided on
	// the resources, package issuer/authz).
	Filter func(c CardContent) bool
}

// CardContent is what a card would carry, for OperationOptions.Filter:
// its clinical resources and the supporting resources they reference.
type CardContent struct {
	Types      []string // resource types on the card, sorted, Patient included
	Clinical   []ContentResource
	Supporting []ContentResource
}

// ContentResource is one resource of a CardContent, as stored.
type ContentResource struct {
	Type    string
	ID      string
	Date    time.Time // clinically relevant date; zero if unknown
	Codings []Coding  // Observation/DiagnosticReport.code, Immunization.vaccineCode
	JSON    json.RawMessage
}

func cardContent(g *group, types []string) CardContent {
	cc := CardContent{Types: types}
	for _, r := range g.Resources {
		cc.Clinical = append(cc.Clinical, ContentResource{Type: r.Type, ID: r.ID, Date: r.Date, Codings: r.Codings, JSON: r.JSON})
	}
	for _, r := range g.Support {
		cc.Supporting = append(cc.Supporting, ContentResource{Type: r.Type, ID: r.ID, Date: r.Date, JSON: r.JSON})
	}
	return cc
}

// HealthCardsIssue answers POST /Patient/{id}/$health-cards-issue (OP-3..11)
// from src: it reads the patient's data, splits it into granular cards
// (PAY-10), keeps the cards holding every requested credentialType (AND,
// OP-5) and content from every requested value set (AND, OP-7), updated
// on or after _since (OP-9), signs them for file/FHIR delivery (no QR size
// rule) and returns them with resourceLink entries (OP-11). No match gives
// an empty Parameters, not an error (OP-10).
func (is *Issuer) HealthCardsIssue(ctx context.Context, src Source, patientID string, p IssueParams, opts OperationOptions) (Parameters, []Card, error) {
	empty := Parameters{ResourceType: "Parameters"}
	if len(p.CredentialTypes) == 0 {
		return empty, nil, errf(CodeInvalidParameters, "credentialType is required (OP-4)")
	}
	if !ValidID(patientID) {
		return empty, nil, errf(CodeNotFound, "no Patient with that id")
	}
	patient, err := src.Patient(ctx, patientID)
	if err != nil {
		return empty, nil, err
	}
	stored, err := src.Resources(ctx, patientID, append(clinicalTypes[:len(clinicalTypes):len(clinicalTypes)], SupportingTypes...))
	if err != nil {
		return empty, nil, err
	}
	var res, support []*resource
	for _, s := range stored {
		r, err := parseResource(s.JSON)
		if err != nil || r.Type != s.Type {
			continue
		}
		r.ID = s.ID
		if r.Date.IsZero() {
			r.Date = s.Date
		}
		if isSupporting(r.Type) {
			support = append(support, r)
		} else {
			res = append(res, r)
		}
	}
	groups := splitGranular(res)
	attachSupporting(groups, support)
	matchers := make([]typeMatcher, len(p.CredentialTypes))
	for i, t := range p.CredentialTypes {
		matchers[i] = credentialTypeMatcher(t)
	}
	var keep []*group
	for _, g := range groups {
		types := g.types()
		ok := p.Since.IsZero() || !g.Date.Before(p.Since)
		for _, m := range matchers {
			ok = ok && m(g, types)
		}
		for _, u := range p.ValueSets {
			vs := KnownValueSets[u]
			ok = ok && vs != nil && groupInValueSet(g, vs)
		}
		if ok && opts.Allowed != nil {
			ok = opts.Allowed(types)
		}
		if ok && opts.Filter != nil {
			ok = opts.Filter(cardContent(g, types))
		}
		if ok {
			keep = append(keep, g)
		}
	}
	if len(keep) == 0 {
		return empty, nil, nil
	}
	pr := patientRecord{ID: patientID, FullURL: TypePatient + "/" + patientID, JSON: patient}
	cards, err := is.issueGroups(ctx, pr, keep, IssueOptions{Actor: opts.Actor, Delivery: DeliverFile, IdentityClaims: p.IdentityClaims})
	if err != nil {
		return empty, nil, err
	}
	out := empty
	for _, c := range cards {
		jws := c.JWS
		out.Parameter = append(out.Parameter, Parameter{Name: "verifiableCredential", ValueString: &jws})
	}
	for i, c := range cards {
		for _, r := range c.Resources {
			if r.ID == "" {
				continue
			}
			idx, b, h := i, r.Bundled, src.ResourceURL(r.Type, r.ID)
			part := []Parameter{{Name: "vcIndex", ValueInteger: &idx}, {Name: "bundledResource", ValueURI: &b}, {Name: "hostedResource", ValueURI: &h}}
			out.Parameter = append(out.Parameter, Parameter{Name: "resourceLink", Part: part})
		}
	}
	return out, cards, nil
}

// CardTypes returns the FHIR resource types in a card's bundle, sorted.
// It parses but does not verify the card: use it on cards this issuer
// just signed.
func CardTypes(jws string) ([]string, error) {
	c, err := shc.Parse(jws)
	if err != nil {
		return nil, err
	}
	var b struct {
		Entry []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(c.UnsafePayloadWithoutVerification().VC.CredentialSubject.FHIRBundle, &b); err != nil {
		return nil, err
	}
	var out []string
	for _, e := range b.Entry {
		if !slices.Contains(out, e.Resource.ResourceType) {
			out = append(out, e.Resource.ResourceType)
		}
	}
	slices.Sort(out)
	return out, nil
}
