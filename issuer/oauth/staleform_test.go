package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"golang.org/x/oauth2"
)

// A stale or forged consent form is refused (403) and changes nothing:
// the remembered grant keeps its card types and sensitive flag (the form
// token is claimed before the grant is written, in one transaction).
func TestStaleConsentFormChangesNothing(t *testing.T) {
	s := start(t, "sqlite", "")
	ctx := context.Background()
	s.tokens(labType) // a grant: laboratory results, sensitive left out
	a, err := s.ids.PatientAccount(ctx, "pt-1001")
	if err != nil {
		t.Fatal(err)
	}
	conf := s.config()
	authURL := conf.AuthCodeURL("s8", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("aud", s.fhir))
	stale := s.consentForm(authURL, s.cookie)
	// The page opened again: a new form token, the first one is stale.
	if resp, _ := s.do("GET", s.base+"/oauth/consent?id="+url.QueryEscape(stale.Get("id")), nil, s.cookie); resp.StatusCode != http.StatusOK {
		t.Fatalf("consent page again: %d", resp.StatusCode)
	}
	forged := url.Values{}
	for k, v := range stale {
		forged[k] = slices.Clone(v)
	}
	forged.Set("form", "x"+stale.Get("form"))
	for name, f := range map[string]url.Values{"stale": stale, "forged": forged} {
		f.Set("decision", "allow")
		f["type"] = []string{labType, immType}
		f.Set("sensitive", "yes")
		if resp, _ := s.do("POST", s.base+"/oauth/consent", f, s.cookie); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("%s form: %d", name, resp.StatusCode)
		}
		gs, err := s.oa.Grants(ctx, a.ID)
		if err != nil || len(gs) != 1 {
			t.Fatalf("grants: %v %v", gs, err)
		}
		if c := gs[0].Consent; c.Sensitive || slices.Contains(c.CredentialTypes, immType) {
			t.Fatalf("the %s form changed the grant: %+v", name, c)
		}
	}
}
