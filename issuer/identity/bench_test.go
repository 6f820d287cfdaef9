package identity_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/healthcards/healthcards/internal/identitytest"
	"github.com/healthcards/healthcards/issuer/identity"
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

// BenchmarkSignupGuess: what one sign-up code attempt costs the service
// (two attempt-counter upserts and the hashed-code lookup, in SQLite): the
// work a guesser can make the database do, before the limit answers.
func BenchmarkSignupGuess(b *testing.B) {
	s, err := identity.Open(context.Background(), identity.Config{Path: filepath.Join(b.TempDir(), "identity.db"), RPID: "desk.example.org", Origin: origin,
		CodeAttemptsPerMinute: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, _, err := s.EnrolPatient(ctx, identity.Enrolment{Name: "Pat", Patient: "pt-1", Evidence: "passport", IAL: "IAL2", By: "s"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.BeginEnrolFor(ctx, identity.PatientsOnly, "ABCD-EFGH-JKMN", "guesser"); identity.CodeOf(err) != identity.CodeInvalidCode {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnrolPatient: a desk enrolment (account, evidence, hashed code)
// in one SQLite transaction.
func BenchmarkEnrolPatient(b *testing.B) {
	s, _ := open(b)
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		if _, _, err := s.EnrolPatient(ctx, identity.Enrolment{Name: "Pat", Patient: "pt-" + strconv.Itoa(i), Evidence: "passport", IAL: "IAL2", By: "s"}); err != nil {
			b.Fatal(err)
		}
	}
}
