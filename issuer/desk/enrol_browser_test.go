package desk_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/healthcards/healthcards/issuer/identity"
	"github.com/healthcards/healthcards/shc/qr"
)

// Issue 13 in Chromium, with a WebAuthn virtual authenticator in each of
// two browsers (the desk's and the patient's phone): staff enrol a patient
// from the patient page (passport, IAL2) → the code page's QR, read back
// from a screenshot by shc/qr, is the sign-up URL with the code → the
// phone opens it (the code is filled in), registers a passkey and lands on
// /account/ showing the person → sign out → passkey sign-in → /account/
// again; the desk then lists the passkey. Screenshots: the desk's
// enrolment form and code page, sign-up, account home and sign-in.
func TestEnrolmentInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	e := start(t)
	_, code, err := e.ids.AddAccount(context.Background(), "Dana Desk", identity.RoleDesk)
	if err != nil {
		t.Fatal(err)
	}
	desk := tab(t)
	base := e.base()
	if err := chromedp.Do(desk, chromedp.Navigate(base+"/desk/enrol"), chromedp.WaitVisible(chromedp.ID("code")),
		chromedp.SetValue(chromedp.ID("code"), code), chromedp.Click("#f button")); err != nil {
		t.Fatal(err)
	}
	waitPath(t, desk, "/desk/")
	// A result first, so that the lab has the patient.
	collected := time.Now().Add(-2 * time.Hour).Format("2006-01-02T15:04")
	if err := chromedp.Do(desk, chromedp.Navigate(base+"/desk/issue"), chromedp.WaitVisible(chromedp.ID("given")),
		chromedp.SetValue(chromedp.ID("given"), "Maria Elena"), chromedp.SetValue(chromedp.ID("family"), "Garcia"),
		chromedp.SetValue(chromedp.ID("birthDate"), "1984-07-15"), chromedp.SetValue(chromedp.ID("patientId"), "pt-3001"),
		chromedp.SetValue(chromedp.ID("test"), "94500-6"), chromedp.SetValue(chromedp.ID("specimen"), "258500001"),
		chromedp.SetValue(chromedp.ID("collected"), collected), chromedp.Click(`input[name=result][value=not-detected]`),
		chromedp.Click(`form[action="/desk/issue"] .actions button`), chromedp.WaitVisible("img.qr")); err != nil {
		t.Fatal(err)
	}
	// The enrolment form on the patient page.
	if err := chromedp.Do(desk, chromedp.Navigate(base+"/desk/patient?id=pt-3001"), chromedp.WaitVisible("#enrol-form"),
		chromedp.Click(`#enrol-form input[name=evidence][value=passport]`), chromedp.Click(`#enrol-form input[name=ial][value=IAL2]`),
		chromedp.ScrollIntoView("#enrol-form")); err != nil {
		t.Fatal(err)
	}
	shot(t, desk, "desk-enrolment.png")
	if err := chromedp.Do(desk, chromedp.Click(`#enrol-form .actions button`), chromedp.WaitVisible("img.qr")); err != nil {
		t.Fatal(err)
	}
	shot(t, desk, "desk-enrolment-code.png")
	shown, _ := chromedp.Run(desk, chromedp.Text("#code"))
	png, err := chromedp.Run(desk, chromedp.Screenshot("img.qr"))
	if err != nil {
		t.Fatal(err)
	}
	signup, err := qr.DecodeRawBytes(png)
	if err != nil || signup != base+"/account/signup#code="+shown {
		t.Fatalf("the QR on screen holds %q (%v), want the sign-up URL with the code %q", signup, err, shown)
	}

	// The patient's phone.
	phone := tab(t)
	if err := chromedp.Do(phone, chromedp.EmulateViewport(390, 844), chromedp.Navigate(signup), chromedp.WaitVisible(chromedp.ID("code"))); err != nil {
		t.Fatal(err)
	}
	filled, _ := chromedp.Run(phone, chromedp.Evaluate[string](`document.getElementById("code").value + " " + location.hash`))
	if filled != shown+" " {
		t.Fatalf("sign-up page: code field and hash %q, want the code filled in and the hash removed", filled)
	}
	shot(t, phone, "account-signup.png")
	if err := chromedp.Do(phone, chromedp.Click("#f button")); err != nil {
		t.Fatal(err)
	}
	waitPath(t, phone, "/account/")
	if name, _ := chromedp.Run(phone, chromedp.Text("#name")); name != "Maria Elena Garcia" {
		t.Fatalf("account home shows %q", name)
	}
	shot(t, phone, "account-home.png")
	if err := chromedp.Do(phone, chromedp.Click("header form button")); err != nil {
		t.Fatal(err)
	}
	waitPath(t, phone, "/account/signin")
	if err := chromedp.Do(phone, chromedp.WaitVisible(chromedp.ID("go"))); err != nil {
		t.Fatal(err)
	}
	shot(t, phone, "account-signin.png")
	if err := chromedp.Do(phone, chromedp.Click(chromedp.ID("go"))); err != nil {
		t.Fatal(err)
	}
	waitPath(t, phone, "/account/")
	overflow, _ := chromedp.Run(phone, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if overflow {
		t.Error("the account page scrolls sideways on a 390 px phone")
	}
	// The desk sees the passkey.
	if err := chromedp.Do(desk, chromedp.Navigate(base+"/desk/patient?id=pt-3001"), chromedp.WaitVisible(`form[action="/desk/enrolments/revoke-passkey"]`)); err != nil {
		t.Fatal(err)
	}
	if page, _ := chromedp.Run(desk, chromedp.Evaluate[string](`document.body.innerText`)); !strings.Contains(page, "passport, IAL2") {
		t.Fatalf("desk patient page after sign-up: %.500s", page)
	}
}
