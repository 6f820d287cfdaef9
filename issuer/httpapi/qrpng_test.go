package httpapi_test

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/shc/qr"
)

// A lab's path (issue 15): POST /v1/cards?format=png answers 201 with a
// PNG whose QR reads back (our decoder) to a card of this issuer, one
// segment pair in one symbol (QR-1); ?scale= changes the module size and
// out-of-range scales fall back to 6 px.
func TestPostCardsPNGReadsBack(t *testing.T) {
	s := httpapitest.Start(t, httpapitest.Options{})
	for q, scale := range map[string]int{"": 6, "&scale=2": 2, "&scale=99": 6} {
		r := do(t, s, "POST", "/v1/cards?format=png"+q, s.Token, "", []byte(oneCardBundle))
		if r.Status != 201 || r.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("format=png%s: %d %q %s", q, r.Status, r.Header.Get("Content-Type"), r.Body)
		}
		text, err := qr.DecodeBytes(r.Body)
		if err != nil {
			t.Fatalf("format=png%s: %v", q, err)
		}
		jws, err := shc.DecodeQRText(text)
		if err != nil {
			t.Fatalf("QR text: %v", err)
		}
		checkCard(t, s, jws)
		code, err := qr.Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(r.Body))
		if want := (code.Size() + 8) * scale; err != nil || cfg.Width != want || cfg.Height != want {
			t.Errorf("format=png%s: %dx%d (%v), want %d px square", q, cfg.Width, cfg.Height, err, want)
		}
	}
}
