package identity_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/identitytest"
	"github.com/healthcards/healthcards/internal/pgtest"
	"github.com/healthcards/healthcards/issuer/identity"
)

// replicas opens n services on one PostgreSQL schema, as n issuer
// replicas would, sharing one test clock.
func replicas(t *testing.T, n int) ([]*identity.Service, *clock) {
	t.Helper()
	dsn := pgtest.FreshSchema(t)
	c := &clock{t: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)}
	out := make([]*identity.Service, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range out {
		wg.Add(1)
		go func() { // replicas starting together migrate once
			defer wg.Done()
			out[i], errs[i] = identity.Open(context.Background(), identity.Config{PostgresDSN: dsn, RPID: "desk.example.org", Origin: origin, Now: c.now})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		t.Cleanup(func() { out[i].Close() })
	}
	return out, c
}

// One code, two replicas, two phones racing to enrol: exactly one passkey
// is registered (the code is claimed by one conditional UPDATE), and the
// winner signs in through the other replica.
func TestPostgresCodeClaimedOnceAcrossReplicas(t *testing.T) {
	rs, c := replicas(t, 2)
	ctx := context.Background()
	a, code, err := rs[0].AddAccount(ctx, "Dana Desk", identity.RoleDesk)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		c.add(time.Minute) // the enrol helper is always client-1 (5 codes a minute)
		if round > 0 {
			if code, err = rs[round%2].NewCode(ctx, a.ID); err != nil {
				t.Fatal(err)
			}
		}
		phones := []*identitytest.Authenticator{identitytest.New("desk.example.org", origin), identitytest.New("desk.example.org", origin)}
		var wg sync.WaitGroup
		sessions := make([]*identity.Session, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sessions[i], errs[i] = enrol(t, rs[i], phones[i], code)
			}()
		}
		wg.Wait()
		won := -1
		for i := range 2 {
			switch {
			case errs[i] == nil && sessions[i].Account.ID == a.ID:
				if won >= 0 {
					t.Fatalf("round %d: the code was used twice", round)
				}
				won = i
			case identity.CodeOf(errs[i]) != identity.CodeInvalidCode:
				t.Fatalf("round %d: replica %d: %v", round, i, errs[i])
			}
		}
		if won < 0 {
			t.Fatalf("round %d: no enrolment succeeded: %v", round, errs)
		}
		if ses, err := signIn(t, rs[1-won], phones[won]); err != nil || ses.Account.ID != a.ID {
			t.Fatalf("round %d: sign-in on the other replica: %v", round, err)
		}
		if _, err := signIn(t, rs[won], phones[1-won]); identity.CodeOf(err) != identity.CodePasskeyFailed {
			t.Fatalf("round %d: the losing phone signed in: %v", round, err)
		}
	}
	got, err := rs[1].Account(ctx, a.ID)
	if err != nil || got.Passkeys != 3 {
		t.Fatalf("passkeys: %+v %v, want 3", got, err)
	}
}

// The per-client code limit (5 a minute) holds across replicas: attempts
// are counted in the database.
func TestPostgresRateLimitAcrossReplicas(t *testing.T) {
	rs, c := replicas(t, 3)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	limited := 0
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := rs[i%3].BeginEnrol(ctx, "ABCD-EFGH-JKMN", "guesser")
			if identity.CodeOf(err) == identity.CodeRateLimited {
				mu.Lock()
				limited++
				mu.Unlock()
			} else if identity.CodeOf(err) != identity.CodeInvalidCode {
				t.Errorf("attempt %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if limited != 25 {
		t.Fatalf("%d of 30 guesses over 3 replicas rate-limited, want 25", limited)
	}
	if _, _, err := rs[0].BeginEnrol(ctx, "ABCD-EFGH-JKMN", "another"); identity.CodeOf(err) != identity.CodeInvalidCode {
		t.Fatalf("another client: %v", err)
	}
	c.add(time.Minute)
	if _, _, err := rs[2].BeginEnrol(ctx, "ABCD-EFGH-JKMN", "guesser"); identity.CodeOf(err) != identity.CodeInvalidCode {
		t.Fatalf("after a minute: %v", err)
	}
}

// An identity.db of a single-process issuer moves into PostgreSQL:
// accounts in their order, passkeys (sign-in works), sessions and unused
// codes; importing again changes nothing.
func TestPostgresImportSQLite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "identity.db")
	c := &clock{t: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)}
	old, err := identity.Open(ctx, identity.Config{Path: path, RPID: "desk.example.org", Origin: origin, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	a, code, _ := old.AddAccount(ctx, "Dana Desk", identity.RoleDesk)
	b, bcode, _ := old.AddAccount(ctx, "Sam Supervisor", identity.RoleSupervisor)
	if err := old.Disable(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	_, pcode, _ := old.AddAccount(ctx, "Pat Patient", identity.RolePatient)
	g, _, err := old.EnrolPatient(ctx, identity.Enrolment{Name: "Gil Guardian", Patient: "pt-1", Evidence: "passport", IAL: "IAL2", By: a.ID,
		Wards: []identity.Ward{{Patient: "pt-2", RelatedPerson: "rp-2", Name: "Kim Kid"}}})
	if err != nil {
		t.Fatal(err)
	}
	phone := identitytest.New("desk.example.org", origin)
	ses, err := enrol(t, old, phone, code)
	if err != nil {
		t.Fatal(err)
	}
	old.Close()

	rs, _ := replicas(t, 1)
	s := rs[0]
	n, err := s.ImportSQLite(ctx, path)
	if err != nil || n != (identity.Imported{Accounts: 4, Codes: 4, Passkeys: 1, Sessions: 1, Wards: 1}) {
		t.Fatalf("ImportSQLite = %+v, %v", n, err)
	}
	if n, err := s.ImportSQLite(ctx, path); err != nil || n != (identity.Imported{}) {
		t.Fatalf("second import = %+v, %v", n, err)
	}
	list, err := s.Accounts(ctx, true)
	if err != nil || len(list) != 4 || list[0].ID != a.ID || list[1].ID != b.ID || !list[1].Disabled || list[0].Passkeys != 1 {
		t.Fatalf("Accounts after import: %+v %v", list, err)
	}
	if got, err := s.PatientAccount(ctx, "pt-1"); err != nil || got.ID != g.ID || got.IAL != g.IAL || got.Evidence != "passport" || got.CheckedBy != a.ID || !got.Proofed.Equal(g.Proofed) {
		t.Fatalf("imported patient account: %+v %v", got, err)
	}
	if ws, err := s.Wards(ctx, g.ID); err != nil || len(ws) != 1 || ws[0] != (identity.Ward{Patient: "pt-2", RelatedPerson: "rp-2", Name: "Kim Kid"}) {
		t.Fatalf("imported wards: %+v %v", ws, err)
	}
	if got, err := s.Authenticate(ctx, ses.Token()); err != nil || got.Account.ID != a.ID || got.CSRF != ses.CSRF {
		t.Fatalf("imported session: %v", err)
	}
	if got, err := signIn(t, s, phone); err != nil || got.Account.ID != a.ID {
		t.Fatalf("imported passkey: %v", err)
	}
	if _, err := enrol(t, s, identitytest.New("desk.example.org", origin), code); identity.CodeOf(err) != identity.CodeInvalidCode {
		t.Fatalf("used code works after import: %v", err)
	}
	if _, err := enrol(t, s, identitytest.New("desk.example.org", origin), bcode); identity.CodeOf(err) != identity.CodeInvalidCode {
		t.Fatalf("disabled account's code works after import: %v", err)
	}
	if ses, err := enrol(t, s, identitytest.New("desk.example.org", origin), pcode); err != nil || ses.Account.Role != identity.RolePatient {
		t.Fatalf("unused code after import: %v", err)
	}
	if _, err := s.ImportSQLite(ctx, filepath.Join(t.TempDir(), "missing.db")); err == nil {
		t.Fatal("import of a missing file succeeded")
	}
}
