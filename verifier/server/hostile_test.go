package server_test

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/verifier/server"
	"github.com/healthcards/healthcards/verifier/server/servertest"
)

// Hostile requests against the service (issue 10), each with a ceiling on
// the memory the whole exchange allocates in this process (client and
// server: runtime.MemStats.TotalAlloc) and on the size of the answer and
// of every log line. No wall-clock assertions.

func allocatedBy(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

func longestLine(s string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		n = max(n, len(l))
	}
	return n
}

// TestHostileManyCardsBody: a 10 MiB body of "shc:/56 shc:/56 …" (issue 10:
// 5.3 GB, 171 MB answer, a 28.6 MB log line) gets a small 422 with
// too_many_cards.
func TestHostileManyCardsBody(t *testing.T) {
	f := newFixture(t, server.Config{})
	body := bytes.Repeat([]byte("shc:/56 "), (10<<20-1)/8)
	var a answer
	n := allocatedBy(func() { a = post(t, f, "", "text/plain", body) })
	t.Logf("10 MiB shc:/ body: %d bytes allocated, %d-byte answer", n, len(a.raw))
	if a.status != 422 || a.body["code"] != "too_many_cards" {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	if len(a.raw) > 1024 {
		t.Errorf("answer of %d bytes", len(a.raw))
	}
	if n > 64<<20 {
		t.Errorf("the request allocated %d bytes, want <= 64 MiB", n)
	}
	if l := longestLine(f.svc.Logs()); l > 1024 {
		t.Errorf("a log line of %d bytes", l)
	}
}

// TestHostileLimitCardsAnswer: the most cards an input may hold (100
// untrusted cards) gives a bounded answer and one short log line with
// counts and the first few codes.
func TestHostileLimitCardsAnswer(t *testing.T) {
	f := newFixture(t, server.Config{})
	texts := make([]string, 100)
	for i := range texts {
		texts[i] = servertest.QRText(t, f.untrusted)
	}
	body := []byte(strings.Join(texts, "\n"))
	var a answer
	n := allocatedBy(func() { a = post(t, f, "", "text/plain", body) })
	t.Logf("100 untrusted cards (%d bytes in): %d bytes allocated, %d-byte answer", len(body), n, len(a.raw))
	if a.status != 200 || len(a.body["cards"].([]any)) != 100 {
		t.Fatalf("%d %.300s", a.status, a.raw)
	}
	if len(a.raw) > 256<<10 || n > 64<<20 {
		t.Errorf("answer of %d bytes, %d bytes allocated", len(a.raw), n)
	}
	logs := f.svc.Logs()
	if !strings.Contains(logs, `"verdicts":{"verified":0,"untrusted":100,"unable_to_check":0,"invalid":0}`) {
		t.Errorf("no verdict counts in the log:\n%s", logs)
	}
	if l := longestLine(logs); l > 1024 {
		t.Errorf("a log line of %d bytes", l)
	}
	// 101 cards: refused as a whole.
	body = append(body, '\n')
	body = append(body, texts[0]...)
	if a := post(t, f, "", "text/plain", body); a.status != 422 || a.body["code"] != "too_many_cards" {
		t.Fatalf("101 cards: %d %.300s", a.status, a.raw)
	}
}

// TestHostileStrictRequestJSON: member names of the verify API are matched
// exactly ({"INPUT": …} was accepted).
func TestHostileStrictRequestJSON(t *testing.T) {
	f := newFixture(t, server.Config{})
	for _, body := range []string{
		`{"INPUT":` + quote(f.card) + `}`,
		`{"Input":` + quote(f.card) + `}`,
		`{"input":"x","input":` + quote(f.card) + `}`,
		`{"input":` + quote(f.card) + `,"PASSCODE":"1"}`,
	} {
		if a := post(t, f, "", "application/json", []byte(body)); a.status != 400 || a.body["code"] != "bad_request" {
			t.Errorf("%.40s…: %d %s", body, a.status, a.raw)
		}
	}
	wantVerdict(t, post(t, f, "", "application/json", []byte(`{"input":`+quote(f.card)+`}`)), "verified")
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestHostileFetchesPerClient: fetches caused by one client are bounded
// per minute; past the budget nothing is fetched and the card fails
// closed: not verified, and "could not check", not "bad card".
func TestHostileFetchesPerClient(t *testing.T) {
	f := newFixture(t, server.Config{FetchesPerClientPerMinute: 1})
	a := post(t, f, "", "application/json", jsonInput(f.card))
	if a.status != 200 || a.body["verdict"] != "unable_to_check" {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	if code := a.card(t, 0)["reasons"].([]any)[0].(map[string]any)["code"]; code != "revocation_unavailable" {
		t.Errorf("reason %v, want revocation_unavailable (the list fetch was over budget)", code)
	}
	if got := f.issuer.Fetches("/.well-known/jwks.json"); got != 1 {
		t.Errorf("%d key-set fetches, want 1", got)
	}
	if got := f.issuer.Fetches("/.well-known/crl/" + f.issuer.KID + ".json"); got != 0 {
		t.Errorf("%d revocation-list fetches over the client's budget", got)
	}
	if m := metricsText(t, f); !strings.Contains(m, "shc_verifier_library_fetches_refused_total 1") {
		t.Errorf("refused fetch not counted:\n%s", grepLines(m, "refused"))
	}
}

// TestHostileImageMemoryBudget: an image's estimated decoding memory is
// charged against the service's image budget before decoding; an image
// whose estimate alone is over it is refused without decoding.
func TestHostileImageMemoryBudget(t *testing.T) {
	var calls int
	var png bytes.Buffer
	blankPNG(&png)
	f := newFixture(t, server.Config{MaxImageMemoryBytes: 64 << 20, ImageCost: func(b []byte) (int64, error) {
		calls++
		if bytes.Equal(b, png.Bytes()) {
			return 1 << 20, nil
		}
		return 1 << 30, nil // a "huge" image
	}})
	if a := post(t, f, "", "image/png", png.Bytes()); a.status != 422 || a.body["code"] != "no_qr_found" {
		t.Fatalf("small image: %d %s", a.status, a.raw)
	}
	huge := append(append([]byte{}, png.Bytes()...), 0) // another PNG, estimated at 1 GiB
	if a := post(t, f, "", "image/png", huge); a.status != 422 || a.body["code"] != "image_too_large" {
		t.Fatalf("huge image: %d %s", a.status, a.raw)
	}
	if a := post(t, f, "", "application/json", jsonInput(f.card)); a.status != 200 || calls != 2 {
		t.Fatalf("text input: %d, %d cost estimates (want 2: images only)", a.status, calls)
	}
}

// TestHostileImagePerImageBudget: by default one image may cost at most
// DefaultMaxImageBytes (64 MiB, issue 10's per-request goal) of estimated
// decoding memory, whatever the service-wide image budget; a server can
// raise it with Config.MaxImageBytes.
func TestHostileImagePerImageBudget(t *testing.T) {
	var png bytes.Buffer
	blankPNG(&png)
	cost := func(b []byte) (int64, error) { return server.DefaultMaxImageBytes + 1, nil }
	f := newFixture(t, server.Config{ImageCost: cost})
	if a := post(t, f, "", "image/png", png.Bytes()); a.status != 422 || a.body["code"] != "image_too_large" {
		t.Fatalf("image over 64 MiB: %d %s", a.status, a.raw)
	}
	f = newFixture(t, server.Config{ImageCost: cost, MaxImageBytes: 128 << 20})
	if a := post(t, f, "", "image/png", png.Bytes()); a.status != 422 || a.body["code"] != "no_qr_found" {
		t.Fatalf("image under a raised bound: %d %s", a.status, a.raw)
	}
}
