package web_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/healthcards/healthcards/internal/browsertest"
	"github.com/healthcards/healthcards/internal/fixtures/shlhost"
	"github.com/healthcards/healthcards/shl/shlqr"
	"github.com/healthcards/healthcards/verifier/server"
	"github.com/healthcards/healthcards/verifier/server/servertest"
)

const linkPasscode = "blue kangaroo 42"

type linkFixture struct {
	svc  *servertest.Service
	host *shlhost.Host
	link shlhost.Link // P link to the signed lab card
}

// newLinkFixture starts an issuer service hosting a P-flag link to a card
// signed over the lab bundle, and a verifier service that trusts it.
func newLinkFixture(t *testing.T) *linkFixture {
	t.Helper()
	h := shlhost.Start(t)
	return &linkFixture{
		svc:  servertest.StartTrusting(t, server.Config{RateLimit: -1}, []servertest.TrustedIssuer{h.Trusted()}),
		host: h,
		link: h.Create(t, shlhost.LinkRequest{Bundle: shlhost.LabBundle(), Sign: true, Passcode: linkPasscode, Label: "Lab result"}),
	}
}

func evalString(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitPasscodePrompt waits for the prompt and checks it is accessible:
// labelled password field without autocomplete, focused, with a polite
// live status.
func waitPasscodePrompt(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("passcode"))); err != nil {
		t.Fatalf("waiting for the passcode prompt: %v", err)
	}
	got := evalString(t, ctx, `(() => { const p = document.getElementById("passcode");
	  const label = document.querySelector('label[for="passcode"]');
	  const st = document.getElementById("passcode-status");
	  return [p.type, p.getAttribute("autocomplete"), label ? label.textContent : "", document.activeElement.id,
	          st.getAttribute("aria-live"), String(document.getElementById("inputs").hidden)].join("|"); })()`)
	if got != "password|off|Passcode|passcode|polite|true" {
		t.Fatalf("passcode prompt: %q", got)
	}
}

// enterPasscode types a passcode and presses Enter.
func enterPasscode(t *testing.T, ctx context.Context, code string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("passcode"), code+"\r")); err != nil {
		t.Fatal(err)
	}
}

// wantLinkCard checks the green verdict with the card inside the link.
func wantLinkCard(t *testing.T, ctx context.Context) {
	t.Helper()
	r := waitResult(t, ctx)
	if r.verdict != "verified" || r.title != "Verified" {
		t.Fatalf("page shows %q / %q (%s), want verified", r.verdict, r.title, r.reason)
	}
	if !strings.Contains(r.name, servertest.PatientGiven) || !strings.Contains(r.name, servertest.PatientFamily) || r.birth != servertest.BirthDate {
		t.Errorf("patient %q born %q", r.name, r.birth)
	}
	if r.issuer != shlhost.Name {
		t.Errorf("issuer %q", r.issuer)
	}
	// The passcode is gone: not in the field, not in any storage.
	left := evalString(t, ctx, `document.getElementById("passcode").value + "|" + localStorage.length + "|" + sessionStorage.length + "|" + String(document.getElementById("passcode-panel").hidden)`)
	if left != "|0|0|true" {
		t.Errorf("after the result: %q", left)
	}
}

// TestBrowserLinkUpload (issue 6): upload a PNG of the issuer's QR code of
// a P-flag SMART Health Link; the page asks for the passcode, a wrong one
// shows the remaining attempts, the right one shows the verified card.
func TestBrowserLinkUpload(t *testing.T) {
	f := newLinkFixture(t)
	ctx := browser(t)
	path := filepath.Join(t.TempDir(), "link-qr.png")
	if err := os.WriteFile(path, f.host.QRPNG(t, f.link), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(f.svc.URL),
		chromedp.WaitVisible(chromedp.ID("file")),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{path}),
	); err != nil {
		t.Fatal(err)
	}
	waitPasscodePrompt(t, ctx)

	enterPasscode(t, ctx, "wrong guess")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("passcode-status").textContent.includes("9 attempts are left")`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("wrong passcode: %v (status %q)", err, evalString(t, ctx, `document.getElementById("passcode-status").textContent`))
	}
	if got := evalString(t, ctx, `document.activeElement.id + "|" + document.getElementById("passcode").value + "|" + document.getElementById("passcode").getAttribute("aria-invalid")`); got != "passcode||true" {
		t.Errorf("after a wrong passcode: %q", got)
	}
	screenshot(t, ctx, "shl-passcode.png")

	enterPasscode(t, ctx, linkPasscode)
	wantLinkCard(t, ctx)
	if note := evalString(t, ctx, `document.querySelector(".link-note").textContent`); note != "Opened from a SMART Health Link labelled \u201cLab result\u201d by its sender." {
		t.Errorf("link note %q", note)
	}
	wantContrast(t, ctx)
	screenshot(t, ctx, "shl-verified.png")

	// Pasted link text: the same prompt; Cancel returns to the inputs.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(f.svc.URL),
		chromedp.WaitVisible(chromedp.ID("paste")),
		chromedp.SetValue(chromedp.ID("paste"), f.link.ShLink),
		chromedp.Click(chromedp.ID("paste-submit")),
	); err != nil {
		t.Fatal(err)
	}
	waitPasscodePrompt(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("passcode-cancel")), chromedp.WaitVisible(chromedp.ID("paste"))); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserLinkUnverified: a link to an unsigned FHIR bundle shows no
// green (nor red) verdict and lists the content as "Not verified".
func TestBrowserLinkUnverified(t *testing.T) {
	f := newLinkFixture(t)
	l := f.host.Create(t, shlhost.LinkRequest{Bundle: shlhost.LabBundle()})
	ctx := browser(t)
	r := pasteAndCheck(t, ctx, f.svc.URL, l.ShLink)
	// link_without_cards: nothing was checked, which is not a bad card
	// (issue 11: unable_to_check, never red).
	if r.verdict != "unable_to_check" || r.title != "Nothing verified" || !strings.Contains(r.reason, "no verifiable health card") {
		t.Fatalf("FHIR-only link: %q / %q", r.verdict, r.reason)
	}
	box := evalString(t, ctx, `(document.querySelector(".unverified")||{}).textContent||""`)
	if !strings.Contains(box, "Not verified") || !strings.Contains(box, "2 entries: 1 Observation, 1 Patient") {
		t.Fatalf("unverified box %q", box)
	}
	if strings.Contains(r.details, servertest.PatientFamily) {
		t.Error("the page shows a name from unverified content")
	}
	screenshot(t, ctx, "shl-unverified.png")
}

// TestBrowserLinkCamera shows the QR code of a P link to the fake camera.
func TestBrowserLinkCamera(t *testing.T) {
	f := newLinkFixture(t)
	browsertest.Chromium(t)
	b, err := shlqr.PNG(f.link.ShLink, 400)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	y4m := filepath.Join(t.TempDir(), "link.y4m")
	out, err := os.Create(y4m)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeY4M(out, img, 640, 480, 5); err != nil {
		t.Fatal(err)
	}
	out.Close()
	ctx := browser(t,
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-video-capture", y4m),
	)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(f.svc.URL),
		chromedp.WaitVisible(chromedp.ID("camera-start")),
		chromedp.Click(chromedp.ID("camera-start")),
	); err != nil {
		t.Fatal(err)
	}
	waitPasscodePrompt(t, ctx)
	if got := evalString(t, ctx, `String(document.getElementById("video-wrap").hidden)`); got != "true" {
		t.Error("the camera still runs behind the passcode prompt")
	}
	enterPasscode(t, ctx, linkPasscode)
	wantLinkCard(t, ctx)
}
