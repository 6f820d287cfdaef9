package safefetch

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
	return New(cfg)
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
	_, err := New(Config{AllowPrivateNetwork: true}).Get(context.Background(), srv.URL)
	if !errors.Is(err, ErrScheme) {
		t.Fatalf("err = %v, want ErrScheme", err)
	}
	for _, u := range []string{"file:///etc/passwd", "gopher://x", "ftp://x/y"} {
		if _, err := New(Config{}).Get(context.Background(), u); !errors.Is(err, ErrScheme) {
			t.Errorf("%s: err = %v, want ErrScheme", u, err)
		}
	}
	if _, err := New(Config{AllowPrivateNetwork: true, AllowHTTP: true}).Get(context.Background(), srv.URL); err != nil {
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
