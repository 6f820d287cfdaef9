package shc

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/healthcards/healthcards/internal/testvectors"
)

// seedFiles adds every file matching pattern (under testdata/seeds) and fails
// when the glob is empty: a fuzz target must never run on no seeds.
func seedFiles(f *testing.F, pattern string) {
	f.Helper()
	m, _ := filepath.Glob(filepath.Join("testdata", "seeds", pattern))
	if len(m) == 0 {
		f.Fatalf("no seed files match testdata/seeds/%s", pattern)
	}
	for _, p := range m {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(bytes.TrimSpace(b)))
	}
}

// addVectorSeeds adds official examples when ../shared is present.
func addVectorSeeds(f *testing.F, names ...string) {
	if !testvectors.Available() {
		return
	}
	for _, n := range names {
		f.Add(string(bytes.TrimSpace(testvectors.Read(f, n))))
	}
}

// FuzzParseJWS: Parse never panics; on error it returns no card and a
// malformed-class *Error; on success the card's accessors are consistent.
func FuzzParseJWS(f *testing.F) {
	seedFiles(f, "jws-*.txt")
	addVectorSeeds(f, "vci-spec-site/examples/example-00-d-jws.txt", "vci-spec-site/examples/example-02-d-jws.txt")
	f.Fuzz(func(t *testing.T, s string) {
		card, err := Parse(s)
		if err != nil {
			if card != nil {
				t.Fatal("non-nil card with an error")
			}
			if !IsMalformed(err) {
				t.Fatalf("error %v is not a malformed-class error", err)
			}
			return
		}
		if card.KeyID() == "" || card.Issuer() == "" || len(card.signature) != 64 {
			t.Fatal("parsed card lacks kid, iss or a 64-byte signature")
		}
		if card.Header().Alg != "ES256" || card.Header().Zip != "DEF" {
			t.Fatal("parsed card with a non-pinned header")
		}
	})
}

// FuzzDecodeQRText: decoding never panics; a decoded JWS re-encodes to the
// same digits (numeric coding is a bijection on valid input).
func FuzzDecodeQRText(f *testing.F) {
	seedFiles(f, "qr-*.txt")
	addVectorSeeds(f, "vci-spec-site/examples/example-00-f-qr-code-numeric-value-0.txt", "vci-spec-site/examples/example-02-f-qr-code-numeric-value-1.txt")
	f.Fuzz(func(t *testing.T, s string) {
		jws, err := DecodeQRText(s)
		if err != nil {
			if !IsMalformed(err) {
				t.Fatalf("error %v is not a malformed-class error", err)
			}
			return
		}
		q, err := ParseQRText(s)
		if err != nil {
			t.Fatalf("DecodeQRText accepted what ParseQRText refuses: %v", err)
		}
		if q.Total != 1 {
			t.Fatal("a lone chunk of several decoded")
		}
		d, err := EncodeNumeric(jws)
		if err != nil || d != q.Digits {
			t.Fatalf("re-encoding differs: %v", err)
		}
	})
}

// FuzzInflate: inflating never panics and never returns more than the limit.
func FuzzInflate(f *testing.F) {
	f.Add(Deflate([]byte(`{"iss":"https://x"}`)))
	f.Add(Deflate(bytes.Repeat([]byte("a"), 5000)))
	f.Add([]byte{0x78, 0x9c, 0x03, 0x00})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		const limit = 4096
		out, err := Inflate(b, limit)
		if err != nil {
			if out != nil {
				t.Fatal("output with an error")
			}
			if c := CodeOf(err); c != CodeBadPayloadEncoding && c != CodePayloadTooLarge {
				t.Fatalf("unexpected code %q", c)
			}
			return
		}
		if len(out) > limit {
			t.Fatalf("inflated %d bytes past the %d limit", len(out), limit)
		}
	})
}

// FuzzMinify: minification never panics, and its output is valid JSON that
// minifies to itself (idempotent).
func FuzzMinify(f *testing.F) {
	f.Add(labBundle)
	f.Add(`{"resourceType":"Bundle","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"x"}}]}`)
	f.Add(`{"resourceType":"Bundle","entry":[{"resource":{"a":{"coding":[],"text":"t"},"b":{"reference":"Patient/x"}}}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		out, err := Minify([]byte(s))
		if err != nil {
			return
		}
		again, err := Minify(out)
		if err != nil {
			t.Fatalf("minified output does not minify: %v", err)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("Minify is not idempotent:\n%s\n%s", out, again)
		}
	})
}
