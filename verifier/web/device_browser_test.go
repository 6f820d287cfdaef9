package web_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/healthcards/healthcards/verifier/server"
	"github.com/healthcards/healthcards/verifier/server/servertest"
)

// TestBrowserOnDevice: in on-device mode the page loads the WebAssembly
// verifier and the service's trust snapshot, then, with the network cut,
// verifies a card, reports a revoked one and an untrusted issuer's, and
// says where the card was checked; once the snapshot is older than its
// revocation bound (the page's clock moved 10 minutes on), a card whose key
// has a revocation list is "Could not check", never green.
func TestBrowserOnDevice(t *testing.T) {
	is := servertest.NewIssuer(t, "Test County Health Department", "revoked-rid")
	st := servertest.NewIssuer(t, "Unknown Clinic")
	svc := servertest.Start(t, server.Config{RateLimit: -1}, []*servertest.Issuer{is}, st)
	ctx := browser(t)
	phone(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(svc.URL+"/?mode=device"), chromedp.WaitVisible(chromedp.ID("paste"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("mode").textContent.includes("cards never leave it")`,
		chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		t.Fatalf("on-device checker not ready: %v; mode says %q", err, evalString(t, ctx, `document.getElementById("mode").textContent`))
	}
	loadMs := evalString(t, ctx, `document.body.getAttribute("data-wasm-load-ms")||""`)
	screenshot(t, ctx, "phone-on-device-start.png")

	if err := chromedp.Do(ctx, offline(true)); err != nil {
		t.Fatal(err)
	}
	check := func(text string) pageResult {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("paste")), chromedp.SetValue(chromedp.ID("paste"), text), chromedp.Click(chromedp.ID("paste-submit"))); err != nil {
			t.Fatal(err)
		}
		r := waitResult(t, ctx)
		r.details = evalString(t, ctx, `document.getElementById("verdict").getAttribute("data-code")||""`) // the code, for the caller
		if m := evalString(t, ctx, `document.getElementById("verdict-mode").textContent`); !strings.Contains(m, "on this device") {
			t.Errorf("the verdict does not say it was checked on the device: %q", m)
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("again"))); err != nil {
			t.Fatal(err)
		}
		return r
	}
	card := is.Card(t, nil, "ok-rid")
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("paste"), servertest.QRText(t, card)), chromedp.Click(chromedp.ID("paste-submit"))); err != nil {
		t.Fatal(err)
	}
	r := waitResult(t, ctx)
	wantGreen(t, r)
	verdictOnTop(t, ctx)
	screenshot(t, ctx, "phone-on-device-offline-verified.png")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("again"))); err != nil {
		t.Fatal(err)
	}
	if r := check(is.Card(t, nil, "revoked-rid")); r.verdict != "invalid" {
		t.Errorf("revoked card on the device: %+v", r)
	}
	if r := check(st.Card(t, nil, "")); r.verdict != "issuer_not_trusted" {
		t.Errorf("untrusted card on the device: %+v", r)
	}
	if r := check("https://example.org/menu"); r.verdict != "unable_to_check" {
		t.Errorf("not a card on the device: %+v", r)
	}

	// Verification time on the device: the mean of 20 calls.
	mean := evalString(t, ctx, `(() => { const c = `+jsonString(card)+`; const t0 = performance.now();
	  for (let i = 0; i < 20; i++) shcVerifier.verify(c, Date.now()); return ((performance.now() - t0) / 20).toFixed(2); })()`)
	t.Logf("wasm: load (fetch, gunzip, compile, start, snapshot) %s ms; verification mean %s ms over 20 cards (Chromium, headless)", loadMs, mean)
	if n, err := strconv.ParseFloat(mean, 64); err != nil || n <= 0 {
		t.Errorf("verification time %q", mean)
	}

	// Ten minutes on: the snapshot is past its 5-minute bound and cannot be
	// fetched again (offline).
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const real = Date.now.bind(Date); Date.now = () => real() + 10 * 60 * 1000; return true; })()`)); err != nil {
		t.Fatal(err)
	}
	r = check(card)
	if r.verdict != "unable_to_check" {
		t.Fatalf("stale snapshot: %+v, want unable_to_check", r)
	}
	if r.details != "revocation_unavailable" {
		t.Errorf("stale snapshot code %q", r.details)
	}
}
