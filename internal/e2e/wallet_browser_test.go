package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/healthcards/healthcards/examples/bundles"
	"github.com/healthcards/healthcards/internal/browsertest"
	"github.com/healthcards/healthcards/internal/wallet"
	"github.com/healthcards/healthcards/verifier"
)

var screenshots = flag.String("screenshots", "", "write the wallet flow's screenshots (PNG) to this folder, e.g. $PWD/../../docs/screenshots")

// Issue 13 end to end, on the real binaries (shc-issuer serve in
// development mode, shc) and two Chromium browsers, each with a WebAuthn
// virtual authenticator (the desk's and the patient's phone):
//
//	desk staff redeem their invitation and sign in with a passkey → enrol
//	the patient at the patient page (passport, IAL2) → the phone redeems the
//	sign-up code and registers a passkey, then signs out → `shc wallet
//	connect` prints the authorization URL → the phone opens it, signs in
//	with the passkey, sees the consent page and narrows it (vaccinations
//	left out) → the loopback redirect completes → `shc wallet import` keeps
//	the lab card, verified (and again here with the verifier library), and
//	no vaccination card; asking for vaccinations is refused → the patient
//	withdraws the app on /account/apps → import is refused.
//
// Screenshots (with -screenshots DIR): wallet-signin.png,
// wallet-consent.png, wallet-connected.png, account-apps.png,
// account-apps-withdrawn.png.
func TestWalletInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and starts Chromium")
	}
	browsertest.Chromium(t) // skips (fails in CI) before the binaries are built
	bin := t.TempDir()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	build := exec.Command(goTool, "build", "-o", bin+string(os.PathSeparator), "github.com/healthcards/healthcards/cmd/shc-issuer", "github.com/healthcards/healthcards/cmd/shc")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	issuerBin, shcBin := filepath.Join(bin, "shc-issuer"), filepath.Join(bin, "shc")

	// The lab: one desk account, the wallet registered as a public client
	// (loopback redirect, any port), then the service in development mode.
	data := t.TempDir()
	out := runOK(t, nil, issuerBin, "staff", "add", "Dana Desk", "--role", "desk", "--data", data)
	staffCode := regexp.MustCompile(`invitation code: (\S+)`).FindStringSubmatch(out)
	out = runOK(t, nil, issuerBin, "clients", "add", "--redirect-uri", "http://127.0.0.1/callback", "--name", "shc wallet", "--data", data)
	clientID := regexp.MustCompile(`client_id: (\S+)`).FindStringSubmatch(out)
	if staffCode == nil || clientID == nil {
		t.Fatalf("staff code or client id missing:\n%s", out)
	}
	port := loopbackPort(t)
	base := "https://localhost:" + port
	issuerOut := startBinary(t, issuerBin, "serve", "--data", data, "--listen", "127.0.0.1:"+port, "--base-url", base, "--verifier-listen", "off")
	token := waitFor(t, issuerOut, regexp.MustCompile(`(shcit_[A-Za-z0-9_-]+)`))
	iss := waitFor(t, issuerOut, regexp.MustCompile(`shc-issuer: iss (https://\S+)`))
	certFile := filepath.Join(data, "tls", "cert.pem")
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	// The development start loaded a lab result of pt-1001; the lab also
	// records two vaccinations for the same person.
	imm := strings.NewReplacer(`"pt-2002"`, `"pt-1001"`, `Patient/pt-2002`, `Patient/pt-1001`, `"Okafor"`, `"Garcia"`, `"Chidi"`, `"Maria", "Elena"`, `"1972-03-09"`, `"1984-07-15"`).Replace(string(bundles.ImmunizationsCOVID))
	apiPost(t, pool, base+"/v1/results", token, imm)

	// The desk: staff passkey, then the patient's enrolment.
	desk := browsertest.Tab(t, deviceOptions)
	do(t, desk, chromedp.Navigate(base+"/desk/enrol"), chromedp.WaitVisible(chromedp.ID("code")),
		chromedp.SetValue(chromedp.ID("code"), staffCode[1]), chromedp.Click("#f button"))
	browsertest.WaitPath(t, desk, "/desk/")
	do(t, desk, chromedp.Navigate(base+"/desk/patient?id=pt-1001"), chromedp.WaitVisible("#enrol-form"),
		chromedp.Click(`#enrol-form input[name=evidence][value=passport]`), chromedp.Click(`#enrol-form input[name=ial][value=IAL2]`),
		chromedp.Click(`#enrol-form .actions button`), chromedp.WaitVisible("#code"))
	signupCode, err := chromedp.Run(desk, chromedp.Text("#code"))
	if err != nil || signupCode == "" {
		t.Fatalf("sign-up code: %q %v", signupCode, err)
	}

	// The phone: sign-up with a passkey, then sign out.
	phone := browsertest.Tab(t, deviceOptions)
	do(t, phone, chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/account/signup#code="+signupCode),
		chromedp.WaitVisible(chromedp.ID("code")), chromedp.Click("#f button"))
	browsertest.WaitPath(t, phone, "/account/")
	do(t, phone, chromedp.Click("header form button"))
	browsertest.WaitPath(t, phone, "/account/signin")

	// shc wallet connect: prints the authorization URL and waits for the
	// loopback redirect.
	wdir := filepath.Join(t.TempDir(), "wallet")
	env := []string{"SHC_WALLET_PASSPHRASE=correct horse battery staple", "SHC_WALLET_DIR=" + wdir}
	connectOut, connectDone := startWith(t, env, shcBin, "wallet", "connect", base+"/fhir", "--client-id", clientID[1], "--no-browser",
		"--allow-private-network", "--ca-cert", certFile, "--timeout", "2m")
	authURL := waitFor(t, connectOut, regexp.MustCompile(`\n  (https://\S+)\n`))
	if !strings.Contains(authURL, "code_challenge_method=S256") || !strings.Contains(authURL, "redirect_uri=http%3A%2F%2F127.0.0.1%3A") {
		t.Fatalf("authorization URL %s", authURL)
	}
	do(t, phone, chromedp.Navigate(authURL))
	browsertest.WaitPath(t, phone, "/account/signin")
	do(t, phone, chromedp.WaitVisible(chromedp.ID("go")))
	browsertest.Shot(t, phone, *screenshots, "wallet-signin.png")
	do(t, phone, chromedp.Click(chromedp.ID("go")))
	browsertest.WaitPath(t, phone, "/oauth/consent")
	immBox := `input[name=type][value="https://smarthealth.cards#immunization"]`
	do(t, phone, chromedp.WaitVisible(immBox))
	page := browsertest.WaitText(t, phone, "Laboratory results")
	if !strings.Contains(page, "shc wallet") || !strings.Contains(page, "Vaccinations") || !strings.Contains(page, "Laboratory results") {
		t.Fatalf("consent page: %.600s", page)
	}
	do(t, phone, chromedp.Click(immBox))
	browsertest.Shot(t, phone, *screenshots, "wallet-consent.png")
	do(t, phone, chromedp.Click(`button[name=decision][value=allow]`))
	browsertest.WaitPath(t, phone, wallet.CallbackPath) // the loopback redirect (a new origin: wait for it, then read)
	do(t, phone, chromedp.WaitVisible("#result"))
	result, _ := chromedp.Run(phone, chromedp.Text("#result"))
	if !strings.Contains(result, "connected") {
		t.Fatalf("loopback page says %q", result)
	}
	browsertest.Shot(t, phone, *screenshots, "wallet-connected.png")
	select {
	case err := <-connectDone:
		if err != nil {
			t.Fatalf("shc wallet connect: %v\n%s", err, connectOut.String())
		}
	case <-time.After(pollBound):
		t.Fatalf("shc wallet connect did not end after the redirect:\n%s", connectOut.String())
	}
	if !strings.Contains(connectOut.String(), "connected to "+base+"/fhir") || !strings.Contains(connectOut.String(), "manage:  "+base+"/account/apps") {
		t.Fatalf("connect output:\n%s", connectOut.String())
	}

	// Import: only the allowed (lab) card comes, verified before it is kept.
	out = runOK(t, env, shcBin, "wallet", "import")
	if !strings.Contains(out, "imported 1 verified card") || !strings.Contains(out, "Observation") || strings.Contains(out, "Immunization") {
		t.Fatalf("import:\n%s", out)
	}
	if out, err := run(env, shcBin, "wallet", "import", "--type", "immunization"); err == nil || !strings.Contains(out, "issue_refused") {
		t.Fatalf("vaccinations were left out of the consent, yet: %v\n%s", err, out)
	}
	w, err := wallet.Open(wdir, wallet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cards, err := w.Cards()
	if err != nil || len(cards) != 1 {
		t.Fatalf("wallet holds %d cards: %v", len(cards), err)
	}
	v, err := verifier.New(verifier.WithTrustedIssuers(iss), verifier.WithPrivateOrigins(iss), verifier.WithRootCAs(pool))
	if err != nil {
		t.Fatal(err)
	}
	r := v.VerifyJWS(context.Background(), cards[0].JWS)
	if !r.Valid || r.Summary == nil || len(r.Summary.LabResults) == 0 || len(r.Summary.Immunizations) != 0 || r.Summary.Patient.Name != "Maria Elena Garcia" {
		t.Fatalf("the kept card: verdict %s %v, summary %+v", r.Verdict, r.Errors, r.Summary)
	}

	// Connected apps: the patient withdraws the wallet; import is refused.
	do(t, phone, chromedp.Navigate(base+"/account/apps"), chromedp.WaitVisible(`form[action="/account/apps"] button`))
	if page := browsertest.WaitText(t, phone, "shc wallet"); !strings.Contains(page, "shc wallet") {
		t.Fatalf("connected apps: %.600s", page)
	}
	browsertest.Shot(t, phone, *screenshots, "account-apps.png")
	do(t, phone, chromedp.Click(`form[action="/account/apps"] button`))
	poll(t, "the withdrawn app to leave the connected-apps page", func() bool {
		n, err := chromedp.Run(phone, chromedp.Evaluate[int](`document.querySelectorAll('form[action="/account/apps"] button').length`))
		return err == nil && n == 0
	})
	browsertest.Shot(t, phone, *screenshots, "account-apps-withdrawn.png")
	out, err = run(env, shcBin, "wallet", "import")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(out, "authorization_expired") {
		t.Fatalf("import after withdrawal: %v\n%s", err, out)
	}
	if cards, _ := w.Cards(); len(cards) != 1 {
		t.Fatalf("wallet holds %d cards after the refused import", len(cards))
	}
}

// do runs browser actions as one step, bounded by stepBound, and on
// failure says where the tab is and what its page says.
func do(t *testing.T, tab context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepBound)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		loc, _ := chromedp.Run(tab, chromedp.Location())
		text, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		t.Fatalf("browser step failed: %v (at %s; page says %.400q)", err, loc, text)
	}
}

// stepBound bounds one browser step; the tab itself lives for tabBound.
const (
	stepBound = 45 * time.Second
	tabBound  = 5 * time.Minute
)

// deviceOptions is one person's device (internal/browsertest): its own
// headless Chromium and profile, a WebAuthn virtual authenticator holding
// platform passkeys with user verification, localhost mapped to 127.0.0.1
// and the development issuer's self-signed certificate accepted.
var deviceOptions = browsertest.Options{Width: 1100, Height: 1000, Timeout: tabBound, Passkeys: true, AcceptAnyCertificate: true}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// run runs a command to its end with extra environment and returns its
// standard output and error together.
func run(env []string, path string, args ...string) (string, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func runOK(t *testing.T, env []string, path string, args ...string) string {
	t.Helper()
	out, err := run(env, path, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(path), strings.Join(args, " "), err, out)
	}
	return out
}

// startWith starts a command that ends by itself; the channel gets its
// result. It is killed if the test ends first.
func startWith(t *testing.T, env []string, path string, args ...string) (*lockedBuffer, <-chan error) {
	t.Helper()
	out := &lockedBuffer{}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	must(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("%s %s output:\n%s", filepath.Base(path), args[0], out.String())
		}
	})
	return out, done
}

func apiPost(t *testing.T, pool *x509.CertPool, url, token, body string) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: pollBound}
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		var b json.RawMessage
		json.NewDecoder(resp.Body).Decode(&b)
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, b)
	}
}
