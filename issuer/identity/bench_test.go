package identity_test

import (
	"context"
	"testing"

	"github.com/healthcards/healthcards/issuer/identity/identitytest"
)

// BenchmarkAuthenticate: the session lookup every desk request makes
// (SHA-256 of the token, two SQLite reads and the idle-clock update).
func BenchmarkAuthenticate(b *testing.B) {
	s, _ := open(b)
	ctx := context.Background()
	_, code, _ := s.AddAccount(ctx, "Bench", "desk")
	ses, err := enrol(b, s, identitytest.New("desk.example.org", origin), code)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Authenticate(ctx, ses.Token()); err != nil {
			b.Fatal(err)
		}
	}
}
