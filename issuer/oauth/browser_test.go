package oauth_test

import (
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/healthcards/healthcards/internal/browsertest"
	"github.com/healthcards/healthcards/issuer/identity"
)

func tab(t *testing.T) context.Context {
	return browsertest.Tab(t, browsertest.Options{Timeout: time.Minute, Passkeys: true, AcceptAnyCertificate: true})
}

func shot(t *testing.T, ctx context.Context, name string) {
	browsertest.Shot(t, ctx, *screenshotDir, name)
}

var (
	waitPath = browsertest.WaitPath
	text     = browsertest.Text
	waitText = browsertest.WaitText
)

var screenshotDir = flag.String("screenshots", "", "write the consent, picker and connected-apps screenshots (PNG) here, e.g. $PWD/../../docs/screenshots")

// Issue 13 in Chromium: a guardian picks their ward, narrows the consent
// (laboratory results only, sensitive results left out) and allows; the
// loopback redirect receives the code; the person signs up and in with a
// passkey on the account pages (virtual authenticator); the connected-apps page lists the
// app and withdraws it. Screenshots of the picker, the consent page and
// the connected apps.
func TestConsentInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	s := start(t, "sqlite", "")
	_, signup, err := s.ids.EnrolPatient(context.Background(), identity.Enrolment{Name: "Gina Guardian", Patient: "pt-3003", Evidence: "passport",
		IAL: "IAL2", By: "staff-1", Wards: []identity.Ward{{Patient: "pt-4004", RelatedPerson: "rp-4004-gina", Name: "Kim Child"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := tab(t)
	// The phone redeems the desk's code with a passkey, then signs out.
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/account/signup"), chromedp.WaitVisible(chromedp.ID("code")),
		chromedp.SetValue(chromedp.ID("code"), signup), chromedp.Click("#f button")); err != nil {
		t.Fatal(err)
	}
	waitPath(t, ctx, "/account/")
	if err := chromedp.Do(ctx, chromedp.Click("header form button")); err != nil {
		t.Fatal(err)
	}
	waitPath(t, ctx, "/account/signin")
	codes := make(chan string, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case codes <- r.URL.Query().Get("code"):
		default:
		}
		w.Write([]byte("The wallet received the answer."))
	}))
	t.Cleanup(app.Close)
	conf := s.config()
	conf.RedirectURL = app.URL + "/callback" // a registered loopback URI on another port (RFC 8252)
	v := oauth2.GenerateVerifier()
	// The app sends the browser to /oauth/authorize: no session, so to the
	// passkey sign-in, and back to the request.
	authURL := conf.AuthCodeURL("st-browser", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("aud", s.fhir))
	if err := chromedp.Do(ctx, chromedp.Navigate(authURL)); err != nil {
		t.Fatal(err)
	}
	waitPath(t, ctx, "/account/signin")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("go")), chromedp.Click(chromedp.ID("go")), chromedp.WaitVisible(`input[name=person]`)); err != nil {
		t.Fatal(err)
	}
	if p := text(t, ctx); !strings.Contains(p, "Whose cards should Test Wallet get?") || !strings.Contains(p, "Kim Child (you act for them)") {
		t.Fatalf("picker: %s", p)
	}
	shot(t, ctx, "oauth-picker.png")
	if err := chromedp.Do(ctx, chromedp.Click(`input[value="pt-4004"]`), chromedp.Click(`form button`),
		chromedp.WaitVisible(`input[name=sensitive]`)); err != nil {
		t.Fatal(err)
	}
	if p := text(t, ctx); !strings.Contains(p, "Kim Child's SMART Health Cards") || !strings.Contains(p, "127.0.0.1") {
		t.Fatalf("consent: %s", p)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`input[value="https://smarthealth.cards#immunization"]`),
		chromedp.SetValue(`#since`, "2020-01-01")); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "oauth-consent.png")
	if err := chromedp.Do(ctx, chromedp.Click(`button[value=allow]`)); err != nil {
		t.Fatal(err)
	}
	var code string
	select {
	case code = <-codes:
	case <-time.After(20 * time.Second):
		t.Fatal("the app's loopback redirect was not reached")
	}
	tok, err := conf.Exchange(s.ctx(), code, oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	claims := jwtClaims(t, tok.AccessToken)
	ad, _ := claims["authorization_details"].([]any)
	d, _ := ad[0].(map[string]any)
	if claims["patient"] != "pt-4004" || d["since"] != "2020-01-01" || d["sensitive"] != false ||
		slices.Contains(toStrings(d["credentialTypes"]), immType) || slices.Contains(toStrings(d["credentialTypes"]), "Immunization") ||
		!slices.Contains(toStrings(d["credentialTypes"]), "Observation") || slices.Contains(toStrings(d["resourceTypes"]), "Immunization") {
		t.Fatalf("narrowed token: %v", claims)
	}
	// After the cross-origin hop to the app, chromedp's DOM queries wait
	// forever; the page is driven with script from here.
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/account/apps")); err != nil {
		t.Fatal(err)
	}
	if p := waitText(t, ctx, "Test Wallet"); !strings.Contains(p, "Test Wallet") || !strings.Contains(p, "Laboratory results, results from 2020-01-01") {
		t.Fatalf("connected apps: %s", p)
	}
	shot(t, ctx, "oauth-connected-apps.png")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("button.danger").click(), true`)); err != nil {
		t.Fatal(err)
	}
	p := ""
	for range 100 {
		p, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`(document.body||{}).innerText||""`))
		if strings.Contains(p, "Access withdrawn") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(p, "Access withdrawn") || strings.Contains(p, "Test Wallet") {
		t.Fatalf("after withdrawal: %s", p)
	}
	if status, m := s.refresh(tok.RefreshToken); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Fatalf("refresh after withdrawal in the browser: %d %v", status, m)
	}
}

func toStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
