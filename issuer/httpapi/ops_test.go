package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/issuer/bulk"
	"github.com/healthcards/healthcards/issuer/httpapi"
	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
	"github.com/healthcards/healthcards/issuer/identity"
	"github.com/healthcards/healthcards/issuer/oauth"
	"github.com/healthcards/healthcards/issuer/store/sqlite"
)

// startWithLinks runs the service with SMART Health Links mounted and one
// Metrics shared by both, and returns the config it was built with.
func startWithLinks(t *testing.T) (*httpapitest.Server, httpapi.Config) {
	t.Helper()
	var cfg httpapi.Config
	m := httpapi.NewMetrics()
	s := httpapitest.Start(t, httpapitest.Options{ConfigAPI: func(c *httpapi.Config) {
		l, err := httpapi.NewLinks(httpapi.LinksConfig{Issuer: c.Issuer, Auth: c.Auth, BaseURL: c.BaseURL, Metrics: m})
		if err != nil {
			t.Fatal(err)
		}
		// Registry-scale issuing (batches.go) is mounted beside the links.
		db, err := sqlite.Open(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		bm, err := bulk.NewManager(bulk.ManagerConfig{DB: db, Dir: t.TempDir(), Issuer: c.Issuer})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bm.Close() })
		b, err := httpapi.NewBatches(httpapi.BatchesConfig{Manager: bm, Auth: c.Auth})
		if err != nil {
			t.Fatal(err)
		}
		// The enrolment API (issue 13) too.
		ids, err := identity.Open(context.Background(), identity.Config{Path: filepath.Join(t.TempDir(), "identity.db")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ids.Close() })
		en, err := httpapi.NewEnrolments(httpapi.EnrolmentsConfig{Issuer: c.Issuer, Auth: c.Auth, Identity: ids, BaseURL: c.BaseURL})
		if err != nil {
			t.Fatal(err)
		}
		// The built-in authorization server (issue 13) too.
		oa := builtinOAuth(t, c.BaseURL)
		c.Mount = func(e *echo.Echo) { l.Mount(e); b.Mount(e); en.Mount(e); oa.Mount(e) }
		c.Metrics = m
		cfg = *c
	}})
	return s, cfg
}

// builtinOAuth is the built-in authorization server on SQLite.
func builtinOAuth(t *testing.T, base string) *oauth.Server {
	t.Helper()
	ctx := context.Background()
	st, err := oauth.Open(ctx, oauth.StoreConfig{Path: filepath.Join(t.TempDir(), "oauth.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ids, err := identity.Open(ctx, identity.Config{Path: filepath.Join(t.TempDir(), "identity.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ids.Close() })
	key, err := oauth.KeyFromFile(filepath.Join(t.TempDir(), oauth.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := oauth.New(oauth.Config{Store: st, BaseURL: base, Key: key, People: oauth.IdentityPeople{Identity: ids}})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

var pathParam = regexp.MustCompile(`:([A-Za-z]+)`)

// Issue 14: /openapi.json documents exactly the routes the router serves
// (walked from echo's router), method by method.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	s, cfg := startWithLinks(t)
	e, err := httpapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, s, "GET", "/openapi.json", "", "", nil)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &doc) != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("GET /openapi.json: %d %.200s", r.Status, r.Body)
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			documented[strings.ToUpper(m)+" "+p] = true
		}
	}
	served := map[string]bool{}
	for _, rt := range e.Router().Routes() {
		p := pathParam.ReplaceAllString(rt.Path, "{$1}")
		if p == httpapi.LinksPath+"/*" {
			// The link host (shl/host) serves the protocol under /shl/:
			// manifests (POST, and GET for U links) and location URLs.
			// e.Any registers one route for every method.
			if rt.Method == http.MethodGet || rt.Method == "echo_route_any" {
				served["GET /shl/{id}"], served["GET /shl/f/{token}"] = true, true
			}
			if rt.Method == http.MethodPost || rt.Method == "echo_route_any" {
				served["POST /shl/{id}"] = true
			}
			continue
		}
		if slices.Contains(oauth.PagePaths, p) {
			continue // HTML pages (docs/oauth.md), like the desk's
		}
		served[rt.Method+" "+p] = true
	}
	// did.json is served only for a did:web iss (this one is https).
	served["GET /.well-known/did.json"] = true
	var missing, extra []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Errorf("routes not in openapi.json: %v\nopenapi.json paths not served: %v", missing, extra)
	}
	for _, must := range []string{"GET /readyz", "GET /metrics", "POST /v1/revocations", "POST /v1/links"} {
		if !served[must] {
			t.Errorf("%s is not served", must)
		}
	}
}

// /readyz: ready with a store and an active key; /metrics counts cards,
// revocations, links, errors by code and latency.
func TestReadyzAndMetrics(t *testing.T) {
	s, _ := startWithLinks(t)
	if r := do(t, s, "GET", "/readyz", "", "", nil); r.Status != 200 || !strings.Contains(string(r.Body), `"ready"`) {
		t.Fatalf("readyz: %d %s", r.Status, r.Body)
	}
	issue(t, s, sample) // two cards
	if r := do(t, s, "POST", "/v1/results", s.Token, "", sample); r.Status != 201 {
		t.Fatalf("results: %d %s", r.Status, r.Body)
	}
	if r := do(t, s, "POST", "/v1/revocations", s.Token, "", []byte(`{"patientId":"`+demoPatient+`"}`)); r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := do(t, s, "POST", "/v1/links", s.Token, "", []byte(`{"patientId":"`+demoPatient+`"}`)); r.Status != 201 {
		t.Fatalf("link: %d %s", r.Status, r.Body)
	}
	do(t, s, "POST", "/v1/revocations", s.Token, "", []byte(`{}`))         // invalid_revocation
	do(t, s, "POST", "/v1/revocations", "nope", "", []byte(`{"rid":"x"}`)) // unauthenticated
	r := do(t, s, "GET", "/metrics", "", "", nil)
	body := string(r.Body)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("metrics: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	for _, line := range []string{
		"shc_issuer_cards_issued_total 4", // two from the sample bundle, two again for the link
		"shc_issuer_revocations_total 1",
		"shc_issuer_links_created_total 1",
		`shc_issuer_errors_total{code="invalid_revocation"} 1`,
		`shc_issuer_errors_total{code="unauthenticated"} 1`,
		`shc_issuer_http_responses_total{status="201"} 3`,
		"# TYPE shc_issuer_request_duration_seconds histogram",
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("metrics lack %q:\n%s", line, body)
		}
	}
	if strings.Contains(body, demoPatient) || strings.Contains(body, s.Token) {
		t.Error("metrics hold a patient id or a token")
	}
}
