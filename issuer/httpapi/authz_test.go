package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/authz"
	"github.com/healthcards/healthcards/issuer/httpapi"
	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
	"github.com/healthcards/healthcards/issuer/store"
)

// authzNow is the decision date of the issue 12 decision table: relations,
// periods and ages are judged on it (an injected clock, not the wall clock).
var authzNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

const (
	labCat    = `{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}`
	vitalCat  = `{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}`
	hivLabel  = `{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"HIV"}]}`
	covidPCR  = "94500-6"
	hivTest   = "75622-1"
	bodyTemp  = "8310-5"
	vsCodeHIV = "http://loinc.org|56888-1" // configured sensitive value set entry
)

func obs(id, patient, cat, code, date, meta string) store.Resource {
	m := ""
	if meta != "" {
		m = `"meta":` + meta + `,`
	}
	j := fmt.Sprintf(`{"resourceType":"Observation","id":%q,%s"status":"final","category":[%s],"code":{"coding":[{"system":"http://loinc.org","code":%q}]},"subject":{"reference":"Patient/%s"},"effectiveDateTime":%q,"performer":[{"reference":"Organization/org1"}],"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009"}]}}`,
		id, m, cat, code, patient, date)
	d, _ := time.Parse("2006-01-02", date[:10])
	return store.Resource{Type: "Observation", ID: id, Date: d, JSON: json.RawMessage(j)}
}

func res(typ, id, j string) store.Resource {
	return store.Resource{Type: typ, ID: id, JSON: json.RawMessage(j)}
}

func relPerson(id, patient, code, extra string) store.Resource {
	return res("RelatedPerson", id, fmt.Sprintf(`{"resourceType":"RelatedPerson","id":%q,"patient":{"reference":"Patient/%s"},"relationship":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-RoleCode","code":%q}]}]%s}`, id, patient, code, extra))
}

func careTeam(id, status string, members ...string) store.Resource {
	var ps []string
	for _, m := range members {
		ps = append(ps, `{"member":{"reference":"Practitioner/`+m+`"}}`)
	}
	return res("CareTeam", id, fmt.Sprintf(`{"resourceType":"CareTeam","id":%q,"status":%q,"participant":[%s]}`, id, status, strings.Join(ps, ",")))
}

func consentRes(id, patient, actor, label, start, end string) store.Resource {
	return res("Consent", id, fmt.Sprintf(`{"resourceType":"Consent","id":%q,"status":"active","patient":{"reference":"Patient/%s"},"provision":{"type":"permit","period":{"start":%q,"end":%q},"actor":[{"reference":{"reference":%q}}],"securityLabel":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":%q}]}}`, id, patient, start, end, actor, label))
}

// seedAuthz stores the patients of the decision table.
func seedAuthz(t *testing.T, st issuer.Store) {
	t.Helper()
	org := res("Organization", "org1", `{"resourceType":"Organization","id":"org1","name":"Example Lab"}`)
	put := func(id, birth, gp string, rs ...store.Resource) {
		t.Helper()
		p := fmt.Sprintf(`{"resourceType":"Patient","id":%q,"name":[{"family":"Test","given":["A"]}],"birthDate":%q`, id, birth)
		if gp != "" {
			p += `,"generalPractitioner":[{"reference":"Practitioner/` + gp + `"}]`
		}
		p += "}"
		if err := st.PutResources(context.Background(), id, json.RawMessage(p), append(rs, org)); err != nil {
			t.Fatal(err)
		}
	}
	put("adult1", "1980-04-12", "gp1",
		obs("a1-lab", "adult1", labCat, covidPCR, "2026-02-20", ""),
		obs("a1-vital", "adult1", vitalCat, bodyTemp, "2026-04-01", ""),
		obs("a1-hiv", "adult1", labCat, hivTest, "2026-01-10", hivLabel),
		careTeam("ct1", "active", "prA", "prD"),
		consentRes("c-prA", "adult1", "Practitioner/prA", "HIV", "2026-01-01", "2026-12-31"),
		consentRes("c-gp1-old", "adult1", "Practitioner/gp1", "HIV", "2020-01-01", "2021-12-31"),
		relPerson("rpPOA", "adult1", "POWATT", `,"period":{"start":"2025-01-01"}`),
		relPerson("rpPOAold", "adult1", "POWATT", `,"period":{"start":"2020-01-01","end":"2021-12-31"}`),
		relPerson("rpParentOfAdult", "adult1", "PRN", ""),
		relPerson("rpInactive", "adult1", "POWATT", `,"active":false,"period":{"start":"2025-01-01"}`),
	)
	put("adult2", "1975-01-01", "",
		obs("a2-lab", "adult2", labCat, covidPCR, "2026-03-01", ""),
		obs("a2-hiv", "adult2", labCat, hivTest, "2026-03-02", hivLabel),
		careTeam("ct2", "active", "prA"),
		careTeam("ct3", "inactive", "prE"),
		res("CareTeam", "ct4", `{"resourceType":"CareTeam","id":"ct4","status":"active","participant":[{"member":{"reference":"Practitioner/prF"},"period":{"end":"2025-12-31"}}]}`),
	)
	put("adult3", "1990-01-01", "",
		obs("a3-vs", "adult3", labCat, strings.TrimPrefix(vsCodeHIV, "http://loinc.org|"), "2026-03-01", ""),
		careTeam("ct5", "active", "prA"),
	)
	put("minor1", "2015-03-01", "",
		obs("m1-lab", "minor1", labCat, covidPCR, "2026-05-01", ""),
		relPerson("rpMom", "minor1", "MTH", ""),
		relPerson("rpGuardEnded", "minor1", "GUARD", `,"period":{"start":"2020-01-01","end":"2025-12-31"}`),
	)
	put("turned18", "2008-06-01", "",
		obs("t18-lab", "turned18", labCat, covidPCR, "2026-05-01", ""),
		relPerson("rpDad", "turned18", "FTH", ""),
	)
	put("almost18", "2008-06-16", "",
		obs("al18-lab", "almost18", labCat, covidPCR, "2026-05-01", ""),
		relPerson("rpDad2", "almost18", "FTH", ""),
	)
}

// startAuthz starts the real service with a decision point on the clock
// authzNow and a configured sensitive value set.
func startAuthz(t *testing.T) *httpapitest.Server {
	t.Helper()
	return httpapitest.Start(t, httpapitest.Options{ConfigAPI: func(c *httpapi.Config) {
		st := c.Issuer.Store()
		az, err := authz.New(authz.Config{
			Source:         issuer.StoreSource{Store: st, BaseURL: c.BaseURL + "/fhir"},
			Audit:          st,
			Now:            func() time.Time { return authzNow },
			SensitiveCodes: map[string]string{vsCodeHIV: "HIV"},
		})
		if err != nil {
			t.Fatal(err)
		}
		c.Authz = az
		links, err := httpapi.NewLinks(httpapi.LinksConfig{Issuer: c.Issuer, Auth: c.Auth, BaseURL: c.BaseURL, Authz: az})
		if err != nil {
			t.Fatal(err)
		}
		c.Mount = links.Mount
		seedAuthz(t, st)
	}})
}

func cardsIn(t *testing.T, b []byte) int {
	t.Helper()
	var p struct {
		ResourceType string
		Parameter    []struct{ Name string }
	}
	if err := json.Unmarshal(b, &p); err != nil || p.ResourceType != "Parameters" {
		t.Fatalf("not Parameters: %s", b)
	}
	n := 0
	for _, x := range p.Parameter {
		if x.Name == "verifiableCredential" {
			n++
		}
	}
	return n
}

// TestAuthorizationDecisionTable runs the issue 12 decision table against
// the real handlers (and, through TestAPISuiteOnStores, on SQLite and
// PostgreSQL).
func TestAuthorizationDecisionTable(t *testing.T) {
	s := startAuthz(t)
	const all = "https://smarthealth.cards#health-card"
	type row struct {
		name    string
		claims  httpapitest.Claims
		patient string
		ct      string // credentialType (default #health-card)
		status  int
		cards   int    // when 200
		code    string // OperationOutcome code when not 200
		text    string // substring of the OperationOutcome text
	}
	rar := func(s string) json.RawMessage { return json.RawMessage(s) }
	rows := []row{
		// Self.
		{name: "self, patient/*.read", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/*.read"}, patient: "adult1", status: 200, cards: 3},
		{name: "self by fhirUser", claims: httpapitest.Claims{FHIRUser: "Patient/adult1", Scope: "user/*.rs"}, patient: "adult1", status: 200, cards: 3},
		{name: "Observation scope only: cards with their Organization", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/Observation.read"}, patient: "adult1", status: 200, cards: 3},
		{name: "v2 Observation.rs", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/Observation.rs"}, patient: "adult1", status: 200, cards: 3},
		{name: "granular category=laboratory", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/Observation.rs?category=laboratory"}, patient: "adult1", status: 200, cards: 2},
		{name: "granular category with system", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"}, patient: "adult1", status: 200, cards: 1},
		{name: "granular code", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/Observation.rs?code=http://loinc.org|" + covidPCR}, patient: "adult1", status: 200, cards: 1},
		{name: "granular code OR list", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/Observation.rs?code=" + covidPCR + "," + bodyTemp}, patient: "adult1", status: 200, cards: 2},
		{name: "two granular scopes OR", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/Observation.rs?code=" + covidPCR + " patient/Observation.rs?category=vital-signs"}, patient: "adult1", status: 200, cards: 2},
		{name: "granular restriction matching nothing explains", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/Observation.rs?category=imaging"}, patient: "adult1", status: 403, code: "forbidden", text: "outside the category/code restrictions"},
		{name: "scope for another type explains", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/Immunization.rs"}, patient: "adult1", status: 403, code: "forbidden", text: "no read scope for Observation"},
		{name: "unsupported granular parameter grants nothing", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/Observation.rs?status=final"}, patient: "adult1", status: 403, code: "forbidden", text: "no read scope"},
		{name: "write-only scope", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/Observation.cud"}, patient: "adult1", status: 403, code: "forbidden"},
		{name: "token for another patient", claims: httpapitest.Claims{Patient: "adult2", Scope: "patient/*.read"}, patient: "adult1", status: 403, code: "forbidden", text: "launch-context-patient"},
		{name: "fhirUser of another patient", claims: httpapitest.Claims{FHIRUser: "Patient/adult2", Scope: "user/*.rs"}, patient: "adult1", status: 403, code: "forbidden", text: "no policy allows"},
		// Related persons.
		{name: "mother of a minor", claims: httpapitest.Claims{FHIRUser: "RelatedPerson/rpMom", Scope: "user/Observation.rs"}, patient: "minor1", status: 200, cards: 1},
		{name: "mother of a minor, in patient context", claims: httpapitest.Claims{FHIRUser: "RelatedPerson/rpMom", Patient: "minor1", Scope: "patient/*.rs"}, patient: "minor1", status: 200, cards: 1},
		{name: "mother in the context of another patient", claims: httpapitest.Claims{FHIRUser: "RelatedPerson/rpMom", Patient: "adult1", Scope: "patient/*.rs"}, patient: "minor1", status: 403, code: "forbidden", text: "launch-context-patient"},
		{name: "guardian whose period ended", claims: httpapitest.Claims{FHIRUser: "RelatedPerson/rpGuardEnded", Scope: "user/*.rs"}, patient: "minor1", status: 403, code: "forbidden"},
		{name: "father after the ward's 18th birthday", claims: httpapitest.Claims{FHIRUser: "RelatedPerson/rpDad", Scope: "user/*.rs"}, patient: "turned18", status: 403, code: "forbidden"},
		{name: "father the day before the 18th birthday", claims: httpapitest.Claims{FHIRUser: "RelatedPerson/rpDad2", Scope: "user/*.rs"}, patient: "almost18", status: 200, cards: 1},
		{name: "power of attorney in its period (sensitive withheld)", claims: httpapitest.Claims{FHIRUser: "RelatedPerson/rpPOA", Scope: "user/*.rs"}, patient: "adult1", status: 200, cards: 2},
		{name: "power of attorney outside its period", claims: httpapitest.Claims{FHIRUser: "RelatedPerson/rpPOAold", Scope: "user/*.rs"}, patient: "adult1", status: 403, code: "forbidden"},
		{name: "parent of an adult without an explicit relationship", claims: httpapitest.Claims{FHIRUser: "RelatedPerson/rpParentOfAdult", Scope: "user/*.rs"}, patient: "adult1", status: 403, code: "forbidden"},
		{name: "inactive RelatedPerson: forbid wins", claims: httpapitest.Claims{FHIRUser: "RelatedPerson/rpInactive", Scope: "user/*.rs"}, patient: "adult1", status: 403, code: "forbidden", text: "inactive-related-person"},
		{name: "RelatedPerson of another patient", claims: httpapitest.Claims{FHIRUser: "RelatedPerson/rpMom", Scope: "user/*.rs"}, patient: "adult1", status: 403, code: "forbidden"},
		{name: "unknown RelatedPerson", claims: httpapitest.Claims{FHIRUser: "RelatedPerson/nobody", Scope: "user/*.rs"}, patient: "minor1", status: 403, code: "forbidden"},
		// Practitioners and sensitive results.
		{name: "care team, sensitive with consent", claims: httpapitest.Claims{FHIRUser: "Practitioner/prA", Scope: "user/*.rs"}, patient: "adult1", status: 200, cards: 3},
		{name: "care team, consent for another actor", claims: httpapitest.Claims{FHIRUser: "Practitioner/prD", Scope: "user/*.rs"}, patient: "adult1", status: 200, cards: 2},
		{name: "general practitioner, expired consent", claims: httpapitest.Claims{FHIRUser: "Practitioner/gp1", Scope: "user/*.rs"}, patient: "adult1", status: 200, cards: 2},
		{name: "care team, sensitive without consent", claims: httpapitest.Claims{FHIRUser: "Practitioner/prA", Scope: "user/*.rs"}, patient: "adult2", status: 200, cards: 1},
		{name: "care team, only a sensitive result (value set): nothing revealed", claims: httpapitest.Claims{FHIRUser: "Practitioner/prA", Scope: "user/*.rs"}, patient: "adult3", status: 200, cards: 0},
		{name: "self sees own sensitive result", claims: httpapitest.Claims{Patient: "adult3", Scope: "patient/*.rs"}, patient: "adult3", status: 200, cards: 1},
		{name: "practitioner off the care team", claims: httpapitest.Claims{FHIRUser: "Practitioner/prB", Scope: "user/*.rs"}, patient: "adult1", status: 403, code: "forbidden", text: "no policy allows a practitioner"},
		{name: "practitioner on an inactive care team", claims: httpapitest.Claims{FHIRUser: "Practitioner/prE", Scope: "user/*.rs"}, patient: "adult2", status: 403, code: "forbidden"},
		{name: "practitioner with a patient/ scope but no launch patient", claims: httpapitest.Claims{FHIRUser: "Practitioner/prA", Scope: "patient/*.rs"}, patient: "adult1", status: 403, code: "forbidden", text: "no read scope"},
		{name: "practitioner in the patient's launch context", claims: httpapitest.Claims{FHIRUser: "Practitioner/prA", Patient: "adult1", Scope: "patient/*.rs"}, patient: "adult1", status: 200, cards: 3},
		{name: "practitioner whose participation ended", claims: httpapitest.Claims{FHIRUser: "Practitioner/prF", Scope: "user/*.rs"}, patient: "adult2", status: 403, code: "forbidden"},
		// System clients.
		{name: "system client with a system read scope", claims: httpapitest.Claims{Subject: "backend-1", Scope: "system/Observation.rs"}, patient: "adult1", status: 200, cards: 2},
		{name: "system client, granular system scope", claims: httpapitest.Claims{Subject: "backend-1", Scope: "system/Observation.rs?category=vital-signs"}, patient: "adult1", status: 200, cards: 1},
		{name: "system client without a read scope", claims: httpapitest.Claims{Subject: "backend-1", Scope: "system/Observation.cud"}, patient: "adult1", status: 403, code: "forbidden"},
		{name: "registered lab client (cards:issue)", claims: httpapitest.Claims{Subject: httpapitest.LabClient, Scope: "cards:issue"}, patient: "adult1", status: 200, cards: 2},
		// authorization_details (RFC 9396).
		{name: "RAR excluding a category", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/*.rs", AuthorizationDetails: rar(`[{"type":"healthcards:cards","categories":{"exclude":["laboratory"]}}]`)}, patient: "adult1", status: 200, cards: 1},
		{name: "RAR including a code", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/*.rs", AuthorizationDetails: rar(`[{"type":"healthcards:cards","patient":"Patient/adult1","codes":{"include":["http://loinc.org|` + covidPCR + `"]}}]`)}, patient: "adult1", status: 200, cards: 1},
		{name: "RAR since", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/*.rs", AuthorizationDetails: rar(`[{"type":"healthcards:cards","since":"2026-02-01"}]`)}, patient: "adult1", status: 200, cards: 2},
		{name: "RAR ∩ scope: lab category and no vital signs", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/Observation.rs?category=laboratory", AuthorizationDetails: rar(`[{"type":"healthcards:cards","codes":{"exclude":["` + hivTest + `"]}}]`)}, patient: "adult1", status: 200, cards: 1},
		{name: "RAR resource type not on the cards explains", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/*.rs", AuthorizationDetails: rar(`[{"type":"healthcards:cards","resourceTypes":["Immunization"]}]`)}, patient: "adult1", status: 403, code: "forbidden", text: "authorization_details"},
		{name: "RAR for another patient", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/*.rs", AuthorizationDetails: rar(`[{"type":"healthcards:cards","patient":"adult2"}]`)}, patient: "adult1", status: 403, code: "forbidden", text: "authorization_details"},
		{name: "RAR share only, asked to issue", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/*.rs", AuthorizationDetails: rar(`[{"type":"healthcards:cards","actions":["share"]}]`)}, patient: "adult1", status: 403, code: "forbidden"},
		{name: "RAR other credential types", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/*.rs", AuthorizationDetails: rar(`[{"type":"healthcards:cards","credentialTypes":["Immunization"]}]`)}, patient: "adult1", status: 403, code: "forbidden"},
		{name: "RAR of an unknown type is ignored", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/*.rs", AuthorizationDetails: rar(`[{"type":"payment_initiation","amount":1}]`)}, patient: "adult1", status: 200, cards: 3},
		{name: "RAR malformed: unknown member", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/*.rs", AuthorizationDetails: rar(`[{"type":"healthcards:cards","categorys":{"exclude":["laboratory"]}}]`)}, patient: "adult1", status: 400, code: "invalid_authorization_details"},
		{name: "RAR malformed: not an array", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/*.rs", AuthorizationDetails: rar(`{"type":"healthcards:cards"}`)}, patient: "adult1", status: 400, code: "invalid_authorization_details"},
		{name: "RAR malformed: bad since", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/*.rs", AuthorizationDetails: rar(`[{"type":"healthcards:cards","since":"last week"}]`)}, patient: "adult1", status: 400, code: "invalid_authorization_details"},
		{name: "RAR malformed: unknown action", claims: httpapitest.Claims{Patient: "adult1", Scope: "patient/*.rs", AuthorizationDetails: rar(`[{"type":"healthcards:cards","actions":["delete"]}]`)}, patient: "adult1", status: 400, code: "invalid_authorization_details"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if r.claims.Subject == "" {
				r.claims.Subject = "user-" + r.patient
			}
			ct := r.ct
			if ct == "" {
				ct = all
			}
			tok := s.MintJWT(t, r.claims)
			got := do(t, s, "POST", "/fhir/Patient/"+r.patient+"/$health-cards-issue", tok, "", issueParams(ct))
			if got.Status != r.status {
				t.Fatalf("status %d, want %d: %s", got.Status, r.status, got.Body)
			}
			if r.status == 200 {
				if n := cardsIn(t, got.Body); n != r.cards {
					t.Fatalf("%d cards, want %d", n, r.cards)
				}
				// The signed cards are base64url: "HIV" turns up in them by
				// chance (one run in a few dozen); look only at the rest.
				rest := jwsValue.ReplaceAllString(string(got.Body), `"valueString":""`)
				if strings.Contains(rest, "HIV") || strings.Contains(rest, "withheld") {
					t.Fatalf("the answer mentions withheld content: %s", got.Body)
				}
				return
			}
			if c := outcomeCode(t, got.Body); c != r.code {
				t.Fatalf("code %q, want %q: %s", c, r.code, got.Body)
			}
			if !strings.Contains(string(got.Body), r.text) {
				t.Fatalf("outcome lacks %q: %s", r.text, got.Body)
			}
		})
	}
	t.Run("a revoked API token", func(t *testing.T) {
		st := s.Issuer.Store().(store.TokenStore)
		secret, tok, err := auth.NewToken([]string{auth.ScopeCardsRevoke}, "to revoke", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := st.PutToken(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		body := []byte(`{"patientId":"adult2"}`)
		if err := st.RevokeToken(context.Background(), tok.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		if r := do(t, s, "POST", "/v1/revocations", secret, "", body); r.Status != 401 {
			t.Fatalf("revoked token: %d %s", r.Status, r.Body)
		}
	})
	t.Run("an API token on $health-cards-issue", func(t *testing.T) {
		if r := do(t, s, "POST", "/fhir/Patient/adult1/$health-cards-issue", s.Token, "", issueParams(all)); r.Status != 403 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}

// TestAuthorizationLinksAndDownloads covers link creation, downloads and
// print pages through the decision point.
func TestAuthorizationLinksAndDownloads(t *testing.T) {
	s := startAuthz(t)
	link := func(tok, patient string) resp {
		return do(t, s, "POST", "/v1/links", tok, "", []byte(`{"patientId":"`+patient+`"}`))
	}
	cardsOf := func(r resp) int {
		var out struct{ Cards int }
		if err := json.Unmarshal(r.Body, &out); err != nil {
			t.Fatalf("%s", r.Body)
		}
		return out.Cards
	}
	// A lab system shares without the sensitive result (no consent).
	r := link(s.Token, "adult1")
	if r.Status != http.StatusCreated || cardsOf(r) != 2 {
		t.Fatalf("lab link: %d %s", r.Status, r.Body)
	}
	// The patient shares their own cards, all of them.
	self := s.MintJWT(t, httpapitest.Claims{Subject: "u", Patient: "adult1", Scope: "patient/*.rs"})
	if r := link(self, "adult1"); r.Status != http.StatusCreated || cardsOf(r) != 3 {
		t.Fatalf("self link: %d %s", r.Status, r.Body)
	}
	// A practitioner off the care team may not.
	off := s.MintJWT(t, httpapitest.Claims{Subject: "u", FHIRUser: "Practitioner/prB", Scope: "user/*.rs"})
	if r := link(off, "adult1"); r.Status != 403 {
		t.Fatalf("off-team link: %d %s", r.Status, r.Body)
	}
	// A patient may not sign a bundle of their own making.
	if r := do(t, s, "POST", "/v1/links", self, "", []byte(`{"bundle":{"resourceType":"Bundle"},"sign":true}`)); r.Status != 403 {
		t.Fatalf("patient signing a bundle: %d %s", r.Status, r.Body)
	}
	// RAR "issue only" refuses sharing.
	issueOnly := s.MintJWT(t, httpapitest.Claims{Subject: "u", Patient: "adult1", Scope: "patient/*.rs",
		AuthorizationDetails: json.RawMessage(`[{"type":"healthcards:cards","actions":["issue"]}]`)})
	if r := link(issueOnly, "adult1"); r.Status != 403 {
		t.Fatalf("issue-only token sharing: %d %s", r.Status, r.Body)
	}

	// Downloads and print pages of an issued card (capability URLs).
	tok := s.MintJWT(t, httpapitest.Claims{Subject: "u", Patient: "minor1", Scope: "patient/*.rs"})
	if r := do(t, s, "POST", "/fhir/Patient/minor1/$health-cards-issue", tok, "", issueParams("Observation")); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	r = do(t, s, "POST", "/v1/cards?format=json", s.Token, "", sample)
	var issued struct{ Cards []struct{ ID string } }
	if err := json.Unmarshal(r.Body, &issued); err != nil || len(issued.Cards) == 0 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	id := issued.Cards[0].ID
	if r := do(t, s, "GET", "/v1/cards/"+id+".jws", "", "", nil); r.Status != 200 {
		t.Fatalf("download: %d", r.Status)
	}
	if r := do(t, s, "GET", "/cards/"+id+"/print", "", "", nil); r.Status != 200 {
		t.Fatalf("print: %d", r.Status)
	}

	// Every decision is in the audit trail, without patient ids.
	evs, err := s.Issuer.Store().AuditLog(context.Background(), 200)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		if !strings.HasPrefix(e.Action, "authz.") {
			continue
		}
		seen[e.Action+" "+strings.Fields(e.Detail)[0]] = true
		for _, pid := range []string{"adult1", "minor1"} {
			if strings.Contains(e.Detail, pid) || strings.Contains(e.Actor, pid) {
				t.Fatalf("audit event carries a patient id: %+v", e)
			}
		}
		if e.Action == "authz.share" && strings.Contains(e.Detail, "decision=allow") && strings.Contains(e.Detail, "policies=lab-issue") && !strings.Contains(e.Detail, "withheld=1") {
			t.Errorf("lab share should record one withheld resource: %s", e.Detail)
		}
	}
	for _, want := range []string{"authz.share decision=allow", "authz.share decision=deny", "authz.issue decision=allow", "authz.download decision=allow", "authz.print decision=allow"} {
		if !seen[want] {
			t.Errorf("no audit event %q in %v", want, seen)
		}
	}
}

// GET /v1/links/{id} and its QR go through the decision point (action
// view on the Link): the creator and the link's patient see it; other
// principals get 404 (no oracle for link ids), and each decision is in the
// audit trail.
func TestAuthorizationLinkView(t *testing.T) {
	s := startAuthz(t)
	r := do(t, s, "POST", "/v1/links", s.Token, "", []byte(`{"patientId":"adult1"}`))
	var l struct{ ID string }
	if err := json.Unmarshal(r.Body, &l); r.Status != http.StatusCreated || err != nil || l.ID == "" {
		t.Fatalf("lab link: %d %s", r.Status, r.Body)
	}
	self := s.MintJWT(t, httpapitest.Claims{Subject: "u", Patient: "adult1", Scope: "patient/*.rs"})
	other := s.MintJWT(t, httpapitest.Claims{Subject: "u", Patient: "minor1", Scope: "patient/*.rs"})
	offTeam := s.MintJWT(t, httpapitest.Claims{Subject: "u", FHIRUser: "Practitioner/prB", Scope: "user/*.rs"})
	system := s.MintJWT(t, httpapitest.Claims{Subject: httpapitest.LabClient, Scope: "system/*.rs cards:issue"})
	for _, c := range []struct {
		name, tok string
		want      int
	}{
		{"creator", s.Token, 200}, {"the link's patient", self, 200},
		{"another patient", other, 404}, {"practitioner off the care team", offTeam, 404}, {"another system client", system, 404},
	} {
		for _, path := range []string{"/v1/links/" + l.ID, "/v1/links/" + l.ID + "/qr.png"} {
			if r := do(t, s, "GET", path, c.tok, "", nil); r.Status != c.want {
				t.Errorf("%s GET %s: %d, want %d", c.name, path, r.Status, c.want)
			}
		}
	}
	evs, err := s.Issuer.Store().AuditLog(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var allow, deny int
	for _, e := range evs {
		if e.Action != "authz.view" {
			continue
		}
		switch {
		case strings.Contains(e.Detail, "decision=allow") && (strings.Contains(e.Detail, "link-creator-view") || strings.Contains(e.Detail, "launch-patient-view-link")):
			allow++
		case strings.Contains(e.Detail, "decision=deny"):
			deny++
		}
		if strings.Contains(e.Detail, "adult1") {
			t.Fatalf("audit event carries the patient id: %+v", e)
		}
	}
	if allow != 4 || deny != 6 {
		t.Errorf("authz.view events: %d allow, %d deny; want 4, 6", allow, deny)
	}
}

// jwsValue matches the compact JWS of a verifiableCredential parameter.
var jwsValue = regexp.MustCompile(`"valueString":"eyJ[A-Za-z0-9_.-]*"`)
