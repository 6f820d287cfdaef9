package service

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/keys"
)

func testConfig(t *testing.T, dir string) Config {
	return Config{
		Listen: "127.0.0.1:0", DataDir: dir, NoSample: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Stdout: io.Discard,
		RingOptions: []keys.RingOption{keys.WithTestWorkFactor()},
	}
}

// A Config that cannot work is a *ConfigError naming the flag, found
// before anything is bound or written.
func TestConfigErrors(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "pass")
	for _, c := range []struct {
		name string
		edit func(*Config, string)
		want string
	}{
		{"tls-half", func(c *Config, _ string) { c.TLSCert = "c.pem" }, "--tls-cert and --tls-key go together"},
		{"prod-no-tls", func(c *Config, _ string) { c.Production, c.Iss = true, "https://lab.example" }, "--production needs --tls-cert"},
		{"prod-no-iss", func(c *Config, _ string) { c.Production, c.BehindTLSProxy = true, true }, "--production needs --iss"},
		{"prod-http-auth", func(c *Config, _ string) {
			c.Production, c.BehindTLSProxy, c.Iss, c.KeyPassphraseFile, c.AuthIssuer = true, true, "https://lab.example", outside, "http://auth.example"
		}, "https:// --auth-issuer"},
		{"prod-no-passphrase", func(c *Config, _ string) { c.Production, c.BehindTLSProxy, c.Iss = true, true, "https://lab.example" }, "--key-passphrase-file"},
		{"prod-passphrase-inside", func(c *Config, dir string) {
			c.Production, c.BehindTLSProxy, c.Iss, c.KeyPassphraseFile = true, true, "https://lab.example", filepath.Join(dir, "keys", "pass")
		}, "inside --data"},
		{"proxy-without-prod", func(c *Config, _ string) { c.BehindTLSProxy = true }, "--behind-tls-proxy is for --production"},
		{"http-iss", func(c *Config, _ string) { c.Iss = "http://lab.example" }, "https"},
		{"did-without-base", func(c *Config, _ string) { c.Iss = "did:web:lab.example" }, "--base-url"},
		{"bad-listen", func(c *Config, _ string) { c.Listen = "nope" }, "--listen"},
		{"pkcs11-half", func(c *Config, _ string) { c.PKCS11Module = "/x.so" }, "--pkcs11-token"},
		{"postgres-no-dsn", func(c *Config, _ string) { c.Store = "postgres" }, "--postgres-dsn"},
		{"bad-store", func(c *Config, _ string) { c.Store = "mysql" }, "--store"},
		{"bad-qr-level", func(c *Config, _ string) { c.QRLevel = "X" }, "--qr-level"},
		{"bad-trusted-proxy", func(c *Config, _ string) { c.TrustedProxies = []string{"10.0.0.10/32,10.0.0.11"} }, "--trusted-proxy"},
		{"enrolment-code-ttl-negative", func(c *Config, _ string) { c.EnrolmentCodeTTL = -time.Hour }, "--enrolment-code-ttl"},
		{"enrolment-code-ttl-long", func(c *Config, _ string) { c.EnrolmentCodeTTL = 31 * 24 * time.Hour }, "--enrolment-code-ttl"},
		{"kek-and-pkcs11", func(c *Config, _ string) {
			c.KEKFile, c.PKCS11Module, c.PKCS11Token, c.PKCS11PINFile = outside, "/x.so", "t", "pin"
		}, "choose one"},
		{"prod-kek-inside", func(c *Config, dir string) {
			c.Production, c.BehindTLSProxy, c.Iss, c.KEKFile = true, true, "https://lab.example", filepath.Join(dir, "kek")
		}, "refuses --kek-file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(t, dir)
			c.edit(&cfg, dir)
			_, err := New(context.Background(), cfg)
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want a ConfigError with %q", err, c.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("a refused Config wrote %v", entries)
			}
		})
	}
}

func TestWithin(t *testing.T) {
	dir := t.TempDir()
	other := t.TempDir()
	if err := os.Symlink(dir, filepath.Join(other, "link")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want bool
	}{
		{filepath.Join(dir, "pass"), true},
		{filepath.Join(dir, "keys", "pass"), true},
		{dir, true},
		{filepath.Join(dir, "..", filepath.Base(dir), "pass"), true},
		{filepath.Join(other, "link", "pass"), true}, // through a symbolic link
		{filepath.Join(other, "pass"), false},
		{dir + "-sibling/pass", false},
	} {
		if got, err := within(dir, c.path); err != nil || got != c.want {
			t.Errorf("within(%s, %s) = %v %v, want %v", dir, c.path, got, err, c.want)
		}
	}
}

// New binds (a busy address is a *ListenError naming --listen), Run
// serves TLS with the development certificate until its context ends, and
// the development token is kept (0600) and printed again by the next New.
func TestNewRunDevelopment(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.Listen = busy.Addr().String()
	_, err = New(context.Background(), cfg)
	var le *ListenError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "--listen "+busy.Addr().String()) {
		t.Fatalf("busy address: %v", err)
	}

	var out bytes.Buffer
	cfg = testConfig(t, dir)
	cfg.Stdout = &out
	svc, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	port := svc.Addr().(*net.TCPAddr).Port
	if want := "https://localhost:" + strconv.Itoa(port); svc.Iss() != want || svc.BaseURL() != want {
		t.Fatalf("iss %s base %s, want %s (the bound port)", svc.Iss(), svc.BaseURL(), want)
	}
	token := tokenIn(out.String())
	if !strings.HasPrefix(token, "shcit_") {
		t.Fatalf("no development token in %q", out.String())
	}
	if st, err := os.Stat(filepath.Join(dir, devTokenFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v", devTokenFile, st, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	pem, err := os.ReadFile(svc.CertFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://127.0.0.1:" + strconv.Itoa(port) + "/healthz") // the listener is bound: no wait needed
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
	// Patients (issue 13): the sign-up page and the enrolment API are
	// mounted beside the desk.
	for path, want := range map[string]int{"/account/signup": 200, "/account/": 303, "/v1/enrolments?patientId=pt-1001": 200} {
		req, _ := http.NewRequest("GET", "https://127.0.0.1:"+strconv.Itoa(port)+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(time.Minute): // bound only; shutdown is immediate
		t.Fatal("Run did not return after its context ended")
	}

	out.Reset()
	svc2, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer svc2.Close()
	if got := tokenIn(out.String()); got != token {
		t.Fatalf("second start printed %q, want the kept token", got)
	}
}

func tokenIn(s string) string {
	for _, f := range strings.Fields(s) {
		if strings.HasPrefix(f, "shcit_") {
			return f
		}
	}
	return ""
}
