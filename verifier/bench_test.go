package verifier

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"math/big"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/internal/testvectors"
	"github.com/healthcards/healthcards/shc"
)

// BenchmarkVerifyWarm verifies the official ex-00 card with warm caches
// (keys parsed once, revocation list from the trust directory).
func BenchmarkVerifyWarm(b *testing.B) {
	v := exampleVerifier(b, WithOffline(), WithTrustDirectoryJSON("examples", exampleDirectory(b, publishedCRL(b)), nil))
	input := testvectors.Read(b, "vci-spec-site/examples/example-00-d-jws.txt")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := v.Verify(ctx, input)
		if err != nil || !res[0].Valid {
			b.Fatalf("%v %+v", err, res)
		}
	}
}

// BenchmarkRawP256Verify is the floor: one ecdsa.Verify of the same
// signature with a parsed key and a precomputed digest.
func BenchmarkRawP256Verify(b *testing.B) {
	jws := strings.TrimSpace(string(testvectors.Read(b, "vci-spec-site/examples/example-00-d-jws.txt")))
	set, _, err := parseKeySet(testvectors.Read(b, "vci-spec-site/examples/issuer/.well-known/jwks.json"))
	if err != nil {
		b.Fatal(err)
	}
	card, err := shc.Parse(jws)
	if err != nil {
		b.Fatal(err)
	}
	pub := set.lookup(card.KeyID())[0].pub
	i := strings.LastIndexByte(jws, '.')
	digest := sha256.Sum256([]byte(jws[:i]))
	sig := mustB64(b, jws[i+1:])
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if !ecdsa.Verify(pub, digest[:], r, s) {
			b.Fatal("bad signature")
		}
	}
}

// BenchmarkParts splits the warm path: format parsing (package shc) and
// the summary of the bundle.
func BenchmarkParts(b *testing.B) {
	jws := strings.TrimSpace(string(testvectors.Read(b, "vci-spec-site/examples/example-00-d-jws.txt")))
	card, err := shc.Parse(jws)
	if err != nil {
		b.Fatal(err)
	}
	bundle := card.UnsafePayloadWithoutVerification().VC.CredentialSubject.FHIRBundle
	b.Run("shc.Parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := shc.Parse(jws); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("summarize", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if s, _ := summarize(bundle); s == nil {
				b.Fatal("no summary")
			}
		}
	})
}
