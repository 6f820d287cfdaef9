package oauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/issuer/oauth"
)

type noPeople struct{}

func (noPeople) Viewer(*http.Request) (*oauth.Viewer, error) { return nil, nil }

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// limitedServer is a bare Server (no TLS, an injected clock) with small
// limits, and a registered public client.
func limitedServer(t *testing.T, perMinute, maxOpen int) (*echo.Echo, *testClock, string) {
	return bareServer(t, oauth.Config{RequestsPerMinute: perMinute, MaxOpenRequests: maxOpen, People: noPeople{}})
}

// bareServer builds cfg's Server with a fresh store, key and clock.
func bareServer(t *testing.T, cfg oauth.Config) (*echo.Echo, *testClock, string) {
	t.Helper()
	ctx := context.Background()
	clk := &testClock{t: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)}
	st, err := oauth.Open(ctx, oauth.StoreConfig{Path: filepath.Join(t.TempDir(), "oauth.db"), Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	jwk, err := oauth.NewKeyJWK()
	if err != nil {
		t.Fatal(err)
	}
	key, err := oauth.KeyFromJWK(jwk)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.BaseURL, cfg.Key = st, "https://lab.example", key
	srv, err := oauth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := st.AddClient(ctx, "Wallet", []string{"http://127.0.0.1/callback"}, false)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	srv.Mount(e)
	return e, clk, c.ID
}

func serve(e *echo.Echo, method, target, from string, form url.Values) *httptest.ResponseRecorder {
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.RemoteAddr = from
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	return w
}

// Bounded inputs on the public endpoints: state and nonce at most
// MaxStateBytes (invalid_request, the state not echoed), at most
// MaxOpenRequests authorization requests awaiting an answer
// (temporarily_unavailable), and RequestsPerMinute per client address
// (an IPv6 /64) on /oauth/authorize and /oauth/token (429), counted in
// the database.
func TestAuthorizeAndTokenLimits(t *testing.T) {
	e, clk, client := limitedServer(t, 2, 3)
	authorize := func(from string, extra ...string) *httptest.ResponseRecorder {
		q := url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {"http://127.0.0.1/callback"},
			"code_challenge": {strings.Repeat("A", 43)}, "code_challenge_method": {"S256"}, "aud": {"https://lab.example/fhir"},
			"scope": {"openid patient/*.rs"}, "state": {"s1"}}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		return serve(e, "GET", "/oauth/authorize?"+q.Encode(), from, nil)
	}
	// expect checks a redirect: to the consent page (want ""), or back to
	// the app with error want.
	expect := func(step string, w *httptest.ResponseRecorder, want string) {
		t.Helper()
		loc, _ := url.Parse(w.Header().Get("Location"))
		if w.Code != http.StatusFound || loc == nil {
			t.Fatalf("%s: %d %s", step, w.Code, w.Body)
		}
		if want == "" {
			if !strings.HasPrefix(loc.Path, "/oauth/consent") {
				t.Fatalf("%s: redirected to %s, want the consent page", step, loc)
			}
			return
		}
		if got := loc.Query().Get("error"); got != want || len(loc.RawQuery) > 1024 {
			t.Fatalf("%s: error %q (%d bytes), want %s", step, got, len(loc.RawQuery), want)
		}
	}
	const a, b, c = "192.0.2.1:4000", "192.0.2.2:4000", "192.0.2.3:4000"
	expect("state of 512 bytes", authorize(a, "state", strings.Repeat("s", 512)), "")
	w := authorize(a, "state", strings.Repeat("s", 513))
	expect("state of 513 bytes", w, "invalid_request")
	if strings.Contains(w.Header().Get("Location"), "state=") {
		t.Fatal("an over-long state was echoed back")
	}
	expect("nonce of 30 KB", authorize(b, "nonce", strings.Repeat("n", 30<<10)), "invalid_request")
	expect("second open request", authorize(b), "")
	expect("third open request", authorize(c), "")
	expect("fourth open request", authorize("[2001:db8::1]:4000"), "temporarily_unavailable")
	expect("same /64", authorize("[2001:db8::2]:4000"), "temporarily_unavailable")
	if w := authorize("[2001:db8::3]:4000"); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("third request of one IPv6 /64 in a minute: %d", w.Code)
	}
	if w := authorize(a); w.Code != http.StatusTooManyRequests {
		t.Fatalf("third authorize of %s in a minute: %d", a, w.Code)
	}
	token := func(from string) (int, string) {
		w := serve(e, "POST", "/oauth/token", from, url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "client_id": {client}})
		var m map[string]string
		json.Unmarshal(w.Body.Bytes(), &m)
		return w.Code, m["error"]
	}
	const d = "198.51.100.7:5000"
	for i := range 2 {
		if st, _ := token(d); st == http.StatusTooManyRequests {
			t.Fatalf("token request %d refused", i+1)
		}
	}
	if st, code := token(d); st != http.StatusTooManyRequests || code != "temporarily_unavailable" {
		t.Fatalf("third token request in a minute: %d %s", st, code)
	}
	// A minute later the addresses may ask again; ten minutes later the
	// open requests have expired.
	clk.add(61 * time.Second)
	if st, _ := token(d); st == http.StatusTooManyRequests {
		t.Fatal("token request refused a minute later")
	}
	expect("a minute later, still 3 open", authorize(a), "temporarily_unavailable")
	clk.add(oauth.RequestTTL)
	expect("after the requests expired", authorize(c), "")
}
