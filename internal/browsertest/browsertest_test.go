package browsertest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/healthcards/healthcards/internal/browsertest"
)

// A tab with a passkey authenticator loads a loopback page, follows a
// redirect, reads the text once it is there and draws a screenshot; the
// page sees a platform authenticator that verifies the user.
func TestTab(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/start" {
			http.Redirect(w, r, "/done", http.StatusFound)
			return
		}
		fmt.Fprint(w, `<!doctype html><title>t</title><p id=p></p><script>
setTimeout(async () => { document.getElementById("p").textContent = "platform authenticator: " +
  await PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable(); }, 100);</script>`)
	}))
	defer srv.Close()
	ctx := browsertest.Tab(t, browsertest.Options{Passkeys: true})
	if err := chromedp.Do(ctx, chromedp.Navigate(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)+"/start")); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitPath(t, ctx, "/done")
	if p := browsertest.WaitText(t, ctx, "platform authenticator"); !strings.Contains(p, "platform authenticator: true") {
		t.Fatalf("page says %q", p)
	}
	dir := t.TempDir()
	browsertest.Shot(t, ctx, dir, "t.png")
	if b, err := os.ReadFile(filepath.Join(dir, "t.png")); err != nil || len(b) < 100 || string(b[1:4]) != "PNG" {
		t.Fatalf("screenshot: %d bytes, %v", len(b), err)
	}
}
