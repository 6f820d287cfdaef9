package keys

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"testing"
)

// BenchmarkLoadPrivateEncrypted is dominated by PBKDF2 (DefaultPBES2Count).
func BenchmarkLoadPrivateEncrypted(b *testing.B) {
	priv, err := Generate()
	if err != nil {
		b.Fatal(err)
	}
	k, err := NewPrivateKey(priv)
	if err != nil {
		b.Fatal(err)
	}
	data, err := MarshalPrivateJWK(k, []byte("pw"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadPrivate(data, []byte("pw"), ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	priv, err := Generate()
	if err != nil {
		b.Fatal(err)
	}
	k, err := NewPrivateKey(priv)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("x"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
}
