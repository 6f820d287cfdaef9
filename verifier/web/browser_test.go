package web_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/healthcards/healthcards/internal/browsertest"
	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/verifier/server"
	"github.com/healthcards/healthcards/verifier/server/servertest"
)

var screenshotDir = flag.String("screenshots", "", "write the page screenshots (PNG) to this folder, e.g. $PWD/docs/screenshots")

// browser is a phone-sized headless Chromium tab (internal/browsertest)
// with extra flags (a fake camera, say).
func browser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	return browsertest.Tab(t, browsertest.Options{Extra: extra})
}

type pageResult struct {
	verdict, title, reason, name, birth, issuer, details string
}

// waitResult waits for the verdict and reads what the page shows.
func waitResult(t *testing.T, ctx context.Context) pageResult {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("result"))); err != nil {
		t.Fatalf("waiting for the verdict: %v", err)
	}
	str := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("reading the page (%s): %v", expr, err)
		}
		return v
	}
	text := func(sel string) string {
		return str(`(document.querySelector(` + fmt.Sprintf("%q", sel) + `)||{}).textContent||""`)
	}
	return pageResult{
		verdict: str(`document.getElementById("verdict").getAttribute("data-verdict")||""`),
		title:   text("#verdict-title"),
		reason:  text("#verdict-reason"),
		details: text("#cards"),
		name:    text(".patient-name"),
		birth:   text(".birth-date"),
		issuer:  text(".issuer"),
	}
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := *screenshotDir
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", path, len(png))
}

type fixture struct {
	svc                      *servertest.Service
	issuer, stranger         *servertest.Issuer
	card, revoked, untrusted string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	is := servertest.NewIssuer(t, "Test County Health Department", "revoked-rid")
	st := servertest.NewIssuer(t, "Unknown Clinic")
	return &fixture{
		svc:       servertest.Start(t, server.Config{RateLimit: -1}, []*servertest.Issuer{is}, st),
		issuer:    is,
		stranger:  st,
		card:      is.Card(t, nil, "ok-rid"),
		revoked:   is.Card(t, nil, "revoked-rid"),
		untrusted: st.Card(t, nil, ""),
	}
}

func pasteAndCheck(t *testing.T, ctx context.Context, url, text string) pageResult {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID("paste")),
		chromedp.SetValue(chromedp.ID("paste"), text),
		chromedp.Click(chromedp.ID("paste-submit")),
	)
	if err != nil {
		t.Fatal(err)
	}
	return waitResult(t, ctx)
}

// contrastJS returns the lowest WCAG contrast ratio between the text colour
// and the background of the verdict's title and reason.
const contrastJS = `(() => {
  const lum = c => { const m = c.match(/[\d.]+/g).slice(0, 3).map(Number).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126*m[0] + 0.7152*m[1] + 0.0722*m[2]; };
  const bg = lum(getComputedStyle(document.getElementById("verdict")).backgroundColor);
  let min = 99;
  for (const id of ["verdict-title", "verdict-reason"]) {
    const fg = lum(getComputedStyle(document.getElementById(id)).color);
    const r = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (r < min) min = r;
  }
  return min;
})()`

// wantContrast checks the verdict banner's contrast is at least 4.5:1 (WCAG AA).
func wantContrast(t *testing.T, ctx context.Context) {
	t.Helper()
	ratio, err := chromedp.Run(ctx, chromedp.Evaluate[float64](contrastJS))
	if err != nil {
		t.Fatal(err)
	}
	if ratio < 4.5 {
		t.Errorf("verdict contrast %.2f:1, want at least 4.5:1", ratio)
	}
}

func wantGreen(t *testing.T, r pageResult) {
	t.Helper()
	if r.verdict != "verified" || r.title != "Verified" {
		t.Fatalf("page shows %q / %q (%s), want verified", r.verdict, r.title, r.reason)
	}
	if !strings.Contains(r.name, servertest.PatientGiven) || !strings.Contains(r.name, servertest.PatientFamily) {
		t.Errorf("patient name %q, want %s %s", r.name, servertest.PatientGiven, servertest.PatientFamily)
	}
	if r.birth != servertest.BirthDate {
		t.Errorf("birth date %q, want %s", r.birth, servertest.BirthDate)
	}
	if r.issuer != "Test County Health Department" {
		t.Errorf("issuer %q", r.issuer)
	}
}

// TestBrowserPaste: paste a valid card (green, with name, birth date and
// lab result), a revoked card (red "revoked"), an untrusted issuer's card
// (amber), legacy chunks, and the phone-width layout.
func TestBrowserPaste(t *testing.T) {
	f := newFixture(t)
	ctx := browser(t)

	r := pasteAndCheck(t, ctx, f.svc.URL, servertest.QRText(t, f.card))
	wantGreen(t, r)
	if !strings.Contains(r.details, "Collected") || !strings.Contains(r.details, "Negative") {
		t.Errorf("lab result not shown: %q", r.details)
	}
	ready, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.getAttribute("data-ready")||""`))
	t.Logf("QR decoder in this browser: %s", ready)
	wantContrast(t, ctx)
	screenshot(t, ctx, "verified.png")

	r = pasteAndCheck(t, ctx, f.svc.URL, f.revoked)
	if r.verdict != "invalid" || !strings.Contains(r.reason, "revoked") {
		t.Fatalf("revoked card: %q / %q", r.verdict, r.reason)
	}
	wantContrast(t, ctx)
	screenshot(t, ctx, "invalid-revoked.png")

	r = pasteAndCheck(t, ctx, f.svc.URL, f.untrusted)
	if r.verdict != "issuer_not_trusted" || r.title != "Issuer not trusted" {
		t.Fatalf("untrusted card: %q / %q", r.verdict, r.title)
	}
	wantContrast(t, ctx)
	screenshot(t, ctx, "issuer-not-trusted.png")

	r = pasteAndCheck(t, ctx, f.svc.URL, "shc:/1234")
	if r.verdict != "invalid" || r.reason == "" {
		t.Fatalf("garbage: %q / %q", r.verdict, r.reason)
	}

	// Phone-sized screen.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	r = pasteAndCheck(t, ctx, f.svc.URL, f.card)
	wantGreen(t, r)
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil || overflow {
		t.Error("the page scrolls sideways at phone width")
	}
	screenshot(t, ctx, "phone-verified.png")
	if err := chromedp.Do(ctx, chromedp.Navigate(f.svc.URL), chromedp.WaitVisible(chromedp.ID("paste"))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "phone-start.png")
}

// TestBrowserKeyboard drives the page with the keyboard only and checks
// the verdict is announced (aria-live) and focused.
func TestBrowserKeyboard(t *testing.T) {
	f := newFixture(t)
	ctx := browser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(f.svc.URL),
		chromedp.WaitVisible(chromedp.ID("paste")),
		chromedp.Focus(chromedp.ID("paste")),
		chromedp.SetValue(chromedp.ID("paste"), f.card),
		chromedp.KeyEvent("\t"), // to the submit button
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.ID("result")),
		chromedp.Sleep(100*time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	live, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("verdict").getAttribute("aria-live")`))
	if err != nil {
		t.Fatal(err)
	}
	focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	if err != nil {
		t.Fatal(err)
	}
	if live != "assertive" || focused != "result" {
		t.Fatalf("aria-live %q, focus on %q", live, focused)
	}
	wantGreen(t, waitResult(t, ctx))
}

func qrPNGFile(t *testing.T, text string, scale int) (string, *qr.Code) {
	t.Helper()
	code, err := qr.Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := code.PNG(&buf, scale); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "qr-photo.png")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, code
}

// TestBrowserUploadPhoto uploads a PNG of the card's QR code.
func TestBrowserUploadPhoto(t *testing.T) {
	f := newFixture(t)
	ctx := browser(t)
	path, _ := qrPNGFile(t, servertest.QRText(t, f.card), 4)
	err := chromedp.Do(ctx,
		chromedp.Navigate(f.svc.URL),
		chromedp.WaitVisible(chromedp.ID("file")),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{path}),
	)
	if err != nil {
		t.Fatal(err)
	}
	wantGreen(t, waitResult(t, ctx))

	// A .smart-health-card file upload.
	file := filepath.Join(t.TempDir(), "card.smart-health-card")
	os.WriteFile(file, []byte(fmt.Sprintf(`{"verifiableCredential":[%q]}`, f.card)), 0o600)
	if err := chromedp.Do(ctx, chromedp.Navigate(f.svc.URL), chromedp.WaitVisible(chromedp.ID("file")),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{file})); err != nil {
		t.Fatal(err)
	}
	wantGreen(t, waitResult(t, ctx))
}

// TestBrowserCamera feeds a Y4M video of the card's QR code to Chromium's
// fake camera and presses "Start camera".
func TestBrowserCamera(t *testing.T) {
	f := newFixture(t)
	browsertest.Chromium(t)
	code, err := qr.Encode(servertest.QRText(t, f.card))
	if err != nil {
		t.Fatal(err)
	}
	img, err := code.Image(4)
	if err != nil {
		t.Fatal(err)
	}
	y4m := filepath.Join(t.TempDir(), "qr.y4m")
	out, err := os.Create(y4m)
	if err != nil {
		t.Fatal(err)
	}
	w, h := 640, 480
	for img.Bounds().Dx() > h { // keep the code inside the frame
		img, _ = code.Image(2)
		break
	}
	if err := writeY4M(out, img, w, h, 5); err != nil {
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
	wantGreen(t, waitResult(t, ctx))
}

// TestBrowserChunks pastes nothing: it uploads the legacy chunks of one
// card as three photos, one at a time, and checks the "n of 3 scanned"
// progress (QR-6, any order).
func TestBrowserChunks(t *testing.T) {
	f := newFixture(t)
	ctx := browser(t)
	chunks := chunkTexts(t, f.card)
	if err := chromedp.Do(ctx, chromedp.Navigate(f.svc.URL), chromedp.WaitVisible(chromedp.ID("file"))); err != nil {
		t.Fatal(err)
	}
	order := []int{len(chunks) - 1}
	for i := 0; i < len(chunks)-1; i++ {
		order = append(order, i)
	}
	for n, i := range order {
		path, _ := qrPNGFile(t, chunks[i], 3)
		if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.ID("file"), []string{path})); err != nil {
			t.Fatal(err)
		}
		if n == len(order)-1 {
			break
		}
		want := fmt.Sprintf("%d of %d scanned", n+1, len(chunks))
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`document.getElementById("chunks").textContent === %q`, want), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("chunks").textContent`))
			t.Fatalf("waiting for %q: %v (shows %q)", want, err, got)
		}
	}
	wantGreen(t, waitResult(t, ctx))
}
