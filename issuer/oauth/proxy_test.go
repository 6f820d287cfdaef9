package oauth_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/internal/clientip"
	"github.com/healthcards/healthcards/issuer/oauth"
)

// Behind a trusted proxy (Config.ClientIP, shc-issuer serve
// --trusted-proxy) RequestsPerMinute counts per client named by
// X-Forwarded-For, not per proxy: one client over its limit leaves
// another client's token request through.
func TestTokenLimitPerClientBehindProxy(t *testing.T) {
	proxies, err := clientip.Parse("10.0.0.10/32")
	if err != nil {
		t.Fatal(err)
	}
	e, _, client := bareServer(t, oauth.Config{RequestsPerMinute: 2, ClientIP: proxies.ClientIP, People: noPeople{}})
	token := func(xff string) int {
		r := httptest.NewRequest("POST", "/oauth/token", strings.NewReader(url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "client_id": {client}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Forwarded-For", xff)
		r.RemoteAddr = "10.0.0.10:40000"
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		return w.Code
	}
	var got []int
	for _, xff := range []string{"203.0.113.7", "203.0.113.7", "203.0.113.7", "198.51.100.9, 203.0.113.8"} {
		got = append(got, token(xff))
	}
	if got[0] == http.StatusTooManyRequests || got[1] == http.StatusTooManyRequests || got[2] != http.StatusTooManyRequests || got[3] == http.StatusTooManyRequests {
		t.Fatalf("statuses %v: want the third request of one client refused (429), the other client's first not", got)
	}
}
