package oauth

import (
	"net/url"
	"strings"
	"testing"
)

// redirectAllowed never admits a URI that is not registered: either the
// exact string, or (public clients only) an http loopback URI whose host,
// path and query equal a registered loopback URI's (RFC 8252: only the
// port may differ).
func FuzzRedirectAllowed(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1/callback", "http://127.0.0.1:8080/callback", "http://localhost/callback",
		"https://wallet.example/cb", "http://127.0.0.1/callback?x=1", "http://127.0.0.1/callback#f", "http://evil@127.0.0.1/callback",
		"http://127.0.0.1:1/callback/../callback", "HTTP://127.0.0.1/callback", "http://[::1]/callback", "org.example.wallet:/cb",
		"http://127.0.0.1./callback", "http://127.0.0.1/Callback", "http://127.0.0.1%2f@evil.example/callback"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	registered := []string{"http://127.0.0.1/callback", "https://wallet.example/cb", "org.example.wallet:/cb"}
	f.Fuzz(func(t *testing.T, uri string, confidential bool) {
		c := Client{RedirectURIs: registered, Confidential: confidential}
		if !c.redirectAllowed(uri) {
			return
		}
		for _, r := range registered {
			if r == uri {
				return
			}
		}
		if confidential {
			t.Fatalf("confidential client: %q allowed but not registered", uri)
		}
		u, err := url.Parse(uri)
		if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.EscapedPath() != "/callback" || u.RawQuery != "" ||
			u.User != nil || u.Fragment != "" {
			t.Fatalf("%q allowed: not the registered loopback URI with another port", uri)
		}
	})
}

// Registration refuses what a redirect must never be.
func TestCheckRedirectURI(t *testing.T) {
	for _, c := range []struct {
		uri          string
		confidential bool
		ok           bool
	}{
		{"https://wallet.example/cb", true, true},
		{"http://127.0.0.1/cb", false, true},
		{"http://[::1]:8080/cb", false, true},
		{"http://localhost/cb", true, false}, // RFC 8252, section 8.3: the IP literal
		{"http://localhost:8080/cb", false, false},
		{"http://LocalHost./cb", false, false},
		{"http://app.localhost/cb", false, false},
		{"http://127.0.0.1:8080/cb", true, true},
		{"org.example.wallet:/cb", false, true},
		{"org.example.wallet:/cb", true, false},
		{"http://wallet.example/cb", false, false},
		{"https://wallet.example/cb#x", false, false},
		{"https://user@wallet.example/cb", false, false},
		{"https://*.wallet.example/cb", false, false},
		{"/relative", false, false},
		{"javascript:alert(1)", false, false},
		{"https:///nohost", false, false},
	} {
		err := checkRedirectURI(c.uri, c.confidential)
		if (err == nil) != c.ok {
			t.Errorf("%q (confidential %t): %v, want ok=%t", c.uri, c.confidential, err, c.ok)
		}
		if strings.Contains(strings.ToLower(c.uri), "localhost") && (CodeOf(err) != CodeInvalidClientRegistration || !strings.Contains(err.Error(), "127.0.0.1")) {
			t.Errorf("%q: %v, want a message naming the IP literal", c.uri, err)
		}
	}
}
