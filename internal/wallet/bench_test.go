package wallet

import (
	"path/filepath"
	"testing"
)

// BenchmarkGrantSealOpen is the at-rest cost an import pays: the grant
// opened and, after the refresh, sealed again, each one PBKDF2-HMAC-SHA512
// run at the production work factor (600,000 iterations).
func BenchmarkGrantSealOpen(b *testing.B) {
	w, err := Open(filepath.Join(b.TempDir(), "w"), Options{Passphrase: func() ([]byte, error) { return []byte("correct horse battery staple"), nil }})
	if err != nil {
		b.Fatal(err)
	}
	g := &Grant{AccessToken: "a", RefreshToken: "r", Patient: "p"}
	for b.Loop() {
		if err := w.SaveGrant(g); err != nil {
			b.Fatal(err)
		}
		if _, err := w.Grant(); err != nil {
			b.Fatal(err)
		}
	}
}
