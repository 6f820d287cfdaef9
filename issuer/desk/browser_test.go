package desk_test

import (
	"context"
	"flag"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/healthcards/healthcards/internal/browsertest"
	"github.com/healthcards/healthcards/issuer/identity"
	"github.com/healthcards/healthcards/verifier"
)

// tab is a desk-sized Chromium tab with a passkey authenticator that
// accepts the test server's certificate.
func tab(t *testing.T) context.Context {
	return browsertest.Tab(t, browsertest.Options{Width: 1200, Height: 1100, Passkeys: true, AcceptAnyCertificate: true})
}

func shot(t *testing.T, ctx context.Context, name string) {
	browsertest.Shot(t, ctx, *screenshotDir, name)
}

var waitPath = browsertest.WaitPath

var screenshotDir = flag.String("screenshots", "", "write the desk screenshots (PNG) to this folder, e.g. $PWD/../../docs/screenshots")

// Issue 14 in Chromium: invitation code → passkey enrolment (virtual
// authenticator) → sign out → passkey sign-in → the form, filled with the
// keyboard-reachable controls → the issued card's QR, read back by shc/qr,
// verifies with the verifier library. Screenshots of the form (desk and
// phone layouts), the issued card, the patient page and the audit trail.
func TestDeskInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	e := start(t)
	_, code, err := e.ids.AddAccount(context.Background(), "Sam Supervisor", identity.RoleSupervisor)
	if err != nil {
		t.Fatal(err)
	}
	ctx := tab(t)
	base := e.base()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/desk/enrol"), chromedp.WaitVisible(chromedp.ID("code")),
		chromedp.SetValue(chromedp.ID("code"), strings.ToLower(code)), chromedp.Click("#f button")); err != nil {
		t.Fatal(err)
	}
	waitPath(t, ctx, "/desk/")
	if err := chromedp.Do(ctx, chromedp.Click("header form button")); err != nil {
		t.Fatal(err)
	}
	waitPath(t, ctx, "/desk/signin")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("go")), chromedp.Click(chromedp.ID("go"))); err != nil {
		t.Fatal(err)
	}
	waitPath(t, ctx, "/desk/")

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/desk/issue"), chromedp.WaitVisible(chromedp.ID("given"))); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "desk-form.png")
	collected := time.Now().Add(-2 * time.Hour).Format("2006-01-02T15:04")
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("given"), "Maria Elena"), chromedp.SetValue(chromedp.ID("family"), "Garcia"),
		chromedp.SetValue(chromedp.ID("birthDate"), "1984-07-15"), chromedp.SetValue(chromedp.ID("patientId"), "pt-3001"),
		chromedp.SetValue(chromedp.ID("test"), "94500-6"), chromedp.SetValue(chromedp.ID("specimen"), "258500001"),
		chromedp.SetValue(chromedp.ID("collected"), collected),
		chromedp.Click(`input[name=result][value=not-detected]`),
		chromedp.Click(`form[action="/desk/issue"] .actions button`),
		chromedp.WaitVisible("img.qr")); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "desk-issued.png")
	src, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("img.qr").getAttribute("src")`))
	m := regexp.MustCompile(`/v1/cards/([A-Za-z0-9_-]{22})\.png`).FindStringSubmatch(src)
	if err != nil || m == nil {
		t.Fatalf("QR image %q: %v", src, err)
	}
	loaded, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("img.qr").naturalWidth > 200`))
	if !loaded {
		t.Error("the QR image did not load in the page (CSP or URL)")
	}
	if r := e.verifyQR(m[1], time.Now); r.Verdict != verifier.VerdictVerified {
		t.Fatalf("card issued from the form: %s %v", r.Verdict, r.Errors)
	}
	// The print page, from the issued card's own link.
	if err := chromedp.Do(ctx, chromedp.Click(`a[href$="print?paper=A4"]`), chromedp.WaitVisible("img")); err != nil {
		t.Fatal(err)
	}
	if path, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`)); path != "/cards/"+m[1]+"/print" {
		t.Fatalf("print page at %q", path)
	}
	shot(t, ctx, "desk-print.png")
	// Correct the result in the browser: the old card is revoked (REV-5
	// timestamp form), the corrected one verifies.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/desk/patient?id=pt-3001"), chromedp.WaitVisible(`form[action="/desk/correct"] select`),
		chromedp.SetValue(`form[action="/desk/correct"] select`, "detected"),
		chromedp.Click(`form[action="/desk/correct"] button`), chromedp.WaitVisible("img.qr")); err != nil {
		t.Fatal(err)
	}
	src2, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("img.qr").getAttribute("src")`))
	m2 := regexp.MustCompile(`/v1/cards/([A-Za-z0-9_-]{22})\.png`).FindStringSubmatch(src2)
	if m2 == nil || m2[1] == m[1] {
		t.Fatalf("corrected card's QR %q", src2)
	}
	later := func() time.Time { return time.Now().Add(2 * time.Second) }
	if r := e.verifyQR(m2[1], later); r.Verdict != verifier.VerdictVerified {
		t.Fatalf("corrected card: %s %v", r.Verdict, r.Errors)
	}
	if r := e.verifyQR(m[1], later); r.Verdict != verifier.VerdictInvalid || len(r.Errors) == 0 || r.Errors[0].Code != verifier.CodeRevoked {
		t.Fatalf("the card before the correction: %s %v, want revoked", r.Verdict, r.Errors)
	}
	// The patient page (cards with their states) and the audit trail.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/desk/patient?id=pt-3001")); err != nil {
		t.Fatal(err)
	}
	if title, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.title + " " + document.querySelectorAll("tbody tr").length`)); !strings.HasPrefix(title, "Patient ") || strings.HasSuffix(title, " 0") {
		t.Fatalf("patient page: %q", title)
	}
	shot(t, ctx, "desk-patient.png")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/desk/audit")); err != nil {
		t.Fatal(err)
	}
	if title, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.title`)); !strings.HasPrefix(title, "Audit trail") {
		t.Fatalf("audit page: %q", title)
	}
	shot(t, ctx, "desk-audit.png")
	// Phone layout of the form.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/desk/issue"), chromedp.WaitVisible(chromedp.ID("given"))); err != nil {
		t.Fatal(err)
	}
	overflow, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if overflow {
		t.Error("the form scrolls sideways on a 390 px phone")
	}
	shot(t, ctx, "desk-form-phone.png")
}
