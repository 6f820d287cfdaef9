package service

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// proxied starts the service with trusted proxies and returns a function
// that posts body to path as the client xff (in X-Forwarded-For, from
// 127.0.0.1) and returns the status.
func proxied(t *testing.T, proxies []string) func(path, contentType, body, xff string) int {
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
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(time.Minute): // bound only
			t.Error("Run did not return")
		}
	})
	pem, err := os.ReadFile(svc.CertFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
	base := "https://127.0.0.1:" + strconv.Itoa(svc.Addr().(*net.TCPAddr).Port)
	return func(path, contentType, body, xff string) int {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Origin", svc.BaseURL())
		req.Header.Set("X-Forwarded-For", xff)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
}

// signupAttempts posts one sign-up code guess per client of xffs.
func signupAttempts(t *testing.T, proxies []string, xffs []string) []int {
	t.Helper()
	post := proxied(t, proxies)
	var out []int
	for _, xff := range xffs {
		out = append(out, post("/account/signup/begin", "application/json", `{"code":"ABCD-EFGH-JKMN"}`, xff))
	}
	return out
}

// Behind a trusted proxy (--trusted-proxy) the sign-up code limit counts
// per client named by X-Forwarded-For: one client's guesses past its limit
// leave another client's attempt through. From an untrusted peer the
// header is ignored: a guesser cannot get a fresh limit by forging it.
func TestSignupLimitPerClientBehindProxy(t *testing.T) {
	guesses := []string{"203.0.113.7", "203.0.113.7", "203.0.113.7", "203.0.113.7", "203.0.113.7", "203.0.113.7", "198.51.100.1, 203.0.113.8"}
	got := inOneMinute(func() []int { return signupAttempts(t, []string{"127.0.0.1/32"}, guesses) })
	want := []int{400, 400, 400, 400, 400, 429, 400}
	if !slices.Equal(got, want) {
		t.Fatalf("through a trusted proxy: statuses %v, want %v (the 6th guess of one client limited, another client not)", got, want)
	}
	got = inOneMinute(func() []int { return signupAttempts(t, nil, guesses) })
	want = []int{400, 400, 400, 400, 400, 429, 429}
	if !slices.Equal(got, want) {
		t.Fatalf("no trusted proxy: statuses %v, want %v (a forged X-Forwarded-For is ignored)", got, want)
	}
}

// inOneMinute runs f again if a minute boundary passed while it ran: the
// limits count per wall-clock minute window in the database, and the
// service takes no injected clock.
func inOneMinute(f func() []int) []int {
	for {
		m := time.Now().Unix() / 60
		out := f()
		if time.Now().Unix()/60 == m {
			return out
		}
	}
}

// The authorization server's request limit (120 a minute per client)
// counts by the same client address behind a trusted proxy.
func TestOAuthLimitPerClientBehindProxy(t *testing.T) {
	form := "grant_type=authorization_code&code=x&client_id=shcc_nobody"
	got := inOneMinute(func() []int {
		post := proxied(t, []string{"127.0.0.1/32"})
		limited := 0
		for range 121 {
			if post("/oauth/token", "application/x-www-form-urlencoded", form, "203.0.113.7") == http.StatusTooManyRequests {
				limited++
			}
		}
		return []int{limited, post("/oauth/token", "application/x-www-form-urlencoded", form, "203.0.113.8")}
	})
	if got[0] != 1 {
		t.Fatalf("%d of one client's 121 token requests in a minute refused, want 1", got[0])
	}
	if got[1] == http.StatusTooManyRequests {
		t.Fatal("another client behind the same proxy was refused: the limit counted the proxy")
	}
}
