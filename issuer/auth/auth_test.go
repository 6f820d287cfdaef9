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
		{"system/*.rs", "other", []string{"Observation", "Immunization"}, true},
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
