package service

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// signupAttempts starts the service with trusted proxies and posts sign-up
// code guesses to /account/signup/begin as the clients named by xffs, one
// guess each, returning the statuses.
func signupAttempts(t *testing.T, proxies []string, xffs []string) []int {
	t.Helper()
	cfg := testConfig(t, t.TempDir())
	cfg.TrustedProxies = proxies
	svc, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(time.Minute): // bound only
			t.Error("Run did not return")
		}
	}()
	pem, err := os.ReadFile(svc.CertFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
	url := "https://127.0.0.1:" + strconv.Itoa(svc.Addr().(*net.TCPAddr).Port) + "/account/signup/begin"
	var out []int
	for _, xff := range xffs {
		req, _ := http.NewRequest("POST", url, strings.NewReader(`{"code":"ABCD-EFGH-JKMN"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", svc.BaseURL())
		req.Header.Set("X-Forwarded-For", xff)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		out = append(out, resp.StatusCode)
	}
	return out
}

// Behind a trusted proxy (--trusted-proxy) the sign-up code limit counts
// per client named by X-Forwarded-For: one client's guesses past its limit
// leave another client's attempt through. From an untrusted peer the
// header is ignored: a guesser cannot get a fresh limit by forging it.
func TestSignupLimitPerClientBehindProxy(t *testing.T) {
	guesses := []string{"203.0.113.7", "203.0.113.7", "203.0.113.7", "203.0.113.7", "203.0.113.7", "203.0.113.7", "198.51.100.1, 203.0.113.8"}
	got := signupAttempts(t, []string{"127.0.0.1/32"}, guesses)
	want := []int{400, 400, 400, 400, 400, 429, 400}
	if !slices.Equal(got, want) {
		t.Fatalf("through a trusted proxy: statuses %v, want %v (the 6th guess of one client limited, another client not)", got, want)
	}
	got = signupAttempts(t, nil, guesses)
	want = []int{400, 400, 400, 400, 400, 429, 429}
	if !slices.Equal(got, want) {
		t.Fatalf("no trusted proxy: statuses %v, want %v (a forged X-Forwarded-For is ignored)", got, want)
	}
}
