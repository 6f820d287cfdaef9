package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthcards/healthcards/examples/bundles"
	"github.com/healthcards/healthcards/internal/pgtest"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/shc"
)

// TestMain lets the test binary run as shc-issuer itself (re-exec with
// SHC_ISSUER_TEST_AS_MAIN=1), so crash tests kill a real process without a
// separate go build.
//
// Every key ring the tests open, in this process or a re-executed one, uses
// keys.WithTestWorkFactor: PBKDF2 at 600,000 iterations per key file read
// or written was most of this package's test time. TestRealWorkFactor keeps
// one run on the real count.
func TestMain(m *testing.M) {
	ringOptions = []keys.RingOption{keys.WithTestWorkFactor()}
	if os.Getenv("SHC_ISSUER_TEST_AS_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startBound bounds every wait for a service to start or answer. It is
// generous on purpose: no test depends on how fast a loaded machine is,
// only on the service getting there at all.
const startBound = 3 * time.Minute

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// devToken finds the development token in serve's first-start output.
func devToken(out string) string {
	_, rest, ok := strings.Cut(out, "development API token")
	if !ok {
		return ""
	}
	for _, f := range strings.Fields(rest) {
		if strings.HasPrefix(f, "shcit_") {
			return f
		}
	}
	return ""
}

// client trusts the development certificate serve made in dir.
type client struct {
	out   *syncBuffer // serve's standard output, when started by startServe
	t     *testing.T
	base  string
	token string
	http  *http.Client
}

func newClient(t *testing.T, dir, port, token string) *client {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(dir, "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("development certificate does not parse")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, base: "https://127.0.0.1:" + port, token: token, http: &http.Client{Transport: tr, Timeout: startBound}}
}

func (c *client) do(method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (c *client) get(path string, v any) {
	c.t.Helper()
	code, b, err := c.do("GET", path, nil)
	if err != nil || code != http.StatusOK {
		c.t.Fatalf("GET %s: %d %v %s", path, code, err, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
}

// waitReady polls /healthz until the service answers (bounded).
func (c *client) waitReady(deadline time.Duration, exited <-chan struct{}) {
	c.t.Helper()
	end := time.Now().Add(deadline)
	for time.Now().Before(end) {
		select {
		case <-exited:
			c.t.Fatal("shc-issuer exited before it was ready")
		default:
		}
		if code, _, err := c.do("GET", "/healthz", nil); err == nil && code == http.StatusOK {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("shc-issuer not ready within %s", deadline)
}

type jwksDoc struct {
	Keys []struct {
		Kid        string `json:"kid"`
		CRLVersion int64  `json:"crlVersion"`
	} `json:"keys"`
}

func (j jwksDoc) kids() []string {
	var out []string
	for _, k := range j.Keys {
		out = append(out, k.Kid)
	}
	return out
}

// issueKid issues the sample lab bundle and returns the signing kid.
func (c *client) issueKid() string {
	c.t.Helper()
	code, b, err := c.do("POST", "/v1/cards", bundles.LabCovidPCR)
	if err != nil || code != http.StatusCreated {
		c.t.Fatalf("POST /v1/cards: %d %v %s", code, err, b)
	}
	var out struct {
		Cards []struct{ JWS string } `json:"cards"`
	}
	if err := json.Unmarshal(b, &out); err != nil || len(out.Cards) != 1 {
		c.t.Fatalf("POST /v1/cards: %v %s", err, b)
	}
	card, err := shc.Parse(out.Cards[0].JWS)
	if err != nil {
		c.t.Fatal(err)
	}
	return card.KeyID()
}

// Key changes made with the CLI while `serve` runs are seen by the running
// service without a restart: after `keys rotate` the next card is signed by
// the new key, and after `keys compromised` the next JWKS lacks the key
// (KEY-9, KEY-10).
func TestServeFollowsKeyCommands_KEY10(t *testing.T) {
	dir := t.TempDir()
	c := startServe(t, dir)
	first := c.issueKid()

	var cli bytes.Buffer
	if err := run(context.Background(), []string{"keys", "rotate", "--data", dir}, &cli, &cli); err != nil {
		t.Fatal(err)
	}
	second := strings.TrimSpace(cli.String())
	if got := c.issueKid(); got != second || got == first {
		t.Fatalf("after keys rotate: card signed by %s, want the new key %s", got, second)
	}
	var j jwksDoc
	c.get("/.well-known/jwks.json", &j)
	if got := j.kids(); len(got) != 2 || got[0] != first || got[1] != second {
		t.Fatalf("after rotate: JWKS %v, want [%s %s]", got, first, second)
	}

	if err := run(context.Background(), []string{"keys", "compromised", first, "--data", dir}, &cli, &cli); err != nil {
		t.Fatal(err)
	}
	c.get("/.well-known/jwks.json", &j)
	if got := j.kids(); len(got) != 1 || got[0] != second {
		t.Fatalf("after keys compromised: JWKS %v, want only %s (KEY-10)", got, second)
	}
	if code, _, _ := c.do("GET", "/.well-known/crl/"+first+".json", nil); code != http.StatusNotFound {
		t.Errorf("CRL of the compromised key: %d, want 404", code)
	}
}

// startServe runs `shc-issuer serve` in this process on embedded defaults
// (plus extra flags) until the test ends and returns a client holding the
// development token.
func startServe(t *testing.T, dir string, extra ...string) *client {
	t.Helper()
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan struct{})
	var serveErr error
	go func() {
		defer close(done)
		args := append([]string{"serve", "--data", dir, "--listen", "127.0.0.1:" + port}, extra...)
		if !strings.Contains(strings.Join(extra, " "), "--verifier-listen") {
			args = append(args, "--verifier-listen", "off") // tests run many instances
		}
		serveErr = run(ctx, args, &out, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if serveErr != nil {
			t.Errorf("serve: %v", serveErr)
		}
	})
	end := time.Now().Add(startBound)
	for devToken(out.String()) == "" || !strings.Contains(out.String(), "shc-issuer: iss") {
		if time.Now().After(end) {
			t.Fatalf("serve did not start: %s", out.String())
		}
		select {
		case <-done:
			t.Fatalf("serve returned: %v\n%s", serveErr, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	c := newClient(t, dir, port, devToken(out.String()))
	c.out = &out
	c.waitReady(startBound, done)
	return c
}

// serve --store postgres with the DSN from SHC_ISSUER_POSTGRES_DSN: issue,
// revoke, and the CRL served from PostgreSQL lists the revocation.
func TestServePostgres(t *testing.T) {
	t.Setenv("SHC_ISSUER_POSTGRES_DSN", pgtest.FreshSchema(t))
	c := startServe(t, t.TempDir(), "--store", "postgres")
	kid := c.issueKid()
	code, b, err := c.do("POST", "/v1/revocations", []byte(`{"patientId":"pt-1001"}`))
	if err != nil || code != http.StatusOK {
		t.Fatalf("revoke: %d %v %s", code, err, b)
	}
	var a ack
	if err := json.Unmarshal(b, &a); err != nil || a.Ctr != 2 || len(a.Entries) != 1 || a.Entries[0].Kid != kid {
		t.Fatalf("revoke reply %s", b)
	}
	var crl struct {
		Ctr  int64    `json:"ctr"`
		RIDs []string `json:"rids"`
	}
	c.get("/.well-known/crl/"+kid+".json", &crl)
	if crl.Ctr != 2 || len(crl.RIDs) != 1 || crl.RIDs[0] != a.Entries[0].Entry {
		t.Fatalf("CRL from PostgreSQL = %+v, want ctr 2 and %s", crl, a.Entries[0].Entry)
	}
}
