package safehttp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func tlsClient(srv *httptest.Server, cfg Config) *Client {
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	cfg.RootCAs = pool
	return MustNew(cfg)
}

func TestPublicAddr(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		public bool
	}{
		{"8.8.8.8", true}, {"2606:4700::1111", true},
		{"127.0.0.1", false}, {"10.1.2.3", false}, {"172.16.0.1", false}, {"192.168.1.1", false},
		{"169.254.169.254", false}, {"100.64.0.1", false}, {"0.0.0.0", false}, {"::1", false},
		{"fe80::1", false}, {"fd00::1", false}, {"::ffff:127.0.0.1", false}, {"224.0.0.1", false},
		{"255.255.255.255", false}, {"64:ff9b::a00:1", false},
		// IPv4 embedded in IPv6, and deprecated or unrouted IPv6 ranges (issue 10).
		{"::127.0.0.1", false}, {"::a9fe:a9fe", false}, {"::8.8.8.8", false},
		{"::ffff:0:7f00:1", false}, {"::ffff:169.254.169.254", false},
		{"2002:7f00:1::1", false}, {"2002:808:808::1", false},
		{"64:ff9b:1::7f00:1", false}, {"64:ff9b:1:ffff::1", false},
		{"2001::1", false}, {"2001:0:4136:e378:8000:63bf:3fff:fdd2", false},
		{"fec0::1", false}, {"feff::1", false}, {"100::1", false}, {"100::ffff:ffff:ffff:ffff", false},
		{"2001:db8::1", false}, {"3fff::1", false}, {"2001:10::1", false}, {"2001:20::1", false},
		{"192.0.2.1", false}, {"198.51.100.7", false}, {"203.0.113.9", false}, {"192.88.99.1", false},
		// Just outside the refused ranges: public.
		{"2001:4860:4860::8888", true}, {"2003::1", true}, {"100:0:0:1::1", true}, {"64:ff9b:2::1", true},
		{"fe00::1", true}, {"1.1.1.1", true},
	} {
		if got := PublicAddr(netip.MustParseAddr(tc.addr)); got != tc.public {
			t.Errorf("PublicAddr(%s) = %v, want %v", tc.addr, got, tc.public)
		}
	}
}

func TestLoopbackRefusedByDefault(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	_, err := tlsClient(srv, Config{}).Get(context.Background(), srv.URL)
	if !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("err = %v, want ErrBlockedAddress", err)
	}
	resp, err := tlsClient(srv, Config{AllowPrivateNetwork: true}).Get(context.Background(), srv.URL)
	if err != nil || string(resp.Body) != "ok" {
		t.Fatalf("allowed fetch: %v %v", resp, err)
	}
}

func TestNameResolvingToLoopbackRefused(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	// "localhost" passes the literal-address check and must be caught at dial time.
	u := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	_, err := tlsClient(srv, Config{}).Get(context.Background(), u)
	if !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("err = %v, want ErrBlockedAddress", err)
	}
}

func TestHTTPSOnly(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	_, err := MustNew(Config{AllowPrivateNetwork: true}).Get(context.Background(), srv.URL)
	if !errors.Is(err, ErrScheme) {
		t.Fatalf("err = %v, want ErrScheme", err)
	}
	for _, u := range []string{"file:///etc/passwd", "gopher://x", "ftp://x/y"} {
		if _, err := MustNew(Config{}).Get(context.Background(), u); !errors.Is(err, ErrScheme) {
			t.Errorf("%s: err = %v, want ErrScheme", u, err)
		}
	}
	if _, err := MustNew(Config{AllowPrivateNetwork: true, AllowHTTP: true}).Get(context.Background(), srv.URL); err != nil {
		t.Fatalf("AllowHTTP: %v", err)
	}
}

func TestSizeCap(t *testing.T) {
	big := strings.Repeat("a", 4096)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.(http.Flusher).Flush() // no Content-Length: the cap must hold while reading
		}
		w.Write([]byte(big))
	}))
	defer srv.Close()
	c := tlsClient(srv, Config{AllowPrivateNetwork: true, MaxBytes: 1000})
	for _, p := range []string{"/", "/chunked"} {
		if _, err := c.Get(context.Background(), srv.URL+p); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: err = %v, want ErrTooLarge", p, err)
		}
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := tlsClient(srv, Config{AllowPrivateNetwork: true, Timeout: 200 * time.Millisecond})
	if _, err := c.Get(context.Background(), srv.URL); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
}

func TestRedirects(t *testing.T) {
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("other")) }))
	defer other.Close()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/final", http.StatusFound)
		case "/final":
			w.Write([]byte("final"))
		case "/away":
			http.Redirect(w, r, other.URL+"/x", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		}
	}))
	defer srv.Close()
	c := tlsClient(srv, Config{AllowPrivateNetwork: true})
	resp, err := c.Get(context.Background(), srv.URL+"/same")
	if err != nil || string(resp.Body) != "final" {
		t.Fatalf("same-origin redirect: %v %v", resp, err)
	}
	for _, p := range []string{"/away", "/loop"} {
		if _, err := c.Get(context.Background(), srv.URL+p); !errors.Is(err, ErrRedirect) {
			t.Errorf("%s: err = %v, want ErrRedirect", p, err)
		}
	}
}

// TestPrivateOrigins: the exception admits exactly the named origin on a
// private address; another port on the same loopback host, or a redirect out
// of the origin, stays refused.
func TestPrivateOrigins(t *testing.T) {
	mk := func(body string) *httptest.Server {
		return httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/elsewhere" {
				http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
				return
			}
			w.Write([]byte(body))
		}))
	}
	own, other := mk("own"), mk("other")
	defer own.Close()
	defer other.Close()
	pool := own.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	pool.AddCert(other.Certificate())
	c, err := New(Config{RootCAs: pool, PrivateOrigins: []string{strings.ToUpper(own.URL[:8]) + own.URL[8:] + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if resp, err := c.Get(ctx, own.URL+"/.well-known/jwks.json"); err != nil || string(resp.Body) != "own" {
		t.Fatalf("own origin: %v %v", resp, err)
	}
	for _, u := range []string{
		other.URL + "/x", // another loopback origin
		strings.Replace(other.URL, "127.0.0.1", "localhost", 1), // same, by name
		own.URL + "/elsewhere?to=" + other.URL + "/x",           // redirect out of the origin
	} {
		if _, err := c.Get(ctx, u); !errors.Is(err, ErrBlockedAddress) && !errors.Is(err, ErrRedirect) {
			t.Errorf("%s: err = %v, want a refusal", u, err)
		}
	}
	for _, bad := range []string{"localhost:8443", "https://h/path", "https://u@h", "ftp://h", "https://h?q"} {
		if _, err := New(Config{PrivateOrigins: []string{bad}}); err == nil {
			t.Errorf("PrivateOrigins %q accepted", bad)
		}
	}
}

// TestGetConditional: the validators are sent, a 304 comes back with an
// empty body, and a validator with control characters or over the length
// bound is not sent.
func TestGetConditional(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"v1"` && r.Header.Get("If-Modified-Since") == "Sun, 29 Nov 2026 12:00:00 GMT" {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Write([]byte("body; If-None-Match=" + r.Header.Get("If-None-Match")))
	}))
	defer srv.Close()
	c := tlsClient(srv, Config{AllowPrivateNetwork: true})
	ctx := context.Background()
	r, err := c.GetConditional(ctx, srv.URL, `"v1"`, "Sun, 29 Nov 2026 12:00:00 GMT")
	if err != nil || r.StatusCode != http.StatusNotModified || len(r.Body) != 0 {
		t.Fatalf("conditional: %v %+v", err, r)
	}
	r, err = c.GetConditional(ctx, srv.URL, "", "")
	if err != nil || r.StatusCode != 200 || r.Header.Get("ETag") != `"v1"` || string(r.Body) != "body; If-None-Match=" {
		t.Fatalf("unconditional: %v %+v", err, r)
	}
	for _, bad := range []string{"\"v1\"\r\nX-Injected: 1", `"` + strings.Repeat("a", 300) + `"`} {
		r, err = c.GetConditional(ctx, srv.URL, bad, "")
		if err != nil || r.StatusCode != 200 || string(r.Body) != "body; If-None-Match=" {
			t.Fatalf("validator %.20q was sent: %v %+v", bad, err, r)
		}
	}
}

// Do sends the caller's header fields under the same guard, and refuses the
// ones that steer the connection.
func TestDoHeaders(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Method + " " + r.Header.Get("Authorization") + " " + r.Header.Get("Content-Type")))
	}))
	defer srv.Close()
	ctx := context.Background()
	h := http.Header{"Authorization": {"Bearer t0k"}}
	if _, err := tlsClient(srv, Config{}).Do(ctx, http.MethodPost, srv.URL, "application/json", []byte("{}"), h); !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("guard: %v", err)
	}
	c := tlsClient(srv, Config{AllowPrivateNetwork: true})
	r, err := c.Do(ctx, http.MethodPost, srv.URL, "application/json", []byte("{}"), h)
	if err != nil || string(r.Body) != "POST Bearer t0k application/json" {
		t.Fatalf("Do: %v %+v", err, r)
	}
	for _, k := range []string{"host", "Transfer-Encoding", "Proxy-Authorization", "Content-Length", "Connection"} {
		if _, err := c.Do(ctx, http.MethodGet, srv.URL, "", nil, http.Header{k: {"x"}}); err == nil || !strings.Contains(err.Error(), "may not be set") {
			t.Fatalf("header %s: %v", k, err)
		}
	}
}
