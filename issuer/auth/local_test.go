package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// grantsOK accepts every grant and jti (the database check is tested in
// issuer/oauth); it counts its calls.
type grantsOK struct{ calls int }

func (g *grantsOK) GrantActive(context.Context, string, string) (bool, error) {
	g.calls++
	return true, nil
}

// A token of the local server is an access token only when it carries
// what only access tokens have (jti, client_id, scope, grant_id) and no
// ID-token claim (at_hash, nonce): an ID token signed with the same key
// and naming the FHIR base as audience is refused as a bearer token.
func TestLocalTokenIsAnAccessToken(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	g := &grantsOK{}
	a, err := New(Config{Now: func() time.Time { return now }, Local: &LocalJWT{Issuer: "https://lab.example", Audience: "https://lab.example/fhir",
		Key: jose.JSONWebKey{Key: &priv.PublicKey, KeyID: "k1", Algorithm: "ES256"}, Grants: g}})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: priv, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	sign := func(edit func(map[string]any)) string {
		c := map[string]any{"iss": "https://lab.example", "aud": []string{"https://lab.example/fhir", "shcc_1"}, "sub": "acct-1",
			"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(), "jti": "at_1", "client_id": "shcc_1", "scope": "patient/*.rs",
			"patient": "pt-1", "grant_id": "gr_1"}
		edit(c)
		tok, err := jwt.Signed(signer).Claims(c).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok
	}
	p, err := a.Authenticate(context.Background(), sign(func(map[string]any) {}))
	if err != nil || p.Patient != "pt-1" || !p.Has("patient/*.rs") || g.calls != 1 {
		t.Fatalf("an access token: %+v %v (grant checks %d)", p, err, g.calls)
	}
	for name, edit := range map[string]func(map[string]any){
		"ID token (at_hash)": func(c map[string]any) { c["at_hash"] = "x" },
		"ID token (nonce)":   func(c map[string]any) { c["nonce"] = "n" },
		"ID token (as built)": func(c map[string]any) {
			delete(c, "jti")
			delete(c, "scope")
			delete(c, "grant_id")
			c["at_hash"] = "x"
			c["azp"] = "shcc_1"
		},
		"no client_id":        func(c map[string]any) { delete(c, "client_id") },
		"no scope":            func(c map[string]any) { delete(c, "scope") },
		"no jti":              func(c map[string]any) { delete(c, "jti") },
		"no grant_id":         func(c map[string]any) { delete(c, "grant_id") },
		"aud the client only": func(c map[string]any) { c["aud"] = "shcc_1" },
	} {
		if _, err := a.Authenticate(context.Background(), sign(edit)); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if g.calls != 1 {
		t.Errorf("the grant was looked up for a refused token (%d calls)", g.calls)
	}
}
