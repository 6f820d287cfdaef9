// Package browsertest starts headless Chromium for the browser tests of the
// verifier's scanning page, the lab desk, the patient pages, the consent
// page and the wallet's end-to-end test: one place for finding the
// browser, the flags that keep it on loopback, the WebAuthn virtual
// authenticator (a passkey as on a phone), screenshots and waiting for a
// page.
//
// Without Chromium a test is skipped, except in CI (CI=true), where it
// fails: .ci/run installs Debian's chromium.
//
// # Security considerations
//
// Test-only. The browser never reaches beyond loopback (background
// networking, component updates, sync and QUIC are off; "localhost" maps
// to 127.0.0.1), and certificate errors are ignored only when a test asks
// (Options.AcceptAnyCertificate, for the services' self-signed development
// certificates).
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// Chromium is the path of a Chromium binary, or it skips the test (fails
// it when CI=true).
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found; CI must install it (apt-get install -y chromium)")
	}
	t.Skip("chromium not found: install it (apt-get install -y chromium) to run the browser tests")
	return ""
}

// Options shape a tab. The zero value is a 900×1000 window, 90 s for the
// whole test, no authenticator.
type Options struct {
	Width, Height int
	// Timeout bounds everything done in the tab; 0 means 90 s.
	Timeout time.Duration
	// Passkeys adds a WebAuthn virtual authenticator: a platform passkey
	// with resident keys and user verification, as on a phone.
	Passkeys bool
	// AcceptAnyCertificate accepts the services' self-signed certificates.
	AcceptAnyCertificate bool
	// Extra are further Chromium flags (a fake camera, say).
	Extra []chromedp.ExecAllocatorOption
}

// Tab starts a headless Chromium of its own (a fresh profile) and returns
// its tab; everything ends with the test.
func Tab(t testing.TB, o Options) context.Context {
	t.Helper()
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = 900, 1000
	}
	if o.Timeout == 0 {
		o.Timeout = 90 * time.Second
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Chromium(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true), chromedp.Flag("no-pings", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("host-resolver-rules", "MAP localhost 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(o.Width, o.Height),
	}
	if o.AcceptAnyCertificate {
		opts = append(opts, chromedp.Flag("ignore-certificate-errors", true))
	}
	opts = append(opts, o.Extra...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelA)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	ctx, cancelT := context.WithTimeout(ctx, o.Timeout)
	t.Cleanup(cancelT)
	if o.Passkeys {
		if err := addAuthenticator(ctx); err != nil {
			t.Fatalf("chromium with a virtual authenticator: %v", err)
		}
	}
	return ctx
}

// addAuthenticator enables the CDP WebAuthn domain and adds a CTAP2
// platform authenticator that verifies the user and answers at once.
func addAuthenticator(ctx context.Context) error {
	return chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
		return err
	}))
}

// Shot writes a screenshot of the whole page to dir/name (a temporary
// folder when dir is "": the screenshot is still taken, so the test fails
// if the page cannot be drawn).
func Shot(t testing.TB, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitLimit bounds WaitPath and WaitText: generous, because a 2-core CI
// machine running Chromium beside the services can take seconds per page;
// both return as soon as the page is there.
const waitLimit = 30 * time.Second

// WaitPath waits (up to waitLimit) until the tab's location path ends with
// path, or fails naming what the page says.
func WaitPath(t testing.TB, ctx context.Context, path string) {
	t.Helper()
	for end := time.Now().Add(waitLimit); time.Now().Before(end); {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil && strings.HasSuffix(strings.SplitN(loc, "?", 2)[0], path) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("status")||{}).textContent||document.title`))
	t.Fatalf("never reached %s (page says %q)", path, status)
}

// Text is the page's visible text ("" while it loads).
func Text(t testing.TB, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.body||{}).innerText||""`))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// WaitText is the page's text once it holds want, or whatever it holds
// after waitLimit (the caller's check then fails with it).
func WaitText(t testing.TB, ctx context.Context, want string) string {
	t.Helper()
	var p string
	for end := time.Now().Add(waitLimit); time.Now().Before(end); {
		if p = Text(t, ctx); strings.Contains(p, want) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}
