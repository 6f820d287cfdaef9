package oauth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/healthcards/healthcards/issuer/oauth"
)

// onePerson is a patient signed in for every request.
type onePerson struct{}

func (onePerson) Viewer(*http.Request) (*oauth.Viewer, error) {
	return &oauth.Viewer{AccountID: "acct-1", Name: "Pat", CSRF: "csrf-1",
		Persons: []oauth.Person{{Patient: "pt-1", FHIRUser: "Patient/pt-1", Name: "Pat", Self: true}}}, nil
}

// A refresh token family has an absolute lifetime (RefreshTokenTTL from
// the code redemption): rotating it keeps the family's expiry, so a
// wallet that refreshes every day still signs in again after 90 days.
func TestRefreshFamilyAbsoluteLifetime(t *testing.T) {
	e, clk, client := bareServer(t, oauth.Config{People: onePerson{}})
	const from = "192.0.2.9:1000"
	v := oauth2.GenerateVerifier()
	q := url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {"http://127.0.0.1/callback"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(v)}, "code_challenge_method": {"S256"}, "aud": {"https://lab.example/fhir"},
		"scope": {"launch/patient offline_access patient/*.rs"}, "state": {"s1"}}
	w := serve(e, "GET", "/oauth/authorize?"+q.Encode(), from, nil)
	w = serve(e, "GET", w.Header().Get("Location"), from, nil)
	f := url.Values{}
	for _, m := range hidden.FindAllStringSubmatch(w.Body.String(), -1) {
		f.Set(m[1], m[2])
	}
	f.Set("csrf", "csrf-1")
	f.Set("decision", "allow")
	f["type"] = []string{labType}
	w = serve(e, "POST", "/oauth/consent", from, f)
	loc, _ := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusFound || loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("consent: %d %q %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	token := func(f url.Values) (*httptest.ResponseRecorder, string) {
		f.Set("client_id", client)
		w := serve(e, "POST", "/oauth/token", from, f)
		var m struct {
			RefreshToken string `json:"refresh_token"`
		}
		json.Unmarshal(w.Body.Bytes(), &m)
		return w, m.RefreshToken
	}
	w, rt := token(url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {"http://127.0.0.1/callback"}, "code_verifier": {v}})
	if w.Code != http.StatusOK || !strings.HasPrefix(rt, "shcrt_") {
		t.Fatalf("code exchange: %d %s", w.Code, w.Body)
	}
	// Refreshed every 10 days: each rotation works until the family's
	// 90 days are over, and not after, however fresh the last token.
	for day := 10; day <= 100; day += 10 {
		clk.add(10 * 24 * time.Hour)
		w, next := token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		if day < 90 {
			if w.Code != http.StatusOK || next == "" {
				t.Fatalf("day %d: %d %s", day, w.Code, w.Body)
			}
			rt = next
			continue
		}
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "invalid_grant") {
			t.Fatalf("day %d, past the family's 90 days: %d %s", day, w.Code, w.Body)
		}
	}
}
