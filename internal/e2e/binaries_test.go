package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/healthcards/healthcards/examples/bundles"
)

// pollBound bounds every wait of the real-binaries test: it stops by
// itself, whatever the machine's load, and asserts nothing about speed
// (the revocation bound itself is tested with an injected clock in package
// verifier: TestRevocationMaxAge).
const pollBound = 2 * time.Minute

// Issue 11, with the real binaries on loopback: a card issued through
// shc-issuer's API verifies through a running shc-verifier started with
// --revocation-max-age 2s; an unchanged key set and list are revalidated
// with conditional requests (304, counted at /metrics); after the card is
// revoked through the API the same running verifier reports it revoked,
// without a restart (it kept its key set for an hour before).
func TestBinariesRevocationReachesRunningVerifier(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs shc-issuer and shc-verifier")
	}
	bin := t.TempDir()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	build := exec.Command(goTool, "build", "-o", bin+string(os.PathSeparator), "github.com/healthcards/healthcards/cmd/shc-issuer", "github.com/healthcards/healthcards/cmd/shc-verifier")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// The issuer: development mode (generated key, token and TLS certificate).
	data := t.TempDir()
	ip := loopbackPort(t)
	iss := "https://localhost:" + ip
	issuerOut := startBinary(t, filepath.Join(bin, "shc-issuer"), "serve", "--data", data, "--listen", "127.0.0.1:"+ip, "--verifier-listen", "off")
	token := waitFor(t, issuerOut, regexp.MustCompile(`(shcit_[A-Za-z0-9_-]+)`))
	waitFor(t, issuerOut, regexp.MustCompile(`shc-issuer: iss (https://\S+)`))
	cert := filepath.Join(data, "tls", "cert.pem")
	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	issuerHTTP := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: pollBound}

	// The verifier: trusts the issuer, may reach it on loopback, 2 s bound.
	vp := loopbackPort(t)
	verifierURL := "http://127.0.0.1:" + vp
	verifierOut := startBinary(t, filepath.Join(bin, "shc-verifier"), "--listen", "127.0.0.1:"+vp,
		"--trusted-issuer", iss, "--allow-private-origin", iss, "--ca-cert", cert,
		"--revocation-max-age", "2s", "--rate-limit", "-1", "--fetches-per-client-per-minute", "-1")
	waitFor(t, verifierOut, regexp.MustCompile(`shc-verifier listening`))
	verifierHTTP := &http.Client{Timeout: pollBound}

	call := func(c *http.Client, method, url, auth string, body []byte) []byte {
		t.Helper()
		req, err := http.NewRequest(method, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
		}
		return b
	}

	var issued struct {
		Cards []struct {
			JWS string `json:"jws"`
			RID string `json:"rid"`
		} `json:"cards"`
	}
	if err := json.Unmarshal(call(issuerHTTP, "POST", iss+"/v1/cards", token, bundles.LabCovidPCR), &issued); err != nil || len(issued.Cards) != 1 || issued.Cards[0].RID == "" {
		t.Fatalf("issue: %v %+v", err, issued)
	}
	input, _ := json.Marshal(map[string]string{"input": issued.Cards[0].JWS})
	verdict := func() (string, string) {
		var r struct {
			Verdict string `json:"verdict"`
			Advice  string `json:"advice"`
			Cards   []struct {
				Errors []struct{ Code string } `json:"errors"`
			} `json:"cards"`
		}
		if err := json.Unmarshal(call(verifierHTTP, "POST", verifierURL+"/v1/verify", "", input), &r); err != nil {
			t.Fatal(err)
		}
		code := ""
		if len(r.Cards) == 1 && len(r.Cards[0].Errors) > 0 {
			code = r.Cards[0].Errors[0].Code
		}
		return r.Verdict, code
	}
	metric := func(name string) int {
		m := regexp.MustCompile(`(?m)^` + name + ` (\d+)$`).FindSubmatch(call(verifierHTTP, "GET", verifierURL+"/metrics", "", nil))
		if m == nil {
			t.Fatalf("/metrics lacks %s", name)
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}

	if v, code := verdict(); v != "verified" {
		t.Fatalf("fresh card: %s %s", v, code)
	}
	// Unchanged documents: background refreshes (after 1 s, half the bound)
	// are answered 304.
	poll(t, "a 304 counted at /metrics", func() bool {
		if v, code := verdict(); v != "verified" {
			t.Fatalf("unchanged card: %s %s", v, code)
		}
		return metric("shc_verifier_library_not_modified_total") > 0
	})
	if metric("shc_verifier_library_refreshes_total") == 0 {
		t.Fatal("304s without background refreshes")
	}

	revokedAt := time.Now()
	call(issuerHTTP, "POST", iss+"/v1/revocations", token, []byte(`{"rid":"`+issued.Cards[0].RID+`","reason":"test"}`))
	var last string
	poll(t, "the running verifier to report the card revoked", func() bool {
		v, code := verdict()
		last = v + " " + code
		switch {
		case v == "invalid" && code == "revoked":
			return true
		case v != "verified":
			t.Fatalf("after the revocation: %s", last)
		}
		return false
	})
	t.Logf("revoked seen %v after the revocation (bound 2s); %d refreshes, %d answered 304",
		time.Since(revokedAt).Round(10*time.Millisecond), metric("shc_verifier_library_refreshes_total"), metric("shc_verifier_library_not_modified_total"))
}

// loopbackPort returns a loopback port that was free a moment ago.
func loopbackPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// lockedBuffer is a bytes.Buffer for one writer and one reader goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startBinary runs a built command until the test ends; its standard
// output and error are collected together.
func startBinary(t *testing.T, path string, args ...string) *lockedBuffer {
	t.Helper()
	out := &lockedBuffer{}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(path), out.String())
		}
	})
	return out
}

// waitFor waits (within pollBound) for re to match out and returns the
// first group.
func waitFor(t *testing.T, out *lockedBuffer, re *regexp.Regexp) string {
	t.Helper()
	var m []string
	poll(t, "output matching "+re.String(), func() bool { m = re.FindStringSubmatch(out.String()); return m != nil })
	if len(m) > 1 {
		return m[1]
	}
	return m[0]
}

// poll calls ok every 100 ms until it is true, failing the test after
// pollBound.
func poll(t *testing.T, what string, ok func() bool) {
	t.Helper()
	end := time.Now().Add(pollBound)
	for !ok() {
		if time.Now().After(end) {
			t.Fatalf("gave up waiting for %s after %v", what, pollBound)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
