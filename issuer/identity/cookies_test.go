package identity_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/issuer/identity"
)

// A POST from another site, or without Origin, is refused as CSRF.
func TestCheckOrigin(t *testing.T) {
	for o, ok := range map[string]bool{"https://lab.example.org": true, "": false, "https://evil.example": false, "null": false} {
		r := httptest.NewRequest("POST", "/desk/enrol/begin", nil)
		if o != "" {
			r.Header.Set("Origin", o)
		}
		err := identity.CheckOrigin(r, "https://lab.example.org")
		if (err == nil) != ok || (err != nil && identity.CodeOf(err) != identity.CodeCSRF) {
			t.Errorf("Origin %q: %v", o, err)
		}
	}
}

// A ceremony id is read once: taking it clears the cookie.
func TestCeremonyCookieIsTakenOnce(t *testing.T) {
	w := httptest.NewRecorder()
	identity.SetCeremonyCookie(w, "__Host-c", "cer-1")
	set := w.Result().Cookies()
	if len(set) != 1 || set[0].Value != "cer-1" || !set[0].Secure || !set[0].HttpOnly || set[0].SameSite != http.SameSiteStrictMode || set[0].MaxAge != 300 {
		t.Fatalf("ceremony cookie: %+v", set)
	}
	r := httptest.NewRequest("POST", "/", nil)
	r.AddCookie(set[0])
	w = httptest.NewRecorder()
	if id := identity.TakeCeremonyCookie(w, r, "__Host-c"); id != "cer-1" {
		t.Fatalf("TakeCeremonyCookie = %q", id)
	}
	if c := w.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Fatalf("the cookie was not cleared: %+v", c)
	}
	if id := identity.TakeCeremonyCookie(httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil), "__Host-c"); id != "" {
		t.Fatalf("no cookie gave %q", id)
	}
}

func TestClientKey(t *testing.T) {
	s, _ := open(t)
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("X-Forwarded-For", "198.51.100.9") // ignored without Config.ClientIP
	for in, want := range map[string]string{"192.0.2.7:5123": "192.0.2.7", "[2001:db8::1]:443": "2001:db8::1", "odd": "odd"} {
		r.RemoteAddr = in
		if got := s.ClientKey(r); got != want {
			t.Errorf("ClientKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// Coded errors keep their code and message; anything else is an internal
// error whose text stays on the server.
func TestErrorJSON(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   identity.Code
		msg    string
	}{
		{identity.ErrRateLimited, 429, identity.CodeRateLimited, ""},
		{&identity.Error{Code: identity.CodeCSRF, Msg: "foreign"}, 403, identity.CodeCSRF, "foreign"},
		{fmt.Errorf("wrapped: %w", &identity.Error{Code: identity.CodeInvalidCode, Msg: "no such code"}), 400, identity.CodeInvalidCode, "no such code"},
		{&identity.Error{Code: identity.CodeInternal, Msg: "db at 10.0.0.5 down"}, 500, identity.CodeInternal, "the service failed; try again"},
		{errors.New("secret detail"), 400, identity.CodeInternal, "the service failed; try again"},
	} {
		status, body := identity.ErrorJSON(tc.err)
		if status != tc.status || body["code"] != string(tc.code) || (tc.msg != "" && body["message"] != tc.msg) ||
			strings.Contains(body["message"], "secret") || strings.Contains(body["message"], "10.0.0.5") {
			t.Errorf("ErrorJSON(%v) = %d %v", tc.err, status, body)
		}
	}
}

// Each page gets its own nonce, and only that nonce may run inline code.
func TestPageHeaders(t *testing.T) {
	a, b := identity.PageNonce(), identity.PageNonce()
	if a == b || len(a) < 20 {
		t.Fatalf("nonces %q, %q", a, b)
	}
	h := http.Header{}
	identity.SetPageHeaders(h, a)
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'nonce-"+a+"'") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") ||
		h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "same-origin" {
		t.Fatalf("headers: %v", h)
	}
}
