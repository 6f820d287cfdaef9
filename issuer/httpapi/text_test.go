package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
	"github.com/healthcards/healthcards/shc"
)

// FILE-1, QR-1: text downloads are exactly the JWS or the shc:/ text, with
// no trailing white space (the reference validator's error 133).
func TestTextDownloadsHaveNoTrailingWhitespace(t *testing.T) {
	s := httpapitest.Start(t, httpapitest.Options{})
	r := do(t, s, "POST", "/v1/cards?format=jws", s.Token, "", sample)
	if r.Status != 201 {
		t.Fatalf("POST ?format=jws: %d %s", r.Status, r.Body)
	}
	jws := string(r.Body)
	if strings.TrimSpace(jws) != jws {
		t.Fatalf("POST ?format=jws body has surrounding white space: %q", jws[len(jws)-5:])
	}
	for _, line := range strings.Split(jws, "\n") { // one card per line
		if _, err := shc.Parse(line); err != nil || strings.TrimSpace(line) != line {
			t.Fatalf("line %q…: %v", line[:min(len(line), 20)], err)
		}
	}
	r = do(t, s, "POST", "/v1/cards", s.Token, "", sample)
	var out struct {
		Cards []struct {
			ID string `json:"id"`
		} `json:"cards"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil || len(out.Cards) == 0 {
		t.Fatalf("POST /v1/cards: %v %s", err, r.Body)
	}
	for _, ext := range []string{"jws", "txt"} {
		r := do(t, s, "GET", "/v1/cards/"+out.Cards[0].ID+"."+ext, "", "", nil)
		body := string(r.Body)
		if r.Status != 200 || body == "" || strings.TrimSpace(body) != body {
			t.Errorf(".%s: %d, body %q…", ext, r.Status, body[:min(len(body), 20)])
		}
		if ext == "txt" && !strings.HasPrefix(body, "shc:/") {
			t.Errorf(".txt is not shc:/ text: %q…", body[:min(len(body), 20)])
		}
	}
}
