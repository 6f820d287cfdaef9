package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/healthcards/healthcards/cmd/shc-verifier-wasm/verify"
	"github.com/healthcards/healthcards/internal/testvectors"
	"github.com/healthcards/healthcards/keys"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/verifier"
	"github.com/healthcards/healthcards/verifier/server"
)

// The official examples (../shared/conformance/spec-examples, MANIFEST.md).
const (
	exampleIss = "https://spec.smarthealth.cards/examples/issuer"
	kidK0      = "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s"
	vciNBF     = 1687450764
	hl7NBF     = 1715107763
	ridEx00    = "MKyCxh7p6uQ" // example 00's rid (VCI set)
)

var today = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) // MANIFEST: example-03 cards have expired

// group is one service configuration (clock, revocation list) with its
// trust snapshot and the cases checked against it.
type group struct {
	Name     string  `json:"name"`
	Snapshot string  `json:"snapshot"`
	NowMs    int64   `json:"nowMs"`
	Cases    []pcase `json:"cases"`
}

type pcase struct {
	Name    string `json:"name"`
	Input   string `json:"input"`
	Verdict string `json:"verdict"` // the service's
	Code    string `json:"code"`    // the service's first reason code ("" when verified)
}

// outcome reads the verdict and the first reason code from a POST
// /v1/verify answer (a response with cards, or a problem), or from the
// device's answer, which has the same shape.
func outcome(body []byte) (string, string, error) {
	var r struct {
		Verdict string `json:"verdict"`
		Code    string `json:"code"`
		Cards   []struct {
			Verdict string `json:"verdict"`
			Errors  []struct {
				Code string `json:"code"`
			} `json:"errors"`
		} `json:"cards"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return "", "", fmt.Errorf("%v: %.200s", err, body)
	}
	if r.Cards == nil {
		return r.Verdict, r.Code, nil
	}
	for _, c := range r.Cards {
		if c.Verdict == r.Verdict {
			if len(c.Errors) > 0 {
				return r.Verdict, c.Errors[0].Code, nil
			}
			return r.Verdict, "", nil
		}
	}
	return r.Verdict, "", nil
}

// exampleDirectory lists the example issuer with the published keys and
// crl, without a time (the snapshot's time is then the service's clock).
func exampleDirectory(t *testing.T, crl []byte) []byte {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(testvectors.Read(t, "vci-spec-site/examples/issuer/.well-known/jwks.json"), &set); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{"issuerInfo": []any{map[string]any{
		"issuer": map[string]any{"iss": exampleIss, "name": "SMART Spec Examples"},
		"keys":   set.Keys,
		"crls":   []json.RawMessage{crl},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// service starts the verifier service (offline, clock pinned at now)
// trusting the example issuer with crl, and returns its URL.
func service(t *testing.T, now time.Time, crl []byte) string {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	trust, err := server.NewTrust(context.Background(), server.TrustConfig{Logger: quiet, Options: []verifier.Option{
		verifier.WithTrustDirectoryJSON("examples", exampleDirectory(t, crl), nil),
		verifier.WithOffline(),
		verifier.WithClock(func() time.Time { return now }),
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Verifier: trust, Ready: trust.Ready, RateLimit: -1, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs.URL
}

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %.200s", url, resp.Status, b)
	}
	return b
}

func post(t *testing.T, url, input string) []byte {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"input": input})
	resp, err := http.Post(url+"/v1/verify", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

// inputs returns the official input forms of one example: JWS, file and
// QR text (chunks joined in reverse order, QR-6).
func inputs(t *testing.T, set, name string) map[string]string {
	out := map[string]string{
		"jws":  strings.TrimSpace(string(testvectors.Read(t, set+"/"+name+"-d-jws.txt"))),
		"file": string(testvectors.Read(t, set+"/"+name+"-e-file.smart-health-card")),
	}
	var chunks []string
	for i := 0; ; i++ {
		rel := fmt.Sprintf("%s/%s-f-qr-code-numeric-value-%d.txt", set, name, i)
		if _, err := os.Stat(testvectors.Path(t, rel)); err != nil {
			break
		}
		chunks = append([]string{strings.TrimSpace(string(testvectors.Read(t, rel)))}, chunks...)
	}
	out["qr"] = strings.Join(chunks, "\n")
	return out
}

// tamper changes one character of the JWS signature.
func tamper(jws string) string {
	i := strings.LastIndexByte(jws, '.') + 5
	c := byte('A')
	if jws[i] == 'A' {
		c = 'B'
	}
	return jws[:i] + string(c) + jws[i+1:]
}

// strangerCard is a card from an issuer the service does not trust.
func strangerCard(t *testing.T) string {
	priv, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	s, err := shc.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	bundle := testvectors.Read(t, "vci-spec-site/examples/example-00-a-fhirBundle.json")
	jws, err := s.Sign(shc.NewPayload("https://stranger.example.org", today.Add(-time.Hour), json.RawMessage(bytes.TrimSpace(bundle))))
	if err != nil {
		t.Fatal(err)
	}
	return jws
}

// groups builds every parity case and asks the running service for its
// answer to each.
func groups(t *testing.T) []group {
	published := testvectors.Read(t, "vci-spec-site/examples/issuer/.well-known/crl/"+kidK0+".json")
	revoking := []byte(`{"kid":"` + kidK0 + `","method":"rid","ctr":1,"rids":["` + ridEx00 + `"]}`)
	type cfg struct {
		name  string
		now   time.Time
		crl   []byte
		cases []pcase
	}
	vci := inputs(t, "vci-spec-site/examples", "example-00")
	ex2 := inputs(t, "vci-spec-site/examples", "example-02")
	chunks := strings.Split(ex2["qr"], "\n")
	var cfgs []cfg
	add := func(c *cfg, name, in string) { c.cases = append(c.cases, pcase{Name: name, Input: in}) }

	for _, s := range []struct {
		set   string
		nbf   int64
		names []string
	}{
		{"vci-spec-site/examples", vciNBF, []string{"example-00", "example-01", "example-02"}},
		{"hl7-ig/input/images", hl7NBF, []string{"example-00", "example-01", "example-02", "example-03"}},
	} {
		for _, at := range []struct {
			name string
			now  time.Time
		}{{"at issue", time.Unix(s.nbf+60, 0)}, {"today", today}, {"before issue", time.Unix(s.nbf-3600, 0)}} {
			c := cfg{name: s.set + " " + at.name, now: at.now, crl: published}
			for _, name := range s.names {
				for form, in := range inputs(t, s.set, name) {
					add(&c, name+"/"+form, in)
				}
			}
			cfgs = append(cfgs, c)
		}
	}
	own := cfg{name: "project cases", now: time.Unix(vciNBF+60, 0), crl: published}
	add(&own, "tampered signature", tamper(vci["jws"]))
	add(&own, "chunk missing", strings.Join(chunks[1:], "\n"))
	add(&own, "not a health card", "https://example.org/menu")
	add(&own, "empty-ish", "shc:/1234")
	add(&own, "bad jws", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA")
	add(&own, "untrusted issuer", strangerCard(t))
	add(&own, "two cards", `{"verifiableCredential":[`+fmt.Sprintf("%q,%q", vci["jws"], tamper(vci["jws"]))+`]}`)
	cfgs = append(cfgs, own)
	rev := cfg{name: "revoked", now: time.Unix(vciNBF+60, 0), crl: revoking}
	for form, in := range vci {
		add(&rev, "example-00 revoked/"+form, in)
	}
	cfgs = append(cfgs, rev)

	var out []group
	for _, c := range cfgs {
		url := service(t, c.now, c.crl)
		g := group{Name: c.name, Snapshot: string(get(t, url+"/v1/trust-snapshot")), NowMs: c.now.UnixMilli()}
		for _, pc := range c.cases {
			v, code, err := outcome(post(t, url, pc.Input))
			if err != nil {
				t.Fatalf("%s/%s: %v", c.name, pc.Name, err)
			}
			pc.Verdict, pc.Code = v, code
			g.Cases = append(g.Cases, pc)
		}
		out = append(out, g)
	}
	return out
}

// compare runs every case on the device and reports each difference from
// the service.
func compare(t *testing.T, gs []group) (n int) {
	for _, g := range gs {
		d, err := verify.NewDevice([]byte(g.Snapshot))
		if err != nil {
			t.Fatalf("%s: snapshot: %v", g.Name, err)
		}
		for _, c := range g.Cases {
			v, code, err := outcome(d.Verify([]byte(c.Input), g.NowMs))
			if err != nil {
				t.Fatalf("%s/%s: %v", g.Name, c.Name, err)
			}
			if v != c.Verdict || code != c.Code {
				t.Errorf("%s/%s: device says %s/%s, service %s/%s", g.Name, c.Name, v, code, c.Verdict, c.Code)
			}
			n++
		}
	}
	return n
}

// TestParity: for every spec example (every form, three pinned clocks) and
// the project's own cases (tampered, chunk missing, not a card, untrusted,
// revoked, several cards), the device verifier given the service's GET
// /v1/trust-snapshot gives the same verdict and error code as the
// service's POST /v1/verify. It runs natively, then once more compiled to
// WebAssembly under Node (GOOS=js GOARCH=wasm, through go_js_wasm_exec),
// the build the page runs.
func TestParity(t *testing.T) {
	if os.Getenv("PARITY_CASES") != "" {
		t.Skip("the WebAssembly side runs TestParityWasm")
	}
	gs := groups(t)
	verdicts := map[string]int{}
	for _, g := range gs {
		for _, c := range g.Cases {
			verdicts[c.Verdict]++
		}
	}
	for _, v := range []string{"verified", "invalid", "issuer_not_trusted", "unable_to_check"} {
		if verdicts[v] == 0 {
			t.Errorf("no case gives %s: %v", v, verdicts)
		}
	}
	n := compare(t, gs)
	t.Logf("native: %d cases, service verdicts %v", n, verdicts)
	if t.Failed() || runtime.GOOS == "js" {
		return
	}

	node := nodePath(t)
	exec_ := filepath.Join(runtime.GOROOT(), "lib", "wasm", "go_js_wasm_exec")
	if _, err := os.Stat(exec_); err != nil {
		exec_ = filepath.Join(runtime.GOROOT(), "misc", "wasm", "go_js_wasm_exec")
	}
	b, err := json.Marshal(gs)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "cases.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "test", "-count=1", "-run", "^TestParityWasm$", "-exec", exec_, "-v", ".")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "PARITY_CASES="+file, "PATH="+filepath.Dir(node)+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestParityWasm")) {
		t.Fatalf("WebAssembly side: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "wasm:") {
			t.Log(strings.TrimSpace(l))
		}
	}
}

// TestParityWasm is the WebAssembly side of TestParity (it runs only when
// TestParity starts it).
func TestParityWasm(t *testing.T) {
	file := os.Getenv("PARITY_CASES")
	if file == "" {
		t.Skip("started by TestParity")
	}
	if runtime.GOOS != "js" {
		t.Fatal("TestParityWasm must run under GOOS=js GOARCH=wasm")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var gs []group
	if err := json.Unmarshal(b, &gs); err != nil {
		t.Fatal(err)
	}
	n := compare(t, gs)
	t.Logf("wasm: %d cases on %s/%s, same verdict and code as the service", n, runtime.GOOS, runtime.GOARCH)
}

// nodePath finds Node.js, or skips (fails when CI=true: CI must have it).
func nodePath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("node"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("node not found; CI must have Node.js to run the WebAssembly parity test")
	}
	t.Skip("node not found: install Node.js to run the WebAssembly side of the parity test")
	return ""
}
