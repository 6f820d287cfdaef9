package oauth_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/healthcards/healthcards/internal/identitytest"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/identity"
	"github.com/healthcards/healthcards/issuer/oauth"
	"github.com/healthcards/healthcards/issuer/service"
	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/keys"
)

// stack is the issuer service (service.New: the real echo server, the
// real databases) with the built-in authorization server, a patient with
// a passkey session, and a registered public client.
type stack struct {
	t        *testing.T
	base     string
	fhir     string
	web      *http.Client // a browser that follows no redirects
	ids      *identity.Service
	oa       *oauth.Store
	clientID string
	redirect string
	cookie   *http.Cookie // the patient's session
	csrf     string
	apiToken string // an API token with enrolments:write
}

const (
	labType = "https://smarthealth.cards#laboratory"
	immType = "https://smarthealth.cards#immunization"
)

func start(t *testing.T, kind, dsn string) *stack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	svc, err := service.New(ctx, service.Config{
		Listen: "127.0.0.1:0", DataDir: dir, NoSample: true, Store: kind, PostgresDSN: dsn,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Stdout: io.Discard,
		RingOptions: []keys.RingOption{keys.WithTestWorkFactor()},
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if _, err := svc.LoadSample(ctx); err != nil { // lab results of pt-1001
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	pem, err := os.ReadFile(svc.CertFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	s := &stack{t: t, base: svc.BaseURL(), fhir: svc.BaseURL() + "/fhir", redirect: "http://127.0.0.1/callback"}
	s.web = &http.Client{Transport: tr, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	s.ids, err = service.OpenIdentity(ctx, dir, kind, dsn, identity.Config{RPID: "localhost", Origin: s.base}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.ids.Close() })
	s.oa, err = service.OpenOAuth(ctx, dir, kind, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.oa.Close() })
	c, _, err := s.oa.AddClient(ctx, "Test Wallet", []string{s.redirect}, false)
	if err != nil {
		t.Fatal(err)
	}
	s.clientID = c.ID
	secret, at, err := auth.NewToken([]string{auth.ScopeEnrolments}, "desk system", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ts, ok := svc.Issuer().Store().(store.TokenStore)
	if !ok {
		t.Fatal("the issuer's store keeps no API tokens")
	}
	if err := ts.PutToken(ctx, at); err != nil {
		t.Fatal(err)
	}
	s.apiToken = secret
	s.cookie, s.csrf = s.patient(identity.Enrolment{Name: "Pat Example", Patient: "pt-1001", Evidence: "passport", IAL: "IAL2", By: "staff-1"})
	return s
}

// patient enrols a person at the desk and redeems the code with a passkey;
// it returns their session cookie and CSRF token.
func (s *stack) patient(e identity.Enrolment) (*http.Cookie, string) {
	s.t.Helper()
	ctx := context.Background()
	_, code, err := s.ids.EnrolPatient(ctx, e)
	if err != nil {
		s.t.Fatal(err)
	}
	a := identitytest.New("localhost", s.base)
	opts, cer, err := s.ids.BeginEnrolFor(ctx, identity.PatientsOnly, code, "test")
	if err != nil {
		s.t.Fatal(err)
	}
	r, _ := http.NewRequest("POST", s.base+"/x", bytes.NewReader(a.Create(opts)))
	r.Header.Set("Content-Type", "application/json")
	ses, err := s.ids.FinishEnrol(ctx, cer, r)
	if err != nil {
		s.t.Fatal(err)
	}
	return &http.Cookie{Name: identity.PatientCookie, Value: ses.Token()}, ses.CSRF
}

func (s *stack) config() *oauth2.Config {
	return &oauth2.Config{ClientID: s.clientID, RedirectURL: s.redirect,
		Endpoint: oauth2.Endpoint{AuthURL: s.base + "/oauth/authorize", TokenURL: s.base + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   []string{"openid", "fhirUser", "launch/patient", "offline_access", "patient/*.rs"}}
}

func (s *stack) ctx() context.Context {
	return context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: s.web.Transport, Timeout: 20 * time.Second})
}

// get and post are the browser: with the patient's cookie when given.
func (s *stack) do(method, u string, form url.Values, ck *http.Cookie) (*http.Response, string) {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r, err := http.NewRequest(method, u, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if ck != nil {
		r.AddCookie(ck)
	}
	resp, err := s.web.Do(r)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(b)
}

var hidden = regexp.MustCompile(`name="(csrf|form|id|person)" value="([^"]*)"`)

// consentForm follows an authorization URL to the consent page and
// returns its hidden fields.
func (s *stack) consentForm(authURL string, ck *http.Cookie) url.Values {
	s.t.Helper()
	resp, body := s.do("GET", authURL, nil, nil)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "/oauth/consent?id=") {
		s.t.Fatalf("authorize: %d %q %s", resp.StatusCode, loc, body)
	}
	resp, body = s.do("GET", s.base+loc, nil, ck)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "asks for health cards") {
		s.t.Fatalf("consent page: %d %s", resp.StatusCode, body)
	}
	f := url.Values{}
	for _, m := range hidden.FindAllStringSubmatch(body, -1) {
		f.Set(m[1], m[2])
	}
	if f.Get("form") == "" || f.Get("csrf") == "" || f.Get("person") == "" {
		s.t.Fatalf("consent page without its hidden fields: %s", body)
	}
	return f
}

// authorize runs the front channel: it returns the redirect to the app.
func (s *stack) authorize(conf *oauth2.Config, verifier, state string, types ...string) *url.URL {
	s.t.Helper()
	f := s.consentForm(conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("aud", s.fhir)), s.cookie)
	f.Set("decision", "allow")
	f["type"] = types
	resp, body := s.do("POST", s.base+"/oauth/consent", f, s.cookie)
	if resp.StatusCode != http.StatusFound {
		s.t.Fatalf("consent: %d %s", resp.StatusCode, body)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(u.String(), s.redirect+"?") {
		s.t.Fatalf("consent redirected to %q", resp.Header.Get("Location"))
	}
	if u.Query().Get("state") != state {
		s.t.Fatalf("state %q, want %q", u.Query().Get("state"), state)
	}
	return u
}

// tokens runs the whole flow and returns the token.
func (s *stack) tokens(types ...string) *oauth2.Token {
	s.t.Helper()
	conf := s.config()
	v := oauth2.GenerateVerifier()
	u := s.authorize(conf, v, "st-"+oauth2.GenerateVerifier()[:8], types...)
	tok, err := conf.Exchange(s.ctx(), u.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// issue calls $health-cards-issue for patient with an access token.
func (s *stack) issue(token, patient, credentialType string) (int, string) {
	s.t.Helper()
	body := `{"resourceType":"Parameters","parameter":[{"name":"credentialType","valueUri":"` + credentialType + `"}]}`
	r, _ := http.NewRequest("POST", s.fhir+"/Patient/"+patient+"/$health-cards-issue", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/fhir+json")
	r.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.web.Do(r)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// form posts to an OAuth endpoint and decodes the JSON answer.
func (s *stack) form(path string, f url.Values) (int, map[string]any) {
	s.t.Helper()
	resp, body := s.do("POST", s.base+path, f, nil)
	var m map[string]any
	if body != "" && json.Unmarshal([]byte(body), &m) != nil {
		s.t.Fatalf("%s: not JSON: %s", path, body)
	}
	return resp.StatusCode, m
}

func (s *stack) refresh(rt string) (int, map[string]any) {
	return s.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {s.clientID}})
}

func oauthErr(t *testing.T, status int, m map[string]any, wantStatus int, want string) {
	t.Helper()
	if status != wantStatus || m["error"] != want {
		t.Fatalf("got %d %v, want %d error=%s", status, m, wantStatus, want)
	}
}

// The whole SMART standalone patient launch on SQLite: PKCE S256 driven by
// golang.org/x/oauth2, consent, tokens with the SMART claims, cards fetched
// with $health-cards-issue, rotation, revocation and withdrawal.
func TestCodeFlowSQLite(t *testing.T) { codeFlow(t, start(t, "sqlite", "")) }

func codeFlow(t *testing.T, s *stack) {
	tok := s.tokens(labType, immType)
	if tok.Extra("patient") != "pt-1001" || tok.RefreshToken == "" || tok.TokenType != "Bearer" {
		t.Fatalf("token response: patient=%v refresh=%t type=%s", tok.Extra("patient"), tok.RefreshToken != "", tok.TokenType)
	}
	ad, _ := json.Marshal(tok.Extra("authorization_details"))
	if !strings.Contains(string(ad), `"healthcards:cards"`) || !strings.Contains(string(ad), labType) || !strings.Contains(string(ad), `"sensitive":false`) {
		t.Fatalf("authorization_details = %s", ad)
	}
	if id, _ := tok.Extra("id_token").(string); strings.Count(id, ".") != 2 {
		t.Fatalf("no ID token for openid: %v", tok.Extra("id_token"))
	}
	// userinfo (OpenID): sub and fhirUser.
	r, _ := http.NewRequest("GET", s.base+"/oauth/userinfo", nil)
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := s.web.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	var ui map[string]any
	json.NewDecoder(resp.Body).Decode(&ui)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || ui["fhirUser"] != s.fhir+"/Patient/pt-1001" || ui["sub"] == "" {
		t.Fatalf("userinfo: %d %v", resp.StatusCode, ui)
	}
	status, body := s.issue(tok.AccessToken, "pt-1001", labType)
	if status != http.StatusOK || !strings.Contains(body, "verifiableCredential") {
		t.Fatalf("$health-cards-issue with the token: %d %s", status, body)
	}
	// A patient's token never reaches another patient (authz).
	if status, body := s.issue(tok.AccessToken, "pt-2002", labType); status != http.StatusForbidden && status != http.StatusNotFound {
		t.Fatalf("another patient's cards: %d %s", status, body)
	}

	// Rotation: the new refresh token works once; the old one presented
	// again revokes the whole family.
	status, m := s.refresh(tok.RefreshToken)
	if status != http.StatusOK || m["refresh_token"] == nil || m["refresh_token"] == tok.RefreshToken || m["patient"] != "pt-1001" {
		t.Fatalf("refresh: %d %v", status, m)
	}
	rt2, at2 := m["refresh_token"].(string), m["access_token"].(string)
	status, m = s.refresh(tok.RefreshToken)
	oauthErr(t, status, m, http.StatusBadRequest, "invalid_grant")
	status, m = s.refresh(rt2)
	oauthErr(t, status, m, http.StatusBadRequest, "invalid_grant")
	if status, _ := s.issue(at2, "pt-1001", labType); status != http.StatusUnauthorized {
		t.Fatalf("an access token of a revoked family: %d, want 401", status)
	}

	// Revocation (RFC 7009) of a refresh token.
	tok = s.tokens(labType)
	status, _ = s.form("/oauth/revoke", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {s.clientID}})
	if status != http.StatusOK {
		t.Fatalf("revoke: %d", status)
	}
	status, m = s.refresh(tok.RefreshToken)
	oauthErr(t, status, m, http.StatusBadRequest, "invalid_grant")

	// Revocation of an access token: refused from its next use; its
	// refresh token stays.
	tok = s.tokens(labType)
	status, _ = s.form("/oauth/revoke", url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}, "client_id": {s.clientID}})
	if status != http.StatusOK {
		t.Fatalf("revoke an access token: %d", status)
	}
	if status, _ := s.issue(tok.AccessToken, "pt-1001", labType); status != http.StatusUnauthorized {
		t.Fatalf("a revoked access token: %d, want 401", status)
	}
	if status, m = s.refresh(tok.RefreshToken); status != http.StatusOK {
		t.Fatalf("the refresh token of a revoked access token: %d %v", status, m)
	}

	// Withdrawal on the connected-apps page: refresh tokens revoked, the
	// access token refused at once.
	tok = s.tokens(labType)
	resp, page := s.do("GET", s.base+"/account/apps", nil, s.cookie)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Test Wallet") {
		t.Fatalf("connected apps: %d %s", resp.StatusCode, page)
	}
	grant := regexp.MustCompile(`name="grant" value="([^"]+)"`).FindStringSubmatch(page)
	if grant == nil {
		t.Fatalf("no withdraw form: %s", page)
	}
	resp, _ = s.do("POST", s.base+"/account/apps", url.Values{"grant": {grant[1]}}, s.cookie) // no CSRF token
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("withdrawal without CSRF: %d", resp.StatusCode)
	}
	if status, _ := s.issue(tok.AccessToken, "pt-1001", labType); status != http.StatusOK {
		t.Fatalf("before withdrawal: %d", status)
	}
	resp, _ = s.do("POST", s.base+"/account/apps", url.Values{"grant": {grant[1]}, "csrf": {s.csrf}}, s.cookie)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("withdraw: %d", resp.StatusCode)
	}
	if status, _ := s.issue(tok.AccessToken, "pt-1001", labType); status != http.StatusUnauthorized {
		t.Fatalf("a token of a withdrawn grant: %d, want 401", status)
	}
	status, m = s.refresh(tok.RefreshToken)
	oauthErr(t, status, m, http.StatusBadRequest, "invalid_grant")
}

// TestMain quiets the op library's request logs (it logs through the
// default slog logger; they hold OAuth error types, never tokens).
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// A guardian picks whose cards the app gets: themself or a ward; the
// token then names the ward as patient and the guardian's RelatedPerson
// as fhirUser (issuer/authz decides with the RelatedPerson's facts).
func TestGuardianPicker(t *testing.T) {
	s := start(t, "sqlite", "")
	ck, _ := s.patient(identity.Enrolment{Name: "Gina Guardian", Patient: "pt-3003", Evidence: "passport", IAL: "IAL2", By: "staff-1",
		Wards: []identity.Ward{{Patient: "pt-4004", RelatedPerson: "rp-4004-gina", Name: "Kim Child"}}})
	conf := s.config()
	conf.Scopes = []string{"launch/patient", "patient/*.rs"} // no fhirUser scope: the token names the guardian all the same
	v := oauth2.GenerateVerifier()
	resp, _ := s.do("GET", conf.AuthCodeURL("s10", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("aud", s.fhir)), nil, nil)
	consent := s.base + resp.Header.Get("Location")
	resp, page := s.do("GET", consent, nil, ck)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Whose cards") || !strings.Contains(page, "Kim Child") ||
		!strings.Contains(page, `value="pt-3003"`) || !strings.Contains(page, `value="pt-4004"`) {
		t.Fatalf("picker: %d %s", resp.StatusCode, page)
	}
	// A person the account may not act for gets the picker again.
	if _, page := s.do("GET", consent+"&person=pt-1001", nil, ck); !strings.Contains(page, "Whose cards") {
		t.Fatalf("a stranger as person: %s", page)
	}
	resp, page = s.do("GET", consent+"&person=pt-4004", nil, ck)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Kim Child</strong>'s") {
		t.Fatalf("consent for the ward: %d %s", resp.StatusCode, page)
	}
	f := url.Values{}
	for _, m := range hidden.FindAllStringSubmatch(page, -1) {
		f.Set(m[1], m[2])
	}
	f.Set("decision", "allow")
	f["type"] = []string{labType, immType}
	resp, _ = s.do("POST", s.base+"/oauth/consent", f, ck)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	tok, err := conf.Exchange(s.ctx(), loc.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Extra("patient") != "pt-4004" {
		t.Fatalf("patient = %v, want the ward", tok.Extra("patient"))
	}
	claims := jwtClaims(t, tok.AccessToken)
	if claims["fhirUser"] != "RelatedPerson/rp-4004-gina" || claims["patient"] != "pt-4004" || claims["aud"] == nil {
		t.Fatalf("access token claims: %v", claims)
	}
	// The ward's cards are not the guardian's own: the guardian's own
	// record is not reachable with the ward's token.
	if st, _ := s.issue(tok.AccessToken, "pt-3003", labType); st != http.StatusForbidden && st != http.StatusNotFound {
		t.Fatalf("the guardian's own record with the ward's token: %d", st)
	}
	_, apps := s.do("GET", s.base+"/account/apps", nil, ck)
	if !strings.Contains(apps, "Kim Child") || !strings.Contains(apps, "you act for them") {
		t.Fatalf("connected apps of the guardian: %s", apps)
	}
}

// jwtClaims reads a JWT's claims without verifying it (the server under
// test verifies; this only inspects what it issued).
func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// The token's scope says what the person allowed: with vaccinations left
// out, the wildcard the app asked for (patient/*.rs) comes back as the
// laboratory types only, in the token response and in the access token.
func TestNarrowedScopeInToken(t *testing.T) {
	s := start(t, "sqlite", "")
	tok := s.tokens(labType)
	got := strings.Fields(fmt.Sprint(tok.Extra("scope")))
	for _, want := range []string{"openid", "fhirUser", "launch/patient", "offline_access", "patient/Observation.rs", "patient/DiagnosticReport.rs"} {
		if !slices.Contains(got, want) {
			t.Errorf("token response scope %q lacks %s", got, want)
		}
	}
	if slices.Contains(got, "patient/*.rs") || slices.Contains(got, "patient/Immunization.rs") {
		t.Errorf("token response scope %q still reaches vaccinations", got)
	}
	parts := strings.Split(tok.AccessToken, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct{ Scope string }
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if cs := strings.Fields(claims.Scope); !slices.Equal(cs, got) {
		t.Errorf("access token scope %q", claims.Scope)
	}
	if status, body := s.issue(tok.AccessToken, "pt-1001", labType); status != http.StatusOK {
		t.Fatalf("$health-cards-issue with the narrowed token: %d %s", status, body)
	}
}

func TestNarrowScopes(t *testing.T) {
	lab := oauth.Consent{CredentialTypes: []string{oauth.CardTypes[1].URI}}
	for _, c := range []struct {
		consent oauth.Consent
		in      string
		want    string
	}{
		{lab, "openid fhirUser launch/patient patient/*.rs", "openid fhirUser launch/patient patient/Observation.rs patient/DiagnosticReport.rs"},
		{lab, "patient/Immunization.rs patient/Observation.rs?category=laboratory patient/Patient.rs", "patient/Observation.rs?category=laboratory patient/Patient.rs"},
		{lab, "user/*.read patient/Observation.rs patient/*.rs", "user/Observation.read user/DiagnosticReport.read patient/Observation.rs patient/DiagnosticReport.rs"},
		{oauth.Consent{CredentialTypes: []string{oauth.CardTypes[0].URI}}, "patient/*.rs patient/Observation.rs", "patient/Immunization.rs"},
		{oauth.Consent{CredentialTypes: []string{oauth.CardTypes[0].URI, oauth.CardTypes[1].URI}}, "patient/*.rs offline_access", "patient/Immunization.rs patient/Observation.rs patient/DiagnosticReport.rs offline_access"},
		{lab, "system/*.rs not a scope", "system/*.rs not a scope"},
	} {
		if got := strings.Join(c.consent.NarrowScopes(strings.Fields(c.in)), " "); got != c.want {
			t.Errorf("%v NarrowScopes(%q) = %q, want %q", c.consent.CredentialTypes, c.in, got, c.want)
		}
	}
}
