package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/verifier"
)

// A small image sent as text (an SVG) is image work: it waits for a
// large-request slot like an uploaded photo, and gives up at its deadline.
func TestSmallImageTakesTheLargeLane(t *testing.T) {
	for in, want := range map[string]bool{
		"<svg viewBox='0 0 1 1'/>": true, "  <?xml version='1.0'?><svg/>": true, "\x89PNG\r\n\x1a\nrest": true,
		"\xff\xd8\xff\xe0": true, "shc:/56": false, `{"verifiableCredential":[]}`: false, "a.b.c": false,
	} {
		if looksLikeImage([]byte(in)) != want {
			t.Errorf("%q: looksLikeImage %v", in, !want)
		}
	}
	v, err := verifier.New(verifier.WithTrustedIssuers("https://lab.example"), verifier.WithOffline())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Verifier: v, MaxConcurrentLarge: 1, RateLimit: -1, VerifyTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s.large <- struct{}{} // a large request holds the only slot: the SVG waits out its 2 s deadline
	for body, status := range map[string]int{"<svg viewBox='0 0 1 1'><rect width='1' height='1'/></svg>": 503, "shc:/56": 200} {
		req := httptest.NewRequest(http.MethodPost, "/v1/verify", strings.NewReader(body))
		req.Header.Set("Content-Type", "text/plain")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != status {
			t.Errorf("%.20s: %d %s, want %d", body, rec.Code, rec.Body, status)
		}
	}
	if n := len(s.large); n != 1 {
		t.Errorf("%d large slots held after the requests, want 1", n)
	}
}
