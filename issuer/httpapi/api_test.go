package httpapi_test

import (
	"bytes"
	"encoding/json"
	"html"
	"image/png"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/examples/bundles"
	"github.com/healthcards/healthcards/issuer/httpapi"
	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/shc"
)

type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func do(t *testing.T, s *httpapitest.Server, method, path, token, accept string, body []byte) resp {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	r, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{r.StatusCode, r.Header, b}
}

func outcomeCode(t *testing.T, b []byte) string {
	t.Helper()
	var o struct {
		ResourceType string `json:"resourceType"`
		Issue        []struct {
			Details struct {
				Coding []struct{ Code string }
				Text   string
			}
		}
	}
	if err := json.Unmarshal(b, &o); err != nil || o.ResourceType != "OperationOutcome" || len(o.Issue) == 0 {
		t.Fatalf("not an OperationOutcome: %s", b)
	}
	if len(o.Issue[0].Details.Coding) == 0 {
		return ""
	}
	return o.Issue[0].Details.Coding[0].Code
}

var sample = []byte(httpapi.SampleBundle)

// checkCard runs the Inferno issuer checks on one card against the live
// service: header, payload, minimization, key and signature.
func checkCard(t *testing.T, s *httpapitest.Server, jws string) {
	t.Helper()
	c, err := shc.Parse(jws)
	if err != nil {
		t.Fatalf("card does not parse: %v", err)
	}
	h := c.Header()
	if h.Alg != "ES256" || h.Zip != "DEF" || h.Kid == "" {
		t.Errorf("header %+v: want alg ES256, zip DEF, kid", h)
	}
	p := c.UnsafePayloadWithoutVerification()
	if p.Issuer != s.URL || p.NotBefore <= 0 || !p.HasType(shc.HealthCardType) || p.VC.CredentialSubject.FHIRVersion == "" {
		t.Errorf("payload iss %q nbf %v types %v fhirVersion %q", p.Issuer, p.NotBefore, p.VC.Type, p.VC.CredentialSubject.FHIRVersion)
	}
	// Minimization (MIN-1..7).
	var b struct {
		Entry []struct {
			FullURL  string         `json:"fullUrl"`
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(p.VC.CredentialSubject.FHIRBundle, &b); err != nil {
		t.Fatal(err)
	}
	for i, e := range b.Entry {
		if e.FullURL != "resource:"+strconv.Itoa(i) {
			t.Errorf("entry %d fullUrl %q", i, e.FullURL)
		}
		for _, k := range []string{"id", "meta", "text"} {
			if _, ok := e.Resource[k]; ok {
				t.Errorf("entry %d resource has %s", i, k)
			}
		}
	}
	raw := string(p.VC.CredentialSubject.FHIRBundle)
	if strings.Contains(raw, `"display":"SARS`) || strings.Contains(raw, `"display":"Negative"`) {
		t.Error("Coding.display not removed")
	}
	for _, ref := range refs(p.VC.CredentialSubject.FHIRBundle) {
		if !strings.HasPrefix(ref, "resource:") {
			t.Errorf("reference %q is not resource:N", ref)
		}
	}
	// Key (KEY-2, KEY-3) from the served JWKS, with CORS.
	jr := do(t, s, "GET", "/.well-known/jwks.json", "", "", nil)
	if jr.Status != 200 || jr.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("jwks: status %d, CORS %q", jr.Status, jr.Header.Get("Access-Control-Allow-Origin"))
	}
	if strings.Contains(string(jr.Body), `"d"`) {
		t.Error("JWKS holds a private key member d")
	}
	set, err := keys.ParseJWKS(jr.Body)
	if err != nil {
		t.Fatal(err)
	}
	ks := set.Lookup(h.Kid)
	if len(ks) == 0 {
		t.Fatalf("kid %s not in the served JWKS", h.Kid)
	}
	k := ks[0]
	if k.Kty != "EC" || k.Use != "sig" || k.Alg != "ES256" || k.Crv != "P-256" || k.CRLVersion == nil {
		t.Errorf("JWK %+v", k)
	}
	pub, err := k.CheckSigning() // includes kid == RFC 7638 thumbprint
	if err != nil {
		t.Fatalf("JWK: %v", err)
	}
	if tp, _ := keys.Thumbprint(pub); tp != h.Kid {
		t.Errorf("kid %s != thumbprint %s", h.Kid, tp)
	}
	if err := c.VerifySignature(pub); err != nil {
		t.Errorf("signature does not verify with the served key: %v", err)
	}
}

func refs(b []byte) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if s, ok := c.(string); ok && k == "reference" {
					out = append(out, s)
				}
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	var v any
	json.Unmarshal(b, &v)
	walk(v)
	return out
}

type cardsReply struct {
	Cards []httpapi.CardJSON `json:"cards"`
}

func issue(t *testing.T, s *httpapitest.Server, bundle []byte) cardsReply {
	t.Helper()
	r := do(t, s, "POST", "/v1/cards", s.Token, "application/json", bundle)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /v1/cards: %d %s", r.Status, r.Body)
	}
	var out cardsReply
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestInferno_FileDownload_FILE1(t *testing.T) {
	s := httpapitest.Start(t, httpapitest.Options{})
	r := do(t, s, "POST", "/v1/cards?format=smart-health-card", s.Token, "", sample)
	check := func(r resp) {
		t.Helper()
		if r.Header.Get("Content-Type") != shc.FileMediaType {
			t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
		}
		cd := r.Header.Get("Content-Disposition")
		if !strings.HasPrefix(cd, "attachment;") || !strings.HasSuffix(cd, `.smart-health-card"`) {
			t.Errorf("Content-Disposition %q", cd)
		}
		var f struct {
			VerifiableCredential []string `json:"verifiableCredential"`
		}
		if err := json.Unmarshal(r.Body, &f); err != nil || len(f.VerifiableCredential) == 0 {
			t.Fatalf("file body %s", r.Body)
		}
		for _, j := range f.VerifiableCredential {
			checkCard(t, s, j)
		}
	}
	if r.Status != http.StatusCreated {
		t.Fatalf("status %d %s", r.Status, r.Body)
	}
	check(r)
	// Accept header works too, and every link fetches the card again.
	out := issue(t, s, sample)
	if len(out.Cards) != 2 {
		t.Fatalf("sample bundle gave %d cards, want 2 (lab, covid immunizations)", len(out.Cards))
	}
	for _, c := range out.Cards {
		checkCard(t, s, c.JWS)
		r := do(t, s, "GET", strings.TrimPrefix(c.Links.File, s.URL), "", "", nil)
		if r.Status != 200 {
			t.Fatalf("GET file link: %d", r.Status)
		}
		check(r)
		if r := do(t, s, "GET", strings.TrimPrefix(c.Links.JWS, s.URL), "", "", nil); r.Status != 200 || string(r.Body) != c.JWS {
			t.Errorf("jws link: %d", r.Status)
		}
		r = do(t, s, "GET", strings.TrimPrefix(c.Links.PNG, s.URL), "", "", nil)
		if _, err := png.Decode(bytes.NewReader(r.Body)); err != nil || r.Header.Get("Content-Type") != "image/png" {
			t.Errorf("png link: %d %v", r.Status, err)
		}
		r = do(t, s, "GET", strings.TrimPrefix(c.Links.SVG, s.URL), "", "", nil)
		if !bytes.HasPrefix(r.Body, []byte("<svg")) || r.Header.Get("Content-Type") != "image/svg+xml" {
			t.Errorf("svg link: %d %q", r.Status, r.Header.Get("Content-Type"))
		}
		r = do(t, s, "GET", strings.TrimPrefix(c.Links.Text, s.URL), "", "", nil)
		if back, err := shc.DecodeQRText(strings.Fields(string(r.Body))...); err != nil || back != c.JWS {
			t.Errorf("txt link does not decode to the card: %v", err)
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Error("card download is cacheable")
		}
	}
	r = do(t, s, "POST", "/v1/cards", s.Token, shc.FileMediaType, sample)
	if r.Status != http.StatusCreated {
		t.Fatalf("Accept file: %d", r.Status)
	}
	check(r)
	if r := do(t, s, "GET", "/v1/cards/AAAAAAAAAAAAAAAAAAAAAA.jws", "", "", nil); r.Status != 404 || outcomeCode(t, r.Body) != "not_found" {
		t.Errorf("unknown card: %d", r.Status)
	}
}

func TestInferno_SMARTConfiguration_OP1(t *testing.T) {
	s := httpapitest.Start(t, httpapitest.Options{})
	r := do(t, s, "GET", "/fhir/.well-known/smart-configuration", "", "", nil)
	var sc struct {
		Capabilities  []string `json:"capabilities"`
		TokenEndpoint string   `json:"token_endpoint"`
		AuthEndpoint  string   `json:"authorization_endpoint"`
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &sc) != nil {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if !slices.Contains(sc.Capabilities, "health-cards") || sc.TokenEndpoint != s.AuthIssuer()+"/token" || sc.AuthEndpoint == "" {
		t.Fatalf("smart-configuration %s", r.Body)
	}
}

func TestInferno_CapabilityStatement_OP3(t *testing.T) {
	s := httpapitest.Start(t, httpapitest.Options{})
	r := do(t, s, "GET", "/fhir/metadata", "", "", nil)
	var cs struct {
		ResourceType string `json:"resourceType"`
		FHIRVersion  string `json:"fhirVersion"`
		Rest         []struct {
			Resource []struct {
				Type      string `json:"type"`
				Operation []struct{ Name, Definition string }
			} `json:"resource"`
		} `json:"rest"`
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &cs) != nil || cs.ResourceType != "CapabilityStatement" || cs.FHIRVersion != "4.0.1" {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	found := false
	for _, res := range cs.Rest[0].Resource {
		for _, op := range res.Operation {
			found = found || (res.Type == "Patient" && op.Name == "health-cards-issue" && op.Definition == httpapi.OperationDefinitionURL)
		}
	}
	if !found {
		t.Fatalf("no Patient $health-cards-issue in %s", r.Body)
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/fhir+json") {
		t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
	}
}

func issueParams(types ...string) []byte {
	var ps []map[string]string
	for _, t := range types {
		ps = append(ps, map[string]string{"name": "credentialType", "valueUri": t})
	}
	b, _ := json.Marshal(map[string]any{"resourceType": "Parameters", "parameter": ps})
	return b
}

func loadResults(t *testing.T, s *httpapitest.Server) {
	t.Helper()
	r := do(t, s, "POST", "/v1/results", s.Token, "", sample)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /v1/results: %d %s", r.Status, r.Body)
	}
}

const demoPatient = "demo-patient-1"

func TestInferno_HealthCardsIssue_OP3_OP10(t *testing.T) {
	s := httpapitest.Start(t, httpapitest.Options{})
	loadResults(t, s)
	tok := s.MintJWT(t, httpapitest.Claims{Subject: "u1", Patient: demoPatient, Scope: "launch/patient patient/Immunization.read"})
	r := do(t, s, "POST", "/fhir/Patient/"+demoPatient+"/$health-cards-issue", tok, "", issueParams("Immunization"))
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var out struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name        string `json:"name"`
			ValueString string `json:"valueString"`
			Part        []struct {
				Name         string `json:"name"`
				ValueURI     string `json:"valueUri"`
				ValueInteger *int   `json:"valueInteger"`
			} `json:"part"`
		} `json:"parameter"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil || out.ResourceType != "Parameters" {
		t.Fatalf("%s", r.Body)
	}
	n, links := 0, 0
	for _, p := range out.Parameter {
		switch p.Name {
		case "verifiableCredential":
			n++
			checkCard(t, s, p.ValueString)
		case "resourceLink":
			links++
			if len(p.Part) != 3 || p.Part[0].Name != "vcIndex" || !strings.HasPrefix(p.Part[1].ValueURI, "resource:") ||
				!strings.HasPrefix(p.Part[2].ValueURI, s.URL+"/fhir/Immunization/") {
				t.Errorf("resourceLink %+v", p.Part)
			}
		}
	}
	if n != 1 || links != 2 {
		t.Fatalf("%d verifiableCredential, %d resourceLink; want 1 card with 2 links: %s", n, links, r.Body)
	}
	// No match: an empty Parameters, no parameter element (OP-10).
	tok = s.MintJWT(t, httpapitest.Claims{Subject: "u1", Patient: demoPatient, Scope: "patient/*.read"})
	r = do(t, s, "POST", "/fhir/Patient/"+demoPatient+"/$health-cards-issue", tok, "", issueParams("Immunization", "Observation"))
	if r.Status != 200 || strings.TrimSpace(string(r.Body)) != `{"resourceType":"Parameters"}` {
		t.Fatalf("AND of two types: %d %s", r.Status, r.Body)
	}
	// Missing credentialType is a 400 OperationOutcome.
	r = do(t, s, "POST", "/fhir/Patient/"+demoPatient+"/$health-cards-issue", tok, "", []byte(`{"resourceType":"Parameters"}`))
	if r.Status != 400 || outcomeCode(t, r.Body) != "invalid_parameters" {
		t.Fatalf("no credentialType: %d %s", r.Status, r.Body)
	}
}

func TestAuthorization(t *testing.T) {
	s := httpapitest.Start(t, httpapitest.Options{})
	loadResults(t, s)
	op := "/fhir/Patient/" + demoPatient + "/$health-cards-issue"
	body := issueParams("Immunization")
	good := httpapitest.Claims{Subject: "u1", Patient: demoPatient, Scope: "patient/Immunization.read"}
	mint := func(mut func(*httpapitest.Claims)) string {
		c := good
		mut(&c)
		return s.MintJWT(t, c)
	}
	cases := []struct {
		name   string
		token  string
		status int
	}{
		{"missing", "", 401},
		{"garbage", "not-a-token", 401},
		{"expired", mint(func(c *httpapitest.Claims) { c.Expiry = time.Now().Add(-10 * time.Minute) }), 401},
		{"wrong audience", mint(func(c *httpapitest.Claims) { c.Audience = "https://other.example/fhir" }), 401},
		{"wrong issuer", mint(func(c *httpapitest.Claims) { c.Issuer = "https://evil.example" }), 401},
		{"wrong scope", mint(func(c *httpapitest.Claims) { c.Scope = "patient/Condition.read" }), 403},
		{"write-only v2 scope", mint(func(c *httpapitest.Claims) { c.Scope = "patient/Immunization.cu" }), 403},
		{"other patient", mint(func(c *httpapitest.Claims) { c.Patient = "someone-else" }), 403},
		{"lab API token", s.Token, 403},
		{"good v1", mint(func(*httpapitest.Claims) {}), 200},
		{"good v2 .rs", mint(func(c *httpapitest.Claims) { c.Scope = "patient/Immunization.rs" }), 200},
		{"good wildcard", mint(func(c *httpapitest.Claims) { c.Scope = "patient/*.read" }), 200},
		{"system scope, no patient claim", mint(func(c *httpapitest.Claims) { c.Patient = ""; c.Scope = "system/*.read" }), 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, s, "POST", op, c.token, "", body)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			if c.status == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Error("401 without WWW-Authenticate: Bearer")
			}
			if c.status != 200 {
				outcomeCode(t, r.Body)
			}
		})
	}
	// Lab endpoints: missing or unknown token 401, missing scope 403.
	for _, path := range []string{"/v1/results", "/v1/cards", "/v1/revocations"} {
		if r := do(t, s, "POST", path, "", "", sample); r.Status != 401 {
			t.Errorf("%s without token: %d", path, r.Status)
		}
		if r := do(t, s, "POST", path, "shcit_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", sample); r.Status != 401 {
			t.Errorf("%s with unknown token: %d", path, r.Status)
		}
		jwtNoLabScope := s.MintJWT(t, good)
		if r := do(t, s, "POST", path, jwtNoLabScope, "", sample); r.Status != 403 {
			t.Errorf("%s with a patient token: %d", path, r.Status)
		}
	}
	labJWT := s.MintJWT(t, httpapitest.Claims{Subject: httpapitest.LabClient, Scope: "cards:issue"})
	if r := do(t, s, "POST", "/v1/cards", labJWT, "", sample); r.Status != 201 {
		t.Errorf("lab JWT with cards:issue: %d %s", r.Status, r.Body)
	}
	if r := do(t, s, "POST", "/v1/results", labJWT, "", sample); r.Status != 403 {
		t.Errorf("lab JWT without results:write: %d", r.Status)
	}
}

// TestTokensStayInTheirLane: lab scopes come only from API tokens and
// registered system clients; a patient-context token reaches only its own
// patient on every route, whatever its scope string says (issue 10).
func TestTokensStayInTheirLane(t *testing.T) {
	s := httpapitest.Start(t, httpapitest.Options{})
	loadResults(t, s)
	issue(t, s, sample) // cards of demoPatient, issued by the lab
	all := "patient/*.read system/*.read cards:issue cards:revoke results:write"
	patientTok := s.MintJWT(t, httpapitest.Claims{Subject: "u9", Patient: "pt-1001", Scope: all})
	registeredWithPatient := s.MintJWT(t, httpapitest.Claims{Subject: httpapitest.LabClient, Patient: "pt-1001", Scope: all})
	unregistered := s.MintJWT(t, httpapitest.Claims{Subject: "lab-system-2", Scope: "cards:issue cards:revoke results:write"})
	registeredExtra := s.MintJWT(t, httpapitest.Claims{Subject: httpapitest.LabClient, Scope: "cards:revoke results:write"})
	for name, tok := range map[string]string{"patient token": patientTok, "registered client with a patient claim": registeredWithPatient,
		"unregistered client": unregistered, "registered client, unregistered scopes": registeredExtra} {
		for _, rq := range []struct{ path, body string }{
			{"/v1/revocations", `{"patientId":"` + demoPatient + `"}`},
			{"/v1/results", string(sample)},
		} {
			if r := do(t, s, "POST", rq.path, tok, "", []byte(rq.body)); r.Status != 403 {
				t.Errorf("%s: POST %s: %d %s", name, rq.path, r.Status, r.Body)
			}
		}
	}
	for name, tok := range map[string]string{"patient token": patientTok, "registered client with a patient claim": registeredWithPatient,
		"unregistered client": unregistered} {
		if r := do(t, s, "POST", "/v1/cards", tok, "", sample); r.Status != 403 {
			t.Errorf("%s: POST /v1/cards: %d", name, r.Status)
		}
	}
	// system/ scopes do not take a patient-context token to another patient.
	op := "/fhir/Patient/" + demoPatient + "/$health-cards-issue"
	if r := do(t, s, "POST", op, patientTok, "", issueParams("Immunization")); r.Status != 403 {
		t.Errorf("patient token with system/*.read read another patient: %d %s", r.Status, r.Body)
	}
}

// TestStrictMemberNames: the lab API matches JSON member names exactly.
func TestStrictMemberNames(t *testing.T) {
	s := httpapitest.Start(t, httpapitest.Options{})
	issue(t, s, sample)
	for _, body := range []string{`{"PATIENTID":"` + demoPatient + `"}`, `{"patientid":"` + demoPatient + `"}`,
		`{"patientId":"x","patientId":"` + demoPatient + `"}`} {
		if r := do(t, s, "POST", "/v1/revocations", s.Token, "", []byte(body)); r.Status != 400 {
			t.Errorf("%s: %d %s", body, r.Status, r.Body)
		}
	}
}

func TestRevokeByPatient_REV4_REV7(t *testing.T) {
	s := httpapitest.Start(t, httpapitest.Options{})
	out := issue(t, s, sample)
	kid, rid := out.Cards[0].Kid, out.Cards[0].RID
	jwksVersion := func() int {
		set, err := keys.ParseJWKS(do(t, s, "GET", "/.well-known/jwks.json", "", "", nil).Body)
		if err != nil || len(set.Keys) == 0 {
			t.Fatal(err)
		}
		v := *set.Keys[0].CRLVersion
		for _, k := range set.Keys {
			if k.CRLVersion == nil || *k.CRLVersion != v {
				t.Fatalf("keys disagree on crlVersion: %+v", set.Keys)
			}
		}
		return v
	}
	crl := func() (c struct {
		Kid    string   `json:"kid"`
		Method string   `json:"method"`
		Ctr    int      `json:"ctr"`
		RIDs   []string `json:"rids"`
	}) {
		r := do(t, s, "GET", "/.well-known/crl/"+kid+".json", "", "", nil)
		if r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("crl: %d", r.Status)
		}
		json.Unmarshal(r.Body, &c)
		return c
	}
	before := jwksVersion()
	if c := crl(); c.Ctr != before || len(c.RIDs) != 0 || c.Method != "rid" || c.Kid != kid {
		t.Fatalf("initial CRL %+v, jwks crlVersion %d", c, before)
	}
	// A second published key: revocation by patient covers every kid.
	if _, err := s.Keys.Rotate(); err != nil {
		t.Fatal(err)
	}
	r := do(t, s, "POST", "/v1/revocations", s.Token, "", []byte(`{"patientId":"`+demoPatient+`","reason":"lost card"}`))
	if r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	after := jwksVersion()
	if after != before+1 {
		t.Fatalf("crlVersion %d -> %d, want +1", before, after)
	}
	// By default only cards issued up to now: "rid.T" with T the next
	// whole second (REV-5), never the bare rid that would kill future cards.
	if c := crl(); c.Ctr != after || slices.Contains(c.RIDs, rid) || !slices.ContainsFunc(c.RIDs, func(e string) bool { return strings.HasPrefix(e, rid+".") }) {
		t.Fatalf("CRL %+v: want %s.T and not the bare rid", c, rid)
	}
	var res struct{ Entries []struct{ Kid, Entry string } }
	json.Unmarshal(r.Body, &res)
	if len(res.Entries) != 2 || res.Entries[0].Kid == res.Entries[1].Kid {
		t.Fatalf("entries %+v: want one per published key", res.Entries)
	}
	// patientId with kid: only that key's rid is added (issue 10: kid was
	// silently ignored), and an unpublished kid is refused.
	r = do(t, s, "POST", "/v1/revocations", s.Token, "", []byte(`{"patientId":"`+demoPatient+`","kid":"`+kid+`"}`))
	res.Entries = nil
	if json.Unmarshal(r.Body, &res); r.Status != 200 || len(res.Entries) != 1 || res.Entries[0].Kid != kid {
		t.Fatalf("patientId with kid: %d %s", r.Status, r.Body)
	}
	after++
	if r := do(t, s, "POST", "/v1/revocations", s.Token, "", []byte(`{"patientId":"`+demoPatient+`","kid":"no-such-kid"}`)); r.Status != 404 {
		t.Fatalf("patientId with an unpublished kid: %d %s", r.Status, r.Body)
	}
	// rid with issuedBefore → "rid.T" (REV-5).
	r = do(t, s, "POST", "/v1/revocations", s.Token, "", []byte(`{"rid":"abcDEF_-123","kid":"`+kid+`","issuedBefore":"2026-01-02T03:04:05Z"}`))
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if c := crl(); !slices.Contains(c.RIDs, "abcDEF_-123.1767323045") || c.Ctr != after+1 {
		t.Fatalf("CRL %+v", c)
	}
	// "all": true is the explicit choice to revoke future cards too.
	r = do(t, s, "POST", "/v1/revocations", s.Token, "", []byte(`{"patientId":"`+demoPatient+`","kid":"`+kid+`","all":true}`))
	if c := crl(); r.Status != 200 || !slices.Contains(c.RIDs, rid) {
		t.Fatalf("all: %d %s; CRL %+v", r.Status, r.Body, c)
	}
	for _, bad := range []string{`{}`, `{"rid":"a","patientId":"b"}`, `{"rid":"abc","all":true,"issuedBefore":"1700000000"}`, `{"rid":"not a rid!"}`, `{"patientId":"x","extra":1}`} {
		if r := do(t, s, "POST", "/v1/revocations", s.Token, "", []byte(bad)); r.Status != 400 || outcomeCode(t, r.Body) != "invalid_revocation" {
			t.Errorf("%s: %d %s", bad, r.Status, r.Body)
		}
	}
	if r := do(t, s, "GET", "/.well-known/crl/unknownkid.json", "", "", nil); r.Status != 404 {
		t.Errorf("unknown kid CRL: %d", r.Status)
	}
}

func TestBadInput(t *testing.T) {
	s := httpapitest.Start(t, httpapitest.Options{})
	r := do(t, s, "POST", "/v1/results", s.Token, "", []byte(`{"resourceType":"Patient"}`))
	if r.Status != 400 || outcomeCode(t, r.Body) != "invalid_bundle" {
		t.Errorf("not a bundle: %d %s", r.Status, r.Body)
	}
	r = do(t, s, "POST", "/v1/results", s.Token, "", bytes.Repeat([]byte("x"), 2<<20))
	if r.Status != 413 || outcomeCode(t, r.Body) != "too_large" {
		t.Errorf("2 MiB body: %d %s", r.Status, r.Body)
	}
	r = do(t, s, "GET", "/nope", "", "", nil)
	if r.Status != 404 || outcomeCode(t, r.Body) != "not_found" {
		t.Errorf("unknown route: %d %s", r.Status, r.Body)
	}
	for _, h := range []string{"X-Content-Type-Options", "Content-Security-Policy", "Referrer-Policy", "Strict-Transport-Security"} {
		if r.Header.Get(h) == "" {
			t.Errorf("missing security header %s", h)
		}
	}
	big := []byte(strings.Replace(httpapi.SampleBundle, `"lotNumber": "0000001"`, `"lotNumber": "`+strings.Repeat("Zq9", 400)+`"`, 1))
	big = []byte(strings.Replace(string(big), `"Demo Clinic"`, `"`+randomText(1200)+`"`, 1))
	r = do(t, s, "POST", "/v1/cards", s.Token, "", big)
	if r.Status != 422 || outcomeCode(t, r.Body) != "card_too_large_for_qr" {
		t.Fatalf("too large: %d %s", r.Status, r.Body)
	}
	if r = do(t, s, "POST", "/v1/cards?delivery=chunks", s.Token, "", big); r.Status != 201 {
		t.Fatalf("chunks: %d %s", r.Status, r.Body)
	}
	if r = do(t, s, "POST", "/v1/cards?format=png", s.Token, "", sample); r.Status != 400 {
		t.Errorf("png for two cards: %d", r.Status)
	}
}

func randomText(n int) string {
	const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = abc[x%uint32(len(abc))]
	}
	return string(b)
}

func TestPrintPage(t *testing.T) {
	s := httpapitest.Start(t, httpapitest.Options{})
	out := issue(t, s, sample)
	r := do(t, s, "GET", strings.TrimPrefix(out.Cards[0].Links.Print, s.URL)+"?paper=letter", "", "", nil)
	body := string(r.Body)
	if r.Status != 200 || !strings.Contains(body, "<svg") || !strings.Contains(body, "Test Lab") || !strings.Contains(body, "@page { size: letter") ||
		!strings.Contains(body, "John B. Anyperson") || !strings.Contains(body, "1951-01-20") {
		t.Fatalf("print page %d: %.2000s", r.Status, body)
	}
	if csp := r.Header.Get("Content-Security-Policy"); strings.Contains(csp, "script-src") {
		t.Errorf("print page allows scripts: %s", csp)
	}
	// The sample lab bundle: the performer (a supporting Organization on
	// the card) is named, the test has a readable name, dates are dates.
	lab := issue(t, s, bundles.LabCovidPCR)
	r = do(t, s, "GET", strings.TrimPrefix(lab.Cards[0].Links.Print, s.URL)+"?paper=A4", "", "", nil)
	body = string(r.Body)
	for _, want := range []string{"Example Reference Laboratory", "SARS-CoV-2 RNA Resp Ql NAA+probe (LOINC 94500-6): Not detected", ">2026-11-19<", "Maria Elena Garcia", "@page { size: A4"} {
		if !strings.Contains(html.UnescapeString(body), want) {
			t.Errorf("A4 print page lacks %q: %.3000s", want, body)
		}
	}
	dev := do(t, s, "GET", "/", "", "", nil)
	if dev.Status != 200 || !strings.Contains(string(dev.Body), "demo-patient-1") || !strings.Contains(dev.Header.Get("Content-Security-Policy"), "nonce-") {
		t.Errorf("dev page %d", dev.Status)
	}
}
