package oauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/healthcards/healthcards/issuer/identity"
)

// redirectError follows an authorization URL and returns the error the
// app receives at its redirect URI.
func (s *stack) redirectError(t *testing.T, u string) url.Values {
	t.Helper()
	resp, body := s.do("GET", u, nil, nil)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), s.redirect+"?") {
		t.Fatalf("want a redirect to the app with an error, got %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	return loc.Query()
}

// Attacks on the authorization endpoint: each refused with the error RFC
// 6749 and RFC 7636 name, and an unregistered redirect URI is never
// redirected to.
func TestAuthorizeRefusals(t *testing.T) {
	s := start(t, "sqlite", "")
	conf := s.config()
	v := oauth2.GenerateVerifier()
	aud := oauth2.SetAuthURLParam("aud", s.fhir)
	for _, c := range []struct {
		name string
		url  string
		want string
	}{
		{"pkce-missing", conf.AuthCodeURL("s1", aud), "invalid_request"},
		{"pkce-plain", conf.AuthCodeURL("s1", aud, oauth2.SetAuthURLParam("code_challenge", v), oauth2.SetAuthURLParam("code_challenge_method", "plain")), "invalid_request"},
		{"pkce-no-method", conf.AuthCodeURL("s1", aud, oauth2.SetAuthURLParam("code_challenge", oauth2.S256ChallengeFromVerifier(v))), "invalid_request"},
		{"aud-missing", conf.AuthCodeURL("s1", oauth2.S256ChallengeOption(v)), "invalid_request"},
		{"aud-other", conf.AuthCodeURL("s1", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("aud", "https://evil.example/fhir")), "invalid_request"},
		{"implicit", conf.AuthCodeURL("s1", aud, oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("response_type", "token")), "unsupported_response_type"},
		{"prompt-none", conf.AuthCodeURL("s1", aud, oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("prompt", "none")), "login_required"},
		{"request-object", conf.AuthCodeURL("s1", aud, oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("request", "e30.e30.")), "request_not_supported"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := s.redirectError(t, c.url)
			if q.Get("error") != c.want || q.Get("state") != "s1" || q.Get("code") != "" {
				t.Fatalf("redirect query %v, want error=%s state=s1", q, c.want)
			}
		})
	}
	for _, c := range []struct{ name, redirect, client string }{
		{"unregistered-redirect", "https://evil.example/cb", s.clientID},
		{"redirect-other-path", "http://127.0.0.1/other", s.clientID},
		{"redirect-other-host", "http://localhost/callback", s.clientID},
		{"redirect-https-for-http", "https://127.0.0.1/callback", s.clientID},
		{"redirect-userinfo", "http://evil.example@127.0.0.1/callback", s.clientID},
		{"unknown-client", s.redirect, "shcc_nobody"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cc := *conf
			cc.RedirectURL, cc.ClientID = c.redirect, c.client
			resp, _ := s.do("GET", cc.AuthCodeURL("s1", aud, oauth2.S256ChallengeOption(v)), nil, nil)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("got %d Location %q; an unregistered redirect URI must never be redirected to", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
	// A loopback redirect URI may differ in its port only (RFC 8252).
	cc := *conf
	cc.RedirectURL = "http://127.0.0.1:49152/callback"
	resp, _ := s.do("GET", cc.AuthCodeURL("s1", aud, oauth2.S256ChallengeOption(v)), nil, nil)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/oauth/consent?id=") {
		t.Fatalf("loopback with a port: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// authorize-post: the same request as a form.
	au, _ := url.Parse(conf.AuthCodeURL("s1", aud, oauth2.S256ChallengeOption(v)))
	if resp, _ := s.do("POST", s.base+"/oauth/authorize", au.Query(), nil); resp.StatusCode != http.StatusFound ||
		!strings.HasPrefix(resp.Header.Get("Location"), "/oauth/consent?id=") {
		t.Fatalf("authorize by POST: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Without a patient session the person is sent to sign in, and back.
	resp, _ = s.do("GET", s.base+resp.Header.Get("Location"), nil, nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/account/signin?next=%2Foauth%2Fconsent%3Fid%3D") {
		t.Fatalf("no session: %d %q", resp.StatusCode, loc)
	}
}

// Attacks on the token endpoint: a wrong verifier, a reused code (whose
// tokens are then revoked), a redirect_uri mismatch, tokens of one kind
// used as the other.
func TestTokenRefusals(t *testing.T) {
	s := start(t, "sqlite", "")
	conf := s.config()
	exchange := func(code, verifier, redirect string) (int, map[string]any) {
		return s.form("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
			"redirect_uri": {redirect}, "client_id": {s.clientID}})
	}

	v := oauth2.GenerateVerifier()
	code := s.authorize(conf, v, "s2", labType).Query().Get("code")
	status, m := exchange(code, oauth2.GenerateVerifier(), s.redirect)
	oauthErr(t, status, m, http.StatusBadRequest, "invalid_grant")
	status, m = exchange(code, v, s.redirect) // a code is burnt by a failed attempt too
	oauthErr(t, status, m, http.StatusBadRequest, "invalid_grant")

	v = oauth2.GenerateVerifier()
	code = s.authorize(conf, v, "s3", labType).Query().Get("code")
	status, m = exchange(code, v, "http://127.0.0.1:9/callback")
	oauthErr(t, status, m, http.StatusBadRequest, "invalid_grant")

	v = oauth2.GenerateVerifier()
	code = s.authorize(conf, v, "s4", labType).Query().Get("code")
	status, m = exchange(code, "", s.redirect)
	if status == http.StatusOK {
		t.Fatalf("a code without its verifier: %v", m)
	}

	// Code reuse: refused, and the tokens of the first redemption revoked.
	v = oauth2.GenerateVerifier()
	code = s.authorize(conf, v, "s5", labType).Query().Get("code")
	status, first := exchange(code, v, s.redirect)
	if status != http.StatusOK {
		t.Fatalf("first redemption: %d %v", status, first)
	}
	at, rt := first["access_token"].(string), first["refresh_token"].(string)
	if st, _ := s.issue(at, "pt-1001", labType); st != http.StatusOK {
		t.Fatalf("before the replay: %d", st)
	}
	status, m = exchange(code, v, s.redirect)
	oauthErr(t, status, m, http.StatusBadRequest, "invalid_grant")
	if st, _ := s.issue(at, "pt-1001", labType); st != http.StatusUnauthorized {
		t.Fatalf("the access token of a replayed code: %d, want 401", st)
	}
	status, m = s.refresh(rt)
	oauthErr(t, status, m, http.StatusBadRequest, "invalid_grant")

	// Tokens in the wrong place.
	tok := s.tokens(labType)
	status, m = s.refresh(tok.AccessToken)
	oauthErr(t, status, m, http.StatusBadRequest, "invalid_grant")
	if st, _ := s.issue(tok.RefreshToken, "pt-1001", labType); st != http.StatusUnauthorized {
		t.Fatalf("a refresh token as bearer: %d, want 401", st)
	}
	// Another client cannot use, revoke or introspect this client's tokens.
	other, secret, err := s.oa.AddClient(context.Background(), "Other App", []string{"https://other.example/cb"}, true)
	if err != nil {
		t.Fatal(err)
	}
	status, m = s.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
		"client_id": {other.ID}, "client_secret": {secret}})
	oauthErr(t, status, m, http.StatusBadRequest, "invalid_grant")
	status, m = s.form("/oauth/revoke", url.Values{"token": {tok.RefreshToken}, "client_id": {other.ID}, "client_secret": {secret}})
	oauthErr(t, status, m, http.StatusUnauthorized, "invalid_client")
	introspect := func(id, secret, token string) (int, map[string]any) {
		r, _ := http.NewRequest("POST", s.base+"/oauth/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		resp, err := s.web.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	status, m = introspect(other.ID, secret, tok.AccessToken)
	if status != http.StatusOK || m["active"] != false {
		t.Fatalf("introspection by another client: %d %v", status, m)
	}
	if status, _ = introspect(other.ID, "wrong", tok.AccessToken); status != http.StatusUnauthorized {
		t.Fatalf("introspection with a wrong secret: %d", status)
	}
	// A confidential client introspects its own token (RFC 7662).
	v = oauth2.GenerateVerifier()
	cconf := s.config()
	cconf.ClientID, cconf.ClientSecret, cconf.RedirectURL = other.ID, secret, "https://other.example/cb"
	cconf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	save := s.redirect
	s.redirect = cconf.RedirectURL
	code = s.authorize(cconf, v, "s8", labType).Query().Get("code")
	s.redirect = save
	ctok, err := cconf.Exchange(s.ctx(), code, oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	status, m = introspect(other.ID, secret, ctok.AccessToken)
	if status != http.StatusOK || m["active"] != true || m["patient"] != "pt-1001" || m["client_id"] != other.ID || m["authorization_details"] == nil {
		t.Fatalf("introspection of an own token: %d %v", status, m)
	}
	if status, m = introspect(other.ID, secret, ctok.RefreshToken); status != http.StatusOK || m["active"] != false {
		t.Fatalf("introspection of a refresh token: %d %v", status, m)
	}
	status, m = s.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
		"client_id": {other.ID}, "client_secret": {"wrong"}})
	if status != http.StatusUnauthorized && status != http.StatusBadRequest || m["error"] == nil {
		t.Fatalf("a wrong client secret: %d %v", status, m)
	}
	// Grant types the server does not offer.
	for _, gt := range []string{"client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer", "password", "implicit"} {
		status, m = s.form("/oauth/token", url.Values{"grant_type": {gt}, "client_id": {s.clientID}})
		oauthErr(t, status, m, http.StatusBadRequest, "unsupported_grant_type")
	}
	// The refresh token still works for its own client.
	if status, m = s.refresh(tok.RefreshToken); status != http.StatusOK {
		t.Fatalf("own refresh: %d %v", status, m)
	}
}

// The consent form is bound to the signed-in person, the session's CSRF
// token and a per-request form token; Deny answers access_denied.
func TestConsentForm(t *testing.T) {
	s := start(t, "sqlite", "")
	conf := s.config()
	v := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("s6", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("aud", s.fhir))
	f := s.consentForm(authURL, s.cookie)
	f.Set("decision", "allow")
	f["type"] = []string{labType}
	for _, c := range []struct {
		name string
		edit func(url.Values)
	}{
		{"no-csrf", func(f url.Values) { f.Del("csrf") }},
		{"wrong-csrf", func(f url.Values) { f.Set("csrf", "x"+f.Get("csrf")) }},
		{"wrong-form-token", func(f url.Values) { f.Set("form", "x"+f.Get("form")) }},
		{"other-person", func(f url.Values) { f.Set("person", "pt-2002") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := url.Values{}
			for k, vs := range f {
				g[k] = append([]string(nil), vs...)
			}
			c.edit(g)
			resp, _ := s.do("POST", s.base+"/oauth/consent", g, s.cookie)
			if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Location") != "" {
				t.Fatalf("got %d %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
	// Another patient cannot answer (or even open) this person's request.
	ck2, csrf2 := s.patient(identity.Enrolment{Name: "Other Person", Patient: "pt-2002", Evidence: "passport", IAL: "IAL2", By: "staff-1"})
	g := url.Values{}
	for k, vs := range f {
		g[k] = vs
	}
	g.Set("csrf", csrf2)
	if resp, _ := s.do("POST", s.base+"/oauth/consent", g, ck2); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("another account's answer: %d", resp.StatusCode)
	}
	if resp, _ := s.do("GET", s.base+"/oauth/consent?id="+url.QueryEscape(f.Get("id")), nil, ck2); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("another account opened the request: %d", resp.StatusCode)
	}
	// Deny: access_denied with the app's state, and the request is gone.
	f.Set("decision", "deny")
	resp, _ := s.do("POST", s.base+"/oauth/consent", f, s.cookie)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "s6" {
		t.Fatalf("deny: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := s.do("POST", s.base+"/oauth/consent", f, s.cookie); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("the same form again: %d", resp.StatusCode)
	}
	// Narrowing: vaccinations only; the lab result is then out of reach.
	tok := s.tokens(immType)
	for _, ct := range []string{labType, "Observation"} {
		if st, body := s.issue(tok.AccessToken, "pt-1001", ct); st != http.StatusForbidden {
			t.Fatalf("a narrowed-out card type %s: %d %s", ct, st, body)
		}
	}
	// Allowed types, but the lab card is filtered out: the token's scope
	// (narrowed to patient/Immunization.rs by the consent) no longer reads
	// Observation, and its authorization_details would refuse it too.
	for _, ct := range []string{"https://smarthealth.cards#covid19"} {
		if st, body := s.issue(tok.AccessToken, "pt-1001", ct); st != http.StatusForbidden || !strings.Contains(body, "no read scope for Observation") {
			t.Fatalf("%s with vaccinations only allowed: %d %s", ct, st, body)
		}
	}
	if st, body := s.issue(tok.AccessToken, "pt-1001", "https://smarthealth.cards#health-card"); st != http.StatusForbidden || !strings.Contains(body, "no read scope for Observation") {
		t.Fatalf("every card, with vaccinations only allowed: %d %s", st, body)
	}
	// The remembered consent is filled in on the next request.
	f = s.consentForm(conf.AuthCodeURL("s7", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("aud", s.fhir)), s.cookie)
	_, page := s.do("GET", s.base+"/oauth/consent?id="+url.QueryEscape(f.Get("id")), nil, s.cookie)
	if !strings.Contains(page, "You allowed this app before") || strings.Contains(page, `value="`+labType+`" checked`) ||
		!strings.Contains(page, `value="`+immType+`" checked`) {
		t.Fatalf("remembered consent not filled in: %s", page)
	}
	// A wallet may name the resource type (OP-6) of an allowed card type.
	lab := s.tokens(labType)
	if st, body := s.issue(lab.AccessToken, "pt-1001", "Observation"); st != http.StatusOK || !strings.Contains(body, "verifiableCredential") {
		t.Fatalf("credentialType Observation with laboratory results allowed: %d %s", st, body)
	}
}

// Discovery: smart-configuration lists the built-in server's endpoints
// and capabilities; the OpenID configuration is served at the issuer URL.
func TestDiscovery(t *testing.T) {
	s := start(t, "sqlite", "")
	resp, body := s.do("GET", s.fhir+"/.well-known/smart-configuration", nil, nil)
	var sc map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &sc) != nil {
		t.Fatalf("smart-configuration: %d %s", resp.StatusCode, body)
	}
	for k, want := range map[string]string{"authorization_endpoint": "/oauth/authorize", "token_endpoint": "/oauth/token",
		"revocation_endpoint": "/oauth/revoke", "introspection_endpoint": "/oauth/introspect", "jwks_uri": "/oauth/jwks",
		"management_endpoint": "/account/apps"} {
		if sc[k] != s.base+want {
			t.Errorf("%s = %v, want %s", k, sc[k], s.base+want)
		}
	}
	for _, want := range []string{`"code_challenge_methods_supported":["S256"]`, `"context-standalone-patient"`, `"permission-offline"`,
		`"authorize-post"`, `"health-cards"`, `"refresh_token"`} {
		if !strings.Contains(body, want) {
			t.Errorf("smart-configuration lacks %s: %s", want, body)
		}
	}
	if strings.Contains(body, "implicit") || strings.Contains(body, "client_credentials") {
		t.Errorf("smart-configuration claims what is not served: %s", body)
	}
	resp, body = s.do("GET", s.base+"/.well-known/openid-configuration", nil, nil)
	var oc map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &oc) != nil || oc["issuer"] != s.base || oc["jwks_uri"] != s.base+"/oauth/jwks" {
		t.Fatalf("openid-configuration: %d %s", resp.StatusCode, body)
	}
	if oc["end_session_endpoint"] != nil || oc["device_authorization_endpoint"] != nil || strings.Contains(body, "id_token token") {
		t.Errorf("openid-configuration names what is not served: %s", body)
	}
	resp, body = s.do("GET", s.base+"/oauth/jwks", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"alg":"ES256"`) || strings.Contains(body, `"d":`) {
		t.Fatalf("jwks: %d %s", resp.StatusCode, body)
	}
}
