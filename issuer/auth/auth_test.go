package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/issuer/store/memstore"
)

func TestAPITokens(t *testing.T) {
	st := memstore.New()
	a, err := New(Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	secret, tok, err := NewToken([]string{ScopeCardsIssue}, "lab", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, TokenPrefix) || strings.Contains(string(tok.Hash), secret) || len(tok.Hash) != 32 {
		t.Fatalf("token %q / stored %+v", secret, tok)
	}
	if err := st.PutToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	p, err := a.Authenticate(context.Background(), "Bearer "+secret)
	if err != nil || !p.Has(ScopeCardsIssue) || p.Has(ScopeCardsRevoke) || p.Actor() != "token:"+tok.ID {
		t.Fatalf("%+v %v", p, err)
	}
	for _, h := range []string{"", "Bearer", "Basic " + secret, "Bearer " + secret + "x", "Bearer shcit_"} {
		if _, err := a.Authenticate(context.Background(), h); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%q: %v", h, err)
		}
	}
	st.RevokeToken(context.Background(), tok.ID, time.Now())
	if _, err := a.Authenticate(context.Background(), "Bearer "+secret); !errors.Is(err, ErrUnauthenticated) {
		t.Error("revoked token accepted")
	}
	if _, _, err := NewToken([]string{"admin"}, "", time.Now()); err == nil {
		t.Error("unknown scope accepted")
	}
	if _, err := New(Config{}); err == nil {
		t.Error("no authentication configured, but New succeeded")
	}
	if _, err := New(Config{JWT: &JWTConfig{Issuer: "https://as.example"}}); err == nil {
		t.Error("JWT without audience accepted")
	}
}

func TestSMARTScopes(t *testing.T) {
	cases := []struct {
		scopes  string
		patient string
		types   []string
		want    bool
	}{
		{"patient/Immunization.read", "p1", []string{"Immunization"}, true},
		{"patient/Immunization.read", "p2", []string{"Immunization"}, false},
		{"patient/Immunization.read", "p1", []string{"Immunization", "Observation"}, false},
		{"patient/*.read", "p1", []string{"Immunization", "Observation"}, true},
		{"patient/Observation.rs", "p1", []string{"Observation"}, true},
		{"patient/Observation.r", "p1", []string{"Observation"}, true},
		{"patient/Observation.cruds", "p1", []string{"Observation"}, true},
		{"patient/Observation.s", "p1", []string{"Observation"}, false},
		{"patient/Observation.sr", "p1", []string{"Observation"}, false},
		{"patient/Observation.rs?category=laboratory", "p1", []string{"Observation"}, false},
		{"user/Observation.read", "p1", []string{"Observation"}, false},
		{"system/Observation.read", "", []string{"Observation"}, true},
		// A patient-context token stays with its patient, whatever its
		// scope string holds (issue 10).
		{"system/*.rs", "other", []string{"Observation", "Immunization"}, false},
	}
	for _, c := range cases {
		p := &Principal{Kind: "jwt", Scopes: strings.Fields(c.scopes), Patient: c.patient}
		if got := p.CanReadPatient("p1", c.types); got != c.want {
			t.Errorf("%s patient=%s %v: got %v", c.scopes, c.patient, c.types, got)
		}
	}
	if (&Principal{Kind: "token", Scopes: []string{"system/*.read"}}).CanReadPatient("p1", []string{"Observation"}) {
		t.Error("API token treated as SMART token")
	}
}

// TestLabScopesAndActors: lab scopes count only for API tokens and
// registered system clients, and JWT audit actors carry a keyed hash, never
// the patient id (issue 10).
func TestLabScopesAndActors(t *testing.T) {
	p := &Principal{Kind: "jwt", ID: "u1", Patient: "pt-1001", Scopes: []string{ScopeCardsIssue, ScopeCardsRevoke, ScopeResultsWrite}, actorKey: []byte("k")}
	for _, sc := range AllLabScopes {
		if p.Has(sc) {
			t.Errorf("a JWT principal built with %s has it", sc)
		}
	}
	a := p.Actor()
	if strings.Contains(a, "pt-1001") || !strings.HasPrefix(a, "patient:") || len(a) != len("patient:")+11 {
		t.Errorf("actor %q", a)
	}
	q := *p
	q.actorKey = []byte("other key")
	if q.Actor() == a {
		t.Error("the actor hash does not depend on the key")
	}
	if p2 := (Principal{Kind: "jwt", ID: "u1", Patient: "pt-1001", actorKey: []byte("k")}); p2.Actor() != a {
		t.Error("the actor hash is not stable for one key")
	}
	if _, err := New(Config{Store: memstore.New(), JWT: &JWTConfig{Issuer: "https://as.example", Audience: "x",
		SystemClients: map[string][]string{"lab": {"cards:everything"}}}}); err == nil {
		t.Error("an unknown scope for a system client was accepted")
	}
}
