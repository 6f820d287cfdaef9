package shc

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/testvectors"
)

// Benchmarks for BENCHMARKS.md. Run:
//   go test ./shc -run='^$' -bench=. -benchmem
// Raw P-256 sign/verify sit beside issue/verify so the ratios come from one run.

func benchCard(b *testing.B) (*ecdsa.PrivateKey, string) {
	k := newKey(b)
	min, err := Minify([]byte(labBundle))
	if err != nil {
		b.Fatal(err)
	}
	p := NewPayload("https://lab.example.org", time.Unix(1795168800, 0), min)
	jws, err := Sign(k, p)
	if err != nil {
		b.Fatal(err)
	}
	return k, jws
}

// BenchmarkRawP256Sign is the floor for issuing: one ECDSA P-256 signature
// over a SHA-256 digest, in the JWS r||s form.
func BenchmarkRawP256Sign(b *testing.B) {
	k := newKey(b)
	msg := make([]byte, 700)
	b.ReportAllocs()
	for b.Loop() {
		d := sha256.Sum256(msg)
		if _, err := ecdsa.SignASN1(rand.Reader, k, d[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawP256Verify is the floor for verifying.
func BenchmarkRawP256Verify(b *testing.B) {
	k := newKey(b)
	msg := make([]byte, 700)
	d := sha256.Sum256(msg)
	sig, _ := ecdsa.SignASN1(rand.Reader, k, d[:])
	b.ReportAllocs()
	for b.Loop() {
		d := sha256.Sum256(msg)
		if !ecdsa.VerifyASN1(&k.PublicKey, d[:], sig) {
			b.Fatal("verify failed")
		}
	}
}

// BenchmarkIssueCard: payload → JSON → raw DEFLATE → ES256 compact JWS, with
// a reused Signer (as a service holds one).
func BenchmarkIssueCard(b *testing.B) {
	k := newKey(b)
	s, err := NewSigner(k)
	if err != nil {
		b.Fatal(err)
	}
	min, _ := Minify([]byte(labBundle))
	b.ReportAllocs()
	for b.Loop() {
		p := NewPayload("https://lab.example.org", time.Unix(1795168800, 0), json.RawMessage(min))
		if _, err := s.Sign(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyFromJWS: parse (header, base64, inflate, claims) + ES256 verify.
func BenchmarkVerifyFromJWS(b *testing.B) {
	k, jws := benchCard(b)
	b.ReportAllocs()
	for b.Loop() {
		c, err := Parse(jws)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.VerifySignature(&k.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyFromQRText: shc:/ digits → JWS → parse + verify.
func BenchmarkVerifyFromQRText(b *testing.B) {
	k, jws := benchCard(b)
	text, _ := EncodeQRText(jws)
	b.ReportAllocs()
	for b.Loop() {
		s, err := DecodeQRText(text)
		if err != nil {
			b.Fatal(err)
		}
		c, err := Parse(s)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.VerifySignature(&k.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMinify: the example-sized lab bundle.
func BenchmarkMinify(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Minify([]byte(labBundle)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIssueParts splits issuing: claims serialization and raw DEFLATE
// of the lab card (the rest is the signature and base64).
func BenchmarkIssueParts(b *testing.B) {
	min, _ := Minify([]byte(labBundle))
	p := NewPayload("https://lab.example.org", time.Unix(1795168800, 0), json.RawMessage(min))
	claims, _ := p.Marshal()
	b.Run("Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Marshal(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Deflate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Deflate(claims)
		}
	})
}

// BenchmarkMinifyExample02: spec example 02's FHIR bundle (the large one,
// split into three QR chunks), for issue 15's instructions per byte.
func BenchmarkMinifyExample02(b *testing.B) {
	bundle := testvectors.Read(b, "vci-spec-site/examples/example-02-a-fhirBundle.json")
	b.SetBytes(int64(len(bundle)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Minify(bundle); err != nil {
			b.Fatal(err)
		}
	}
}
