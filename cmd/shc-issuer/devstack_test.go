package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The README's main job: `shc-issuer serve` on embedded defaults loads the
// sample lab result, issues a card from it, and starts the verifier beside
// the issuer, which verifies that card against the issuer's live key set
// and revocation list (over loopback TLS with the development certificate).
func TestServeDevelopmentStack(t *testing.T) {
	dir := t.TempDir()
	c := startServe(t, dir, "--verifier-listen", "127.0.0.1:"+freePort(t))
	var page, printPath string
	end := time.Now().Add(startBound)
	for page == "" || printPath == "" {
		if time.Now().After(end) {
			t.Fatalf("no scanning page or sample card in the output:\n%s", c.out.String())
		}
		out := c.out.String()
		if m := regexp.MustCompile(`scanning page: (http://\S+)`).FindStringSubmatch(out); m != nil {
			page = m[1]
		}
		if m := regexp.MustCompile(`sample card: +https://\S+?(/cards/[A-Za-z0-9_-]+/print)`).FindStringSubmatch(out); m != nil {
			printPath = m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, html, err := c.do("GET", printPath, nil)
	if err != nil || code != http.StatusOK || !strings.Contains(string(html), "Garcia") {
		t.Fatalf("printable sample card: %d %v", code, err)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(printPath, "/cards/"), "/print")
	code, jws, err := c.do("GET", "/v1/cards/"+id+".jws", nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET the sample card: %d %v %s", code, err, jws)
	}
	body, _ := json.Marshal(map[string]string{"input": strings.TrimSpace(string(jws))})
	resp, err := http.Post(page+"v1/verify", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res struct {
		Verdict string `json:"verdict"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || res.Verdict != "verified" {
		t.Fatalf("the companion verifier says %q (%v), want verified", res.Verdict, err)
	}
}
