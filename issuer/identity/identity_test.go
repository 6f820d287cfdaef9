package identity_test

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthcards/healthcards/internal/identitytest"
	"github.com/healthcards/healthcards/issuer/identity"
)

const origin = "https://desk.example.org"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func open(t testing.TB) (*identity.Service, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)}
	s, err := identity.Open(context.Background(), identity.Config{Path: filepath.Join(t.TempDir(), "identity.db"), RPID: "desk.example.org", Origin: origin, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

func post(body []byte) *http.Request {
	r, _ := http.NewRequest("POST", origin+"/x", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// enrol redeems code with a passkey from auth.
func enrol(t testing.TB, s *identity.Service, auth *identitytest.Authenticator, code string) (*identity.Session, error) {
	t.Helper()
	ctx := context.Background()
	opts, cer, err := s.BeginEnrol(ctx, code, "client-1")
	if err != nil {
		return nil, err
	}
	return s.FinishEnrol(ctx, cer, post(auth.Create(opts)))
}

func signIn(t *testing.T, s *identity.Service, auth *identitytest.Authenticator) (*identity.Session, error) {
	t.Helper()
	ctx := context.Background()
	opts, cer, err := s.BeginSignIn(ctx)
	if err != nil {
		return nil, err
	}
	return s.FinishSignIn(ctx, cer, post(auth.Get(opts)))
}

// Invitation → passkey enrolment → sign-in; the code is single use; a
// disabled account cannot sign in and its sessions end.
func TestEnrolSignInDisable(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	a, code, err := s.AddAccount(ctx, "Dana Desk", identity.RoleDesk)
	if err != nil || len(code) != 14 || a.Role != identity.RoleDesk {
		t.Fatalf("AddAccount: %+v %q %v", a, code, err)
	}
	phone := identitytest.New("desk.example.org", origin)
	ses, err := enrol(t, s, phone, strings.ToLower(strings.ReplaceAll(code, "-", " "))) // typed loosely
	if err != nil || ses.Account.ID != a.ID || ses.Token() == "" || ses.CSRF == "" {
		t.Fatalf("enrol: %+v %v", ses, err)
	}
	if _, err := enrol(t, s, identitytest.New("desk.example.org", origin), code); identity.CodeOf(err) != identity.CodeInvalidCode {
		t.Fatalf("code used twice: %v", err)
	}
	got, err := s.Authenticate(ctx, ses.Token())
	if err != nil || got.Account.Name != "Dana Desk" || got.CSRF != ses.CSRF {
		t.Fatalf("Authenticate: %+v %v", got, err)
	}
	ses2, err := signIn(t, s, phone)
	if err != nil || ses2.Account.ID != a.ID || ses2.Token() == ses.Token() {
		t.Fatalf("sign-in: %+v %v", ses2, err)
	}
	if _, err := signIn(t, s, identitytest.New("desk.example.org", origin)); identity.CodeOf(err) != identity.CodePasskeyFailed {
		t.Fatalf("sign-in without a passkey: %v", err)
	}
	// A passkey made for another site is refused.
	other := identitytest.New("evil.example.net", "https://evil.example.net")
	_, code2, _ := s.AddAccount(ctx, "Second", identity.RoleDesk)
	if _, err := enrol(t, s, other, code2); identity.CodeOf(err) != identity.CodePasskeyFailed {
		t.Fatalf("foreign origin: %v", err)
	}
	if err := s.Disable(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, ses2.Token()); identity.CodeOf(err) != identity.CodeUnauthenticated {
		t.Fatalf("session after disable: %v", err)
	}
	if _, err := signIn(t, s, phone); identity.CodeOf(err) != identity.CodeAccountDisabled {
		t.Fatalf("disabled sign-in: %v", err)
	}
	list, err := s.Accounts(ctx, false)
	if err != nil || len(list) != 2 || !list[0].Disabled || list[0].Passkeys != 1 {
		t.Fatalf("Accounts: %+v %v", list, err)
	}
}

// Codes expire, can be revoked and replaced; guessing is rate-limited.
func TestCodesExpireRevokeRateLimit(t *testing.T) {
	s, c := open(t)
	ctx := context.Background()
	a, code, _ := s.AddAccount(ctx, "Sam Supervisor", identity.RoleSupervisor)
	c.add(identity.DefaultCodeTTL + time.Second)
	if _, _, err := s.BeginEnrol(ctx, code, "k1"); identity.CodeOf(err) != identity.CodeInvalidCode {
		t.Fatalf("expired code: %v", err)
	}
	code2, err := s.NewCode(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	code3, _ := s.NewCode(ctx, a.ID) // revokes code2
	if _, _, err := s.BeginEnrol(ctx, code2, "k2"); identity.CodeOf(err) != identity.CodeInvalidCode {
		t.Fatalf("replaced code: %v", err)
	}
	if err := s.RevokeCodes(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.BeginEnrol(ctx, code3, "k3"); identity.CodeOf(err) != identity.CodeInvalidCode {
		t.Fatalf("revoked code: %v", err)
	}
	// 50 parallel guesses from one client: at most 5 are even looked up.
	var wg sync.WaitGroup
	var mu sync.Mutex
	limited := 0
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.BeginEnrol(ctx, "ABCD-EFGH-JKMN", "guesser")
			if identity.CodeOf(err) == identity.CodeRateLimited {
				mu.Lock()
				limited++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if limited != 45 {
		t.Fatalf("%d of 50 guesses rate-limited, want 45", limited)
	}
	c.add(time.Minute)
	if _, _, err := s.BeginEnrol(ctx, "ABCD-EFGH-JKMN", "guesser"); identity.CodeOf(err) != identity.CodeInvalidCode {
		t.Fatalf("after a minute: %v", err)
	}
}

// Sessions end after the idle and the absolute timeout; CSRF is checked.
func TestSessionTimeoutsAndCSRF(t *testing.T) {
	s, c := open(t)
	ctx := context.Background()
	_, code, _ := s.AddAccount(ctx, "Ada Admin", identity.RoleAdmin)
	phone := identitytest.New("desk.example.org", origin)
	ses, err := enrol(t, s, phone, code)
	if err != nil {
		t.Fatal(err)
	}
	if identity.CheckCSRF(ses, ses.CSRF) != nil || identity.CodeOf(identity.CheckCSRF(ses, "")) != identity.CodeCSRF ||
		identity.CodeOf(identity.CheckCSRF(ses, ses.CSRF+"x")) != identity.CodeCSRF {
		t.Fatal("CSRF check")
	}
	c.add(identity.DefaultIdleTimeout + time.Second)
	if _, err := s.Authenticate(ctx, ses.Token()); identity.CodeOf(err) != identity.CodeSessionExpired {
		t.Fatalf("idle: %v", err)
	}
	ses, _ = signIn(t, s, phone)
	for i := 0; i < 80; i++ { // active all day: the absolute timeout still ends it
		c.add(identity.DefaultIdleTimeout / 2)
		if _, err := s.Authenticate(ctx, ses.Token()); err != nil {
			if identity.CodeOf(err) != identity.CodeSessionExpired || time.Duration(i+1)*identity.DefaultIdleTimeout/2 <= identity.DefaultAbsoluteTimeout {
				t.Fatalf("after %d half-idle steps: %v", i+1, err)
			}
			return
		}
	}
	t.Fatal("the absolute timeout never ended the session")
}

func TestRoles(t *testing.T) {
	for r, want := range map[identity.Role]bool{identity.RoleDesk: true, identity.RoleSupervisor: true, identity.RoleAdmin: true,
		identity.RolePatient: false, "root": false, "": false, "Desk": false} {
		if r.Valid() != want {
			t.Errorf("%q.Valid() = %v", r, !want)
		}
	}
}

// One client guessing far past its own limit spends only its own budget:
// another client still redeems its code in the same minute (the global
// limit counts only attempts that passed the per-client one).
func TestOneGuesserDoesNotBlockOthers(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	_, code, err := s.AddAccount(ctx, "Sam Supervisor", identity.RoleSupervisor)
	if err != nil {
		t.Fatal(err)
	}
	limited := 0
	for range 60 {
		_, _, err := s.BeginEnrol(ctx, "ABCD-EFGH-JKMN", "guesser")
		if identity.CodeOf(err) == identity.CodeRateLimited {
			limited++
		}
	}
	if limited != 55 {
		t.Fatalf("%d of 60 guesses rate-limited, want 55", limited)
	}
	ses, err := enrol(t, s, identitytest.New("desk.example.org", origin), code)
	if err != nil {
		t.Fatalf("another client's code after one client's 60 guesses: %v", err)
	}
	if ses.Account.Name != "Sam Supervisor" {
		t.Fatalf("enrolled %q", ses.Account.Name)
	}
}

// The global limit (10 x 5 a minute) still holds over many clients that
// each stay within their own.
func TestGlobalCodeLimit(t *testing.T) {
	s, c := open(t)
	ctx := context.Background()
	limited := 0
	for i := range 60 {
		_, _, err := s.BeginEnrol(ctx, "ABCD-EFGH-JKMN", "client-"+string(rune('a'+i/5)))
		if identity.CodeOf(err) == identity.CodeRateLimited {
			limited++
		}
	}
	if limited != 10 {
		t.Fatalf("%d of 60 guesses from 12 clients rate-limited, want 10", limited)
	}
	c.add(time.Minute)
	if _, _, err := s.BeginEnrol(ctx, "ABCD-EFGH-JKMN", "client-z"); identity.CodeOf(err) != identity.CodeInvalidCode {
		t.Fatalf("next minute: %v", err)
	}
}
