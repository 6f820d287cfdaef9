package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/healthcards/healthcards/verifier/server"
	"github.com/healthcards/healthcards/verifier/server/servertest"
)

func waitDevice(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("mode").textContent.includes("cards never leave it")`,
		chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		t.Fatalf("on-device checker not ready: %v; mode says %q", err, evalString(t, ctx, `document.getElementById("mode").textContent`))
	}
}

// TestBrowserOffline: the page registers its service worker; with the
// network cut, the page, the WebAssembly verifier and the last trust
// snapshot come from it, and a card is verified on the device. The web app
// manifest names icons that the service serves.
func TestBrowserOffline(t *testing.T) {
	is := servertest.NewIssuer(t, "Test County Health Department")
	svc := servertest.Start(t, server.Config{RateLimit: -1}, []*servertest.Issuer{is})
	ctx := browser(t)
	phone(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(svc.URL+"/?mode=device"), chromedp.WaitVisible(chromedp.ID("paste"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`navigator.serviceWorker.controller !== null`, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("service worker not controlling the page: %v (data-sw=%s)", err, evalString(t, ctx, `document.body.getAttribute("data-sw")||""`))
	}
	// Once more online, so every file and the snapshot pass through it.
	if err := chromedp.Do(ctx, chromedp.Navigate(svc.URL+"/?mode=device"), chromedp.WaitVisible(chromedp.ID("paste"))); err != nil {
		t.Fatal(err)
	}
	waitDevice(t, ctx)

	if err := chromedp.Do(ctx, offline(true), chromedp.Navigate(svc.URL+"/?mode=device&clear=60"), chromedp.WaitVisible(chromedp.ID("paste"))); err != nil {
		t.Fatal(err)
	}
	waitDevice(t, ctx)
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("paste"), is.Card(t, nil, "")), chromedp.Click(chromedp.ID("paste-submit"))); err != nil {
		t.Fatal(err)
	}
	wantGreen(t, waitResult(t, ctx))
	if m := evalString(t, ctx, `document.getElementById("verdict-mode").textContent`); !strings.Contains(m, "on this device") {
		t.Errorf("verdict mode %q", m)
	}
	screenshot(t, ctx, "phone-offline-reloaded-verified.png")
	if err := chromedp.Do(ctx, offline(false)); err != nil {
		t.Fatal(err)
	}

	// The manifest and its icons.
	var m struct {
		StartURL string `json:"start_url"`
		Display  string `json:"display"`
		Icons    []struct{ Src, Sizes, Type string }
	}
	if err := json.Unmarshal(httpGet(t, svc.URL+"/static/manifest.json", ""), &m); err != nil {
		t.Fatal(err)
	}
	if m.StartURL != "/" || m.Display != "standalone" || len(m.Icons) < 2 {
		t.Fatalf("manifest %+v", m)
	}
	for _, ic := range m.Icons {
		httpGet(t, svc.URL+ic.Src, ic.Type)
	}
}

// httpGet fetches url and fails unless it is 200 (with the content type
// when given).
func httpGet(t *testing.T, url, ctype string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || (ctype != "" && !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype)) {
		t.Fatalf("GET %s: %s %s", url, resp.Status, resp.Header.Get("Content-Type"))
	}
	return b
}
