package authz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/healthcards/healthcards/internal/jsonlite"
	"github.com/healthcards/healthcards/issuer"
)

// DetailType is the RFC 9396 authorization_details type this project
// defines (docs/authorization.md).
const DetailType = "healthcards:cards"

// Limits of authorization_details.
const (
	maxDetails     = 16
	maxDetailItems = 64
	maxDetailBytes = 16 << 10
)

// Detail is one parsed authorization_details entry of type
// "healthcards:cards". An empty list means no restriction by that field.
type Detail struct {
	Patient         string   // patient id; "" any patient the token reaches
	CredentialTypes []string // credentialType values the caller may request
	ResourceTypes   []string // clinical resource types a card may carry
	Categories      TokenFilter
	Codes           TokenFilter
	Since           time.Time // resources dated before are left out; zero: any date
	Actions         []string  // "issue", "share"; empty means both
	// ExcludeSensitive ("sensitive": false) leaves out cards with
	// sensitive results even for the patient's own request: the patient
	// chose so on the consent page (issuer/oauth).
	ExcludeSensitive bool
}

// TokenFilter keeps resources with a coding in Include (when not empty) and
// none in Exclude.
type TokenFilter struct {
	Include []Token
	Exclude []Token
}

func (f TokenFilter) keeps(cs []coding) bool {
	if len(f.Include) > 0 && !anyTokenMatches(f.Include, cs) {
		return false
	}
	return !anyTokenMatches(f.Exclude, cs)
}

// ParseAuthorizationDetails parses an authorization_details claim. Entries
// of other types are ignored; an entry of type "healthcards:cards" must be
// exactly as documented (member names exact, each at most once, no unknown
// members) or the whole claim is refused with CodeInvalidAuthorizationDetails.
func ParseAuthorizationDetails(raw []byte) ([]Detail, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if len(raw) > maxDetailBytes {
		return nil, badDetails("authorization_details is over %d bytes", maxDetailBytes)
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, badDetails("authorization_details must be a JSON array of objects (RFC 9396)")
	}
	var out []Detail
	for i, e := range entries {
		var head struct {
			Type *string `json:"type"`
		}
		if json.Unmarshal(e, &head) != nil || head.Type == nil {
			return nil, badDetails("authorization_details[%d] is not an object with a type (RFC 9396)", i)
		}
		if *head.Type != DetailType {
			continue // unknown types are not ours to judge
		}
		if len(out) == maxDetails {
			return nil, badDetails("more than %d %s details", maxDetails, DetailType)
		}
		d, err := parseDetail(e)
		if err != nil {
			return nil, badDetails("authorization_details[%d] (%s): %v", i, DetailType, err)
		}
		out = append(out, d)
	}
	return out, nil
}

func parseDetail(b []byte) (Detail, error) {
	var in struct {
		Type            string          `json:"type"`
		Locations       []string        `json:"locations"`
		Patient         string          `json:"patient"`
		CredentialTypes []string        `json:"credentialTypes"`
		ResourceTypes   []string        `json:"resourceTypes"`
		Categories      json.RawMessage `json:"categories"`
		Codes           json.RawMessage `json:"codes"`
		Since           string          `json:"since"`
		Actions         []string        `json:"actions"`
		Sensitive       *bool           `json:"sensitive"`
	}
	var d Detail
	if err := jsonlite.DecodeExact(b, &in); err != nil {
		return d, fmt.Errorf("members are type, patient, credentialTypes, resourceTypes, categories, codes, since, actions, sensitive, locations (exact names, each once): %v", err)
	}
	d.ExcludeSensitive = in.Sensitive != nil && !*in.Sensitive
	for _, l := range [][]string{in.Locations, in.CredentialTypes, in.ResourceTypes, in.Actions} {
		if len(l) > maxDetailItems {
			return d, fmt.Errorf("a list is longer than %d", maxDetailItems)
		}
	}
	if in.Patient != "" {
		d.Patient = in.Patient
		if id := refID(in.Patient, "Patient"); id != "" {
			d.Patient = id
		}
		if !issuer.ValidID(d.Patient) {
			return d, fmt.Errorf("patient must be a Patient id or reference")
		}
	}
	for _, ct := range in.CredentialTypes {
		if ct == "" || len(ct) > 256 {
			return d, fmt.Errorf("credentialTypes holds an empty or over-long value")
		}
	}
	d.CredentialTypes = in.CredentialTypes
	for _, t := range in.ResourceTypes {
		if !issuer.ValidResourceType(t) {
			return d, fmt.Errorf("resourceTypes holds %q, not a FHIR resource type", trunc(t))
		}
	}
	d.ResourceTypes = in.ResourceTypes
	var err error
	if d.Categories, err = parseTokenFilter(in.Categories); err != nil {
		return d, fmt.Errorf("categories: %v", err)
	}
	if d.Codes, err = parseTokenFilter(in.Codes); err != nil {
		return d, fmt.Errorf("codes: %v", err)
	}
	if in.Since != "" {
		if d.Since, err = issuer.ParseFHIRDateTime(in.Since); err != nil {
			return d, fmt.Errorf("since must be a FHIR date or dateTime")
		}
	}
	for _, a := range in.Actions {
		if a != "issue" && a != "share" {
			return d, fmt.Errorf("actions holds %q; the actions are issue and share", trunc(a))
		}
	}
	if in.Actions != nil && len(in.Actions) == 0 {
		return d, fmt.Errorf("actions is empty; omit it to allow issue and share")
	}
	d.Actions = in.Actions
	return d, nil
}

// parseTokenFilter reads {"include": [tokens], "exclude": [tokens]}.
func parseTokenFilter(b json.RawMessage) (TokenFilter, error) {
	var f TokenFilter
	if len(b) == 0 {
		return f, nil
	}
	var in struct {
		Include []string `json:"include"`
		Exclude []string `json:"exclude"`
	}
	if err := jsonlite.DecodeExact(b, &in); err != nil {
		return f, fmt.Errorf(`want {"include": [...], "exclude": [...]} of "system|code" or "code" tokens`)
	}
	if len(in.Include)+len(in.Exclude) > maxDetailItems {
		return f, fmt.Errorf("more than %d tokens", maxDetailItems)
	}
	if in.Include != nil && len(in.Include) == 0 {
		return f, fmt.Errorf("include is empty; omit it to include everything")
	}
	for _, v := range in.Include {
		t, err := ParseToken(v)
		if err != nil {
			return f, err
		}
		f.Include = append(f.Include, t)
	}
	for _, v := range in.Exclude {
		t, err := ParseToken(v)
		if err != nil {
			return f, err
		}
		f.Exclude = append(f.Exclude, t)
	}
	return f, nil
}

// allowsAction reports whether d covers the action for patient.
func (d *Detail) allowsAction(action Action, patient string) bool {
	if d.Patient != "" && d.Patient != patient {
		return false
	}
	return len(d.Actions) == 0 || slices.Contains(d.Actions, string(action))
}

// allowsCredentialTypes reports whether every requested credentialType is
// one the detail lists (when it lists any).
func (d *Detail) allowsCredentialTypes(cts []string) bool {
	if len(d.CredentialTypes) == 0 {
		return true
	}
	for _, ct := range cts {
		if !slices.Contains(d.CredentialTypes, ct) {
			return false
		}
	}
	return true
}

// keeps reports whether the detail lets a card with these clinical
// resources through.
func (d *Detail) keeps(rs []*facts) bool {
	for _, r := range rs {
		if len(d.ResourceTypes) > 0 && !slices.Contains(d.ResourceTypes, r.Type) {
			return false
		}
		if !d.Categories.keeps(r.Category) || !d.Codes.keeps(r.Code) {
			return false
		}
		if !d.Since.IsZero() && (r.Date.IsZero() || r.Date.Before(d.Since)) {
			return false
		}
	}
	return true
}
