package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
)

// cond GETs path with one conditional header.
func cond(t *testing.T, s *httpapitest.Server, path, name, value string) resp {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(name, value)
	r, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{r.StatusCode, r.Header, b}
}

// TestPublishedDocumentsAreCacheable: the key set and each revocation list
// carry a strong ETag, Last-Modified and a max-age no longer than the
// verifier's default revocation bound, answer 304 to If-None-Match and
// If-Modified-Since, and change ETag and Last-Modified when a revocation
// changes them (REV-6, REV-7).
func TestPublishedDocumentsAreCacheable(t *testing.T) {
	s := httpapitest.Start(t, httpapitest.Options{})
	out := issue(t, s, sample)
	kid := out.Cards[0].Kid
	paths := []string{"/.well-known/jwks.json", "/.well-known/crl/" + kid + ".json"}
	first := map[string]resp{}
	for _, p := range paths {
		r := do(t, s, "GET", p, "", "", nil)
		etag, lm := r.Header.Get("ETag"), r.Header.Get("Last-Modified")
		if r.Status != 200 || !strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, "W/") || lm == "" {
			t.Fatalf("%s: %d ETag %q Last-Modified %q", p, r.Status, etag, lm)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "public, max-age=60" {
			t.Errorf("%s: Cache-Control %q", p, cc)
		}
		if _, err := http.ParseTime(lm); err != nil {
			t.Errorf("%s: Last-Modified %q: %v", p, lm, err)
		}
		first[p] = r
		if c := cond(t, s, p, "If-None-Match", etag); c.Status != 304 || len(c.Body) != 0 || c.Header.Get("ETag") != etag {
			t.Errorf("%s If-None-Match: %d %q", p, c.Status, c.Body)
		}
		if c := cond(t, s, p, "If-None-Match", `"other", `+etag); c.Status != 304 {
			t.Errorf("%s If-None-Match list: %d", p, c.Status)
		}
		if c := cond(t, s, p, "If-None-Match", `"other"`); c.Status != 200 || string(c.Body) != string(r.Body) {
			t.Errorf("%s other ETag: %d", p, c.Status)
		}
		if c := cond(t, s, p, "If-Modified-Since", lm); c.Status != 304 {
			t.Errorf("%s If-Modified-Since: %d", p, c.Status)
		}
		lmt, _ := http.ParseTime(lm)
		if c := cond(t, s, p, "If-Modified-Since", lmt.Add(-time.Second).Format(http.TimeFormat)); c.Status != 200 {
			t.Errorf("%s older If-Modified-Since: %d", p, c.Status)
		}
		if c := cond(t, s, p, "If-Modified-Since", "yesterday"); c.Status != 200 {
			t.Errorf("%s unreadable If-Modified-Since: %d", p, c.Status)
		}
	}

	r := do(t, s, "POST", "/v1/revocations", s.Token, "", []byte(`{"patientId":"`+demoPatient+`","reason":"lost card"}`))
	if r.Status/100 != 2 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	for _, p := range paths {
		old := first[p]
		if c := cond(t, s, p, "If-None-Match", old.Header.Get("ETag")); c.Status != 200 || c.Header.Get("ETag") == old.Header.Get("ETag") {
			t.Errorf("%s after a revocation: %d ETag %q", p, c.Status, c.Header.Get("ETag"))
		}
		// Within the same second as the first version, Last-Modified still
		// moves forward, so If-Modified-Since never hides the change.
		if c := cond(t, s, p, "If-Modified-Since", old.Header.Get("Last-Modified")); c.Status != 200 {
			t.Errorf("%s If-Modified-Since after a revocation: %d", p, c.Status)
		}
	}
}

// TestDIDDocumentIsCacheable: did.json of a did:web issuer is served like
// the key set.
func TestDIDDocumentIsCacheable(t *testing.T) {
	s := httpapitest.Start(t, httpapitest.Options{DIDWeb: true})
	r := do(t, s, "GET", "/.well-known/did.json", "", "", nil)
	etag := r.Header.Get("ETag")
	if r.Status != 200 || etag == "" || r.Header.Get("Cache-Control") != "public, max-age=60" {
		t.Fatalf("did.json: %d %v", r.Status, r.Header)
	}
	if c := cond(t, s, "/.well-known/did.json", "If-None-Match", etag); c.Status != 304 {
		t.Fatalf("did.json If-None-Match: %d", c.Status)
	}
}
