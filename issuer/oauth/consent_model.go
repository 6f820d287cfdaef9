package oauth

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/authz"
)

// CardType is a kind of card a person can allow an app to fetch.
type CardType struct {
	URI   string   // the credentialType value ($health-cards-issue)
	Label string   // shown on the consent page
	Types []string // the clinical FHIR resource types of such cards
}

// CardTypes are the card types offered on the consent page.
var CardTypes = []CardType{
	{URI: "https://smarthealth.cards#immunization", Label: "Vaccinations", Types: []string{"Immunization"}},
	{URI: "https://smarthealth.cards#laboratory", Label: "Laboratory results", Types: []string{"Observation", "DiagnosticReport"}},
}

// AnyCardType is the credentialType that asks for every card, and
// CovidCardType the one for COVID-19 cards; a grant allows both, their
// cards limited to the allowed types by resourceTypes.
const (
	AnyCardType   = "https://smarthealth.cards#health-card"
	CovidCardType = "https://smarthealth.cards#covid19"
)

// Consent is what a person allowed an app (the grant), from which every
// token's authorization_details is built.
type Consent struct {
	// CredentialTypes are the URIs of the allowed CardTypes.
	CredentialTypes []string `json:"credentialTypes"`
	// Since leaves out results dated before (a FHIR date); "" means all.
	Since string `json:"since,omitempty"`
	// Sensitive includes sensitive results (HIV, mental health …, see
	// issuer/authz); false leaves them out even for the person's own cards.
	Sensitive bool `json:"sensitive"`
}

// AuthorizationDetails is the RFC 9396 authorization_details of a token
// for this consent and patient: one entry of type healthcards:cards, as
// issuer/authz parses it.
func (c Consent) AuthorizationDetails(patient string) json.RawMessage {
	d := map[string]any{"type": authz.DetailType, "patient": patient}
	cts := []string{}
	var rts []string
	for _, ct := range CardTypes {
		if slices.Contains(c.CredentialTypes, ct.URI) {
			cts = append(cts, ct.URI)
			cts = append(cts, ct.Types...) // credentialType may name a resource type (OP-6)
			rts = append(rts, ct.Types...)
		}
	}
	if len(cts) > 0 {
		// Requests for every card or for COVID-19 cards are allowed too:
		// resourceTypes keeps their cards to the allowed types.
		cts = append(cts, AnyCardType, CovidCardType)
	}
	d["credentialTypes"] = cts
	if len(rts) == 0 {
		rts = []string{"Basic"} // nothing allowed: a type no card carries
	}
	d["resourceTypes"] = rts
	if c.Since != "" {
		d["since"] = c.Since
	}
	if !c.Sensitive {
		d["sensitive"] = false
	}
	b, _ := json.Marshal([]any{d})
	return b
}

// NarrowScopes is the scope string a token of this consent carries: the
// patient/ and user/ resource scopes of clinical types the person left out
// are dropped, and a wildcard resource scope (patient/*.rs) is spelled out
// as the clinical types allowed, so that the scope says what the consent
// allows, as authorization_details does (issuer/authz enforces both).
// Other scopes (openid, fhirUser, launch/patient, offline_access, scopes
// of non-clinical types) are kept as they are.
func (c Consent) NarrowScopes(scopes []string) []string {
	clinical, allowed := map[string]bool{}, []string{}
	for _, ct := range CardTypes {
		for _, t := range ct.Types {
			clinical[t] = true
			if slices.Contains(c.CredentialTypes, ct.URI) && !slices.Contains(allowed, t) {
				allowed = append(allowed, t)
			}
		}
	}
	out := []string{}
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, s := range scopes {
		sc, err := authz.ParseScope(s)
		switch {
		case err != nil || sc.Level == "system":
			add(s)
		case sc.Type == "*":
			level, rest, _ := strings.Cut(s, "/*")
			for _, t := range allowed {
				add(level + "/" + t + rest)
			}
		case clinical[sc.Type] && !slices.Contains(allowed, sc.Type):
			// left out by the person
		default:
			add(s)
		}
	}
	return out
}

// Ask is what an app asked for, shown on the consent page.
type Ask struct {
	CardTypes []CardType
	Since     string // FHIR date or dateTime the app asked from; "" all
	Offline   bool   // offline_access: the app keeps access until withdrawn
}

// askOf derives what the app asks from its scopes and the optional
// authorization_details request parameter (healthcards:cards entries).
func askOf(scopes []string, details []authz.Detail) Ask {
	var a Ask
	want := map[string]bool{}
	for _, s := range scopes {
		if s == "offline_access" {
			a.Offline = true
		}
		sc, err := authz.ParseScope(s)
		if err != nil || sc.Level != "patient" {
			continue
		}
		for _, ct := range CardTypes {
			if sc.Type == "*" || slices.Contains(ct.Types, sc.Type) {
				want[ct.URI] = true
			}
		}
	}
	if len(details) > 0 {
		named := map[string]bool{}
		anyType := false
		var since time.Time
		for _, d := range details {
			if len(d.CredentialTypes) == 0 || slices.Contains(d.CredentialTypes, AnyCardType) {
				anyType = true
			}
			for _, ct := range d.CredentialTypes {
				named[ct] = true
			}
			if !d.Since.IsZero() && (since.IsZero() || d.Since.Before(since)) {
				since = d.Since
			}
		}
		if !anyType {
			for k := range want {
				if !named[k] {
					delete(want, k)
				}
			}
		}
		if !since.IsZero() {
			a.Since = since.UTC().Format("2006-01-02")
		}
	}
	for _, ct := range CardTypes {
		if want[ct.URI] {
			a.CardTypes = append(a.CardTypes, ct)
		}
	}
	return a
}

// narrow applies the person's choices on the consent form to the ask:
// only types asked for, a since no earlier than asked.
func (a Ask) narrow(types []string, since string, sensitive bool) (Consent, bool) {
	c := Consent{Sensitive: sensitive, CredentialTypes: []string{}}
	for _, ct := range a.CardTypes {
		if slices.Contains(types, ct.URI) {
			c.CredentialTypes = append(c.CredentialTypes, ct.URI)
		}
	}
	since = strings.TrimSpace(since)
	if since != "" {
		t, err := issuer.ParseFHIRDateTime(since)
		if err != nil || t.Year() < 1900 || t.Year() > 9999 {
			return c, false
		}
		since = t.UTC().Format("2006-01-02")
	}
	c.Since = since
	if a.Since != "" && (c.Since == "" || c.Since < a.Since) {
		c.Since = a.Since
	}
	return c, true
}
