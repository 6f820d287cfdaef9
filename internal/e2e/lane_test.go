package e2e

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
)

// TestLinksTokensStayInTheirLane: a SMART token for pt-1001 whose scope
// string also names the lab scopes cannot create a link to another
// patient's cards (issue 10), and link requests match member names exactly.
func TestLinksTokensStayInTheirLane(t *testing.T) {
	e := startSHL(t)
	all := "patient/*.read system/*.read cards:issue cards:revoke results:write"
	patientTok := e.s.MintJWT(t, httpapitest.Claims{Subject: "u9", Patient: "pt-1001", Scope: all})
	if code, b := e.call(t, "POST", "/v1/links", patientTok, map[string]any{"patientId": "p-02"}); code != http.StatusForbidden {
		t.Fatalf("patient token with lab scopes created a link to another patient: %d %s", code, b)
	}
	small := json.RawMessage(`{"resourceType":"Bundle","type":"collection","entry":[]}`)
	if code, b := e.call(t, "POST", "/v1/links", patientTok, map[string]any{"bundle": small}); code != http.StatusForbidden {
		t.Fatalf("patient token with lab scopes created a link: %d %s", code, b)
	}
	for _, body := range []map[string]any{{"BUNDLE": small}, {"Bundle": small}, {"bundle": small, "LABEL": "x"}} {
		if code, b := e.call(t, "POST", "/v1/links", e.s.Token, body); code != http.StatusBadRequest {
			t.Errorf("%v: %d %s", body, code, b)
		}
	}
}
