package wallet

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthcards/healthcards/examples/bundles"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/shc"
)

// testServer is a test double of a FHIR server with a SMART authorization
// server, for this package's unit tests only (the real one, issuer/oauth, is
// exercised end to end in internal/e2e). It is strict where the wallet must
// be correct: PKCE S256 checked at the token endpoint, codes single use and
// bound to their redirect URI, refresh tokens rotated (the old one refused),
// aud equal to the FHIR base, the access token required and bound to the
// patient at $health-cards-issue.
type testServer struct {
	*httptest.Server
	t   *testing.T
	key *ecdsa.PrivateKey

	mu        sync.Mutex
	codes     map[string]codeGrant // code -> grant
	refresh   string               // the one live refresh token
	access    map[string]bool      // live access tokens
	withdrawn bool                 // consent withdrawn: refresh and access refused
	refreshes int
	lastIssue url.Values // credentialType / _since of the last $health-cards-issue
	revoked   []string   // every token sent to the revocation endpoint

	// knobs
	noTokenEndpoint bool
	badState        bool
	denied          bool
	tamper          bool // return one card with a broken signature
	cards           func() []string
	pages           chan string // what the browser saw at the end of each authorization
}

type codeGrant struct{ challenge, redirect string }

const testPatient = "pt-1001"

func newTestServer(t *testing.T) *testServer {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{t: t, key: key, codes: map[string]codeGrant{}, access: map[string]bool{}, pages: make(chan string, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fhir/.well-known/smart-configuration", s.smartConfig)
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("POST /revoke", s.revoke)
	mux.HandleFunc("GET /.well-known/jwks.json", s.jwks)
	mux.HandleFunc("POST /fhir/Patient/{id}/{op}", s.issue)
	s.Server = httptest.NewTLSServer(mux)
	t.Cleanup(s.Close)
	fixed := []string{s.sign(bundles.LabCovidPCR), s.sign(bundles.ImmunizationsCOVID)} // the same cards at every call
	s.cards = func() []string { return append([]string(nil), fixed...) }
	return s
}

func (s *testServer) base() string { return s.URL + "/fhir" }

func (s *testServer) caPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}))
}

func (s *testServer) sign(bundle []byte) string {
	min, err := shc.Minify(bundle)
	if err != nil {
		s.t.Fatal(err)
	}
	jws, err := shc.Sign(s.key, shc.NewPayload(s.URL, time.Now().Add(-time.Hour), min))
	if err != nil {
		s.t.Fatal(err)
	}
	return jws
}

func (s *testServer) smartConfig(w http.ResponseWriter, r *http.Request) {
	doc := map[string]any{
		"issuer": s.URL, "authorization_endpoint": s.URL + "/authorize", "revocation_endpoint": s.URL + "/revoke",
		"capabilities": []string{"health-cards", "launch-standalone", "client-public"}, "code_challenge_methods_supported": []string{"S256"},
	}
	if !s.noTokenEndpoint {
		doc["token_endpoint"] = s.URL + "/token"
	}
	json.NewEncoder(w).Encode(doc)
}

func randTok() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// authorize approves at once (the person said yes) after checking the
// request, and redirects to the loopback URI.
func (s *testServer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	red, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case err != nil || red.Scheme != "http" || red.Hostname() != "127.0.0.1" || red.Path != CallbackPath:
		http.Error(w, "bad redirect_uri", 400)
		return
	case q.Get("response_type") != "code" || q.Get("client_id") != "shc-wallet" || q.Get("code_challenge_method") != "S256" ||
		len(q.Get("code_challenge")) != 43 || q.Get("aud") != s.base() || q.Get("state") == "" ||
		!strings.Contains(q.Get("scope"), "launch/patient"):
		http.Error(w, "bad authorization request", 400)
		return
	}
	back := url.Values{"state": {q.Get("state")}}
	if s.badState {
		back.Set("state", "forged")
	}
	if s.denied {
		back.Set("error", "access_denied")
	} else {
		code := randTok()
		s.mu.Lock()
		s.codes[code] = codeGrant{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
		s.mu.Unlock()
		back.Set("code", code)
	}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
}

func oauthErr(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(400)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": "refused by the test server"})
}

func (s *testServer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") != "shc-wallet" {
		oauthErr(w, "invalid_client")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		g, ok := s.codes[r.PostForm.Get("code")]
		delete(s.codes, r.PostForm.Get("code")) // single use
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge || r.PostForm.Get("redirect_uri") != g.redirect {
			oauthErr(w, "invalid_grant")
			return
		}
	case "refresh_token":
		if s.withdrawn || s.refresh == "" || r.PostForm.Get("refresh_token") != s.refresh {
			oauthErr(w, "invalid_grant")
			return
		}
		s.refreshes++
	default:
		oauthErr(w, "unsupported_grant_type")
		return
	}
	at := randTok()
	s.access[at] = true
	s.refresh = randTok() // rotation: the previous one is dead
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"access_token": at, "token_type": "Bearer", "expires_in": 300, "refresh_token": s.refresh,
		"scope": "launch/patient openid fhirUser offline_access patient/Observation.rs", "patient": testPatient,
		"authorization_details": []any{map[string]any{"type": "healthcards:cards", "credentialTypes": []string{"Observation"}}},
	})
}

func (s *testServer) jwks(w http.ResponseWriter, r *http.Request) {
	json.NewEncoder(w).Encode(keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(&s.key.PublicKey, nil)}})
}

func (s *testServer) issue(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	live := s.access[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")] && !s.withdrawn
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/fhir+json")
	if !live {
		w.WriteHeader(401)
		w.Write([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"login","details":{"coding":[{"code":"unauthenticated"}],"text":"no valid bearer token"}}]}`))
		return
	}
	if r.PathValue("id") != testPatient || r.PathValue("op") != "$health-cards-issue" {
		w.WriteHeader(403)
		w.Write([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","details":{"coding":[{"code":"forbidden"}],"text":"another patient"}}]}`))
		return
	}
	var in struct {
		Parameter []struct{ Name, ValueURI, ValueDateTime string }
	}
	json.NewDecoder(r.Body).Decode(&in)
	got := url.Values{}
	for _, p := range in.Parameter {
		got.Add(p.Name, p.ValueURI+p.ValueDateTime)
	}
	s.mu.Lock()
	s.lastIssue = got
	s.mu.Unlock()
	cards := s.cards()
	if s.tamper {
		parts := strings.Split(cards[len(cards)-1], ".")
		sig := []byte(parts[2])
		if sig[5] == 'A' { // another valid base64url character: the signature no longer verifies
			sig[5] = 'B'
		} else {
			sig[5] = 'A'
		}
		cards[len(cards)-1] = parts[0] + "." + parts[1] + "." + string(sig)
	}
	var ps []map[string]string
	for _, c := range cards {
		ps = append(ps, map[string]string{"name": "verifiableCredential", "valueString": c})
	}
	json.NewEncoder(w).Encode(map[string]any{"resourceType": "Parameters", "parameter": ps})
}

// revoke is RFC 7009: the refresh token named ends the grant.
func (s *testServer) revoke(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = append(s.revoked, r.PostForm.Get("token"))
	if r.PostForm.Get("token") == s.refresh && r.PostForm.Get("client_id") == "shc-wallet" {
		s.withdrawn = true
	}
	w.WriteHeader(200)
}
