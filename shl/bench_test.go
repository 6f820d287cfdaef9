package shl

import (
	"testing"

	"github.com/healthcards/healthcards/internal/testvectors"
)

// go test ./shl -run '^$' -bench . -benchmem
func BenchmarkDecryptIPS(b *testing.B) {
	jwe := string(testvectors.Read(b, "hl7-ig/input/images/IPS_IG-bundle-01-enc.txt"))
	key, _ := decodeKey(specKey)
	b.SetBytes(int64(len(jwe)))
	for b.Loop() {
		if _, _, err := Decrypt(key, jwe); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncryptBundleZip(b *testing.B) {
	pt := testvectors.Read(b, "vci-spec-site/examples/example-02-a-fhirBundle.json")
	key := make([]byte, 32)
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		if _, err := Encrypt(key, ContentTypeFHIR, pt, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	s := string(testvectors.Read(b, "derived-from-spec-text/links-specification.shlink-example-with-viewer.txt"))
	for b.Loop() {
		if _, err := Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}
