package oauth_test

import (
	"net/http"
	"testing"
)

// The ID token is for the app: its aud is the client id only (not the
// FHIR base the access token names), it verifies with the server's key,
// and sent as a bearer token it is refused.
func TestIDTokenIsNotABearerToken(t *testing.T) {
	s := start(t, "sqlite", "")
	tok := s.tokens(labType)
	idt, _ := tok.Extra("id_token").(string)
	c := jwtClaims(t, idt)
	if c["aud"] != s.clientID || c["azp"] != s.clientID || c["iss"] != s.base || c["sub"] == nil || c["at_hash"] == nil {
		t.Fatalf("ID token claims: %v", c)
	}
	if a := jwtClaims(t, tok.AccessToken)["aud"]; a == nil || a.([]any)[0] != s.fhir {
		t.Fatalf("access token aud %v", a)
	}
	if st, _ := s.issue(idt, "pt-1001", labType); st != http.StatusUnauthorized {
		t.Fatalf("the ID token as a bearer token: %d, want 401", st)
	}
	// After a refresh, the same.
	st, m := s.refresh(tok.RefreshToken)
	idt, _ = m["id_token"].(string)
	if st != http.StatusOK || idt == "" || jwtClaims(t, idt)["aud"] != s.clientID {
		t.Fatalf("refresh: %d, ID token aud %v", st, m["id_token"])
	}
	if st, _ := s.issue(idt, "pt-1001", labType); st != http.StatusUnauthorized {
		t.Fatalf("a refreshed ID token as a bearer token: %d, want 401", st)
	}
}
